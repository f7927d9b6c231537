#!/usr/bin/env bash
# Attention network against the baseline on the embedded synthetic fine-grained set,
# several seeds each, with `heed train`'s defaults otherwise (WRN-10-1, 4 epochs,
# 3,000 training images with decoys). Prints one Markdown row per run and the mean
# and spread per configuration. Usage: bash benchmarks/synthetic_attention.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
heed=${HEED:-.build/release/heed}
seeds=("${@:-1 2 3}")
seeds=(${seeds[@]})
declare -A configurations=(
    [baseline]=""
    [attention]="--attention-depth 3 --attention-width 4"
)
echo "| configuration | seed | test accuracy | minutes |"
echo "| --- | --- | --- | --- |"
for name in baseline attention; do
    for seed in "${seeds[@]}"; do
        out="runs/synthetic-$name-$seed"
        start=$(date +%s)
        "$heed" train --quiet --seed "$seed" --output "$out" ${configurations[$name]} > "$out.log" 2>&1 || { echo "run $name $seed failed: see $out.log" >&2; exit 1; }
        minutes=$(awk "BEGIN { printf \"%.1f\", ($(date +%s) - $start) / 60 }")
        accuracy=$(grep -o 'test accuracy [0-9.]*%' "$out.log" | head -1 | awk '{print $3}')
        echo "| $name | $seed | $accuracy | $minutes |"
    done
done
