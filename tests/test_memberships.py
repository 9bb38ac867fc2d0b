"""The membership records: one record per person and plan joined, found again, kept
through the store's growth, and read as a dense array would be."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu.agents.memberships import FIELDS, NO_PERIOD, Memberships
from huzhu.agents.states import ExitReason
from huzhu.model.model import MutualAidModel

N_PEOPLE = 50

opens = st.lists(
    st.tuples(st.integers(0, 3), st.sets(st.integers(0, N_PEOPLE - 1), max_size=N_PEOPLE)), min_size=1, max_size=20
)


@settings(max_examples=60, deadline=None)
@given(opens)
def test_each_person_holds_one_record_a_plan_joined_and_keeps_it_as_the_store_grows(batches):
    store = Memberships(N_PEOPLE, capacity=1)  # grows many times
    for _ in range(4):
        store.add_plan()
    written = {}
    for plan, people in batches:
        people = np.array(sorted(people), dtype=np.int64)
        records = store.open(plan, people)
        for person, record in zip(people.tolist(), records.tolist(), strict=True):
            assert written.setdefault((person, plan), record) == record  # opened twice: the same record
            store.contributions_cny[record] = person + 100.0 * plan  # a value to find after growth
    assert store.size == len(written) == len(set(written.values()))
    for (person, plan), record in written.items():
        assert store.records_of(plan, [person])[0] == record
        assert store.record_plan[record] == plan
        assert store.contributions_cny[record] == person + 100.0 * plan
    for plan in range(4):
        joined = {person for person, p in written if p == plan}
        never = [person for person in range(N_PEOPLE) if person not in joined]
        assert (store.records_of(plan, never) == -1).all()
        for name, (_, fill) in FIELDS.items():
            assert (store.values(plan, name, never) == fill).all()


def test_a_new_record_reads_as_one_who_has_never_joined():
    store = Memberships(3)
    plan = store.add_plan()
    (record,) = store.open(plan, [1])
    assert store.join_period[record] == store.first_join_period[record] == NO_PERIOD
    assert store.exit_reason[record] == ExitReason.NONE and not store.enrolled_by_family[record]


def test_the_store_refuses_more_plans_than_a_record_can_name():
    store = Memberships(1)
    for _ in range(128):
        store.add_plan()
    with pytest.raises(ValueError, match="at most 128 plans"):
        store.add_plan()


def test_a_plans_arrays_over_every_agent_are_read_only_copies():
    pop = MutualAidModel(n_agents=200, rng=0).population
    with pytest.raises(ValueError, match="read-only"):
        pop.contributions_cny[0] = 1.0


def test_only_those_who_joined_hold_records_and_each_plan_finds_its_own():
    model = MutualAidModel(preset="market", n_agents=4_000, rng=1)
    for _ in range(60):
        model.step()
    for pool in model.pools:
        pop = pool.population
        holds = pop.records(np.arange(pop.n_agents)) >= 0
        np.testing.assert_array_equal(holds, pop.first_join_period != NO_PERIOD)
        members = pop.is_member()
        assert holds[members].all()
    assert model.population.memberships.size == sum(
        int(np.count_nonzero(pool.population.first_join_period != NO_PERIOD)) for pool in model.pools
    )


def test_neighbour_counts_take_the_narrowest_type_that_holds_the_largest_degree():
    from huzhu.agents.population import _count_type

    assert _count_type(127) is np.int8 and _count_type(128) is np.int16 and _count_type(40_000) is np.int32
    pop = MutualAidModel(n_agents=2_000, rng=0, network_type="barabasi_albert", contagion_model="threshold").population
    assert np.iinfo(pop.exited_neighbours.dtype).max >= pop.network.max_degree == pop.degree.max()


@pytest.mark.parametrize("network_type", ["watts_strogatz", "barabasi_albert", "homophilous"])
def test_members_among_the_neighbours_are_counted_from_their_states(network_type):
    model = MutualAidModel(n_agents=3_000, rng=2, network_type=network_type)
    for _ in range(12):
        model.step()
    pop = model.population
    rows = np.repeat(np.arange(pop.n_agents), pop.degree)
    expected = np.bincount(rows, weights=pop.is_member()[pop.network.indices], minlength=pop.n_agents)
    assert pop.is_member().any()
    np.testing.assert_array_equal(pop.member_neighbours, expected)
