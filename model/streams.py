"""Random numbers addressed by agent: the same draws however the work is chunked.

Every random draw of the vectorised engine belongs to one agent (or one network slot),
one period and one named stream. A stream is a PCG64-DXSM generator seeded from (run
seed, stream, period); the draw of agent i is its i-th output, reached by jumping the
generator ahead (`advance`, logarithmic in the distance), so a chunk [start, stop) of
agents gets exactly the numbers it would get as part of the whole population. Results
are therefore independent of the chunk size, and agents keep their draws when other
agents change.
"""

from __future__ import annotations

import zlib
from enum import IntEnum

import numpy as np
from scipy.special import ndtri

from huzhu.model import pcg64dxsm


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
    ATTENTION = 15  # whether an agent ever reviews a charge (salience stay rule)
    HOMOPHILY_AGE = 10
    HOMOPHILY_INCOME = 11
    NETWORK_REWIRE = 12
    NETWORK_TARGET = 13
    NETWORK_EDGES = 14
    MEMBERSHIP = 20  # per period: illness then staying (members), joining then family (candidates)
    INSURANCE = 21  # per period: considering then buying
    CLOSURE_OFFER = 22  # the closing period: whether a member takes the policy offered
    CLOSURE_SWITCH = 23  # the closing period: whether, and where, a member joins another platform
    PLAN_TRANSFER = 24  # a member reaching a plan's maximum age: whether it moves to the plan taking it over


class AgentStreams:
    """Uniform draws addressed by (stream, period, agent index).

    Args:
        seed_sequence: Root of the run's randomness (derived from the model's rng).
        plan_key: Key of the plan whose members' decisions these streams draw, in a
            model of several plans ("" for the model's first plan, whose streams are
            also the people's); part of every generator's key, so each plan draws its
            own numbers, and a plan keeps them when other plans are added or removed.
    """

    def __init__(self, seed_sequence: np.random.SeedSequence, plan_key: str = ""):
        self.entropy = seed_sequence.entropy
        self.plan_key = plan_key
        # Stable across processes and Python versions (unlike hash()).
        self._key = (zlib.crc32(plan_key.encode()),) if plan_key else ()

    def for_plan(self, plan_key: str) -> AgentStreams:
        """The streams of another plan of the same run (`plan_key`, non-empty)."""
        if not plan_key:
            raise ValueError("plan_key must name the plan (the first plan's streams are the run's own)")
        return AgentStreams(np.random.SeedSequence(self.entropy), plan_key)

    def _generator(self, stream: Stream, period: int, start: int) -> np.random.Generator:
        # One 64-bit output per float64 draw, so item i is output i of the stream.
        seed = np.random.SeedSequence(self.entropy, spawn_key=(int(stream), int(period), *self._key))
        bit_generator = np.random.PCG64DXSM(seed)
        bit_generator.advance(start)
        return np.random.Generator(bit_generator)

    def words(self, stream: Stream, period: int) -> np.ndarray:
        """The generator of (stream, period) at item 0, as the four words compiled passes
        draw from (`model/pcg64dxsm.py`: the same numbers as `uniforms`)."""
        return pcg64dxsm.generator_words(self._generator(stream, period, 0).bit_generator)

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
