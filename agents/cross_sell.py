"""The funnel into commercial insurance: coming to consider it, then buying."""

from __future__ import annotations

import numpy as np


def consider_probability(is_member, consider_rate_members: float, consider_rate_nonmembers: float):
    """Probability that an agent not yet considering insurance starts to this period (0-1)."""
    return -np.expm1(-np.where(is_member, consider_rate_members, consider_rate_nonmembers))


def buy_probability(income_cny, income_median_cny: float, buy_rate: float, buy_income_elasticity: float):
    """Probability that an agent considering insurance buys it this period (0-1).

    The hazard scales with income relative to the median: (income / median)^elasticity.
    """
    relative = np.asarray(income_cny, dtype=np.float64) / income_median_cny
    return -np.expm1(-buy_rate * relative**buy_income_elasticity)
