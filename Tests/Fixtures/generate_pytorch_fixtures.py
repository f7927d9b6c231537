#!/usr/bin/env python3
"""Golden values from PyTorch for the ops whose semantics are subtle (docs/design.md §7).

Writes the committed JSON files in Tests/Fixtures/pytorch/; the Swift tests read them
with Tests/HeedTestSupport/Fixtures.swift and never need PyTorch. Rerun only to add
cases (the files change only if PyTorch's results do):

    python3 -m venv /work/venv-torch
    /work/venv-torch/bin/pip install torch numpy
    /work/venv-torch/bin/python Tests/Fixtures/generate_pytorch_fixtures.py [FAMILY ...]

How the values are made: inputs are drawn with fixed seeds as float32; PyTorch
computes in float64 from those exact values (CPU, deterministic); every tensor is
then rounded to float32. Where one op feeds another (affine_grid → grid_sample), the
intermediate is rounded to float32 before it is used. So each stored result is the
exact result of the stored inputs of its op, rounded once, and a test's tolerance
only has to cover Heed's own float32 error. Numbers are written
with 9 significant digits, which recovers the float32 exactly when parsed to a
double and rounded to float (the generator checks each one and writes the exact
double where 9 digits would not do). Sizes are odd and small; the files stay well
under 1 MB together.

Schema of every file (JSON):

    {
      "family": "<file name without .json>",
      "description": "<what the cases exercise>",
      "torch": "<PyTorch version>",
      "generator": "Tests/Fixtures/generate_pytorch_fixtures.py",
      "cases": [
        {
          "name": "<case name>",
          "settings": {"<name>": <number>, ...},              # scalars; flags are 0 or 1
          "tensors": {"<name>": {"shape": [<int>, ...],       # row-major, NCHW
                                 "values": [<number>, ...]}, ...}
        }, ...
      ]
    }

Per file, the case names, settings and tensors (gradients are of L = Σ output·grad_output):

batch_norm.json: cases bn2d_train, bn2d_eval (input (N, C, H, W) = (3, 5, 7, 9)) and
  bn1d_train, bn1d_eval (input (N, C) = (7, 5)), all torch.nn.BatchNorm{1,2}d.
  settings: eps (1e-5), momentum (0.1), training (1 or 0).
  tensors: input, weight (C), bias (C), running_mean, running_var (C, before the
  call), running_mean_after, running_var_after (C: after the call; equal to the
  before values in eval; in training updated with the UNBIASED batch variance),
  batch_mean, batch_var (C, training only: the batch mean and the BIASED variance
  that normalise), output, grad_output, grad_input, grad_weight, grad_bias.

softmax.json: cases softmax_class, log_softmax_class (input (N, L) = (7, 11),
  normalised over L) and softmax_spatial, log_softmax_spatial (input (B, K, h·w) =
  (3, 5, 63), normalised over the last axis). Some rows hold ±1e4 (one dominant
  entry, ties at 1e4, all entries near −1e4, ±1e4 mixed).
  settings: dim (the normalised axis: 1 for class, 2 for spatial).
  tensors: input, output, grad_output, grad_input.

grouped_conv2d.json: cases groups2_3x3_stride2_pad1 (input (2, 4, 7, 9), weight (6, 2, 3, 3)),
  depthwise_3x3_pad1 (input (2, 5, 6, 7), weight (5, 1, 3, 3)),
  depthwise_multiplier2_5x3_stride3_pad2 (input (1, 3, 10, 8), weight (6, 1, 5, 3)),
  groups32_3x3_pad1 (input (1, 64, 4, 5), weight (64, 2, 3, 3)); conv2d with groups.
  settings: stride, padding, groups. tensors: as conv2d.json.

conv2d.json: cases conv3x3_stride2_pad1 (input (2, 3, 9, 11), weight (5, 3, 3, 3)),
  conv3x3_stride2_pad1_even (input (1, 2, 8, 10), weight (3, 2, 3, 3)),
  conv1x1_stride2 (input (2, 3, 9, 11), weight (4, 3, 1, 1)),
  conv3x3_stride1_pad1 (input (2, 3, 7, 5), weight (4, 3, 3, 3)); all with bias,
  torch.nn.functional.conv2d (cross-correlation, dilation 1, groups 1).
  settings: stride, padding.
  tensors: input, weight (C_out, C_in, kh, kw), bias (C_out), output, grad_output,
  grad_input, grad_weight, grad_bias.

grid_sample.json: affine_grid then grid_sample, align_corners False, bilinear, zeros.
  Cases: zoom (θ = [[s, 0, tx], [0, s, ty]] as Coarse2Fine makes it; input
  (2, 3, 7, 9), output 5×6), general (random θ with rotation and shear reaching past
  the image; input (3, 2, 5, 4), output 7×3), upsample (identity θ; input
  (1, 1, 3, 4), output 8×9). No pixel coordinate of any grid point lies within 1e-3
  of an integer, where the grid gradient jumps.
  settings: out_height, out_width, align_corners (0).
  tensors: theta (N, 2, 3), input (N, C, Hin, Win), grid (N, H, W, 2) (x, y last),
  output (N, C, H, W), grad_output, grad_input, grad_grid (∂L/∂grid), grad_theta.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUTPUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch")


# MARK: Writing

class Numbers:
    """A float32 array, written as one line of numbers."""

    def __init__(self, array):
        self.values = np.asarray(array, dtype=np.float32).ravel()


def number_text(value):
    value = np.float32(value)
    if not math.isfinite(float(value)):
        raise ValueError(f"JSON cannot hold {value}")
    text = "%.9g" % value
    # What the Swift loader does: parse to a double, round to float.
    if np.float32(float(text)) != value:
        text = repr(float(value))
    return text


def to_json(item, indent=0):
    pad = "  " * indent
    if isinstance(item, Numbers):
        return "[" + ",".join(number_text(v) for v in item.values) + "]"
    if isinstance(item, dict):
        inner = ",\n".join(f'{pad}  {json.dumps(k)}: {to_json(v, indent + 1)}' for k, v in item.items())
        return "{\n" + inner + "\n" + pad + "}"
    if isinstance(item, list) and item and isinstance(item[0], dict):
        inner = ",\n".join(pad + "  " + to_json(v, indent + 1) for v in item)
        return "[\n" + inner + "\n" + pad + "]"
    return json.dumps(item, ensure_ascii=False)


def tensor(value):
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    return {"shape": list(array.shape), "values": Numbers(array)}


def case(name, settings, tensors):
    return {"name": name, "settings": settings, "tensors": {k: tensor(v) for k, v in tensors.items()}}


def write(family, description, cases):
    document = {
        "family": family,
        "description": description,
        "torch": torch.__version__.split("+")[0],
        "generator": "Tests/Fixtures/generate_pytorch_fixtures.py",
        "cases": cases,
    }
    path = os.path.join(OUTPUT_DIR, family + ".json")
    with open(path, "w", encoding="utf-8") as file:
        file.write(to_json(document) + "\n")
    print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


# MARK: Inputs

def uniform(rng, shape, low=-1.0, high=1.0):
    """float32 values, returned as a float64 tensor holding exactly those values."""
    return torch.from_numpy(rng.uniform(low, high, size=shape).astype(np.float32).astype(np.float64))


def float32(values):
    """A float64 tensor holding `values` rounded to float32."""
    return values.detach().float().double()


def leaf(values):
    return values.clone().requires_grad_(True)


# MARK: Batch normalisation

def batch_norm_cases():
    cases = []
    for name, shape in [("bn2d", (3, 5, 7, 9)), ("bn1d", (7, 5))]:
        for training in (True, False):
            rng = np.random.default_rng(100 + len(cases))
            channels = shape[1]
            x = leaf(uniform(rng, shape, -2, 3))
            module = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(
                channels, eps=1e-5, momentum=0.1).double()
            with torch.no_grad():
                module.weight.copy_(uniform(rng, (channels,), 0.5, 1.5))
                module.bias.copy_(uniform(rng, (channels,)))
                module.running_mean.copy_(uniform(rng, (channels,)))
                module.running_var.copy_(uniform(rng, (channels,), 0.5, 2))
            before = (module.running_mean.clone(), module.running_var.clone())
            module.train(training)
            y = module(x)
            go = uniform(rng, y.shape)
            y.backward(go)
            tensors = {
                "input": x, "weight": module.weight, "bias": module.bias,
                "running_mean": before[0], "running_var": before[1],
                "running_mean_after": module.running_mean, "running_var_after": module.running_var,
            }
            if training:
                axes = [0] + list(range(2, len(shape)))
                tensors["batch_mean"] = x.mean(dim=axes)
                tensors["batch_var"] = x.var(dim=axes, unbiased=False)
            tensors.update({"output": y, "grad_output": go, "grad_input": x.grad,
                            "grad_weight": module.weight.grad, "grad_bias": module.bias.grad})
            settings = {"eps": 1e-5, "momentum": 0.1, "training": int(training)}
            cases.append(case(f"{name}_{'train' if training else 'eval'}", settings, tensors))
    return cases


# MARK: Softmax

def softmax_input(rng, rows, length):
    """Random logits, with rows 1 to 4 holding the extremes ±1e4."""
    x = rng.uniform(-3, 3, size=(rows, length)).astype(np.float32)
    x[1, 3] = 1e4                                  # one dominant entry
    x[2, 2] = 1e4
    x[2, 7] = 1e4                                  # a tie at the top
    x[3, :] = -1e4 + x[3, :]                       # all near −1e4
    x[4, ::2] = 1e4
    x[4, 1::2] = -1e4                              # ±1e4 mixed
    return x


def softmax_cases():
    cases = []
    for axis_name, shape, dim in [("class", (7, 11), 1), ("spatial", (3, 5, 63), 2)]:
        for kind in ("softmax", "log_softmax"):
            rng = np.random.default_rng(200 + len(cases))
            length = shape[-1]
            rows = int(np.prod(shape[:-1]))
            x = leaf(torch.from_numpy(softmax_input(rng, rows, length).reshape(shape).astype(np.float64)))
            y = (F.softmax if kind == "softmax" else F.log_softmax)(x, dim=dim)
            go = uniform(rng, y.shape)
            y.backward(go)
            cases.append(case(f"{kind}_{axis_name}", {"dim": dim},
                              {"input": x, "output": y, "grad_output": go, "grad_input": x.grad}))
    return cases


# MARK: Convolution

def conv2d_cases():
    specs = [
        ("conv3x3_stride2_pad1", (2, 3, 9, 11), (5, 3, 3, 3), 2, 1),
        ("conv3x3_stride2_pad1_even", (1, 2, 8, 10), (3, 2, 3, 3), 2, 1),
        ("conv1x1_stride2", (2, 3, 9, 11), (4, 3, 1, 1), 2, 0),
        ("conv3x3_stride1_pad1", (2, 3, 7, 5), (4, 3, 3, 3), 1, 1),
    ]
    cases = []
    for index, (name, input_shape, weight_shape, stride, padding) in enumerate(specs):
        rng = np.random.default_rng(300 + index)
        x = leaf(uniform(rng, input_shape))
        w = leaf(uniform(rng, weight_shape))
        b = leaf(uniform(rng, weight_shape[:1]))
        y = F.conv2d(x, w, b, stride=stride, padding=padding)
        go = uniform(rng, y.shape)
        y.backward(go)
        cases.append(case(name, {"stride": stride, "padding": padding}, {
            "input": x, "weight": w, "bias": b, "output": y, "grad_output": go,
            "grad_input": x.grad, "grad_weight": w.grad, "grad_bias": b.grad,
        }))
    return cases


def grouped_conv2d_cases():
    specs = [
        ("groups2_3x3_stride2_pad1", (2, 4, 7, 9), (6, 2, 3, 3), 2, 1, 2),
        ("depthwise_3x3_pad1", (2, 5, 6, 7), (5, 1, 3, 3), 1, 1, 5),
        ("depthwise_multiplier2_5x3_stride3_pad2", (1, 3, 10, 8), (6, 1, 5, 3), 3, 2, 3),
        ("groups32_3x3_pad1", (1, 64, 4, 5), (64, 2, 3, 3), 1, 1, 32),
    ]
    cases = []
    for index, (name, input_shape, weight_shape, stride, padding, groups) in enumerate(specs):
        rng = np.random.default_rng(400 + index)
        x = leaf(uniform(rng, input_shape))
        w = leaf(uniform(rng, weight_shape))
        b = leaf(uniform(rng, weight_shape[:1]))
        y = F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
        go = uniform(rng, y.shape)
        y.backward(go)
        cases.append(case(name, {"stride": stride, "padding": padding, "groups": groups}, {
            "input": x, "weight": w, "bias": b, "output": y, "grad_output": go,
            "grad_input": x.grad, "grad_weight": w.grad, "grad_bias": b.grad,
        }))
    return cases


# MARK: Grid sampling

def distance_to_kinks(grid, in_height, in_width):
    """Smallest distance of a pixel coordinate of the grid to an integer."""
    ix = ((grid[..., 0] + 1) * in_width - 1) / 2
    iy = ((grid[..., 1] + 1) * in_height - 1) / 2
    return min(float((ix - ix.round()).abs().min()), float((iy - iy.round()).abs().min()))


def grid_sample_cases():
    def zoom_theta(rng, batch):
        s = rng.uniform(0.4, 0.95, size=batch)
        t = rng.uniform(-1, 1, size=(batch, 2)) * (1 - s)[:, None]
        theta = np.zeros((batch, 2, 3))
        theta[:, 0, 0] = theta[:, 1, 1] = s
        theta[:, :, 2] = t
        return theta

    def general_theta(rng, batch):
        return rng.uniform(-1.2, 1.2, size=(batch, 2, 3))

    def identity_theta(rng, batch):
        return np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (batch, 1, 1))

    specs = [
        ("zoom", zoom_theta, (2, 3, 7, 9), (5, 6)),
        ("general", general_theta, (3, 2, 5, 4), (7, 3)),
        ("upsample", identity_theta, (1, 1, 3, 4), (8, 9)),
    ]
    cases = []
    for index, (name, make_theta, input_shape, (out_height, out_width)) in enumerate(specs):
        rng = np.random.default_rng(400 + index)
        batch, channels = input_shape[:2]
        theta = leaf(torch.from_numpy(make_theta(rng, batch).astype(np.float32).astype(np.float64)))
        x = leaf(uniform(rng, input_shape))
        exact_grid = F.affine_grid(theta, [batch, channels, out_height, out_width], align_corners=False)
        # The stored grid is rounded to float32; grid_sample starts from exactly it, and
        # grad_theta from the stored grad_grid, so each op's stored outputs are the exact
        # results of its stored inputs.
        grid = leaf(float32(exact_grid))
        assert distance_to_kinks(grid.detach(), *input_shape[2:]) > 1e-3, name
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        go = uniform(rng, y.shape)
        y.backward(go)
        grad_grid = float32(grid.grad)
        (grad_theta,) = torch.autograd.grad(exact_grid, theta, grad_grid)
        cases.append(case(name, {"out_height": out_height, "out_width": out_width, "align_corners": 0}, {
            "theta": theta, "input": x, "grid": grid, "output": y, "grad_output": go,
            "grad_input": x.grad, "grad_grid": grad_grid, "grad_theta": grad_theta,
        }))
    return cases


FAMILIES = {
    "batch_norm": lambda: write("batch_norm", "BatchNorm2d and BatchNorm1d: a training step (running statistics updated) "
                                "and evaluation, forward and backward", batch_norm_cases()),
    "softmax": lambda: write("softmax", "softmax and log_softmax over the class axis (N, L) and the spatial axis "
                             "(B, K, h·w), with rows of ±1e4, forward and backward", softmax_cases()),
    "conv2d": lambda: write("conv2d", "conv2d with bias: 3×3 stride 2 pad 1 (odd and even sizes), 1×1 stride 2, "
                            "3×3 stride 1 pad 1, forward and backward", conv2d_cases()),
    "grouped_conv2d": lambda: write("grouped_conv2d", "conv2d with groups and bias: 2 groups at stride 2, depthwise, "
                                    "depthwise ×2 with a 5×3 kernel at stride 3, 32 groups, forward and backward",
                                    grouped_conv2d_cases()),
    "grid_sample": lambda: write("grid_sample", "affine_grid + grid_sample (align_corners False, bilinear, zeros padding): "
                                 "output and gradients to the input, the grid and θ", grid_sample_cases()),
}


def main():
    """Writes every family's file, or only those named on the command line."""
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    names = sys.argv[1:] or list(FAMILIES)
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        sys.exit(f"unknown fixture families {unknown}; known: {list(FAMILIES)}")
    for name in names:
        FAMILIES[name]()


if __name__ == "__main__":
    main()
