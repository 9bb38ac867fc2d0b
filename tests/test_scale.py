"""Scale: the engine's results do not depend on chunking, and its memory per agent is bounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from huzhu import MutualAidModel

STATE_BYTES_PER_AGENT_BOUND = 120  # int8/int16/float32 traits and state, float64 money, CSR network of degree 10


def first_periods(n_agents: int, chunk_size: int, periods: int, **params) -> MutualAidModel:
    model = MutualAidModel(n_agents=n_agents, rng=11, chunk_size=chunk_size, **params)
    for _ in range(periods):
        model.step()
    return model


def test_outputs_at_a_million_agents_do_not_depend_on_the_chunk_size():
    # 30 periods reach the first claims, price exits and contagion (2019-02 on).
    default = first_periods(1_000_000, 65_536, 30)
    odd = first_periods(1_000_000, 99_991, 30)  # a prime: chunks never line up with the default's
    a, b = default.results(), odd.results()
    counts = [c for c in a.columns if c not in ("date",) and a[c].dtype.kind in "iu"] + [
        "members", "joins", "exits", "claims", "aged_out", "exits_price", "exits_contagion",
    ]  # fmt: skip
    pd.testing.assert_frame_equal(a[counts], b[counts], check_exact=True)
    # Money too, to the bit: the compiled passes carry their sums on over fixed blocks of
    # agents, whatever the chunks (model/threads.py).
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for name in ("state", "exit_reason", "join_period", "age_periods", "considering", "insured"):
        np.testing.assert_array_equal(getattr(default.population, name), getattr(odd.population, name), err_msg=name)
    assert a["claims"].sum() > 0 and a["exits_price"].sum() > 0


@pytest.mark.parametrize("network_type", ["watts_strogatz", "homophilous"])
def test_a_small_run_does_not_depend_on_the_chunk_size_under_any_rule(network_type):
    params = dict(
        network_type=network_type, contagion_model="threshold", sharing_rule="age_banded", annual_cap_cny=20.0
    )
    a = MutualAidModel(n_agents=5_000, rng=2, chunk_size=64, **params).run()
    b = MutualAidModel(n_agents=5_000, rng=2, chunk_size=5_000, **params).run()
    c = MutualAidModel(n_agents=5_000, rng=2, chunk_size=997, **params).run()  # chunks across blocks
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(a, c, check_exact=True)


def test_state_memory_per_agent_at_a_million_agents_is_bounded():
    model = MutualAidModel(n_agents=1_000_000, rng=1)
    assert model.population.nbytes / 1_000_000 <= STATE_BYTES_PER_AGENT_BOUND


def test_a_chunk_size_that_is_not_a_positive_integer_is_refused():
    with pytest.raises(ValueError, match="chunk_size"):
        MutualAidModel(n_agents=1_000, rng=1, chunk_size=0)
