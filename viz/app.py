"""huzhu in the browser: a Mesa SolaraViz page of the running model.

Start it with `huzhu viz` (or `make viz`); `solara run huzhu.viz.app` works too. Each
browser session gets its own model, built from the controls (`huzhu.viz.controls`) and
rebuilt by Reset. The page shows the period's date, for a market model a selector of the
plan the panels show and the members of every platform (`huzhu.viz.market_view`), the
social network (a fixed sample when the model is larger than can be drawn, laid out once
per model) and the time-series panels of `huzhu.viz.panels`; none of them holds model
logic.
"""

from __future__ import annotations

from functools import partial

import solara
from mesa.visualization import SolaraViz

from huzhu.model.model import MutualAidModel
from huzhu.viz import controls, market_view, network_view, panels, selection


class ViewedModel(MutualAidModel):
    """The model as the app builds it from its control values.

    SolaraViz rebuilds the model on Reset by calling its class with the controls' values;
    `controls.model_arguments` lets a preset's values stand where a control is left at
    its default.

    Args:
        preset: Scenario preset name.
        rng: Seed.
        scenario: Mesa's scenario object, which SolaraViz's Reset passes to every model;
            huzhu's scenarios are its presets, so it is not used.
        **control_values: Values of the app's parameter controls.
    """

    def __init__(self, preset: str = "default", rng=None, scenario=None, **control_values):
        super().__init__(**controls.model_arguments(preset, {**control_values, "rng": rng}))


def PeriodDate(model):
    """The last period run, its date, members, and what one agent stands for."""
    pool = selection.shown_pool(model)
    if model.period == 0:
        status = f"Launch on <b id='huzhu-date'>{model.date:%d %b %Y}</b>: no period run yet"
    else:
        last = model.period - 1
        status = (
            f"Period <b id='huzhu-period'>{last}</b> &middot;"
            f" <b id='huzhu-date'>{model.calendar.date(last):%d %b %Y}</b> &middot;"
            f" <span id='huzhu-members'>{pool.tally.get('members', 0) / 1e6:,.1f}</span> million members"
            f"{'' if pool is model.pool else f' of {pool.key}'}"
        )
    settings = ", ".join(f"{name} {_shown(model.params[name])}" for name in controls.CONTROLLED_PARAMETERS[1:])
    return solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f"<div style='font-size: 1.1em'>{status}{'' if model.running else '; the plan has closed'}</div>"
            f"<div id='huzhu-settings' style='color: #555; font-size: 0.9em'>{model.params['n_agents']:,} agents,"
            f" each standing for {model.people_per_agent:,.0f} people; preset {model.preset}; {settings}</div>"
        ),
    )


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _figure_component(name: str, make_figure, market_only: bool = False):
    """A page component showing `make_figure(model)` as PNG, redrawn once per period (if
    `market_only`, for a market model only: nothing is drawn for a one-plan model)."""

    def component(model):
        shown = selection.plan_shown.value  # a new plan picked redraws the panels
        drawn = not market_only or len(model.pools) > 1
        figure = solara.use_memo(
            lambda: make_figure(model) if drawn else None, dependencies=[model, model.period, shown]
        )
        if not drawn:
            return solara.Text("")
        # Fast PNG compression: the image crosses a local socket, and zlib level 6 costs
        # a tenth of a step's redraw.
        return solara.FigureMatplotlib(
            figure, dependencies=[model, model.period, shown], format="png", pil_kwargs={"compress_level": 1}
        )

    component.__name__ = name
    return component


COMPONENTS = (
    PeriodDate,
    market_view.PlanSelect,
    _figure_component("PlatformsPanel", market_view.platforms_figure, market_only=True),
    _figure_component("NetworkView", network_view.network_figure),
    *(_figure_component(f"{spec.name.title()}Panel", partial(panels.panel_figure, spec)) for spec in panels.PANELS),
)


@solara.component
def Page():
    """One model per browser session (a module-level model would be shared by all)."""
    start = controls.model_params()
    model = solara.use_memo(
        lambda: ViewedModel(**{name: control["value"] for name, control in start.items()}), dependencies=[]
    )
    return SolaraViz(model, components=list(COMPONENTS), model_params=start, name="huzhu: online mutual aid")


page = Page
