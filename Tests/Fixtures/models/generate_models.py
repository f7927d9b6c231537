"""PyTorch reference models for Heed's interoperability tests.

Builds the networks of docs/design.md (§3 Wide ResNet) in plain PyTorch, with the
parameter names of the reference implementation, and saves

  wrn_baseline.safetensors     the state_dict, saved by safetensors.torch.save_file
                               (int64 num_batches_tracked included)
  wrn_baseline_io.safetensors  `input` (N, 3, H, W) and the eval-mode output
                               `log_probs` = log_softmax(model(input)) (N, L)

Run once with PyTorch and safetensors installed (any recent version, CPU is enough):
    pip install torch safetensors && python3 Tests/Fixtures/models/generate_models.py
The tests read the committed files; they never need PyTorch.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

# The group of pre-activation blocks is the attention reference's; its forward also
# returns u (the attention modules' input), which the baseline ignores.
from generate_attention import Group

HERE = os.path.dirname(os.path.abspath(__file__))


class WideResNet(nn.Module):
    def __init__(self, depth, width, classes):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.conv0 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.group_0 = Group(16, widths[0], n, 1)
        self.group_1 = Group(widths[0], widths[1], n, 2)
        self.group_2 = Group(widths[1], widths[2], n, 2)
        self.bn = nn.BatchNorm2d(widths[2])
        self.classifier = nn.Linear(widths[2], classes)

    def forward(self, x):
        x = self.conv0(x)
        x = self.group_2(self.group_1(self.group_0(x)[0])[0])[0]
        x = F.relu(self.bn(x))
        return self.classifier(x.mean(dim=(2, 3)))


def randomise_batch_norms(model, generator):
    """Non-trivial evaluation statistics, so the test exercises every term."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.weight.data = 1 + 0.2 * torch.randn(c, generator=generator)
            module.bias.data = 0.1 * torch.randn(c, generator=generator)
            module.running_mean.data = 0.1 * torch.randn(c, generator=generator)
            module.running_var.data = 0.5 + torch.rand(c, generator=generator)
            module.num_batches_tracked.fill_(7)


def main():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = WideResNet(depth=10, width=2, classes=5)
    randomise_batch_norms(model, generator)
    model.eval()
    images = torch.randn(3, 3, 12, 12, generator=generator)
    with torch.no_grad():
        log_probs = F.log_softmax(model(images), dim=1)
    save_file(model.state_dict(), os.path.join(HERE, "wrn_baseline.safetensors"),
              metadata={"depth": "10", "width": "2", "classes": "5"})
    save_file({"input": images.contiguous(), "log_probs": log_probs.contiguous()},
              os.path.join(HERE, "wrn_baseline_io.safetensors"))


if __name__ == "__main__":
    main()
