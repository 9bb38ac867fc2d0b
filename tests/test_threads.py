"""Threads: the compiled passes give the same bits on any number of threads, and the
census counts what the population's own predicates say."""

from __future__ import annotations

import os

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu import MutualAidModel
from huzhu.agents.census import census
from huzhu.agents.states import State
from huzhu.experiments.executors import ProcessExecutor
from huzhu.model import threads

TWO_THREADS = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba found one core")


@pytest.fixture
def restore_threads():
    before = threads.threads()
    yield
    threads.set_threads(before)


def random_population(seed: int, n: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "state": rng.integers(0, len(State), n).astype(np.int8),
        "age_periods": rng.integers(0, 80 * 24, n).astype(np.int16),
        "frailty": rng.lognormal(0.0, 0.5, n).astype(np.float32),
        "credit_pass": rng.random(n) < 0.9,
        "considering": rng.random(n) < 0.3,
        "incidence_by_age": rng.random(80 * 24 + 1) * 0.01,
        "weight_by_age": rng.random(80 * 24 + 1) + 0.5,
        "min_age_periods": 18 * 24,
    }


def census_by_numpy(pop: dict) -> dict:
    """The census's definitions, written as array predicates."""
    state, age = pop["state"], pop["age_periods"]
    member = (state == State.WAITING) | (state == State.COVERED)
    alive = (state != State.CLAIMED) & (state != State.AGED_OUT) & (age >= pop["min_age_periods"])
    eligible = alive & pop["credit_pass"]
    risk = pop["incidence_by_age"][age] * pop["frailty"].astype(np.float64)
    return {
        "waiting": np.count_nonzero(state == State.WAITING),
        "covered": np.count_nonzero(state == State.COVERED),
        "eligible": np.count_nonzero(eligible),
        "risk_eligible": risk[eligible].sum(),
        "risk_members": risk[member].sum(),
        "age_members": age[member].sum() / 24,
        "weight_members": pop["weight_by_age"][age[member]].sum(),
        "considering_members": np.count_nonzero(pop["considering"] & member),
        "nonmembers": np.count_nonzero(alive & ~member),
        "considering_nonmembers": np.count_nonzero(pop["considering"] & alive & ~member),
    }


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 5_000), block=st.integers(1, 700))
def test_the_census_counts_what_its_definitions_say(seed, n, block):
    pop = random_population(seed, n)
    got, expected = census(**pop, block_agents=block), census_by_numpy(pop)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        # Counts are exact; sums differ from numpy's pairwise order by rounding only.
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


@TWO_THREADS
def test_the_census_is_the_same_bits_on_one_and_two_threads(restore_threads):
    pop = random_population(3, 50_000)
    threads.set_threads(1)
    one = census(**pop, block_agents=997)
    threads.set_threads(2)
    two = census(**pop, block_agents=997)
    assert one == two


@pytest.mark.parametrize("chunk_size", [1_000, 16_389])  # both split blocks of 8,192 agents across chunks
def test_the_census_taken_in_the_last_pass_is_the_census_of_the_population_after_it(chunk_size):
    # The period's last pass counts each agent as it leaves it; a census of its own taken
    # afterwards must agree to the bit, whatever the chunks.
    model = MutualAidModel(n_agents=20_000, rng=4, chunk_size=chunk_size)
    for _ in range(25):
        model.step()
    population = model.population
    _, _, in_pass = population.age_then_consider_and_buy_insurance(model.period)
    assert in_pass == population.census()
    assert in_pass["waiting"] + in_pass["covered"] == np.count_nonzero(population.is_member())


@TWO_THREADS
def test_a_run_is_the_same_bits_on_one_and_two_threads(restore_threads):
    # 200,000 agents make four blocks of the sums; 30 periods reach claims and price exits.
    tables = []
    for count in (1, 2):
        threads.set_threads(count)
        model = MutualAidModel(n_agents=200_000, rng=5)
        for _ in range(30):
            model.step()
        tables.append(model.results())
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert tables[0]["claims"].sum() > 0 and tables[0]["exits_price"].sum() > 0


@pytest.mark.parametrize("bad", [0, -1, 10**6, 1.5, "2", True, None])
def test_a_thread_count_that_is_not_allowed_is_refused(bad):
    with pytest.raises(ValueError, match="threads="):
        threads.set_threads(bad)


@pytest.mark.parametrize("bad", ["0", "two", "1.5", str(10**6)])
def test_a_bad_thread_count_in_the_environment_is_refused_naming_it(bad, monkeypatch, restore_threads):
    monkeypatch.setenv("HUZHU_THREADS", bad)
    with pytest.raises(ValueError, match="HUZHU_THREADS"):
        MutualAidModel(n_agents=1_000, rng=1)


def test_the_environment_sets_the_threads(monkeypatch, restore_threads):
    monkeypatch.setenv("HUZHU_THREADS", "1")
    MutualAidModel(n_agents=1_000, rng=1)
    assert threads.threads() == 1


@pytest.mark.parametrize(("parent", "worker"), [(None, "1"), ("2", "2")])
def test_process_workers_run_one_thread_each_unless_told_otherwise(parent, worker, monkeypatch):
    if parent is None:
        monkeypatch.delenv("HUZHU_THREADS", raising=False)
    else:
        monkeypatch.setenv("HUZHU_THREADS", parent)
    executor = ProcessExecutor(workers=1)
    try:
        seen = list(executor.map_unordered(os.getenv, ["HUZHU_THREADS"]))
    finally:
        executor.close()
    assert seen == [worker]
