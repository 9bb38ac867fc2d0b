"""The rule functions of agents/ against the equations of docs/ODD.md section 7.

Each expected value is computed here from the ODD equation written out independently
(e.g. the logistic of a log ratio as c^s / (c^s + w^s)), not copied from a run.
Property-based tests use hypothesis with at most 100 examples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from huzhu.agents import cross_sell, illness, joining, leaving, sharing, valuation
from huzhu.agents.states import ExitReason
from huzhu.model import incidence
from huzhu.model.calendar import PERIODS_PER_YEAR

PROPERTY = settings(max_examples=100, deadline=None)

positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
sensitivity = st.floats(min_value=0.05, max_value=20.0, allow_nan=False, allow_infinity=False)
share01 = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)
hazard = st.floats(min_value=0.0, max_value=5.0, allow_nan=False, allow_infinity=False)


# ----------------------------------------------------------------------------- valuation (ODD 7.1, 7.3)
def test_benefit_is_young_strictly_below_the_split_age_and_old_from_it():
    ages = np.array([0.0, 18.0, 39.999, 40.0, 40.001, 59.9])
    benefit = valuation.benefit_cny(ages, 300_000.0, 100_000.0, 40.0)
    np.testing.assert_array_equal(benefit, [300_000.0, 300_000.0, 300_000.0, 100_000.0, 100_000.0, 100_000.0])


def test_benefit_of_one_agent_is_the_same_rule_as_for_many():
    assert valuation.benefit_cny(39.5, 3.0, 1.0, 40.0) == 3.0
    assert valuation.benefit_cny(40.0, 3.0, 1.0, 40.0) == 1.0


@PROPERTY
@given(
    risk=st.floats(min_value=0.0, max_value=0.1),
    benefit=st.floats(min_value=0.0, max_value=1e6),
    insured=st.booleans(),
    income=st.floats(min_value=0.0, max_value=1e7),
    loading=st.floats(min_value=0.0, max_value=10.0),
    substitution=share01,
    afford=st.floats(min_value=0.0, max_value=0.1),
)
def test_willingness_to_pay_is_the_lesser_of_loaded_value_and_affordability(
    risk, benefit, insured, income, loading, substitution, afford
):
    wtp = valuation.willingness_to_pay(risk, benefit, insured, income, loading, substitution, afford, 1.0)
    value = loading * -math.expm1(-risk) * benefit * ((1.0 - substitution) if insured else 1.0)
    expected = min(value, afford * income)
    assert wtp == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_willingness_to_pay_falls_with_insurance_by_the_substitution_share():
    # Incomes high enough that affordability (0.004 x income) never binds.
    risk = np.array([0.001, 0.01, 0.02])
    income = np.full(3, 1e9)
    uninsured = valuation.willingness_to_pay(risk, 300_000.0, np.zeros(3, bool), income, 1.5, 0.3, 0.004, 1.0)
    insured = valuation.willingness_to_pay(risk, 300_000.0, np.ones(3, bool), income, 1.5, 0.3, 0.004, 1.0)
    np.testing.assert_allclose(uninsured, 1.5 * -np.expm1(-risk) * 300_000.0, rtol=1e-12)
    np.testing.assert_allclose(insured / uninsured, 1.0 - 0.3, rtol=1e-12)


def test_willingness_to_pay_is_capped_by_affordability_when_income_is_low():
    # Loaded value 1.5 x 0.01 x 300,000 = 4,500 CNY; 0.004 x 100,000 = 400 CNY binds.
    assert valuation.willingness_to_pay(0.01, 300_000.0, False, 100_000.0, 1.5, 0.3, 0.004, 1.0) == pytest.approx(400.0)


def test_decision_weight_is_tversky_kahneman_at_their_estimate_for_losses():
    # w(p) = p^g / (p^g + (1 - p)^g)^(1/g), written as exp(g ln p - ln(p^g + (1 - p)^g) / g).
    g = 0.69
    for p in (1e-4, 1e-3, 0.01, 0.3, 0.9):
        expected = math.exp(g * math.log(p) - math.log(p**g + (1 - p) ** g) / g)
        assert valuation.decision_weight(p, g) == pytest.approx(expected, rel=1e-12)
    # Small probabilities weigh more than they are, large ones less (the inverse S).
    assert valuation.decision_weight(0.001, g) > 0.001
    assert valuation.decision_weight(0.9, g) < 0.9


@PROPERTY
@given(p=share01, g=st.floats(min_value=0.28, max_value=2.0))
def test_decision_weight_keeps_certainty_and_impossibility(p, g):
    w = valuation.decision_weight(np.array([0.0, p, 1.0]), g)
    assert w[0] == 0.0 and w[2] == pytest.approx(1.0, rel=1e-12)
    assert 0.0 <= w[1] <= 1.0 + 1e-12


@PROPERTY
@given(p=st.floats(min_value=1e-6, max_value=0.05), factor=st.floats(min_value=1.01, max_value=10.0))
def test_decision_weight_below_one_narrows_the_ratio_of_two_small_risks(p, factor):
    # What the weighting does to members of different ages: a risk `factor` times another
    # is weighed less than `factor` times as much, but still more.
    ratio = valuation.decision_weight(p * factor, 0.69) / valuation.decision_weight(p, 0.69)
    assert 1.0 < ratio < factor


def test_decision_weight_of_one_is_the_probability_itself():
    p = np.array([0.0, 1e-5, 0.002, 0.5, 1.0])
    np.testing.assert_array_equal(valuation.decision_weight(p, 1.0), p)


def test_willingness_to_pay_weighs_the_perceived_risk():
    # Incomes high enough that affordability never binds: the value is loading x w(p) x
    # benefit, p the probability of falling ill within the year at the annual hazard 0.001.
    wtp = valuation.willingness_to_pay(0.001, 300_000.0, False, 1e12, 1.5, 0.3, 0.004, 0.69)
    p = -math.expm1(-0.001)
    assert wtp == pytest.approx(1.5 * valuation.decision_weight(p, 0.69) * 300_000.0, rel=1e-12)


@PROPERTY
@given(hazard=st.floats(min_value=0.0, max_value=50.0), g=st.floats(min_value=0.28, max_value=2.0))
def test_willingness_to_pay_is_finite_and_bounded_at_any_annual_hazard(hazard, g):
    # A frail old agent's annual hazard can exceed 1; the benefit is paid once, so the value
    # is at most loading x benefit, whatever the hazard and the weighting.
    wtp = valuation.willingness_to_pay(hazard, 300_000.0, False, 1e12, 1.5, 0.0, 0.004, g)
    assert np.isfinite(wtp)
    assert 0.0 <= wtp <= 1.5 * 300_000.0 * (1.0 + 1e-12)


def test_price_pressure_is_zero_at_zero_charge():
    wtp = np.array([0.0, 1.0, 50.0, 1e6])
    np.testing.assert_array_equal(valuation.price_pressure(np.zeros(4), wtp, 2.0), np.zeros(4))


@PROPERTY
@given(wtp=positive, s=sensitivity)
def test_price_pressure_is_one_half_when_charge_equals_willingness_to_pay(wtp, s):
    assert valuation.price_pressure(wtp, wtp, s) == 0.5


@PROPERTY
@given(charge=positive, wtp=positive, s=sensitivity)
def test_price_pressure_is_the_logistic_of_sensitivity_times_log_price_ratio(charge, wtp, s):
    # logistic(s (ln c - ln w)) = 1 / (1 + (w / c)^s), written without logs.
    expected = 1.0 / (1.0 + (wtp / charge) ** s)
    assert valuation.price_pressure(charge, wtp, s) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@PROPERTY
@given(charge=positive, factor=st.floats(min_value=1.001, max_value=100.0), wtp=positive, s=sensitivity)
def test_price_pressure_increases_in_charge_and_decreases_in_willingness_to_pay(charge, factor, wtp, s):
    base = valuation.price_pressure(charge, wtp, s)
    assert valuation.price_pressure(charge * factor, wtp, s) >= base
    assert valuation.price_pressure(charge, wtp * factor, s) <= base


def test_price_pressure_is_strictly_monotone_where_it_is_not_saturated():
    charges = np.geomspace(1.0, 1000.0, 200)
    pressure = valuation.price_pressure(charges, 30.0, 2.0)
    assert np.all(np.diff(pressure) > 0)
    wtps = np.geomspace(1.0, 1000.0, 200)
    assert np.all(np.diff(valuation.price_pressure(30.0, wtps, 2.0)) < 0)


@PROPERTY
@given(charge=positive, wtp=positive, s=sensitivity, factor=st.floats(min_value=1.01, max_value=10.0))
def test_price_pressure_moves_further_from_one_half_with_higher_sensitivity(charge, wtp, s, factor):
    assume(abs(math.log(charge / wtp)) > 1e-6)
    low = valuation.price_pressure(charge, wtp, s)
    high = valuation.price_pressure(charge, wtp, s * factor)
    if charge > wtp:
        assert high >= low > 0.5
    else:
        assert high <= low < 0.5


@pytest.mark.parametrize("s", [0.5, 2.0, 8.0])
def test_price_pressure_slope_at_the_midpoint_is_a_quarter_of_the_sensitivity(s):
    # d logistic(s x) / dx at x = 0 is s / 4, with x = ln(charge / wtp).
    h = 1e-5
    slope = (valuation.price_pressure(math.exp(h), 1.0, s) - valuation.price_pressure(math.exp(-h), 1.0, s)) / (2 * h)
    assert slope == pytest.approx(s / 4, rel=1e-6)


@PROPERTY
@given(
    charge=st.one_of(st.just(0.0), positive, st.floats(min_value=1e-300, max_value=1e300)),
    wtp=st.one_of(st.just(0.0), positive, st.floats(min_value=1e-300, max_value=1e300)),
    s=sensitivity,
)
def test_price_pressure_lies_in_the_unit_interval(charge, wtp, s):
    q = valuation.price_pressure(charge, wtp, s)
    assert 0.0 <= q <= 1.0


@PROPERTY
@given(charge=st.floats(min_value=1e-300, max_value=1e6), s=sensitivity)
def test_price_pressure_is_one_for_a_positive_charge_with_zero_willingness_to_pay(charge, s):
    assert valuation.price_pressure(charge, 0.0, s) == 1.0


@PROPERTY
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.just(0.0), positive), st.one_of(st.just(0.0), positive), sensitivity),
        min_size=1,
        max_size=20,
    )
)
def test_price_pressure_of_many_agents_equals_the_rule_applied_to_each(rows):
    charge, wtp, s = (np.array(column) for column in zip(*rows, strict=True))
    many = valuation.price_pressure(charge, wtp, s)
    one_by_one = [float(valuation.price_pressure(c, w, k)) for c, w, k in rows]
    assert many.shape == charge.shape
    np.testing.assert_array_equal(many, one_by_one)


def test_price_pressure_is_zero_at_zero_charge_even_with_zero_sensitivity():
    with np.errstate(all="raise"):
        assert valuation.price_pressure(0.0, 100.0, 0.0) == 0.0


def test_a_model_insensitive_to_price_still_fills_up():
    from huzhu import MutualAidModel

    table = MutualAidModel(n_agents=2_000, rng=1, price_sensitivity=0.0).run()
    assert table["joins"].iloc[0] > 0


def test_price_pressure_is_one_half_at_any_positive_charge_with_zero_sensitivity():
    # logistic(0 x ln(c / w)) = 1/2 for c, w > 0.
    np.testing.assert_array_equal(valuation.price_pressure([1.0, 50.0, 1e4], 100.0, 0.0), [0.5, 0.5, 0.5])


# ----------------------------------------------------------------------------- joining (ODD 7.4)
def test_marketing_hazard_starts_at_steady_plus_launch_rate_and_decays_to_steady_rate():
    m, launch, decay = 0.004, 0.08, 3.0
    assert joining.marketing_hazard(0, m, launch, decay) == pytest.approx(m + launch, rel=1e-15)
    # One e-folding time after launch the launch part is down to 1/e.
    assert joining.marketing_hazard(decay, m, launch, decay) == pytest.approx(m + launch / math.e, rel=1e-12)
    # Strictly falling while the launch part is visible in float64 (e^-20 ~ 2e-9 of it is left
    # at 60 periods), never rising after, and within launch x e^(-t / decay) of the steady rate.
    hazards = joining.marketing_hazard(np.arange(0, 200), m, launch, decay)
    assert np.all(np.diff(hazards[:61]) < 0)
    assert np.all(np.diff(hazards) <= 0)
    assert np.all(hazards >= m)
    assert hazards[-1] - m <= launch * math.exp(-199 / decay) + 1e-18


@PROPERTY
@given(m=hazard, q=hazard, f=share01)
def test_join_probability_is_zero_when_attractiveness_is_zero(m, q, f):
    assert joining.join_probability(m, q, f, 0.0, 1.0) == 0.0


@PROPERTY
@given(m=hazard, q=hazard, f=share01, a=share01)
def test_join_probability_equals_one_minus_exp_of_minus_bass_hazard_times_attractiveness(m, q, f, a):
    expected = 1.0 - math.exp(-(m + q * f) * a)
    p = joining.join_probability(m, q, f, a, 1.0)
    assert p == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert 0.0 <= p <= 1.0


@given(m=hazard, w=hazard, f=share01, a=share01, g=st.floats(min_value=0.0, max_value=1.0))
@PROPERTY
def test_the_join_bound_is_at_or_above_the_probability_at_any_attractiveness(m, w, f, a, g):
    # The compiled pass skips valuing the plan for an agent whose draw is at or above the
    # bound; that is exact only if no attractiveness could bring the probability above it.
    assert joining.join_probability_bound(m, w, f, g) >= joining.join_probability(m, w, f, a, g)
    assert joining.join_probability_bound(m, w, f, g) >= joining.join_probability(m, w, f, 1.0, g)


@given(
    m=hazard,
    w=hazard,
    members=st.integers(0, 60),
    extra_ties=st.integers(0, 60),
    g=st.floats(min_value=0.0, max_value=1.0),
    g_top=st.floats(min_value=0.0, max_value=1.0),
)
@PROPERTY
def test_no_agents_join_bound_exceeds_the_bound_at_all_neighbours_members_and_the_top_propensity(
    m, w, members, extra_ties, g, g_top
):
    # The joining pass decides a uniform at or above the latter without reading the agent.
    degree = members + extra_ties
    share = members / degree if degree else 0.0
    g, g_top = min(g, g_top), max(g, g_top)
    assert joining.join_probability_bound(m, w, share, g) <= joining.join_probability_bound(m, w, 1.0, g_top)


def test_join_probability_increases_with_the_share_of_member_neighbours():
    shares = np.linspace(0.0, 1.0, 11)
    p = joining.join_probability(0.004, 0.06, shares, 0.7, 1.0)
    assert np.all(np.diff(p) > 0)


@PROPERTY
@given(
    age=st.floats(min_value=0.0, max_value=80.0),
    parent=st.booleans(),
    gap=st.floats(min_value=15.0, max_value=40.0),
    spread=st.floats(min_value=0.5, max_value=15.0),
)
def test_a_relatives_age_window_is_a_generation_above_or_below_plus_minus_the_spread(age, parent, gap, spread):
    low, high = joining.relative_age_window(np.array([age]), np.array([parent]), gap, spread)
    centre = age + gap if parent else age - gap
    assert low[0] == pytest.approx(centre - spread, abs=1e-12)
    assert high[0] == pytest.approx(centre + spread, abs=1e-12)


def younger_than(ages: np.ndarray) -> np.ndarray:
    """At each whole age 0..oldest+1, how many of `ages` are younger."""
    return np.concatenate([[0], np.cumsum(np.bincount(ages))])


@PROPERTY
@given(
    ages=st.lists(st.integers(0, 40), min_size=1, max_size=60),
    low=st.floats(-10.0, 50.0),
    width=st.floats(0.0, 30.0),
    u=st.floats(0.0, 1.0, exclude_max=True),
)
def test_picking_from_the_age_counts_is_picking_from_the_sorted_ages(ages, low, width, u):
    # The definition: searching the candidates' ages, ascending, for the window's ends.
    ages = np.sort(np.array(ages))
    first = np.searchsorted(ages, low, side="left")
    count = np.searchsorted(ages, low + width, side="right") - first
    expected = first + min(int(u * count), count - 1) if count > 0 else -1
    got = joining.pick_in_age_window(younger_than(ages), np.array([low]), np.array([low + width]), np.array([u]))
    assert got[0] == expected


def test_a_relative_is_drawn_uniformly_among_the_candidates_inside_the_window():
    ages = np.array([1, 2, 2, 3, 5, 5, 5, 8])  # ascending; ages 2 to 5 sit at positions 1 to 6
    u = (np.arange(6_000) + 0.5) / 6_000
    position = joining.pick_in_age_window(younger_than(ages), np.full(u.size, 2.0), np.full(u.size, 5.0), u)
    np.testing.assert_array_equal(np.bincount(position, minlength=8), [0, 1000, 1000, 1000, 1000, 1000, 1000, 0])
    assert np.all(np.diff(position) >= 0)  # a larger draw never picks a younger candidate


def test_no_relative_is_drawn_from_an_empty_window_and_the_last_draw_stays_inside():
    ages = younger_than(np.array([10, 20, 30]))
    assert joining.pick_in_age_window(ages, np.array([11.0]), np.array([19.0]), np.array([0.5]))[0] == -1
    assert joining.pick_in_age_window(ages, np.array([-9.0]), np.array([9.0]), np.array([0.5]))[0] == -1
    last = joining.pick_in_age_window(ages, np.array([10.0]), np.array([30.0]), np.array([np.nextafter(1.0, 0.0)]))
    assert last[0] == 2


# ----------------------------------------------------------------------------- leaving (ODD 7.5)
def test_closure_news_starts_at_the_closure_and_fades_by_the_decay_each_period():
    hazard = [leaving.closure_news_hazard(t, [10, 12], 0.5, 2.0) for t in range(9, 14)]
    expected = [0.0, 0.5, 0.5 * math.exp(-0.5), 0.5 * math.exp(-1.0) + 0.5, 0.5 * math.exp(-1.5) + 0.5 * math.exp(-0.5)]
    np.testing.assert_allclose(hazard, expected, rtol=1e-12)
    assert leaving.closure_news_hazard(40, [10, 12], 0.0, 2.0) == 0.0


@PROPERTY
@given(base=share01, gain=hazard, jump=hazard, news=hazard)
def test_closure_news_adds_to_the_attentive_members_review_hazard_only_under_salience(base, gain, jump, news):
    with_news = leaving.review_probability("salience", base, gain, jump, np.array([True, False]), news)
    assert with_news[0] == pytest.approx(-math.expm1(-(base + gain * jump + news)), rel=1e-12, abs=1e-15)
    assert with_news[1] == 0.0  # one who never reviews a default deduction hears no news either
    assert with_news[0] >= leaving.review_probability("salience", base, gain, jump, np.array([True]))[0]
    assert leaving.review_probability("constant", base, gain, jump, np.array([True]), news)[0] == base


@PROPERTY
@given(q=share01, attention=share01, base=share01, strength=hazard, exposure=hazard)
def test_exit_hazard_parts_equal_the_odd_formulas(q, attention, base, strength, exposure):
    other, price, contagion = leaving.exit_hazards(q, attention, base, strength, exposure)
    assert other == base
    assert price == pytest.approx(attention * q, rel=1e-15, abs=0)
    assert contagion == pytest.approx((base + attention * q) * strength * exposure, rel=1e-12, abs=0)


def test_exit_hazard_parts_have_one_entry_per_member():
    q = np.array([0.1, 0.5, 0.9])
    exposure = np.array([0.0, 1.0, 2.0])
    other, price, contagion = leaving.exit_hazards(q, 0.04, 0.002, 0.8, exposure)
    assert other.shape == price.shape == contagion.shape == (3,)
    np.testing.assert_array_equal(other, 0.002)
    np.testing.assert_allclose(contagion, (0.002 + 0.04 * q) * 0.8 * exposure, rtol=1e-15)


def test_nobody_leaves_when_every_hazard_is_zero():
    n = 10_000
    zero = np.zeros(n)
    uniform = np.random.default_rng(0).random(n)
    uniform[:10] = 0.0  # the smallest draw a generator can give
    reasons = leaving.draw_exits(zero, zero, zero, uniform)
    assert np.all(reasons == ExitReason.NONE)
    assert reasons.dtype == np.int8


# Large-sample checks: 200,000 members with a fixed seed. A count that is a sum of
# independent Bernoulli(p_i) has standard error sqrt(sum p_i (1 - p_i)); every count must
# lie within 5 such standard errors of its expectation (two-sided chance of failure for a
# correct rule about 6e-7 per count). A wrong rule (e.g. probability = hazard, or reasons
# split equally) is off by hundreds of standard errors at these hazards.
N_DRAWS = 200_000
TOLERANCE_SE = 5.0
REASONS = (ExitReason.OTHER, ExitReason.PRICE, ExitReason.CONTAGION)


def _assert_counts_match_bernoulli_sums(reasons, other, price, contagion):
    total = other + price + contagion
    leave = -np.expm1(-total)
    count = np.count_nonzero(reasons != ExitReason.NONE)
    se = math.sqrt(np.sum(leave * (1 - leave)))
    assert abs(count - leave.sum()) < TOLERANCE_SE * se, (count, leave.sum(), se)
    for reason, part in zip(REASONS, (other, price, contagion), strict=True):
        p = leave * part / total  # probability of leaving for this reason
        count = np.count_nonzero(reasons == reason)
        se = math.sqrt(np.sum(p * (1 - p)))
        assert abs(count - p.sum()) < TOLERANCE_SE * se, (reason.name, count, p.sum(), se)


def test_leave_rate_and_reason_shares_match_the_hazards_for_equal_members():
    other, price, contagion = (np.full(N_DRAWS, h) for h in (0.1, 0.2, 0.3))
    uniform = np.random.default_rng(20_240_101).random(N_DRAWS)
    reasons = leaving.draw_exits(other, price, contagion, uniform)
    # Leave rate 1 - exp(-0.6) = 0.4512; reasons 1/6, 2/6, 3/6 of leavers.
    _assert_counts_match_bernoulli_sums(reasons, other, price, contagion)
    leavers = reasons != ExitReason.NONE
    n_leavers = np.count_nonzero(leavers)
    for reason, share in zip(REASONS, (1 / 6, 2 / 6, 3 / 6), strict=True):
        se = math.sqrt(share * (1 - share) / n_leavers)
        assert abs(np.count_nonzero(reasons == reason) / n_leavers - share) < TOLERANCE_SE * se


def test_leave_rate_and_reason_shares_match_the_hazards_for_unequal_members():
    rng = np.random.default_rng(7)
    other = rng.uniform(0.0, 0.05, N_DRAWS)
    price = rng.uniform(0.0, 0.5, N_DRAWS) * (rng.random(N_DRAWS) < 0.7)
    contagion = rng.exponential(0.2, N_DRAWS) * (rng.random(N_DRAWS) < 0.3)
    uniform = rng.random(N_DRAWS)
    reasons = leaving.draw_exits(other, price, contagion, uniform)
    _assert_counts_match_bernoulli_sums(reasons, other, price, contagion)


@PROPERTY
@given(
    parts=st.lists(st.tuples(hazard, hazard, hazard), min_size=1, max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_member_leaves_exactly_when_its_draw_is_below_the_exit_probability_and_never_for_a_zero_part(parts, seed):
    other, price, contagion = (np.array(column) for column in zip(*parts, strict=True))
    uniform = np.random.default_rng(seed).random(len(parts))
    reasons = leaving.draw_exits(other, price, contagion, uniform)
    leave = uniform < 1.0 - np.exp(-(other + price + contagion))
    np.testing.assert_array_equal(reasons != ExitReason.NONE, leave)
    for reason, part in zip(REASONS, (other, price, contagion), strict=True):
        assert not np.any((reasons == reason) & (part == 0))


@given(q=share01, review=share01, base=share01, strength=hazard, exposure=hazard, u=share01)
@PROPERTY
def test_a_member_whose_draw_is_at_or_above_the_exit_bound_stays_at_any_price(q, review, base, strength, exposure, u):
    bound = leaving.exit_probability_bound(base, review, strength, exposure)
    other, price, contagion = leaving.exit_hazards(q, review, base, strength, exposure)
    assert bound >= -math.expm1(-(other + price + contagion))
    if u >= bound:
        assert leaving.draw_exits(other, price, contagion, u) == ExitReason.NONE


def test_threshold_is_never_exceeded_without_neighbours():
    assert not leaving.threshold_exceeded(0, 0, 0.0)
    np.testing.assert_array_equal(leaving.threshold_exceeded(np.zeros(3), np.zeros(3), [0.0, 0.5, 1.0]), False)


def test_threshold_is_exceeded_when_the_share_reaches_it_and_not_below():
    exited = np.array([1, 2, 0, 3, 5, 4])
    degree = np.array([4, 4, 4, 3, 10, 10])
    threshold = np.array([0.25, 0.75, 0.0, 1.0, 0.5, 0.5])
    np.testing.assert_array_equal(
        leaving.threshold_exceeded(exited, degree, threshold), [True, False, True, True, True, False]
    )


@PROPERTY
@given(degree=st.integers(1, 500), data=st.data())
def test_threshold_is_exceeded_exactly_when_exited_neighbours_reach_threshold_times_degree(degree, data):
    # Thresholds j / degree make "share >= threshold" the integer comparison exited >= j.
    exited = data.draw(st.integers(0, degree))
    j = data.draw(st.integers(0, degree))
    assert bool(leaving.threshold_exceeded(exited, degree, j / degree)) == (exited >= j)


# ----------------------------------------------------------------------------- illness (ODD 7.1)
@pytest.mark.parametrize("factor_at_joining", [0.0, 0.3, 1.0])
def test_select_factor_at_joining_is_the_factor_at_joining(factor_at_joining):
    # 1 - (1 - f) rounds back to f within one ulp.
    assert illness.select_factor(0, factor_at_joining, 6.0, 1.0, 1.0) == pytest.approx(
        factor_at_joining, rel=1e-15, abs=0
    )


def test_select_factor_rises_towards_one_with_time_in_the_plan():
    periods = np.arange(0, 24 * 200)
    factor = illness.select_factor(periods, 0.2, 6.0, 1.0, 1.0)
    # Strictly rising over the first 30 years (gap still 0.8 e^-5 ~ 5e-3), then never falling
    # once the gap nears float64 resolution.
    assert np.all(np.diff(factor[: 24 * 30]) > 0)
    assert np.all(np.diff(factor) >= 0)
    assert np.all(factor <= 1.0)
    # ODD 7.1: after one select period (P x select_period_years periods) the gap is 1/e of the start.
    assert illness.select_factor(PERIODS_PER_YEAR * 6, 0.2, 6.0, 1.0, 1.0) == pytest.approx(1 - 0.8 / math.e, rel=1e-12)
    assert factor[-1] == pytest.approx(1.0, abs=1e-12)


def test_select_factor_is_one_everywhere_when_the_factor_at_joining_is_one():
    np.testing.assert_array_equal(illness.select_factor(np.arange(0, 500), 1.0, 6.0, 1.0, 1.0), 1.0)


@PROPERTY
@given(
    start=share01,
    ultimate=st.floats(min_value=0.0, max_value=2.0),
    scale_years=st.floats(min_value=0.1, max_value=20.0),
    shape=st.floats(min_value=0.2, max_value=6.0),
    years=st.floats(min_value=0.0, max_value=60.0),
)
def test_select_factor_is_the_weibull_rise_from_the_start_to_the_ultimate_factor(
    start, ultimate, scale_years, shape, years
):
    """ODD 7.1: select(d) = u - (u - s0) exp(-(d / (P x scale)) ** k)."""
    periods = years * PERIODS_PER_YEAR
    expected = ultimate - (ultimate - start) * math.exp(-((years / scale_years) ** shape))
    value = illness.select_factor(periods, start, scale_years, shape, ultimate)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert min(start, ultimate) - 1e-15 <= value <= max(start, ultimate) + 1e-15


def test_a_steeper_select_shape_keeps_the_first_months_lower_and_the_later_ones_higher():
    # Same scale (1 year): at a quarter year the shape-3 curve has closed 1.6% of the gap,
    # the exponential 22%; at two years 99.97% against 86%.
    months = np.array([3, 24]) * 2
    exponential = illness.select_factor(months, 0.0, 1.0, 1.0, 0.3)
    steep = illness.select_factor(months, 0.0, 1.0, 3.0, 0.3)
    assert steep[0] < exponential[0] / 10
    assert steep[1] > exponential[1]
    np.testing.assert_allclose(steep / 0.3, [1 - math.exp(-(0.25**3)), 1 - math.exp(-8)], rtol=1e-12)


@PROPERTY
@given(risk=st.floats(min_value=0.0, max_value=5.0), select=share01)
def test_illness_probability_is_one_minus_exp_of_minus_risk_times_select_per_period(risk, select):
    expected = 1.0 - math.exp(-risk * select / 24)
    assert illness.illness_probability(risk, select, 1.0) == pytest.approx(expected, rel=1e-12, abs=1e-16)


@PROPERTY
@given(
    period=st.integers(0, 200),
    midpoint=st.floats(min_value=0.0, max_value=120.0),
    width=st.floats(min_value=0.05, max_value=48.0),
)
def test_claim_awareness_is_the_logistic_in_the_plans_age(period, midpoint, width):
    """ODD 7.1: a(t) = 1 / (1 + exp(-(t - m) / w)), written for x = (t - m) / w < 0 as e^x / (1 + e^x)."""
    x = (period - midpoint) / width
    expected = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    assert illness.claim_awareness(period, midpoint, width, 0.0, 0.0) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_claim_awareness_of_width_zero_is_a_step_at_the_midpoint_and_one_by_default():
    assert [illness.claim_awareness(t, 10.0, 0.0, 0.0, 0.0) for t in (0, 9, 10, 11)] == [0.0, 0.0, 1.0, 1.0]
    # The documented defaults (midpoint 0, width 0): every ill member claims from the launch.
    assert all(illness.claim_awareness(t, 0.0, 0.0, 0.0, 0.0) == 1.0 for t in range(100))
    # Half the ill claim at the midpoint; awareness rises with the plan's age.
    assert illness.claim_awareness(24, 24.0, 3.0, 0.0, 0.0) == 0.5
    assert illness.claim_awareness(20, 24.0, 3.0, 0.0, 0.0) < illness.claim_awareness(28, 24.0, 3.0, 0.0, 0.0)


@PROPERTY
@given(
    period=st.integers(0, 200),
    midpoint=st.floats(min_value=0.0, max_value=120.0),
    width=st.floats(min_value=0.05, max_value=48.0),
    years_above=st.floats(min_value=-18.0, max_value=60.0),
    delay=st.floats(min_value=0.0, max_value=48.0),
)
def test_claim_awareness_midpoint_moves_later_with_age(period, midpoint, width, years_above, delay):
    """ODD 7.1: the midpoint of an adult `years_above` its adult age is m + delay x years / 10;
    minors (negative years) have the adults' midpoint."""
    shifted = midpoint + delay * max(years_above, 0.0) / 10.0
    expected = illness.claim_awareness(period, shifted, width, 0.0, 0.0)
    assert illness.claim_awareness(period, midpoint, width, years_above, delay) == pytest.approx(expected, rel=1e-12)


def test_claim_awareness_falls_with_age_at_a_delay_and_not_without():
    years_above = np.array([-10.0, 0.0, 10.0, 20.0, 40.0])
    delayed = illness.claim_awareness(24, 24.0, 3.0, years_above, 6.0)
    assert delayed[0] == delayed[1] == 0.5  # minors are claimed for as adults are
    assert np.all(np.diff(delayed[1:]) < 0)
    # At 6 periods a decade, one 20 years above the adult age has its midpoint 12 periods
    # later: its share at t is the adult-age share at t - 12.
    assert delayed[3] == pytest.approx(illness.claim_awareness(12, 24.0, 3.0, 0.0, 0.0))
    np.testing.assert_array_equal(illness.claim_awareness(24, 24.0, 3.0, years_above, 0.0), np.full(5, 0.5))
    # A step (width 0) reaches each age at its own midpoint.
    np.testing.assert_array_equal(illness.claim_awareness(30, 24.0, 0.0, years_above, 6.0), [1, 1, 1, 0, 0])


@PROPERTY
@given(risk=st.floats(min_value=0.0, max_value=5.0), select=share01, awareness=share01)
def test_claims_are_the_illnesses_thinned_by_awareness(risk, select, awareness):
    expected = (1.0 - math.exp(-risk * select / 24)) * awareness
    assert illness.illness_probability(risk, select, awareness) == pytest.approx(expected, rel=1e-12, abs=1e-16)


@PROPERTY
@given(
    age=st.floats(min_value=0.0, max_value=80.0),
    frailty=st.floats(min_value=0.01, max_value=10.0),
    factor=st.floats(min_value=0.01, max_value=10.0),
    k=st.floats(min_value=0.1, max_value=10.0),
)
def test_annual_risk_is_linear_in_frailty_and_covered_illness_factor(age, frailty, factor, k):
    base = illness.annual_risk(age, frailty, factor)
    assert base == pytest.approx(factor * incidence.ci1_incidence(age) * frailty, rel=1e-12)
    assert illness.annual_risk(age, k * frailty, factor) == pytest.approx(k * base, rel=1e-12)
    assert illness.annual_risk(age, frailty, k * factor) == pytest.approx(k * base, rel=1e-12)


def test_ci1_incidence_reproduces_the_table_at_tabulated_ages():
    # exp(log(x)) may differ from x in the last bit; 4 ulp (~1e-15 relative) is the
    # rounding of that round trip, far below any difference between table entries.
    np.testing.assert_array_max_ulp(
        incidence.ci1_incidence(incidence.CI1_AGES_YEARS), incidence.CI1_ANNUAL_INCIDENCE, maxulp=4
    )
    # Two entries from the source table, typed in here: CI1 at 40 and at 60.
    assert incidence.ci1_incidence(40.0) == pytest.approx(0.002151, rel=1e-14)
    assert incidence.ci1_incidence(60.0) == pytest.approx(0.017274, rel=1e-14)


def test_ci1_incidence_at_the_midpoint_of_two_tabulated_ages_is_their_geometric_mean():
    ages, values = incidence.CI1_AGES_YEARS, incidence.CI1_ANNUAL_INCIDENCE
    middle = (ages[:-1] + ages[1:]) / 2
    np.testing.assert_allclose(incidence.ci1_incidence(middle), np.sqrt(values[:-1] * values[1:]), rtol=1e-12)


@PROPERTY
@given(k=st.integers(0, len(incidence.CI1_AGES_YEARS) - 2), t=share01)
def test_ci1_incidence_is_linear_in_its_logarithm_between_tabulated_ages(k, t):
    ages, values = incidence.CI1_AGES_YEARS, incidence.CI1_ANNUAL_INCIDENCE
    age = ages[k] + t * (ages[k + 1] - ages[k])
    expected = math.exp((1 - t) * math.log(values[k]) + t * math.log(values[k + 1]))
    assert incidence.ci1_incidence(age) == pytest.approx(expected, rel=1e-12)


def test_ci1_incidence_increases_from_age_20_to_80():
    assert np.all(np.diff(incidence.ci1_incidence(np.linspace(20.0, 80.0, 1201))) > 0)


def test_ci1_incidence_outside_the_table_takes_the_end_values():
    values = incidence.CI1_ANNUAL_INCIDENCE
    np.testing.assert_allclose(incidence.ci1_incidence([-5.0, 90.0]), [values[0], values[-1]], rtol=1e-15)


# ----------------------------------------------------------------------------- cross-sell (ODD 7.7)
@PROPERTY
@given(
    members=st.lists(st.booleans(), min_size=1, max_size=30),
    rate_members=hazard,
    rate_nonmembers=hazard,
)
def test_members_consider_insurance_at_the_member_rate_and_others_at_the_other_rate(
    members, rate_members, rate_nonmembers
):
    is_member = np.array(members)
    p = cross_sell.consider_probability(is_member, rate_members, rate_nonmembers)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p[is_member], -math.expm1(-rate_members), rtol=1e-12, atol=0)
    np.testing.assert_allclose(p[~is_member], -math.expm1(-rate_nonmembers), rtol=1e-12, atol=0)


@PROPERTY
@given(
    incomes=st.lists(st.floats(min_value=0.0, max_value=1e7), min_size=1, max_size=30),
    rate=hazard,
    elasticity=st.floats(min_value=0.0, max_value=5.0),
)
def test_buy_probability_is_the_odd_formula_and_a_probability(incomes, rate, elasticity):
    income = np.array(incomes)
    p = cross_sell.buy_probability(income, 65_700.0, rate, elasticity)
    assert np.all((p >= 0) & (p <= 1))
    expected = [-math.expm1(-rate * (y / 65_700.0) ** elasticity) for y in incomes]
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-15)


@PROPERTY
@given(
    income=st.floats(min_value=0.0, max_value=1e7),
    rate=st.one_of(hazard, st.floats(min_value=0.0, max_value=1e-300)),
    elasticity=st.floats(min_value=0.0, max_value=5.0),
)
def test_the_buy_hazard_is_at_or_above_the_buy_probability(income, rate, elasticity):
    # The insurance pass decides "does not buy" for a uniform at or above the hazard
    # without the exponential; that is exact only if the probability never exceeds it.
    assert cross_sell.buy_hazard(income, 65_700.0, rate, elasticity) >= cross_sell.buy_probability(
        income, 65_700.0, rate, elasticity
    )


@pytest.mark.parametrize("elasticity", [0.5, 1.0, 3.0])
def test_buy_probability_rises_with_income_when_elasticity_is_positive(elasticity):
    p = cross_sell.buy_probability(np.geomspace(5_000.0, 500_000.0, 50), 65_700.0, 0.01, elasticity)
    assert np.all(np.diff(p) > 0)


def test_buy_probability_is_independent_of_income_when_elasticity_is_zero():
    p = cross_sell.buy_probability(np.array([0.0, 1_000.0, 65_700.0, 1e6]), 65_700.0, 0.01, 0.0)
    np.testing.assert_array_equal(p, p[0])
    assert p[0] == pytest.approx(1 - math.exp(-0.01), rel=1e-12)


# ----------------------------------------------------------------------------- sharing (ODD 7.2, 7.3)
def test_equal_sharing_weights_are_ones_of_the_members_shape():
    weights = sharing.sharing_weights("equal", np.array([1.0, 30.0, 59.0]))
    assert weights.dtype == np.float64
    np.testing.assert_array_equal(weights, np.ones(3))


@pytest.mark.parametrize("band_start", [0, 10, 20, 30, 40, 50])
def test_age_banded_weights_are_equal_within_a_ten_year_band(band_start):
    ages = band_start + np.array([0.0, 0.5, 4.2, 5.0, 9.0, 9.999])
    weights = sharing.sharing_weights("age_banded", ages)
    np.testing.assert_array_equal(weights, weights[0])
    # ODD 7.2: CI1 at the band's middle relative to CI1 at 30.
    expected = incidence.ci1_incidence(band_start + 5.0) / incidence.ci1_incidence(30.0)
    assert weights[0] == pytest.approx(expected, rel=1e-12)


def test_age_banded_weights_increase_across_bands_from_20_to_59():
    weights = sharing.sharing_weights("age_banded", np.array([25.0, 35.0, 45.0, 55.0]))
    assert np.all(np.diff(weights) > 0)


def test_an_unknown_sharing_rule_raises_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"equal.*age_banded"):
        sharing.sharing_weights("risk_rated", np.array([30.0]))


def test_annual_cap_applies_inside_its_years_only():
    assert sharing.annual_cap_cny(2019, 188.0, 2019, 2020) == 188.0
    assert sharing.annual_cap_cny(2020, 188.0, 2019, 2020) == 188.0
    assert sharing.annual_cap_cny(2018, 188.0, 2019, 2020) == math.inf
    assert sharing.annual_cap_cny(2021, 188.0, 2019, 2020) == math.inf


money = st.floats(min_value=0.0, max_value=1e4)


@PROPERTY
@given(
    rows=st.lists(st.tuples(money, money), min_size=1, max_size=30),
    cap=st.one_of(money, st.just(math.inf)),
)
def test_capped_charges_never_exceed_the_ask_or_the_room_and_equal_the_ask_when_there_is_room(rows, cap):
    asked, paid = (np.array(column) for column in zip(*rows, strict=True))
    charged = sharing.capped_charges(asked, paid, cap)
    room = np.maximum(cap - paid, 0.0)
    assert np.all(charged >= 0)
    assert np.all(charged <= asked)
    assert np.all(charged <= room)
    fits = asked <= cap - paid
    np.testing.assert_array_equal(charged[fits], asked[fits])
    # Where the ask does not fit the member pays exactly what is left under the cap.
    np.testing.assert_array_equal(charged[~fits], room[~fits])


@PROPERTY
@given(
    unit=st.floats(min_value=0.0, max_value=100.0),
    weight=st.floats(min_value=0.0, max_value=50.0),
    cap=st.one_of(st.floats(min_value=0.0, max_value=1e4), st.just(math.inf)),
)
def test_expected_annual_charge_is_24_unit_shares_times_weight_capped(unit, weight, cap):
    expected = min(24 * unit * weight, cap)
    assert sharing.expected_annual_charge(unit, weight, cap) == pytest.approx(expected, rel=1e-12, abs=0)
