"""Time-series panels of a running model, drawn from its period table.

Each function takes a `MutualAidModel` and returns a matplotlib Figure of the periods
run so far; the browser app shows them and redraws them after every step. They read
only `model.results()` and the platform's cap rule, so the panels show exactly the
columns of docs/ODD.md, section 7.10.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from huzhu.model.model import EXIT_COLUMNS

PANEL_SIZE_INCHES = (5.0, 3.2)
PANEL_DPI = 90
EXIT_LABELS = {
    "exits_price": "price",
    "exits_contagion": "contagion",
    "exits_other": "other",
    "exits_ill_in_waiting": "ill in waiting",
    "exits_closure": "closure",
}
assert set(EXIT_LABELS) == set(EXIT_COLUMNS.values()), "every exit reason needs a label"


def _figure(rows: int = 1) -> tuple[Figure, list[Axes]]:
    height = PANEL_SIZE_INCHES[1] * (1.45 if rows > 1 else 1)
    fig = Figure(figsize=(PANEL_SIZE_INCHES[0], height), dpi=PANEL_DPI, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0].tolist()
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return fig, axes


def _finish(ax: Axes, title: str, ylabel: str, table: pd.DataFrame, legend: bool = True) -> None:
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel(ylabel, fontsize=8)
    if table.empty:
        ax.text(0.5, 0.5, "no period run yet", transform=ax.transAxes, ha="center", va="center", color="0.5")
    elif legend and ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=7, ncol=2)


def membership_figure(model) -> Figure:
    """Members (million) and the period's joins and exits by reason (thousand people)."""
    table = model.results()
    fig, (top, bottom) = _figure(rows=2)
    if not table.empty:
        top.plot(table["date"], table["members"] / 1e6, color="C0", label="members")
        top.plot(table["date"], table["covered"] / 1e6, color="C0", ls="--", lw=0.8, label="covered")
        bottom.plot(table["date"], table["joins"] / 1e3, color="k", lw=1.2, label="joins")
        for column, label in EXIT_LABELS.items():
            bottom.plot(table["date"], table[column] / 1e3, lw=0.9, label=f"exits: {label}")
    _finish(top, "Members", "people (million)", table)
    _finish(bottom, "Joins and exits by reason", "people per period (thousand)", table)
    return fig


def year_to_date_share(table: pd.DataFrame) -> pd.Series:
    """Share per member summed from the first period of each calendar year (CNY)."""
    years = pd.to_datetime(table["date"]).dt.year
    return table["share_per_member"].groupby(years).cumsum()


def share_figure(model) -> Figure:
    """Share per member per period, and the year-to-date share against the annual cap (CNY)."""
    table = model.results()
    fig, (top, bottom) = _figure(rows=2)
    if not table.empty:
        top.plot(table["date"], table["share_per_member"], color="C3", lw=0.9, label="share per member")
        top.plot(table["date"], table["expected_cost_per_member"], color="0.4", lw=0.8, ls=":", label="expected cost")
        bottom.plot(table["date"], year_to_date_share(table), color="C3", label="year to date")
        caps = np.array([model.platform.cap_in_force(d.year) for d in pd.to_datetime(table["date"])])
        if np.isfinite(caps).any():
            bottom.plot(table["date"], np.where(np.isfinite(caps), caps, np.nan), color="k", ls="--", lw=0.8,
                        label="annual cap")  # fmt: skip
    _finish(top, "Share per member per period", "CNY per period", table)
    _finish(bottom, "Share per member this year", "CNY", table)
    return fig


def money_figure(model) -> Figure:
    """The platform's fee revenue, subsidy and insurance commission per period (million CNY)."""
    table = model.results()
    fig, (ax,) = _figure()
    if not table.empty:
        for column, label, colour in (
            ("fee_revenue", "management fee", "C1"),
            ("platform_subsidy", "platform subsidy", "C4"),
            ("commission_revenue", "insurance commission", "C5"),
        ):
            ax.plot(table["date"], table[column] / 1e6, color=colour, lw=0.9, label=label)
    _finish(ax, "Platform money", "million CNY per period", table)
    return fig


def consideration_figure(model) -> Figure:
    """Shares of members and of non-members considering commercial insurance."""
    table = model.results()
    fig, (ax,) = _figure()
    if not table.empty:
        ax.plot(table["date"], table["consider_rate_members"], color="C0", label="members")
        ax.plot(table["date"], table["consider_rate_nonmembers"], color="0.5", label="non-members")
        ax.set_ylim(0, 1)
    _finish(ax, "Considering commercial insurance", "share", table)
    return fig


def selection_figure(model) -> Figure:
    """Adverse-selection index: members' mean risk over the eligible population's."""
    table = model.results()
    fig, (ax,) = _figure()
    if not table.empty:
        ax.plot(table["date"], table["adverse_selection_index"], color="C2")
        ax.axhline(1.0, color="0.6", lw=0.6, ls="--")
    _finish(ax, "Adverse-selection index", "members' risk / eligible risk", table, legend=False)
    return fig


PANELS = (membership_figure, share_figure, money_figure, consideration_figure, selection_figure)
