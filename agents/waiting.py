"""The waiting period: a member who joined `waiting_periods` periods ago or earlier is covered (ODD 3, step 2).

One definition, compiled: the per-agent engine asks it of one agent, the vectorised
engine applies it in one compiled pass over the agents.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from huzhu.agents.memberships import RecordLinks, record_of
from huzhu.agents.states import State

_WAITING, _COVERED = int(State.WAITING), int(State.COVERED)


@njit(cache=True, inline="always")
def waiting_is_over(state, join_period, period, waiting_periods):
    """Whether a member in `state`, who last joined in `join_period`, has waited
    `waiting_periods` periods by `period` and so is covered from now (bool)."""
    return state == _WAITING and period - join_period >= waiting_periods


@njit(cache=True, parallel=True)
def _complete(state, links, join_period, period, waiting_periods):
    for i in prange(state.size):
        if state[i] == _WAITING:  # a member, so it has a record
            if waiting_is_over(state[i], join_period[record_of(links, i)], period, waiting_periods):
                state[i] = _COVERED


def complete_waiting_periods(
    state: np.ndarray, links: RecordLinks, join_period: np.ndarray, period: int, waiting_periods: int
) -> None:
    """Every waiting member whose waiting period is over becomes COVERED (in place).

    Args:
        state: `State` code of each agent towards the plan (int8).
        links: How to find each agent's record of the plan (`Memberships.links`).
        join_period: Period of the last join, per record (int16).
        period: This period.
        waiting_periods: Length of the waiting period (periods).
    """
    _complete(state, links, join_period, int(period), int(waiting_periods))
