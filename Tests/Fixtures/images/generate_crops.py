"""Writes crops.json: torchvision's RandomResizedCrop geometry and its pixels, and
Resize + CenterCrop's pixels, for Tests/HeedDataTests/PhotoTransformTests.swift.

Run with an environment that has torch, torchvision and Pillow (the tests never need them):
    /work/venv-torch/bin/python Tests/Fixtures/images/generate_crops.py

Geometry: RandomResizedCrop.get_params is called for real, with torch.Tensor.uniform_ and
torch.randint wrapped to record what they returned; the test replays those draws through
Heed's formula and must get the same (i, j, h, w). Pixels: PIL images (torchvision's
ImageFolder path), resized by torchvision's own functional calls.
"""

import base64
import json
import math
import pathlib

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
random = np.random.default_rng(16)


def photo(width, height):
    """A smooth gradient plus noise: edges and flat parts, every value 0...255 used."""
    y, x = np.mgrid[0:height, 0:width]
    smooth = np.stack([255 * x / max(width - 1, 1), 255 * y / max(height - 1, 1), 128 + 100 * np.sin(x / 3.0 + y / 5.0)], axis=-1)
    noisy = smooth + random.normal(0, 40, size=smooth.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def encode(pixels):
    return base64.b64encode(np.ascontiguousarray(pixels).tobytes()).decode("ascii")


recorded = []
original_uniform = torch.Tensor.uniform_
original_randint = torch.randint


def recording_uniform(self, low=0.0, high=1.0, *args, **kwargs):
    result = original_uniform(self, low, high, *args, **kwargs)
    recorded.append(("uniform", float(result.item())))
    return result


def recording_randint(*args, **kwargs):
    result = original_randint(*args, **kwargs)
    recorded.append(("integer", int(result.item())))
    return result


def geometry_cases():
    torch.Tensor.uniform_ = recording_uniform
    torch.randint = recording_randint
    torch.manual_seed(16)
    cases = []
    settings = [((0.08, 1.0), (3 / 4, 4 / 3))] * 6 + [((0.9, 1.0), (3 / 4, 4 / 3)), ((0.5, 1.0), (2.0, 3.0)), ((0.95, 1.0), (0.2, 0.3))]
    sizes = [(500, 375), (375, 500), (61, 47), (9, 7), (1000, 90), (90, 1000), (32, 32), (3, 2)]
    for scale, ratio in settings:
        for width, height in sizes:
            for _ in range(2):
                recorded.clear()
                image = torch.zeros(3, height, width)
                crop = T.RandomResizedCrop.get_params(image, list(scale), list(ratio))
                cases.append(
                    {
                        "width": width,
                        "height": height,
                        "scale": list(scale),
                        "ratio": list(ratio),
                        "uniforms": [value for kind, value in recorded if kind == "uniform"],
                        "integers": [value for kind, value in recorded if kind == "integer"],
                        "crop": list(crop),
                    }
                )
    torch.Tensor.uniform_ = original_uniform
    torch.randint = original_randint
    return cases


def pixel_cases():
    images, crops, evaluations = [], [], []
    for width, height in [(53, 41), (40, 67)]:
        pixels = photo(width, height)
        images.append({"width": width, "height": height, "pixels": encode(pixels)})
        index = len(images) - 1
        image = Image.fromarray(pixels, "RGB")
        for size in [16, 48]:
            for _ in range(3):
                crop = T.RandomResizedCrop.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3])
                output = F.resized_crop(image, *crop, [size, size], T.InterpolationMode.BILINEAR, antialias=True)
                crops.append(
                    {"image": index, "crop": list(crop), "size": size, "output": encode(np.asarray(output))}
                )
        for resize, size in [(36, 32), (41, 37), (73, 64)]:
            output = T.Compose([T.Resize(resize), T.CenterCrop(size)])(image)
            evaluations.append(
                {"image": index, "resize": resize, "size": size, "output": encode(np.asarray(output))}
            )
    return images, crops, evaluations


images, crops, evaluations = pixel_cases()
fixture = {
    "generator": f"generate_crops.py: torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__}",
    "geometry": geometry_cases(),
    "images": images,
    "crops": crops,
    "evaluations": evaluations,
}
(HERE / "crops.json").write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
print(f"wrote {HERE / 'crops.json'}: {len(fixture['geometry'])} geometry cases, {len(crops)} crops, {len(evaluations)} evaluation transforms")
