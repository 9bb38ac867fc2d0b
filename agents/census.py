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


@njit(cache=True, parallel=True)
def _block_totals(
    state, age_periods, frailty, credit_pass, considering, incidence_by_age, weight_by_age, min_age_periods,
    block_agents,
):  # fmt: skip
    n = state.size
    n_blocks = (n + block_agents - 1) // block_agents
    partial = np.zeros((n_blocks, len(TOTALS)))
    for block in prange(n_blocks):
        waiting = covered = eligible = considering_members = nonmembers = considering_nonmembers = 0
        age_members = 0
        risk_eligible = risk_members = weight_members = 0.0
        for i in range(block * block_agents, min(n, (block + 1) * block_agents)):
            s = state[i]
            age = age_periods[i]
            member = s == _WAITING or s == _COVERED
            alive = s != _CLAIMED and s != _AGED_OUT and age >= min_age_periods
            eligible_here = alive and credit_pass[i]
            if eligible_here or member:
                risk = incidence_by_age[age] * np.float64(frailty[i])
                if eligible_here:
                    eligible += 1
                    risk_eligible += risk
                if member:
                    risk_members += risk
            if member:
                waiting += s == _WAITING
                covered += s == _COVERED
                age_members += age
                weight_members += weight_by_age[age]
                considering_members += considering[i]
            elif alive:
                nonmembers += 1
                considering_nonmembers += considering[i]
        row = partial[block]
        row[0], row[1], row[2], row[3], row[4] = waiting, covered, eligible, risk_eligible, risk_members
        row[5], row[6], row[7] = age_members, weight_members, considering_members
        row[8], row[9] = nonmembers, considering_nonmembers
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
    totals = dict(zip(TOTALS, sum_blocks_in_order(partial).tolist(), strict=True))
    totals["age_members"] /= PERIODS_PER_YEAR  # summed in whole half months, exact, then to years
    return totals
