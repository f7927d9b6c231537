#!/usr/bin/env bash
# The long-run memory benchmark (issue 13): 2,000 training steps of WRN-10-1 + attention
# (benchmarks/long-run.json: 1,000 warm-up steps, then 1,000 timed ones) through `heed bench`.
# The row shows the peak reserved and in-use device bytes, the driver allocations of the
# warm-up and per timed step, and the bytes still in use at the end: flat memory is 0.0 driver
# allocations per step over the last 1,000 steps.
#
#   bash benchmarks/long-run.sh [OUT.json]        # default benchmarks/results/long-run.json
#
# It times too, so run it on a quiet machine for its milliseconds; the memory counts do not
# depend on that.
set -euo pipefail
cd "$(dirname "$0")/.."
heed=${HEED:-.build/release/heed}
out=${1:-benchmarks/results/long-run.json}
[ -x "$heed" ] || swift build -c release --product heed
mkdir -p "$(dirname "$out")"
"$heed" bench --suites benchmarks/long-run.json --suite train --json "$out"
