"""Fixture of scripts/convert_pytorch.py: a tiny training checkpoint saved with torch.save.

    python3 Tests/Fixtures/converter/generate.py           # writes the three files below
    python3 Tests/Fixtures/converter/generate.py --check   # converts tiny.pth again, with both writers,
                                                           # and compares with the committed files

tiny.pth            torch.save({'epoch': 3, 'state_dict': sd}) of a small conv + BN + linear network
                    wrapped in nn.DataParallel (so every name starts with 'module.'); BN statistics
                    randomised, num_batches_tracked = 7 (int64), plus one float64 and one float16
                    buffer so that every dtype path of the converter is exercised.
tiny.json           the same tensors as the generator holds them, in plain JSON: the expected names
                    (prefix stripped), dtypes, shapes and values (float32 values printed exactly).
tiny.safetensors    what `scripts/convert_pytorch.py tiny.pth tiny.safetensors --writer own` wrote.

The Swift test (HeedGraphTests/ConverterFixtureTests) reads tiny.safetensors and tiny.json and
needs no PyTorch; --check is the converter's own test and needs PyTorch. Deterministic: two runs
give byte-identical files.
"""
import io
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERTER = os.path.join(HERE, "..", "..", "..", "scripts", "convert_pytorch.py")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.register_buffer("scale64", torch.zeros(3, dtype=torch.float64))
        self.register_buffer("scale16", torch.zeros(2, 2, dtype=torch.float16))


def state():
    torch.manual_seed(16)
    model = Tiny()
    with torch.no_grad():
        model.bn1.weight.uniform_(0.5, 1.5)
        model.bn1.bias.uniform_(-0.5, 0.5)
        model.bn1.running_mean.uniform_(-1, 1)
        model.bn1.running_var.uniform_(0.5, 2)
        model.bn1.num_batches_tracked.fill_(7)
        model.scale64.copy_(torch.tensor([0.1, -2.5, 1e-3], dtype=torch.float64))
        model.scale16.copy_(torch.tensor([[1.5, -0.25], [3.0, 65504.0]], dtype=torch.float16))
    return nn.DataParallel(model).state_dict()


def expected(sd):
    tensors = {}
    for name, tensor in sd.items():
        values = tensor.flatten().tolist()
        tensors[name.removeprefix("module.")] = {
            "dtype": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape), "values": values,
        }
    return {"tensors": tensors}


def save_pth(sd, path):
    buffer = io.BytesIO()
    torch.save({"epoch": 3, "state_dict": sd}, buffer)
    with open(path, "wb") as file:
        file.write(buffer.getvalue())


def convert(source, target, writer):
    subprocess.run([sys.executable, CONVERTER, source, target, "--writer", writer], check=True)


def main():
    sd = state()
    pth, js, st = (os.path.join(HERE, f"tiny.{ext}") for ext in ("pth", "json", "safetensors"))
    if "--check" not in sys.argv:
        save_pth(sd, pth)
        with open(js, "w") as file:
            json.dump(expected(sd), file, indent=1, sort_keys=True)
            file.write("\n")
        convert(pth, st, "own")
        return
    from safetensors.torch import load_file
    want = expected(sd)["tensors"]
    with tempfile.TemporaryDirectory() as folder:
        for writer in ("own", "safetensors"):
            out = os.path.join(folder, f"{writer}.safetensors")
            convert(pth, out, writer)
            got = load_file(out)
            assert set(got) == set(want), (writer, sorted(got), sorted(want))
            for name, tensor in got.items():
                assert str(tensor.dtype).removeprefix("torch.") == want[name]["dtype"], (writer, name)
                assert list(tensor.shape) == want[name]["shape"], (writer, name)
                assert tensor.flatten().tolist() == want[name]["values"], (writer, name)
            if writer == "own":
                with open(out, "rb") as a, open(st, "rb") as b:
                    assert a.read() == b.read(), "tiny.safetensors is not what the converter writes today"
    print("converter check: both writers give the generator's tensors; tiny.safetensors is current")


if __name__ == "__main__":
    main()
