#!/usr/bin/env bash
# Fuzzes one of Heed's file readers with libFuzzer under AddressSanitizer.
#
#   scripts/fuzz.sh TARGET SECONDS
#
# TARGET is one of
#   image_decoder  the JPEG and PNG decoders of CImageCodecs (Fuzz/image_decoder.c);
#   safetensors    SafeTensors.decode (Fuzz/safetensors.swift);
#   cifar          CIFAR.load and the images it reads back (Fuzz/cifar.swift);
#   checkpoint     a saved model or training checkpoint read as `heed predict` and
#                  `heed train --resume` read it: metadata, model, weights, position
#                  (Fuzz/checkpoint.swift).
# The harness is built into .build/fuzz/ when missing or older than its sources, then
# run for SECONDS over the committed seeds in Fuzz/corpus/TARGET/; inputs it finds
# along the way go to .build/fuzz/corpus/TARGET/, not into the repository. An input
# that crashes or hangs the reader is saved under Fuzz/crashes/TARGET/ and the script
# exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh image_decoder|safetensors|cifar|checkpoint SECONDS" >&2; exit 2; }
[ $# -eq 2 ] || usage
target=$1
seconds=$2
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
source scripts/system-packages.sh
heed_ensure_system_packages

build=.build/fuzz
modules=$build/swift/$target
swift_bin=$(dirname "$(command -v swiftc)")
# The toolchain's clang ships libFuzzer's runtime; lld links the sanitizers without gold's warnings.
clang="$swift_bin/clang"
[ -x "$clang" ] || clang=clang
swift_flags=(-parse-as-library -sanitize=fuzzer,address -g -O)

# The Swift sources of a package target, e.g. `swift_sources HeedOps`.
swift_sources() { find "Sources/$1" -name '*.swift' | sort; }

# Compiles a package target's sources (or the files given after its name) into one
# instrumented object and its module, in $modules, for the harness to import and link.
swift_module() {
    local name=$1
    shift
    local files=("$@")
    [ ${#files[@]} -gt 0 ] || mapfile -t files < <(swift_sources "$name")
    mkdir -p "$modules"
    swiftc "${swift_flags[@]}" -wmo -module-name "$name" -I "$modules" -emit-module -emit-module-path "$modules/$name.swiftmodule" \
        -emit-object -o "$modules/$name.o" "${files[@]}"
}

# HeedData's C image codecs, instrumented, as an object and a module map in $modules.
image_codecs() {
    mkdir -p "$modules/CImageCodecs"
    "$clang" -fsanitize=fuzzer-no-link,address -g -O1 -I Sources/CImageCodecs/include -c Sources/CImageCodecs/heed_image.c \
        -o "$modules/heed_image.o"
    printf 'module CImageCodecs {\n    header "%s"\n    export *\n}\n' "$PWD/Sources/CImageCodecs/include/heed_image.h" \
        >"$modules/CImageCodecs/module.modulemap"
}

# Links harness $1 with the modules built before it into $build/$target.
swift_harness() {
    swiftc "${swift_flags[@]}" -use-ld=lld -module-name "${target}_fuzz" -I "$modules" "$1" "$modules"/*.o "${@:2}" -o "$build/$target"
}

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
        reader=(Sources/HeedGraph/Checkpoint/SafeTensors.swift Sources/HeedGraph/Checkpoint/SafeTensorsIO.swift
                Sources/HeedGraph/Checkpoint/HeaderJSON.swift)
        sources=(Fuzz/safetensors.swift "${reader[@]}" Sources/HeedSupport/*.swift)
        build_target() {
            swift_module HeedSupport
            swift_harness Fuzz/safetensors.swift "${reader[@]}"
        }
        ;;
    cifar)
        # CIFAR.load, the record files and the dataset they fill: HeedData whole (its dataset
        # type holds photos too), on HeedSupport and HeedOps, with its C image codecs.
        mapfile -t sources < <(printf '%s\n' Fuzz/cifar.swift Sources/CImageCodecs/heed_image.c Sources/CImageCodecs/include/heed_image.h
                               for module in HeedSupport HeedOps HeedData; do swift_sources $module; done)
        build_target() {
            image_codecs
            for module in HeedSupport HeedOps HeedData; do
                swift_module "$module"
            done
            swift_harness Fuzz/cifar.swift -ljpeg -lpng
        }
        ;;
    checkpoint)
        # Whole modules, as the loader's path runs through each: the metadata and
        # the model's configuration (HeedModels, HeedData), the network (HeedGraph on
        # HeedReference's backend), the weights and positions (HeedGraph/Checkpoint).
        # HeedData brings its C image codecs, compiled here with the same instrumentation.
        mapfile -t sources < <(printf '%s\n' Fuzz/checkpoint.swift Sources/CImageCodecs/heed_image.c Sources/CImageCodecs/include/heed_image.h
                               for module in HeedSupport HeedOps HeedGraph HeedReference HeedModels HeedData; do swift_sources $module; done)
        build_target() {
            image_codecs
            for module in HeedSupport HeedOps HeedGraph HeedReference HeedModels HeedData; do
                swift_module "$module"
            done
            swift_harness Fuzz/checkpoint.swift -ljpeg -lpng
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
    rm -rf "$modules"
    # The compilers' output (the warnings of whole modules) only when the build fails.
    build_target >"$build/$target.build.log" 2>&1 || { cat "$build/$target.build.log" >&2; exit 1; }
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
