"""Speed and memory of huzhu on the default scenario over the full calendar.

Each workload runs in a fresh process so that its peak memory is its own. For every size
it reports build time, seconds per period, agent-periods per second, peak resident memory
and bytes per agent; at the reference sizes it runs the per-agent reference path
(engine="agents") and the vectorised engine on the same work (the first
--reference-periods periods) and gives their ratio. Beside each size up to --floor-max it
runs the numpy floor (numpy_floor.py: the least array work a period of such a model
needs) in the same session and reports huzhu's agent-periods per second as a ratio to it.
Beside each size it also gives the run time of the last numpy-only engine on this
machine (the stored results/*-numpy-engine.md) and the speed-up over it, and after the
table what compiling the passes costs once (a small run with an empty cache against the
same with the cache filled). The table is printed as markdown and written to
benchmarks/results/ with a description of the machine.

    python benchmarks/run_benchmarks.py                  # sizes 1e4 .. 1e7 (make bench)
    python benchmarks/run_benchmarks.py --sizes 1e8 --reference-sizes ""   # real scale
    python benchmarks/run_benchmarks.py --preset market --sizes 1e6,1e7 --reference-sizes ""   # the market
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import publish  # a sibling module of this script, not an installed one

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FLOOR_SCRIPT = HERE / "numpy_floor.py"
#: The last numpy-only engine measured on this machine (commit d23ef9e; 10^6 and 10^7
#: agents in one file, 10^8 in another): the compiled passes are read against it.
NUMPY_ENGINE_RESULTS = sorted(RESULTS.glob("*-numpy-engine.md"))
COMPILE_AGENTS, COMPILE_PERIODS = 2_000, 40  # a small run that reaches every compiled pass
TITLE = "huzhu benchmarks"

CHILD = r"""
import json, resource, sys, time
from huzhu import MutualAidModel
n, engine, periods, seed, preset = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
started = time.perf_counter()
model = MutualAidModel(preset=preset, n_agents=n, rng=seed, engine=engine)
build = time.perf_counter() - started
started = time.perf_counter()
steps = 0
while model.running and (periods <= 0 or steps < periods):
    model.step()
    steps += 1
run = time.perf_counter() - started
print(json.dumps({
    "n_agents": n, "engine": engine, "periods": steps, "build_s": build, "run_s": run,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "state_bytes": model.nbytes, "plans": len(model.pools),
}))
"""


def measure(
    n: int, engine: str, periods: int, seed: int, environment: dict | None = None, preset: str = "default"
) -> dict:
    """One workload in a fresh Python process."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), engine, str(periods), str(seed), preset],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"workload n={n} engine={engine} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_floor(n: int, periods: int) -> float:
    """Agent-periods per second of the numpy floor at `n` agents, in a fresh process."""
    result = subprocess.run(
        [sys.executable, str(FLOOR_SCRIPT), str(n), str(periods)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"numpy floor n={n} failed:\n{result.stderr[-4000:]}")
    fields = dict(item.split("=") for item in result.stdout.split())
    return float(fields["agent_steps_per_s"])


def measure_compilation(seed: int) -> tuple[float, float]:
    """Seconds of a small run with an empty compiled-code cache and with the cache filled
    (each in a fresh process): the difference is what compiling the passes costs once."""
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = measure(COMPILE_AGENTS, "vectorised", COMPILE_PERIODS, seed, environment)
        warm = measure(COMPILE_AGENTS, "vectorised", COMPILE_PERIODS, seed, environment)
    return cold["build_s"] + cold["run_s"], warm["build_s"] + warm["run_s"]


def numpy_engine_run_seconds(paths: list[Path] = NUMPY_ENGINE_RESULTS) -> dict[int, float]:
    """Run seconds by agent count of the numpy engine's stored benchmark tables."""
    seconds = {}
    for line in (line for path in paths for line in path.read_text().splitlines()):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0][:1].isdigit():
            seconds[int(float(cells[0]))] = float(cells[2])
    return seconds


def _size(text: str) -> int:
    return int(float(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="1e4,1e5,1e6,1e7", help="agent counts, comma-separated (default: 1e4,1e5,1e6,1e7)"
    )
    parser.add_argument(
        "--reference-sizes",
        default="1e4,1e5",
        help="sizes at which to compare with the per-agent path (default: 1e4,1e5)",
    )
    parser.add_argument(
        "--reference-periods", type=int, default=24, help="periods of the reference comparison (default: 24, one year)"
    )
    parser.add_argument(
        "--floor-max",
        type=_size,
        default=10**7,
        help="largest size at which the numpy floor is measured beside huzhu (default: 1e7)",
    )
    parser.add_argument(
        "--floor-periods", type=int, default=20, help="periods the numpy floor is timed over (default: 20)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--preset",
        default="default",
        help="scenario preset of the full-calendar workloads (default: default); `market` runs every plan of "
        "data/market.toml from 2016 (the numpy floor and the numpy engine are one-plan measures: not shown)",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="folder for the markdown result (default: benchmarks/results)"
    )
    args = parser.parse_args(argv)
    sizes = [_size(s) for s in args.sizes.split(",") if s]
    reference_sizes = [_size(s) for s in args.reference_sizes.split(",") if s]
    from tqdm import tqdm

    rows, comparisons, floors = [], [], {}
    workloads = [("full", n) for n in sizes] + [("reference", n) for n in reference_sizes]
    for kind, n in tqdm(workloads, desc="benchmarks", unit="workload"):
        if kind == "full":
            rows.append(measure(n, "vectorised", 0, args.seed, preset=args.preset))
            if n <= args.floor_max and args.preset == "default":
                floors[n] = measure_floor(n, args.floor_periods)
        else:
            vectorised = measure(n, "vectorised", args.reference_periods, args.seed)
            agents = measure(n, "agents", args.reference_periods, args.seed)
            comparisons.append((n, vectorised, agents))
    scenario = "Default scenario" if args.preset == "default" else f"Preset `{args.preset}` ({rows[0]['plans']} plans)"
    lines = [
        f"{scenario}, full calendar (first launch to settlement), vectorised engine, one process:",
        "",
        "| agents | build (s) | run (s) | periods | s per period | agent-periods per s | peak RSS (GB) "
        "| state bytes per agent | peak RSS bytes per agent | numpy floor agent-periods per s | huzhu / floor "
        "| numpy engine run (s) | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    numpy_engine = numpy_engine_run_seconds() if args.preset == "default" else {}
    for r in rows:
        n = r["n_agents"]
        rate = n * r["periods"] / r["run_s"]
        floor = floors.get(n)
        floor_cells = f"{floor:.3g} | {rate / floor:.2f}x" if floor else "- | -"
        before = numpy_engine.get(n)
        floor_cells += f" | {before:.2f} | {before / r['run_s']:.2f}x" if before else " | - | -"
        lines.append(
            f"| {n:.0e} | {r['build_s']:.2f} | {r['run_s']:.2f} | {r['periods']} | {r['run_s'] / r['periods']:.4f} "
            f"| {rate:.3g} | {r['peak_rss_bytes'] / 1e9:.2f} | {r['state_bytes'] / n:.0f} "
            f"| {r['peak_rss_bytes'] / n:.0f} | {floor_cells} |"
        )
    cold, warm = measure_compilation(args.seed)
    lines += [
        "",
        f"Numpy engine: {', '.join(p.name for p in NUMPY_ENGINE_RESULTS)} (commit d23ef9e, this machine)."
        " Compiling the passes once:"
        f" a run of {COMPILE_AGENTS:,} agents over {COMPILE_PERIODS} periods takes {cold:.1f} s with an empty"
        f" cache and {warm:.1f} s with it filled ({cold - warm:.1f} s of compilation; later runs load the cache).",
    ]
    if comparisons:
        lines += [
            "",
            'Per-agent reference path (engine="agents", Mesa shuffle_do) against the vectorised engine, '
            f"first {args.reference_periods} periods:",
            "",
            "| agents | reference agent-periods per s | vectorised agent-periods per s | ratio |",
            "|---:|---:|---:|---:|",
        ]
        for n, v, a in comparisons:
            rate_v = n * v["periods"] / v["run_s"]
            rate_a = n * a["periods"] / a["run_s"]
            lines.append(f"| {n:.0e} | {rate_a:.3g} | {rate_v:.3g} | {rate_v / rate_a:.0f}x |")
    publish(TITLE, lines, args.out, "-".join(f"{n:.0e}" for n in sizes) + ("" if args.preset == "default" else
                                                                            f"-{args.preset}"))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
