"""Time-series panels of a running model, drawn from its period table.

A panel is declared once (`PanelSpec`: its axes, and the series each plots as a function
of the model and its period table) and drawn by one class, `LivePanel`, which keeps its
figure for the model's life and after each step only replaces the lines' data. Keeping
the figure keeps matplotlib's text-layout cache warm, which halves a redraw. The panels
read only the shown plan's period table (`huzhu.viz.selection`: the modelled plan's, or in
a market model the plan picked) and its platform's cap rule, so they show exactly the
columns of docs/ODD.md, section 7.10.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from huzhu.model.model import EXIT_COLUMNS
from huzhu.viz.selection import shown_pool, shown_table

PANEL_WIDTH_INCHES = 7.0
PANEL_ROW_HEIGHT_INCHES = 2.05
PANEL_DPI = 72  # the page shows the PNG at its pixel size: 504 pixels wide, a half-width cell of the page
EXIT_LABELS = {
    "exits_price": "price",
    "exits_contagion": "contagion",
    "exits_other": "other",
    "exits_ill_in_waiting": "ill in waiting",
    "exits_closure": "closure",
}
assert set(EXIT_LABELS) == set(EXIT_COLUMNS.values()), "every exit reason needs a label"

Values = Callable[[object, pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Series:
    """One line: its legend label, its values per period, and its matplotlib style."""

    label: str
    values: Values
    style: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AxesSpec:
    """One axes of a panel."""

    title: str
    ylabel: str
    series: tuple[Series, ...]
    ylim: tuple[float, float] | None = None
    reference_y: float | None = None  # a dashed horizontal reference line
    legend: bool = True


@dataclass(frozen=True)
class PanelSpec:
    """A panel: a name and its axes, one above the other, sharing the calendar axis."""

    name: str
    axes: tuple[AxesSpec, ...]


def decimal_year(dates) -> np.ndarray:
    """Dates as years with a fraction (2019.5 is 2 July 2019)."""
    dates = pd.to_datetime(pd.Series(dates))
    return (dates.dt.year + (dates.dt.day_of_year - 1) / 365.25).to_numpy(dtype=float)


def year_to_date_share(table: pd.DataFrame) -> pd.Series:
    """Share per member summed from the first period of each calendar year (CNY)."""
    years = pd.to_datetime(table["date"]).dt.year
    return table["share_per_member"].groupby(years).cumsum()


def cap_in_force(model, table: pd.DataFrame) -> np.ndarray:
    """The shown plan's annual cap in force at each period (CNY per year; nan in years without one)."""
    platform = shown_pool(model).platform
    caps = np.array([platform.cap_in_force(d.year) for d in pd.to_datetime(table["date"])], dtype=float)
    return np.where(np.isfinite(caps), caps, np.nan)


def shown_period(model) -> str:
    """The last period run, as every figure of the page labels itself."""
    if model.period == 0:
        return "no period run yet"
    return f"period {model.period - 1}, {model.calendar.date(model.period - 1):%d %b %Y}"


def _column(name: str, scale: float = 1.0) -> Values:
    return lambda model, table: table[name].to_numpy(dtype=float) / scale


MEMBERSHIP = PanelSpec(
    "membership",
    (
        AxesSpec("Members", "people (million)", (
            Series("members", _column("members", 1e6), {"color": "C0"}),
            Series("covered", _column("covered", 1e6), {"color": "C0", "ls": "--", "lw": 0.8}),
        )),
        AxesSpec("Joins and exits by reason", "people per period (thousand)", (
            Series("joins", _column("joins", 1e3), {"color": "k", "lw": 1.2}),
            *(Series(f"exits: {label}", _column(column, 1e3), {"lw": 0.9}) for column, label in EXIT_LABELS.items()),
        )),
    ),
)  # fmt: skip

SHARE = PanelSpec(
    "share",
    (
        AxesSpec("Share per member per period", "CNY per period", (
            Series("share per member", _column("share_per_member"), {"color": "C3", "lw": 0.9}),
            Series("expected cost", _column("expected_cost_per_member"), {"color": "0.4", "lw": 0.8, "ls": ":"}),
        )),
        AxesSpec("Share per member this year", "CNY", (
            Series("year to date", lambda model, table: year_to_date_share(table).to_numpy(), {"color": "C3"}),
            Series("annual cap", cap_in_force, {"color": "k", "ls": "--", "lw": 0.8}),
        )),
    ),
)  # fmt: skip

MONEY = PanelSpec(
    "money",
    (
        AxesSpec("Platform money", "million CNY per period", (
            Series("management fee", _column("fee_revenue", 1e6), {"color": "C1", "lw": 0.9}),
            Series("platform subsidy", _column("platform_subsidy", 1e6), {"color": "C4", "lw": 0.9}),
            Series("insurance commission", _column("commission_revenue", 1e6), {"color": "C5", "lw": 0.9}),
        )),
    ),
)  # fmt: skip

SELECTION = PanelSpec(
    "selection",
    (
        AxesSpec("Considering commercial insurance", "share", (
            Series("members", _column("consider_rate_members"), {"color": "C0"}),
            Series("non-members", _column("consider_rate_nonmembers"), {"color": "0.5"}),
        ), ylim=(0.0, 1.0)),
        AxesSpec("Adverse-selection index", "members' / eligible risk", (
            Series("adverse-selection index", _column("adverse_selection_index"), {"color": "C2"}),
        ), reference_y=1.0, legend=False),
    ),
)  # fmt: skip

PANELS = (MEMBERSHIP, SHARE, MONEY, SELECTION)


class LivePanel:
    """A panel's figure for one model, redrawn in place as the model runs.

    The x axis spans the model's whole calendar (launch to closure) so the axes do not
    move as periods are added; margins are fixed (no constrained layout).

    Args:
        spec: What the panel plots.
        model: The MutualAidModel it shows.
    """

    def __init__(self, spec: PanelSpec, model):
        self.spec = spec
        rows = len(spec.axes)
        height = PANEL_ROW_HEIGHT_INCHES * rows + 0.45
        self.figure = Figure(figsize=(PANEL_WIDTH_INCHES, height), dpi=PANEL_DPI)
        self.figure.subplots_adjust(left=0.1, right=0.98, top=1 - 0.3 / height, bottom=0.3 / height, hspace=0.5)
        axes = self.figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        start, end = decimal_year([model.calendar.date(0), model.params["closure_date"]])
        years = np.arange(int(np.ceil(start)), int(end) + 1)
        self.axes = list(axes)
        self.lines = []
        for ax, axes_spec in zip(self.axes, spec.axes, strict=True):
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=8)
            ax.set_xlim(start, end + 1 / 24)
            ax.set_xticks(years, [str(y) for y in years])
            ax.set_title(axes_spec.title, fontsize=10, loc="left")
            ax.set_ylabel(axes_spec.ylabel, fontsize=9)
            self.lines.append([ax.plot([], [], label=s.label, **s.style)[0] for s in axes_spec.series])
            if axes_spec.reference_y is not None:
                ax.axhline(axes_spec.reference_y, color="0.6", lw=0.6, ls="--")
            if axes_spec.legend:
                ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper left")
        self.empty_note = self.axes[0].text(
            0.5, 0.5, "no period run yet", transform=self.axes[0].transAxes, ha="center", va="center", color="0.5"
        )
        self.date_note = self.figure.text(0.98, 1 - 0.12 / height, "", ha="right", va="top", fontsize=8, color="0.4")

    def update(self, model) -> Figure:
        """Plot the shown plan's periods so far (`selection.shown_table`); return the figure."""
        table = shown_table(model)
        self.empty_note.set_visible(table.empty)
        self.date_note.set_text(shown_period(model))
        x = decimal_year(table["date"]) if not table.empty else np.empty(0)
        for ax, axes_spec, lines in zip(self.axes, self.spec.axes, self.lines, strict=True):
            for line, series in zip(lines, axes_spec.series, strict=True):
                line.set_data(x, series.values(model, table) if not table.empty else np.empty(0))
            ax.relim()
            ax.autoscale_view(scalex=False)
            if axes_spec.ylim is not None:
                ax.set_ylim(*axes_spec.ylim)
        return self.figure

    def png(self, model) -> bytes:
        """The updated figure as PNG bytes."""
        buffer = io.BytesIO()
        self.update(model).savefig(buffer, format="png")
        return buffer.getvalue()


_LIVE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def live_panel(spec: PanelSpec, model) -> LivePanel:
    """The model's LivePanel of `spec`, made on first use and kept for the model's life."""
    panels = _LIVE.setdefault(model, {})
    if spec.name not in panels:
        panels[spec.name] = LivePanel(spec, model)
    return panels[spec.name]


def panel_figure(spec: PanelSpec, model) -> Figure:
    """The panel `spec` of `model`, up to date."""
    return live_panel(spec, model).update(model)
