"""NumPy's SGEMM on the `gemm` cases of benchmarks/suites.json: the reference rate for Heed's
GEMM target (SGEMM on the OpenCL device ≥ 50 % of NumPy's GFLOP/s in the same run).

Each case is `np.matmul(a, b, out=c)` on float32 row-major m×k and k×n arrays made before
timing, with the suites.json warm-up runs, then N runs timed with the wall clock; a row
reports the median, minimum and maximum.  Flops are 2mnk and bytes 4(mk + kn + mn), as in
benchmarks/README.md.  The ceilings of the same run are NumPy's copy bandwidth
(`np.copyto(dst, src)` of a large array, bytes = 2 × size) and its best square GEMM among
settings.ceiling_gemm.  The BLAS threads are set to --threads (OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS) before NumPy is imported.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402


def gemm_work(np, m: int, n: int, k: int):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    return lambda: np.matmul(a, b, out=c)


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1e3


def blas_name(np) -> str:
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (KeyError, TypeError):
        return "unknown BLAS"


def main() -> None:
    p = bc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="BLAS threads (default: 2)")
    args = p.parse_args()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    try:
        import numpy as np
    except ImportError as error:
        raise SystemExit(f"numpy_bench.py needs NumPy ({error}); see benchmarks/peers/README.md") from error

    suites = bc.load_suites(args.suites)
    s = bc.settings(suites, "cpu", args.quick)

    bc.log(f"ceilings: copy {s.copy_mib} MiB, GEMM {s.ceiling_gemm}")
    count = s.copy_mib * 2**20 // bc.FLOAT
    src = np.random.default_rng(1).standard_normal(count, dtype=np.float32)
    dst = np.empty_like(src)
    copy_ms = bc.time_runs(lambda: timed(lambda: np.copyto(dst, src)), s.warmup, s.runs)
    del src, dst
    rates = {}
    for n in s.ceiling_gemm:
        work = gemm_work(np, n, n, n)
        rates[n] = 2 * n**3 / statistics.median(bc.time_runs(lambda: timed(work), s.warmup, s.runs)) / 1e6
    ceil = bc.ceilings(copy_ms, 2 * count * bc.FLOAT, rates)

    rows = []
    for case in bc.cases(suites, args.suite, s, args.filter):
        if case.op != "gemm":
            continue
        bc.log(case.id)
        work = gemm_work(np, case.spec["m"], case.spec["n"], case.spec["k"])
        rows.append(bc.row(case, bc.time_runs(lambda: timed(work), s.warmup, s.runs), ceil))

    device = f"CPU, {blas_name(np)}, {args.threads} threads"
    res = bc.result("numpy", np.__version__, device, s, ceil, rows, [], threads=args.threads)
    bc.finish(res, args.json)


if __name__ == "__main__":
    main()
