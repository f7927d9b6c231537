#!/usr/bin/env bash
# Fuzzes one of Heed's file readers with libFuzzer under AddressSanitizer.
#
#   scripts/fuzz.sh TARGET SECONDS
#
# TARGET is image_decoder (the JPEG and PNG decoders of CImageCodecs) or
# safetensors (SafeTensors.decode). The harness in Fuzz/ is built into .build/fuzz/
# when missing or older than its sources, then run for SECONDS over the committed
# seeds in Fuzz/corpus/TARGET/; inputs it finds along the way go to
# .build/fuzz/corpus/TARGET/, not into the repository. An input that crashes or
# hangs the reader is saved under Fuzz/crashes/TARGET/ and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh image_decoder|safetensors SECONDS" >&2; exit 2; }
[ $# -eq 2 ] || usage
target=$1
seconds=$2
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
source scripts/system-packages.sh
heed_ensure_system_packages

build=.build/fuzz
swift_bin=$(dirname "$(command -v swiftc)")
# The toolchain's clang ships libFuzzer's runtime; lld links the sanitizers without gold's warnings.
clang="$swift_bin/clang"
[ -x "$clang" ] || clang=clang

case "$target" in
    image_decoder)
        sources=(Fuzz/image_decoder.c Sources/CImageCodecs/heed_image.c Sources/CImageCodecs/include/heed_image.h)
        build_target() {
            "$clang" -fsanitize=fuzzer,address -fuse-ld=lld -g -O1 -I Sources/CImageCodecs/include \
                Fuzz/image_decoder.c Sources/CImageCodecs/heed_image.c -ljpeg -lpng -o "$build/$target"
        }
        ;;
    safetensors)
        # The reader's files and HeedSupport alone, not the whole package: its closure is small.
        support=(Sources/HeedSupport/*.swift)
        reader=(Sources/HeedGraph/Checkpoint/SafeTensors.swift Sources/HeedGraph/Checkpoint/SafeTensorsIO.swift
                Sources/HeedGraph/Checkpoint/HeaderJSON.swift)
        sources=(Fuzz/safetensors.swift "${reader[@]}" "${support[@]}")
        build_target() {
            local flags=(-parse-as-library -sanitize=fuzzer,address -use-ld=lld -g -O)
            mkdir -p "$build/swift"
            swiftc "${flags[@]}" -wmo -module-name HeedSupport -emit-module -emit-module-path "$build/swift/HeedSupport.swiftmodule" \
                -emit-object -o "$build/swift/HeedSupport.o" "${support[@]}"
            swiftc "${flags[@]}" -module-name SafeTensorsFuzz -I "$build/swift" \
                Fuzz/safetensors.swift "${reader[@]}" "$build/swift/HeedSupport.o" -o "$build/$target"
        }
        ;;
    *) usage ;;
esac

mkdir -p "$build"
stale=false
[ -x "$build/$target" ] || stale=true
for source in "${sources[@]}"; do
    [ "$source" -nt "$build/$target" ] && stale=true
done
if $stale; then
    echo "fuzz: building $build/$target"
    build_target
fi

corpus=$build/corpus/$target
crashes=Fuzz/crashes/$target
log=$build/$target.log
mkdir -p "$corpus" "$crashes"
status=0
# -timeout: an input that takes 10 s is a hang, saved like a crash.
"$build/$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
executions=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target crashed after $executions executions; inputs in $crashes/, log in $log" >&2
    exit 1
fi
echo "fuzz: $target ran ${seconds}s, $executions executions, no crash (log in $log)"
