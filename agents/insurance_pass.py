"""Ageing, then the insurance funnel, as one compiled pass over a chunk of agents (ODD 7.6, 7.7).

Each agent grows half a month older (`ageing.grow_older`); one reaching the maximum age
becomes AGED_OUT (a member's exit is booked after the pass, `Population.leave`). Then
the funnel, one uniform an agent: one not yet considering starts if u < p_consider and
then buys if u / p_consider < p_buy; one already considering buys if u < p_buy. Each
agent writes only its own state and no step reads another's, so the pass equals ageing
everyone and then running the funnel for everyone, and agents are shared among threads
freely. Each agent, final for the period once through the funnel, is then counted in the
end-of-period census (agents/census.py), so the census needs no pass of its own.

People age once a period, in the pass of the model's first plan, and pass through the
funnel there from that plan's launch on (the funnel's rates are its members' and its
outsiders'; in a market model its members are those of any of the modelled platform's
plans, and everyone under the oldest age any plan admits takes part); the pass of any
other plan of the model (`people_step=False`) only checks its own maximum age against the
ages the first pass left, and counts its census.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from huzhu.agents import census, cross_sell
from huzhu.agents.ageing import grow_older, reached_maximum_age
from huzhu.agents.blocks import block_part, blocks_overlapping
from huzhu.agents.states import State
from huzhu.model import pcg64dxsm
from huzhu.model.threads import BLOCK_AGENTS

_OUTSIDER, _WAITING, _COVERED = int(State.OUTSIDER), int(State.WAITING), int(State.COVERED)
_EXITED, _CLAIMED, _AGED_OUT = int(State.EXITED), int(State.CLAIMED), int(State.AGED_OUT)

_NO_MEMBERS = np.zeros(1, dtype=np.bool_)  # read only when a platform's members are given
#: Codes of `consider_and_buy`'s result.
NO_PURCHASE, BOUGHT_AS_NONMEMBER, BOUGHT_AS_MEMBER = 0, 1, 2


@njit(cache=True, inline="always")
def _out_of_the_funnel(state, age_periods, considering, insured, min_age_periods, oldest_age_periods):
    """Whether an agent takes no step in the funnel: paid a benefit, at the oldest age
    (in a one-plan model, aged out of the plan), under the minimum age, or insured already
    after considering."""
    return (
        state == _CLAIMED or age_periods >= oldest_age_periods or age_periods < min_age_periods
        or (considering and insured)
    )  # fmt: skip


@njit(cache=True, inline="always")
def _consider_and_buy(
    i, u, member, considering, insured, income_cny, p_consider_member, p_consider_nonmember, income_median_cny,
    buy_rate, buy_income_elasticity,
):  # fmt: skip
    """Agent i's step through the funnel from its uniform `u` (in place; the caller has
    checked it is in the funnel, `_out_of_the_funnel`); its purchase code."""
    u_buy = u
    if not considering[i]:
        p_consider = p_consider_member if member else p_consider_nonmember
        if not u < p_consider:
            return NO_PURCHASE
        considering[i] = True
        u_buy = u / p_consider
    if insured[i]:
        return NO_PURCHASE
    income = np.float64(income_cny[i])
    if u_buy >= cross_sell.buy_hazard(income, income_median_cny, buy_rate, buy_income_elasticity):
        return NO_PURCHASE  # at or above a bound of p_buy: the same decision, without the exponential
    if u_buy < cross_sell.buy_probability(income, income_median_cny, buy_rate, buy_income_elasticity):
        insured[i] = True
        return BOUGHT_AS_MEMBER if member else BOUGHT_AS_NONMEMBER
    return NO_PURCHASE


@njit(cache=True, parallel=True)
def _age_then_consider_and_buy(
    start, stop, block_agents, words, people_step, funnel, platform_members_given, platform_member, state,
    age_periods, considering, insured, income_cny,
    frailty, credit_pass, incidence_by_age, weight_by_age, min_age_periods, oldest_age_periods, max_age_periods,
    rate_members, rate_nonmembers, income_median_cny, buy_rate, buy_income_elasticity, bought, member_aged_out,
    census_partial,
):  # fmt: skip
    # The chance of starting to consider depends only on membership: two values a period.
    p_consider_member = cross_sell.consider_probability(True, rate_members, rate_nonmembers)
    p_consider_nonmember = cross_sell.consider_probability(False, rate_members, rate_nonmembers)
    first_block, n_blocks = blocks_overlapping(start, stop, block_agents)
    for b in prange(n_blocks):
        block, low, high = block_part(first_block, b, start, stop, block_agents)
        draw_hi, draw_lo = pcg64dxsm.jump(words[0], words[1], words[2], words[3], low)
        row = census_partial[block]
        totals = census.carried(row)
        for i in range(low, high):
            k = i - start
            member_aged_out[k] = False
            if people_step:
                reached = grow_older(age_periods, state, oldest_age_periods, max_age_periods, i)
            else:
                reached = reached_maximum_age(age_periods, state, max_age_periods, i)
            if reached:
                s = state[i]
                if s == _WAITING or s == _COVERED:
                    member_aged_out[k] = True
                    state[i] = _AGED_OUT
                elif s == _OUTSIDER or s == _EXITED:
                    state[i] = _AGED_OUT
            s = state[i]
            if not funnel:
                bought[k] = NO_PURCHASE
                continue
            if _out_of_the_funnel(s, age_periods[i], considering[i], insured[i], min_age_periods, oldest_age_periods):
                draw_hi, draw_lo = pcg64dxsm.skip(draw_hi, draw_lo, words[2], words[3])  # its number is not needed
                bought[k] = NO_PURCHASE
                continue
            u, draw_hi, draw_lo = pcg64dxsm.next_double(draw_hi, draw_lo, words[2], words[3])
            # A member is the plan's, or in a market model any plan's of the modelled platform.
            member = platform_member[i] if platform_members_given else (s == _WAITING or s == _COVERED)
            bought[k] = _consider_and_buy(
                i, u, member, considering, insured, income_cny, p_consider_member,
                p_consider_nonmember, income_median_cny, buy_rate, buy_income_elasticity,
            )  # fmt: skip
        # The block's agents are final for the period (unless the plan closes now) and
        # still in cache: count them.
        totals = census.count(
            totals, low, high, state, age_periods, frailty, credit_pass, considering, incidence_by_age,
            weight_by_age, min_age_periods,
        )  # fmt: skip
        census.store(row, totals)


def age_then_consider_and_buy(
    population,
    start: int,
    stop: int,
    words: np.ndarray,
    census_partial: np.ndarray,
    people_step: bool = True,
    funnel: bool = True,
    platform_member: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Agents start..stop-1 age half a month, then come to consider insurance and some buy
    (in place), each drawing its uniform from the stream whose position-0 words are
    `words` (item i: agent i; model/pcg64dxsm.py); then each is counted in the census.

    Args:
        population: The `Population` whose arrays are updated.
        start, stop: The chunk of agents.
        words: `AgentStreams.words` of the insurance stream this period.
        census_partial: The census's running sums per block (`census.TOTALS` columns),
            carried on in place.
        people_step: Whether people age here (the model's first plan); if not, the pass
            checks the plan's maximum age and counts only.
        funnel: Whether people pass through the insurance funnel here (the model's first
            plan, from its launch; the caller decides, `Population.age_then_consider_and_buy_insurance`).
        platform_member: In a market model, whether each agent is a member of any plan of
            the modelled platform (bool, every agent): the funnel's members; None: the
            plan's own members.

    Returns:
        (bought, member_aged_out): per agent NO_PURCHASE, BOUGHT_AS_NONMEMBER or
        BOUGHT_AS_MEMBER (int8); whether it was a member and reached the maximum age
        (its state is AGED_OUT already; the caller books the exit).
    """
    p = population.params
    bought = np.empty(stop - start, dtype=np.int8)
    member_aged_out = np.empty(stop - start, dtype=np.bool_)
    if stop == start:
        return bought, member_aged_out
    _age_then_consider_and_buy(
        int(start), int(stop), BLOCK_AGENTS, words, bool(people_step), bool(funnel), platform_member is not None,
        _NO_MEMBERS if platform_member is None else platform_member,
        population.state, population.age_periods,
        population.considering, population.insured, population.income_cny, population.frailty,
        population.credit_pass, population.incidence_by_age, population.weight_by_age, population.min_age_periods,
        population.oldest_age_periods, population.max_age_periods,
        p["consider_rate_members"], p["consider_rate_nonmembers"], p["income_median_cny"], p["buy_rate"],
        p["buy_income_elasticity"], bought, member_aged_out, census_partial,
    )  # fmt: skip
    return bought, member_aged_out
