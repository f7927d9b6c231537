"""Writes the fuzz seeds that are not copies of Tests/Fixtures: PNGs in the colour
types and depths the decoder converts (palette with transparency, 16-bit, alpha,
grey + alpha, 1-bit), and safetensors files in the dtypes the reader accepts.
Standard library only. The other seeds are Tests/Fixtures/images/* and
Tests/Fixtures/safetensors/reference.safetensors, copied as they are.
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
