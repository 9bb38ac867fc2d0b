"""One run against Xianghubao's record: every observation beside the run's value.

The comparison reads the run's period table by the calibration's own rules
(`targets.simulated_value`: stocks interpolated to the date, sums over a year's periods,
cases counted when announced) and its realised claims, as a single run has them, with the
same quantities read Poisson-free from the run's expected claims beside them (as the
calibration reads them): at 100 people an agent a year's people aided are a few hundred
draws, so a realised share can miss the record by its Poisson noise alone. It is what
`huzhu run` writes as record.csv, so a reader sees at once where a scenario stands against
the data it was calibrated on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from huzhu.calibration.observations import load_observations
from huzhu.calibration.targets import build_targets, simulated_value, standardised_errors
from huzhu.model.calendar import Calendar

RECORD_FILE = "record.csv"


def record_comparison(
    table: pd.DataFrame, params: dict[str, Any], observations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every observation of the modelled plan against one run.

    Args:
        table: The run's period table (`MutualAidModel.run`).
        params: The run's full parameter set (for its scale and launch date).
        observations: From `load_observations` (default: the project's record).

    Returns:
        One row per observation: `date`, `quantity`, `observed`, `simulated` (nan where
        the run has no value, e.g. a date before its launch), `relative_error`
        (simulated / observed - 1; nan for an observation of 0), `z` (the calibration's
        standardised log error at one replication, realised claims), `expected` and
        `expected_relative_error` (claim quantities read from the expected claims; the
        same as `simulated` for the others) and `source`.
    """
    observations = load_observations() if observations is None else observations
    calendar = Calendar(params["launch_date"])
    people_per_agent = params["population"] / params["n_agents"]
    targets = build_targets(observations, people_per_agent, 1, None, params["launch_date"], "realised")
    simulated = np.array([simulated_value(t, table, calendar) for t in targets])
    expected_targets = build_targets(observations, people_per_agent, 1, None, params["launch_date"], "expected")
    expected = np.array([simulated_value(t, table, calendar) for t in expected_targets])
    observed = np.array([t.observed for t in targets])
    with np.errstate(invalid="ignore", divide="ignore"):
        relative_error = np.where(observed > 0, simulated / observed - 1.0, np.nan)
        expected_relative_error = np.where(observed > 0, expected / observed - 1.0, np.nan)
    z = np.where(np.isfinite(simulated), standardised_errors(targets, simulated), np.nan)
    return pd.DataFrame(
        {
            "date": [t.date for t in targets],
            "quantity": [t.quantity for t in targets],
            "observed": observed,
            "simulated": simulated,
            "relative_error": relative_error,
            "z": z,
            "expected": expected,
            "expected_relative_error": expected_relative_error,
            "source": [t.source for t in targets],
        }
    )


def record_lines(comparison: pd.DataFrame) -> list[str]:
    """One summary line per observation the run has a value for; claim quantities also
    read from the expected claims."""
    lines = []
    for row in comparison.itertuples():
        if not np.isfinite(row.simulated) or row.observed <= 0:
            continue
        line = (
            f"record       {row.quantity} {row.date}: observed {_number(row.observed)}, "
            f"run {_number(row.simulated)} ({row.relative_error:+.0%})"
        )
        if row.expected != row.simulated and np.isfinite(row.expected):
            line += f", expected {_number(row.expected)} ({row.expected_relative_error:+.0%})"
        lines.append(line)
    return lines


def _number(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:.2f} bn"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f} M"
    if abs(value) >= 1e3:
        return f"{value:,.0f}"
    return f"{value:.3g}"
