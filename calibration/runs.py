"""One model run for calibration and forecasts (module level, so it pickles to process
pools and Dask workers)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from huzhu.model.model import MutualAidModel


@dataclass(frozen=True)
class RunRequest:
    """A candidate's replication.

    Attributes:
        key: The caller's label (candidate, replication), returned with the table.
        seed: Model seed (common random numbers: the same for every candidate).
        preset: Parameter preset.
        params: Parameter values on top of the preset.
        until: Last date to simulate (the run stops after the period holding it); None,
            or a date on or after the closure date: to closure and settlement.
    """

    key: tuple
    seed: int
    preset: str
    params: dict[str, Any] = field(default_factory=dict)
    until: dt.date | None = None


def run_request(request: RunRequest) -> tuple[tuple, pd.DataFrame]:
    """Run the model for `request`; return its key and period table."""
    model = MutualAidModel(preset=request.preset, rng=request.seed, **request.params)
    to_the_end = request.until is None or request.until >= model.params["closure_date"]
    last = None if to_the_end else model.calendar.period_of(request.until)
    while model.running and (last is None or model.period <= last):
        model.step()
    return request.key, model.results()
