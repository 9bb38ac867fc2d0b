"""The social networks of model/network.py against docs/ODD.md section 7.8.

Every family is built at N = 3,000 agents with mean degree 10 and rewiring 0.1 (the model's
defaults), ages uniform on [0, 60) and lognormal incomes as in `Population.create`.
Networks are cached per (family, seed) so the file runs in a few seconds.
"""

from __future__ import annotations

import math
from functools import cache

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu.model.network import NETWORK_TYPES, CSRNetwork, build_network, csr_from_edges

N = 3_000
MEAN_DEGREE = 10
REWIRING = 0.1

PROPERTY = settings(max_examples=100, deadline=None)


@cache
def traits() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2024)
    return rng.uniform(0.0, 60.0, N), rng.lognormal(math.log(65_700.0), 0.8, N)


@cache
def network(network_type: str, seed: int = 1, mean_degree: int = MEAN_DEGREE) -> CSRNetwork:
    age, income = traits()
    return build_network(
        network_type, N, mean_degree, REWIRING, np.random.default_rng(seed), age_years=age, income_cny=income
    )


def edge_set(net: CSRNetwork) -> set[tuple[int, int]]:
    """Each tie once, as (smaller, larger)."""
    rows = np.repeat(np.arange(net.n_nodes), net.degree)
    lo, hi = np.minimum(rows, net.indices), np.maximum(rows, net.indices)
    return set(zip(lo.tolist(), hi.tolist(), strict=True))


def tie_ends(net: CSRNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Both ends of every tie, each tie in both directions."""
    return np.repeat(np.arange(net.n_nodes), net.degree), net.indices


# ----------------------------------------------------------------------------- structure of the CSR arrays
@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_csr_arrays_are_well_formed(network_type):
    net = network(network_type)
    assert net.n_nodes == N
    assert net.indices.dtype == np.int32
    assert net.indptr[0] == 0
    assert np.all(np.diff(net.indptr) >= 0)
    assert net.indptr[-1] == len(net.indices)
    assert np.all((net.indices >= 0) & (net.indices < N))


@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_network_is_symmetric_without_self_loops_or_duplicate_ties(network_type):
    net = network(network_type)
    rows, cols = tie_ends(net)
    assert not np.any(rows == cols), "self-loop"
    directed = rows.astype(np.int64) * N + cols
    assert len(np.unique(directed)) == len(directed), "duplicate tie"
    # i lists j exactly when j lists i: the set of (i, j) equals the set of (j, i).
    np.testing.assert_array_equal(np.sort(directed), np.sort(cols.astype(np.int64) * N + rows))


def test_watts_strogatz_and_homophilous_mean_degree_is_exactly_the_even_mean_degree():
    # A ring lattice of k neighbours has N k / 2 ties, and rewiring moves ties without
    # adding or removing any, so the mean degree is exactly k.
    for network_type in ("watts_strogatz", "homophilous"):
        assert network(network_type).degree.mean() == MEAN_DEGREE
        # An odd mean degree uses the even number below it (build_network's docstring).
        assert network(network_type, mean_degree=7).degree.mean() == 6


def test_barabasi_albert_mean_degree_is_about_twice_half_the_mean_degree():
    # networkx starts from a star of m + 1 nodes (m ties) and each of the N - m - 1 later
    # nodes adds m ties: m (N - m) ties, mean degree 2 m (N - m) / N, m = mean_degree // 2.
    for mean_degree in (10, 7):
        m = mean_degree // 2
        degree = network("barabasi_albert", mean_degree=mean_degree).degree
        assert degree.sum() == 2 * m * (N - m)
        assert degree.mean() == pytest.approx(2 * m, abs=2 * m * m / N + 1e-12)
        # Grown from a connected star by nodes that each tie to existing ones: nobody is isolated.
        assert degree.min() >= 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_erdos_renyi_mean_degree_is_within_four_standard_errors_of_the_mean_degree(seed):
    # Ties ~ Binomial(N (N - 1) / 2, k / (N - 1)): mean N k / 2, sd ~ sqrt(N k / 2), so
    # the mean degree 2 ties / N has standard error sqrt(2 k / N) (0.082 at N = 3,000).
    se = math.sqrt(2 * MEAN_DEGREE / N)
    assert abs(network("erdos_renyi", seed=seed).degree.mean() - MEAN_DEGREE) < 4 * se


# ----------------------------------------------------------------------------- access
@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_neighbours_of_many_is_the_concatenation_of_neighbours(network_type):
    net = network(network_type)
    rng = np.random.default_rng(11)
    subsets = [
        np.array([], dtype=np.int64),
        np.array([0]),
        np.array([N - 1, 0, N - 1]),
        np.array([5, 5, 5, 5]),
        rng.integers(0, N, 1),
        rng.integers(0, N, 50),
        rng.integers(0, 20, 200),  # many repeats
        rng.permutation(N),
    ]
    for agents in subsets:
        expected = np.concatenate([net.neighbours(a) for a in agents] + [np.empty(0, np.int32)])
        got = net.neighbours_of_many(agents)
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == net.indices.dtype


# Isolated nodes 0, 3 and 7 make zero-length rows inside the requested runs.
SPARSE = csr_from_edges(8, np.array([[1, 2], [1, 4], [2, 5], [4, 6], [5, 6], [6, 1]]))


@PROPERTY
@given(agents=st.lists(st.integers(0, 7), max_size=40))
def test_neighbours_of_many_handles_agents_without_ties_and_repeats(agents):
    agents = np.array(agents, dtype=np.int64)
    expected = np.concatenate([SPARSE.neighbours(a) for a in agents] + [np.empty(0, np.int32)])
    np.testing.assert_array_equal(SPARSE.neighbours_of_many(agents), expected)


def test_csr_from_edges_lists_each_tie_from_both_ends():
    assert SPARSE.neighbours(0).tolist() == []
    assert sorted(SPARSE.neighbours(1).tolist()) == [2, 4, 6]
    assert sorted(SPARSE.neighbours(6).tolist()) == [1, 4, 5]
    assert SPARSE.degree.tolist() == [0, 3, 2, 0, 2, 2, 3, 0]


@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_to_networkx_round_trips_the_edge_set(network_type):
    net = network(network_type)
    graph = net.to_networkx()
    assert graph.number_of_nodes() == N
    assert graph.number_of_edges() == len(net.indices) // 2
    assert {(min(u, v), max(u, v)) for u, v in graph.edges()} == edge_set(net)
    again = csr_from_edges(N, np.array(list(graph.edges())))
    assert edge_set(again) == edge_set(net)
    np.testing.assert_array_equal(again.indptr, net.indptr)


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_the_same_seed_gives_the_same_network_and_another_seed_another(network_type):
    age, income = traits()

    def build(seed):
        return build_network(
            network_type, N, MEAN_DEGREE, REWIRING, np.random.default_rng(seed), age_years=age, income_cny=income
        )

    first, again, other = build(5), build(5), build(6)
    np.testing.assert_array_equal(first.indptr, again.indptr)
    np.testing.assert_array_equal(first.indices, again.indices)
    assert edge_set(first) != edge_set(other)
    # Another graph, not the same graph relabelled: the degree sequences differ too (random
    # rewiring or attachment makes equal sequences over 3,000 agents practically impossible).
    assert not np.array_equal(np.sort(first.degree), np.sort(other.degree))


# ----------------------------------------------------------------------------- structure of the families
def age_correlation(net: CSRNetwork) -> float:
    rows, cols = tie_ends(net)
    age, _ = traits()
    return float(np.corrcoef(age[rows], age[cols])[0, 1])


def test_homophilous_ties_join_agents_of_similar_age_far_more_than_watts_strogatz_ties():
    # With N k = 30,000 tie ends the correlation of unrelated ages has sd ~ 1 / sqrt(15,000)
    # = 0.008, so 0.1 is over 10 sd; homophilous ties stay within blurred 5-year bands.
    assert age_correlation(network("homophilous")) > 0.5
    assert abs(age_correlation(network("watts_strogatz"))) < 0.1


def test_homophilous_ties_join_agents_of_similar_income():
    # Within an age band the ring follows (blurred) income rank: rank correlation across ties.
    _, income = traits()
    rank = np.argsort(np.argsort(income))
    for network_type, check in (("homophilous", lambda c: c > 0.5), ("watts_strogatz", lambda c: abs(c) < 0.1)):
        rows, cols = tie_ends(network(network_type))
        assert check(np.corrcoef(rank[rows], rank[cols])[0, 1]), network_type


def test_watts_strogatz_clustering_is_far_above_erdos_renyi_at_the_same_mean_degree():
    # Ring lattice: 3 (k - 2) / (4 (k - 1)) = 0.67, times about (1 - p)^3 after rewiring;
    # G(n, p): about k / N = 0.003.
    ws = nx.average_clustering(network("watts_strogatz").to_networkx())
    er = nx.average_clustering(network("erdos_renyi").to_networkx())
    assert ws > 0.3
    assert er < 0.02
    assert ws > 10 * er


# ----------------------------------------------------------------------------- errors
def test_an_unknown_network_type_raises_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="small_world") as error:
        build_network("small_world", 100, 4, 0.1, np.random.default_rng(1))
    for allowed in NETWORK_TYPES:
        assert allowed in str(error.value)


@pytest.mark.parametrize("missing", ["age_years", "income_cny", "both"])
def test_the_homophilous_network_without_ages_or_incomes_raises(missing):
    age, income = np.linspace(0, 59, 100), np.linspace(1e4, 1e5, 100)
    kwargs = {"age_years": age, "income_cny": income}
    if missing == "both":
        kwargs = {}
    else:
        del kwargs[missing]
    with pytest.raises(ValueError, match="homophilous"):
        build_network("homophilous", 100, 4, 0.1, np.random.default_rng(1), **kwargs)
