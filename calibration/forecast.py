"""Runs of the near-best parameter sets: the fit to the data and the forecast beyond it.

Each near-best set (at most `calibrate.NEAR_BEST_MAXIMUM`, spread over the confidence
set) runs R replications (the calibration's seeds); prediction intervals
are the 5% and 95% quantiles over all those runs, so they hold both the parameter
uncertainty and the run-to-run noise. Several calibrations (one per stay rule) add the
structural uncertainty: their runs are pooled with Akaike weights, each model's weight
proportional to exp(-AIC / 2), AIC = summed z^2 of its best set + 2 x its parameters
(the Gaussian error model of the distance), shared equally among its runs. A forecast
reads no observation: it is the model run forward under the known rule calendar (caps by
year, the closure dates), which are parameters of the model. Observations dated after the
cutoff, where the record has them, only score it afterwards (`score_forecast`): an
observation is scored against the interval a new observation would fall in, the runs'
values each blurred by the record's own error (the validation interval of Kreutz et al.
2012, BMC Systems Biology 6:120), and against the runs' interval alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr

from huzhu.calibration.calibrate import CalibrationSettings
from huzhu.calibration.runs import RunRequest, run_request
from huzhu.calibration.targets import EXPECTED_COLUMNS, Target, build_targets, fit_table, run_values
from huzhu.experiments.executors import SequentialExecutor
from huzhu.experiments.seeding import replication_seeds

QUANTILES = (0.05, 0.5, 0.95)
PERIOD_QUANTITIES = (
    "members",
    "share_per_member",
    "cases_announced",
    "cumulative_aided",
    "fee_revenue",
    "platform_subsidy",
)
YEAR_QUANTITIES = {
    "share_per_member_per_year": "share_per_member",
    "aided_in_year": "cases_announced",
    "fee_revenue_in_year": "fee_revenue",
    "platform_subsidy_in_year": "platform_subsidy",
}


def run_sets(
    settings: CalibrationSettings,
    parameter_sets: list[dict],
    until: dt.date | None,
    executor=None,
    on_run: Callable[[], None] | None = None,
) -> list[pd.DataFrame]:
    """Period tables of every set x replication (replication seeds of the calibration),
    each with `set` and `replication` columns; `on_run` is called as each run finishes."""
    executor = executor or SequentialExecutor()
    seeds = replication_seeds(settings.seed, settings.replications)
    requests = [
        RunRequest((k, r), seed, settings.preset, {**settings.base(), **params}, until)
        for k, params in enumerate(parameter_sets)
        for r, seed in enumerate(seeds)
    ]
    finished = []
    for item in executor.map_unordered(run_request, requests):
        finished.append(item)
        if on_run is not None:
            on_run()
    return [table.assign(set=k, replication=r) for (k, r), table in sorted(finished, key=lambda item: item[0])]


def fit(settings: CalibrationSettings, targets: list[Target], tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The fit table: each target's observed value, the mean over runs and the 5-95% interval."""
    values = run_values(targets, tables, settings.calendar())
    low, high = np.quantile(values, [QUANTILES[0], QUANTILES[2]], axis=0)
    return fit_table(targets, values.mean(axis=0), low, high)


def akaike_weights(sum_z2: list[float], n_parameters: list[int]) -> np.ndarray:
    """Weight of each calibrated model: exp(-AIC / 2) normalised, AIC = sum z^2 + 2 k (1)."""
    aic = np.asarray(sum_z2, dtype=float) + 2.0 * np.asarray(n_parameters, dtype=float)
    relative = np.exp(-(aic - aic.min()) / 2.0)
    return relative / relative.sum()


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles=QUANTILES) -> np.ndarray:
    """Quantiles of `values` along the last axis under `weights` (one per value): the
    weighted empirical CDF at its midpoints, interpolated linearly; values of zero weight
    take no part. With equal weights these are numpy's "hazen" quantiles.

    Returns:
        Array of shape values.shape[:-1] + (len(quantiles),).
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    kept = weights > 0
    rows = values.reshape(-1, values.shape[-1])[:, kept]
    w = weights[kept]
    result = np.empty((len(rows), len(quantiles)))
    for k, row in enumerate(rows):
        order = np.argsort(row)
        cumulative = np.cumsum(w[order]) - 0.5 * w[order]
        result[k] = np.interp(quantiles, cumulative / w.sum(), row[order])
    return result.reshape(*values.shape[:-1], len(quantiles))


def observation_quantiles(
    values: np.ndarray, weights: np.ndarray, record_sigma: float, quantiles=QUANTILES
) -> np.ndarray:
    """Quantiles of a new observation of a quantity whose model values over the runs are
    `values` (one per run, under `weights`) and whose record has a log-normal error of
    standard deviation `record_sigma` (`Target.record_sigma`): the weighted mixture of
    log-normals centred on the runs' values, inverted by root finding on its CDF.

    The calibration's error model (`targets`) is the same: observed = simulated x exp(e),
    e ~ N(0, sigma^2). An observation then falls outside the runs' own interval by its
    error alone as often as not when the runs' spread is small against it; this interval
    is the one a 90% claim about the next observation is about.

    Returns:
        The quantiles (nan when the record's error is not finite or a value is not positive).
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    kept = weights > 0
    values, weights = values[kept], weights[kept] / weights[kept].sum()
    if not np.isfinite(record_sigma) or record_sigma <= 0 or np.any(~(values > 0)):
        return np.full(len(quantiles), np.nan)
    logs = np.log(values)

    def below(x: float, q: float) -> float:
        return float(weights @ ndtr((x - logs) / record_sigma)) - q

    low, high = logs.min() - 9.0 * record_sigma, logs.max() + 9.0 * record_sigma
    return np.exp([brentq(below, low, high, args=(q,), xtol=1e-12) for q in quantiles])


def _run_weights(tables: list[pd.DataFrame]) -> np.ndarray:
    """Each run's weight: its `weight` column (a model's weight over its runs), else equal."""
    return np.array([float(t["weight"].iloc[0]) if "weight" in t else 1.0 for t in tables])


def _column(quantity: str, estimator: str) -> str:
    """The period-table column a forecast quantity reads under the calibration's estimator."""
    return EXPECTED_COLUMNS.get(quantity, quantity) if estimator == "expected" else quantity


def period_forecast(tables: list[pd.DataFrame], estimator: str = "realised") -> pd.DataFrame:
    """Per period and quantity: the 5%, 50% and 95% quantiles over the (weighted) runs;
    claim quantities read as the calibration read them (`estimator`, column `estimator`)."""
    weights = _run_weights(tables)
    length = min(len(t) for t in tables)
    frame = tables[0].iloc[:length]
    rows = []
    for quantity in PERIOD_QUANTITIES:
        column = _column(quantity, estimator)
        values = np.stack([t[column].to_numpy()[:length] for t in tables], axis=-1)
        q = weighted_quantiles(values, weights)
        rows.append(
            pd.DataFrame(
                {"period": frame["period"].to_numpy(), "date": frame["date"].to_numpy(), "quantity": quantity,
                 "median": q[:, 1], "low": q[:, 0], "high": q[:, 2], "estimator": estimator}
            )
        )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def year_forecast(tables: list[pd.DataFrame], estimator: str = "realised") -> pd.DataFrame:
    """Per calendar year and yearly quantity: the 5%, 50% and 95% quantiles over the runs;
    claim quantities read as the calibration read them (`estimator`)."""
    weights = _run_weights(tables)
    columns = {name: _column(column, estimator) for name, column in YEAR_QUANTITIES.items()}
    sums = [t.groupby(pd.to_datetime(t["date"]).dt.year)[list(columns.values())].sum() for t in tables]
    years = sorted(set.intersection(*(set(s.index) for s in sums)))
    rows = []
    for name, column in columns.items():
        values = np.array([[s.loc[year, column] for s in sums] for year in years])
        q = weighted_quantiles(values, weights)
        rows.append(
            pd.DataFrame({"year": years, "quantity": name, "median": q[:, 1], "low": q[:, 0], "high": q[:, 2],
                          "estimator": estimator})
        )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def score_forecast(
    settings: CalibrationSettings,
    tables: list[pd.DataFrame],
    observations: pd.DataFrame,
    cutoff: dt.date,
    until: dt.date,
) -> pd.DataFrame:
    """The forecast against the observations dated after the cutoff and up to `until`.

    Each observation is compared, by the calibration's own rules (`targets.simulated_value`),
    with the (weighted) median of the runs (the point error median / observed - 1), with the
    runs' 90% interval (`low`, `high`, `inside_runs_90`) and with the 90% interval of a new
    observation (`observation_low`, `observation_high`, `inside_90`: the runs' values with
    the record's own error, `observation_quantiles`). Returns an empty table when the
    record has no observation in that window.
    """
    later = build_targets(observations, settings.people_per_agent(), settings.replications, until,
                          settings.calendar().launch_date, settings.estimator)  # fmt: skip
    later = [t for t in later if t.date > cutoff]
    columns = ["date", "quantity", "observed", "median", "low", "high", "error", "inside_runs_90", "observation_low",
               "observation_high", "inside_90", "record_sigma", "source"]  # fmt: skip
    if not later:
        return pd.DataFrame(columns=columns)
    values = run_values(later, tables, settings.calendar())
    weights = _run_weights(tables)
    q = weighted_quantiles(values.T, weights)
    o = np.array([observation_quantiles(v, weights, t.record_sigma) for v, t in zip(values.T, later, strict=True)])
    observed = np.array([t.observed for t in later])
    return pd.DataFrame(
        {
            "date": [t.date for t in later], "quantity": [t.quantity for t in later], "observed": observed,
            "median": q[:, 1], "low": q[:, 0], "high": q[:, 2], "error": q[:, 1] / observed - 1.0,
            "inside_runs_90": (q[:, 0] <= observed) & (observed <= q[:, 2]),
            "observation_low": o[:, 0], "observation_high": o[:, 2],
            "inside_90": (o[:, 0] <= observed) & (observed <= o[:, 2]),
            "record_sigma": [t.record_sigma for t in later], "source": [t.source for t in later],
        }
    )  # fmt: skip
