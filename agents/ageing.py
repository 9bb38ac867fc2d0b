"""Ageing: everyone grows half a month older each period (ODD 7.6).

Ages stop at the plan's maximum (nothing depends on age beyond it). An agent reaching
it leaves the plan if a member, and is AGED_OUT from then on; `grow_older` says who has
just reached it. One definition, compiled: the per-agent engine calls it for one agent,
the vectorised engine inside the period's last compiled pass (agents/insurance_pass.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from huzhu.agents.states import State

_AGED_OUT = int(State.AGED_OUT)


@njit(cache=True, inline="always")
def grow_older(age_periods, state, max_age_periods, i):
    """Agent i ages half a month (not past `max_age_periods`); whether it has just reached
    the maximum age and is not yet AGED_OUT (bool)."""
    age = age_periods[i]
    if age < max_age_periods:
        age += 1
        age_periods[i] = age
    return age == max_age_periods and state[i] != _AGED_OUT


@njit(cache=True)
def _grow_older_each(age_periods, state, max_age_periods, agents, reached):
    for k in range(agents.size):
        reached[k] = grow_older(age_periods, state, max_age_periods, agents[k])


def grow_older_each(age_periods: np.ndarray, state: np.ndarray, max_age_periods: int, agents: np.ndarray) -> np.ndarray:
    """`grow_older` for each agent in `agents` (in place); those who have just reached the maximum."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    reached = np.empty(agents.size, dtype=np.bool_)
    _grow_older_each(age_periods, state, max_age_periods, agents, reached)
    return agents[reached]
