#!/usr/bin/env bash
# Runs the release `heed` over crafted hostile inputs (issue 15) and checks how each ends.
#
#   scripts/hostile-inputs.sh [RESULT_FILE]
#
# Builds `swift build -c release --product heed`, trains a tiny network (WRN-10-1 with
# one attention module, one epoch of the synthetic set) for the cases that need a real
# checkpoint (its checkpoint is also the seed Fuzz/corpus/checkpoint/trained.safetensors), writes the
# crafted files into a temporary folder (sparse files for the huge ones: no disk
# cost), and runs one command per case under /usr/bin/time -v and `timeout`. Per
# case it prints the exit status, the signal the process died from (if any), the
# number of stderr lines and its first one, and the peak RSS.
#
# A case fails when the process dies from a signal, runs past HEED_HOSTILE_SECONDS
# (default 300), peaks above 1.5 GiB of RSS (a watchdog kills it at 3 GiB, to spare
# the machine), exits 0 where an error is expected or non-zero where the input is
# valid, or reports its error in more than one line. The script exits 1 if any case
# fails. The table also goes to RESULT_FILE when given.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/system-packages.sh
heed_ensure_system_packages

[ -x /usr/bin/time ] || { echo "hostile-inputs: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
result=${1:-}
seconds=${HEED_HOSTILE_SECONDS:-300}
limit_kb=$((1536 * 1024))
watchdog_kb=$((3 * 1024 * 1024))

swift build -c release --product heed >&2
heed="$(swift build -c release --show-bin-path)/heed"
work=$(mktemp -d "${TMPDIR:-/tmp}/heed-hostile.XXXXXX")
trap 'rm -rf "$work"' EXIT
table=$work/table.md

# The tiny training run (WRN-10-1 with one attention module) whose checkpoint and model the crafted checkpoints start from.
run_options=(--depth 10 --width 1 --attention-depth 1 --attention-width 1 --epochs 1 --synthetic-train 40 --synthetic-test 20 --batch-size 20)
"$heed" train "${run_options[@]}" --checkpoint-every 0 --quiet --output "$work/run" >"$work/run.log" 2>&1 || {
    cat "$work/run.log" >&2
    echo "hostile-inputs: the tiny training run failed" >&2
    exit 1
}

# The crafted inputs.
python3 - "$work" <<'PYTHON'
import json, os, struct, sys

work = sys.argv[1]
def path(*parts):
    full = os.path.join(work, *parts)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full

def read_safetensors(name):
    data = open(name, "rb").read()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    metadata = header.pop("__metadata__", {})
    body = data[8 + size:]
    return metadata, {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}

def write_safetensors(name, metadata, tensors):
    header, body = ({"__metadata__": metadata} if metadata else {}), b""
    for key, (dtype, shape, raw) in tensors.items():
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    text = json.dumps(header).encode()
    open(path(name), "wb").write(struct.pack("<Q", len(text)) + text + body)

def write_raw(name, header_text, body=b"", length=None):
    text = header_text.encode()
    open(path(name), "wb").write(struct.pack("<Q", len(text) if length is None else length) + text + body)

def sparse(name, size, first=b""):
    with open(path(name), "wb") as file:
        file.write(first)
        file.truncate(size)

# CIFAR-10 folders: one record per file unless the case says otherwise.
record = bytes([3]) + bytes(range(256)) * 12
for folder in ["cifar-huge", "cifar-truncated", "cifar-bad-label", "cifar-over-limit", "cifar-fifo", "cifar-folder"]:
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        open(path(folder, name), "wb").write(record)
sparse("cifar-huge/data_batch_1.bin", 3073 * 700_000)                           # 2.15 GB of valid records
open(path("cifar-truncated", "test_batch.bin"), "wb").write(record[:3000])
open(path("cifar-bad-label", "data_batch_4.bin"), "wb").write(record + bytes([10]) + record[1:])
sparse("cifar-over-limit/data_batch_2.bin", 3073 * ((1 << 24) + 1))            # 51.6 GB
os.remove(path("cifar-fifo", "test_batch.bin"))
os.mkfifo(path("cifar-fifo", "test_batch.bin"))
os.remove(path("cifar-folder", "test_batch.bin"))
os.makedirs(path("cifar-folder", "test_batch.bin", "x"))

# Images: a PNG header promising 20000x20000, a FIFO named like an image.
import zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + chunk(b"IDAT", b"")
small = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 6, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(b"".join(b"\0" + bytes(range(24)) for _ in range(6)))) + chunk(b"IEND", b"")
open(path("images", "small.png"), "wb").write(small)
open(path("images", "bomb.png"), "wb").write(bomb)
for folder, odd in [("folder-bomb", "bomb"), ("folder-fifo", "fifo")]:
    for split in ["train", "test"]:
        for kind in ["cats", "dogs"]:
            open(path(folder, split, kind, "a.png"), "wb").write(small)
    if odd == "bomb":
        open(path(folder, "train", "cats", "x.png"), "wb").write(bomb)
    else:
        os.mkfifo(path(folder, "train", "cats", "x.png"))
os.mkfifo(path("images", "fifo.png"))
# A folder dataset whose green channel is constant (its variance rounds below zero), and
# one whose class folder's name is Latin-1, not UTF-8.
flat = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(b"".join(b"\0" + bytes(v for x in range(8) for v in (30 * x, 77, 20 * y)) for y in range(8)))) \
    + chunk(b"IEND", b"")
for split in ["train", "test"]:
    for kind in ["cats", "dogs"]:
        for i in range(2):
            open(path("folder-constant-green", split, kind, f"{i}.png"), "wb").write(flat)
        open(path("folder-latin1", split, kind, "a.png"), "wb").write(small)
os.makedirs(os.path.join(work, "folder-latin1", "train").encode() + b"/caf\xe9")

# Safetensors files broken in their header.
f32 = lambda shape, end: '{"x":{"dtype":"F32","shape":%s,"data_offsets":[0,%d]}}' % (shape, end)
write_raw("st/shape-2^40x2^40.safetensors", f32("[1099511627776,1099511627776]", 4), bytes(4))
write_raw("st/shape-2^62.safetensors", f32("[4611686018427387904]", 4), bytes(4))
write_raw("st/header-length-2^63.safetensors", "{}", length=1 << 63)
write_raw("st/promises-1TB.safetensors", f32("[262144,1048576]", 1 << 40), bytes(4))
write_raw("st/duplicate-names.safetensors",
          '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8))
write_raw("st/fractional-offset.safetensors", f32("[1]", 4).replace("[0,4]", "[0.5,4]"), bytes(4))
write_raw("st/shape-1.5.safetensors", f32("[1.5]", 4), bytes(4))
write_raw("st/shape-true.safetensors", f32("[true]", 4), bytes(4))
write_raw("st/zero-length-beside-another.safetensors",
          '{"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', bytes(4))

# Model metadata asking for networks no file of this size holds, or Heed does not build.
legacy = lambda **keys: {k: str(v) for k, v in {"depth": 10, "width": 1, "classes": 10, **keys}.items()}
write_safetensors("meta/width-100000.safetensors", legacy(width=100000), {})
write_safetensors("meta/depth-600004.safetensors", legacy(depth=600004), {})
write_safetensors("meta/classes-2^62.safetensors", legacy(classes=1 << 62), {})
write_safetensors("meta/wrn-94-20-in-400-bytes.safetensors", legacy(depth=94, width=20), {})

# The tiny run's model and checkpoint, each changed in one place.
model_meta, model_tensors = read_safetensors(os.path.join(work, "run", "model.safetensors"))
def model(name, **changes):
    metadata = dict(model_meta)
    metadata.update({k.replace("__", "."): v for k, v in changes.items()})
    write_safetensors(f"model/{name}.safetensors", metadata, model_tensors)
model("valid")
model("input-3037000500", heed__input=json.dumps({"height": 3037000500, "width": 3037000500, "mean": [0.5] * 3, "std": [0.25] * 3}))
model("input-one-channel", heed__input=json.dumps({"height": 32, "width": 32, "mean": [0.5], "std": [0.25]}))
model("input-std-0", heed__input=json.dumps({"height": 32, "width": 32, "mean": [0.5] * 3, "std": [0.25, 0, 0.25]}))
nan_tensors = dict(model_tensors)
dtype, shape, raw = nan_tensors["conv0.weight"]
nan_tensors["conv0.weight"] = (dtype, shape, struct.pack("<f", float("nan")) + raw[4:])
write_safetensors("model/nan-weight.safetensors", model_meta, nan_tensors)
variance = next(k for k in model_tensors if k.endswith("running_var"))
negative = dict(model_tensors)
dtype, shape, raw = negative[variance]
negative[variance] = (dtype, shape, struct.pack("<f", -0.5) + raw[4:])
write_safetensors("model/negative-variance.safetensors", model_meta, negative)
counter = next(k for k in model_tensors if k.endswith("num_batches_tracked"))
nan_counter = dict(model_tensors)
nan_counter[counter] = ("F32", [], struct.pack("<f", float("nan")))
write_safetensors("model/nan-counter.safetensors", model_meta, nan_counter)

checkpoint_meta, checkpoint_tensors = read_safetensors(os.path.join(work, "run", "checkpoint.safetensors"))
for name, key, value in [("epoch--1", "heed.epoch", "-1"), ("batch--3", "heed.batch", "-3"),
                         ("epoch-max", "heed.epoch", str((1 << 63) - 1)), ("step-max", "heed.step", str((1 << 63) - 1)),
                         ("seed--1", "heed.seed", "-1"), ("valid", None, None)]:
    metadata = dict(checkpoint_meta)
    if key:
        metadata[key] = value
    write_safetensors(f"resume-{name}/checkpoint.safetensors", metadata, checkpoint_tensors)
metrics = open(os.path.join(work, "run", "metrics.jsonl")).read()
write_safetensors("resume-damaged-metrics/checkpoint.safetensors", checkpoint_meta, checkpoint_tensors)
open(path("resume-damaged-metrics", "metrics.jsonl"), "w").write(metrics + '{"epoch": 2, "trai')

# Tensors for `predict --input`: images of 1x1 pixels, and none at all.
write_safetensors("input/1x1.safetensors", {}, {"input": ("F32", [1, 3, 1, 1], bytes(12))})
write_safetensors("input/none.safetensors", {}, {"input": ("F32", [0, 3, 32, 32], b"")})
PYTHON

failures=0
printf '| case | expected | exit | signal | stderr lines | peak RSS (MiB) | verdict | stderr (first line) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n' >"$table"

# case NAME error|ok [VAR=VALUE ...] -- HEED-ARGUMENTS...
case_() {
    local name=$1 expected=$2
    shift 2
    local environment=()
    while [ "$1" != "--" ]; do environment+=("$1"); shift; done
    shift
    local out=$work/cases/$name
    mkdir -p "$out"
    env "${environment[@]}" /usr/bin/time -v -o "$out/time" timeout -k 5 "$seconds" "$heed" "$@" \
        >"$out/stdout" 2>"$out/stderr" </dev/null &
    local timer=$! killed=false
    # The watchdog: heed is the grandchild (time -> timeout -> heed).
    while kill -0 "$timer" 2>/dev/null; do
        for child in $(pgrep -P "$timer" || true); do
            for process in $(pgrep -P "$child" || true); do
                local rss
                rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$process/status" 2>/dev/null || echo 0)
                if [ "${rss:-0}" -gt "$watchdog_kb" ]; then kill -KILL "$process" 2>/dev/null || true; killed=true; fi
            done
        done
        sleep 0.1
    done
    wait "$timer" || true
    local status signal peak lines first verdict=pass why=()
    status=$(awk -F': ' '/Exit status/ { print $2 }' "$out/time")
    signal=$(sed -nE 's/.*terminated by signal ([0-9]+).*/\1/p' "$out/time")
    peak=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out/time")
    lines=$(wc -l <"$out/stderr")
    first=$(head -n 1 "$out/stderr" | sed "s|$work|\$WORK|g" | cut -c 1-240 | tr '|' '/')
    if $killed; then why+=("killed above 3 GiB"); elif [ -n "$signal" ]; then why+=("signal $signal"); fi
    [ "${status:-0}" != 124 ] || why+=("timed out after ${seconds}s")
    [ "${peak:-0}" -le "$limit_kb" ] || why+=("peak RSS above 1.5 GiB")
    if [ "$expected" = error ]; then
        [ "${status:-0}" != 0 ] || [ -n "$signal" ] || why+=("exit 0 for bad input")
        [ "$lines" -eq 1 ] || why+=("error in $lines lines")
    else
        [ "${status:-1}" = 0 ] || why+=("exit ${status:-?} for valid input")
    fi
    if [ ${#why[@]} -gt 0 ]; then
        verdict="FAIL: $(IFS=,; echo "${why[*]}")"
        failures=$((failures + 1))
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$expected" "${status:--}" "${signal:--}" "$lines" \
        "$(( ${peak:-0} / 1024 ))" "$verdict" "$first" >>"$table"
    echo "hostile-inputs: $name: $verdict" >&2
}

w=$work
model=$w/model/valid.safetensors
# Command-line numbers.
case_ batch-size-int-max error -- train --batch-size 9223372036854775807 --output "$w/out"
case_ image-size-3037000500 error -- train --dataset folder --data-dir "$w/folder-bomb" --image-size 3037000500 --output "$w/out"
case_ epochs-int-max error -- train --epochs 9223372036854775807 --output "$w/out"
case_ lr-inf error -- train --lr inf --output "$w/out"
case_ depth-600004 error -- train --depth 600004 --output "$w/out"
case_ weight-decay-inf error -- train --weight-decay inf --output "$w/out"
case_ schedule-1e31-diverges error -- train --depth 10 --width 1 --synthetic-train 40 --synthetic-test 20 --batch-size 20 --epochs 3 \
    --schedule multistep:1:1e31 --quiet --output "$w/diverged-schedule"
case_ output-unwritable error -- train "${run_options[@]}" --output /dev/null/run
case_ lr-1e30-diverges error -- train "${run_options[@]}" --lr 1e30 --quiet --output "$w/diverged"
case_ predict-batch-size-int-max ok -- predict --weights "$model" --batch-size 9223372036854775807 "$w/images/small.png"
# CIFAR files.
case_ cifar-2.15GB-valid ok -- export-images --dataset cifar10 --data-dir "$w/cifar-huge" --split train --count 2 --out "$w/exported"
case_ cifar-truncated error -- export-images --dataset cifar10 --data-dir "$w/cifar-truncated" --out "$w/exported"
case_ cifar-label-10 error -- export-images --dataset cifar10 --data-dir "$w/cifar-bad-label" --out "$w/exported"
case_ cifar-51.6GB-over-limit error -- export-images --dataset cifar10 --data-dir "$w/cifar-over-limit" --out "$w/exported"
case_ cifar-fifo error -- export-images --dataset cifar10 --data-dir "$w/cifar-fifo" --out "$w/exported"
case_ cifar-folder-as-file error -- export-images --dataset cifar10 --data-dir "$w/cifar-folder" --out "$w/exported"
case_ cifar-data-dir-is-a-file error -- export-images --dataset cifar10 --data-dir "$model" --out "$w/exported"
# Images.
case_ png-20000x20000-in-folder error -- train --dataset folder --data-dir "$w/folder-bomb" --image-size 8 --output "$w/out"
case_ png-20000x20000-predict error -- predict --weights "$model" "$w/images/bomb.png"
case_ fifo-x.png-in-folder error -- train --dataset folder --data-dir "$w/folder-fifo" --image-size 8 --output "$w/out"
case_ fifo-x.png-predict error -- predict --weights "$model" "$w/images/fifo.png"
case_ dev-zero-predict error -- predict --weights "$model" /dev/zero
case_ max-pixels-abc error HEED_MAX_IMAGE_PIXELS=abc -- predict --weights "$model" "$w/images/small.png"
case_ max-pixels--1 error HEED_MAX_IMAGE_PIXELS=-1 -- predict --weights "$model" "$w/images/small.png"
case_ max-pixels-1e20 error HEED_MAX_IMAGE_PIXELS=99999999999999999999 -- predict --weights "$model" "$w/images/small.png"
case_ max-pixels-47-folder error HEED_MAX_IMAGE_PIXELS=47 -- train --dataset folder --data-dir "$w/folder-fifo" --output "$w/out"
case_ max-pixels-48 ok HEED_MAX_IMAGE_PIXELS=48 -- predict --weights "$model" "$w/images/small.png"
case_ cmyk-jpeg ok -- predict --weights "$model" Tests/Fixtures/images/gradient-cmyk.jpg
case_ folder-constant-green ok -- train --dataset folder --data-dir "$w/folder-constant-green" --image-size 8 --depth 10 --width 1 \
    --epochs 1 --batch-size 2 --quiet --output "$w/constant-green"
case_ folder-latin1-class error -- train --dataset folder --data-dir "$w/folder-latin1" --image-size 8 --output "$w/out"
# Safetensors headers.
for file in "$w"/st/*.safetensors; do
    case_ "st-$(basename "$file" .safetensors)" error -- predict --weights "$file" "$w/images/small.png"
done
case_ checkpoint-is-a-folder error -- predict --weights "$w/st" "$w/images/small.png"
case_ checkpoint-dev-zero error -- predict --weights /dev/zero "$w/images/small.png"
# Model metadata and weights.
for file in "$w"/meta/*.safetensors "$w"/model/*.safetensors; do
    name=$(basename "$file" .safetensors)
    expected=error
    [ "$name" != valid ] || expected=ok
    case_ "$(basename "$(dirname "$file")")-$name" "$expected" -- predict --weights "$file" "$w/images/small.png"
done
case_ model-nan-weight-allowed ok -- predict --weights "$w/model/nan-weight.safetensors" --allow-nonfinite "$w/images/small.png"
# 1x1 images are valid input: the network pools globally.
case_ input-1x1-pixels ok -- predict --weights "$model" --input "$w/input/1x1.safetensors" --output "$w/out/p.safetensors"
case_ input-no-images error -- predict --weights "$model" --input "$w/input/none.safetensors" --output "$w/out/p.safetensors"
# Training checkpoints resumed with the options of the run that wrote them.
for folder in "$w"/resume-*; do
    name=$(basename "$folder")
    expected=error
    [ "$name" != resume-valid ] && [ "$name" != resume-damaged-metrics ] || expected=ok
    case_ "$name" "$expected" -- train "${run_options[@]}" --resume --quiet --output "$folder"
done

machine="$(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), family $(grep -m 1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m 1 '^model' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(nproc) cores"
{
    echo "# scripts/hostile-inputs.sh, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo '+changes')"
    echo "# machine: $machine; heed: release build; limits: ${seconds}s per case, 1.5 GiB peak RSS"
    echo "# \$WORK: the temporary folder of the crafted inputs"
    echo
    cat "$table"
    echo
    echo "$failures of $(($(wc -l <"$table") - 2)) cases failed"
} | tee ${result:+"$result"}
[ "$failures" -eq 0 ]
