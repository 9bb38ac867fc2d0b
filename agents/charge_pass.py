"""Charging the members their shares as one compiled pass over a chunk of agents (ODD 7.2).

Each member is asked its share (`unit share x sharing weight at its age`) and pays what
the annual cap leaves (`sharing.capped_charges`); the year-to-date totals reset first in
a period that opens a year. The sums the books need (asked, paid, sharers) are taken over
the fixed blocks of model/threads.py: each block's running sums are read back and carried
on agent by agent, so they are the same bits whatever the chunk size or thread count.
"""

from __future__ import annotations

from numba import njit, prange

from huzhu.agents import sharing
from huzhu.agents.blocks import block_part, blocks_overlapping
from huzhu.agents.memberships import record_of
from huzhu.agents.states import State
from huzhu.model.threads import BLOCK_AGENTS

_OUTSIDER, _WAITING, _COVERED = int(State.OUTSIDER), int(State.WAITING), int(State.COVERED)

#: Columns of the charge sums, per block of agents.
SUMS = ("asked_cny", "charged_cny", "sharers")


@njit(cache=True, parallel=True)
def _charge_blocks(
    start, stop, block_agents, state, links, age_periods, weight_by_age, paid_this_year_cny, contributions_cny,
    paid_this_membership_cny, unit_share_cny, cap_cny, new_year, partial,
):  # fmt: skip
    first_block, n_blocks = blocks_overlapping(start, stop, block_agents)
    for b in prange(n_blocks):
        block, low, high = block_part(first_block, b, start, stop, block_agents)
        row = partial[block]
        asked_sum, charged_sum, sharers = row[0], row[1], row[2]
        for i in range(low, high):
            s = state[i]
            member = s == _WAITING or s == _COVERED
            if not member and not (new_year and s != _OUTSIDER):
                continue  # an outsider has no record; a former member's is only reset in a new year
            r = record_of(links, i)
            if new_year and r >= 0:
                paid_this_year_cny[r] = 0.0
            if member:
                asked = unit_share_cny * weight_by_age[age_periods[i]]
                charged = sharing.capped_charges(asked, paid_this_year_cny[r], cap_cny)
                paid_this_year_cny[r] += charged
                contributions_cny[r] += charged
                paid_this_membership_cny[r] += charged
                asked_sum += asked
                charged_sum += charged
                sharers += 1.0
        row[0], row[1], row[2] = asked_sum, charged_sum, sharers


def charge(population, start: int, stop: int, unit_share_cny: float, cap_cny: float, new_year: bool, partial) -> None:
    """Charge the members among agents start..stop-1 (in place), adding to `partial`.

    Args:
        population: The `Population` whose arrays are charged.
        start, stop: The chunk of agents.
        unit_share_cny: Share per unit of sharing weight (CNY per person).
        cap_cny: Annual cap in force (CNY per person per year; inf when none).
        new_year: The period opens a calendar year.
        partial: Running sums per block (`SUMS` columns), rows by block of agents.
    """
    m = population.memberships
    _charge_blocks(
        start, stop, BLOCK_AGENTS, population.state, m.links(population.plan_number), population.age_periods,
        population.weight_by_age, m.paid_this_year_cny, m.contributions_cny, m.paid_this_membership_cny,
        float(unit_share_cny), float(cap_cny), bool(new_year), partial,
    )  # fmt: skip
