"""Replication seeds with common random numbers.

Replication k of an experiment runs with the same seed at every design point: seed k is
drawn from `SeedSequence(experiment seed, spawn_key=(0, k))`. Because every draw of the
model is addressed by (stream, period, agent) (huzhu.model.streams), agent i meets the
same luck in replication k whatever the parameters, so differences between points paired
by replication carry little sampling noise (common random numbers).
"""

from __future__ import annotations

import numpy as np

REPLICATION_SPAWN_KEY = 0


def replication_seed(experiment_seed: int, replication: int) -> int:
    """The model seed of replication `replication` (0-based), the same at every design point.

    Returns:
        A non-negative integer below 2**63 (fits a Parquet int64 column).
    """
    sequence = np.random.SeedSequence(experiment_seed, spawn_key=(REPLICATION_SPAWN_KEY, replication))
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def replication_seeds(experiment_seed: int, replications: int) -> list[int]:
    """Seeds of replications 0..replications-1 (see `replication_seed`)."""
    return [replication_seed(experiment_seed, k) for k in range(replications)]
