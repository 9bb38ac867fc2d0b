"""Parameter recovery at the calibration's scale: data made by the model at known
parameter values (the `xianghubao` preset's calibrated values under its stay rule and
fixed values, independent seeds) are calibrated as the real record is, and the estimates are set
beside the truth.

The calibrations to 2020 start from an earlier fit and refine it by CMA-ES (and least
squares, `--polish`, then explore the confidence set's edge, `--explore`); the recovery
does the same from a start displaced from the truth by a share of each searched span in
every parameter at once (`--offset`), so it measures whether the procedure finds its way
back, not whether a global search of a few hundred sets finds a needle in 16 dimensions.

    python -m huzhu.calibration.recovery    # 200 TPE, 200 CMA-ES, <= 200 least squares, 64 more; x 3 x 200,000 agents
    python -m huzhu.calibration.recovery --budget 20 --refine 20 --polish 120 --agents 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
import pandas as pd

from huzhu.calibration.calibrate import (
    CalibrationSettings,
    calibrate,
    confidence_threshold,
    evaluate,
    from_unit,
    inside_confidence_set,
    searched_for,
    synthetic_observations,
    to_unit,
)
from huzhu.calibration.observations import load_observations
from huzhu.experiments.executors import make_executor
from huzhu.model.parameters import ParameterError
from huzhu.model.presets import xianghubao_calibration

DATA_SEED = 99  # the synthetic data's seeds, independent of the calibration's
START_SEED = 7  # the directions of the start's displacement


def shipped_truth(**search) -> tuple[CalibrationSettings, dict[str, float]]:
    """Settings that calibrate what the shipped calibration did (its stay rule, its fixed
    values, hence its searched parameters) with the search given by `search` (budgets,
    replications, agents), and its best set as the truth."""
    manifest = xianghubao_calibration()
    shipped = manifest["settings"]
    settings = CalibrationSettings(stay_rule=shipped["stay_rule"], fixed=shipped["fixed"], **search)
    return settings, {name: manifest["best"][name] for name in settings.parameters}


def displaced_start(settings: CalibrationSettings, truth: dict[str, float], offset: float) -> dict[str, float]:
    """A start `offset` of each searched span (of its logarithm for a log span) away from
    the truth in every parameter, in a direction drawn once per parameter; a step that
    would leave the span is taken the other way.

    Raises:
        ParameterError: `offset` outside [0, 0.5].
    """
    if not 0.0 <= offset <= 0.5:
        raise ParameterError(f"offset={offset!r}: allowed 0 to 0.5 of each searched span")
    searched = searched_for(settings.stay_rule)
    signs = np.random.default_rng(START_SEED).choice([-1.0, 1.0], size=len(settings.parameters))
    start = {}
    for name, sign in zip(settings.parameters, signs, strict=True):
        unit = to_unit(truth[name], searched[name])
        moved = unit + sign * offset
        if not 0.0 <= moved <= 1.0:
            moved = unit - sign * offset
        start[name] = from_unit(moved, searched[name])
    return start


def recover(settings: CalibrationSettings, truth: dict[str, float], executor=None) -> pd.DataFrame:
    """Truth, start, best estimate and the near-best range of each calibrated parameter,
    and whether the truth itself lies in the calibration's 95% likelihood-ratio confidence
    set (its summed z^2, with the calibration's seeds, within the threshold of the best
    set's; `truth_in_confidence_set`, the same on every row, as are the best set's
    `best_sum_z2` and the truth's `truth_sum_z2`)."""
    data = synthetic_observations(settings, truth, load_observations(), seed=DATA_SEED)
    result = calibrate(settings, executor, observations=data)
    ((truth_distance, _, _),) = evaluate(settings, result.targets, [truth], executor)
    used = sum(t.used for t in result.targets)
    best_sum_z2 = float(result.trials["sum_z2"].min())
    threshold = confidence_threshold(best_sum_z2, len(settings.parameters))
    rows = []
    inside = inside_confidence_set(result.trials, len(settings.parameters))
    for name in settings.parameters:
        near = inside[name]
        rows.append(
            {"parameter": name, "truth": truth[name], "start": settings.start.get(name, np.nan),
             "best": result.best[name], "near_best_low": near.min(), "near_best_high": near.max(),
             "inside": bool(near.min() <= truth[name] <= near.max()), "best_sum_z2": best_sum_z2,
             "truth_sum_z2": truth_distance * used, "confidence_threshold": threshold,
             "truth_in_confidence_set": bool(truth_distance * used <= threshold)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huzhu.calibration.recovery", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200, help="TPE sets (default 200, as the calibrations)")
    parser.add_argument("--refine", type=int, default=200, help="CMA-ES sets after TPE (default 200)")
    parser.add_argument(
        "--polish", type=int, default=200, help="least-squares sets after CMA-ES, at most (default 200)"
    )
    parser.add_argument(
        "--explore", type=int, default=64,
        help="sets at the confidence set's edge after the searches (default 64: about 3 a parameter; 0: none)",
    )  # fmt: skip
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--agents", type=int, default=200_000)
    parser.add_argument(
        "--offset", type=float, default=0.1,
        help="the start's distance from the truth, as a share of each searched span (default 0.1; 0-0.5)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    settings, truth = shipped_truth(
        budget=args.budget, refine=args.refine, polish=args.polish, explore=args.explore,
        replications=args.replications, n_agents=args.agents,
    )  # fmt: skip
    try:
        settings = dataclasses.replace(settings, start=displaced_start(settings, truth, args.offset))
        settings.validate()
    except ParameterError as error:
        parser.error(str(error))
    executor = make_executor("processes", args.workers)
    try:
        table = recover(settings, truth, executor)
    finally:
        executor.close()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
