#!/usr/bin/env bash
# The one run for a GPU machine lent for minutes (issue 14; docs/gpu.md): run from the
# repository root there, with the packed bundle beside it. It has no Swift and no network.
#
#   here:   PACK=1 bash scripts/gpu-bundle.sh          # .build/gpu-bundle.tar.xz (stripped, compressed)
#   there:  bash scripts/gpu-check.sh [BUNDLE.tar.xz]  # results in $OUT (default benchmarks/results/<date>-gpu)
#
# With the device tool: run(command="bash scripts/gpu-check.sh", carry=[".build/gpu-bundle.tar.xz"]).
# It checks first that the NVIDIA driver's OpenCL library is there, prints what it found, and
# stops (status 0, a line saying why) when there is none. Then, each step under its own time
# limit so the whole fits one 10-minute call, every step's output kept in $OUT:
#   1. run-heed devices;
#   2. run-heed verify (every op against the CPU reference, on the GPU);
#   3. run-heed bench --json (kernels, then training steps, at GPU sizes);
#   4. the PyTorch CUDA peer in fp32 with TF32 off, then with TF32 on (reported beside it);
#   5. compare.py of Heed against the fp32 peer, Markdown for RESULTS.md's GPU section.
# A step that fails or runs out of time is recorded and the next one runs.
set -uo pipefail
cd "$(dirname "$0")/.."

bundle_archive="${1:-.build/gpu-bundle.tar.xz}"
out="${OUT:-benchmarks/results/$(date +%F)-gpu}"
mkdir -p "$out"
log="$out/gpu-check.txt"
say() { echo "gpu-check: $*" | tee -a "$log"; }

# Runs a step under a time limit, its output in $out/NAME.txt and on the screen.
step() {
    local name="$1" seconds="$2"
    shift 2
    say "$name: $* (limit ${seconds} s)"
    local started=$SECONDS
    timeout "$seconds" "$@" > "$out/$name.txt" 2>&1
    local status=$?
    tail -n 25 "$out/$name.txt"
    case $status in
        0) say "$name: done in $((SECONDS - started)) s" ;;
        124) say "$name: stopped at its limit of ${seconds} s" ;;
        *) say "$name: failed with status $status after $((SECONDS - started)) s" ;;
    esac
}

say "$(date -u +%FT%TZ) on $(hostname); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"
fi
# HEED_GPU_CHECK_ICD=system skips the search and keeps the system's OpenCL drivers: a rehearsal
# of the whole run on PoCL (with QUICK=1 for the smallest sizes).
library="$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 / { print $NF; exit }') || true)"
if [ -z "$library" ]; then
    library="$(find /usr/local/nvidia /usr/lib /usr/lib64 /usr/local /opt -name 'libnvidia-opencl.so*' 2>/dev/null | head -n 1 || true)"
fi
if [ "${HEED_GPU_CHECK_ICD:-}" = system ]; then
    library=system
elif [ -z "$library" ]; then
    say "no libnvidia-opencl.so found (ldconfig, /usr/local/nvidia, /usr/lib, /usr/lib64, /usr/local, /opt): the driver here has no OpenCL, so Heed cannot run on this GPU; stopping"
    exit 0
fi
if [ "$library" = system ]; then
    say "HEED_GPU_CHECK_ICD=system: the system's OpenCL drivers (a rehearsal)"
else
    say "NVIDIA OpenCL library: $library"
    vendors="$(mktemp -d)"
    echo "$library" > "$vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$vendors"
fi
quick=()
[ "${QUICK:-0}" = 1 ] && quick=(--quick)

if [ ! -f "$bundle_archive" ]; then
    say "no bundle at $bundle_archive: make it with PACK=1 bash scripts/gpu-bundle.sh and carry it; stopping"
    exit 1
fi
unpacked="$(mktemp -d)"
tar -C "$unpacked" -xJf "$bundle_archive"
run_heed="$(find "$unpacked" -name run-heed | head -n 1)"
say "bundle: $run_heed"

step devices 60 "$run_heed" devices
step verify 150 "$run_heed" verify
step bench-kernels 120 "$run_heed" bench --suite kernels "${quick[@]}" --json "$out/heed-kernels.json"
step bench-train 150 "$run_heed" bench --suite train "${quick[@]}" --json "$out/heed-train.json"

python="${PYTHON:-python3}"
device=cuda
[ "$library" = system ] && device=cpu
step pytorch-fp32 90 "$python" benchmarks/peers/pytorch_bench.py --device "$device" "${quick[@]}" --json "$out/pytorch.json"
if [ "$device" = cuda ]; then
    step pytorch-tf32 60 "$python" benchmarks/peers/pytorch_bench.py --device cuda --tf32 --suite kernels --filter gemm --json "$out/pytorch-tf32.json"
fi

if [ -f "$out/heed-kernels.json" ] || [ -f "$out/heed-train.json" ]; then
    # compare.py reads one heed.json: the kernel and training rows together.
    "$python" - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
parts = [json.loads(p.read_text()) for p in (out / "heed-kernels.json", out / "heed-train.json") if p.exists()]
merged = parts[0]
for part in parts[1:]:
    merged["rows"] += part["rows"]
(out / "heed.json").write_text(json.dumps(merged, indent=2) + "\n")
PY
fi
if [ -f "$out/heed.json" ] && [ -f "$out/pytorch.json" ]; then
    step compare 60 "$python" benchmarks/peers/compare.py --from "$out" --markdown "$out/results.md"
fi
say "results in $out: $(ls "$out" | tr '\n' ' ')"
