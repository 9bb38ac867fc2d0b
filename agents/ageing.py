"""Ageing: everyone grows half a month older each period (ODD 7.6).

Ages stop at the oldest age any plan of the model admits (nothing depends on age beyond
it; in a one-plan model, the plan's maximum). An agent at or past a plan's maximum age
leaves the plan if a member, and is AGED_OUT of it from then on; `grow_older` and
`reached_maximum_age` say who has just reached it. One definition, compiled: the
per-agent engine calls it for one agent, the vectorised engine inside the period's last
compiled pass (agents/insurance_pass.py), which in a model of several plans ages people
once and checks every other plan's maximum without ageing them again.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from huzhu.agents.states import State

_AGED_OUT = int(State.AGED_OUT)


@njit(cache=True, inline="always")
def reached_maximum_age(age_periods, state, max_age_periods, i):
    """Whether agent i is at or past the plan's maximum age and not yet AGED_OUT of it (bool)."""
    return age_periods[i] >= max_age_periods and state[i] != _AGED_OUT


@njit(cache=True, inline="always")
def grow_older(age_periods, state, oldest_age_periods, max_age_periods, i):
    """Agent i ages half a month (not past `oldest_age_periods`, half months); whether it
    has just reached the plan's maximum age (`reached_maximum_age`; bool)."""
    age = age_periods[i]
    if age < oldest_age_periods:
        age_periods[i] = age + 1
    return reached_maximum_age(age_periods, state, max_age_periods, i)


@njit(cache=True)
def _grow_older_each(age_periods, state, oldest_age_periods, max_age_periods, agents, reached):
    for k in range(agents.size):
        reached[k] = grow_older(age_periods, state, oldest_age_periods, max_age_periods, agents[k])


def grow_older_each(
    age_periods: np.ndarray, state: np.ndarray, oldest_age_periods: int, max_age_periods: int, agents: np.ndarray
) -> np.ndarray:
    """`grow_older` for each agent in `agents` (in place); those who have just reached the
    plan's maximum age."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    reached = np.empty(agents.size, dtype=np.bool_)
    _grow_older_each(age_periods, state, oldest_age_periods, max_age_periods, agents, reached)
    return agents[reached]
