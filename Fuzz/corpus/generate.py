"""Writes the fuzz seeds that are not copies of Tests/Fixtures or written by heed:
PNGs in the colour types and depths the decoder converts (palette with transparency,
16-bit, alpha, grey + alpha, 1-bit), safetensors files in the dtypes the reader
accepts, CIFAR files of each variant (behind the harness's variant byte), and
checkpoint metadata without weights (each form of model configuration, positions).
Standard library only. The other seeds are Tests/Fixtures/images/* and
Tests/Fixtures/safetensors/reference.safetensors, copied as they are, and
checkpoint/trained.safetensors, the checkpoint.safetensors of the tiny run of
scripts/hostile-inputs.sh: `heed train --depth 10 --width 1 --attention-depth 1
--attention-width 1 --epochs 1 --synthetic-train 40 --synthetic-test 20 --batch-size 20
--checkpoint-every 0`.
"""
import json
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
width, height = 8, 6


def png(name, colour_type, depth, rows, extra=b""):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\0" + row for row in rows)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(os.path.join(here, "image_decoder", name), "wb").write(data)
    return chunk


chunk = png("gradient-16bit.png", 2, 16,
            [b"".join(struct.pack(">HHH", 7710 * x, 10280 * y, 51400 - 5140 * x) for x in range(width)) for y in range(height)])
png("gradient-alpha.png", 6, 8, [bytes(v for x in range(width) for v in (30 * x, 40 * y, 200 - 20 * x, 32 * x)) for y in range(height)])
png("gradient-grey-alpha.png", 4, 8, [bytes(v for x in range(width) for v in (30 * x, 40 * y)) for y in range(height)])
png("checker-1bit.png", 0, 1, [bytes([0b10101010 if y % 2 else 0b01010101]) for y in range(height)])
palette = bytes(v for i in range(4) for v in (60 * i, 255 - 60 * i, 100))
png("palette.png", 3, 8, [bytes((x + y) % 4 for x in range(width)) for y in range(height)],
    chunk(b"PLTE", palette) + chunk(b"tRNS", b"\xff\x80"))


def safetensors(name, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    open(os.path.join(here, "safetensors", name), "wb").write(struct.pack("<Q", len(text)) + text + data)


safetensors("small-types.safetensors", {
    "a.f16": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
    "b.bf16": {"dtype": "BF16", "shape": [2], "data_offsets": [4, 8]},
    "c.i32": {"dtype": "I32", "shape": [1, 1], "data_offsets": [8, 12]},
    "d.u8": {"dtype": "U8", "shape": [4], "data_offsets": [12, 16]},
    "e.empty": {"dtype": "F32", "shape": [0, 3], "data_offsets": [16, 16]},
}, bytes(range(16)))
safetensors("empty.safetensors", {"__metadata__": {"format": "pt"}}, b"")


def cifar(name, variant, records):
    """`records`: (label bytes, pixel fill); the first byte picks the variant (Fuzz/cifar.swift)."""
    data = bytes([variant]) + b"".join(bytes(labels) + bytes((fill + i // 1024) % 256 for i in range(3072)) for labels, fill in records)
    open(os.path.join(here, "cifar", name), "wb").write(data)


os.makedirs(os.path.join(here, "cifar"), exist_ok=True)
cifar("cifar10.bin", 0, [([3], 10), ([9], 200)])
cifar("cifar100-fine.bin", 1, [([19, 99], 5), ([0, 4], 90)])
cifar("cifar100-coarse.bin", 2, [([19, 99], 40)])
cifar("cifar10-bad-label.bin", 0, [([1], 0), ([10], 0)])
open(os.path.join(here, "cifar", "cifar10-truncated.bin"), "wb").write(bytes([0]) + bytes(3000))


def checkpoint(name, metadata):
    safetensors(os.path.join("..", "checkpoint", name), {"__metadata__": metadata}, b"")


os.makedirs(os.path.join(here, "checkpoint"), exist_ok=True)
checkpoint("legacy-attention.safetensors", {
    "depth": "10", "width": "1", "classes": "3", "attention_depth": "2", "attention_width": "1", "attention_gate": "sigmoid",
    "reg_weight": "0.001", "attention_init": "orthogonal", "dropout": "0.25"})
checkpoint("legacy-coarse2fine.safetensors", {
    "depth": "10", "width": "1", "classes": "4", "attention_depth": "3", "attention_width": "2", "attention_gate": "softmax",
    "coarse2fine": "1", "c2f_start_epoch": "2", "c2f_fine_weight": "0.5", "c2f_min_scale": "0.3", "c2f_fine_gradient": "0",
    "dataset": "cifar10", "normalization_mean": "0.5,0.4,0.3", "normalization_std": "0.2,0.2,0.25"})
checkpoint("positions.safetensors", {
    "heed.model": json.dumps({"backbone": {"kind": "wideResNet", "depth": 10, "width": 1, "classes": 2, "dropout": 0, "inputChannels": 3}}),
    "heed.epoch": "1", "heed.batch": "2", "heed.step": "6", "heed.seed": "18446744073709551615",
    "heed.classes": json.dumps(["a", "b"]), "heed.input": json.dumps({"height": 8, "width": 6, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})})
