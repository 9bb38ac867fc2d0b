"""Figures of a run's period table, sized and labelled for print."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

MM = 1 / 25.4  # inches per millimetre
STYLE = {
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
        written = []
        for suffix in (".png", ".pdf"):
            target = path.with_suffix(suffix)
            fig.savefig(target)
            written.append(target)
        plt.close(fig)
    return written
