"""Runs of the near-best parameter sets: the fit to the data and the forecast beyond it.

Each near-best set runs R replications (the calibration's seeds); prediction intervals
are the 5% and 95% quantiles over all those runs, so they hold both the parameter
uncertainty and the run-to-run noise. A forecast reads no observation: it is the model
run forward under the known rule calendar (caps by year, the closure dates), which are
parameters of the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from huzhu.calibration.calibrate import CalibrationSettings
from huzhu.calibration.runs import RunRequest, run_request
from huzhu.calibration.targets import Target, fit_table, run_values
from huzhu.experiments.executors import SequentialExecutor
from huzhu.experiments.seeding import replication_seeds

QUANTILES = (0.05, 0.5, 0.95)
PERIOD_QUANTITIES = ("members", "share_per_member", "claims", "cumulative_aided", "fee_revenue", "platform_subsidy")
YEAR_QUANTITIES = {
    "share_per_member_per_year": "share_per_member",
    "aided_in_year": "claims",
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


def period_forecast(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Per period and quantity: the 5%, 50% and 95% quantiles over the runs."""
    runs = pd.concat(tables, ignore_index=True)
    rows = []
    for quantity in PERIOD_QUANTITIES:
        grouped = runs.groupby(["period", "date"])[quantity]
        q = grouped.quantile(list(QUANTILES)).unstack()
        q.columns = ["low", "median", "high"]
        rows.append(q.reset_index().assign(quantity=quantity))
    return pd.concat(rows, ignore_index=True)[["period", "date", "quantity", "median", "low", "high"]]


def year_forecast(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Per calendar year and yearly quantity: the 5%, 50% and 95% quantiles over the runs."""
    runs = pd.concat(tables, ignore_index=True)
    runs["year"] = pd.to_datetime(runs["date"]).dt.year
    sums = runs.groupby(["set", "replication", "year"])[list(set(YEAR_QUANTITIES.values()))].sum().reset_index()
    rows = []
    for name, column in YEAR_QUANTITIES.items():
        q = sums.groupby("year")[column].quantile(list(QUANTILES)).unstack()
        q.columns = ["low", "median", "high"]
        rows.append(q.reset_index().assign(quantity=name))
    return pd.concat(rows, ignore_index=True)[["year", "quantity", "median", "low", "high"]]
