"""What cover is worth to an agent and how strongly charges push it away.

Used by both the join and the stay decision: attractiveness of joining is
1 - price_pressure, and the price part of the exit hazard is attention x price_pressure.
The per-agent rules are compiled ufuncs (agents/compiled.py): one definition for an
array of agents, one agent, and the compiled passes.
"""

from __future__ import annotations

import math

import numpy as np

from huzhu.agents.compiled import logistic, rule


def benefit_cny(age_years, benefit_young_cny: float, benefit_old_cny: float, split_age_years: float):
    """Benefit paid on an approved case at `age_years` (CNY): the young benefit below the split age."""
    return np.where(np.asarray(age_years) < split_age_years, benefit_young_cny, benefit_old_cny)


@rule(2)
def decision_weight(probability, curvature):
    """The weight a decision gives a probability of loss (Tversky & Kahneman 1992, eq. 6).

    w(p) = p^g / (p^g + (1 - p)^g)^(1/g): with g < 1 small probabilities weigh more than
    they are (w(0.001) = 0.0084 at the authors' g = 0.69 for losses) and the weight grows
    less than in proportion to the probability; g = 1 weighs every probability as it is.

    Args:
        probability: Probability of the loss (0-1).
        curvature: g (1): below 1 the inverse S of the authors; w is increasing in p for g above 0.28.
    """
    if curvature == 1.0:
        return probability
    powered = probability**curvature
    return powered / (powered + (1.0 - probability) ** curvature) ** (1.0 / curvature)


@rule(8)
def willingness_to_pay(
    perceived_annual_risk,
    benefit,
    insured,
    income_cny,
    value_loading,
    insurance_substitution,
    affordability_share,
    probability_weighting,
):
    """Most an agent will pay for the plan in a year (CNY per year).

    The lesser of the loaded, decision-weighted expected benefit and what its income affords.
    The benefit is paid once (a claimant's membership ends), so what is weighed is the
    probability of falling ill within the year, 1 - exp(-risk), not the annual risk itself,
    which for a frail old agent can exceed 1.

    Args:
        perceived_annual_risk: Agent's belief about its annual illness hazard (per year).
        benefit: Benefit it would be paid (CNY).
        insured: Whether it holds commercial insurance (bool).
        income_cny: Annual income (CNY per year).
        value_loading: Value placed on cover per CNY of expected benefit (1).
        insurance_substitution: Share of the value lost when insured (1).
        affordability_share: Largest share of income spent on the plan (1).
        probability_weighting: Curvature g of `decision_weight` applied to the perceived
            risk (1 = none).
    """
    probability_within_year = -math.expm1(-perceived_annual_risk)
    weighted_risk = decision_weight(probability_within_year, probability_weighting)
    value = value_loading * weighted_risk * benefit * (1.0 - insurance_substitution * insured)
    return min(value, affordability_share * income_cny)


@rule(3)
def reference_dependent_charge(annual_charge_cny, reference_charge_cny, loss_aversion):
    """The charge as a member who pays it weighs it (CNY per year).

    Charges above the reference formed from past ones count as losses and weigh
    1 + loss_aversion times as much (Kahneman & Tversky 1979; Koszegi & Rabin 2006):
    charge + loss_aversion x max(0, charge - reference).

    Args:
        annual_charge_cny: Expected charges over a year at the recent share (CNY per year).
        reference_charge_cny: The same at the reference share (CNY per year).
        loss_aversion: Extra weight on the excess over the reference (1).
    """
    return annual_charge_cny + loss_aversion * max(annual_charge_cny - reference_charge_cny, 0.0)


@rule(3)
def price_pressure(annual_charge_cny, willingness_to_pay_cny, price_sensitivity):
    """Probability that an agent who weighs the plan finds it too dear (0-1).

    A logistic in the log of charge over willingness to pay: one half when they are
    equal, falling to zero as charges vanish (joining is free) and rising to one as
    they exceed willingness to pay. `price_sensitivity` is the slope.

    Args:
        annual_charge_cny: Expected charges over a year (CNY per year), >= 0.
        willingness_to_pay_cny: From `willingness_to_pay` (CNY per year), >= 0.
        price_sensitivity: Log-odds per unit of log price ratio (1).
    """
    # The limits, written out so that a zero sensitivity never meets an infinite log ratio:
    # nothing asked -> 0; something asked of an agent who values cover at nothing -> 1
    # (one half if it is insensitive to price, the logistic's value at any ratio).
    if annual_charge_cny <= 0.0:
        return 0.0
    if willingness_to_pay_cny <= 0.0:
        return 1.0 if price_sensitivity > 0.0 else 0.5
    return logistic(price_sensitivity * (math.log(annual_charge_cny) - math.log(willingness_to_pay_cny)))
