"""Figures of a run's period table, sized and labelled for print."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from cycler import cycler

from huzhu.model.calendar import PERIODS_PER_YEAR

MM = 1 / 25.4  # inches per millimetre
#: Okabe & Ito's colour-blind-safe palette, each colour with its own line style, so that
#: lines stay told apart in grey scale (print).
_CYCLE = cycler(
    color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"],
    linestyle=["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 3))],
)
#: The one style of every figure huzhu writes.
STYLE = {
    "axes.prop_cycle": _CYCLE,
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 300,
}


def overview_figure(table: pd.DataFrame, path: Path, title: str | None = None) -> list[Path]:
    """Four panels: members, share per member, cumulative aided, platform money.

    Args:
        table: A run's period table (`MutualAidModel.results()`).
        path: Output path; written as PNG and, beside it, PDF.
        title: Optional figure title.

    Returns:
        The files written.
    """
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2, figsize=(180 * MM, 120 * MM), sharex=True, constrained_layout=True)
        dates = table["date"]
        ax = axes[0, 0]
        ax.plot(dates, table["members"] / 1e6, color="C0", label="all members")
        ax.plot(dates, table["covered"] / 1e6, color="C0", ls="--", lw=0.8, label="past waiting period")
        ax.set_ylabel("members (million)")
        ax.set_title("a  Membership")
        ax.legend(frameon=False)
        ax = axes[0, 1]
        ax.plot(dates, table["share_per_member"], color="C3", lw=0.8)
        ax.set_ylabel("share per member (CNY per period)")
        ax.set_title("b  Share per member per period")
        ax = axes[1, 0]
        ax.plot(dates, table["cumulative_aided"] / 1e3, color="C2")
        ax.set_ylabel("cumulative aided (thousand)")
        ax.set_title("c  Members paid a benefit")
        ax = axes[1, 1]
        for column, label, colour in (
            ("fee_revenue", "management fee", "C1"),
            ("platform_subsidy", "platform subsidy", "C4"),
            ("commission_revenue", "insurance commission", "C5"),
        ):
            ax.plot(dates, table[column].cumsum() / 1e6, color=colour, label=label)
        ax.set_ylabel("cumulative (million CNY)")
        ax.set_title("d  Platform money")
        ax.legend(frameon=False)
        for ax in axes[1]:
            ax.xaxis.set_major_locator(mdates.YearLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


MAX_POINTS_DRAWN = 12  # beyond this, per-point series and dot plots become unreadable


#: Line styles of the platforms in the market figure: told apart in grey scale too.
_PLATFORM_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 3)))


def market_figure(plans: pd.DataFrame, industry: pd.DataFrame, path: Path, title: str | None = None) -> list[Path]:
    """Two panels of a market run: members by platform and of any (each person once), and
    the expected cost of cover per member of each platform's first plan (a year's worth
    of each period's: `expected_cost_per_member` x 24).

    Args:
        plans: `MutualAidModel.plan_results()`.
        industry: `MutualAidModel.industry_results()`.
        path: Output path; written as PNG and, beside it, PDF.
        title: Optional figure title.

    Returns:
        The files written.
    """
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(180 * MM, 70 * MM), sharex=True, constrained_layout=True)
        ax = axes[0]
        platforms = [key for key in dict.fromkeys(industry["platform"]) if key != "all"]
        for k, platform in enumerate(platforms):
            rows = industry[industry["platform"] == platform]
            ax.plot(rows["date"], rows["members"] / 1e6, color="0.25", ls=_PLATFORM_STYLES[k % 7], lw=0.9,
                    label=platform)  # fmt: skip
        rows = industry[industry["platform"] == "all"]
        ax.plot(rows["date"], rows["members"] / 1e6, color="C0", lw=1.6, label="any platform (people)")
        ax.set_ylabel("members (million people)")
        ax.set_title("a  Members by platform")
        ax.legend(frameon=False, fontsize="small", ncol=2)
        ax = axes[1]
        for k, platform in enumerate(platforms):
            first = plans[plans["platform"] == platform]
            first = first[first["plan"] == first["plan"].iloc[0]]
            # The cover's expected cost a period, at 24 periods a year; none before any is covered.
            # A monthly plan has it in its sharing periods only: the line joins those.
            per_year = first["expected_cost_per_member"].to_numpy(dtype=float) * PERIODS_PER_YEAR
            known = per_year > 0
            ax.plot(pd.to_datetime(first["date"])[known], per_year[known], color="0.25",
                    ls=_PLATFORM_STYLES[k % 7], lw=0.9, label=platform)  # fmt: skip
        ax.set_ylabel("expected cost per member (CNY a year)")
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.1)  # below a dime a year: the first weeks, before anyone is covered
        ax.set_title("b  Cost of cover in each platform's first plan")
        for ax in axes:
            ax.xaxis.set_major_locator(mdates.YearLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)


def experiment_timeseries_figure(
    timeseries: pd.DataFrame, design: pd.DataFrame, path: Path, columns: tuple[str, ...], confidence: float = 0.95
) -> list[Path]:
    """Mean over replications of period columns per design point, with a t-interval band.

    Args:
        timeseries: `ExperimentResults.timeseries`.
        design: `ExperimentResults.design` (labels the points).
        path: Output path; PNG and PDF are written.
        columns: Period columns to draw, one panel each.
        confidence: Level of the band across replications.

    Returns:
        The files written.
    """
    from scipy import stats

    points = list(design["point"][:MAX_POINTS_DRAWN])
    labels = dict(zip(design["point"], design["label"], strict=True))
    with plt.rc_context(STYLE):
        n = len(columns)
        fig, axes = plt.subplots(
            n, 1, figsize=(180 * MM, 55 * MM * n), sharex=True, constrained_layout=True, squeeze=False
        )
        for ax, column in zip(axes[:, 0], columns, strict=True):
            for colour, point in enumerate(points):
                part = timeseries[timeseries["point"] == point]
                grouped = part.groupby("date")[column]
                mean, sd, count = grouped.mean(), grouped.std(ddof=1), grouped.count()
                half = stats.t.ppf(0.5 + confidence / 2, (count - 1).clip(lower=1)) * sd / count**0.5
                ax.plot(mean.index, mean, color=f"C{colour % 10}", lw=1, label=labels[point])
                ax.fill_between(mean.index, mean - half, mean + half, color=f"C{colour % 10}", alpha=0.2, lw=0)
            ax.set_ylabel(column.replace("_", " "))
            ax.xaxis.set_major_locator(mdates.YearLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        axes[0, 0].legend(frameon=False, fontsize=6, ncol=2)
        shown = "" if len(design) <= MAX_POINTS_DRAWN else f" (first {MAX_POINTS_DRAWN} of {len(design)} points)"
        axes[0, 0].set_title(f"Mean over replications with {confidence:.0%} interval{shown}")
        return save_figure(fig, path)


def experiment_summary_figure(statistics: pd.DataFrame, path: Path) -> list[Path]:
    """Dot plot of each summary per design point with its confidence interval.

    Args:
        statistics: `ExperimentResults.statistics()` (one row per point and metric).
        path: Output path; PNG and PDF are written.
    """
    metrics = list(dict.fromkeys(statistics["metric"]))
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            rows, columns, figsize=(180 * MM, 45 * MM * rows), constrained_layout=True, squeeze=False
        )
        for ax, metric in zip(axes.flat, metrics, strict=False):
            part = statistics[statistics["metric"] == metric].head(MAX_POINTS_DRAWN)
            y = range(len(part))
            ax.errorbar(
                part["mean"], y, xerr=[part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]],
                fmt="o", ms=3, color="C0", lw=0.8,
            )  # fmt: skip
            ax.set_yticks(list(y), part["label"], fontsize=5)
            ax.invert_yaxis()
            ax.set_title(metric.replace("_", " "))
        for ax in list(axes.flat)[len(metrics) :]:
            ax.set_visible(False)
        return save_figure(fig, path)


def provenance_text() -> str:
    """The package version and git commit that made a figure ("huzhu 0.2.0, git 1a2b3c4")."""
    from huzhu import __version__
    from huzhu.experiments.provenance import git_commit

    return f"huzhu {__version__}, git {git_commit() or 'unknown'}"


def save_figure(fig, path: Path) -> list[Path]:
    """Write `fig` as PNG and PDF beside `path` (its suffix replaced), each carrying the
    package version and git commit in its metadata (PNG text "Software", PDF "Creator"),
    and close it.

    Returns:
        The files written.
    """
    made_by = provenance_text()
    written = []
    for suffix, metadata in ((".png", {"Software": made_by}), (".pdf", {"Creator": made_by})):
        target = Path(path).with_suffix(suffix)
        fig.savefig(target, metadata=metadata)
        written.append(target)
    plt.close(fig)
    return written
