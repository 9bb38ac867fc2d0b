"""Social networks among agents, built with networkx and held as CSR arrays.

The engine needs only each agent's neighbours, so the graph is stored as compressed
sparse rows: the neighbours of agent i are `indices[indptr[i]:indptr[i + 1]]`.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

NETWORK_TYPES = ("watts_strogatz", "barabasi_albert", "erdos_renyi", "homophilous")
HOMOPHILY_AGE_BAND_YEARS = 5.0  # ties of the homophilous network stay mostly within 5-year age bands


@dataclass(frozen=True)
class CSRNetwork:
    """An undirected network as CSR arrays.

    Attributes:
        indptr: Row pointers, shape (n + 1,), int64.
        indices: Neighbour agent indices, shape (2 x edges,), int32.
    """

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def degree(self) -> np.ndarray:
        """Number of ties of each agent, int32."""
        return np.diff(self.indptr).astype(np.int32)

    def neighbours(self, agent: int) -> np.ndarray:
        """Neighbour indices of one agent."""
        return self.indices[self.indptr[agent] : self.indptr[agent + 1]]

    def neighbours_of_many(self, agents: np.ndarray) -> np.ndarray:
        """Concatenated neighbour indices of `agents` (with repeats), without a Python loop."""
        starts = self.indptr[agents]
        counts = self.indptr[agents + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, dtype=self.indices.dtype)
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        return self.indices[offsets + np.arange(total)]

    def to_networkx(self) -> nx.Graph:
        """The same network as a networkx graph (for analysis and drawing)."""
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_nodes))
        rows = np.repeat(np.arange(self.n_nodes), self.degree)
        upper = rows < self.indices
        graph.add_edges_from(zip(rows[upper].tolist(), self.indices[upper].tolist(), strict=True))
        return graph


def csr_from_edges(n_nodes: int, edges: np.ndarray) -> CSRNetwork:
    """CSR arrays of an undirected graph given its edge list (each edge once, no self-loops)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_nodes), out=indptr[1:])
    return CSRNetwork(indptr=indptr, indices=cols[order].astype(np.int32))


def build_network(
    network_type: str,
    n_nodes: int,
    mean_degree: int,
    rewiring_prob: float,
    rng: np.random.Generator,
    age_years: np.ndarray | None = None,
    income_cny: np.ndarray | None = None,
    homophily_noise: float = 0.1,
) -> CSRNetwork:
    """Build a network of one of NETWORK_TYPES over `n_nodes` agents.

    Args:
        network_type: One of NETWORK_TYPES.
        n_nodes: Number of agents.
        mean_degree: Target mean number of ties (Watts-Strogatz and homophilous use the
            even number below it if odd; Barabasi-Albert attaches mean_degree // 2 ties).
        rewiring_prob: Share of ring ties rewired at random (Watts-Strogatz, homophilous).
        rng: Random generator; the network is a function of its state.
        age_years: Agents' ages, needed by "homophilous".
        income_cny: Agents' incomes, needed by "homophilous".
        homophily_noise: Noise on the age-income position, as a share of its range.

    Returns:
        The network as CSR arrays; agent i of the model is node i.
    """
    seed = int(rng.integers(2**31 - 1))
    if network_type == "watts_strogatz":
        graph = nx.watts_strogatz_graph(n_nodes, mean_degree, rewiring_prob, seed=seed)
        placement = rng.permutation(n_nodes)
    elif network_type == "homophilous":
        graph = nx.watts_strogatz_graph(n_nodes, mean_degree, rewiring_prob, seed=seed)
        placement = _homophilous_order(age_years, income_cny, homophily_noise, rng)
    elif network_type == "barabasi_albert":
        graph = nx.barabasi_albert_graph(n_nodes, max(1, mean_degree // 2), seed=seed)
        placement = rng.permutation(n_nodes)
    elif network_type == "erdos_renyi":
        graph = nx.fast_gnp_random_graph(n_nodes, mean_degree / (n_nodes - 1), seed=seed)
        placement = rng.permutation(n_nodes)
    else:
        raise ValueError(f"network_type={network_type!r} is not allowed: one of {', '.join(NETWORK_TYPES)}")
    edges = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
    # Ring position k holds agent placement[k]: relabel graph nodes to agents.
    return csr_from_edges(n_nodes, placement[edges])


def _homophilous_order(age_years, income_cny, noise, rng) -> np.ndarray:
    """Agents ordered by 5-year age band, then income rank, each blurred by noise.

    Neighbours on a ring over this order are of similar age and income.
    """
    if age_years is None or income_cny is None:
        raise ValueError("the homophilous network needs age_years and income_cny")
    n = len(age_years)
    age_position = age_years / HOMOPHILY_AGE_BAND_YEARS + noise * (60 / HOMOPHILY_AGE_BAND_YEARS) * rng.standard_normal(
        n
    )
    income_rank = np.argsort(np.argsort(income_cny)) / n + noise * rng.standard_normal(n)
    return np.lexsort((income_rank, np.floor(age_position)))
