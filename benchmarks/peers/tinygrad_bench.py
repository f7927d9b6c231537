"""The cases of benchmarks/suites.json in tinygrad, on its OpenCL backend (DEV=CL; PoCL's
CPU device where that is the only OpenCL device), counted and reported as `heed bench` does.

Every case is a function of realized input tensors wrapped in TinyJit, which is how
tinygrad is meant to run a fixed step: its first call schedules and compiles the kernels
(with PoCL's LLVM), the second captures them, later calls replay them.  So a case has at
least two warm-up calls (more if suites.json asks for more), then N timed calls, each timed
with the wall clock around the call and the device's synchronize (clFinish); a row reports
the median, minimum and maximum.  Flops and bytes are the formulas of benchmarks/README.md
(bench_common.case_work), so rows pair with Heed's by `id`.  Ceilings of the same run: a
large buffer copy on the device (`dst.assign(src)`, bytes = 2 × size) and the best square
GEMM of settings.ceiling_gemm.

What each kernel case runs:
  gemm, conv_gemm   a.matmul(b), transposed operands as views (`.T`) of the stored ones
  conv2d            Tensor.conv2d; `input` and `weight` are Tensor.gradient of it from ∂y
  attention         forward as in the README (softmax over S, Σ_s values·masks, softmax_k
                    tanh(Σ_s scores·masks), Σ_k gates·o); backward from the forward's masks,
                    values, scores and ∂out: Tensor.gradient to ∂values, ∂scores, ∂masks, then
                    ∂logits = masks ⊙ (∂masks − Σ_s ∂masks·masks) (o is recomputed, not read)
  aggregation       Σ_i softmax(gates)_i · log_softmax(sources_i); backward by Tensor.gradient
  batch_norm        nn.BatchNorm in training mode (running statistics updated); backward by
                    Tensor.gradient of the batch-statistics normalisation
  sgd               nn.optim.SGD (lr 0.1, momentum 0.9, Nesterov, weight decay 5e-4), one step
  grid_sample       skipped: tinygrad has no grid sampling (bilinear reads at computed
                    coordinates need a gather it does not provide as an op)

The training cases run a port of the reference network of
Tests/Fixtures/models/generate_attention.py (WideResNet, softmax output gate, same layer
and parameter names): a step is zero_grad, the forward in training mode, loss = NLL of the
gated output + 0.001 × head-separation regulariser, backward and the SGD step (parameters,
momentum and BN running statistics realized); inference is the forward with TRAINING=0.
`--check-model` copies the PyTorch reference's weights into the port and compares outputs,
loss and gradients (it needs torch).  tinygrad reports no peak memory here ("peak_bytes" is
left out): its allocator caches freed buffers and the JIT plans memory ahead.
"""
from __future__ import annotations

import importlib.metadata
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

# Bound by import_tinygrad(), which sets DEV first: tinygrad reads it when imported.
Tensor = TinyJit = Context = Device = nn = None


def import_tinygrad(device: str) -> None:
    global Tensor, TinyJit, Context, Device, nn
    os.environ["DEV"] = device
    try:
        from tinygrad import Context, Device, Tensor, TinyJit, nn
    except ImportError as error:
        raise SystemExit(f"tinygrad_bench.py needs tinygrad ({error}): pip install tinygrad") from error
    try:
        Device[Device.DEFAULT]   # open the device now, so that a missing driver fails here
    except Exception as error:   # tinygrad raises whatever its runtime's loader raised
        raise SystemExit(f"tinygrad cannot open device {device!r}: {error}") from error


def synchronize() -> None:
    Device[Device.DEFAULT].synchronize()


def realized(*tensors):
    Tensor.realize(*tensors)
    synchronize()
    return tensors


def measure(step: Callable[[], object], warmup: int, runs: int) -> list[float]:
    """Times a TinyJit'd call; at least two warm-up calls so that the JIT has captured."""
    def timed():
        start = time.perf_counter()
        step()
        synchronize()
        return (time.perf_counter() - start) * 1e3
    return bc.time_runs(timed, max(warmup, 2), runs)


def jitted(fn: Callable, *inputs) -> Callable[[], object]:
    """`fn(*inputs)` as a zero-argument call through TinyJit, its outputs realized."""
    jit = TinyJit(fn)
    return lambda: jit(*inputs)


# ----------------------------------------------------------------------------- kernels

class Unsupported(Exception):
    """A case tinygrad cannot run; the message is the reason printed and recorded."""


def attention_forward(logits, values, scores):
    masks = logits.softmax(2)                                               # (B, K, S)
    return attention_from_masks(masks, values, scores) + (masks,)


def attention_from_masks(masks, values, scores):
    o = (values * masks.unsqueeze(2)).sum(3)                                # (B, K, L)
    gates = (scores * masks).sum(2).tanh().softmax(1)                       # (B, K)
    out = (gates.unsqueeze(2) * o).sum(1)                                   # (B, L)
    return o, gates, out


def attention_backward(masks, values, scores, dout):
    _, _, out = attention_from_masks(masks, values, scores)
    dvalues, dscores, dmasks = out.gradient(values, scores, masks, gradient=dout)
    dlogits = masks * (dmasks - (dmasks * masks).sum(2, keepdim=True))     # softmax over S, backward
    return dvalues, dscores, dlogits


def aggregation_forward(sources, gates):
    return (gates.softmax(1).unsqueeze(2) * sources.log_softmax(2)).sum(1)


def kernel_work(case: bc.Case, suites: dict, quick: bool) -> Callable[[], object]:
    e, b = case.spec, case.batch
    pass_ = e.get("pass")

    def r(*shape):
        return Tensor.randn(*shape).realize()

    if case.op == "gemm":
        return jitted(lambda a, bb: a.matmul(bb), r(e["m"], e["k"]), r(e["k"], e["n"]))
    if case.op == "conv_gemm":
        m, n, k = bc.conv_gemm_shape(bc.conv_geometry(suites, e["layer"], b), pass_)
        if pass_ == "input":
            return jitted(lambda a, bb: a.T.matmul(bb), r(k, m), r(k, n))
        if pass_ == "weight":
            return jitted(lambda a, bb: a.matmul(bb.T), r(m, k), r(n, k))
        return jitted(lambda a, bb: a.matmul(bb), r(m, k), r(k, n))
    if case.op == "conv2d":
        g = bc.conv_geometry(suites, e["layer"], b)
        x, w = r(b, g.channels, g.size, g.size), r(g.out, g.channels, g.kernel, g.kernel)
        dy = r(b, g.out, g.out_size, g.out_size)

        def conv(x, w):
            return x.conv2d(w, stride=g.stride, padding=g.padding)
        if pass_ == "forward":
            return jitted(conv, x, w)
        wrt = 0 if pass_ == "input" else 1
        return jitted(lambda x, w, dy: conv(x, w).gradient((x, w)[wrt], gradient=dy)[0], x, w, dy)
    if case.op == "attention":
        k, l, s = e["heads"], e["classes"], e["size"] ** 2
        values, scores = r(b, k, l, s), r(b, k, s)
        if pass_ == "forward":
            return jitted(attention_forward, r(b, k, s), values, scores)
        return jitted(attention_backward, r(b, k, s).softmax(2).realize(), values, scores, r(b, l))
    if case.op == "aggregation":
        sources, gates = r(b, e["sources"], e["classes"]), r(b, e["sources"])
        if pass_ == "forward":
            return jitted(aggregation_forward, sources, gates)
        return jitted(lambda s, g, d: aggregation_forward(s, g).gradient(s, g, gradient=d),
                      sources, gates, r(b, e["classes"]))
    if case.op == "batch_norm":
        c, size = e["channels"], e["size"]
        x = r(b, c, size, size)
        if pass_ == "forward":
            bn = nn.BatchNorm(c)

            def forward(x):
                with Context(TRAINING=1):
                    return bn(x), bn.running_mean, bn.running_var, bn.num_batches_tracked
            return jitted(forward, x)
        bn = nn.BatchNorm(c, track_running_stats=False)
        gamma, beta = bn.weight.realize(), bn.bias.realize()
        return jitted(lambda x, g, bt, dy: bn(x).gradient(x, g, bt, gradient=dy), x, gamma, beta, r(b, c, size, size))
    if case.op == "grid_sample":
        raise Unsupported("tinygrad has no grid_sample (bilinear reads at computed coordinates need a gather op)")
    if case.op == "sgd":
        p = r(bc.sgd_count(e, quick))
        p.grad = r(p.numel())
        opt = nn.optim.SGD([p], lr=bc.LR, momentum=bc.MOMENTUM, nesterov=True, weight_decay=bc.WEIGHT_DECAY)

        def step(p):
            with Context(TRAINING=1):
                Tensor.realize(*opt.schedule_step())
                return p
        return jitted(step, p)
    raise Unsupported(f"no tinygrad version of op {case.op!r}")


# ------------------------------------------------------------------ the reference network

def kaiming_normal(no: int, fan_in: int, *rest: int):
    """nn.init.kaiming_normal_(mode="fan_in", nonlinearity="relu"), as the reference initialises."""
    return Tensor.randn(no, *rest) * math.sqrt(2 / fan_in)


class Conv:
    """A bias-free convolution: `<name>.weight` (O, C, k, k), as nn.Conv2d(bias=False)."""

    def __init__(self, ni, no, k, stride=1, padding=0):
        self.weight = kaiming_normal(no, ni * k * k, ni, k, k)
        self.stride, self.padding = stride, padding

    def __call__(self, x):
        return x.conv2d(self.weight, stride=self.stride, padding=self.padding)


class Linear:
    def __init__(self, ni, no, bias=True):
        self.weight = kaiming_normal(no, ni, ni)
        self.bias = Tensor.uniform(no, low=-1 / math.sqrt(ni), high=1 / math.sqrt(ni)) if bias else None

    def __call__(self, x):
        return x.linear(self.weight.T, self.bias)


class Block:
    """out = conv1(relu(bn1(conv0(u)))) + shortcut(x), u = relu(bn0(x)); also returns u."""

    def __init__(self, ni, no, stride):
        self.bn0, self.conv0 = nn.BatchNorm(ni), Conv(ni, no, 3, stride, 1)
        self.bn1, self.conv1 = nn.BatchNorm(no), Conv(no, no, 3, 1, 1)
        self.conv_reduce = Conv(ni, no, 1, stride, 0) if ni != no else None

    def __call__(self, x):
        u = self.bn0(x).relu()
        z = self.conv1(self.bn1(self.conv0(u)).relu())
        return z + (self.conv_reduce(x) if self.conv_reduce else x), u


class Group:
    def __init__(self, ni, no, n, stride):
        for i in range(n):
            setattr(self, f"block_{i}", Block(ni if i == 0 else no, no, stride if i == 0 else 1))
        self.n = n

    def __call__(self, x):
        first_u = None
        for i in range(self.n):
            x, u = getattr(self, f"block_{i}")(x)
            first_u = u if i == 0 else first_u
        return x, first_u


class Head:
    def __init__(self, ni, no):
        self.conv = Conv(ni, no, 3, 1, 1)

    def __call__(self, x):
        return self.conv(x)


class AttentionModule:
    def __init__(self, in_channels, classes, heads):
        self.classes, self.heads = classes, heads
        self.att_head, self.out_head = Head(in_channels, heads), Head(in_channels, heads * classes)
        self.score = Head(in_channels, heads)

    def __call__(self, z):
        b, _, h, w = z.shape
        k, l = self.heads, self.classes
        masks = self.att_head(z).reshape(b, k, h * w).softmax(2)
        # contiguous: without it tinygrad's eval-mode schedule fuses this convolution into the
        # Σ_s values·masks reductions of all three modules, one kernel ~100× slower than both
        values = self.out_head(z).contiguous().reshape(b, k, l, h * w)
        _, _, out = attention_from_masks(masks, values, self.score(z).reshape(b, k, h * w))
        return out.unsqueeze(1), masks


def attention_regulariser(masks, h, w):
    """mean over B·K·K of ((P Pᵀ) ⊙ (1 − I))², P = 2×2 average pool (floor) of the masks."""
    b, k, _ = masks.shape
    p = masks.reshape(b, k, h, w).avg_pool2d((2, 2)).reshape(b, k, -1)
    gram = p.matmul(p.transpose(1, 2))
    return ((gram * (1 - Tensor.eye(k))) ** 2).mean()


class OutputGate:
    def __init__(self, in_features, outputs):
        self.gates, self.bn = Linear(in_features, outputs, bias=False), nn.BatchNorm(outputs)

    def __call__(self, x):
        return self.bn(self.gates(x)).tanh()


class WideResNet:
    """generate_attention.WideResNet with the softmax gate; returns (out (B, L), reg_weight × regulariser)."""

    def __init__(self, depth, width, classes, attention_depth, attention_width, reg_weight=bc.REG_WEIGHT):
        n = (depth - 4) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.attention_depth, self.reg_weight = attention_depth, reg_weight
        self.conv0, self.bn0 = Conv(3, 16, 3, 1, 1), nn.BatchNorm(16)
        self.group_0 = Group(16, widths[0], n, 1)
        self.group_1 = Group(widths[0], widths[1], n, 2)
        self.group_2 = Group(widths[1], widths[2], n, 2)
        self.bn_g2 = nn.BatchNorm(widths[2])
        self.classifier = Linear(widths[2], classes)
        for g in (2, 1, 0)[:attention_depth]:
            setattr(self, f"att{g}", AttentionModule(widths[g], classes, attention_width))
        self.output_gate = OutputGate(widths[2], attention_depth + 1)

    def __call__(self, x):
        x = self.bn0(self.conv0(x)).relu()
        g0, _ = self.group_0(x)
        g1, u1 = self.group_1(g0)
        g2, u2 = self.group_2(g1)
        o = self.bn_g2(g2).relu()
        inputs = {2: o, 1: u2, 0: u1}
        outputs, regs = [], []
        for g in (2, 1, 0)[:self.attention_depth]:
            z = inputs[g]
            out, masks = getattr(self, f"att{g}")(z)
            outputs.append(out)
            regs.append(self.reg_weight * attention_regulariser(masks, z.shape[2], z.shape[3]))
        pooled = o.mean(axis=(2, 3))
        outputs.append(self.classifier(pooled).unsqueeze(1))
        log_probs = Tensor.cat(*outputs, dim=1).log_softmax(2)             # (B, AD+1, L)
        gates = self.output_gate(pooled).softmax(1)                        # (B, AD+1)
        out = (gates.unsqueeze(2) * log_probs).sum(1)
        return out, Tensor.stack(*regs).mean()


def training_loss(model, x, labels, classes):
    out, reg = model(x)
    return -(out * labels.one_hot(classes)).sum(1).mean() + reg


def train_work(case: bc.Case) -> Callable[[], object]:
    e, b = case.spec, case.batch
    if "arch" in e:
        raise Unsupported(f"no {e['arch']} + attention written for tinygrad (the Wide ResNet cases are)")
    Tensor.manual_seed(0)
    model = WideResNet(e["depth"], e["width"], e["classes"], e["attention_depth"], e["attention_width"])
    realized(*nn.state.get_parameters(model))
    x = Tensor.randn(b, 3, e["size"], e["size"]).realize()
    labels = Tensor.randint(b, high=e["classes"]).realize()
    if case.op == "inference":
        return jitted(lambda x: model(x)[0], x)
    opt = nn.optim.SGD(nn.state.get_parameters(model), lr=bc.LR, momentum=bc.MOMENTUM, nesterov=True,
                       weight_decay=bc.WEIGHT_DECAY)

    def step(x, labels):
        with Context(TRAINING=1):
            opt.zero_grad()
            loss = training_loss(model, x, labels, e["classes"])
            loss.backward()
            Tensor.realize(loss, *opt.schedule_step())   # parameters, momentum, BN statistics
            return loss
    return jitted(step, x, labels)


def check_model() -> None:
    """The port against the PyTorch reference on WRN-10-1 + attention (AD 3, AW 4), 3 classes,
    16×16 images, with the reference's weights: eval output, training loss and gradients."""
    import numpy as np
    try:
        import torch
    except ImportError as error:
        raise SystemExit(f"--check-model needs torch ({error})") from error
    sys.path.insert(0, str(bc.FIXTURE_MODELS))
    from generate_attention import WideResNet as Reference

    torch.manual_seed(0)
    reference = Reference(10, 1, 3, 3, 4, "softmax").double()
    port = WideResNet(10, 1, 3, 3, 4)
    state = reference.state_dict()
    port_state = nn.state.get_state_dict(port)
    if set(state) != set(port_state):
        raise SystemExit(f"parameter names differ: {sorted(set(state) ^ set(port_state))}")
    for name, t in port_state.items():
        t.assign(Tensor(state[name].float().numpy() if state[name].is_floating_point() else state[name].numpy()))
    images, labels = torch.randn(4, 3, 16, 16, dtype=torch.float64), torch.tensor([0, 2, 1, 2])

    def report(what, ours, theirs):
        error = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-30))
        bc.log(f"  {what:36} max relative difference {error:.2e}")
        if error > 1e-4:
            raise SystemExit(f"--check-model: {what} differs from the reference")

    reference.eval()
    with torch.no_grad():
        expected = reference(images)[0].numpy()
    report("eval output", port(Tensor(images.float().numpy()))[0].numpy(), expected)

    reference.train()
    out, _, _, reg = reference(images)
    loss = -out.gather(1, labels.view(-1, 1)).mean() + reg
    loss.backward()
    with Context(TRAINING=1):
        ours = training_loss(port, Tensor(images.float().numpy()), Tensor(labels.numpy()), 3)
        ours.backward()
        report("training loss", ours.numpy(), loss.detach().numpy())
        for name in ("conv0.weight", "group_1.block_0.conv_reduce.weight", "att0.score.conv.weight",
                     "output_gate.gates.weight", "classifier.bias"):
            report(f"∂{name}", port_state[name].grad.numpy(), dict(reference.named_parameters())[name].grad.numpy())
    bc.log("the tinygrad port matches the PyTorch reference")


# --------------------------------------------------------------------------------- main

def device_description() -> tuple[str, str]:
    """(description, kind) of the device tinygrad runs on."""
    dev = Device[Device.DEFAULT]
    name = getattr(dev, "device_name", Device.DEFAULT)
    description = f"{Device.DEFAULT} {name} {getattr(dev, 'driver_version', '')}".strip()
    kind = "gpu"
    if hasattr(dev, "cl_dev"):
        import ctypes
        from tinygrad.runtime.autogen import opencl as cl
        device_type = ctypes.c_uint64()
        cl.clGetDeviceInfo(dev.cl_dev, cl.CL_DEVICE_TYPE, 8, ctypes.byref(device_type), None)
        kind = "cpu" if device_type.value & cl.CL_DEVICE_TYPE_CPU else "gpu"
    elif Device.DEFAULT.startswith("CPU"):
        kind = "cpu"
    return description, kind


def main() -> None:
    p = bc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--device", default="CL",
                   help="tinygrad device, the DEV environment variable (default: CL, OpenCL)")
    p.add_argument("--kind", choices=("cpu", "gpu"),
                   help="which suites.json sizes to use (default: from the OpenCL device type)")
    p.add_argument("--check-model", action="store_true",
                   help="only compare the network port with the PyTorch reference (needs torch), then exit")
    args = p.parse_args()
    import_tinygrad(args.device)
    if args.check_model:
        check_model()
        return

    description, kind = device_description()
    suites = bc.load_suites(args.suites)
    s = bc.settings(suites, args.kind or kind, args.quick)

    bc.log(f"ceilings: copy {s.copy_mib} MiB, GEMM {s.ceiling_gemm}")
    count = s.copy_mib * 2**20 // bc.FLOAT
    src, dst = Tensor.randn(count).realize(), Tensor.empty(count).realize()
    copy_ms = measure(jitted(lambda d, s_: d.assign(s_), dst, src), s.warmup, s.runs)
    del src, dst
    rates = {}
    for n in s.ceiling_gemm:
        work = jitted(lambda a, b: a.matmul(b), Tensor.randn(n, n).realize(), Tensor.randn(n, n).realize())
        rates[n] = 2 * n**3 / statistics.median(measure(work, s.warmup, s.runs)) / 1e6
    ceil = bc.ceilings(copy_ms, 2 * count * bc.FLOAT, rates)

    rows, skipped = [], []
    for case in bc.cases(suites, args.suite, s, args.filter):
        bc.log(f"{case.id} (batch {case.batch})")
        try:
            if case.suite == "kernels":
                rows.append(bc.row(case, measure(kernel_work(case, suites, args.quick), s.warmup, s.runs), ceil))
            else:
                rows.append(bc.row(case, measure(train_work(case), s.train_warmup, s.train_runs), ceil))
        except Unsupported as reason:
            bc.skip(skipped, case, str(reason))

    res = bc.result("tinygrad", importlib.metadata.version("tinygrad"), description, s, ceil, rows, skipped)
    bc.finish(res, args.json)


if __name__ == "__main__":
    main()
