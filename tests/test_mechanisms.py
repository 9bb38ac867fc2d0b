"""Claims about the model's mechanisms, each one a paper could state.

Runs use 100,000 agents and seeds 1-3 (a few seconds each, cached across tests). Each
tolerance is set from the seed-to-seed spread measured over seeds 1-5 at this size,
quoted beside the assertion.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from mechanism_metrics import cost_growth, cost_growth_since_peak

from huzhu import MutualAidModel
from huzhu.agents.states import ExitReason, State
from huzhu.experiments.exit_clustering import leaver_tie_excess

N_AGENTS = 100_000
SEEDS = (1, 2, 3)
SCENARIOS = {
    "default": {},
    "no_contagion": {"contagion_model": "none"},
    "threshold_contagion": {"contagion_model": "threshold"},
    "homogeneous_risk": {"preset": "homogeneous_risk", "contagion_model": "none"},
    # The same, with risks that differ: the only change is the risk structure.
    "heterogeneous_risk": {
        "contagion_model": "none",
        "select_risk_factor_at_joining": 1.0,
        "risk_perception_sigma": 0.0,
    },
    "age_banded": {"sharing_rule": "age_banded"},
    # The calibrated scenario, with and without exit contagion.
    "xianghubao": {"preset": "xianghubao"},
    "xianghubao_no_contagion": {"preset": "xianghubao", "contagion_model": "none"},
}


@cache
def run(scenario: str, seed: int) -> MutualAidModel:
    model = MutualAidModel(n_agents=N_AGENTS, rng=seed, **SCENARIOS[scenario])
    model.run()
    return model


def table(scenario: str, seed: int) -> pd.DataFrame:
    return run(scenario, seed).results()


def before_announcement(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["date"] < "2021-12-16"]


@pytest.mark.parametrize("seed", SEEDS)
def test_membership_rises_fast_peaks_and_declines_before_closure(seed):
    t = before_announcement(table("default", seed))
    peak = t["members"].idxmax()
    # Seeds 1-5: 0.17-0.21 of the peak joins in the first period (launch campaign), the
    # peak falls in 2019-12..2020-11, 0.72-0.87 of the peak is left at the announcement.
    assert t["members"].iloc[0] > 0.15 * t["members"].max()
    assert pd.Timestamp("2019-06-01") <= t.loc[peak, "date"] <= pd.Timestamp("2021-06-01")
    assert t["members"].iloc[-1] < 0.9 * t["members"].max()


@pytest.mark.parametrize("seed", SEEDS)
def test_cost_per_member_grows_over_an_order_of_magnitude_from_first_sharing_to_2021(seed):
    # Expected cost is the Poisson-free counterpart of the share; seeds 1-5: 11.0-11.7.
    assert cost_growth(table("default", seed)) > 10


def test_realised_share_per_member_grows_with_the_expected_cost():
    # The realised share is noisy at this size (a few cases a period), so pool seeds.
    tables = [table("default", s) for s in SEEDS]
    first = np.mean([t[t["date"].dt.year == 2019]["share_per_member"].mean() for t in tables])
    last = np.mean(
        [t[(t["date"] >= "2020-12-01") & (t["date"] < "2021-12-01")]["share_per_member"].mean() for t in tables]
    )
    assert last > 2.5 * first


def test_equal_sharing_over_equal_risks_has_no_death_spiral():
    # Expected cost per member, year before announcement over year after the peak.
    # Seeds 1-5: homogeneous 1.00-1.06; heterogeneous 1.26-1.32.
    homogeneous = [cost_growth_since_peak(table("homogeneous_risk", s)) for s in SEEDS]
    heterogeneous = [cost_growth_since_peak(table("heterogeneous_risk", s)) for s in SEEDS]
    assert max(homogeneous) < 1.08
    assert min(heterogeneous) > 1.15


# Mean risk of price leavers over that of stayers: default 0.66 (seed 1; seeds 1-5 gave
# 0.61-0.70 before joining fell with age); calibrated scenario 0.78-0.83 (seeds 1-5, mean
# 0.81, sd 0.017; its members weigh small risks up, probability weighting 0.88, so risk
# sorts them less than in the default). The default's bound is its largest plus about four
# times its spread; the calibrated scenario's, 0.87, its largest plus two standard
# deviations (three above the mean): low risks leave first, if less sharply.
LOW_RISK_RATIO = {"default": 0.85, "xianghubao": 0.87}


@pytest.mark.parametrize("scenario", LOW_RISK_RATIO)
@pytest.mark.parametrize("seed", SEEDS)
def test_low_risk_members_leave_first(scenario, seed):
    population = run(scenario, seed).population
    risk = population.annual_risk()
    left_over_price = population.exit_reason == ExitReason.PRICE
    stayed_to_closure = population.exit_reason == ExitReason.CLOSURE
    assert risk[left_over_price].mean() < LOW_RISK_RATIO[scenario] * risk[stayed_to_closure].mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_adverse_selection_rises_while_members_leave(seed):
    t = before_announcement(table("default", seed))
    peak = t["members"].idxmax()
    # Seeds 1-5: index 1.11-1.13 at the peak, 1.25-1.31 at the announcement.
    assert t["adverse_selection_index"].iloc[-1] > t.loc[peak, "adverse_selection_index"] + 0.05


def test_age_banded_sharing_curbs_adverse_selection():
    # Seeds 1-5 at the announcement: equal 1.25-1.31, age-banded 0.75-0.80.
    equal = [before_announcement(table("default", s))["adverse_selection_index"].iloc[-1] for s in SEEDS]
    banded = [before_announcement(table("age_banded", s))["adverse_selection_index"].iloc[-1] for s in SEEDS]
    assert max(banded) < min(equal) - 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_exits_cluster_on_the_network_beyond_a_degree_preserving_shuffle(seed):
    # Ties between two agents who left within 4 periods of each other, over the same
    # count in shuffles that keep every degree. Seeds 1-5: no contagion 1.07-1.12
    # (joining by word of mouth also clusters tenure), hazard contagion 1.27-1.35
    # (paired by seed, 0.19-0.25 above no contagion), threshold contagion 2.80-3.26.
    shuffle_rng = np.random.default_rng(0)
    none = leaver_tie_excess(run("no_contagion", seed), shuffle_rng, window_periods=4)
    hazard = leaver_tie_excess(run("default", seed), shuffle_rng, window_periods=4)
    threshold = leaver_tie_excess(run("threshold_contagion", seed), shuffle_rng, window_periods=4)
    assert hazard > none + 0.05
    assert threshold > 2.0


def test_contagion_exits_happen_only_when_contagion_is_on():
    assert table("no_contagion", 1)["exits_contagion"].sum() == 0
    assert table("default", 1)["exits_contagion"].sum() > 0
    assert table("threshold_contagion", 1)["exits_contagion"].sum() > 0


def test_members_consider_insurance_more_than_non_members():
    # Nankai survey, end 2019: 51.5% of members vs ~20% of non-members. Seeds 1-5 at
    # 2019-12-16: members 0.47-0.48, non-members 0.20-0.21.
    for seed in SEEDS:
        row = table("default", seed).set_index("date").loc["2019-12-16"]
        assert 0.40 < row["consider_rate_members"] < 0.60
        assert 0.15 < row["consider_rate_nonmembers"] < 0.27
        assert row["consider_rate_members"] > row["consider_rate_nonmembers"] + 0.15


def test_a_binding_cap_makes_the_platform_pay_the_excess():
    capped = MutualAidModel(n_agents=20_000, rng=1, annual_cap_cny=20.0).run()
    uncapped = MutualAidModel(n_agents=20_000, rng=1, annual_cap_cny=float("inf")).run()
    capped_years = capped["date"].dt.year.isin([2019, 2020])
    assert capped.loc[capped_years, "cap_subsidy"].sum() > 0
    assert capped.loc[~capped_years, "cap_subsidy"].sum() == 0  # the cap lapses after 2020
    assert uncapped["cap_subsidy"].sum() == 0


def test_minors_join_only_when_a_relative_enrols_them():
    without_family = MutualAidModel(n_agents=20_000, rng=1, family_enrolment_prob=0.0)
    with_family = MutualAidModel(n_agents=20_000, rng=1)
    for model in (without_family, with_family):
        for _ in range(12):
            model.step()

    def minors(m):
        return np.count_nonzero(m.population.is_member() & (m.population.age_years < m.params["adult_age_years"]))

    assert minors(without_family) == 0
    assert minors(with_family) > 0


def _family_enrolled_in_2019(parent_share: float, seed: int) -> dict:
    """Relatives a generation away, all parents or all children: the family-enrolled
    members' mean age at the end of 2019 against the others', and their share of the
    expected claims over their share of member-periods, launch to the end of 2019."""
    model = MutualAidModel(n_agents=20_000, rng=seed, relative_choice="generation", family_parent_share=parent_share)
    pop = model.population
    family_periods = member_periods = 0
    while model.date.year < 2020:
        model.step()
        members = pop.is_member()
        family_periods += np.count_nonzero(members & pop.enrolled_by_family)
        member_periods += np.count_nonzero(members)
    table = model.results()
    members = pop.is_member()
    claim_share = table.expected_claims_family.sum() / table.expected_claims.sum()
    return {
        "age_family": pop.age_years[members & pop.enrolled_by_family].mean(),
        "age_own": pop.age_years[members & ~pop.enrolled_by_family].mean(),
        "claims_per_member_ratio": claim_share / (family_periods / member_periods),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_enrolled_parents_claim_more_than_their_numbers_and_enrolled_children_less(seed):
    # Seeds 1-3 at 20,000 agents: parents only, ratio 2.49-2.91 and mean age 53.2-53.9
    # against the joiners' 36.2-36.5; children only, 0.15-0.17 and 12.7-13.0. The bounds
    # sit several seed-to-seed spreads from the values and far from 1 (no difference).
    parents, children = _family_enrolled_in_2019(1.0, seed), _family_enrolled_in_2019(0.0, seed)
    assert parents["claims_per_member_ratio"] > 2.0
    assert children["claims_per_member_ratio"] < 0.3
    assert parents["age_family"] > parents["age_own"] + 10
    assert children["age_family"] < 18


def test_nobody_ill_in_the_waiting_period_ever_rejoins():
    # Without the select effect, illness in the waiting period is common enough to test.
    population = run("heterogeneous_risk", 1).population
    ill_in_waiting = population.exit_reason == ExitReason.ILL_IN_WAITING
    assert ill_in_waiting.any()
    assert np.all(population.join_period[ill_in_waiting] <= population.exit_period[ill_in_waiting])
    assert not np.any(np.isin(population.state[ill_in_waiting], [State.WAITING, State.COVERED]))


def test_a_member_floor_closes_the_plan_early():
    floor = MutualAidModel(n_agents=20_000, rng=1, closure_rule="member_floor", closure_member_floor=0.95)
    t = floor.run()
    dated = table("default", 1)
    assert t["date"].iloc[-1] < dated["date"].iloc[-1]
    last_open = t[t["members"] > 0]["members"].iloc[-1]
    assert last_open < 0.95 * t["members"].max()
    assert t["exits_closure"].sum() > 0


# ----------------------------------------------------------------------------- the calibrated scenario
def test_in_the_calibrated_scenario_contagion_clusters_exits():
    # Seeds 1-5: leaver-leaver ties within 4 periods over shuffles 1.07-1.13 with contagion,
    # 1.05-1.09 without; paired by seed 0.013-0.048 above (mean 0.039, sd 0.015; the
    # calibrated contagion strength, 0.19, is a quarter of its span's bound). Every seed's
    # excess is positive, and the mean of seeds 1-3 (0.034) lies over 2 standard errors of
    # a mean of three (0.009) above 0.01.
    excess = []
    for seed in SEEDS:
        shuffle_rng = np.random.default_rng(0)
        none = leaver_tie_excess(run("xianghubao_no_contagion", seed), shuffle_rng, window_periods=4)
        hazard = leaver_tie_excess(run("xianghubao", seed), shuffle_rng, window_periods=4)
        excess.append(hazard - none)
    assert min(excess) > 0, excess
    assert np.mean(excess) > 0.01, excess


@pytest.mark.parametrize("seed", SEEDS)
def test_in_the_calibrated_scenario_the_2020_pool_does_not_revolve(seed):
    t = table("xianghubao", seed)
    year = t[t["date"].dt.year == 2020]
    voluntary = year[["exits_price", "exits_contagion", "exits_other"]].sum().sum()
    # The calibration holds voluntary exits at a third of the mean members less a margin,
    # and its fit presses against that: seeds 1-5 give 0.314-0.326 (mean 0.320, sd 0.0045).
    # Two points over a third still fails the revolving doors of fits without it (0.45-0.78).
    assert voluntary < year["members"].mean() * (1 / 3 + 0.02)


@pytest.mark.parametrize("seed", SEEDS)
def test_in_the_calibrated_scenario_the_2020_pool_stays_flat(seed):
    # The record: 104M in April 2020, a mean sharing pool of 108.8M over 2020. Seeds 1-5: the
    # pool grows by 2.9% to 3.5% from April to December 2020; within 10% is the record's
    # flat pool.
    year = table("xianghubao", seed).query("date.dt.year == 2020")
    assert abs(year["members"].iloc[-1] / year["members"].iloc[6] - 1) < 0.1
