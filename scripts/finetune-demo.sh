#!/usr/bin/env bash
# The README's fine-tuning demo (issue 16), on a CPU in minutes: a torchvision ResNet-18 trained
# on one synthetic photo folder becomes the pretrained backbone of a second, different task,
# fine-tuned with attention on layer3 and layer4 and without.
#
#   bash scripts/finetune-demo.sh          # heed from .build/release (built if missing), files in $OUT
#
# 1. Two photo folders the repo generates (`heed export-images` of the synthetic fine-grained
#    set, PNG, one sub-folder per class): the source task (20 classes, seed 101, 800 photos)
#    and the target task (a set of 10 classes from another seed, 202: 400 photos for
#    training, 200 to test). EPOCHS (3), SOURCE_TRAIN, TARGET_TRAIN, TEST_COUNT change the sizes.
# 2. Pretraining on the source: `heed train --arch resnet18 --image-size 112`.
# 3. Fine-tuning on the target from its model.safetensors, once with `--attention-at layer3,layer4`
#    and once without; each writes metrics.jsonl and curves.png.
# 4. A Markdown table of the two runs' final test accuracy and loss.
set -euo pipefail
cd "$(dirname "$0")/.."
heed=${HEED:-.build/release/heed}
out=${OUT:-/tmp/heed-finetune-demo}
epochs=${EPOCHS:-3}
source_train=${SOURCE_TRAIN:-800}
target_train=${TARGET_TRAIN:-400}
test_count=${TEST_COUNT:-200}
[ -x "$heed" ] || swift build -c release --product heed
rm -rf "$out"
mkdir -p "$out"

export_set() {  # name classes seed train test
    local synthetic=(--dataset synthetic --synthetic-classes "$2" --synthetic-train "$4" --synthetic-test "$5")
    "$heed" export-images "${synthetic[@]}" --seed "$3" --split train --out "$out/$1/train" > /dev/null
    "$heed" export-images "${synthetic[@]}" --seed "$3" --split test --out "$out/$1/test" > /dev/null
    echo "finetune-demo: $1: $4 training and $5 test photos of $2 classes in $out/$1"
}
export_set source 20 101 "$source_train" "$test_count"
export_set target 10 202 "$target_train" "$test_count"

common=(--arch resnet18 --dataset folder --image-size 112 --batch-size 32 --quiet)
echo "finetune-demo: pretraining ResNet-18 on the source task ($epochs epochs)"
"$heed" train "${common[@]}" --data-dir "$out/source" --epochs "$epochs" --output "$out/pretrained" | grep '^done:' 
for run in attention baseline; do
    taps=()
    [ "$run" = attention ] && taps=(--attention-at layer3,layer4)
    echo "finetune-demo: fine-tuning on the target task, $run ($epochs epochs)"
    "$heed" train "${common[@]}" --data-dir "$out/target" --epochs "$epochs" --lr 0.01 \
        --pretrained "$out/pretrained/model.safetensors" "${taps[@]}" --output "$out/$run" | grep -E '^(pretrained:|  |done:)' 
done

echo
echo "| fine-tuned ResNet-18 (112×112) | test accuracy | test loss | seconds |"
echo "| --- | --: | --: | --: |"
for run in attention baseline; do
    python3 - "$out/$run/metrics.jsonl" "$run" <<'PY'
import json, sys
epochs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
last = epochs[-1]
name = {"attention": "with attention on layer3, layer4", "baseline": "without attention"}[sys.argv[2]]
seconds = sum(e.get("seconds", 0) for e in epochs)
print(f"| {name} | {100 * last['test_accuracy']:.1f} % | {last['test_loss']:.3f} | {seconds:.0f} |")
PY
done
echo
echo "finetune-demo: curves in $out/attention/curves.png and $out/baseline/curves.png"
