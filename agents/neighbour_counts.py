"""Counts kept at each agent's neighbours, updated when agents join or leave.

A member who joins or leaves adds to a count at every neighbour (members among the
neighbours; exposure to neighbours' signal exits). The additions run serially in the
order of the agents and of each one's neighbour list, the order `np.add.at` used, so
floating-point counts take the same bits; the agents who change in a period are few
against the population, so one thread does it in a fraction of a pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from huzhu.model.network import FAR, CompactNetwork, first_far


@njit(cache=True)
def _add_to_neighbours(indptr, indices, counts, agents, value):
    for k in range(agents.size):
        i = agents[k]
        for slot in range(indptr[i], indptr[i + 1]):
            counts[indices[slot]] += value


@njit(cache=True)
def _add_to_compact_neighbours(indptr, offsets, far, far_before, counts, agents, value):
    for k in range(agents.size):
        i = agents[k]
        position = first_far(indptr, offsets, far_before, i)
        for slot in range(indptr[i], indptr[i + 1]):
            if offsets[slot] == FAR:
                counts[far[position]] += value
                position += 1
            else:
                counts[i + offsets[slot]] += value


def add_to_neighbours(network, counts: np.ndarray, agents: np.ndarray, value) -> None:
    """Add `value` to `counts` at every neighbour of each agent in `agents` (in place).

    Args:
        network: The population's `CSRNetwork` or `CompactNetwork`.
        counts: One count per agent (int32 or float32).
        agents: Agent indices (with repeats if an agent changes twice).
        value: What each neighbour gains (of `counts`' type).
    """
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    if not agents.size:
        return
    value = counts.dtype.type(value)
    if isinstance(network, CompactNetwork):
        _add_to_compact_neighbours(
            network.indptr, network.offsets, network.far, network.far_before, counts, agents, value
        )
    else:
        _add_to_neighbours(network.indptr, network.indices, counts, agents, value)
