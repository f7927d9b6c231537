"""PyTorch reference for the modular attention network (docs/design.md §4) and its fixtures.

Builds, in plain PyTorch and with the parameter names of the authors' reference code,
the Wide ResNet trunk of §4 (stem relu(bn0(conv0(x))), final BN `bn_g2`), the
attention modules `att2`, `att1`, `att0` (AttentionModule(C, L, K): `att_head`,
`out_head`, `score`, each a bias-free 3x3 conv), the global output gate
(`output_gate.gates`, `output_gate.bn`), the softmax / sigmoid aggregation of the
log-probabilities, and the head-decorrelation regulariser.  It then writes small
golden fixtures next to this file (see README.md in this folder for the schema):

  attention_ad{AD}_aw{AW}.safetensors
        the state_dict of WRN-10-1 + attention (3 classes), saved with
        safetensors.torch.save_file (int64 num_batches_tracked included).  A state_dict
        does not depend on the gate kind, so one file serves both gates.
  attention_ad{AD}_aw{AW}_eval_{gate}_io.safetensors
        eval-mode golden: `input`, `log_probs` (= the network's `out`), plus the
        intermediates `stack`, `gates`.
  attention_ad3_aw2_train_{gate}_io.safetensors
        one training-mode forward/backward on attention_ad3_aw2.safetensors: `input`,
        `labels`, `loss`, `nll`, `reg`, `grad.<param>` for every parameter and
        `after.<bn>.running_mean|running_var` (BN running statistics after the forward).

All results are computed in float64 from the float32 parameters and inputs (exact
widening) and stored as float32, so they are the true values for the stored float32
tensors, not one float32 summation order.

Run once with PyTorch and safetensors installed (any recent version, CPU is enough):
    pip install torch safetensors && python3 Tests/Fixtures/models/generate_attention.py
The output is deterministic (byte-identical across runs on one machine).  The tests read
the committed files; they never need PyTorch.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

DEPTH, WIDTH, CLASSES = 10, 1, 3
REG_WEIGHT = 0.001


# ----------------------------------------------------------------------------- trunk

class Block(nn.Module):
    """Pre-activation block: out = conv1(relu(bn1(conv0(u)))) + shortcut(x), u = relu(bn0(x)).

    `forward` also returns u, the input of an attention module attached before the group.
    """

    def __init__(self, ni, no, stride):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(ni)
        self.conv0 = nn.Conv2d(ni, no, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(no)
        self.conv1 = nn.Conv2d(no, no, 3, 1, 1, bias=False)
        if ni != no:
            self.conv_reduce = nn.Conv2d(ni, no, 1, stride, 0, bias=False)

    def forward(self, x):
        u = F.relu(self.bn0(x))
        v = F.relu(self.bn1(self.conv0(u)))
        z = self.conv1(v)
        return z + (self.conv_reduce(x) if hasattr(self, "conv_reduce") else x), u


class Group(nn.Module):
    def __init__(self, ni, no, n, stride):
        super().__init__()
        for i in range(n):
            setattr(self, f"block_{i}", Block(ni if i == 0 else no, no, stride if i == 0 else 1))
        self.n = n

    def forward(self, x):
        """Returns (group output, u of block_0)."""
        first_u = None
        for i in range(self.n):
            x, u = getattr(self, f"block_{i}")(x)
            if i == 0:
                first_u = u
        return x, first_u


# ------------------------------------------------------------------------- attention

class Head(nn.Module):
    """A bias-free 3x3 convolution, padding 1, wrapped so its weight is `<name>.conv.weight`."""

    def __init__(self, ni, no):
        super().__init__()
        self.conv = nn.Conv2d(ni, no, 3, 1, 1, bias=False)

    def forward(self, x):
        return self.conv(x)


class AttentionModule(nn.Module):
    """AttentionModule(C, L, K) of docs/design.md §4.

    forward(Z) -> (output (B, 1, L), masks M (B, K, h*w)).
    """

    def __init__(self, in_channels, classes, heads):
        super().__init__()
        self.classes, self.heads = classes, heads
        self.att_head = Head(in_channels, heads)
        self.out_head = Head(in_channels, heads * classes)
        self.score = Head(in_channels, heads)

    def forward(self, z):
        b, _, h, w = z.shape
        k, l = self.heads, self.classes
        m = F.softmax(self.att_head(z).view(b, k, h * w), dim=2)            # (B, K, hw)
        o_map = self.out_head(z).view(b, k, l, h * w)                        # (B, K, L, hw)
        o = (o_map * m.unsqueeze(2)).sum(dim=3)                              # (B, K, L)
        s = self.score(z).view(b, k, h * w)                                  # (B, K, hw)
        g = F.softmax(torch.tanh((s * m).sum(dim=2)), dim=1)                 # (B, K)
        out = (g.unsqueeze(2) * o).sum(dim=1)                                # (B, L)
        return out.unsqueeze(1), m


def attention_regulariser(m, h, w):
    """R = mean over B*K*K of ((P P^T) ⊙ (1 − I))², P = 2x2 average pool (floor) of the masks."""
    b, k, _ = m.shape
    p = F.avg_pool2d(m.view(b, k, h, w), 2).view(b, k, -1)                  # floor: ceil_mode False
    gram = torch.bmm(p, p.transpose(1, 2))                                   # (B, K, K)
    off = 1 - torch.eye(k, dtype=m.dtype, device=m.device)
    return ((gram * off) ** 2).mean()


class OutputGate(nn.Module):
    """gates = tanh(BN1d(x̄ · gates.weightᵀ)), weight (AD+1, 64k), no bias."""

    def __init__(self, in_features, outputs):
        super().__init__()
        self.gates = nn.Linear(in_features, outputs, bias=False)
        self.bn = nn.BatchNorm1d(outputs)

    def forward(self, x):
        return torch.tanh(self.bn(self.gates(x)))


class WideResNet(nn.Module):
    """WRN trunk of §4 with `attention_depth` modules attached at groups (2, 1, 0)."""

    def __init__(self, depth, width, classes, attention_depth, attention_width, gate,
                 reg_weight=REG_WEIGHT):
        super().__init__()
        self.reg_weight = reg_weight
        assert 1 <= attention_depth <= 3 and gate in ("softmax", "sigmoid")
        n = (depth - 4) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.attention_depth, self.gate = attention_depth, gate
        self.conv0 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn0 = nn.BatchNorm2d(16)
        self.group_0 = Group(16, widths[0], n, 1)
        self.group_1 = Group(widths[0], widths[1], n, 2)
        self.group_2 = Group(widths[1], widths[2], n, 2)
        self.bn_g2 = nn.BatchNorm2d(widths[2])
        self.classifier = nn.Linear(widths[2], classes)
        # att2 on relu(bn_g2(g2)) (64k), att1 on u of group_2.block_0 (= relu(bn0(g1)), 32k),
        # att0 on u of group_1.block_0 (= relu(bn0(g0)), 16k).
        for g in (2, 1, 0)[:attention_depth]:
            setattr(self, f"att{g}", AttentionModule(widths[g], classes, attention_width))
        self.output_gate = OutputGate(widths[2], attention_depth + 1)
        self.reset_parameters()

    def attention_groups(self):
        return (2, 1, 0)[:self.attention_depth]

    def reset_parameters(self):
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    bound = 1 / module.weight.shape[1] ** 0.5
                    nn.init.uniform_(module.bias, -bound, bound)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        """Returns (out (B, L), stack (B, AD+1, L) before log_softmax, gates (B, AD+1), regulariser)."""
        x = F.relu(self.bn0(self.conv0(x)))
        g0, _ = self.group_0(x)
        g1, u1 = self.group_1(g0)
        g2, u2 = self.group_2(g1)
        o = F.relu(self.bn_g2(g2))
        inputs = {2: o, 1: u2, 0: u1}
        outputs, regs = [], []
        for g in self.attention_groups():
            z = inputs[g]
            out, m = getattr(self, f"att{g}")(z)
            outputs.append(out)
            regs.append(self.reg_weight * attention_regulariser(m, z.shape[2], z.shape[3]))
        pooled = o.mean(dim=(2, 3))
        outputs.append(self.classifier(pooled).unsqueeze(1))
        stack = torch.cat(outputs, dim=1)                                    # (B, AD+1, L)
        log_probs = F.log_softmax(stack, dim=2)
        gates = self.output_gate(pooled)                                     # (B, AD+1)
        if self.gate == "softmax":
            out = (F.softmax(gates, dim=1).unsqueeze(2) * log_probs).sum(dim=1)
        else:
            sig = torch.sigmoid(gates)
            out = (sig.unsqueeze(2) * log_probs).sum(dim=1) / (1e-6 + sig.sum(dim=1, keepdim=True))
        reg = torch.stack(regs).mean()
        return out, stack, gates, reg


# -------------------------------------------------------------------------- fixtures

def randomise_batch_norms(model, generator):
    """Non-trivial evaluation statistics, so the test exercises every term."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = module.num_features
            module.weight.data = 1 + 0.2 * torch.randn(c, generator=generator)
            module.bias.data = 0.1 * torch.randn(c, generator=generator)
            module.running_mean.data = 0.1 * torch.randn(c, generator=generator)
            module.running_var.data = 0.5 + torch.rand(c, generator=generator)
            module.num_batches_tracked.fill_(7)


def calibrate_output_gate(model, images, generator):
    """Running statistics of output_gate.bn near the real scale of x̄·Wᵀ (on other images),
    so that the eval-mode gates tanh(BN1d(·)) are not saturated at ±1."""
    model.eval()
    with torch.no_grad():
        x = F.relu(model.bn0(model.conv0(images)))
        g2, _ = model.group_2(model.group_1(model.group_0(x)[0])[0])
        pre = model.output_gate.gates(F.relu(model.bn_g2(g2)).mean(dim=(2, 3)))
    bn, c = model.output_gate.bn, model.output_gate.bn.num_features
    bn.running_mean.data = pre.mean(0) + 0.3 * pre.std(0) * torch.randn(c, generator=generator)
    bn.running_var.data = pre.var(0) * (0.5 + torch.rand(c, generator=generator))


def build(ad, aw, gate, seed):
    torch.manual_seed(seed)
    model = WideResNet(DEPTH, WIDTH, CLASSES, ad, aw, gate)
    generator = torch.Generator().manual_seed(seed + 1)
    randomise_batch_norms(model, generator)
    calibrate_output_gate(model, torch.randn(8, 3, 16, 16, generator=generator), generator)
    return model


def metadata(ad, aw, gate=None, reg_weight=REG_WEIGHT):
    meta = {"depth": str(DEPTH), "width": str(WIDTH), "classes": str(CLASSES),
            "attention_depth": str(ad), "attention_width": str(aw),
            "reg_weight": repr(reg_weight)}
    if gate is not None:
        meta["attention_gate"] = gate
    return meta


def save(tensors, path, meta):
    """safetensors.torch.save_file, then the header's __metadata__ keys sorted.

    safetensors serialises the metadata from a hash map, so its key order (and hence the
    file's bytes) changes from run to run; sorting it in place keeps the header's length,
    the tensors' offsets and the data unchanged and makes the output byte-reproducible.
    """
    save_file(tensors, path, metadata=meta)
    with open(path, "r+b") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":")).encode()
        assert len(text) <= n
        f.seek(8)
        f.write(text + b" " * (n - len(text)))


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def save_state(model, ad, aw):
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save(state, os.path.join(HERE, f"attention_ad{ad}_aw{aw}.safetensors"), metadata(ad, aw))


def eval_fixture(model, ad, aw, images):
    """One state file, one eval io file per gate kind."""
    save_state(model, ad, aw)
    reference = model.double().eval()
    for gate in ("softmax", "sigmoid"):
        reference.gate = gate
        with torch.no_grad():
            out, stack, gates, _ = reference(images.double())
        save({"input": images.contiguous(), "log_probs": f32(out), "stack": f32(stack),
              "gates": f32(gates)},
             os.path.join(HERE, f"attention_ad{ad}_aw{aw}_eval_{gate}_io.safetensors"),
             metadata(ad, aw, gate))
    model.float()


def train_fixture(model, ad, aw, gate, images, labels, reg_weight):
    """One training-mode forward (batch statistics) and backward from the stored state."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    reference = model.double().train()
    reference.gate, reference.reg_weight = gate, reg_weight
    reference.zero_grad()
    out, _, _, reg = reference(images.double())
    nll = -out.gather(1, labels.view(-1, 1)).mean()
    loss = nll + reg
    loss.backward()
    tensors = {"input": images.contiguous(), "labels": labels.contiguous(),
               "loss": f32(loss), "nll": f32(nll), "reg": f32(reg)}
    for name, p in reference.named_parameters():
        tensors[f"grad.{name}"] = f32(p.grad)
    for name, buf in reference.named_buffers():
        if name.endswith("running_mean") or name.endswith("running_var"):
            tensors[f"after.{name}"] = f32(buf)
    save(tensors, os.path.join(HERE, f"attention_ad{ad}_aw{aw}_train_{gate}_io.safetensors"),
         metadata(ad, aw, gate, reg_weight))
    model.float()
    model.reg_weight = REG_WEIGHT
    model.load_state_dict(state)   # restore the pre-step state (running stats, counters)
    model.zero_grad()


def main():
    torch.set_num_threads(1)
    data = torch.Generator().manual_seed(1234)
    eval_images = torch.randn(2, 3, 16, 16, generator=data)
    # (AD, AW) models with eval goldens for both gates: every AD and every AW at least once.
    for seed, (ad, aw) in enumerate([(1, 4), (2, 1), (3, 2), (3, 3), (3, 4)]):
        model = build(ad, aw, "softmax", seed=100 * (seed + 1))
        eval_fixture(model, ad, aw, eval_images)
        if (ad, aw) == (3, 2):
            # 16x16 -> attention maps 16, 8, 4; 18x18 -> 18, 9, 5 (odd: the 2x2 pool floors).
            # The default reg_w = 0.001 makes the regulariser ~1e-8 of the loss, invisible in
            # the gradients; the sigmoid case uses reg_w = 1e4 so that its gradient counts.
            train_fixture(model, 3, 2, "softmax", torch.randn(3, 3, 16, 16, generator=data),
                          torch.tensor([0, 2, 1], dtype=torch.int64), REG_WEIGHT)
            train_fixture(model, 3, 2, "sigmoid", torch.randn(3, 3, 18, 18, generator=data),
                          torch.tensor([2, 1, 2], dtype=torch.int64), 1e4)


if __name__ == "__main__":
    main()
