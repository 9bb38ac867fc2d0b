"""The insurance funnel as one compiled pass over a chunk of agents (ODD 7.7).

One uniform an agent: one not yet considering starts if u < p_consider and then buys if
u / p_consider < p_buy; one already considering buys if u < p_buy. Each agent writes
only its own state, so agents are shared among threads freely.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from huzhu.agents import cross_sell
from huzhu.agents.states import State

_WAITING, _COVERED = int(State.WAITING), int(State.COVERED)
_CLAIMED, _AGED_OUT = int(State.CLAIMED), int(State.AGED_OUT)

#: Codes of `consider_and_buy`'s result.
NO_PURCHASE, BOUGHT_AS_NONMEMBER, BOUGHT_AS_MEMBER = 0, 1, 2


@njit(cache=True, parallel=True)
def _consider_and_buy(
    start, u, state, age_periods, considering, insured, income_cny, min_age_periods,
    rate_members, rate_nonmembers, income_median_cny, buy_rate, buy_income_elasticity, bought,
):  # fmt: skip
    for k in prange(u.size):
        i = start + k
        s = state[i]
        bought[k] = NO_PURCHASE
        if s == _CLAIMED or s == _AGED_OUT or age_periods[i] < min_age_periods or (considering[i] and insured[i]):
            continue
        member = s == _WAITING or s == _COVERED
        u_buy = u[k]
        if not considering[i]:
            p_consider = cross_sell.consider_probability(member, rate_members, rate_nonmembers)
            if not u[k] < p_consider:
                continue
            considering[i] = True
            u_buy = u[k] / p_consider
        if insured[i]:
            continue
        p_buy = cross_sell.buy_probability(
            np.float64(income_cny[i]), income_median_cny, buy_rate, buy_income_elasticity
        )
        if u_buy < p_buy:
            insured[i] = True
            bought[k] = BOUGHT_AS_MEMBER if member else BOUGHT_AS_NONMEMBER


def consider_and_buy(population, start: int, u: np.ndarray) -> np.ndarray:
    """Agents start..start+len(u)-1 come to consider insurance and some buy (in place).

    Returns:
        Per agent: NO_PURCHASE, BOUGHT_AS_NONMEMBER or BOUGHT_AS_MEMBER (int8).
    """
    p = population.params
    bought = np.empty(u.size, dtype=np.int8)
    _consider_and_buy(
        start, u, population.state, population.age_periods, population.considering, population.insured,
        population.income_cny, population.min_age_periods, p["consider_rate_members"], p["consider_rate_nonmembers"],
        p["income_median_cny"], p["buy_rate"], p["buy_income_elasticity"], bought,
    )  # fmt: skip
    return bought
