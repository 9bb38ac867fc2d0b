"""How long the browser app takes to show a step: from the click on Step to the page
holding the new date line and every figure redrawn.

Workload: `huzhu viz` on 127.0.0.1 and headless Chromium (Playwright) on the same
machine; the default scenario at each size (set with the n_agents slider, then Reset);
the first 5 periods are run to warm up, then 20 steps are timed one by one. Also timed:
the first render of the page (navigation to every figure drawn) and Reset (click to
every figure drawn for the new model, the network sample and its layout included).

    python benchmarks/viz_benchmark.py                    # 5,000, 200,000 (default) and 1,000,000 agents
    python benchmarks/viz_benchmark.py --sizes 200000 --steps 40
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import publish  # a sibling module of this script, not an installed one

from huzhu.viz import browser, controls

RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP_STEPS = 5


def measure(sizes: list[int], steps: int) -> list[str]:
    rows = []
    with browser.served_app() as address, browser.browser_page() as page:
        started = time.perf_counter()
        page.goto(address)
        browser.wait_until_rendered(page)
        first_render = time.perf_counter() - started
        for size in sizes:
            browser.set_slider_to(page, "n_agents", size, controls.STEPS["n_agents"])
            started = time.perf_counter()
            page.get_by_role("button", name="Reset", exact=True).click()
            page.wait_for_function(
                f"(document.querySelector('#huzhu-settings')?.textContent ?? '').startsWith('{size:,} agents')",
                timeout=browser.RENDER_TIMEOUT_MS,
            )
            browser.wait_until_rendered(page)
            reset = time.perf_counter() - started
            for _ in range(WARM_UP_STEPS):
                browser.step_and_wait(page)
            timings = []
            for _ in range(steps):
                started = time.perf_counter()
                browser.step_and_wait(page)
                timings.append(time.perf_counter() - started)
            timings.sort()
            rows.append(
                f"| {size:,} | {first_render:.1f} | {reset:.2f} | {statistics.median(timings):.2f} "
                f"| {timings[int(0.9 * (len(timings) - 1))]:.2f} | {timings[-1]:.2f} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, controls.VIEW_AGENTS, 1_000_000])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    body = [
        f"Workload: default scenario, {WARM_UP_STEPS} warm-up periods, then {args.steps} steps timed one by one "
        "(click on Step to the new date line and every figure on the page).",
        "",
        "| agents | first render (s) | reset (s) | step, median (s) | step, 90th percentile (s) | step, slowest (s) |",
        "|---:|---:|---:|---:|---:|---:|",
        *measure(args.sizes, args.steps),
    ]
    publish("huzhu browser app benchmark", body, RESULTS, "viz")


if __name__ == "__main__":
    main()
