"""What every peer benchmark shares: the cases of benchmarks/suites.json, the work each one
counts, the timing loop, the rows and the JSON / table output.

The contract is benchmarks/README.md: the same cases as `heed bench`, the same flop and
byte formulas, the same JSON schema, rows paired by `id`.  The per-tool scripts
(pytorch_bench.py, numpy_bench.py, tinygrad_bench.py) only say how to run a case; this
module says which cases there are, how big, and how they are counted.
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
SUITES_FILE = REPO / "benchmarks" / "suites.json"
FIXTURE_MODELS = REPO / "Tests" / "Fixtures" / "models"

FLOAT = 4           # bytes of a float32
REG_WEIGHT = 0.001  # the head-separation regulariser's weight in the training loss
# SGD of the README and of the training step
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4


@dataclass(frozen=True)
class Settings:
    """Sizes and repetitions of one run (README "Timing" and "Ceilings")."""
    kind: str                   # "cpu" or "gpu": which column of suites.json
    quick: bool
    warmup: int
    runs: int
    train_warmup: int
    train_runs: int
    copy_mib: int
    ceiling_gemm: list[int]
    kernel_batch: int


@dataclass(frozen=True)
class Case:
    """One row to measure: the suites.json entry plus its batch and counted work."""
    suite: str                  # "kernels" or "train"
    id: str
    op: str                     # gemm, conv_gemm, conv2d, attention, …, train, inference
    spec: dict = field(repr=False)
    batch: int
    flops: int
    bytes: int | None           # None for the training steps ("not counted")
    bound: str                  # "compute" (against the GEMM ceiling) or "memory" (copy bandwidth)


# ------------------------------------------------------------------------ suites.json

def load_suites(path: Path = SUITES_FILE) -> dict:
    with open(path) as f:
        suites = json.load(f)
    if suites.get("format") != 1:
        raise SystemExit(f"{path}: unknown format {suites.get('format')!r} (this script reads format 1)")
    return suites


def settings(suites: dict, kind: str, quick: bool) -> Settings:
    s = suites["settings"]
    mode = "quick" if quick else "full"
    size = "quick" if quick else kind
    return Settings(kind=kind, quick=quick,
                    warmup=s["warmup"][mode], runs=s["runs"][mode],
                    train_warmup=s["train_warmup"][mode], train_runs=s["train_runs"][mode],
                    copy_mib=s["copy_mib"][size], ceiling_gemm=list(s["ceiling_gemm"][size]),
                    kernel_batch=suites["kernel_batch"][size])


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution layer of suites.json at batch B: C→O channels, kernel k, P = H′W′, K = C·k·k."""
    batch: int
    channels: int
    out: int
    size: int
    kernel: int
    stride: int
    padding: int

    @property
    def out_size(self) -> int:
        return (self.size + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def positions(self) -> int:          # P
        return self.out_size ** 2

    @property
    def patch(self) -> int:              # K
        return self.channels * self.kernel ** 2

    @property
    def x_count(self) -> int:
        return self.batch * self.channels * self.size ** 2

    @property
    def w_count(self) -> int:
        return self.out * self.patch

    @property
    def y_count(self) -> int:
        return self.batch * self.out * self.positions


def conv_geometry(suites: dict, layer: str, batch: int) -> ConvGeometry:
    l = suites["layers"][layer]
    return ConvGeometry(batch, l["in"], l["out"], l["size"], l["kernel"], l["stride"], l["padding"])


def conv_gemm_shape(g: ConvGeometry, pass_: str) -> tuple[int, int, int]:
    """(m, n, k) of the GEMM the im2col convolution issues for the whole batch (README table)."""
    bp = g.batch * g.positions
    return {"forward": (g.out, bp, g.patch),     # W (O×K) · col (K×BP)
            "input": (g.patch, bp, g.out),       # Wᵀ (K×O) · dY (O×BP)
            "weight": (g.out, g.patch, bp)}[pass_]  # dY (O×BP) · colᵀ (BP×K)


def gemm_work(m: int, n: int, k: int) -> tuple[int, int]:
    return 2 * m * n * k, FLOAT * (m * k + k * n + m * n)


def wrn_attention_macs(depth: int, width: int, classes: int, attention_depth: int,
                       attention_width: int, size: int) -> int:
    """Multiply-adds of one image through the network of generate_attention.WideResNet:
    every convolution and linear layer (the trunk, the attention heads, the classifier and
    the output gate).  BN, ReLU, softmaxes and the attention sums are not counted."""
    n = (depth - 4) // 6
    widths = [16 * width, 32 * width, 64 * width]

    def conv(ci, co, k, s_out):
        return ci * co * k * k * s_out * s_out

    macs = conv(3, 16, 3, size)
    ni, s = 16, size
    group_sizes = []
    for g, (no, stride) in enumerate(zip(widths, (1, 2, 2))):
        s_out = (s + 2 - 3) // stride + 1
        macs += conv(ni, no, 3, s_out) + conv(no, no, 3, s_out)      # block_0
        if ni != no:
            macs += conv(ni, no, 1, (s - 1) // stride + 1)            # conv_reduce
        macs += (n - 1) * 2 * conv(no, no, 3, s_out)                  # block_1 …
        group_sizes.append((s, s_out))
        ni, s = no, s_out
    # att2 on relu(bn_g2(g2)) (group 2's output), att1 on u of group_2.block_0 (= group 1's
    # output size), att0 on u of group_1.block_0 (= group 0's output size).
    attention_size = {2: group_sizes[2][1], 1: group_sizes[1][1], 0: group_sizes[0][1]}
    for g in (2, 1, 0)[:attention_depth]:
        heads = attention_width * (2 + classes)   # att_head K, out_head K·L, score K
        macs += conv(widths[g], heads, 3, attention_size[g])
    macs += widths[2] * classes + widths[2] * (attention_depth + 1)  # classifier, output gate
    return macs


def case_work(suites: dict, entry: dict, suite: str, batch: int, quick: bool) -> tuple[int, int | None, str]:
    """(flops, bytes, bound) of one case, by the formulas of benchmarks/README.md."""
    op, pass_, b = entry.get("op"), entry.get("pass"), batch
    if suite == "train" and "arch" in entry:
        macs = batch * resnet_attention_macs(entry["arch"], entry["classes"], entry["attention_at"],
                                             entry["attention_width"], entry["size"])
        return (3 if pass_ == "train" else 1) * 2 * macs, None, "compute"
    if suite == "train":
        macs = batch * wrn_attention_macs(entry["depth"], entry["width"], entry["classes"],
                                          entry["attention_depth"], entry["attention_width"], entry["size"])
        return (3 if pass_ == "train" else 1) * 2 * macs, None, "compute"
    if op == "gemm":
        return (*gemm_work(entry["m"], entry["n"], entry["k"]), "compute")
    if op == "conv_gemm":
        return (*gemm_work(*conv_gemm_shape(conv_geometry(suites, entry["layer"], b), pass_)), "compute")
    if op == "conv2d":
        g = conv_geometry(suites, entry["layer"], b)
        return (2 * b * g.out * g.positions * g.patch,
                FLOAT * (g.x_count + g.w_count + g.y_count), "compute")
    if op == "attention":
        k, l, s = entry["heads"], entry["classes"], entry["size"] ** 2
        bks, bkls, bkl = b * k * s, b * k * l * s, b * k * l
        if pass_ == "forward":
            # logits, values, scores in; masks, o, gates, out written
            return 2 * bkls + 4 * bks, FLOAT * (bks + bkls + bks + bks + bkl + b * k + b * l), "memory"
        # values, masks, scores, o, ∂out in; ∂values, ∂scores, ∂logits written
        return (4 * bkls + 8 * bks,
                FLOAT * (bkls + bks + bks + bkl + b * l + bkls + bks + bks), "memory")
    if op == "aggregation":
        n, l = entry["sources"], entry["classes"]
        if pass_ == "forward":        # sources, gates in; out written
            return 6 * b * n * l, FLOAT * (b * n * l + b * n + b * l), "memory"
        # sources, gates, ∂out in; ∂sources, ∂gates written
        return 6 * b * n * l, FLOAT * (2 * b * n * l + 2 * b * n + b * l), "memory"
    if op == "batch_norm":
        count = b * entry["channels"] * entry["size"] ** 2
        return 8 * count, FLOAT * count * (2 if pass_ == "forward" else 3), "memory"
    if op == "grid_sample":
        bchw, grid = b * entry["channels"] * entry["size"] ** 2, b * entry["size"] ** 2 * 2
        if pass_ == "forward":        # input, grid in; output written
            return 20 * bchw, FLOAT * (2 * bchw + grid), "memory"
        # input, grid, ∂out in; ∂input, ∂grid written
        return 20 * bchw, FLOAT * (3 * bchw + 2 * grid), "memory"
    if op == "sgd":
        count = sgd_count(entry, quick)
        return 6 * count, FLOAT * 5 * count, "memory"   # p, g, v in; p, v out
    raise SystemExit(f"suites.json: case {entry['id']!r} has an op this script does not know: {op!r}")


def sgd_count(entry: dict, quick: bool) -> int:
    return entry["quick_count"] if quick else entry["count"]


# torchvision's constructors (torchvision/models/resnet.py): block, blocks per stage, groups, width per group.
RESNETS = {
    "resnet18": ("basic", [2, 2, 2, 2], 1, 64), "resnet34": ("basic", [3, 4, 6, 3], 1, 64),
    "resnet50": ("bottleneck", [3, 4, 6, 3], 1, 64), "resnet101": ("bottleneck", [3, 4, 23, 3], 1, 64),
    "resnet152": ("bottleneck", [3, 8, 36, 3], 1, 64), "resnext50_32x4d": ("bottleneck", [3, 4, 6, 3], 32, 4),
    "resnext101_32x8d": ("bottleneck", [3, 4, 23, 3], 32, 8), "wide_resnet50_2": ("bottleneck", [3, 4, 6, 3], 1, 128),
}


def resnet_attention_macs(arch: str, classes: int, taps: list[str], attention_width: int, size: int) -> int:
    """Multiply-adds of one image through torchvision's `arch` with attention modules on
    `taps` (stage outputs `layer1` … `layer4`): every convolution and linear layer (trunk,
    downsamples, attention heads, `fc`, the output gate). BN, ReLU, pooling, softmaxes and
    the attention sums are not counted."""
    if arch not in RESNETS:
        raise SystemExit(f"suites.json: unknown arch {arch!r}; one of {', '.join(RESNETS)}")
    block, layers, groups, width_per_group = RESNETS[arch]
    expansion = 1 if block == "basic" else 4

    def conv(ci, co, k, side, g=1):
        return ci // g * co * k * k * side * side

    def down(side, stride, k=3, pad=1):
        return (side + 2 * pad - k) // stride + 1

    side = down(size, 2, 7, 3)
    macs = conv(3, 64, 7, side)
    side = down(side, 2)                                              # the 3x3/2 max-pool
    inputs, tap_maps = 64, {}
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        for index in range(count):
            stride = 2 if stage > 1 and index == 0 else 1
            out_side = down(side, stride)
            outputs = planes * expansion
            if block == "basic":
                macs += conv(inputs, planes, 3, out_side) + conv(planes, planes, 3, out_side)
            else:
                width = planes * width_per_group // 64 * groups
                macs += conv(inputs, width, 1, side) + conv(width, width, 3, out_side, groups) + conv(width, outputs, 1, out_side)
            if stride != 1 or inputs != outputs:
                macs += conv(inputs, outputs, 1, out_side)            # downsample
            inputs, side = outputs, out_side
        tap_maps[f"layer{stage}"] = (inputs, side)
    for tap in taps:
        channels, tap_side = tap_maps[tap]
        macs += conv(channels, attention_width * (2 + classes), 3, tap_side)   # att_head K, out_head K·L, score K
    return macs + inputs * classes + inputs * (len(taps) + 1)         # fc, output gate


def cases(suites: dict, suite: str, s: Settings, only: str | None = None) -> list[Case]:
    """The cases of `suite` ("kernels", "train" or "all") for these settings, in file order;
    with `only`, those whose id contains that text."""
    chosen = []
    for name in ("kernels", "train"):
        if suite not in (name, "all"):
            continue
        for entry in suites[name]:
            if s.quick and entry.get("quick") is False:
                continue
            if only and only not in entry["id"]:
                continue
            if name == "train":
                batch = entry["batch"]["quick" if s.quick else s.kind]
                op = entry["pass"]
            else:
                batch, op = s.kernel_batch, entry["op"]
            flops, nbytes, bound = case_work(suites, entry, name, batch, s.quick)
            chosen.append(Case(name, entry["id"], op, entry, batch, flops, nbytes, bound))
    return chosen


# ---------------------------------------------------------------------------- timing

def time_runs(timed: Callable[[], float], warmup: int, runs: int) -> list[float]:
    """`timed()` does the work once and returns its duration in ms; warm-up runs first."""
    for _ in range(warmup):
        timed()
    return [timed() for _ in range(runs)]


def ceilings(copy_ms: list[float], copy_bytes: int, gemm_rates: dict[int, float]) -> dict:
    """Copy bandwidth (bytes = 2 × size) from the median copy time, and the best rate among
    the square GEMMs, {n: GFLOP/s from the median time}."""
    best = max(gemm_rates, key=gemm_rates.get)
    return {"copy_bytes": copy_bytes, "copy_gbs": copy_bytes / statistics.median(copy_ms) / 1e6,
            "gemm_gflops": gemm_rates[best], "gemm_id": f"gemm {best}"}


def row(case: Case, times_ms: list[float], ceil: dict, **extra) -> dict:
    """A row of the README's JSON schema from the run times of one case."""
    median = statistics.median(times_ms)
    gflops = case.flops / median / 1e6
    gbs = None if case.bytes is None else case.bytes / median / 1e6
    fraction = gflops / ceil["gemm_gflops"] if case.bound == "compute" else gbs / ceil["copy_gbs"]
    r = {"suite": case.suite, "id": case.id}
    if case.suite == "train":
        r["batch"] = case.batch
    r.update({"runs": len(times_ms), "median_ms": median, "min_ms": min(times_ms), "max_ms": max(times_ms),
              "flops": case.flops, "bytes": case.bytes, "gflops": gflops, "gbs": gbs,
              "bound": case.bound, "fraction": fraction})
    if case.suite == "train":
        r["images_per_s"] = case.batch / (median / 1e3)
    r.update(extra)
    return r


# ---------------------------------------------------------------------------- output

def parser(description: str, tool_suites: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    if tool_suites:
        p.add_argument("--suite", choices=("kernels", "train", "all"), default="all",
                       help="which cases of suites.json to run (default: all)")
    p.add_argument("--quick", action="store_true",
                   help="every path once at the smallest sizes (suites.json's quick column)")
    p.add_argument("--json", metavar="FILE", type=Path, help="also write the results as JSON to FILE")
    p.add_argument("--filter", metavar="TEXT", help="only the cases whose id contains TEXT, e.g. 'gemm'")
    p.add_argument("--suites", metavar="FILE", type=Path, default=SUITES_FILE,
                   help=f"read the cases from FILE (default: {SUITES_FILE.relative_to(REPO)})")
    return p


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo, None where there is none (not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return None


def log(message: str) -> None:
    """Progress and skip reasons go to stderr, the table to stdout."""
    print(message, file=sys.stderr, flush=True)


def skip(skipped: list[dict], case: Case, reason: str) -> None:
    log(f"skip {case.id}: {reason}")
    skipped.append({"id": case.id, "reason": reason})


def result(tool: str, version: str, device: str, s: Settings, ceil: dict,
           rows: list[dict], skipped: list[dict], **extra) -> dict:
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"tool": tool, "version": version, "device": device, "kind": s.kind, "quick": s.quick, "date": date,
            "ceilings": ceil, "rows": rows, "skipped": skipped, **extra}


def fmt(value, digits=3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"


def print_table(res: dict, out=sys.stdout) -> None:
    c = res["ceilings"]
    print(f"{res['tool']} {res['version']} on {res['device']} ({res['kind']}{', quick' if res['quick'] else ''})",
          file=out)
    print(f"ceilings: copy {fmt(c['copy_gbs'])} GB/s, GEMM {fmt(c['gemm_gflops'])} GFLOP/s", file=out)
    header = f"{'id':34} {'median ms':>10} {'min':>9} {'max':>9} {'GFLOP/s':>9} {'GB/s':>8} {'frac':>6}  extra"
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in res["rows"]:
        extra = []
        if "images_per_s" in r:
            extra.append(f"{r['images_per_s']:.1f} img/s (batch {r['batch']})")
        if r.get("peak_bytes") is not None:
            extra.append(f"peak {r['peak_bytes'] / 2**20:.0f} MiB")
        print(f"{r['id']:34} {fmt(r['median_ms'], 4):>10} {fmt(r['min_ms'], 4):>9} {fmt(r['max_ms'], 4):>9} "
              f"{fmt(r['gflops']):>9} {fmt(r['gbs']):>8} {fmt(r['fraction'], 2):>6}  {', '.join(extra)}", file=out)
    for s in res.get("skipped", []):
        print(f"{s['id']:34} skipped: {s['reason']}", file=out)


def finish(res: dict, json_path: Path | None) -> None:
    print_table(res)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        with open(json_path, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        log(f"wrote {json_path}")
