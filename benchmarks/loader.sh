#!/usr/bin/env bash
# The streaming photo loader (issue 16): images/s and peak RSS of one epoch of training
# batches (RandomResizedCrop 224 + flip, normalised, batch 64) over generated 500x375 JPEGs,
# at COUNTS images (default 2,000 and 20,000): the RSS should not grow with the count, the
# images/s should exceed what a training step consumes.
#
#   bash benchmarks/loader.sh                       # 2,000 and 20,000 images, all cores
#   COUNTS="200 2000" WORKERS=1 bash benchmarks/loader.sh
#
# The JPEGs are generated into a temporary folder (about 34 KB each; removed at the end),
# each count in its own process so one run's peak RSS is its own. It times: other builds
# on the machine lower the images/s (say so with the numbers). It writes its output to
# $OUT (default benchmarks/results/<date>-loader.txt) with the machine's CPU line.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${LOADER_BENCH:-.build/release/heed-loader-bench}
counts=${COUNTS:-2000 20000}
workers=${WORKERS:-$(nproc)}
[ -x "$bench" ] || swift build -c release --product heed-loader-bench
out=${OUT:-benchmarks/results/$(date +%F)-loader.txt}
mkdir -p "$(dirname "$out")"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/heed-loader-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

{
    echo "# benchmarks/loader.sh, $(date -u +%FT%TZ)"
    echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores," \
        "$(grep -qw avx2 /proc/cpuinfo && echo AVX2 || echo no-AVX2)$(grep -qw fma /proc/cpuinfo && echo +FMA)," \
        "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo no AVX-512); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for count in $counts; do
        "$bench" generate --count "$count" --into "$scratch/$count" >&2
        echo "# $count JPEGs: $(du -sh "$scratch/$count" | cut -f1) on disk"
        "$bench" run --data-dir "$scratch/$count" --workers "$workers"
        rm -rf "${scratch:?}/$count"
    done
} | tee "$out"
