"""The largest training batch of a suites.json case that fits a memory budget, for Heed and PyTorch.

Heed: `heed bench` runs the case (one warm-up step and one timed step) under
HEED_MEMORY_LIMIT=BUDGET, which caps the device memory Heed's context may reserve from the
driver (buffers in use and the caching allocator's pools); a batch fits when the run ends
without OutOfDeviceMemory. PyTorch (CPU): a batch fits when the step's peak bytes, measured
as pytorch_bench.py measures them (the tensors live before the step plus the highest running
sum of the allocator's events during it, from torch.profiler), are within the budget.

Each search doubles the batch from 2 (the output gate's batch norm needs two images) until it no longer fits, then bisects. Prints one line
per tool and writes the two results as JSON with --json.

    python3 benchmarks/peers/largest_batch.py --case "wrn16-4 attention train" --budget-mib 512
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_common as bc  # noqa: E402


def largest(fits, limit: int) -> int:
    """The largest batch in 2...limit for which `fits` holds (0 if none), fits being monotone.
    From 2: the output gate's batch norm needs two images."""
    if not fits(2):
        return 0
    low, high = 2, 4
    while high <= limit and fits(high):
        low, high = high, high * 2
    high = min(high, limit + 1)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def heed_fits(heed: str, suites: dict, case: dict, budget: int):
    def fits(batch: int) -> bool:
        entry = copy.deepcopy(case)
        entry["batch"] = {"cpu": batch, "gpu": batch, "quick": batch}
        one = copy.deepcopy(suites)
        one["kernels"], one["train"] = [], [entry]
        one["settings"]["train_warmup"] = {"full": 1, "quick": 1}
        one["settings"]["train_runs"] = {"full": 1, "quick": 1}
        one["settings"]["ceiling_gemm"] = {"cpu": [256], "gpu": [256], "quick": [256]}
        one["settings"]["copy_mib"] = {"cpu": 16, "gpu": 16, "quick": 16}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(one, f)
        try:
            run = subprocess.run([heed, "bench", "--suites", f.name, "--suite", "train"],
                                 env={**os.environ, "HEED_MEMORY_LIMIT": str(budget)},
                                 capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        last = (run.stderr.strip().splitlines() or [""])[-1]
        if run.returncode != 0 and "memory" not in last.lower():
            raise SystemExit(f"heed bench failed at batch {batch} for another reason: {last}")
        bc.log(f"heed batch {batch}: {'fits' if run.returncode == 0 else last}")
        return run.returncode == 0
    return fits


def pytorch_fits(suites: dict, case: dict, budget: int, threads: int):
    import torch
    import pytorch_bench as pb
    torch.set_num_threads(threads)

    def fits(batch: int) -> bool:
        c = bc.Case("train", case["id"], case["pass"], case, batch, 0, None, "compute")
        _, peak = pb.train_work(c, torch.device("cpu"))
        measured = peak()
        bc.log(f"pytorch batch {batch}: peak {measured / 2**20:.1f} MiB")
        return measured <= budget
    return fits


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--case", default="wrn16-4 attention train", help="a train case id of suites.json")
    p.add_argument("--budget-mib", type=int, default=512)
    p.add_argument("--limit", type=int, default=1024, help="the largest batch tried")
    p.add_argument("--heed", default=str(HERE.parent.parent / ".build/release/heed"))
    p.add_argument("--tools", default="heed,pytorch")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--suites", default=str(HERE.parent / "suites.json"))
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()

    suites = json.loads(Path(args.suites).read_text())
    case = next((c for c in suites["train"] if c["id"] == args.case), None)
    if case is None or case["pass"] != "train":
        raise SystemExit(f"largest_batch.py: no train case '{args.case}' in {args.suites}")
    budget = args.budget_mib * 2**20
    results = {"case": args.case, "budget_bytes": budget, "machine": bc.cpu_model() or "unknown CPU"}
    for tool in args.tools.split(","):
        fits = heed_fits(args.heed, suites, case, budget) if tool == "heed" else pytorch_fits(suites, case, budget, args.threads)
        results[tool] = largest(fits, args.limit)
        print(f"{tool}: largest batch of '{args.case}' within {args.budget_mib} MiB: {results[tool]}")
    if "heed" in results and "pytorch" in results and results["pytorch"]:
        print(f"heed / pytorch: {results['heed'] / results['pytorch']:.2f} (target >= 1.0)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
