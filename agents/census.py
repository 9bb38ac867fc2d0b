"""The end-of-period census: counts and sums over all agents in one compiled pass.

One pass reads each agent once and adds it to every total it belongs to; the totals are
taken over fixed blocks of agents and the blocks added in order (model/threads.py), so
they are the same bits whatever the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from huzhu.agents.states import State
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.threads import BLOCK_AGENTS

#: The census's totals, in the order of the kernel's columns.
TOTALS = (
    "waiting",  # members in the waiting period (agents)
    "covered",  # members past it (agents)
    "eligible",  # alive and passing the credit screen (agents)
    "risk_eligible",  # their summed true annual risk (per year)
    "risk_members",  # members' summed true annual risk (per year)
    "age_members",  # members' summed age (years; half months in the kernel)
    "weight_members",  # members' summed sharing weight (1)
    "considering_members",  # members considering commercial insurance (agents)
    "nonmembers",  # alive agents who are not members (agents)
    "considering_nonmembers",  # of them, those considering commercial insurance (agents)
)

# Plain integers: the compiled kernel compares int8 codes with them.
_WAITING, _COVERED = int(State.WAITING), int(State.COVERED)
_CLAIMED, _AGED_OUT = int(State.CLAIMED), int(State.AGED_OUT)


@njit(cache=True, inline="always")
def count(
    totals, state, age_periods, frailty, credit_pass, considering, incidence_by_age, weight_by_age, min_age_periods,
):  # fmt: skip
    """`totals` (a tuple in `TOTALS` order) with one agent added, from its values.

    The period's last compiled pass (agents/insurance_pass.py) counts each agent as it
    leaves it; `census` counts everyone in a pass of its own. Counts are exact in float64
    (below 2^53), and each block adds its agents in index order.
    """
    # Without branches: membership and life are mixed at random over agents, so branches
    # on them would be mispredicted often. Counts are kept in integers (exact, and an
    # integer add is quicker than a float one); adding 0.0 leaves a sum's bits alone.
    waiting = state == _WAITING
    covered = state == _COVERED
    member = waiting | covered
    alive = (state != _CLAIMED) & (state != _AGED_OUT) & (age_periods >= min_age_periods)
    nonmember = alive & ~member
    eligible = alive & credit_pass
    risk = incidence_by_age[age_periods] * np.float64(frailty)
    return (
        totals[0] + waiting,
        totals[1] + covered,
        totals[2] + eligible,
        totals[3] + (risk if eligible else 0.0),
        totals[4] + (risk if member else 0.0),
        totals[5] + (age_periods if member else 0),
        totals[6] + (weight_by_age[age_periods] if member else 0.0),
        totals[7] + (member & considering),
        totals[8] + nonmember,
        totals[9] + (nonmember & considering),
    )


#: Nothing counted yet: the start of each block's totals (integer counts, float sums).
NOTHING = (0, 0, 0, 0.0, 0.0, 0, 0.0, 0, 0, 0)


@njit(cache=True, inline="always")
def carried(row):
    """A block's totals so far, from its row of partial sums (a tuple in `TOTALS` order)."""
    return (
        np.int64(row[0]), np.int64(row[1]), np.int64(row[2]), row[3], row[4], np.int64(row[5]), row[6],
        np.int64(row[7]), np.int64(row[8]), np.int64(row[9]),
    )  # fmt: skip


@njit(cache=True, inline="always")
def store(row, totals):
    """Write a block's totals (a tuple in `TOTALS` order) to its row of partial sums."""
    row[0], row[1], row[2], row[3], row[4] = totals[0], totals[1], totals[2], totals[3], totals[4]
    row[5], row[6], row[7], row[8], row[9] = totals[5], totals[6], totals[7], totals[8], totals[9]


@njit(cache=True, parallel=True)
def _block_totals(
    state, age_periods, frailty, credit_pass, considering, incidence_by_age, weight_by_age, min_age_periods,
    block_agents,
):  # fmt: skip
    n = state.size
    n_blocks = (n + block_agents - 1) // block_agents
    partial = np.zeros((n_blocks, len(TOTALS)))
    for block in prange(n_blocks):
        totals = NOTHING
        for i in range(block * block_agents, min(n, (block + 1) * block_agents)):
            totals = count(
                totals, state[i], age_periods[i], frailty[i], credit_pass[i], considering[i], incidence_by_age,
                weight_by_age, min_age_periods,
            )  # fmt: skip
        store(partial[block], totals)
    return partial


@njit(cache=True)
def sum_blocks_in_order(partial):
    """Column sums of per-block partial sums, the blocks added in order (the same bits on any threads)."""
    totals = np.zeros(partial.shape[1])
    for block in range(partial.shape[0]):
        totals += partial[block]
    return totals


def census(
    state: np.ndarray,
    age_periods: np.ndarray,
    frailty: np.ndarray,
    credit_pass: np.ndarray,
    considering: np.ndarray,
    incidence_by_age: np.ndarray,
    weight_by_age: np.ndarray,
    min_age_periods: int,
    block_agents: int = BLOCK_AGENTS,
) -> dict[str, float]:
    """Counts and sums over all agents (see `TOTALS` for each one's unit).

    Args:
        state: `State` code of each agent (int8).
        age_periods: Age in half months (int16).
        frailty: Risk multiplier (float32).
        credit_pass: Passes the credit screen (bool).
        considering: Considers commercial insurance (bool).
        incidence_by_age: Annual incidence at each half-month age (per year).
        weight_by_age: Sharing weight at each half-month age (1).
        min_age_periods: Youngest age counted among the eligible (half months).
        block_agents: Agents per block of the sums (the same for every run, so that runs
            agree to the bit; smaller only to test that threads change nothing).
    """
    partial = _block_totals(
        state, age_periods, frailty, credit_pass, considering, incidence_by_age, weight_by_age, min_age_periods,
        block_agents,
    )  # fmt: skip
    return totals_from(partial)


def totals_from(partial: np.ndarray) -> dict[str, float]:
    """The census (see `TOTALS`) from its per-block partial sums, added in block order."""
    totals = dict(zip(TOTALS, sum_blocks_in_order(partial).tolist(), strict=True))
    totals["age_members"] /= PERIODS_PER_YEAR  # summed in whole half months, exact, then to years
    return totals
