"""The social networks of model/network.py against docs/ODD.md section 7.8.

Every family is built by both generators ("direct", the default, and "networkx", the
reference) at N = 3,000 agents with mean degree 10 and rewiring 0.1 (the model's defaults),
from `AgentStreams(SeedSequence(seed))`. The direct generators are compared with networkx's
at N = 20,000, and their independence of the chunk size is checked at N = 10,000.
Homophily is the population's ordering of agents on the Watts-Strogatz ring, so it is
tested through `MutualAidModel`. Networks are cached so the file runs in seconds.
"""

from __future__ import annotations

import math
from functools import cache

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

import huzhu.model.network as network_module
from huzhu import MutualAidModel
from huzhu.model.network import NETWORK_GENERATORS, NETWORK_TYPES, CSRNetwork, build_network, csr_from_edges
from huzhu.model.streams import AgentStreams

N = 3_000
MEAN_DEGREE = 10
REWIRING = 0.1
N_COMPARE = 20_000  # direct against networkx generators
N_CHUNKED = 10_000  # several chunks of SMALL_CHUNK nodes
SMALL_CHUNK = 1024

FAMILIES = ("watts_strogatz", "barabasi_albert", "erdos_renyi")
EVERY_BUILD = [(t, g) for t in NETWORK_TYPES for g in NETWORK_GENERATORS]

PROPERTY = settings(max_examples=100, deadline=None)


def streams(seed: int) -> AgentStreams:
    return AgentStreams(np.random.SeedSequence(seed))


@cache
def network(
    network_type: str, generator: str = "direct", seed: int = 1, mean_degree: int = MEAN_DEGREE, n: int = N
) -> CSRNetwork:
    # Cached builds always use the module's default EDGE_CHUNK_NODES (the chunk tests build their own).
    return build_network(network_type, n, mean_degree, REWIRING, streams(seed), generator)


@cache
def model_population(network_type: str, generator: str, seed: int = 1):
    model = MutualAidModel(n_agents=N, rng=seed, network_type=network_type, network_generator=generator)
    return model.population


def edge_set(net: CSRNetwork) -> set[tuple[int, int]]:
    """Each tie once, as (smaller, larger)."""
    rows = np.repeat(np.arange(net.n_nodes), net.degree)
    lo, hi = np.minimum(rows, net.indices), np.maximum(rows, net.indices)
    return set(zip(lo.tolist(), hi.tolist(), strict=True))


def tie_ends(net: CSRNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Both ends of every tie, each tie in both directions."""
    return np.repeat(np.arange(net.n_nodes), net.degree), net.indices


def ties(net: CSRNetwork) -> int:
    return len(net.indices) // 2


def clustering(net: CSRNetwork) -> np.ndarray:
    """Local clustering of every node (networkx's convention: 0 below degree 2), vectorised.

    Triangles through i are (A^2 * A)_i / 2 for the adjacency matrix A.
    """
    n = net.n_nodes
    adjacency = sp.csr_matrix((np.ones(len(net.indices)), net.indices, net.indptr), shape=(n, n))
    triangles = np.asarray((adjacency @ adjacency).multiply(adjacency).sum(axis=1)).ravel() / 2
    k = net.degree.astype(np.float64)
    return np.divide(2 * triangles, k * (k - 1), out=np.zeros(n), where=k > 1)


def ccdf_slope(degree: np.ndarray, lo: int, hi: int) -> float:
    """Least-squares slope of log P(K >= k) against log k for k in [lo, hi]."""
    k = np.arange(lo, hi + 1)
    ccdf = (degree[None, :] >= k[:, None]).mean(axis=1)
    return float(np.polyfit(np.log(k), np.log(ccdf), 1)[0])


# ----------------------------------------------------------------------------- structure of the CSR arrays
def test_row_pointers_widen_only_when_the_entries_do_not_fit_in_int32():
    from huzhu.model.network import pointer_type

    assert pointer_type(2**31 - 1) is np.int32
    assert pointer_type(2**31) is np.int64


@pytest.mark.parametrize(("network_type", "generator"), EVERY_BUILD)
def test_csr_arrays_are_well_formed(network_type, generator):
    net = network(network_type, generator)
    assert net.n_nodes == N
    assert net.indptr.dtype == np.int32  # the entries fit
    assert net.indices.dtype == np.int32
    assert net.degree.dtype == np.int32
    assert net.indptr[0] == 0
    assert np.all(np.diff(net.indptr) >= 0)
    assert net.indptr[-1] == len(net.indices)
    assert np.all((net.indices >= 0) & (net.indices < N))
    assert net.nbytes == net.indptr.nbytes + net.indices.nbytes


@pytest.mark.parametrize(("network_type", "generator"), EVERY_BUILD)
def test_network_is_symmetric_without_self_loops_or_duplicate_ties(network_type, generator):
    # For direct Watts-Strogatz, coinciding rewired ties are merged (docstring), so no
    # duplicates either; direct Barabasi-Albert and Erdos-Renyi drop repeats and self-ties.
    net = network(network_type, generator)
    rows, cols = tie_ends(net)
    assert not np.any(rows == cols), "self-loop"
    directed = rows.astype(np.int64) * N + cols
    assert len(np.unique(directed)) == len(directed), "duplicate tie"
    # i lists j exactly when j lists i: the set of (i, j) equals the set of (j, i).
    np.testing.assert_array_equal(np.sort(directed), np.sort(cols.astype(np.int64) * N + rows))


@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
def test_homophilous_is_built_as_watts_strogatz_over_agents_in_ring_order(generator):
    # The sorting by age and income is Population.create's job; build_network lays the same ring.
    homophilous, ring = network("homophilous", generator), network("watts_strogatz", generator)
    np.testing.assert_array_equal(homophilous.indptr, ring.indptr)
    np.testing.assert_array_equal(homophilous.indices, ring.indices)


@pytest.mark.parametrize(("n", "mean_degree"), [(N, 10), (N, 7), (13, 4), (12, 10)])
def test_both_generators_build_the_same_ring_lattice_without_rewiring(n, mean_degree):
    # With rewiring 0 nothing is random: each agent is tied to the mean_degree // 2 nearest on each side.
    direct = build_network("watts_strogatz", n, mean_degree, 0.0, streams(1), "direct")
    reference = build_network("watts_strogatz", n, mean_degree, 0.0, streams(1), "networkx")
    half = mean_degree // 2
    expected = {(min(i, (i + j) % n), max(i, (i + j) % n)) for i in range(n) for j in range(1, half + 1)}
    assert edge_set(direct) == edge_set(reference) == expected
    np.testing.assert_array_equal(direct.indptr, reference.indptr)


# ----------------------------------------------------------------------------- mean degree of each family
@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
@pytest.mark.parametrize("network_type", ["watts_strogatz", "homophilous"])
@pytest.mark.parametrize("mean_degree", [10, 7])
def test_watts_strogatz_mean_degree_is_the_even_mean_degree(network_type, generator, mean_degree):
    # A ring lattice of k = 2 (mean_degree // 2) neighbours has N k / 2 ties (an odd mean degree
    # uses the even number below it), and networkx's rewiring moves ties without adding or
    # removing any, so its mean degree is exactly k. The direct generator merges rewired ties
    # that coincide: the docstring expects about (p k / 2)^2 = 0.25 of them at p = 0.1, k = 10
    # whatever N (a Poisson count), so we allow at most 5 lost ties (chance below 1e-6).
    half = mean_degree // 2
    net = network(network_type, generator, mean_degree=mean_degree)
    lost = N * half - ties(net)
    if generator == "networkx":
        assert lost == 0
        assert net.degree.mean() == 2 * half
    else:
        assert 0 <= lost <= 5
        assert net.degree.mean() == pytest.approx(2 * half, abs=2 * 5 / N)


@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
@pytest.mark.parametrize("mean_degree", [10, 7])
def test_barabasi_albert_mean_degree_is_about_twice_half_the_mean_degree(generator, mean_degree):
    # networkx starts from a star of m + 1 nodes (m ties) and each of the N - m - 1 later
    # nodes adds m ties: m (N - m) ties, mean degree 2 m (N - m) / N, m = mean_degree // 2.
    # The direct (edge-copying) generator draws the same m (N - m) ties but drops self-ties
    # and repeated ties: about 0.9% of them at N = 3,000, m = 5 (0.5% at m = 3; at most 1.1%
    # over 40 seeds), so we require it to keep between 98% and 100% of them.
    m = mean_degree // 2
    net = network("barabasi_albert", generator, mean_degree=mean_degree)
    full = m * (N - m)
    if generator == "networkx":
        assert ties(net) == full
        assert net.degree.mean() == pytest.approx(2 * m, abs=2 * m * m / N + 1e-12)
    else:
        assert 0.98 * full <= ties(net) <= full
        assert net.degree.mean() == pytest.approx(2 * m, rel=0.02 + m / N)
    # Grown from a connected star by nodes that each tie to existing ones: nobody is isolated
    # (for m >= 2 a direct node would need all of its m ties dropped).
    assert net.degree.min() >= 1


@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_erdos_renyi_mean_degree_is_within_four_standard_errors_of_the_mean_degree(generator, seed):
    # Ties ~ Binomial(N (N - 1) / 2, k / (N - 1)): mean N k / 2, sd ~ sqrt(N k / 2), so
    # the mean degree 2 ties / N has standard error sqrt(2 k / N) (0.082 at N = 3,000). The
    # direct generator keeps a target drawn twice once: about k^2 / 4 = 25 ties whatever N,
    # a mean degree lower by 50 / N = 0.017, well inside the bound.
    se = math.sqrt(2 * MEAN_DEGREE / N)
    assert abs(network("erdos_renyi", generator, seed=seed).degree.mean() - MEAN_DEGREE) < 4 * se


# ----------------------------------------------------------------------------- access
@pytest.mark.parametrize(("network_type", "generator"), EVERY_BUILD)
def test_neighbours_of_many_is_the_concatenation_of_neighbours(network_type, generator):
    net = network(network_type, generator)
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
    got = SPARSE.neighbours_of_many(agents)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int32


def test_csr_from_edges_lists_each_tie_from_both_ends():
    assert SPARSE.neighbours(0).tolist() == []
    assert sorted(SPARSE.neighbours(1).tolist()) == [2, 4, 6]
    assert sorted(SPARSE.neighbours(6).tolist()) == [1, 4, 5]
    assert SPARSE.degree.tolist() == [0, 3, 2, 0, 2, 2, 3, 0]


@pytest.mark.parametrize(("network_type", "generator"), EVERY_BUILD)
def test_to_networkx_round_trips_the_edge_set(network_type, generator):
    net = network(network_type, generator)
    graph = net.to_networkx()
    assert graph.number_of_nodes() == N
    assert graph.number_of_edges() == ties(net)
    assert {(min(u, v), max(u, v)) for u, v in graph.edges()} == edge_set(net)
    again = csr_from_edges(N, np.array(list(graph.edges())))
    assert edge_set(again) == edge_set(net)
    np.testing.assert_array_equal(again.indptr, net.indptr)


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize(("network_type", "generator"), EVERY_BUILD)
def test_the_same_seed_gives_the_same_network_and_another_seed_another(network_type, generator):
    def build(seed):
        return build_network(network_type, N, MEAN_DEGREE, REWIRING, streams(seed), generator)

    first, again, other = build(5), build(5), build(6)
    np.testing.assert_array_equal(first.indptr, again.indptr)
    np.testing.assert_array_equal(first.indices, again.indices)
    assert edge_set(first) != edge_set(other)
    # Another graph, not the same graph relabelled: the degree sequences differ too (random
    # rewiring or attachment makes equal sequences over 3,000 agents practically impossible).
    assert not np.array_equal(np.sort(first.degree), np.sort(other.degree))


@pytest.mark.parametrize("chunk", [SMALL_CHUNK, 1000])
@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_the_direct_network_does_not_depend_on_the_chunk_size(network_type, chunk, monkeypatch):
    # Exact arrays: the order of neighbours within a row matters to the engine (a relative for
    # family enrolment is picked by position in the row, Population.join).
    default = build_network(network_type, N_CHUNKED, MEAN_DEGREE, REWIRING, streams(7))
    monkeypatch.setattr(network_module, "EDGE_CHUNK_NODES", chunk)
    chunked = build_network(network_type, N_CHUNKED, MEAN_DEGREE, REWIRING, streams(7))
    np.testing.assert_array_equal(chunked.indptr, default.indptr)
    np.testing.assert_array_equal(chunked.indices, default.indices)


# ----------------------------------------------------------------------------- structure of the families
def tie_correlation(net: CSRNetwork, values: np.ndarray) -> float:
    rows, cols = tie_ends(net)
    values = np.asarray(values, dtype=np.float64)
    return float(np.corrcoef(values[rows], values[cols])[0, 1])


@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
def test_homophilous_ties_join_agents_of_similar_age_far_more_than_watts_strogatz_ties(generator):
    # With N k = 30,000 tie ends the correlation of unrelated ages has sd ~ 1 / sqrt(15,000)
    # = 0.008, so 0.1 is over 10 sd; homophilous ties stay within blurred 5-year bands
    # (about 0.8 observed).
    homophilous = model_population("homophilous", generator)
    ring = model_population("watts_strogatz", generator)
    assert tie_correlation(homophilous.network, homophilous.age_years) > 0.5
    assert abs(tie_correlation(ring.network, ring.age_years)) < 0.1


@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
def test_homophilous_ties_join_agents_of_similar_income(generator):
    # Within an age band the ring follows (blurred) income quantile: rank correlation across
    # ties (about 0.74 observed at N = 3,000; band noise mixes neighbouring bands).
    for network_type, check in (("homophilous", lambda c: c > 0.3), ("watts_strogatz", lambda c: abs(c) < 0.1)):
        population = model_population(network_type, generator)
        rank = np.argsort(np.argsort(population.income_cny, kind="stable"))
        assert check(tie_correlation(population.network, rank)), network_type


@pytest.mark.parametrize(("network_type", "generator"), [("watts_strogatz", "direct"), ("erdos_renyi", "networkx")])
def test_vectorised_clustering_agrees_with_networkx(network_type, generator):
    net = network(network_type, generator)
    assert clustering(net).mean() == pytest.approx(nx.average_clustering(net.to_networkx()), abs=1e-12)


@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
def test_watts_strogatz_clustering_is_far_above_erdos_renyi_at_the_same_mean_degree(generator):
    # Ring lattice: 3 (k - 2) / (4 (k - 1)) = 0.67, times about (1 - p)^3 after rewiring;
    # G(n, p): about k / N = 0.003.
    ws = clustering(network("watts_strogatz", generator)).mean()
    er = clustering(network("erdos_renyi", generator)).mean()
    assert ws > 0.3
    assert er < 0.02
    assert ws > 10 * er


# ----------------------------------------------------------------------------- direct against networkx
def both(family: str) -> tuple[CSRNetwork, CSRNetwork]:
    return network(family, "direct", n=N_COMPARE), network(family, "networkx", n=N_COMPARE)


def test_direct_watts_strogatz_matches_networkx_clustering_and_degrees():
    direct, reference = both("watts_strogatz")
    # Average clustering about 0.67 (1 - p)^3 = 0.49 for both (observed difference about 0.002).
    assert clustering(direct).mean() == pytest.approx(clustering(reference).mean(), abs=0.02)
    # Same degree distribution: mean exactly 10 up to a few merged ties, variance about
    # 2 half p (1 - p) ~ 0.9 (observed 0.93 against 0.95), KS statistic below 0.05.
    assert direct.degree.mean() == pytest.approx(reference.degree.mean(), abs=10 / N_COMPARE)
    assert direct.degree.var() == pytest.approx(reference.degree.var(), rel=0.15)
    assert ks_2samp(direct.degree, reference.degree).statistic < 0.05


def test_direct_barabasi_albert_matches_networkx_heavy_tail():
    direct, reference = both("barabasi_albert")
    for net in (direct, reference):
        # Heavy tail: hubs of about m sqrt(N) = 700 ties against a mean of 10.
        assert net.degree.max() > 10 * net.degree.mean()
    # P(K >= k) ~ m (m + 1) / k^2 in the tail (Barabasi-Albert): slope -2 on log-log axes,
    # fitted over k = 20..100 (5 to 0.25 per cent of agents, at least 50 of them at N = 20,000).
    slope_direct = ccdf_slope(direct.degree, 20, 100)
    slope_reference = ccdf_slope(reference.degree, 20, 100)
    assert slope_direct == pytest.approx(slope_reference, abs=0.5)
    assert slope_direct == pytest.approx(-2.0, abs=0.3)
    assert slope_reference == pytest.approx(-2.0, abs=0.3)
    # The whole distribution: the ties the direct generator drops (0.15%) barely move it.
    assert ks_2samp(direct.degree, reference.degree).statistic < 0.05


def test_direct_erdos_renyi_matches_networkx_poisson_degrees():
    direct, reference = both("erdos_renyi")
    for net in (direct, reference):
        # Binomial(N - 1, k / (N - 1)) degrees: variance k (1 - p) ~ mean. The sample variance
        # of 20,000 Poisson(10) degrees has sd sqrt(k (1 + 2 k) / N) = 0.1, about 1% of the mean,
        # so 5% is 5 sd.
        degree = net.degree
        assert degree.var() / degree.mean() == pytest.approx(1.0, abs=0.05)
    assert ks_2samp(direct.degree, reference.degree).statistic < 0.05


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("generator", NETWORK_GENERATORS)
def test_an_unknown_network_type_raises_naming_the_allowed_ones(generator):
    with pytest.raises(ValueError, match="small_world") as error:
        build_network("small_world", 100, 4, 0.1, streams(1), generator)
    for allowed in NETWORK_TYPES:
        assert allowed in str(error.value)


def test_an_unknown_generator_raises_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="igraph") as error:
        build_network("watts_strogatz", 100, 4, 0.1, streams(1), "igraph")
    for allowed in NETWORK_GENERATORS:
        assert allowed in str(error.value)


@pytest.mark.parametrize("network_type", ["watts_strogatz", "homophilous"])
@pytest.mark.parametrize("n", [5, 10, 11])
def test_a_watts_strogatz_ring_too_small_for_its_degree_raises(network_type, n):
    # 10 ties each need a ring of more than 11 agents (rewired targets lie outside the window).
    with pytest.raises(ValueError, match="Watts-Strogatz"):
        build_network(network_type, n, 10, 0.1, streams(1))
    assert build_network(network_type, 12, 10, 0.1, streams(1)).n_nodes == 12


# ----------------------------------------------------------------------------- compact storage
def _shuffled_ring(n: int, seed: int) -> CSRNetwork:
    """A ring lattice whose ties are partly local, partly far, rows in a random order."""
    rng = np.random.default_rng(seed)
    edges = {(i, (i + j) % n) for i in range(n) for j in (1, 2)}
    edges |= {tuple(sorted(map(int, rng.choice(n, 2, replace=False)))) for _ in range(n // 3)}
    edges = np.array(sorted({(min(u, v), max(u, v)) for u, v in edges}))
    return csr_from_edges(n, edges)


@PROPERTY
@given(n=st.integers(5, 700), seed=st.integers(0, 2**16))
def test_a_compact_network_holds_every_row_in_its_order(n, seed):
    from huzhu.model.network import CompactNetwork, compact

    plain = _shuffled_ring(n, seed)
    packed = compact(plain)
    if not isinstance(packed, CompactNetwork):
        return  # no smaller: kept as it is
    np.testing.assert_array_equal(packed.indices, plain.indices)
    np.testing.assert_array_equal(packed.indptr, plain.indptr)
    agents = np.random.default_rng(seed).integers(0, n, 20)
    np.testing.assert_array_equal(packed.neighbours_of_many(agents), plain.neighbours_of_many(agents))
    has_ties = agents[plain.degree[agents] > 0]
    positions = (np.random.default_rng(seed + 1).random(has_ties.size) * plain.degree[has_ties]).astype(np.int64)
    np.testing.assert_array_equal(packed.neighbour_at(has_ties, positions), plain.neighbour_at(has_ties, positions))


@pytest.mark.parametrize("network_type", NETWORK_TYPES)
def test_neighbour_counts_are_the_same_over_a_compact_network(network_type):
    from huzhu.agents.neighbour_counts import add_to_neighbours
    from huzhu.model.network import compact

    plain = network(network_type)
    packed = compact(plain)
    agents = np.sort(np.random.default_rng(3).choice(N, 500))
    counts = [np.zeros(N, np.float32), np.zeros(N, np.float32)]
    for net, count in zip((plain, packed), counts, strict=True):
        add_to_neighbours(net, count, agents, 1.0)
        count *= np.float32(0.6)
        add_to_neighbours(net, count, agents[::3], 1.0)
    np.testing.assert_array_equal(counts[0], counts[1])


def test_a_network_is_compacted_only_where_that_saves_memory():
    from huzhu.model.network import CompactNetwork, compact

    ring = compact(network("watts_strogatz"))  # nine ties in ten local: about 18 bytes an agent, not 44
    assert isinstance(ring, CompactNetwork) and ring.nbytes < 0.5 * network("watts_strogatz").nbytes
    assert isinstance(compact(network("erdos_renyi")), CSRNetwork)  # ties anywhere: no saving
    assert isinstance(compact(network("barabasi_albert")), CSRNetwork)
