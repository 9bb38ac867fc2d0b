"""Money and people invariants of the books, checked on small complete runs."""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from huzhu import MemberAgent, MutualAidModel
from huzhu.agents.population import NO_PERIOD
from huzhu.agents.sharing import ChargeSignal
from huzhu.agents.states import ExitReason, State

EXIT_COLUMNS = ("exits_price", "exits_contagion", "exits_other", "exits_ill_in_waiting", "exits_closure")
REL = 1e-9
ABS_CNY = 1e-6

# (id, seed, keyword arguments). Each run is a complete model to settlement.
RUNS = [
    ("default_3k", 1, dict(n_agents=3_000)),
    ("default_10k", 2, dict(n_agents=10_000)),
    ("cap_20", 3, dict(n_agents=5_000, annual_cap_cny=20.0)),
    ("subsidy_0.3", 4, dict(n_agents=5_000, platform_subsidy_share=0.3)),
    ("age_banded", 5, dict(n_agents=5_000, sharing_rule="age_banded")),
    ("member_floor_0.9", 6, dict(n_agents=5_000, closure_rule="member_floor", closure_member_floor=0.9)),
    ("threshold_contagion", 7, dict(n_agents=4_000, preset="threshold_contagion")),
    # Relatives a generation away, enrolled by half the joiners.
    ("generation_family", 10, dict(n_agents=4_000, relative_choice="generation", family_enrolment_prob=0.5)),
    ("no_cap_homogeneous", 8, dict(n_agents=4_000, preset="homogeneous_risk", annual_cap_cny=float("inf"))),
    # Unscreened, five times the covered illness: many claims, capped at 20 CNY; a 6-month
    # wait, so that many members fall ill in it after paying shares and are refunded.
    (
        "high_risk_cap_20",
        9,
        dict(
            n_agents=5_000,
            select_risk_factor_at_joining=1.0,
            covered_illness_factor=5.0,
            annual_cap_cny=20.0,
            waiting_periods=12,
        ),
    ),
]


@dataclass
class Run:
    model: MutualAidModel
    table: pd.DataFrame
    periods: list = field(default_factory=list)
    states: list = field(default_factory=list)
    exit_reasons: list = field(default_factory=list)
    join_periods: list = field(default_factory=list)
    view_state_counts: list = field(default_factory=list)
    paid_in_capped_periods: list = field(default_factory=list)  # (period, year, cap, max paid this year)
    contributions_by_year: dict = field(default_factory=dict)
    year_to_date_gap: list = field(default_factory=list)  # max |paid_this_year - shares paid since 1 Jan|, CNY
    membership_refunds: list = field(default_factory=list)  # shares paid since joining by the ill in waiting, CNY


def _run(seed: int, kwargs: dict) -> Run:
    model = MutualAidModel(rng=seed, **kwargs)
    pop = model.population
    run = Run(model=model, table=pd.DataFrame())
    last_year_contrib = pop.contributions_cny.copy()
    contrib_at_join = np.zeros(pop.n_agents)
    previous_join = pop.join_period.copy()
    while model.running:
        period = model.period
        year = model.calendar.date(period).year
        model.step()
        ill = np.flatnonzero((pop.exit_period == period) & (pop.exit_reason == ExitReason.ILL_IN_WAITING))
        run.membership_refunds.append(
            (pop.contributions_cny[ill] - contrib_at_join[ill]).sum() * model.people_per_agent
        )
        joined = pop.join_period != previous_join
        contrib_at_join[joined] = pop.contributions_cny[joined]  # the period's shares are charged before anyone joins
        previous_join = pop.join_period.copy()
        run.periods.append(period)
        run.states.append(pop.state.copy())
        run.exit_reasons.append(pop.exit_reason.copy())
        run.join_periods.append(pop.join_period.copy())
        views = model.agents_by_type[MemberAgent]
        run.view_state_counts.append(Counter(int(agent.state) for agent in views))
        cap = model.platform.cap_in_force(year)
        if np.isfinite(cap):
            run.paid_in_capped_periods.append((period, year, cap, float(pop.paid_this_year_cny.max())))
        run.year_to_date_gap.append(
            float(np.abs(pop.paid_this_year_cny - (pop.contributions_cny - last_year_contrib)).max())
        )
        next_year = model.calendar.date(model.period).year
        if next_year != year or not model.running:
            run.contributions_by_year[year] = pop.contributions_cny - last_year_contrib
            last_year_contrib = pop.contributions_cny.copy()
    run.table = model.results()
    return run


_RUN_CACHE: dict[str, Run] = {}


def _get(name: str) -> Run:
    if name not in _RUN_CACHE:
        _, seed, kwargs = next(r for r in RUNS if r[0] == name)
        _RUN_CACHE[name] = _run(seed, kwargs)
    return _RUN_CACHE[name]


@pytest.fixture(params=[r[0] for r in RUNS])
def run(request) -> Run:
    return _get(request.param)


@pytest.fixture(params=[r[0] for r in RUNS if r[2].get("annual_cap_cny", 188.0) != float("inf")])
def capped_run(request) -> Run:
    """Runs with a cap in some year (every run but the uncapped one)."""
    return _get(request.param)


def _agents(column: pd.Series, scale: float) -> np.ndarray:
    """A people column as whole agent counts (people counts are agents times people_per_agent)."""
    agents = column.to_numpy(dtype=float) / scale
    np.testing.assert_allclose(agents, np.rint(agents), rtol=0, atol=1e-6)
    return np.rint(agents).astype(np.int64)


# ------------------------------------------------------------------ money


def test_money_is_conserved_every_period(run):
    t = run.table
    np.testing.assert_allclose(t.collected + t.platform_subsidy, t.shared_total, rtol=REL, atol=ABS_CNY)


def test_each_period_shares_last_periods_payouts_and_fee(run):
    """The published formula: (payouts + fee) / members; refunds are the platform's cost."""
    t = run.table
    fee_rate = run.model.params["fee_rate"]
    assert t.shared_total.iloc[0] == 0 and t.fee_revenue.iloc[0] == 0
    prev_payouts = t.payouts.to_numpy()[:-1]
    fee = t.fee_revenue.to_numpy()[1:]
    np.testing.assert_allclose(fee, fee_rate * prev_payouts, rtol=REL, atol=ABS_CNY)
    np.testing.assert_allclose(t.shared_total.to_numpy()[1:], prev_payouts + fee, rtol=REL, atol=ABS_CNY)


def test_every_benefit_paid_is_shared_by_the_end_and_refunds_are_the_platforms(run):
    t = run.table
    assert t.payouts.sum() == pytest.approx((t.shared_total - t.fee_revenue).sum(), rel=REL, abs=ABS_CNY)
    assert run.model.platform.totals["refunds"] == pytest.approx(t.refunds.sum(), rel=REL, abs=ABS_CNY)


def test_per_agent_contributions_agree_with_the_books(run):
    model = run.model
    ledger = model.population.contributions_cny.sum() * model.people_per_agent
    assert ledger == pytest.approx(run.table.collected.sum(), rel=REL, abs=ABS_CNY)


def test_no_account_is_ever_negative(run):
    t = run.table
    for column in ("collected", "platform_subsidy", "cap_subsidy", "fee_revenue", "payouts", "refunds", "shared_total"):
        assert (t[column] >= -ABS_CNY).all(), column


def test_platform_pays_at_least_its_subsidy_share(run):
    t = run.table
    share = run.model.params["platform_subsidy_share"]
    assert (t.platform_subsidy >= share * t.shared_total * (1 - REL) - ABS_CNY).all()


def test_no_member_pays_more_than_the_annual_cap_in_a_capped_year(capped_run):
    run = capped_run
    assert run.paid_in_capped_periods
    for period, year, cap, paid in run.paid_in_capped_periods:
        assert paid <= cap + 1e-9, f"period {period} ({year}): paid {paid} > cap {cap}"


def test_contributions_within_a_capped_year_stay_under_the_cap(capped_run):
    run = capped_run
    checked = 0
    for year, paid in run.contributions_by_year.items():
        cap = run.model.platform.cap_in_force(year)
        if np.isfinite(cap):
            assert paid.max() <= cap + 1e-9, year
            checked += 1
    assert checked


def test_paid_this_year_is_what_the_member_paid_since_1_january(run):
    assert max(run.year_to_date_gap) <= 1e-9


@pytest.mark.parametrize("name", ["cap_20", "high_risk_cap_20"])
def test_a_20_cny_cap_binds_so_the_platform_pays_a_cap_subsidy(name):
    t = _get(name).table
    assert (t.cap_subsidy > 0).any()


def test_members_pay_nothing_after_the_closure_announcement(run):
    t = run.table
    after = t.period >= run.model.platform.announced_period
    assert after.any()
    assert (t.collected[after] == 0).all()
    np.testing.assert_allclose(t.platform_subsidy[after], t.shared_total[after], rtol=REL, atol=ABS_CNY)


def test_nobody_joins_after_the_closure_announcement(run):
    t = run.table
    assert (t.joins[t.period >= run.model.platform.announced_period] == 0).all()


def test_member_floor_rule_announces_closure_before_the_dated_announcement():
    model = _get("member_floor_0.9").model
    dated = model.calendar.period_of(model.params["closure_announced_date"])
    assert model.platform.announced_period < dated
    assert len(model.results()) < model.n_periods


def test_high_risk_run_pays_benefits_and_refunds():
    t = _get("high_risk_cap_20").table
    assert (t.payouts > 0).sum() >= 5
    assert (t.refunds > 0).any()


def test_refunds_return_what_the_ill_in_waiting_paid_during_that_membership(run):
    np.testing.assert_allclose(run.table.refunds, run.membership_refunds, rtol=REL, atol=ABS_CNY)


def test_a_rejoined_member_ill_in_waiting_is_refunded_only_this_memberships_shares():
    model = MutualAidModel(n_agents=300, rng=0, select_risk_factor_at_joining=1.0)
    pop = model.population
    i = 0
    pop.state[:] = State.OUTSIDER
    pop.age_years[i] = 30.0
    pop.frailty[i] = np.float32(1e30)  # falls ill with certainty
    m, (record,) = pop.memberships, pop.memberships.open(pop.plan_number, [i])
    pop.state[i], m.exit_reason[record] = State.EXITED, ExitReason.PRICE
    m.first_join_period[record], m.join_period[record], m.exit_period[record] = 0, 0, 20
    m.contributions_cny[record] = 150.0  # shares paid while covered in the earlier membership
    pop.enter(np.array([i]), period=30)
    m.contributions_cny[record] += 20.0  # shares paid in the new membership's waiting period
    m.paid_this_membership_cny[record] += 20.0
    ill = pop.fall_ill_then_decide_to_stay(period=31, signal=ChargeSignal(), cap_cny=np.inf)
    assert list(ill["ill_in_waiting"]) == [i]
    assert ill["refunds_cny"][0] == pytest.approx(20.0)


# ------------------------------------------------------------------ people


def test_member_count_changes_by_joins_minus_exits_claims_and_aged_out(run):
    t, scale = run.table, run.model.people_per_agent
    members = _agents(t.members, scale)
    change = np.diff(members, prepend=0)
    flow = _agents(t.joins, scale) - _agents(t.exits, scale) - _agents(t.claims, scale) - _agents(t.aged_out, scale)
    np.testing.assert_array_equal(change, flow)


def test_members_are_waiting_plus_covered(run):
    t = run.table
    np.testing.assert_allclose(t.members, t.waiting + t.covered, rtol=REL, atol=0)


def test_exits_are_the_sum_of_exits_by_reason(run):
    t, scale = run.table, run.model.people_per_agent
    by_reason = sum(_agents(t[c], scale) for c in EXIT_COLUMNS)
    np.testing.assert_array_equal(_agents(t.exits, scale), by_reason)


def test_family_joins_are_part_of_joins(run):
    t = run.table
    assert (t.joins_family <= t.joins).all()


def test_claims_of_the_family_enrolled_are_part_of_the_claims(run):
    t = run.table
    assert (t.claims_family <= t.claims).all()
    assert (t.expected_claims_family <= t.expected_claims * (1 + REL)).all()
    assert (t.expected_claims_family >= 0).all()


def test_the_family_enrolled_are_those_whose_last_join_was_by_a_relative(run):
    # Every member flagged joined in a period with family joins; none flagged who never joined.
    pop, t = run.model.population, run.table
    flagged = pop.enrolled_by_family
    assert not (flagged & (pop.first_join_period == NO_PERIOD)).any()
    family_periods = set(t.period[t.joins_family > 0])
    assert set(np.unique(pop.join_period[flagged])) <= family_periods


def test_every_agent_is_in_exactly_one_state_after_every_step(run):
    n = run.model.params["n_agents"]
    for period, state in zip(run.periods, run.states, strict=True):
        counts = np.bincount(state, minlength=len(State))
        assert len(counts) == len(State), f"period {period}: unknown state code"
        assert counts.sum() == n


def test_state_and_exit_reason_agree_after_every_step(run):
    ended_for_exit = [
        ExitReason.PRICE,
        ExitReason.CONTAGION,
        ExitReason.OTHER,
        ExitReason.ILL_IN_WAITING,
        ExitReason.CLOSURE,
    ]
    for period, state, reason, joined in zip(run.periods, run.states, run.exit_reasons, run.join_periods, strict=True):
        exited = state == State.EXITED
        assert np.isin(reason[exited], ended_for_exit).all(), period
        assert (reason[state == State.CLAIMED] == ExitReason.CLAIM).all(), period
        members = (state == State.WAITING) | (state == State.COVERED)
        assert (joined[members] >= 0).all() and (joined[members] <= period).all(), period
        outsiders = state == State.OUTSIDER
        assert (joined[outsiders] == -1).all(), period
        assert (reason[outsiders] == ExitReason.NONE).all(), period
        assert (joined[exited | (state == State.CLAIMED)] >= 0).all(), period


def test_members_are_covered_exactly_when_their_waiting_period_is_over(run):
    waiting_periods = run.model.params["waiting_periods"]
    for period, state, joined in zip(run.periods, run.states, run.join_periods, strict=True):
        served = period - joined
        assert (served[state == State.COVERED] >= waiting_periods).all(), period
        assert (served[state == State.WAITING] < waiting_periods).all(), period


def test_cumulative_aided_is_the_running_sum_of_the_cases_announced(run):
    t = run.table
    np.testing.assert_allclose(t.cumulative_aided, t.cases_announced.cumsum(), rtol=REL, atol=0)


def test_a_claim_is_announced_the_lag_after_its_diagnosis_and_every_claim_by_the_last_covered_period(run):
    """The investigation delays the announcement by `claim_announcement_lag_periods`; the
    claims still under investigation when the plan ends are all announced in its last
    covered period, so every diagnosis is paid and shared."""
    t = run.table.set_index("period")
    lag = run.model.params["claim_announcement_lag_periods"]
    assert lag > 0, "the default lag is the case worth testing"
    end = run.model.platform.end_period
    for diagnosed, announced in (("claims", "cases_announced"), ("expected_claims", "expected_cases_announced")):
        before_end = t.index[(t.index >= lag) & (t.index < end)]
        np.testing.assert_allclose(
            t.loc[before_end, announced].to_numpy(), t.loc[before_end - lag, diagnosed].to_numpy(), rtol=REL, atol=1e-9
        )
        assert (t.loc[t.index < lag, announced] == 0).all()
        outstanding = t.loc[(t.index > end - lag) & (t.index <= end), diagnosed].sum()
        assert t.loc[end, announced] == pytest.approx(t.loc[end - lag, diagnosed] + outstanding, rel=REL, abs=1e-9)
        assert t[announced].sum() == pytest.approx(t[diagnosed].sum(), rel=REL, abs=1e-9)


def test_the_expected_claim_accounts_follow_the_sharing_rule_of_the_realised_ones(run):
    """The Poisson-free columns apply the same rule to each period's expected claims: the fee
    on last period's expected benefits, the members' part of it shared among the sharers,
    nothing asked once the platform pays every share, aided as the running sum."""
    t = run.table
    params = run.model.params
    fee_rate = params["fee_rate"]
    assert t.expected_shared_total.iloc[0] == 0
    np.testing.assert_allclose(t.expected_fee_revenue, fee_rate / (1 + fee_rate) * t.expected_shared_total, rtol=REL)
    np.testing.assert_allclose(t.expected_cumulative_aided, t.expected_cases_announced.cumsum(), rtol=REL, atol=1e-9)
    announced = run.model.platform.announced_period  # the dated one, or earlier by the closure rule
    paying = (t.period < announced) & (t.sharers > 0)
    asked = (1 - params["platform_subsidy_share"]) * t.expected_shared_total[paying]
    np.testing.assert_allclose(t.expected_share_per_member[paying] * t.sharers[paying], asked, rtol=REL)
    assert (t.expected_share_per_member[t.period >= announced] == 0).all()
    # Nobody is covered before the first joiners' waiting period is over.
    assert (t.expected_claims[t.period < params["waiting_periods"]] == 0).all()
    assert t.expected_claims[t.period == params["waiting_periods"]].item() > 0


def test_expected_claims_are_the_mean_of_the_realised_claims():
    """A conditional expectation keeps the mean: over a run's operating years the realised
    agent-claims lie within Poisson noise of their expected number (|z| < 4)."""
    # Unscreened members at five times the covered illness: enough claims to test.
    model = MutualAidModel(n_agents=100_000, rng=11, select_risk_factor_at_joining=1.0, covered_illness_factor=5.0)
    t = model.run()
    scale = model.people_per_agent
    realised, expected = t.claims.sum() / scale, t.expected_claims.sum() / scale
    assert expected > 300, "too few claims for the comparison to have power"
    assert abs(realised - expected) / np.sqrt(expected) < 4, (realised, expected)
    # Benefits: every period's expected benefits are shared the next period, with the fee.
    expected_payouts = t.expected_shared_total.sum() / (1 + model.params["fee_rate"])
    # Compound Poisson: sd = sqrt(n E[B^2]) <= sqrt(n) x the largest benefit, n agent-claims.
    largest_cny = max(model.params["benefit_young_cny"], model.params["benefit_old_cny"]) * scale
    z = (t.payouts.sum() - expected_payouts) / (largest_cny * np.sqrt(expected))
    assert abs(z) < 4, (t.payouts.sum(), expected_payouts)


def test_everyone_aided_stays_claimed(run):
    model = run.model
    claimed = np.count_nonzero(model.population.state == State.CLAIMED)
    assert claimed * model.people_per_agent == pytest.approx(run.table.claims.sum(), rel=REL)


def test_nobody_is_a_member_at_the_end(run):
    assert run.table.members.iloc[-1] == 0
    assert not run.model.population.is_member().any()
    assert not run.model.running


def test_member_agent_views_count_the_same_states_as_the_arrays(run):
    for period, state, view_counts in zip(run.periods, run.states, run.view_state_counts, strict=True):
        counts = np.bincount(state, minlength=len(State))
        assert [view_counts.get(s, 0) for s in range(len(State))] == counts.tolist(), period
