"""`huzhu report DIR`: a figure set and a markdown summary of an experiment folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from huzhu.experiments.figures import experiment_summary_figure, experiment_timeseries_figure
from huzhu.experiments.results import ExperimentResults, load
from huzhu.experiments.summaries import ALL_METRICS

REPORT_DIR = "report"
SERIES_DRAWN = ("members", "share_per_member", "fee_revenue")
ERRORS_LISTED = 20
KEY_SUMMARIES = (
    "peak_members",
    "periods_peak_to_half",
    "members_at_announcement",
    "share_per_member_final_year",
    "total_fee_revenue",
    "total_platform_subsidy",
)


def write_report(path: str | Path) -> list[Path]:
    """Write DIR/report/: summary.md, summaries.png/pdf, timeseries.png/pdf, statistics.csv,
    and sensitivity.csv/png/pdf for Sobol and Morris designs.

    Returns:
        The files written.

    Raises:
        ResultFolderError: If DIR is not a readable experiment folder.
    """
    results = load(path)
    out = results.path / REPORT_DIR
    out.mkdir(exist_ok=True)
    written: list[Path] = []
    statistics = results.statistics() if len(results.summaries) else pd.DataFrame()
    if len(statistics):
        statistics.to_csv(out / "statistics.csv", index=False)
        written.append(out / "statistics.csv")
        written += experiment_summary_figure(statistics, out / "summaries.png")
    drawn = tuple(c for c in SERIES_DRAWN if c in results.timeseries.columns)
    if drawn and len(results.timeseries):
        written += experiment_timeseries_figure(results.timeseries, results.design, out / "timeseries.png", drawn)
    sensitivity = None
    if results.manifest["experiment"]["design"] in ("sobol", "morris") and len(results.summaries):
        from huzhu.experiments.sensitivity import SensitivityError, analyse_sensitivity, sensitivity_figure

        try:
            sensitivity = analyse_sensitivity(results)
        except SensitivityError as error:
            sensitivity = str(error)
        else:
            sensitivity.to_csv(out / "sensitivity.csv", index=False)
            written.append(out / "sensitivity.csv")
            written += sensitivity_figure(sensitivity, out / "sensitivity.png", results.manifest["experiment"]["name"])
    summary = out / "summary.md"
    summary.write_text(_markdown(results, statistics, sensitivity, [p.name for p in written]), encoding="utf-8")
    return [summary, *written]


def _markdown(results: ExperimentResults, statistics: pd.DataFrame, sensitivity, files: list[str]) -> str:
    manifest = results.manifest
    experiment = manifest["experiment"]
    runs = results.runs
    done = int((runs["status"] == "ok").sum())
    failed = len(results.failed)
    lines = [
        f"# Experiment `{experiment['name']}`",
        "",
        experiment.get("description") or "",
        "",
        f"- design: {experiment['design']}, {manifest['points']} points x {manifest['replications']} replications"
        f" = {manifest['runs']} runs; factors: {', '.join(experiment['factors']) or 'none'}",
        f"- base: preset `{experiment['preset']}`, "
        + (", ".join(f"{k}={v}" for k, v in experiment["base"].items()) or "no overrides"),
        f"- runs: {done} finished, {failed} failed, {manifest['runs'] - done - failed} not run",
        f"- seed {manifest['seed']}; fingerprint {manifest['fingerprint']}; huzhu {manifest.get('huzhu_version')}, "
        f"git {str(manifest.get('git_commit'))[:10]}; created {manifest['created_utc']}",
        "",
    ]
    if len(statistics):
        kept = list(dict.fromkeys(statistics["metric"]))
        metrics = [m for m in KEY_SUMMARIES if m in kept] or kept[: len(KEY_SUMMARIES)]
        lines += ["## Summaries (mean over replications, 95% t-interval; all of them in statistics.csv)", ""]
        lines.append("| point | " + " | ".join(f"{m} ({ALL_METRICS[m].unit})" for m in metrics) + " |")
        lines.append("|---|" + "---|" * len(metrics))
        for point, part in statistics.groupby("point", sort=True):
            cells = part.set_index("metric").loc[metrics]
            lines.append(
                f"| {point}: {part['label'].iloc[0]} | "
                + " | ".join(f"{r['mean']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]" for _, r in cells.iterrows())
                + " |"
            )
        lines.append("")
    if isinstance(sensitivity, pd.DataFrame):
        lines += ["## Sensitivity", "", *_table(sensitivity), ""]
    elif isinstance(sensitivity, str):
        lines += ["## Sensitivity", "", f"Not computed: {sensitivity}", ""]
    if failed:
        lines += ["## Failed runs", ""]
        for _, run in results.failed.head(ERRORS_LISTED).iterrows():
            lines.append(
                f"- run {run['run_id']} (point {run['point']}, replication {run['replication']}): {run['error']}"
            )
        if failed > ERRORS_LISTED:
            lines.append(f"- ... and {failed - ERRORS_LISTED} more (runs table, column `error`)")
        lines.append("")
    lines += ["## Files", "", *[f"- `{name}`" for name in files], ""]
    return "\n".join(lines)


def _table(frame: pd.DataFrame) -> list[str]:
    """A DataFrame as markdown table lines (numbers to 3 decimals)."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return lines
