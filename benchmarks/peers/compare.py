"""Heed beside its peers, in one command: runs `heed bench`, PyTorch on the CPU, NumPy's SGEMM
and tinygrad on OpenCL one after another on the cases of benchmarks/suites.json, then prints,
for every case id, each tool's median time and rate and Heed ÷ peer, and the targets of
issues 7 and 13 with pass / miss and by how much:

  * SGEMM (every square `gemm` case, 1024 the headline) on the OpenCL device ≥ 50 % of
    NumPy's GFLOP/s;
  * the WRN-16-4 + attention training step ≥ 50 % of PyTorch CPU's images/s;
  * each attention kernel's GB/s ≥ 50 % of the device's copy bandwidth (Heed's own ceiling);
  * the peak memory of every training step and inference ≤ 1.0 × PyTorch's (issue 13): Heed's
    peak of the bytes reserved from the driver (in use and pooled; the in-use peak beside it)
    against PyTorch's peak of live tensors, since PyTorch on the CPU has no caching allocator.

The rate is GFLOP/s for compute-bound rows, GB/s for memory-bound ones and images/s for the
training cases; Heed ÷ peer is the throughput ratio peer_ms / heed_ms (> 1: Heed is faster).
Each tool writes the JSON of benchmarks/README.md; `--save DIR` keeps them, `--from DIR`
remakes the tables from them without running anything, `--markdown FILE` writes the tables
as Markdown (for benchmarks/RESULTS.md).  A peer whose library is not importable by the
Python that runs the peers ($PYTHON, else this interpreter) is reported and skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

HERE = Path(__file__).resolve().parent
TOOLS = ("heed", "pytorch", "numpy", "tinygrad")
PEERS = {  # tool: (script, module it needs)
    "pytorch": ("pytorch_bench.py", "torch"),
    "numpy": ("numpy_bench.py", "numpy"),
    "tinygrad": ("tinygrad_bench.py", "tinygrad"),
}
SHORT = {"pytorch": "PyTorch", "numpy": "NumPy", "tinygrad": "tinygrad"}
NOT_RUN = "the case is not in this run"


# ----------------------------------------------------------------------------- running

def run_heed(args, json_path: Path) -> str | None:
    """Runs `heed bench`; returns why it did not, or None."""
    heed = args.heed or bc.REPO / ".build" / "release" / "heed"
    if not heed.exists():
        if args.heed:
            return f"{heed} does not exist"
        bc.log(f"{heed} is missing: swift build -c release")
        build = subprocess.run(["swift", "build", "-c", "release"], cwd=bc.REPO)
        if build.returncode != 0:
            return f"swift build -c release failed (exit {build.returncode})"
    command = [str(heed), "bench", *common_arguments(args, json_path), *shlex.split(args.heed_args)]
    return run(command, "heed")


def run_peer(args, tool: str, json_path: Path) -> str | None:
    script, module = PEERS[tool]
    try:
        check = subprocess.run([args.python, "-c", f"import {module}"], capture_output=True, text=True)
    except OSError as error:
        return f"cannot run {args.python} ({error.strerror}); --python or $PYTHON names the peers' Python"
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["?"])[-1]
        return f"{args.python} cannot import {module} ({last}); see benchmarks/peers/README.md"
    return run([args.python, str(HERE / script), *common_arguments(args, json_path)], tool)


def common_arguments(args, json_path: Path) -> list[str]:
    """What every tool, Heed and the peers, is given: the same cases, sizes and output."""
    return ["--suite", args.suite, "--json", str(json_path), "--suites", str(args.suites),
            *(["--quick"] if args.quick else []), *(["--filter", args.filter] if args.filter else [])]


def run(command: list[str], tool: str) -> str | None:
    bc.log(f"\n== {tool}: {shlex.join(command)}")
    try:
        done = subprocess.run(command, stdout=sys.stderr)   # its table and progress, as they come
    except OSError as error:
        return f"cannot run {command[0]}: {error}"
    return None if done.returncode == 0 else f"exit status {done.returncode}"


def collect(args) -> tuple[dict[str, dict], dict[str, str]]:
    """{tool: its JSON} and {tool: why it is missing}."""
    results = {}
    missing = {tool: "left out by --tools" for tool in TOOLS if tool not in args.tools}
    if args.from_dir:
        for tool in args.tools:
            path = args.from_dir / f"{tool}.json"
            if path.exists():
                results[tool] = json.loads(path.read_text())
            else:
                missing[tool] = f"no {path}"
        return results, missing

    with tempfile.TemporaryDirectory(prefix="heed-compare-") as scratch:
        directory = args.save or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        for tool in args.tools:
            if tool == "numpy" and args.suite == "train":
                missing[tool] = "NumPy runs only the gemm cases (suite kernels)"
                continue
            path = directory / f"{tool}.json"
            path.unlink(missing_ok=True)
            why = run_heed(args, path) if tool == "heed" else run_peer(args, tool, path)
            if why is None and not path.exists():
                why = f"wrote no {path.name}"
            if why is None:
                results[tool] = json.loads(path.read_text())
            else:
                missing[tool] = why
                bc.log(f"{tool}: {why}")
    return results, missing


# ------------------------------------------------------------------------------ tables

def rate(r: dict) -> tuple[float | None, str]:
    if "images_per_s" in r:
        return r["images_per_s"], "img/s"
    if r.get("bound") == "memory":
        return r.get("gbs"), "GB/s"
    return r.get("gflops"), "GFLOP/s"


def num(value, digits=3) -> str:
    return bc.fmt(value, digits)


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def comparison_table(results: dict[str, dict], ids: list[str]) -> list[list[str]]:
    peers = [t for t in ("pytorch", "numpy", "tinygrad") if t in results]
    header = ["id", "unit", "Heed ms", "Heed rate"]
    for p in peers:
        header += [f"{SHORT[p]} ms", f"{SHORT[p]} rate", f"Heed ÷ {SHORT[p]}"]
    rows = {t: {r["id"]: r for r in res["rows"]} for t, res in results.items()}
    skipped = {t: {s["id"]: s["reason"] for s in res.get("skipped", [])} for t, res in results.items()}
    table = [header]
    for case_id in ids:
        present = [t for t in results if case_id in rows[t]]
        if not present:
            continue
        heed = rows.get("heed", {}).get(case_id)
        unit = rate(rows[present[0]][case_id])[1]
        line = [case_id, unit, num(heed and heed["median_ms"], 4), num(heed and rate(heed)[0])]
        for p in peers:
            r = rows[p].get(case_id)
            if r is None:
                line += ["skipped" if case_id in skipped[p] else "-", "", ""]
                continue
            ratio = r["median_ms"] / heed["median_ms"] if heed else None
            line += [num(r["median_ms"], 4), num(rate(r)[0]), num(ratio)]
        table.append(line)
    return table


def ceilings_table(results: dict[str, dict]) -> list[list[str]]:
    table = [["tool", "version", "device", "kind", "copy GB/s", "GEMM GFLOP/s"]]
    for tool, res in results.items():
        c = res["ceilings"]
        table.append([tool, str(res.get("version", "?")), res.get("device", "?"),
                      res.get("kind", "?") + (", quick" if res.get("quick") else ""),
                      num(c.get("copy_gbs")), num(c.get("gemm_gflops"))])
    return table


def target_line(name: str, value: float | None, detail: str, target: float, at_most: bool,
                why_missing: str) -> list[str]:
    """[target, measured (detail), goal, result]; the margin in the result is how far the
    value is past the goal (+) or short of it (−), relative to the goal."""
    goal = f"{'≤' if at_most else '≥'} {num(target)}"
    if value is None:
        return [name, "-", goal, f"no data: {why_missing}"]
    met = value <= target if at_most else value >= target
    margin = (target / value - 1) if at_most else (value / target - 1)
    return [name, f"{num(value)} ({detail})", goal,
            f"{'pass' if met else 'miss'} ({'+' if margin >= 0 else ''}{percent(margin)})"]


def targets_table(results: dict[str, dict], missing: dict[str, str], suites: dict) -> tuple[list[list[str]], int]:
    """The targets' table, and how many targets were left out because their case was not run."""
    rows = {t: {r["id"]: r for r in res["rows"]} for t, res in results.items()}
    heed, torch, numpy = rows.get("heed", {}), rows.get("pytorch", {}), rows.get("numpy", {})
    everywhere = {i for table in rows.values() for i in table}

    def why(case_id: str, *tools: str) -> str:
        """Why a target has no value: a tool not run, or no row for the case."""
        if case_id not in everywhere:
            return NOT_RUN
        for tool in tools:
            if tool in missing:
                return f"{tool} not run ({missing[tool]})"
            if case_id not in rows.get(tool, {}):
                return f"no {tool} row"
        return "a peak_bytes is missing"

    def mib(n: int) -> str:
        return f"{n / 2**20:.0f}"

    table = [["target", "measured", "goal", "result"]]
    squares = [e["id"] for e in suites["kernels"] if e["op"] == "gemm" and e["m"] == e["n"] == e["k"]]
    squares.sort(key=lambda i: i != "gemm 1024")            # the headline first
    for case_id in squares:
        h, n = heed.get(case_id), numpy.get(case_id)
        value, detail = (h["gflops"] / n["gflops"], f"{num(h['gflops'])} / {num(n['gflops'])} GFLOP/s") if h and n else (None, "")
        table.append(target_line(f"{case_id}: Heed ÷ NumPy GFLOP/s", value, detail, 0.5, False,
                                 why(case_id, "heed", "numpy")))
    case_id = "wrn16-4 attention train"
    h, t = heed.get(case_id), torch.get(case_id)
    value, detail = ((h["images_per_s"] / t["images_per_s"], f"{num(h['images_per_s'])} / {num(t['images_per_s'])} img/s")
                     if h and t else (None, ""))
    table.append(target_line(f"{case_id}: Heed ÷ PyTorch CPU images/s", value, detail, 0.5, False,
                             why(case_id, "heed", "pytorch")))
    for e in suites["kernels"]:
        if e["op"] == "attention":
            h = heed.get(e["id"])
            copy = results["heed"]["ceilings"]["copy_gbs"] if h else None
            value, detail = (h["gbs"] / copy, f"{num(h['gbs'])} / {num(copy)} GB/s") if h else (None, "")
            table.append(target_line(f"{e['id']}: GB/s ÷ copy bandwidth", value, detail, 0.5, False,
                                     why(e["id"], "heed")))
    for e in suites["train"]:
        h, t = heed.get(e["id"]), torch.get(e["id"])
        hp, tp = h and h.get("peak_bytes"), t and t.get("peak_bytes")
        in_use = h and h.get("peak_in_use_bytes")
        detail = f"{mib(hp)} / {mib(tp)} MiB" + (f"; in use {mib(in_use)}" if in_use else "") if hp and tp else ""
        table.append(target_line(f"{e['id']}: Heed ÷ PyTorch peak memory", hp / tp if hp and tp else None, detail, 1.0, True,
                                 why(e["id"], "heed", "pytorch")))
    kept = [table[0]] + [line for line in table[1:] if not line[3].endswith(NOT_RUN)]
    return kept, len(table) - len(kept)


def numeric(table: list[list[str]], column: int) -> bool:
    """A column of numbers (and "-" or "skipped"), to align on the right."""
    cells = [row[column].split(" ")[0] for row in table[1:] if row[column] not in ("", "-", "skipped")]
    try:
        [float(c) for c in cells]
    except ValueError:
        return False
    return bool(cells)


def text(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    right = [numeric(table, i) for i in range(len(widths))]
    lines = []
    for n, row in enumerate(table):
        lines.append("  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(table: list[list[str]]) -> str:
    def line(row):
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
    align = ["--:" if numeric(table, i) else "---" for i in range(len(table[0]))]
    return "\n".join([line(table[0]), "| " + " | ".join(align) + " |", *map(line, table[1:])])


def report(results: dict[str, dict], missing: dict[str, str], suites: dict, command: str) -> list[tuple[str, list]]:
    ids = [e["id"] for name in ("kernels", "train") for e in suites[name]]
    for res in results.values():
        ids += [r["id"] for r in res["rows"] if r["id"] not in ids]
    targets, left_out = targets_table(results, missing, suites)
    sections = [("Devices and ceilings (measured in the same run)", ceilings_table(results)),
                ("Median time and rate of every case; Heed ÷ peer = peer ms / Heed ms (> 1: Heed is faster)",
                 comparison_table(results, ids)),
                ("Targets (issues 7 and 13)", targets)]
    notes = [f"{tool}: not run: {why}" for tool, why in missing.items()]
    if left_out:
        notes.append(f"{left_out} targets left out: their cases were not in this run (--quick, --suite or --filter)")
    kinds = {res.get("kind") for res in results.values()}
    quick = {bool(res.get("quick")) for res in results.values()}
    if len(kinds) > 1 or len(quick) > 1:
        notes.append("the tools ran different sizes (kind or --quick differ): rows do not pair up fairly")
    notes.append(f"command: {command}")
    return sections + [("Notes", notes)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=("kernels", "train", "all"), default="all", help="which cases (default: all)")
    p.add_argument("--quick", action="store_true", help="every path once at the smallest sizes")
    p.add_argument("--tools", default=",".join(TOOLS),
                   help=f"comma-separated subset of {','.join(TOOLS)} (default: all of them)")
    p.add_argument("--heed", type=Path, metavar="PATH",
                   help="the heed executable (default: .build/release/heed, built with `swift build -c release` if missing)")
    p.add_argument("--heed-args", default="", metavar="ARGS",
                   help="more arguments for `heed bench`, e.g. \"--device 0:0\"")
    p.add_argument("--python", default=os.environ.get("PYTHON") or sys.executable,
                   help="the Python that runs the peers (default: $PYTHON, else this interpreter)")
    p.add_argument("--save", type=Path, metavar="DIR", help="keep each tool's JSON in DIR (heed.json, pytorch.json, …)")
    p.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                   help="run nothing: remake the tables from the JSON files in DIR")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write the tables as Markdown to FILE")
    p.add_argument("--filter", metavar="TEXT", help="only the cases whose id contains TEXT (passed to every tool)")
    p.add_argument("--suites", type=Path, default=bc.SUITES_FILE, metavar="FILE",
                   help="read the cases from FILE (passed to every tool)")
    args = p.parse_args()
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        p.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    if args.from_dir and not args.from_dir.is_dir():
        p.error(f"--from {args.from_dir}: not a directory")

    suites = bc.load_suites(args.suites)
    results, missing = collect(args)
    if not results:
        raise SystemExit("no tool produced results: " + "; ".join(f"{t}: {w}" for t, w in missing.items()))
    command = "python3 benchmarks/peers/compare.py " + shlex.join(sys.argv[1:])
    sections = report(results, missing, suites, command)

    for title, body in sections:
        print(f"\n{title}")
        print("\n".join(f"  {n}" for n in body) if title == "Notes" else text(body))
    sys.stdout.flush()
    if args.markdown:
        parts = []
        for title, body in sections:
            parts.append(f"**{title}**\n\n" + ("\n".join(f"- {n}" for n in body) if title == "Notes" else markdown(body)))
        args.markdown.write_text("\n\n".join(parts) + "\n")
        bc.log(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
