"""Run a batch experiment: every design point times every replication, on any executor,
into a resumable output folder (`huzhu sweep`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from huzhu.experiments.designs import build_design, point_parameters
from huzhu.experiments.executors import make_executor
from huzhu.experiments.experiment_file import Experiment
from huzhu.experiments.provenance import environment
from huzhu.experiments.seeding import replication_seeds
from huzhu.experiments.store import ExperimentFolder, utc_now
from huzhu.experiments.worker import STATUS_FAILED, STATUS_OK, RunOutcome, RunTask, execute

FLUSH_SECONDS = 5.0  # a killed sweep redoes at most this much finished work
FLUSH_RUNS = 256  # and never holds more than this many finished runs in memory


@dataclass(frozen=True)
class SweepReport:
    """What a sweep did.

    Attributes:
        out_dir: The output folder.
        total: Runs in the experiment.
        ran: Runs executed in this call.
        failed: Runs of this call that failed.
        skipped: Runs already finished before this call.
        wall_seconds: Time of this call (s).
        failed_in_folder: Runs of the folder whose latest attempt failed, after this call.
    """

    out_dir: Path
    total: int
    ran: int
    failed: int
    skipped: int
    wall_seconds: float
    failed_in_folder: int = 0


def experiment_tasks(experiment: Experiment, design: pd.DataFrame) -> list[RunTask]:
    """Every run of the experiment in run_id order: point-major, replication-minor.

    Replication k uses the same seed at every point (common random numbers).
    """
    return list(iter_experiment_tasks(experiment, design))


def iter_experiment_tasks(
    experiment: Experiment, design: pd.DataFrame, skip: frozenset[int] | set[int] = frozenset()
) -> Iterator[RunTask]:
    """The runs of `experiment_tasks` one at a time, leaving out the run_ids in `skip`
    (a sweep never holds a task per run in memory)."""
    seeds = replication_seeds(experiment.seed, experiment.replications)
    for point in design.to_dict("records"):
        preset, params = point_parameters(experiment, point)
        for replication, seed in enumerate(seeds):
            run_id = int(point["point"]) * experiment.replications + replication
            if run_id in skip:
                continue
            yield RunTask(
                run_id=run_id,
                point=int(point["point"]),
                replication=replication,
                seed=seed,
                preset=preset,
                params=params,
                timeseries=experiment.timeseries,
                summaries=experiment.summaries,
            )


def experiment_manifest(experiment: Experiment, design: pd.DataFrame) -> dict:
    """The manifest content fixed when the folder is created."""
    return {
        "experiment": {
            "name": experiment.name,
            "description": experiment.description,
            "file": str(experiment.source) if experiment.source else None,
            "design": experiment.design.get("kind"),
            "design_settings": {k: v for k, v in experiment.design.items() if k not in ("kind", "points")},
            "factors": [f.name for f in experiment.factors],
            "preset": experiment.preset,
            "base": experiment.base,
            "timeseries": list(experiment.timeseries),
            "summaries": list(experiment.summaries),
            "sensitivity": experiment.sensitivity,
        },
        "fingerprint": experiment.fingerprint(design),
        "seed": experiment.seed,
        "replications": experiment.replications,
        "replication_seeds": replication_seeds(experiment.seed, experiment.replications),
        "points": len(design),
        "runs": len(design) * experiment.replications,
        "created_utc": utc_now(),
        **environment(),
    }


def run_experiment(
    experiment: Experiment,
    out_dir: str | Path,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
) -> SweepReport:
    """Run (or resume) an experiment into `out_dir`.

    Finished runs already in the folder are skipped; failed ones are run again only with
    `retry_failed`. A run that raises is recorded with its traceback and the sweep goes on.

    Args:
        experiment: A validated experiment (`load_experiment`).
        out_dir: Output folder (created, or resumed if it holds this experiment).
        executor: "sequential", "processes" or "dask".
        workers: Worker processes of the "processes" executor (default: available CPUs).
        scheduler: Dask scheduler address (implies the dask executor).
        dask_local: Start a Dask LocalCluster with this many workers.
        retry_failed: Run failed runs again.
        progress: Show a progress bar (runs done, failures, time left).

    Raises:
        ExperimentFileError: If a design point is invalid (before anything runs).
        ResultFolderError: If `out_dir` holds another experiment or a corrupt part.
    """
    started = time.perf_counter()
    design = build_design(experiment)
    total = len(design) * experiment.replications
    runner = make_executor(executor, workers, scheduler, dask_local)
    try:
        folder = ExperimentFolder.open_for_writing(
            out_dir, experiment_manifest(experiment, design), experiment.text, design
        )
    except BaseException:
        runner.close()
        raise
    try:
        records = folder.run_records()
        finished = set(records.loc[records["status"] == STATUS_OK, "run_id"])
        tried = set(records["run_id"])
        skip = finished if retry_failed else tried
        todo = iter_experiment_tasks(experiment, design, skip)
        session = {
            "started_utc": utc_now(),
            "executor": runner.name,
            "workers": runner.workers,
            "runs": total - len(skip),
        }
        sessions = [*folder.manifest.get("sessions", []), session]
        folder.update_manifest(sessions=sessions)
        counts = {"ran": 0, "failed": 0}
        try:
            with tqdm(
                total=total,
                initial=len(skip),
                unit="run",
                desc=experiment.name,
                disable=not progress,
                # In a batch log (no terminal) a line every half minute, not a redrawn bar.
                mininterval=0.5 if sys.stderr.isatty() else 30.0,
                smoothing=0.1,
            ) as bar:

                def commit(batch: list[RunOutcome]) -> None:
                    folder.write_batch(batch)
                    counts["ran"] += len(batch)
                    counts["failed"] += sum(o.record["status"] == STATUS_FAILED for o in batch)
                    bar.update(len(batch))
                    bar.set_postfix(failed=counts["failed"], refresh=False)

                _commit_in_batches(runner.map_unordered(execute, todo, on_lost=_lost_worker), commit)
            session["status"] = "finished"
        except BaseException:
            session["status"] = "interrupted"
            raise
        finally:
            runner.close()
            session.update(ended_utc=utc_now(), **counts)
            folder.update_manifest(sessions=sessions)
        records = folder.run_records()
        failed_in_folder = int((records["status"] != STATUS_OK).sum())
    finally:
        folder.close()
    return SweepReport(
        Path(out_dir),
        total,
        counts["ran"],
        counts["failed"],
        len(skip),
        time.perf_counter() - started,
        failed_in_folder,
    )


def _commit_in_batches(outcomes: Iterator[RunOutcome], commit: Callable[[list[RunOutcome]], None]) -> None:
    """Commit finished runs every FLUSH_SECONDS or FLUSH_RUNS runs, and what is left at the
    end, also when the sweep is interrupted (finished work is kept)."""
    batch: list[RunOutcome] = []
    last_commit = time.monotonic()
    try:
        for outcome in outcomes:
            batch.append(outcome)
            if len(batch) >= FLUSH_RUNS or time.monotonic() - last_commit >= FLUSH_SECONDS:
                # Taken out first: a batch interrupted while written is redone, never written twice.
                pending, batch = batch, []
                commit(pending)
                last_commit = time.monotonic()
    finally:
        if batch:
            commit(batch)


def _lost_worker(task: RunTask, error: BaseException) -> RunOutcome:
    """A run whose worker died is recorded as failed (rerun with --retry-failed)."""
    return RunOutcome(
        {
            "run_id": task.run_id,
            "point": task.point,
            "replication": task.replication,
            "seed": task.seed,
            "status": STATUS_FAILED,
            "error": f"worker lost: {type(error).__name__}: {error}",
            "traceback": None,
            "started_utc": None,
            "wall_seconds": float("nan"),
            "host": None,
            "pid": None,
        }
    )
