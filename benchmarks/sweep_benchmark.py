"""Throughput of batch experiments and the overhead of the executors over bare runs.

Workload: a grid over fee_rate (0.08, 0.15) x R replications of the default scenario at
N agents over the full calendar (launch to settlement), all period columns and all
summaries kept. Measured, each in a fresh Python process:

- bare, 1 process: a plain loop `MutualAidModel(...).run()` over the same runs;
- bare, W processes: W such loops at once, each over 1/W of the runs (what perfect
  parallel execution on this machine achieves, memory-bandwidth contention included);
- `huzhu sweep` with the sequential, processes (W workers) and Dask LocalCluster (W
  workers) executors, from the call to return: design, seeding, pickling, Parquet parts
  and manifest included.

Executor overhead = executor time / bare time on the same number of processes - 1.

    python benchmarks/sweep_benchmark.py                       # N = 100,000, R = 12, W = 2, 3 repeats
    python benchmarks/sweep_benchmark.py --agents 200000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import publish  # a sibling module of this script, not an installed one

RESULTS = Path(__file__).resolve().parent / "results"
TITLE = "huzhu sweep benchmark"

EXPERIMENT = """
name = "sweep_benchmark"
seed = 1
replications = {replications}
[base]
n_agents = {agents}
[factors.fee_rate]
values = [0.08, 0.15]
[design]
kind = "grid"
"""

BARE = r"""
import json, sys, time
from huzhu import MutualAidModel
from huzhu.experiments.designs import build_design
from huzhu.experiments.experiment_file import load_experiment
from huzhu.experiments.sweep import experiment_tasks
experiment = load_experiment(sys.argv[1])
tasks = experiment_tasks(experiment, build_design(experiment))
share, of = int(sys.argv[2]), int(sys.argv[3])
mine = tasks[share::of]
started = time.perf_counter()
for task in mine:
    MutualAidModel(preset=task.preset, rng=task.seed, **task.params).run()
print(json.dumps({"runs": len(mine), "seconds": time.perf_counter() - started}))
"""

SWEEP = r"""
import json, sys, time
from huzhu.experiments.experiment_file import load_experiment
from huzhu.experiments.sweep import run_experiment
experiment = load_experiment(sys.argv[1])
kind, workers, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
options = {"dask_local": workers} if kind == "dask" else {"executor": kind, "workers": workers}
started = time.perf_counter()
report = run_experiment(experiment, out, progress=False, **options)
assert report.failed == 0 and report.ran == report.total, report
print(json.dumps({"runs": report.ran, "seconds": time.perf_counter() - started}))
"""


def _child(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"benchmark child failed with status {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=100_000, help="agents per run (default 100,000)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats, median reported (default 3)")
    parser.add_argument("--replications", type=int, default=12, help="replications per point (default 12)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the markdown result")
    args = parser.parse_args(argv)
    runs = 2 * args.replications
    with tempfile.TemporaryDirectory() as scratch:
        file = Path(scratch) / "experiment.toml"
        file.write_text(EXPERIMENT.format(replications=args.replications, agents=args.agents))
        times: dict[tuple[str, int], list[float]] = {}

        def timed(label: str, processes: int, children: list[subprocess.Popen]) -> None:
            results = [_result(c) for c in children]
            # Parallel bare loops finish when the slowest does.
            seconds = max(r["seconds"] for r in results)
            times.setdefault((label, processes), []).append(seconds)
            print(f"{label}: {seconds:.1f} s", file=sys.stderr)

        # Repeats interleaved, so that drift in the machine's speed spreads over all rows.
        for repeat in range(args.repeats):
            timed("bare loop", 1, [_child(BARE, str(file), "0", "1")])
            shares = [_child(BARE, str(file), str(i), str(args.workers)) for i in range(args.workers)]
            timed("bare loops", args.workers, shares)
            for kind, workers in (("sequential", 1), ("processes", args.workers), ("dask", args.workers)):
                out = Path(scratch) / f"out-{kind}-{repeat}"
                timed(f"huzhu sweep, {kind}", workers, [_child(SWEEP, str(file), kind, str(workers), str(out))])
    rows = [
        {"label": label, "processes": processes, "runs": runs, "seconds": statistics.median(seconds),
         "low": min(seconds), "high": max(seconds)}
        for (label, processes), seconds in times.items()
    ]  # fmt: skip
    bare = {r["processes"]: r["seconds"] for r in rows if r["label"].startswith("bare")}
    lines = [
        f"Workload: grid fee_rate (0.08, 0.15) x {args.replications} replications = {runs} runs of the default "
        f"scenario at {args.agents:,} agents, full calendar, all columns and summaries kept.",
        "",
        f"Median of {args.repeats} interleaved repeats (range in brackets).",
        "",
        "| how | processes | runs | time (s) | s per run | runs per hour | overhead vs bare on as many processes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        overhead = r["seconds"] / bare[r["processes"]] - 1
        shown = "-" if r["label"].startswith("bare") else f"{overhead:+.1%}"
        lines.append(
            f"| {r['label']} | {r['processes']} | {r['runs']} | {r['seconds']:.1f} [{r['low']:.1f}, {r['high']:.1f}] "
            f"| {r['seconds'] / r['runs']:.2f} "
            f"| {3600 * r['runs'] / r['seconds']:,.0f} | {shown} |"
        )
    publish(TITLE, lines, args.out, "sweep")
    return 0


if __name__ == "__main__":
    sys.exit(main())
