"""What the browser app draws: the network sample, its layout and colours, the panels
and the controls, checked against the model they show (no browser needed)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu import MutualAidModel
from huzhu.agents.states import State
from huzhu.model.parameters import ParameterError, get_parameter
from huzhu.model.presets import PRESETS
from huzhu.viz import controls, network_view, panels


@pytest.fixture(scope="module")
def stepped():
    """A view-sized model 30 periods in (mid 2019: members, exits and claims exist)."""
    model = MutualAidModel(n_agents=5_000, rng=3)
    for _ in range(30):
        model.step()
    return model


# ----------------------------------------------------------------------------- network sample
def test_a_model_small_enough_is_drawn_whole_with_every_tie():
    model = MutualAidModel(n_agents=600, rng=1)
    sample = network_view.build_sample(model.population.network)
    assert not sample.is_sample
    np.testing.assert_array_equal(sample.nodes, np.arange(600))
    assert len(sample.edges) == len(model.population.network.indices) // 2


def test_a_larger_model_is_drawn_as_a_sample_holding_every_tie_among_the_sampled_agents(stepped):
    network = stepped.population.network
    sample = network_view.build_sample(network, max_nodes=400, seed=5)
    assert sample.is_sample and len(sample.nodes) == 400 and sample.n_agents == 5_000
    in_sample = set(sample.nodes.tolist())
    expected = {
        (a, b) for a in sample.nodes.tolist() for b in network.neighbours(a).tolist() if b in in_sample and a < b
    }
    drawn = {(int(sample.nodes[s]), int(sample.nodes[t])) for s, t in sample.edges}
    assert drawn == expected


def test_the_sample_grows_along_ties_so_sampled_agents_keep_most_of_their_neighbours(stepped):
    """Breadth-first sampling keeps neighbourhoods: a uniform sample of 1,000 of 5,000
    agents would keep 20% of each agent's ties; the snowball keeps far more."""
    network = stepped.population.network
    sample = network_view.build_sample(network, max_nodes=1_000, seed=0)
    kept = 2 * len(sample.edges) / network.degree[sample.nodes].sum()
    assert kept > 0.5


def test_the_sample_and_its_layout_are_made_once_per_model_and_kept_while_it_runs():
    model = MutualAidModel(n_agents=3_000, rng=2)
    first = network_view.sample_of(model)
    positions = first.positions.copy()
    for _ in range(3):
        model.step()
    assert network_view.sample_of(model) is first
    np.testing.assert_array_equal(network_view.sample_of(model).positions, positions)
    assert network_view.sample_of(MutualAidModel(n_agents=3_000, rng=2)) is not first


def test_the_layout_puts_tied_agents_closer_than_untied_ones(stepped):
    sample = network_view.build_sample(stepped.population.network, max_nodes=500, seed=1)
    xy = sample.positions
    assert np.isfinite(xy).all()
    tie_length = np.linalg.norm(xy[sample.edges[:, 0]] - xy[sample.edges[:, 1]], axis=1).mean()
    rng = np.random.default_rng(0)
    a, b = rng.integers(len(xy), size=(2, 5_000))
    random_distance = np.linalg.norm(xy[a] - xy[b], axis=1).mean()
    assert tie_length < 0.5 * random_distance


def test_the_same_network_gives_the_same_picture():
    network = MutualAidModel(n_agents=2_000, rng=4).population.network
    one, two = network_view.build_sample(network, 500, seed=3), network_view.build_sample(network, 500, seed=3)
    np.testing.assert_array_equal(one.nodes, two.nodes)
    np.testing.assert_array_equal(one.positions, two.positions)


def test_node_colours_are_the_agents_states_and_recent_exits_are_exits_within_the_window(stepped):
    sample = network_view.sample_of(stepped)
    states, recent = network_view.node_colours(stepped, sample)
    np.testing.assert_array_equal(states, stepped.population.state[sample.nodes])
    window = network_view.recent_exit_window_periods(stepped)
    assert window == math.ceil(stepped.params["contagion_decay_periods"])
    exit_period = stepped.population.exit_period[sample.nodes]
    expected = (states == State.EXITED) & (exit_period >= stepped.period - window)
    np.testing.assert_array_equal(recent, expected)
    assert recent.any() and not recent.all()


def test_the_network_figure_says_when_it_shows_a_sample_and_counts_what_it_draws(stepped):
    figure = network_view.network_figure(stepped)
    assert "sample of 1,000 of 5,000 agents" in figure.axes[0].get_title()
    states, recent = network_view.node_colours(stepped, network_view.sample_of(stepped))
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend[State.COVERED] == f"covered ({np.count_nonzero(states == State.COVERED):,})"
    assert legend[-1].endswith(f"({int(recent.sum()):,})")
    small = MutualAidModel(n_agents=500, rng=1)
    assert "all 500 agents" in network_view.network_figure(small).axes[0].get_title()


# ----------------------------------------------------------------------------- panels
def _line(fig, axes_index: int, label: str):
    for line in fig.axes[axes_index].get_lines():
        if line.get_label() == label:
            return np.asarray(line.get_ydata(), dtype=float)
    raise AssertionError(f"no line {label!r} in axes {axes_index}")


def test_every_panel_plots_the_model_table_in_its_stated_units(stepped):
    table = stepped.results()
    membership = panels.panel_figure(panels.MEMBERSHIP, stepped)
    np.testing.assert_allclose(_line(membership, 0, "members"), table["members"] / 1e6)
    np.testing.assert_allclose(_line(membership, 1, "joins"), table["joins"] / 1e3)
    np.testing.assert_allclose(_line(membership, 1, "exits: price"), table["exits_price"] / 1e3)
    share = panels.panel_figure(panels.SHARE, stepped)
    np.testing.assert_allclose(_line(share, 0, "share per member"), table["share_per_member"])
    money = panels.panel_figure(panels.MONEY, stepped)
    np.testing.assert_allclose(_line(money, 0, "platform subsidy"), table["platform_subsidy"] / 1e6)
    selection = panels.panel_figure(panels.SELECTION, stepped)
    np.testing.assert_allclose(_line(selection, 0, "non-members"), table["consider_rate_nonmembers"])
    np.testing.assert_allclose(selection.axes[1].get_lines()[0].get_ydata(), table["adverse_selection_index"])
    np.testing.assert_allclose(membership.axes[0].get_lines()[0].get_xdata(), panels.decimal_year(table["date"]))


def test_decimal_years_place_dates_within_their_year():
    np.testing.assert_allclose(
        panels.decimal_year(["2019-01-01", "2019-07-02", "2020-01-01"]), [2019, 2019 + 182 / 365.25, 2020], atol=1e-4
    )


def test_year_to_date_share_restarts_each_calendar_year():
    table = pd.DataFrame(
        {"date": pd.to_datetime(["2019-12-01", "2019-12-16", "2020-01-01", "2020-01-16"]),
         "share_per_member": [1.0, 2.0, 4.0, 8.0]}
    )  # fmt: skip
    np.testing.assert_allclose(panels.year_to_date_share(table), [1.0, 3.0, 4.0, 12.0])


def test_the_cap_line_is_the_cap_in_force_and_absent_in_years_without_one(stepped):
    cap = _line(panels.panel_figure(panels.SHARE, stepped), 1, "annual cap")
    years = pd.to_datetime(stepped.results()["date"]).dt.year
    np.testing.assert_array_equal(np.isnan(cap), years < 2019)
    assert np.all(cap[years >= 2019] == 188.0)


def test_panels_of_a_model_not_yet_stepped_say_so():
    model = MutualAidModel(n_agents=500, rng=1)
    for spec in panels.PANELS:
        notes = [t for ax in panels.panel_figure(spec, model).axes for t in ax.texts if t.get_visible()]
        assert [t.get_text() for t in notes] == ["no period run yet"]
    model.step()
    for spec in panels.PANELS:
        assert not [t for ax in panels.panel_figure(spec, model).axes for t in ax.texts if t.get_visible()]


def test_every_figure_names_the_period_it_shows(stepped):
    expected = f"period 29, {stepped.calendar.date(29):%d %b %Y}"
    for figure in [network_view.network_figure(stepped), *(panels.panel_figure(s, stepped) for s in panels.PANELS)]:
        assert expected in [t.get_text() for t in figure.texts]


def test_a_panel_is_kept_for_its_model_and_shows_each_new_period():
    model = MutualAidModel(n_agents=500, rng=1)
    model.step()
    first = panels.live_panel(panels.MEMBERSHIP, model)
    assert len(first.update(model).axes[0].get_lines()[0].get_xdata()) == 1
    model.step()
    assert panels.live_panel(panels.MEMBERSHIP, model) is first
    assert len(panels.panel_figure(panels.MEMBERSHIP, model).axes[0].get_lines()[0].get_xdata()) == 2


# ----------------------------------------------------------------------------- controls
def test_every_control_is_a_model_parameter_under_its_own_name_with_its_default():
    params = controls.model_params()
    assert set(params) == {"preset", "rng", *controls.CONTROLLED_PARAMETERS}
    assert params["preset"]["values"] == list(PRESETS)
    for name in controls.CONTROLLED_PARAMETERS:
        parameter = get_parameter(name)
        expected = controls.VIEW_AGENTS if name == "n_agents" else parameter.default
        assert params[name]["value"] == expected
        if parameter.choices is not None:
            assert params[name]["values"] == list(parameter.choices)


def test_every_slider_stays_inside_its_parameters_allowed_range():
    for name, control in controls.model_params().items():
        if name in ("preset", "rng") or control["type"] == "Select":
            continue
        parameter = get_parameter(name)
        assert parameter.low <= control["min"] < control["max"] <= parameter.high, name
        assert control["min"] <= control["value"] <= control["max"], name


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_any_slider_position_is_a_value_the_model_accepts(data):
    name = data.draw(st.sampled_from(["fee_rate", "annual_cap_cny", "contagion_strength", "price_sensitivity"]))
    low, high = controls.slider_span(name)
    value = data.draw(st.floats(min_value=low, max_value=high))
    arguments = controls.model_arguments("default", {name: value, "n_agents": 300})
    assert get_parameter(name).validate(arguments[name]) == value


def test_a_control_left_at_its_default_leaves_the_presets_value_and_a_moved_one_overrides_it():
    values = {name: c["value"] for name, c in controls.model_params(n_agents=1_000).items() if name != "preset"}
    model = MutualAidModel(**controls.model_arguments("no_cap", values))
    assert model.params["annual_cap_cny"] == math.inf and model.params["n_agents"] == 1_000
    values["annual_cap_cny"] = 100.0
    assert MutualAidModel(**controls.model_arguments("no_cap", values)).params["annual_cap_cny"] == 100.0
    assert MutualAidModel(**controls.model_arguments("age_banded", values)).params["sharing_rule"] == "age_banded"


def test_a_control_value_outside_what_is_allowed_names_the_parameter():
    with pytest.raises(ParameterError, match="fee_rate"):
        controls.model_arguments("default", {"fee_rate": 1.5})
    with pytest.raises(ParameterError, match="unknown preset 'nope'"):
        controls.model_arguments("nope", {})
    with pytest.raises(ParameterError, match="n_agents=3000000 is outside the app's slider span"):
        controls.control_of("n_agents", 3_000_000)
    with pytest.raises(ParameterError, match="unknown parameter 'fee'"):
        controls.control_of("fee")


# ----------------------------------------------------------------------------- the market
def test_in_a_market_model_the_panels_show_the_plan_picked_and_every_platforms_members():
    from huzhu.viz import market_view, selection

    model = MutualAidModel(preset="market", n_agents=3_000, rng=2)
    for _ in range(80):  # to mid 2019: every platform but Meituan open, Xianghubao in its first year
        model.step()
    try:
        for key in ("waterdrop.critical_illness", "xianghubao.critical_illness"):
            selection.plan_shown.set(key)
            table = next(pool for pool in model.pools if pool.key == key).results()
            membership = panels.panel_figure(panels.MEMBERSHIP, model)
            np.testing.assert_allclose(_line(membership, 0, "members"), table["members"] / 1e6)
        figure = market_view.platforms_figure(model)
        industry = model.industry_results()
        labels = [line.get_label() for line in figure.axes[0].get_lines()]
        assert labels == [*dict.fromkeys(industry.platform[industry.platform != "all"]), "any platform"]
        everyone = industry[industry.platform == "all"]
        np.testing.assert_allclose(figure.axes[0].get_lines()[-1].get_ydata(), everyone.members / 1e6)
    finally:
        selection.plan_shown.set("")


def test_a_one_plan_model_shows_the_modelled_plan_whatever_was_picked(stepped):
    from huzhu.viz import selection

    selection.plan_shown.set("waterdrop.critical_illness")
    try:
        assert selection.shown_pool(stepped) is stepped.pool
    finally:
        selection.plan_shown.set("")
