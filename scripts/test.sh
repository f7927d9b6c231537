#!/usr/bin/env bash
# Heed's whole test suite, set-up included: installs the system packages if
# missing (as root), then builds and runs every test with `swift test`, then the
# OpenCL tests and `heed verify` again with a GPU's choices (HEED_TUNING=gpu), then builds
# and runs the example package Examples/TrainCustomModel for a few steps, then
# `heed tune --quick` and the GEMM cases with its result, then under CI (or with
# HEED_FUZZ_SECONDS set) fuzzes each file reader (scripts/fuzz.sh).
# OpenCL tests run on the default device (HEED_DEVICE=P:D picks another).
# Extra arguments go to `swift test` (e.g. --filter GemmTests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/system-packages.sh
heed_ensure_system_packages

swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The suite is XCTest only; Swift Testing's empty run would print a misleading "0 tests".
swift test --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?

# The GPU code paths on this machine's device: HEED_TUNING=gpu makes every choice a GPU's
# (GEMM through CLBlast, 256-item batch-norm groups, one image row per work item, GPU
# scratch sizes), then the OpenCL tests and every heed verify case run again under it.
# Skipped when arguments narrow the suite.
if [ "$#" -eq 0 ]; then
    gpu_log=$(mktemp)
    if HEED_TUNING=gpu swift test --skip-build --disable-swift-testing --filter HeedOpenCLTests >"$gpu_log" 2>&1 \
            && HEED_TUNING=gpu swift run --skip-build heed verify >>"$gpu_log" 2>&1; then
        echo "heed: under HEED_TUNING=gpu: $(grep -E "Executed [0-9]+ tests?" "$gpu_log" | tail -n 1 | sed -E 's/^[[:space:]]*//'); heed verify: $(tail -n 1 "$gpu_log")"
    else
        grep -E "error|failed|FAIL" "$gpu_log" | head -n 40 >&2 || true
        echo "heed: the OpenCL tests or heed verify failed under HEED_TUNING=gpu" >&2
        [ "$status" -ne 0 ] || status=1
    fi
    rm -f "$gpu_log"
fi

# A package downstream of Heed builds against its library products alone and trains.
example=Examples/TrainCustomModel
if ! { swift build --package-path "$example" && swift run --package-path "$example" --skip-build TrainCustomModel --steps 3; }; then
    echo "heed: $example did not build or train" >&2
    [ "$status" -ne 0 ] || status=1
fi

# heed tune end to end on its tiny --quick space (a smoke test: it asserts no time),
# then heed verify's GEMM cases with the parameters it chose.
tuned=$(mktemp -d)
if ! { swift run --skip-build heed tune --quick --output "$tuned/tuning.json" \
        && HEED_TUNING="$tuned/tuning.json" swift run --skip-build heed verify --op gemm >"$tuned/verify.log"; }; then
    cat "$tuned/verify.log" 2>/dev/null || true
    echo "heed: heed tune --quick, or heed verify with its parameters, failed" >&2
    [ "$status" -ne 0 ] || status=1
fi
rm -rf "$tuned"

# Each fuzz target for a minute under CI (or HEED_FUZZ_SECONDS elsewhere); a crash fails the run.
fuzz_seconds=${HEED_FUZZ_SECONDS:-}
[ -n "$fuzz_seconds" ] || [ "${CI:-}" != "true" ] || fuzz_seconds=60
if [ -n "$fuzz_seconds" ]; then
    for target in image_decoder safetensors cifar checkpoint; do
        if ! scripts/fuzz.sh "$target" "$fuzz_seconds"; then
            echo "heed: fuzzing $target found a crash (scripts/fuzz.sh $target)" >&2
            [ "$status" -ne 0 ] || status=1
        fi
    done
fi

# The totals of XCTest's last summary, printed as the closing line.
summary=$(grep -E "Executed [0-9]+ tests?" "$log" | tail -n 1 || true)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$summary" | grep -oE "^[0-9]+" || echo 0)
# Under CI a test that could not run (no OpenCL device, no heed binary) fails the run.
if [ "${CI:-}" = "true" ]; then
    if [ "$skipped" -ne 0 ] || grep -q "cannot run under CI=true" "$log"; then
        echo "heed: CI=true and these tests could not run:" >&2
        grep -oE "Test Case '[^']+' skipped|[A-Za-z]+\.test[A-Za-z0-9_]+ : .*cannot run under CI=true" "$log" \
            | sed -E "s/Test Case '(.*)' skipped/\1/; s/ : .*//" | sort -u >&2
        [ "$status" -ne 0 ] || status=1
    fi
    if [ -z "$summary" ]; then
        echo "heed: CI=true and no XCTest summary was printed" >&2
        [ "$status" -ne 0 ] || status=1
    fi
fi
# The totals last, so they close the output.
if [ -n "$summary" ]; then
    echo "tests: $((executed - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
