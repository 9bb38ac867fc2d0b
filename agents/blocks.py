"""The fixed blocks of agents that compiled passes share among threads (model/threads.py).

A pass over a chunk [start, stop) visits the blocks of `BLOCK_AGENTS` consecutive agents
that overlap it, each block's part in agent order; a block's running sums sit in one row
of a partial-sums table and are carried on from chunk to chunk, and a block draws its
agents' numbers from its own generator jumped to its first agent. So neither the chunk
size nor the number of threads changes a bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from huzhu.model.threads import BLOCK_AGENTS


@njit(cache=True, inline="always")
def blocks_overlapping(start, stop, block_agents):
    """(first block, number of blocks) that agents start..stop-1 touch (stop > start)."""
    first_block = start // block_agents
    return first_block, (stop - 1) // block_agents - first_block + 1


@njit(cache=True, inline="always")
def block_part(first_block, b, start, stop, block_agents):
    """(block, low, high): the b-th block from `first_block` and its agents [low, high) inside start..stop-1."""
    block = first_block + b
    return block, max(start, block * block_agents), min(stop, (block + 1) * block_agents)


def partial_sums(n_agents: int, columns: int) -> np.ndarray:
    """Zeroed running sums: one row per block of `n_agents` agents, `columns` columns."""
    return np.zeros((-(-n_agents // BLOCK_AGENTS), columns))
