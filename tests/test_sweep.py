"""Batch experiments: every executor gives the same runs, a killed or failing sweep resumes
without losses or duplicates, and a folder that is not this experiment's is left as it is."""

from __future__ import annotations

import contextlib
import fcntl
import io
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal
from scipy import stats

import huzhu.experiments.executors as executors
import huzhu.experiments.store as store
import huzhu.experiments.sweep as sweep
import huzhu.experiments.worker as worker
from huzhu import MutualAidModel
from huzhu.cli import main
from huzhu.experiments.designs import build_design
from huzhu.experiments.executors import ProcessExecutor
from huzhu.experiments.experiment_file import Experiment, load_experiment
from huzhu.experiments.results import ExperimentResults, load
from huzhu.experiments.seeding import replication_seed
from huzhu.experiments.store import ResultFolderError
from huzhu.experiments.summaries import summarise_run
from huzhu.experiments.sweep import experiment_tasks, run_experiment
from huzhu.model.model import REPORTED_COLUMNS

SEED = 11
REPLICATIONS = 3
FEES = (0.0, 0.08)
RUNS = len(FEES) * REPLICATIONS
RUNS_PER_PART = 2  # the reference sweep commits every two runs: parts 1, 2 and 3
PART_FOLDERS = ("runs", "timeseries", "summaries")
VOLATILE = ["started_utc", "wall_seconds", "host", "pid"]  # where and when, not what

EXPERIMENT = """\
name = "{name}"
description = "Fee rate and the pool, at toy scale"
seed = {seed}
replications = {replications}

[base]
n_agents = 2000

[factors.fee_rate]
values = {fees}

[outputs]
timeseries = ["members", "share_per_member", "fee_revenue"]
summaries = ["peak_members", "total_fee_revenue", "total_payouts"]
"""


def write_experiment(
    folder: Path, name: str = "fees", seed: int = SEED, replications: int = REPLICATIONS, fees=FEES
) -> Path:
    path = folder / f"{name}.toml"
    text = EXPERIMENT.format(name=name, seed=seed, replications=replications, fees=list(fees))
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Reference:
    """A finished, uninterrupted sequential sweep of the small experiment (read only)."""

    file: Path
    experiment: Experiment
    folder: Path
    results: ExperimentResults


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Reference:
    root = tmp_path_factory.mktemp("small")
    file = write_experiment(root)
    experiment = load_experiment(file)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sweep, "FLUSH_RUNS", RUNS_PER_PART)  # several parts, as a longer sweep writes
        report = run_experiment(experiment, root / "out", executor="sequential", progress=False)
    assert (report.total, report.ran, report.failed, report.skipped) == (RUNS, RUNS, 0, 0)
    assert [p.name for p in sorted((root / "out" / "runs").iterdir())] == [
        "part-000001.parquet",
        "part-000002.parquet",
        "part-000003.parquet",
    ]
    return Reference(file, experiment, root / "out", load(root / "out"))


def copy_of(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


def snapshot(folder: Path, subs=(".",)) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder under `folder`/sub."""
    found = {}
    for sub in subs:
        for path in sorted((folder / sub).rglob("*")):
            found[str(path.relative_to(folder))] = path.read_bytes() if path.is_file() else None
    return found


def comparable(results: ExperimentResults) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    runs = results.runs.drop(columns=VOLATILE).sort_values("run_id").reset_index(drop=True)
    summaries = results.summaries.sort_values("run_id").reset_index(drop=True)
    timeseries = results.timeseries.sort_values(["run_id", "period"]).reset_index(drop=True)
    return runs, summaries, timeseries


def assert_same_results(results: ExperimentResults, expected: ExperimentResults) -> None:
    assert_frame_equal(results.design, expected.design)
    for got, want in zip(comparable(results), comparable(expected), strict=True):
        assert_frame_equal(got, want, check_exact=True)


def assert_each_run_once(results: ExperimentResults, total: int) -> None:
    """Every run exactly once, finished, with one summary row and all its periods once."""
    everyone = list(range(total))
    assert sorted(results.runs["run_id"]) == everyone
    assert (results.runs["status"] == "ok").all()
    assert sorted(results.summaries["run_id"]) == everyone
    periods = results.timeseries.groupby("run_id")["period"]
    assert list(periods.size().index) == everyone
    assert periods.size().nunique() == 1
    assert (periods.nunique() == periods.size()).all()


def on_disk(out: Path, sub: str) -> pd.DataFrame:
    """Every row of every part file of a sub-folder, whatever `load` would keep."""
    parts = sorted((out / sub).glob("part-*.parquet"))
    return pd.concat([pq.read_table(part).to_pandas() for part in parts], ignore_index=True)


def assert_stored_once(out: Path, total: int) -> None:
    """No run was written twice: each run once in the part files, each of its periods once."""
    everyone = list(range(total))
    assert sorted(on_disk(out, "runs")["run_id"]) == everyone
    assert sorted(on_disk(out, "summaries")["run_id"]) == everyone
    series = on_disk(out, "timeseries")
    assert sorted(series["run_id"].unique()) == everyone
    assert not series.duplicated(["run_id", "period"]).any()


def sweep_args(file: Path, out: Path, *extra: str, executor: str = "sequential") -> list[str]:
    return ["sweep", str(file), "--out", str(out), "--executor", executor, "--quiet", *extra]


def refusal(out: Path, experiment: Experiment) -> str:
    """The message of a refused resume (its traceback is dropped before returning)."""
    try:
        run_experiment(experiment, out, executor="sequential", progress=False)
    except ResultFolderError as error:
        return str(error)
    raise AssertionError(f"resuming {out} was not refused")


# ------------------------------------------------------------------ executors


@pytest.mark.parametrize("executor, options", [("processes", {"workers": 2}), ("dask", {"dask_local": 2})])
def test_every_executor_gives_the_same_runs_summaries_and_timeseries(small, tmp_path, executor, options):
    out = tmp_path / executor
    report = run_experiment(small.experiment, out, executor=executor, progress=False, **options)
    assert (report.ran, report.failed) == (RUNS, 0)
    results = load(out)
    session = results.manifest["sessions"][-1]
    assert (session["executor"], session["workers"], session["status"]) == (executor, 2, "finished")
    # The reference ran in this process, these runs elsewhere.
    assert set(small.results.runs["pid"]) == {os.getpid()}
    assert os.getpid() not in set(results.runs["pid"])
    assert_same_results(results, small.results)


def test_a_sweep_on_an_existing_dask_cluster_given_by_its_address_gives_the_same_results(small, tmp_path):
    from distributed import LocalCluster

    # Stands for a cluster started elsewhere (dask-jobqueue on SLURM): only its address is passed.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = tmp_path / "scheduler"
        assert main(sweep_args(small.file, out, "--scheduler", cluster.scheduler_address, executor="dask")) == 0
    results = load(out)
    assert results.manifest["sessions"][-1]["executor"] == "dask"
    assert os.getpid() not in set(results.runs["pid"])
    assert_same_results(results, small.results)


def test_an_unreachable_dask_scheduler_is_a_clear_error_and_writes_nothing(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(executors, "SCHEDULER_CONNECT_TIMEOUT", "2s")
    out = tmp_path / "unreachable"
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    args = sweep_args(small.file, out, "--scheduler", "tcp://127.0.0.1:9", executor="dask")
    assert main(args) == 2
    said = capsys.readouterr().err
    assert "cannot reach the Dask scheduler 'tcp://127.0.0.1:9'" in said and "Traceback" not in said
    assert not out.exists()


def test_a_run_of_the_sweep_is_the_model_run_with_its_seed_and_parameters(small):
    tasks = experiment_tasks(small.experiment, build_design(small.experiment))
    assert [t.run_id for t in tasks] == list(range(RUNS))
    task = tasks[-1]
    assert (task.point, task.replication) == (1, REPLICATIONS - 1)
    assert task.params == {"n_agents": 2000, "fee_rate": 0.08}
    # Common random numbers: replication k has the same seed at every point.
    assert task.seed == tasks[REPLICATIONS - 1].seed == replication_seed(SEED, REPLICATIONS - 1)
    assert small.results.runs.set_index("run_id").loc[task.run_id, "seed"] == task.seed

    model = MutualAidModel(preset=task.preset, rng=task.seed, **task.params)
    table = model.run()
    kept = list(small.experiment.timeseries)
    swept = small.results.timeseries[small.results.timeseries["run_id"] == task.run_id]
    swept = swept[kept].reset_index(drop=True)
    direct = table[kept].astype({"date": swept["date"].dtype})  # Parquet keeps dates in ms, the model in s
    assert_frame_equal(swept, direct, check_exact=True)
    summary = small.results.summaries.set_index("run_id").loc[task.run_id, list(small.experiment.summaries)]
    assert summary.to_dict() == summarise_run(table, model.platform.announced_period, small.experiment.summaries)


def test_a_run_whose_worker_process_dies_is_reported_lost_and_the_pool_goes_on():
    executor = ProcessExecutor(workers=1, in_flight=1)
    # raise_signal(SIGWINCH) returns (ignored by default); raise_signal(SIGKILL) kills the worker.
    tasks = [signal.SIGWINCH, signal.SIGKILL, signal.SIGWINCH]
    try:
        outcomes = list(executor.map_unordered(signal.raise_signal, tasks, on_lost=lambda task, error: ("lost", task)))
    finally:
        executor.close()
    assert outcomes == [None, ("lost", signal.SIGKILL), None]


# ------------------------------------------------------------------ resuming


def test_rerunning_a_finished_sweep_runs_nothing_and_changes_no_result(small, tmp_path):
    out = copy_of(small.folder, tmp_path)
    parts = snapshot(out, PART_FOLDERS)
    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert (report.total, report.ran, report.failed, report.skipped) == (RUNS, 0, 0, RUNS)
    assert snapshot(out, PART_FOLDERS) == parts
    results = load(out)
    assert_same_results(results, small.results)
    sessions = results.manifest["sessions"]
    assert len(sessions) == 2
    assert (sessions[-1]["runs"], sessions[-1]["ran"], sessions[-1]["status"]) == (0, 0, "finished")


@pytest.mark.parametrize(
    "overrides",
    [{"seed": SEED + 1}, {"replications": REPLICATIONS - 1}, {"base": {"n_agents": 2500}}],
    ids=["seed", "replications", "base"],
)
def test_a_folder_holding_another_experiment_is_refused_and_left_as_it_is(small, tmp_path, overrides):
    out = copy_of(small.folder, tmp_path)
    before = snapshot(out)
    other = load_experiment(small.file, overrides)
    with pytest.raises(ResultFolderError, match="holds the results of another experiment"):
        run_experiment(other, out, executor="sequential", progress=False)
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("notes.txt", b"my notes", "not empty and holds no experiment"),
        ("manifest.json", b'{"format": "something else"}', "not the manifest of a huzhu experiment"),
        ("manifest.json", b"{not json", "cannot be read as JSON"),
    ],
    ids=["other file", "other manifest", "broken manifest"],
)
def test_a_folder_that_is_not_an_experiment_is_refused_and_left_as_it_is(small, tmp_path, name, content, words):
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_bytes(content)
    before = snapshot(out)
    with pytest.raises(ResultFolderError, match=words):
        run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert snapshot(out) == before


@pytest.mark.parametrize("sub", PART_FOLDERS)
def test_a_corrupt_part_is_named_by_load_and_by_resume_and_nothing_is_changed(small, tmp_path, sub):
    out = copy_of(small.folder, tmp_path)
    part = out / sub / "part-000002.parquet"
    part.write_bytes(b"PAR1 these are not the bytes of a Parquet file")
    before = snapshot(out)
    with pytest.raises(ResultFolderError, match=re.escape(str(part))):
        load(out)
    with pytest.raises(ResultFolderError, match=re.escape(str(part))):
        run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert snapshot(out) == before


@pytest.mark.parametrize("sub", PART_FOLDERS)
def test_moving_a_corrupt_part_away_as_the_error_says_reruns_its_runs(small, tmp_path, sub):
    out = copy_of(small.folder, tmp_path)
    part = out / sub / "part-000002.parquet"
    part.write_bytes(b"not Parquet")
    assert "move that part away and the same command reruns its runs" in refusal(out, small.experiment)
    part.rename(tmp_path / "moved-away.parquet")
    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert report.ran == RUNS_PER_PART
    results = load(out)
    assert_each_run_once(results, RUNS)
    assert_same_results(results, small.results)


def test_a_resume_refused_for_a_corrupt_part_does_not_keep_the_folder_locked(small, tmp_path):
    out = copy_of(small.folder, tmp_path)
    part = out / "runs" / "part-000002.parquet"
    good = part.read_bytes()
    part.write_bytes(b"not Parquet")
    with pytest.raises(ResultFolderError) as refused:
        run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert str(part) in str(refused.value)
    # The part is put back in the session that saw the error; a notebook keeps that error's
    # traceback (sys.last_traceback) alive just as `refused` does here.
    part.write_bytes(good)
    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert (report.ran, report.skipped) == (0, RUNS)


def test_a_folder_being_written_by_another_sweep_is_refused(small, tmp_path):
    out = copy_of(small.folder, tmp_path)
    before = snapshot(out)
    with open(out / store.LOCK_FILE, "a") as other_sweep:
        fcntl.flock(other_sweep, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ResultFolderError, match="being written by another sweep"):
            run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert snapshot(out) == before
    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert report.skipped == RUNS


# ------------------------------------------------------------------ killed sweeps


def wait_for_first_commit(out: Path, process: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None or any((out / "runs").glob("part-*.parquet")):
            return
        time.sleep(0.01)
    raise AssertionError(f"no runs part in {out} after {timeout} s")


def test_a_killed_sweep_resumes_without_duplicates_or_losses(tmp_path, capsys):
    # 64 runs take longer on 2 workers than the 5 s until the first commit: the kill lands mid-sweep.
    total = 64
    file = write_experiment(tmp_path, name="killed", seed=5, replications=16, fees=(0.0, 0.04, 0.08, 0.15))
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "huzhu", *sweep_args(file, out, "--workers", "2", executor="processes")]
    with ThreadPoolExecutor(1) as background, open(tmp_path / "sweep.log", "wb") as log:
        process = subprocess.Popen(command, start_new_session=True, stdout=log, stderr=log)
        try:
            # The uninterrupted sequential sweep to compare with, computed meanwhile.
            reference = background.submit(
                run_experiment, load_experiment(file), tmp_path / "reference", executor="sequential", progress=False
            )
            wait_for_first_commit(out, process)
        finally:
            if process.poll() is None:
                # The sweep, its workers and their resource tracker: a process group of their own.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL, (
            f"the sweep ended by itself ({process.returncode}) before it could be killed: "
            f"{(tmp_path / 'sweep.log').read_text()}"
        )

        # What the kill left: committed runs, each once with all its data.
        partial = load(out)
        done = len(partial.runs)
        assert 0 < done < total
        assert partial.runs["run_id"].is_unique
        assert (partial.runs["status"] == "ok").all()
        assert sorted(partial.summaries["run_id"]) == sorted(partial.runs["run_id"])
        assert sorted(set(partial.timeseries["run_id"])) == sorted(partial.runs["run_id"])

        capsys.readouterr()
        assert main(command[3:]) == 0  # the same command again
        assert f": {total - done} runs in " in capsys.readouterr().out
        assert reference.result().ran == total

    assert_stored_once(out, total)
    results = load(out)
    assert_each_run_once(results, total)
    assert_same_results(results, load(tmp_path / "reference"))


def test_data_parts_of_a_batch_killed_before_its_commit_are_redone_once(small, tmp_path):
    out = copy_of(small.folder, tmp_path)
    # Killed after writing the last batch's timeseries and summaries, while writing its runs part.
    (out / "runs" / "part-000003.parquet").unlink()
    for sub in PART_FOLDERS:
        (out / sub / ".part-000003.parquet.k1ll3d.tmp").write_bytes(b"half a Parquet file")
    assert (out / "summaries" / "part-000003.parquet").exists()

    partial = load(out)  # a reader sees the committed runs only
    committed = list(range(RUNS - RUNS_PER_PART))
    assert list(partial.runs["run_id"]) == committed
    assert list(partial.summaries["run_id"]) == committed
    assert sorted(set(partial.timeseries["run_id"])) == committed

    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert (report.ran, report.skipped) == (RUNS_PER_PART, RUNS - RUNS_PER_PART)
    assert list(out.rglob("*.tmp")) == []
    for sub in PART_FOLDERS:
        assert store.ExperimentFolder(out).part_numbers(sub) == [1, 2, 3]
    assert_stored_once(out, RUNS)
    results = load(out)
    assert_each_run_once(results, RUNS)
    assert_same_results(results, small.results)


@pytest.mark.parametrize(
    "where, name",
    [
        ("runs", ".part-000002.parquet.k1ll3d.tmp"),
        ("timeseries", ".part-000004.parquet.k1ll3d.tmp"),
        ("summaries", ".part-000004.parquet.k1ll3d.tmp"),
        (".", ".manifest.json.k1ll3d.tmp"),  # killed while updating the manifest
    ],
)
def test_resume_removes_the_temporary_files_a_kill_leaves(small, tmp_path, where, name):
    out = copy_of(small.folder, tmp_path)
    (out / where / name).write_bytes(b"half a file")
    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert report.ran == 0
    assert list(out.rglob("*.tmp")) == []
    assert_same_results(load(out), small.results)


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def test_a_sweep_killed_while_creating_its_folder_can_be_run_again(small, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_table = store.pq.write_table

    def killed_while_writing_the_design(table, where, *args, **kwargs) -> None:
        if Path(where).name == store.DESIGN_FILE:
            raise Killed
        write_table(table, where, *args, **kwargs)

    monkeypatch.setattr(store.pq, "write_table", killed_while_writing_the_design)
    with pytest.raises(Killed):
        run_experiment(small.experiment, out, executor="sequential", progress=False)
    monkeypatch.undo()
    # The folder is built aside and renamed into place: a kill leaves no half-made folder.
    assert not out.exists()

    report = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert report.ran == RUNS
    assert_same_results(load(out), small.results)


# ------------------------------------------------------------------ failed runs

FAILING_RUN = 1 * REPLICATIONS + 1  # fee 8%, replication 1
FAILURE = "claims ledger out of balance"


class FailsAtFeeEightPercentReplicationOne(MutualAidModel):
    def __init__(self, *, rng=None, **params):
        super().__init__(rng=rng, **params)
        self.fails = rng == replication_seed(SEED, 1) and self.params["fee_rate"] == 0.08

    def step(self) -> None:
        if self.fails and self.period == 3:
            raise RuntimeError(FAILURE)
        super().step()


@pytest.fixture(scope="module")
def with_a_failure(small, tmp_path_factory):
    """A sweep of the small experiment with one failing run: (folder, exit status, stdout, stderr)."""
    out = tmp_path_factory.mktemp("failed") / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        patch.setattr(worker, "MutualAidModel", FailsAtFeeEightPercentReplicationOne)
        status = main(sweep_args(small.file, out))
    return out, status, stdout.getvalue(), stderr.getvalue()


def test_a_failing_run_is_recorded_with_its_traceback_and_the_sweep_goes_on(small, with_a_failure):
    out, status, stdout, stderr = with_a_failure
    assert status == 1
    assert f"{RUNS} runs in" in stdout
    assert "(1 failed)" in stdout
    assert "--retry-failed" in stderr
    results = load(out)
    assert list(results.failed["run_id"]) == [FAILING_RUN]
    failed = results.failed.iloc[0]
    assert failed["status"] == "failed"
    assert failed["error"] == f"RuntimeError: {FAILURE}"
    assert f"raise RuntimeError(FAILURE)\nRuntimeError: {FAILURE}" in failed["traceback"]
    assert ", in step\n" in failed["traceback"]
    assert results.runs.loc[results.runs["run_id"] != FAILING_RUN, "status"].eq("ok").all()
    # The other runs are whole and untouched by the failure.
    others = [r for r in range(RUNS) if r != FAILING_RUN]
    assert list(results.summaries["run_id"]) == others
    assert sorted(set(results.timeseries["run_id"])) == others
    _, ref_summaries, ref_timeseries = comparable(small.results)
    _, summaries, timeseries = comparable(results)
    assert_frame_equal(summaries, ref_summaries[ref_summaries["run_id"] != FAILING_RUN].reset_index(drop=True))
    assert_frame_equal(timeseries, ref_timeseries[ref_timeseries["run_id"] != FAILING_RUN].reset_index(drop=True))


def test_retry_failed_reruns_only_the_failed_run_and_it_is_then_counted_once(small, with_a_failure, tmp_path, capsys):
    out = copy_of(with_a_failure[0], tmp_path)
    resumed = run_experiment(small.experiment, out, executor="sequential", progress=False)
    assert (resumed.ran, resumed.skipped) == (0, RUNS)  # a plain resume leaves failed runs alone
    assert resumed.failed_in_folder == 1
    assert list(load(out).failed["run_id"]) == [FAILING_RUN]
    # ... and still says so: a folder with failed runs is not a success.
    assert main(sweep_args(small.file, out)) == 1

    capsys.readouterr()
    assert main(sweep_args(small.file, out, "--retry-failed")) == 0
    said = capsys.readouterr().out
    assert ": 1 runs in " in said
    assert f"(0 failed), {RUNS - 1} already done, {RUNS} in all" in said
    # Both attempts are on disk, and load keeps the latest.
    assert sorted(on_disk(out, "runs")["run_id"]) == sorted([*range(RUNS), FAILING_RUN])
    results = load(out)
    assert results.failed.empty
    assert_each_run_once(results, RUNS)
    assert_same_results(results, small.results)


# ------------------------------------------------------------------ reading results


def test_load_gives_one_row_per_run_and_summaries_and_periods_with_the_factors_joined(small):
    results = small.results
    assert results.factors == ["fee_rate"]
    runs = results.runs
    assert list(runs["run_id"]) == list(range(RUNS))
    assert list(runs["point"]) == [p for p in range(len(FEES)) for _ in range(REPLICATIONS)]
    assert list(runs["fee_rate"]) == [f for f in FEES for _ in range(REPLICATIONS)]
    assert list(runs["seed"]) == [replication_seed(SEED, k) for _ in FEES for k in range(REPLICATIONS)]
    assert runs["status"].eq("ok").all() and runs["error"].isna().all()

    ids = ["run_id", "point", "replication", "seed", "fee_rate"]
    assert list(results.summaries.columns) == [*ids, *small.experiment.summaries]
    assert list(results.summaries["run_id"]) == list(range(RUNS))
    periods = MutualAidModel(n_agents=2000).n_periods
    assert list(results.timeseries.columns) == [*ids, *small.experiment.timeseries]
    assert len(results.timeseries) == RUNS * periods
    assert results.timeseries.groupby("run_id")["period"].apply(list).map(lambda p: p == list(range(periods))).all()


def test_statistics_and_paired_differences_summarise_the_replications(small):
    results = small.results
    statistics = results.statistics()
    assert len(statistics) == len(FEES) * len(small.experiment.summaries)
    assert (statistics["n"] == REPLICATIONS).all()
    assert (statistics["ci_low"] <= statistics["mean"]).all() and (statistics["mean"] <= statistics["ci_high"]).all()
    # Student's t over the replications, by hand.
    payouts = results.summaries.groupby("point")["total_payouts"]
    half = stats.t.ppf(0.975, REPLICATIONS - 1) * payouts.std(ddof=1) / np.sqrt(REPLICATIONS)
    row = statistics[statistics["metric"] == "total_payouts"].set_index("point").sort_index()
    np.testing.assert_allclose(row["mean"], payouts.mean(), rtol=1e-12)
    np.testing.assert_allclose(row["ci_low"], payouts.mean() - half, rtol=1e-12)
    np.testing.assert_allclose(row["ci_high"], payouts.mean() + half, rtol=1e-12)
    assert (half > 0).all()

    differences = results.paired_differences(baseline=0)
    at_baseline = differences[differences["point"] == 0]
    assert len(at_baseline) == len(small.experiment.summaries)
    assert (at_baseline[["mean", "sd", "ci_low", "ci_high"]] == 0).all().all()
    # At the other point: the mean of the differences within each replication.
    fees = results.summaries.pivot(index="replication", columns="point", values="total_fee_revenue")
    revenue = differences[(differences["point"] == 1) & (differences["metric"] == "total_fee_revenue")]
    assert revenue["n"].item() == REPLICATIONS
    assert revenue["mean"].item() == pytest.approx((fees[1] - fees[0]).mean(), rel=1e-12)
    assert revenue["mean"].item() > 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("progress", [True, False])
def test_the_progress_bar_counts_runs_when_asked(small, tmp_path, monkeypatch, progress):
    out = copy_of(small.folder, tmp_path)
    (out / "runs" / "part-000003.parquet").unlink()  # two runs left to do
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    report = run_experiment(small.experiment, out, executor="sequential", progress=progress)
    assert report.ran == RUNS_PER_PART
    shown = terminal.getvalue()
    if progress:
        assert f"{RUNS}/{RUNS}" in shown
        assert "run" in shown and small.experiment.name in shown
    else:
        assert shown == ""


# ------------------------------------------------------------------ command line


@pytest.mark.parametrize(
    "mistake, correction, field, line_start",
    [
        ("values = [0.0, 0.08]", "values = [0.0, 1.5]", "factors.fee_rate.values", "values ="),
        ('"fee_revenue"]', '"fee_revenues"]', "outputs.timeseries", "timeseries ="),
        ("n_agents = 2000", "n_agents = 2000\nfee_rate = 0.1", "factors.fee_rate", "[factors.fee_rate]"),
    ],
    ids=["value out of range", "unknown column", "factor also in base"],
)
def test_sweep_of_a_malformed_file_exits_2_naming_the_field_and_its_line_without_a_traceback(
    tmp_path, capsys, mistake, correction, field, line_start
):
    file = write_experiment(tmp_path)
    text = file.read_text().replace(mistake, correction)
    file.write_text(text)
    out = tmp_path / "out"
    assert main(sweep_args(file, out)) == 2  # returned, not raised
    line = next(n for n, content in enumerate(text.splitlines(), start=1) if content.startswith(line_start))
    error = capsys.readouterr().err
    assert f"{file}, line {line}: {field}: " in error
    assert "Traceback" not in error
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, words",
    [(("--dask-local", "2"), "need the dask executor"), (("--workers", "0"), "workers=0")],
)
def test_sweep_with_invalid_executor_options_exits_2_and_writes_nothing(small, tmp_path, capsys, extra, words):
    out = tmp_path / "out"
    assert main(sweep_args(small.file, out, *extra)) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_report_writes_a_summary_and_figures_of_an_experiment_folder(small, tmp_path, capsys):
    out = copy_of(small.folder, tmp_path)
    assert main(["report", str(out)]) == 0
    report = out / "report"
    summary = (report / "summary.md").read_text()
    assert "# Experiment `fees`" in summary
    assert f"runs: {RUNS} finished, 0 failed, 0 not run" in summary
    assert "fee_rate=0.08" in summary
    statistics = pd.read_csv(report / "statistics.csv")
    assert len(statistics) == len(FEES) * len(small.experiment.summaries)
    for figure in ("summaries.png", "summaries.pdf", "timeseries.png", "timeseries.pdf"):
        assert (report / figure).stat().st_size > 5_000, figure
    assert str(report / "summary.md") in capsys.readouterr().out


def test_report_on_a_folder_that_is_not_an_experiment_exits_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an experiment")
    assert main(["report", str(tmp_path)]) == 2
    assert "manifest.json is missing" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


# ------------------------------------------------------------------ Mesa's batch runner


@pytest.fixture
def start_method_restored():
    """mesa.batch_run sets the multiprocessing start method of the whole process."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_mesa_batch_run_runs_the_model_once_per_parameter_combination_and_seed(start_method_restored):
    rows = mesa.batch_run(
        MutualAidModel,
        parameters={"n_agents": 1000, "fee_rate": [0.0, 0.08]},
        rng=[1, 2],
        max_steps=200,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert sorted((row["fee_rate"], row["rng"]) for row in rows) == [(0.0, 1), (0.0, 2), (0.08, 1), (0.08, 2)]
    for row in rows:
        assert row["n_agents"] == 1000
        last = MutualAidModel(n_agents=1000, fee_rate=row["fee_rate"], rng=row["rng"]).run().iloc[-1]
        for column in REPORTED_COLUMNS:
            np.testing.assert_equal(row[column], last[column], err_msg=column)
    # The last period differs between seeds, so the comparison above says something.
    assert len({row["consider_rate_nonmembers"] for row in rows}) > 1
