#!/usr/bin/env python3
"""Converts PyTorch weights to safetensors for `heed` (docs/design.md §6, §9).

    python3 scripts/convert_pytorch.py IN OUT [--writer auto|safetensors|own]

IN is a file written by torch.save (.pth, .pt, .pt7, .tar): a state_dict, a dict holding
one under 'state_dict' or 'model' (a training checkpoint), or a pickled module. DataParallel's
'module.' prefix is stripped when every name has it. OUT is safetensors with the tensors
named as in the state_dict, in their own dtypes (num_batches_tracked stays an int64 scalar,
as Heed reads and writes it), and no metadata: give heed the model flags, or use it with
`heed train --pretrained OUT`.

This is the one step of Heed that needs PyTorch. The safetensors package writes OUT when it is
installed; otherwise (or with --writer own) a small writer here does, in the same format
(tensors in name order, the header padded with spaces to a multiple of 8 bytes).

torch.load runs with weights_only=True first; only a file that needs it (a pickled module)
is loaded again with weights_only=False, which runs code from the file: convert only files
you trust. The script says when it does so.
"""
import argparse
import json
import struct
import sys
from collections.abc import Mapping

DTYPES = {  # torch dtype name -> safetensors dtype
    "float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "uint8": "U8",
}
PREFIX = "module."


class ConversionError(Exception):
    """A one-line problem with the input, printed as `convert_pytorch.py: IN: problem`."""


def load(path):
    """The object torch.save wrote to `path`, weights_only=False only when weights_only=True fails."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConversionError("no such file")
    except IsADirectoryError:
        raise ConversionError("is a folder, not a file")
    except pickle.UnpicklingError:
        print(f"note: {path}: torch.load with weights_only=True refuses it (it pickles more than tensors: "
              "a module?); loading it with weights_only=False, which runs code from the file", file=sys.stderr)
    except Exception as error:  # torch raises RuntimeError or KeyError for files torch.save did not write
        raise ConversionError(f"not a file torch.save wrote (torch.load: {one_line(error)})")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ConversionError(f"torch.load with weights_only=False failed too: {one_line(error)}")


def one_line(error):
    text = " ".join(str(error).replace("\x1b[1m", "").replace("\x1b[0m", "").split())
    return (text[:200] + "...") if len(text) > 200 else (text or type(error).__name__)


def state_dict(obj, depth=0):
    """The state_dict in `obj`, and where it was found ('', 'state_dict', 'model', 'module')."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return obj.state_dict(), "a pickled module"
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            if depth == 0 and key in obj and not isinstance(obj[key], torch.Tensor):
                found, _ = state_dict(obj[key], depth + 1)
                return found, f"the dict's '{key}'"
        if obj and all(isinstance(value, torch.Tensor) for value in obj.values()):
            return obj, "a state_dict"
        keys = ", ".join(repr(k) for k in list(obj)[:6]) + (", ..." if len(obj) > 6 else "")
        others = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)][:3]
        detail = f"values that are not tensors under {', '.join(map(repr, others))}" if others else "no tensors"
        raise ConversionError(
            f"holds a dict with keys {keys or '(none)'}: {detail}, and no 'state_dict' or 'model' entry; "
            "not a state_dict")
    raise ConversionError(
        f"holds a {type(obj).__module__}.{type(obj).__name__}, not a state_dict, a dict with one under "
        "'state_dict' or 'model', or a module")


def tensors_of(state):
    """name -> contiguous CPU tensor, the 'module.' prefix stripped when every name has it."""
    names = list(state)
    stripped = bool(names) and all(name.startswith(PREFIX) for name in names)
    result = {}
    for name, tensor in state.items():
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise ConversionError(f"tensor '{name}' has dtype {dtype}, which Heed does not read "
                                  f"({', '.join(DTYPES)})")
        result[name[len(PREFIX):] if stripped else name] = tensor.detach().cpu().contiguous().clone()
    return result, stripped


def raw_bytes(tensor):
    """The tensor's elements, row-major, little-endian."""
    import torch

    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    array = tensor.numpy()
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def write_own(tensors, path):
    """safetensors as Sources/HeedGraph/Checkpoint/SafeTensors.swift reads and writes it."""
    header, offset, chunks = {}, 0, []
    for name in sorted(tensors):
        data = raw_bytes(tensors[name])
        dtype = DTYPES[str(tensors[name].dtype).removeprefix("torch.")]
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    encoded += b" " * (-len(encoded) % 8)
    temporary = path + ".partial"
    with open(temporary, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for chunk in chunks:
            file.write(chunk)
    import os
    os.replace(temporary, path)


def write(tensors, path, writer):
    """Writes with the safetensors package or the writer above; returns which one wrote."""
    if writer in ("auto", "safetensors"):
        try:
            from safetensors.torch import save_file
        except ImportError:
            if writer == "safetensors":
                raise ConversionError("--writer safetensors: the safetensors package is not installed")
        else:
            save_file(tensors, path)
            return "safetensors"
    write_own(tensors, path)
    return "own writer"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", metavar="IN", help="a .pth, .pt, .pt7 or .tar file written by torch.save")
    parser.add_argument("output", metavar="OUT", help="the safetensors file to write")
    parser.add_argument("--writer", choices=("auto", "safetensors", "own"), default="auto",
                        help="the safetensors package (auto: when installed) or this script's own writer")
    arguments = parser.parse_args(argv)
    try:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ConversionError("needs PyTorch (pip install torch), the one step of Heed that does")
        state, found = state_dict(load(arguments.input))
        tensors, stripped = tensors_of(state)
        if not tensors:
            raise ConversionError(f"{found} with no tensors")
        try:
            writer = write(tensors, arguments.output, arguments.writer)
        except OSError as error:
            print(f"convert_pytorch.py: {arguments.output}: cannot write: {error.strerror}", file=sys.stderr)
            return 1
    except ConversionError as error:
        print(f"convert_pytorch.py: {arguments.input}: {error}", file=sys.stderr)
        return 1
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    prefix = f", prefix '{PREFIX}' stripped" if stripped else ""
    print(f"{arguments.output}: {len(tensors)} tensors, {total} bytes of tensor data, from {found} "
          f"in {arguments.input}{prefix} ({writer})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
