"""The cases of benchmarks/suites.json in PyTorch, counted and reported as `heed bench` does.

For each case: the inputs are made (random float32) outside the timed region, then the
suites.json warm-up runs, then N timed runs; a row reports their median, minimum and
maximum.  On the CPU (default, `torch.set_num_threads(--threads)`) a run is timed with the
wall clock around the work, which is synchronous; on CUDA (`--device cuda`) with CUDA
events around it.  Flops and bytes are the formulas of benchmarks/README.md
(bench_common.case_work), so rows pair with Heed's by `id`.

What each kernel case runs:
  gemm, conv_gemm   torch.matmul into a preallocated output, with the transposes of the
                    README (transposed operands are views, as a BLAS call would take them)
  conv2d            F.conv2d; torch.nn.grad.conv2d_input / conv2d_weight for the gradients
  attention         forward: softmax over S, Σ_s values·masks, softmax_k tanh(Σ_s scores·masks),
                    Σ_k gates·o; backward: torch.autograd.grad of that graph from ∂out, the
                    graph built once outside the timed region (retain_graph)
  aggregation       Σ_i softmax(gates)_i · log_softmax(sources_i); backward by autograd
  batch_norm        F.batch_norm in training mode (running statistics updated); backward by autograd
  grid_sample       F.grid_sample (bilinear, zeros, align_corners=False) on F.affine_grid of
                    a random zoom; backward (∂input, ∂grid) by autograd
  sgd               one torch.optim.SGD step (lr 0.1, momentum 0.9, Nesterov, weight decay
                    5e-4) on one tensor of `count` parameters

The training cases use the reference network of Tests/Fixtures/models/generate_attention.py
(WideResNet with the softmax output gate), or for an "arch" case torchvision's ResNet with the
attention parts of generate_torchvision.py on its "attention_at" stages (AttentionResNet).  A step is zero_grad, the forward in training
mode, loss = NLL of the gated output + 0.001 × head-separation regulariser, backward, and
the SGD step above; inference is the forward in eval mode under torch.no_grad().
images/s = batch / median step time.  Ceilings (copy bandwidth of dst.copy_(src), bytes =
2 × size; the best square GEMM of settings.ceiling_gemm) are measured in the same run.

Peak memory of a training step or inference ("peak_bytes"), in one extra, untimed call:
  CUDA: torch.cuda.max_memory_allocated after reset_peak_memory_stats, i.e. every live
        tensor (parameters, gradients, momentum, activations, temporaries), not the
        caching allocator's reserve.
  CPU:  the bytes of the tensors live before the call (parameters, buffers, momentum
        buffers, the batch; gradients are freed by zero_grad) plus the highest running sum
        of the CPU allocator's allocation and free events during it (forward, backward and
        the optimizer step), recorded by torch.profiler(profile_memory=True) in time order.
"""
from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:
    raise SystemExit(f"pytorch_bench.py needs PyTorch ({error}); see benchmarks/peers/README.md") from error


# ---------------------------------------------------------------------------- timing

def make_timer(device: torch.device) -> Callable[[Callable[[], object]], float]:
    """timer(work) runs `work` once and returns milliseconds: wall clock on the CPU, CUDA events on a GPU."""
    if device.type == "cuda":
        def timed(work):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            work()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
    else:
        def timed(work):
            start = time.perf_counter()
            work()
            return (time.perf_counter() - start) * 1e3
    return timed


def measure(timer, work, warmup: int, runs: int) -> list[float]:
    return bc.time_runs(lambda: timer(work), warmup, runs)


# ----------------------------------------------------------------------------- kernels

def gemm_work(m: int, n: int, k: int, dev, transpose_a=False, transpose_b=False) -> Callable[[], object]:
    """C = op(A)·op(B) into a preallocated C; a transposed operand is stored the other way round."""
    a = torch.randn(k, m, device=dev).t() if transpose_a else torch.randn(m, k, device=dev)
    b = torch.randn(n, k, device=dev).t() if transpose_b else torch.randn(k, n, device=dev)
    c = torch.empty(m, n, device=dev)
    return lambda: torch.matmul(a, b, out=c)


def attention_forward(logits, values, scores):
    """The attention module's spatial-softmax path on (B, K, S); returns masks, o, gates, out."""
    masks = torch.softmax(logits, dim=2)                                        # (B, K, S)
    o = torch.einsum("bkls,bks->bkl", values, masks)                            # (B, K, L)
    gates = torch.softmax(torch.tanh((scores * masks).sum(dim=2)), dim=1)       # (B, K)
    out = torch.einsum("bk,bkl->bl", gates, o)                                  # (B, L)
    return masks, o, gates, out


def aggregation_forward(sources, gates):
    """Softmax-gated mixture of log-softmaxes: Σ_i softmax(gates)_i · log_softmax(sources_i)."""
    return (torch.softmax(gates, dim=1).unsqueeze(2) * torch.log_softmax(sources, dim=2)).sum(dim=1)


def backward_work(outputs, inputs, grad_outputs) -> Callable[[], object]:
    """The backward of a graph built once, here, outside the timed region."""
    return lambda: torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph=True)


def random_zoom(batch: int, dev, generator: torch.Generator) -> torch.Tensor:
    """(B, 2, 3) affine matrices of a zoom: scale 0.5–1, shift ±0.2."""
    scale = 0.5 + 0.5 * torch.rand(batch, generator=generator)
    shift = 0.4 * torch.rand(batch, 2, generator=generator) - 0.2
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    return theta.to(dev)


def kernel_work(case: bc.Case, suites: dict, quick: bool, dev) -> Callable[[], object]:
    """The zero-argument function a kernel row times, its inputs already made."""
    e, b = case.spec, case.batch
    pass_ = e.get("pass")

    def r(*shape, grad=False):
        return torch.randn(*shape, device=dev, requires_grad=grad)

    if case.op == "gemm":
        return gemm_work(e["m"], e["n"], e["k"], dev)
    if case.op == "conv_gemm":
        m, n, k = bc.conv_gemm_shape(bc.conv_geometry(suites, e["layer"], b), pass_)
        return gemm_work(m, n, k, dev, transpose_a=pass_ == "input", transpose_b=pass_ == "weight")
    if case.op == "conv2d":
        g = bc.conv_geometry(suites, e["layer"], b)
        x, w = r(b, g.channels, g.size, g.size), r(g.out, g.channels, g.kernel, g.kernel)
        dy = r(b, g.out, g.out_size, g.out_size)
        conv = dict(stride=g.stride, padding=g.padding)
        return {"forward": lambda: F.conv2d(x, w, **conv),
                "input": lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, **conv),
                "weight": lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, **conv)}[pass_]
    if case.op == "attention":
        k, l, s = e["heads"], e["classes"], e["size"] ** 2
        backward = pass_ == "backward"
        logits, values, scores = r(b, k, s, grad=backward), r(b, k, l, s, grad=backward), r(b, k, s, grad=backward)
        if not backward:
            return lambda: attention_forward(logits, values, scores)
        out = attention_forward(logits, values, scores)[3]
        return backward_work(out, (values, scores, logits), r(b, l))
    if case.op == "aggregation":
        backward = pass_ == "backward"
        sources, gates = r(b, e["sources"], e["classes"], grad=backward), r(b, e["sources"], grad=backward)
        if not backward:
            return lambda: aggregation_forward(sources, gates)
        return backward_work(aggregation_forward(sources, gates), (sources, gates), r(b, e["classes"]))
    if case.op == "batch_norm":
        c, size = e["channels"], e["size"]
        backward = pass_ == "backward"
        x = r(b, c, size, size, grad=backward)
        gamma = torch.ones(c, device=dev, requires_grad=backward)
        beta = torch.zeros(c, device=dev, requires_grad=backward)
        running_mean, running_var = torch.zeros(c, device=dev), torch.ones(c, device=dev)

        def forward():
            return F.batch_norm(x, running_mean, running_var, gamma, beta, training=True)
        if not backward:
            return forward
        return backward_work(forward(), (x, gamma, beta), r(b, c, size, size))
    if case.op == "grid_sample":
        c, size = e["channels"], e["size"]
        backward = pass_ == "backward"
        image = r(b, c, size, size, grad=backward)
        generator = torch.Generator().manual_seed(7)
        grid = F.affine_grid(random_zoom(b, dev, generator), [b, c, size, size], align_corners=False)
        grid.requires_grad_(backward)

        def forward():
            return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if not backward:
            return forward
        return backward_work(forward(), (image, grid), r(b, c, size, size))
    if case.op == "sgd":
        p = torch.nn.Parameter(r(bc.sgd_count(e, quick)))
        p.grad = r(p.numel())
        opt = torch.optim.SGD([p], lr=bc.LR, momentum=bc.MOMENTUM, nesterov=True, weight_decay=bc.WEIGHT_DECAY)
        return opt.step
    raise SystemExit(f"pytorch_bench.py: no PyTorch version of op {case.op!r} ({case.id})")


# ------------------------------------------------------------------------ training step

def reference_model_class():
    sys.path.insert(0, str(bc.FIXTURE_MODELS))
    try:
        from generate_attention import WideResNet
    except ImportError as error:
        raise SystemExit(f"cannot import the reference model from {bc.FIXTURE_MODELS}/generate_attention.py "
                         f"({error}); it needs torch and safetensors") from error
    return WideResNet


def tensor_bytes(tensors) -> int:
    """Bytes of the distinct storages behind `tensors` (a view counts once)."""
    storages = {}
    for t in tensors:
        if t is not None:
            storage = t.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def cpu_peak_bytes(step_body: Callable[[], None], live_before: int) -> int:
    """Peak live tensor bytes of one step on the CPU: what was live before it plus the highest
    running sum of the allocator's allocation (+) and free (−) events during it."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step_body()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == "[memory]")
    running = peak = 0
    for _, nbytes in events:
        running += nbytes
        peak = max(peak, running)
    return live_before + peak


def peak_bytes(body: Callable[[], object], live: list, dev) -> int:
    """Peak live tensor bytes while `body` runs; `live` are the tensors live before it (CPU only:
    on CUDA the allocator's current count already includes them)."""
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        body()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()
    return cpu_peak_bytes(body, tensor_bytes(live))


class AttentionResNet(torch.nn.Module):
    """torchvision's `arch` with attention modules on stage outputs (`layer3`, `layer4`), named
    `att{stage}`, and the softmax output gate on the pooled final features, built from the
    attention parts of Tests/Fixtures/models/generate_torchvision.py (written apart from Heed).
    Returns what generate_attention.WideResNet returns: (out, _, _, reg_weight × regulariser)."""

    def __init__(self, arch: str, classes: int, heads: int, taps: list[str]):
        super().__init__()
        sys.path.insert(0, str(bc.FIXTURE_MODELS))
        import torchvision
        from generate_torchvision import AttentionModule, OutputGate, separation
        self.separation = separation
        self.trunk = getattr(torchvision.models, arch)(num_classes=classes)
        last = {f"layer{i}": getattr(self.trunk, f"layer{i}")[-1] for i in range(1, 5)}
        channels = {tap: (block.conv3 if hasattr(block, "conv3") else block.conv2).out_channels for tap, block in last.items()}
        self.taps = sorted(taps, reverse=True)                    # deepest first: the source order
        self.heads = torch.nn.ModuleDict({t: AttentionModule(channels[t], classes, heads) for t in self.taps})
        self.gate = OutputGate(self.trunk.fc.in_features, len(taps) + 1)
        self.reg_weight = bc.REG_WEIGHT

    def forward(self, x):
        t = self.trunk
        x = t.maxpool(t.relu(t.bn1(t.conv1(x))))
        maps = {}
        for i in range(1, 5):
            x = getattr(t, f"layer{i}")(x)
            maps[f"layer{i}"] = x
        results = [self.heads[tap](maps[tap]) for tap in self.taps]
        pooled = torch.flatten(t.avgpool(x), 1)
        sources = torch.stack([r[0] for r in results] + [t.fc(pooled)], dim=1)
        weights = torch.softmax(self.gate(pooled), dim=1)
        out = (weights.unsqueeze(2) * torch.log_softmax(sources, dim=2)).sum(1)
        reg = self.reg_weight * sum(self.separation(r[1]) for r in results) / len(results)
        return out, None, None, reg


def train_work(case: bc.Case, dev) -> tuple[Callable[[], object], Callable[[], int]]:
    """(the timed step or inference, a function measuring its peak bytes in one more call)."""
    e, b = case.spec, case.batch
    torch.manual_seed(0)
    if "arch" in e:
        model = AttentionResNet(e["arch"], e["classes"], e["attention_width"], e["attention_at"]).to(dev)
    else:
        model = reference_model_class()(e["depth"], e["width"], e["classes"], e["attention_depth"],
                                        e["attention_width"], "softmax").to(dev)
    assert model.reg_weight == bc.REG_WEIGHT
    x = torch.randn(b, 3, e["size"], e["size"], device=dev)
    labels = torch.randint(e["classes"], (b,), device=dev)
    if case.op == "inference":
        model.eval()

        def infer():
            with torch.no_grad():
                model(x)
        return infer, lambda: peak_bytes(infer, [*model.parameters(), *model.buffers(), x], dev)

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=bc.LR, momentum=bc.MOMENTUM, nesterov=True,
                          weight_decay=bc.WEIGHT_DECAY)

    def body():
        out, _, _, reg = model(x)                      # reg is already reg_weight × regulariser
        nll = -out.gather(1, labels.view(-1, 1)).mean()
        (nll + reg).backward()
        opt.step()

    def step():
        opt.zero_grad(set_to_none=True)
        body()

    def peak() -> int:
        opt.zero_grad(set_to_none=True)            # gradients freed: the step allocates them
        state = [t for s in opt.state.values() for t in s.values() if torch.is_tensor(t)]
        return peak_bytes(body, [*model.parameters(), *model.buffers(), *state, x, labels], dev)
    return step, peak


# --------------------------------------------------------------------------------- main

def device_description(dev, threads: int) -> str:
    if dev.type == "cuda":
        precision = "TF32 allowed" if torch.backends.cuda.matmul.allow_tf32 else "fp32, TF32 off"
        return f"CUDA {torch.cuda.get_device_name(dev)} ({precision})"
    model = bc.cpu_model() or platform.processor() or platform.machine()
    return f"CPU {model}, {threads} threads"


def main() -> None:
    p = bc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where PyTorch runs (default: cpu)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads on the CPU (default: 2)")
    p.add_argument("--tf32", action="store_true",
                   help="CUDA: allow TF32 in matmul and convolution (default: off, fp32 like Heed; "
                        "report the TF32 figure beside the fp32 one, never instead of it)")
    args = p.parse_args()

    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("pytorch_bench.py --device cuda: torch.cuda.is_available() is False")
        torch.backends.cudnn.benchmark = True
        # Heed computes in fp32; TF32 would compare a 10-bit-mantissa product with it.
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    suites = bc.load_suites(args.suites)
    s = bc.settings(suites, "gpu" if dev.type == "cuda" else "cpu", args.quick)
    timer = make_timer(dev)
    torch.manual_seed(0)

    bc.log(f"ceilings: copy {s.copy_mib} MiB, GEMM {s.ceiling_gemm}")
    count = s.copy_mib * 2**20 // bc.FLOAT
    src, dst = torch.randn(count, device=dev), torch.empty(count, device=dev)
    copy_ms = measure(timer, lambda: dst.copy_(src), s.warmup, s.runs)
    del src, dst
    rates = {n: 2 * n**3 / statistics.median(measure(timer, gemm_work(n, n, n, dev), s.warmup, s.runs)) / 1e6
             for n in s.ceiling_gemm}
    ceil = bc.ceilings(copy_ms, 2 * count * bc.FLOAT, rates)

    rows = []
    for case in bc.cases(suites, args.suite, s, args.filter):
        bc.log(f"{case.id} (batch {case.batch})")
        if case.suite == "kernels":
            work = kernel_work(case, suites, args.quick, dev)
            rows.append(bc.row(case, measure(timer, work, s.warmup, s.runs), ceil))
        else:
            work, peak = train_work(case, dev)
            times = measure(timer, work, s.train_warmup, s.train_runs)
            rows.append(bc.row(case, times, ceil, peak_bytes=peak()))
        del work
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    res = bc.result("pytorch", torch.__version__, device_description(dev, args.threads), s, ceil, rows, [],
                    threads=args.threads if dev.type == "cpu" else None)
    bc.finish(res, args.json)


if __name__ == "__main__":
    main()
