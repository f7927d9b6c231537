#!/usr/bin/env bash
# Trains several configurations of `heed train` with several seeds each and prints a
# Markdown table: one row per run, then the mean and standard deviation of the test
# accuracy per configuration.
#
#   bash benchmarks/compare_seeds.sh --seeds "1 2 3" --common "--epochs 4" \
#        "baseline=" "attention=--attention-depth 3 --attention-width 4"
#
# Runs go to runs/<tag>-<configuration>-<seed> (with their logs beside them).
set -euo pipefail
cd "$(dirname "$0")/.."
heed=${HEED:-.build/release/heed}
seeds="1 2 3"
common=""
tag="compare"
while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
        --seeds) seeds=$2; shift 2 ;;
        --common) common=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--seeds S] [--common FLAGS] [--tag T] NAME=FLAGS ..." >&2; exit 2; }
mkdir -p runs

echo "| configuration | seed | test accuracy | minutes |"
echo "| --- | --- | --- | --- |"
summary=""
for spec in "$@"; do
    name=${spec%%=*}
    flags=${spec#*=}
    accuracies=()
    for seed in $seeds; do
        out="runs/$tag-$name-$seed"
        start=$(date +%s)
        # shellcheck disable=SC2086  # the flags are meant to split into words
        "$heed" train --quiet --seed "$seed" --output "$out" $common $flags > "$out.log" 2>&1 \
            || { echo "run $name seed $seed failed: see $out.log" >&2; exit 1; }
        minutes=$(awk "BEGIN { printf \"%.1f\", ($(date +%s) - $start) / 60 }")
        accuracy=$(grep -o 'test accuracy [0-9.]*%' "$out.log" | head -1 | awk '{print $3}' | tr -d '%')
        accuracies+=("$accuracy")
        echo "| $name | $seed | $accuracy % | $minutes |"
    done
    summary+=$(printf '%s\n' "${accuracies[@]}" | awk -v name="$name" '
        { sum += $1; squares += $1 * $1; n += 1 }
        END { mean = sum / n; sd = n > 1 ? sqrt((squares - n * mean * mean) / (n - 1)) : 0
              printf "| %s | %d | %.2f %% | %.2f |\n", name, n, mean, sd }')$'\n'
done
echo
echo "| configuration | runs | mean test accuracy | standard deviation (points) |"
echo "| --- | --- | --- | --- |"
printf '%s' "$summary"
