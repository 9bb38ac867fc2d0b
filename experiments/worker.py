"""One run of a batch experiment, as executed by any executor (a module-level function, so
it pickles to process pools and Dask workers)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from huzhu.experiments.summaries import summarise_market, summarise_run
from huzhu.model.model import MutualAidModel

STATUS_OK = "ok"
STATUS_FAILED = "failed"


@dataclass(frozen=True)
class RunTask:
    """What one run needs: its identity, seed, parameters and what to keep.

    Attributes:
        run_id: Index of the run in the experiment (point * replications + replication).
        point: Design point.
        replication: Replication (0-based); the seed depends on it alone.
        seed: Model seed.
        preset: Parameter preset.
        params: Parameter overrides of the point.
        timeseries: Columns of the period table to keep (empty: none).
        summaries: End-of-run metrics to compute.
    """

    run_id: int
    point: int
    replication: int
    seed: int
    preset: str
    params: dict[str, Any]
    timeseries: tuple[str, ...]
    summaries: tuple[str, ...]


@dataclass
class RunOutcome:
    """A finished run, successful or not.

    Attributes:
        record: One row of the runs table (ids, seed, status, error, traceback, times, host).
        timeseries: Kept columns of the period table with `run_id` first (None if failed).
        summary: End-of-run metrics (empty if failed).
    """

    record: dict[str, Any]
    timeseries: pd.DataFrame | None = None
    summary: dict[str, float] = field(default_factory=dict)


def execute(task: RunTask) -> RunOutcome:
    """Run the model for one task; never raises, so one bad run cannot stop a sweep.

    An exception inside the model is caught and returned as a failed outcome with its
    message and traceback.
    """
    started_utc = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "run_id": task.run_id,
        "point": task.point,
        "replication": task.replication,
        "seed": task.seed,
        "status": STATUS_OK,
        "error": None,
        "traceback": None,
        "started_utc": started_utc.isoformat(timespec="seconds"),
        "wall_seconds": 0.0,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    try:
        model = MutualAidModel(preset=task.preset, rng=task.seed, **task.params)
        table = model.run()
        # The table's rows start at the modelled plan's launch (a market model starts earlier).
        announced_row = model.platform.announced_period - model.pool.launch_period
        summary = summarise_run(table, announced_row, task.summaries)
        summary.update(summarise_market(model, task.summaries))
        series = None
        if task.timeseries:
            series = table.loc[:, list(task.timeseries)]
            series.insert(0, "run_id", task.run_id)
    except Exception as error:  # a failed run is data: recorded, and the sweep goes on
        record.update(
            status=STATUS_FAILED,
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(),
            wall_seconds=time.perf_counter() - started,
        )
        return RunOutcome(record)
    record["wall_seconds"] = time.perf_counter() - started
    return RunOutcome(record, series, summary)
