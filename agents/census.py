"""The end-of-period census: counts and sums over all agents.

Each agent is read once and added to every total it belongs to (`count`, a block of agents
at a time): in the period's last compiled pass (agents/insurance_pass.py), or in a pass
of its own (`census`). The totals are taken over fixed blocks of agents and the blocks
added in order (model/threads.py), so they are the same bits whatever the number of
threads and the chunks.
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


#: 0/1 factors on an agent's risk and sharing weight, indexed by its census flags
#: (bit 0: eligible, bit 1: member).
_ELIGIBLE_FACTOR = np.array([0.0, 1.0, 0.0, 1.0])
_MEMBER_FACTOR = np.array([0.0, 0.0, 1.0, 1.0])


@njit(cache=True, inline="always")
def count(
    totals, low, high, state, age_periods, frailty, credit_pass, considering, incidence_by_age, weight_by_age,
    min_age_periods,
):  # fmt: skip
    """`totals` (a tuple in `TOTALS` order) with agents low..high-1 added.

    The period's last compiled pass (agents/insurance_pass.py) counts each block of
    agents once it is through with it; `census` counts everyone in a pass of its own.

    Two loops over the agents, without branches (membership and life are mixed at random
    over agents, so branches on them would be mispredicted often): the first counts in
    integers (exact, and vectorised) and notes each agent's flags; the second adds the
    float sums in agent order, each term multiplied by a 0/1 factor (adding 0.0 leaves a
    sum's bits alone), so the sums are those of adding the agents one by one.

    Args:
        totals: The block's totals so far (`NOTHING`, or `carried` from its row).
        low, high: The agents to add, low..high-1.
        state ... min_age_periods: The population's arrays and tables, as in `census`.
    """
    waiting_n, covered_n, eligible_n = totals[0], totals[1], totals[2]
    age_members, considering_members, nonmembers_n, considering_nonmembers = totals[5], totals[7], totals[8], totals[9]
    flags = np.empty(high - low, np.uint8)
    for i in range(low, high):
        s = state[i]
        age = age_periods[i]
        waiting = s == _WAITING
        covered = s == _COVERED
        member = waiting | covered
        alive = (s != _CLAIMED) & (s != _AGED_OUT) & (age >= min_age_periods)
        nonmember = alive & ~member
        eligible = alive & credit_pass[i]
        waiting_n += waiting
        covered_n += covered
        eligible_n += eligible
        age_members += age * member
        considering_members += member & considering[i]
        nonmembers_n += nonmember
        considering_nonmembers += nonmember & considering[i]
        flags[i - low] = np.uint8(eligible) | (np.uint8(member) << np.uint8(1))
    risk_eligible, risk_members, weight_members = totals[3], totals[4], totals[6]
    for i in range(low, high):
        flag = flags[i - low]
        age = max(age_periods[i], 0)  # one not yet born (a market model's early periods) counts nowhere
        risk = incidence_by_age[age] * np.float64(frailty[i])
        risk_eligible += risk * _ELIGIBLE_FACTOR[flag]
        risk_members += risk * _MEMBER_FACTOR[flag]
        weight_members += weight_by_age[age] * _MEMBER_FACTOR[flag]
    return (
        waiting_n, covered_n, eligible_n, risk_eligible, risk_members, age_members, weight_members,
        considering_members, nonmembers_n, considering_nonmembers,
    )  # fmt: skip


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
        totals = count(
            NOTHING, block * block_agents, min(n, (block + 1) * block_agents), state, age_periods, frailty,
            credit_pass, considering, incidence_by_age, weight_by_age, min_age_periods,
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
