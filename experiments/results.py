"""Reading an experiment folder back: tidy DataFrames and statistics across replications.

>>> import huzhu.experiments as hx
>>> results = hx.load("results/fee_policies")
>>> results.summaries.groupby("fee_rate")["total_fee_revenue"].mean()
>>> results.statistics("peak_members")          # mean and 95% interval per point
>>> results.paired_differences("peak_members", baseline=0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from huzhu.experiments.designs import POINT, UNIT_PREFIX
from huzhu.experiments.store import (
    DESIGN_FILE,
    RUNS_DIR,
    SUMMARIES_DIR,
    TIMESERIES_DIR,
    ExperimentFolder,
    ResultFolderError,
    read_part,
)
from huzhu.experiments.worker import STATUS_OK


@dataclass
class ExperimentResults:
    """The contents of an experiment folder.

    Attributes:
        path: The folder.
        manifest: The manifest (experiment, fingerprint, seeds, environment, sessions).
        design: One row per design point: `point`, `label` and the factor values.
        runs: One row per run (latest attempt): ids, seed, status, error, traceback,
            wall time, joined with the design point's factor values.
        summaries: One row per successful run: ids, factor values, end-of-run metrics.
        timeseries: One row per successful run and period: ids, factor values, the kept
            period columns (empty when the experiment kept none).
    """

    path: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    runs: pd.DataFrame
    summaries: pd.DataFrame
    timeseries: pd.DataFrame

    @property
    def factors(self) -> list[str]:
        """Names of the design's factor columns (label and unit coordinates excluded)."""
        return [c for c in self.design.columns if c not in (POINT, "label") and not c.startswith(UNIT_PREFIX)]

    @property
    def failed(self) -> pd.DataFrame:
        """Runs whose latest attempt failed, with their errors."""
        return self.runs[self.runs["status"] != STATUS_OK]

    def statistics(self, metrics: str | list[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Mean, standard deviation and confidence interval of summaries per design point.

        The interval is Student's t over replications (mean +/- t * sd / sqrt(n)).

        Args:
            metrics: Summary name(s); None for all kept summaries.
            confidence: Confidence level of the interval.

        Returns:
            One row per (point, metric): point, label, factor values, metric, n, mean, sd,
            ci_low, ci_high.
        """
        return _statistics(self.summaries, self._metric_names(metrics), confidence, self.design, self.factors)

    def paired_differences(
        self, metrics: str | list[str] | None = None, baseline: int = 0, confidence: float = 0.95
    ) -> pd.DataFrame:
        """Differences from a baseline point, paired by replication (common random numbers).

        Replication k has the same seed at every point, so the difference of point p and
        the baseline within replication k removes most of the run-to-run noise.

        Args:
            metrics: Summary name(s); None for all.
            baseline: The design point compared against.
            confidence: Confidence level of the interval.

        Returns:
            One row per (point, metric) like `statistics`, of the paired differences.
        """
        names = self._metric_names(metrics)
        if baseline not in set(self.design[POINT]):
            raise ValueError(f"baseline point {baseline} is not in the design (0..{len(self.design) - 1})")
        base = self.summaries[self.summaries[POINT] == baseline].set_index("replication")[names]
        frames = []
        for point, group in self.summaries.groupby(POINT):
            paired = group.set_index("replication")[names] - base
            frame = paired.dropna(how="all").reset_index()
            frame[POINT] = point
            frames.append(frame)
        differences = pd.concat(frames, ignore_index=True) if frames else self.summaries.iloc[:0]
        return _statistics(differences, names, confidence, self.design, self.factors)

    def _metric_names(self, metrics: str | list[str] | None) -> list[str]:
        kept = list(self.manifest["experiment"]["summaries"])
        if metrics is None:
            return kept
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        for name in names:
            if name not in kept:
                raise ValueError(f"unknown summary {name!r}: this experiment kept {', '.join(kept)}")
        return names


def load(path: str | Path) -> ExperimentResults:
    """Read an experiment folder written by `huzhu sweep` (also while it runs or after a kill).

    Args:
        path: The folder.

    Returns:
        ExperimentResults with tidy DataFrames.

    Raises:
        ResultFolderError: If the folder is not an experiment's or a file is corrupt
            (naming the file).
    """
    folder = ExperimentFolder(path)
    incomplete = folder.incomplete_parts()
    if incomplete:
        number, absent = next(iter(incomplete.items()))
        raise ResultFolderError(
            f"{absent} is missing, so the runs of {folder.part_path(RUNS_DIR, number)} have no data; "
            "rerun the sweep command to redo them"
        )
    design = read_part(folder.path / DESIGN_FILE)
    factor_columns = [c for c in design.columns if c != "label" and not c.startswith(UNIT_PREFIX)]
    points = design[factor_columns]
    records = folder.run_records()
    committed = set(folder.part_numbers(RUNS_DIR))
    # A run's data count only from the part of its latest record (a retried run may
    # have left an older attempt elsewhere).
    part_of = dict(zip(records["run_id"], records["part"], strict=True))
    ids = records[["run_id", POINT, "replication", "seed"]]

    def gather(sub: str) -> pd.DataFrame:
        frames = []
        for number in folder.part_numbers(sub):
            if number not in committed:
                continue
            frame = read_part(folder.part_path(sub, number))
            keep = frame["run_id"].map(part_of) == number
            frames.append(frame[keep.to_numpy()])
        if not frames:
            return pd.DataFrame(columns=["run_id"])
        return pd.concat(frames, ignore_index=True)

    summaries = gather(SUMMARIES_DIR)
    summaries = ids.merge(summaries, on="run_id").merge(points, on=POINT).sort_values("run_id")
    timeseries = gather(TIMESERIES_DIR)
    if len(timeseries):
        timeseries = ids.merge(timeseries, on="run_id").merge(points, on=POINT)
        timeseries = timeseries.sort_values(["run_id", "period"])
    runs = records.drop(columns="part").merge(points, on=POINT, how="left").sort_values("run_id")
    return ExperimentResults(
        path=folder.path,
        manifest=folder.manifest,
        design=design,
        runs=runs.reset_index(drop=True),
        summaries=_order(summaries, factor_columns),
        timeseries=_order(timeseries, factor_columns).reset_index(drop=True),
    )


def _order(frame: pd.DataFrame, factor_columns: list[str]) -> pd.DataFrame:
    """Ids first, then factors, then measurements."""
    if frame.empty:
        return frame.reset_index(drop=True)
    first = ["run_id", POINT, "replication", "seed", *[c for c in factor_columns if c != POINT]]
    first = [c for c in dict.fromkeys(first) if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]].reset_index(drop=True)


def _statistics(
    frame: pd.DataFrame, names: list[str], confidence: float, design: pd.DataFrame, factors: list[str]
) -> pd.DataFrame:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence}: allowed a number in (0, 1)")
    rows = []
    for point, group in frame.groupby(POINT):
        for name in names:
            values = group[name].dropna().to_numpy(dtype=float)
            n = len(values)
            mean = float(values.mean()) if n else np.nan
            sd = float(values.std(ddof=1)) if n > 1 else np.nan
            half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
            rows.append({POINT: point, "metric": name, "n": n, "mean": mean, "sd": sd,
                         "ci_low": mean - half, "ci_high": mean + half})  # fmt: skip
    table = pd.DataFrame(rows, columns=[POINT, "metric", "n", "mean", "sd", "ci_low", "ci_high"])
    return design[[POINT, "label", *factors]].merge(table, on=POINT).reset_index(drop=True)


__all__ = ["ExperimentResults", "ResultFolderError", "load"]
