#!/usr/bin/env bash
# Data-parallel scaling on one CPU through PoCL (issue 17's target): images/s of `heed train`
# with 1 rank and with 2 ranks, each rank one PoCL thread (POCL_MAX_PTHREAD_COUNT=1) pinned to
# its own core (mpirun --bind-to core), the same batch per rank (so 2 ranks train a global
# batch twice as large). The target: 2 ranks >= 1.8x the images/s of 1 (90 % efficiency).
#
#   bash benchmarks/scaling.sh                      # WRN-16-4 + attention, batch 16 per rank
#   DEPTH=10 WIDTH=1 ATTENTION=0 STEPS=4 bash benchmarks/scaling.sh   # a quick smoke run
#
# One run's ratio varies by 10-20 % on a 2-core machine (the single rank's images/s moves
# that much between runs); run it a few times (OUT=... per run) and report them all.
#
# Run it on a quiet machine (nothing else building or training): it times. It prints a
# Markdown table (machine, images/s, speed-up, efficiency, the allreduce time per step and
# the share of it backward hid, from rank 0's summary line) and writes it with the runs' logs
# to benchmarks/results/<date>-scaling/ (or $OUT). Each configuration trains 2 epochs of STEPS steps
# and reports the second (the first compiles and warms caches); evaluation is 2 images.
set -euo pipefail
cd "$(dirname "$0")/.."
heed=${HEED:-.build/release/heed}
depth=${DEPTH:-16}
width=${WIDTH:-4}
attention=${ATTENTION:-3}
batch=${BATCH:-16}
steps=${STEPS:-24}
[ -x "$heed" ] || swift build -c release --product heed
command -v mpirun >/dev/null || { echo "scaling.sh: no mpirun; install openmpi-bin (scripts/system-packages.sh)" >&2; exit 1; }

out=${OUT:-benchmarks/results/$(date +%F)-scaling}
mkdir -p "$out"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
isa=$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx512f|avx2|fma' | sort -u | tr '\n' ' ')
model="--depth $depth --width $width"
[ "$attention" -gt 0 ] && model="$model --attention-depth $attention --attention-width 4"

# Images/s of epoch 2 from metrics.jsonl; the allreduce line from the log.
run() {
    local ranks=$1 name="ranks-$1"
    local images=$((ranks * batch * steps))
    rm -rf "$out/$name"
    POCL_MAX_PTHREAD_COUNT=1 mpirun --oversubscribe --allow-run-as-root --bind-to core -np "$ranks" \
        -x POCL_MAX_PTHREAD_COUNT "$heed" train $model --synthetic-train "$images" --synthetic-test 2 \
        --synthetic-classes 10 --batch-size "$batch" --epochs 2 --no-augment --checkpoint-every 0 \
        --quiet --output "$out/$name" >"$out/$name.log" 2>&1 || {
        echo "scaling.sh: the $ranks-rank run failed; its log: $out/$name.log" >&2
        return 1
    }
    # The weights are not results: only the metrics and the log are kept.
    rm -f "$out/$name"/*.safetensors
    local rate
    rate=$(sed -n 2p "$out/$name/metrics.jsonl" | grep -o '"images_per_second":[0-9.e+-]*' | cut -d: -f2)
    rate=$(awk -v r="$rate" 'BEGIN { printf "%.2f", r }')
    local allreduce
    allreduce=$(grep -o 'gradient allreduce: .*' "$out/$name.log" | sed 's/gradient allreduce: //' || true)
    echo "$ranks|$rate|${allreduce:--}"
}

one=$(run 1) || exit 1
two=$(run 2) || exit 1
rate1=$(cut -d'|' -f2 <<<"$one")
rate2=$(cut -d'|' -f2 <<<"$two")
{
    echo "Machine: $cpu ($isa), $(nproc) cores; heed train $model, batch $batch per rank, $steps steps an epoch, epoch 2."
    echo "PoCL: one thread per rank (POCL_MAX_PTHREAD_COUNT=1), ranks pinned (mpirun --bind-to core)."
    echo
    echo "| ranks | images/s | speed-up | efficiency | gradient allreduce |"
    echo "| --- | --- | --- | --- | --- |"
    echo "| 1 | $rate1 | 1.00 | 100 % | $(cut -d'|' -f3 <<<"$one") |"
    awk -v a="$rate1" -v b="$rate2" -v ar="$(cut -d'|' -f3 <<<"$two")" \
        'BEGIN { printf "| 2 | %s | %.2f | %.0f %% | %s |\n", b, b / a, 50 * b / a, ar }'
} | tee "$out/scaling.md"
