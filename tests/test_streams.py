"""The compiled passes draw exactly the numbers of the addressed streams.

`model/pcg64dxsm.py` re-implements NumPy's PCG64DXSM so that compiled loops draw their
agents' uniforms themselves; a run is the same only if every draw is the same bits as
`AgentStreams.uniforms` gives (NumPy's generator jumped to the agent's position).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu.model import pcg64dxsm
from huzhu.model.streams import AgentStreams, Stream


@settings(max_examples=60, deadline=None)
@given(
    entropy=st.integers(0, 2**128 - 1),
    stream=st.sampled_from(list(Stream)),
    period=st.integers(0, 200),
    start=st.one_of(st.integers(0, 70_000), st.integers(0, 2**62)),
    count=st.integers(1, 300),
)
def test_compiled_draws_equal_numpys_at_any_position(entropy, stream, period, start, count):
    streams = AgentStreams(np.random.SeedSequence(entropy))
    expected = streams.uniforms(stream, period, start, start + count)
    got = pcg64dxsm.doubles(streams.words(stream, period), start, count)
    np.testing.assert_array_equal(got, expected)


def test_a_long_run_of_draws_stays_equal_to_numpys_past_many_carries():
    # A million steps cross the low word's carry into the high word many times over.
    streams = AgentStreams(np.random.SeedSequence(2024))
    expected = streams.uniforms(Stream.MEMBERSHIP, 7, 123_457, 1_123_457)
    got = pcg64dxsm.doubles(streams.words(Stream.MEMBERSHIP, 7), 123_457, 1_000_000)
    np.testing.assert_array_equal(got, expected)


def test_draws_lie_in_the_unit_interval_and_differ_between_streams_and_periods():
    streams = AgentStreams(np.random.SeedSequence(5))
    a = pcg64dxsm.doubles(streams.words(Stream.MEMBERSHIP, 3), 0, 10_000)
    b = pcg64dxsm.doubles(streams.words(Stream.INSURANCE, 3), 0, 10_000)
    c = pcg64dxsm.doubles(streams.words(Stream.MEMBERSHIP, 4), 0, 10_000)
    assert ((a >= 0) & (a < 1)).all()
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
