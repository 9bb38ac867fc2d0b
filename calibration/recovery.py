"""Parameter recovery at the calibration's scale: data made by the model at known
parameter values (the `xianghubao` preset's calibrated values under its stay rule,
independent seeds) are calibrated as the real record is, and the estimates are set
beside the truth.

    python -m huzhu.calibration.recovery                  # 120 sets x 3 replications at 400,000 agents
    python -m huzhu.calibration.recovery --budget 40 --agents 20000
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from huzhu.calibration.calibrate import (
    CalibrationSettings,
    calibrate,
    confidence_threshold,
    evaluate,
    synthetic_observations,
)
from huzhu.calibration.observations import load_observations
from huzhu.experiments.executors import make_executor
from huzhu.model.presets import preset_overrides

DATA_SEED = 99  # the synthetic data's seeds, independent of the calibration's


def recover(settings: CalibrationSettings, truth: dict[str, float], executor=None) -> pd.DataFrame:
    """Truth, best estimate and the near-best range of each calibrated parameter, and
    whether the truth itself lies in the calibration's 95% likelihood-ratio confidence set
    (its summed z^2, with the calibration's seeds, within the threshold of the best set's;
    `truth_in_confidence_set`, the same on every row)."""
    data = synthetic_observations(settings, truth, load_observations(), seed=DATA_SEED)
    result = calibrate(settings, executor, observations=data)
    ((truth_distance, _, _),) = evaluate(settings, result.targets, [truth], executor)
    used = sum(t.used for t in result.targets)
    threshold = confidence_threshold(result.trials["sum_z2"].min(), len(settings.parameters))
    rows = []
    for name in settings.parameters:
        near = result.near_best[name]
        rows.append(
            {"parameter": name, "truth": truth[name], "best": result.best[name], "near_best_low": near.min(),
             "near_best_high": near.max(), "inside": bool(near.min() <= truth[name] <= near.max()),
             "truth_sum_z2": truth_distance * used, "confidence_threshold": threshold,
             "truth_in_confidence_set": bool(truth_distance * used <= threshold)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huzhu.calibration.recovery", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=120)
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--agents", type=int, default=400_000)
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    preset = preset_overrides("xianghubao")
    settings = CalibrationSettings(
        budget=args.budget, replications=args.replications, n_agents=args.agents, stay_rule=preset["stay_rule"]
    )
    truth = {name: preset[name] for name in settings.parameters}
    executor = make_executor("processes", args.workers)
    try:
        table = recover(settings, truth, executor)
    finally:
        executor.close()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
