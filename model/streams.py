"""Random numbers addressed by agent: the same draws however the work is chunked.

Every random draw of the vectorised engine belongs to one agent (or one network slot),
one period and one named stream. A stream is a counter-based Philox generator keyed by
(run seed, stream, period); the draw of agent i is its i-th output, reached by advancing
the counter, so a chunk [start, stop) of agents gets exactly the numbers it would get
as part of the whole population. Results are therefore independent of the chunk size,
and agents keep their draws when other agents change.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from scipy.special import ndtri

PHILOX_OUTPUTS_PER_COUNTER = 4  # one Philox counter step yields four 64-bit outputs (one float64 each)


class Stream(IntEnum):
    """Named streams; the value is part of the generator key, so never renumber."""

    AGE = 1
    INCOME = 2
    FRAILTY = 3
    PERCEPTION = 4
    CREDIT = 5
    HEALTH_SCREEN = 6
    THRESHOLD = 7
    CONSIDERING = 8
    INSURED = 9
    HOMOPHILY_AGE = 10
    HOMOPHILY_INCOME = 11
    NETWORK_REWIRE = 12
    NETWORK_TARGET = 13
    NETWORK_EDGES = 14
    MEMBERSHIP = 20  # per period: illness then staying (members), joining then family (candidates)
    INSURANCE = 21  # per period: considering then buying


class AgentStreams:
    """Uniform draws addressed by (stream, period, agent index).

    Args:
        seed_sequence: Root of the run's randomness (derived from the model's rng).
    """

    def __init__(self, seed_sequence: np.random.SeedSequence):
        self.entropy = seed_sequence.entropy

    def _generator(self, stream: Stream, period: int, start: int) -> np.random.Generator:
        if start % PHILOX_OUTPUTS_PER_COUNTER:
            raise ValueError(f"a chunk must start at a multiple of {PHILOX_OUTPUTS_PER_COUNTER}; got {start}")
        key = np.random.SeedSequence(self.entropy, spawn_key=(int(stream), int(period))).generate_state(2, np.uint64)
        bit_generator = np.random.Philox(key=key)
        bit_generator.advance(start // PHILOX_OUTPUTS_PER_COUNTER)
        return np.random.Generator(bit_generator)

    def uniforms(self, stream: Stream, period: int, start: int, stop: int) -> np.ndarray:
        """Uniform draws on [0, 1) of items start..stop-1 (float64)."""
        return self._generator(stream, period, start).random(stop - start)

    def normals(self, stream: Stream, period: int, start: int, stop: int) -> np.ndarray:
        """Standard normal draws of items start..stop-1, by inverting the CDF (float64).

        Inversion uses exactly one uniform per draw, which keeps draws addressed by item
        (a rejection sampler would not).
        """
        u = self.uniforms(stream, period, start, stop)
        # 0 has probability 2^-53 but would give -inf; nudge it to the smallest positive draw.
        return ndtri(np.maximum(u, 2.0**-53))
