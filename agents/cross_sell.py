"""The funnel into commercial insurance: coming to consider it, then buying.

Compiled ufuncs (agents/compiled.py): one definition for many agents and for one.
"""

from __future__ import annotations

import math

from huzhu.agents.compiled import rule


@rule(3)
def consider_probability(is_member, consider_rate_members, consider_rate_nonmembers):
    """Probability that an agent not yet considering insurance starts to this period (0-1).

    Args:
        is_member: Whether the agent is a member (bool).
        consider_rate_members: Hazard of members (per period).
        consider_rate_nonmembers: Hazard of everyone else (per period).
    """
    return -math.expm1(-(consider_rate_members if is_member else consider_rate_nonmembers))


@rule(4)
def buy_hazard(income_cny, income_median_cny, buy_rate, buy_income_elasticity):
    """Hazard that an agent considering insurance buys it this period (per period): it
    scales with income relative to the median, buy_rate x (income / median)^elasticity.

    It is also an upper bound of `buy_probability` (1 - exp(-h) <= h): an agent whose
    uniform is at or above it does not buy, and the compiled pass decides so without the
    exponential.

    Args:
        income_cny: The agent's income (CNY per year).
        income_median_cny: The population's median income (CNY per year).
        buy_rate: Hazard at the median income (per period).
        buy_income_elasticity: Elasticity of the hazard in income (1).
    """
    relative_income = income_cny / income_median_cny
    # x^1 is x exactly; written out because a power costs more than the rest of the funnel.
    scale = relative_income if buy_income_elasticity == 1.0 else relative_income**buy_income_elasticity
    return buy_rate * scale


@rule(4)
def buy_probability(income_cny, income_median_cny, buy_rate, buy_income_elasticity):
    """Probability that an agent considering insurance buys it this period (0-1):
    1 - exp(-`buy_hazard`).

    Args:
        income_cny: The agent's income (CNY per year).
        income_median_cny: The population's median income (CNY per year).
        buy_rate: Hazard at the median income (per period).
        buy_income_elasticity: Elasticity of the hazard in income (1).
    """
    return -math.expm1(-buy_hazard(income_cny, income_median_cny, buy_rate, buy_income_elasticity))
