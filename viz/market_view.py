"""The market in the browser app: a selector of the plan the panels show, and the
members of every platform, each person once (docs/ODD.md 7.12). Shown for a market model
(`market_scope="market"`, the `market` preset) only.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import solara
from matplotlib.figure import Figure

from huzhu.viz.panels import PANEL_DPI, PANEL_ROW_HEIGHT_INCHES, PANEL_WIDTH_INCHES, decimal_year, shown_period
from huzhu.viz.selection import plan_shown

_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 2)), (0, (8, 3)))


def PlanSelect(model):
    """The plan whose table the panels show (a market model only)."""
    if len(model.pools) == 1:
        return solara.Text("")
    keys = [pool.key for pool in model.pools]
    if plan_shown.value not in keys:
        plan_shown.set(keys[0])
    return solara.Select(label="plan shown in the panels", values=keys, value=plan_shown)


def platforms_figure(model) -> Figure:
    """Members of each platform and of any (people, each once), so far."""
    figure = Figure(figsize=(PANEL_WIDTH_INCHES, PANEL_ROW_HEIGHT_INCHES + 0.6), dpi=PANEL_DPI)
    ax = figure.subplots()
    figure.subplots_adjust(left=0.1, right=0.98, top=0.85, bottom=0.15)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.set_title("Members by platform (each person once)", fontsize=10, loc="left")
    ax.set_ylabel("people (million)", fontsize=9)
    start, end = decimal_year([model.calendar.date(0), model.params["closure_date"]])
    ax.set_xlim(start, end + 1 / 24)
    years = np.arange(int(np.ceil(start)), int(end) + 1)
    ax.set_xticks(years, [str(y) for y in years])
    figure.text(0.98, 0.97, shown_period(model), ha="right", va="top", fontsize=8, color="0.4")
    industry = model.industry_results()
    platforms = [key for key in dict.fromkeys(industry["platform"]) if key != "all"]
    for k, platform in enumerate(platforms):
        rows = industry[industry["platform"] == platform]
        ax.plot(decimal_year(rows["date"]), rows["members"] / 1e6, color="0.3", ls=_STYLES[k % len(_STYLES)],
                lw=0.9, label=platform)  # fmt: skip
    rows = industry[industry["platform"] == "all"]
    ax.plot(decimal_year(rows["date"]), rows["members"] / 1e6, color="C0", lw=1.6, label="any platform")
    ax.legend(frameon=False, fontsize=8, ncol=4, loc="upper left")
    return figure
