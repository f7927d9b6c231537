"""torchvision ResNet / ResNeXt goldens for Heed's `ResNet` trunk (docs/design.md §9).

Builds torchvision's own models (torchvision.models.resnet18, resnet50, resnext50_32x4d,
10 classes), fills every tensor of each state_dict from a deterministic formula keyed by
the tensor's name and element index (`fill` below; Tests/HeedTestSupport/TorchvisionWeights.swift
is the same formula in Swift), and writes next to this file, for each model:

  torchvision_{arch}_io.safetensors
        `input` (2, 3, 64, 64) F32, uniform in [-1, 1) from a fixed seed;
        `log_probs` (2, 10) F32: eval-mode log_softmax of the model's logits (batch norm
        with the filled running statistics), computed in float64 from the float32 weights
        and input (exact widening) and rounded once;
        `input_small` (1, 3, 32, 32) and `log_probs_small` (1, 10): the same at a size
        Heed's reference backend (plain loops, a debug build in tests) runs in seconds,
        not minutes (layer4's map is 1x1 there: adaptive pooling of a single position);
        `checksums` (T, 2) F64: per state_dict tensor, in state_dict order, the sum of its
        filled float32 values and the sum of their magnitudes (0, 0 for num_batches_tracked),
        so a drift of either formula fails the test before any output is compared.
        Metadata: `arch`, `classes`, `state_dict_names` (JSON list, state_dict order).

and one training step of ResNet-18 with attention (docs/design.md §4) at layer3 and layer4:

  torchvision_resnet18_attention_train_io.safetensors
        `input` (4, 3, 64, 64) F32, `labels` (4) I64 (a batch of 4: with 2, the output gate's
        BatchNorm1d gives +-1 whatever its input, and the gate weights' gradient is
        rounding noise); `loss` (1); for every parameter P (state_dict
        order) `grad.P` (S) F32, the gradient at the sampled flat indices `index.P` (S) I64
        (every element for tensors of at most 64, else 64 spread evenly), and
        `gradmax.P` (1), the largest |element| of the whole gradient; `after.B.running_mean`
        and `after.B.running_var` for every batch norm B after the training-mode forward;
        `checksums` as above over that model's state_dict.  Metadata as above plus
        `attention_taps` ("layer4,layer3"), `attention_width` (2), `reg_weight`.
        The attention module, output gate, softmax aggregation and regulariser are written
        here from docs/design.md §4 in plain PyTorch, not from Heed's code.

The weights themselves are not committed (ResNet-50's are 100 MB). The formula:

  h       = FNV-1a 64 of the tensor's name (UTF-8)
  z       = splitmix64 finaliser of (h + (i + 1) * 0x9E3779B97F4A7C15) mod 2^64, i the
            row-major element index
  u       = (z >> 40) / 2^24, in [0, 1) (exact in float32); s = 2u - 1, in [-1, 1)
  value   = float32(double(s) * scale) for convolution weights (rank 4), scale = sqrt(3 / fan_in)
            (fan_in = the product of all but the first dimension): unit-variance outputs;
            linear weights (rank 2) scale = 8 sqrt(3 / fan_in), so that the logits are a few
            units and the two images' log-probabilities differ visibly;
            batch norm (rank 1): weight 0.85 + 0.25 s, bias 0.1 s, running_mean 0.1 s,
            running_var 0.5 + u (activations stay O(0.1 .. 1) through 50 layers, neither
            vanishing nor growing); fc.bias 0.1 s.  num_batches_tracked stays 0.

Run with /work/venv-torch/bin/python Tests/Fixtures/models/generate_torchvision.py
(torch and torchvision 0.29; deterministic, CPU).
"""
import json
import math
import os

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHS = ["resnet18", "resnet50", "resnext50_32x4d"]
CLASSES = 10
MASK = (1 << 64) - 1


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def uniforms(name, count):
    """u in [0, 1) for elements 0 ..< count of the tensor `name` (float64, exact)."""
    with np.errstate(over="ignore"):
        i = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(fnv1a64(name)) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)


def fill(name, shape):
    """The float32 values of tensor `name` of `shape` (the formula in the docstring)."""
    count = int(np.prod(shape)) if shape else 1
    u = uniforms(name, count)
    s = 2 * u - 1
    if len(shape) in (2, 4):
        fan_in = int(np.prod(shape[1:]))
        values = s * ((8 if len(shape) == 2 else 1) * math.sqrt(3 / fan_in))
    elif name.endswith("running_var"):
        values = 0.5 + u
    elif name.endswith("running_mean") or name.endswith("bias"):
        values = 0.1 * s
    elif name.endswith("weight"):
        values = 0.85 + 0.25 * s
    else:
        raise ValueError(f"no formula for {name} {shape}")
    return values.astype(np.float32).reshape(shape)


class AttentionModule(torch.nn.Module):
    """docs/design.md §4: three bias-free 3x3 convolutions on Z (B, C, h, w) with K heads, L classes."""

    class Head(torch.nn.Module):
        def __init__(self, inputs, outputs):
            super().__init__()
            self.conv = torch.nn.Conv2d(inputs, outputs, 3, padding=1, bias=False)

    def __init__(self, channels, classes, heads):
        super().__init__()
        self.heads, self.classes = heads, classes
        self.att_head = self.Head(channels, heads)
        self.out_head = self.Head(channels, heads * classes)
        self.score = self.Head(channels, heads)

    def forward(self, z):
        b = z.shape[0]
        masks = torch.softmax(self.att_head.conv(z).flatten(2), dim=2)  # (B, K, hw)
        values = self.out_head.conv(z).flatten(2).view(b, self.heads, self.classes, -1)  # (B, K, L, hw)
        head_outputs = (values * masks.unsqueeze(2)).sum(3)  # (B, K, L)
        scores = (self.score.conv(z).flatten(2) * masks).sum(2)  # (B, K)
        gates = torch.softmax(torch.tanh(scores), dim=1)
        output = (gates.unsqueeze(2) * head_outputs).sum(1)  # (B, L)
        return output, masks.view(b, self.heads, z.shape[2], z.shape[3])


def separation(masks):
    """R: the mean over B·K·K of ((P Pᵀ) ⊙ (1 − I))², P the 2×2 average pool (floor) of the masks."""
    b, k = masks.shape[:2]
    pooled = torch.nn.functional.avg_pool2d(masks, 2).flatten(2)  # (B, K, h/2·w/2)
    gram = pooled @ pooled.transpose(1, 2)
    off = gram * (1 - torch.eye(k, dtype=gram.dtype))
    return (off**2).mean()


class OutputGate(torch.nn.Module):
    def __init__(self, features, sources):
        super().__init__()
        self.gates = torch.nn.Linear(features, sources, bias=False)
        self.bn = torch.nn.BatchNorm1d(sources)

    def forward(self, pooled):
        return torch.tanh(self.bn(self.gates(pooled)))


def attention_resnet18(classes, heads):
    """torchvision's ResNet-18 with modules att4 on layer4 and att3 on layer3, named flat."""
    model = torchvision.models.resnet18(num_classes=classes)
    model.att4 = AttentionModule(512, classes, heads)
    model.att3 = AttentionModule(256, classes, heads)
    model.output_gate = OutputGate(512, 3)
    return model


def attention_forward(model, x, reg_weight):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    layer3 = model.layer3(model.layer2(model.layer1(x)))
    layer4 = model.layer4(layer3)
    results = [model.att4(layer4), model.att3(layer3)]
    pooled = torch.flatten(model.avgpool(layer4), 1)
    sources = torch.stack([r[0] for r in results] + [model.fc(pooled)], dim=1)  # (B, 3, L)
    weights = torch.softmax(model.output_gate(pooled), dim=1)
    out = (weights.unsqueeze(2) * torch.log_softmax(sources, dim=2)).sum(1)
    regulariser = reg_weight * sum(separation(r[1]) for r in results) / len(results)
    return out, regulariser


def filled_state(model):
    checksums, filled = [], {}
    for name, tensor in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            filled[name] = tensor
            checksums.append([0.0, 0.0])
            continue
        values = fill(name, list(tensor.shape))
        filled[name] = torch.from_numpy(values)
        wide = values.astype(np.float64)
        checksums.append([float(wide.sum()), float(np.abs(wide).sum())])
    return filled, checksums


def training_step(inputs):
    """One training-mode forward and backward of ResNet-18 + attention on `inputs` (4 images)."""
    reg_weight, heads = 100.0, 2  # large, so that the regulariser is a visible part of the heads' gradients
    model = attention_resnet18(CLASSES, heads)
    names = list(model.state_dict().keys())
    filled, checksums = filled_state(model)
    model.load_state_dict(filled)
    model = model.double().train()
    labels = torch.tensor([3, 7, 0, 9], dtype=torch.int64)
    out, regulariser = attention_forward(model, inputs.double(), reg_weight)
    loss = torch.nn.functional.nll_loss(out, labels) + regulariser
    loss.backward()
    tensors = {"input": inputs.contiguous(), "labels": labels, "loss": loss.detach().float().reshape(1)}
    for name, parameter in model.named_parameters():
        gradient = parameter.grad.flatten()
        count = gradient.numel()
        index = torch.arange(count) if count <= 64 else torch.linspace(0, count - 1, 64).round().long()
        tensors[f"grad.{name}"] = gradient[index].float().contiguous()
        tensors[f"index.{name}"] = index.to(torch.int64).contiguous()
        tensors[f"gradmax.{name}"] = gradient.abs().max().float().reshape(1)
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
            tensors[f"after.{name}.running_mean"] = module.running_mean.float().contiguous()
            tensors[f"after.{name}.running_var"] = module.running_var.float().contiguous()
    tensors["checksums"] = torch.tensor(checksums, dtype=torch.float64)
    print("attention step loss", float(loss.detach()), "regulariser", float(regulariser.detach()))
    save_file(
        tensors,
        os.path.join(HERE, "torchvision_resnet18_attention_train_io.safetensors"),
        metadata={
            "arch": "resnet18", "classes": str(CLASSES), "state_dict_names": json.dumps(names),
            "attention_taps": "layer4,layer3", "attention_width": str(heads), "reg_weight": str(reg_weight),
        },
    )


def main():
    torch.manual_seed(0)
    inputs = (torch.rand(2, 3, 64, 64, dtype=torch.float64) * 2 - 1).float()
    small = (torch.rand(1, 3, 32, 32, dtype=torch.float64) * 2 - 1).float()
    training_step((torch.rand(4, 3, 64, 64, dtype=torch.float64) * 2 - 1).float())
    if "--train-only" in __import__("sys").argv:
        return
    for arch in ARCHS:
        model = getattr(torchvision.models, arch)(num_classes=CLASSES)
        names = list(model.state_dict().keys())
        filled, checksums = filled_state(model)
        model.load_state_dict(filled)
        model = model.double().eval()
        with torch.no_grad():
            logits = model(inputs.double())
            log_probs = torch.log_softmax(logits, dim=1).float()
            log_probs_small = torch.log_softmax(model(small.double()), dim=1).float()
        print(arch, "logits range", float(logits.min()), float(logits.max()))
        save_file(
            {
                "input": inputs.contiguous(),
                "log_probs": log_probs.contiguous(),
                "input_small": small.contiguous(),
                "log_probs_small": log_probs_small.contiguous(),
                "checksums": torch.tensor(checksums, dtype=torch.float64),
            },
            os.path.join(HERE, f"torchvision_{arch}_io.safetensors"),
            metadata={"arch": arch, "classes": str(CLASSES), "state_dict_names": json.dumps(names)},
        )


if __name__ == "__main__":
    main()
