"""Social networks among agents, held as CSR arrays.

The engine needs only each agent's neighbours, so a graph is stored as compressed sparse
rows: the neighbours of agent i are `indices[indptr[i]:indptr[i + 1]]`.

Two generators build the same families. `networkx` calls networkx (the reference, fine
below about a million agents and for analysis). `direct` builds the graph straight into
CSR arrays, chunk by chunk, from addressed random streams (model/streams.py), with no
Python loop over agents; it is the default and the only one that reaches 10^8 agents.
What the direct generators approximate is said in each docstring.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np
from numba import njit
from scipy.stats import binom

from huzhu.model.streams import AgentStreams, Stream

NETWORK_TYPES = ("watts_strogatz", "barabasi_albert", "erdos_renyi", "homophilous")
NETWORK_GENERATORS = ("direct", "networkx")
EDGE_CHUNK_NODES = 1 << 20  # nodes per chunk of edge generation
PLACE_BATCH_EDGES = 1 << 20  # edges sorted at once when placing arbitrary edges (bounds memory)


class _Rows:
    """What a network's row pointers give, in either storage (`CSRNetwork`, `CompactNetwork`)."""

    indptr: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def degree(self) -> np.ndarray:
        """Number of ties of each agent, int32."""
        return np.diff(self.indptr).astype(np.int32)

    @property
    def max_degree(self) -> int:
        """The most ties any agent has (computed a chunk of agents at a time)."""
        most = 0
        for start in range(0, self.n_nodes, EDGE_CHUNK_NODES):
            stop = min(start + EDGE_CHUNK_NODES, self.n_nodes)
            most = max(most, int(np.diff(self.indptr[start : stop + 1]).max(initial=0)))
        return most


@dataclass(frozen=True)
class CSRNetwork(_Rows):
    """An undirected network as CSR arrays.

    Attributes:
        indptr: Row pointers, shape (n + 1,), int32 while the entries fit (below 2^31,
            about 2 x 10^8 agents at ten ties each), else int64.
        indices: Neighbour agent indices, shape (2 x ties,), int32.
    """

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (bytes)."""
        return self.indptr.nbytes + self.indices.nbytes

    def neighbours(self, agent: int) -> np.ndarray:
        """Neighbour indices of one agent."""
        return self.indices[self.indptr[agent] : self.indptr[agent + 1]]

    def neighbours_of_many(self, agents: np.ndarray) -> np.ndarray:
        """Concatenated neighbour indices of `agents` (with repeats), without a Python loop."""
        agents = np.asarray(agents, dtype=np.int64)
        starts = self.indptr[agents]
        counts = self.indptr[agents + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, dtype=self.indices.dtype)
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        return self.indices[offsets + np.arange(total)]

    def neighbour_at(self, agents: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The neighbour at `positions` in each agent's row (int64)."""
        agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
        return self.indices[self.indptr[agents] + np.asarray(positions, dtype=np.int64)].astype(np.int64)

    def to_networkx(self) -> nx.Graph:
        """The same network as a networkx graph (for analysis and drawing)."""
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_nodes))
        rows = np.repeat(np.arange(self.n_nodes), self.degree)
        upper = rows < self.indices
        graph.add_edges_from(zip(rows[upper].tolist(), self.indices[upper].tolist(), strict=True))
        return graph


def pointer_type(entries: int) -> type:
    """Row pointers' type for a network of `entries` neighbour entries (twice its ties):
    int32 while they fit, which at ten ties each is up to about 2 x 10^8 agents, else int64."""
    return np.int32 if entries <= np.iinfo(np.int32).max else np.int64


#: An offset of `CompactNetwork.offsets` that says: this neighbour is the next of `far`.
FAR = -128
#: Rows per entry of `CompactNetwork.far_before`: finding a row's first far neighbour reads
#: the offsets of at most this many rows before it.
FAR_BLOCK_ROWS = 16


@dataclass(frozen=True)
class CompactNetwork(_Rows):
    """The same rows as a `CSRNetwork`, in about half its memory when ties are local.

    A neighbour within 127 places of the agent (most ties of a ring lattice, and of the
    homophilous ring laid over agents sorted by age and income) is stored as its int8
    offset from the agent; the others (rewired ties) as FAR there and their index in
    `far`, in row order. Every row lists the same neighbours in the same order as the
    `CSRNetwork` it was made from (`compact`), so runs are identical to the bit.

    Attributes:
        indptr: Row pointers, as the `CSRNetwork`'s (a row's entries in `offsets`).
        offsets: Per entry, neighbour minus agent, or FAR (int8).
        far: The FAR entries' neighbours, in row order (int32).
        far_before: Per block of FAR_BLOCK_ROWS rows, the FAR entries before its first row.
    """

    indptr: np.ndarray
    offsets: np.ndarray
    far: np.ndarray
    far_before: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (bytes)."""
        return self.indptr.nbytes + self.offsets.nbytes + self.far.nbytes + self.far_before.nbytes

    @property
    def indices(self) -> np.ndarray:
        """Every row's neighbours as a `CSRNetwork`'s indices (int32; made when asked, for
        analysis and tests: at scale, read rows with `neighbours_of_many`)."""
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))
        indices = (rows + self.offsets).astype(np.int32)
        indices[self.offsets == FAR] = self.far
        return indices

    def neighbours(self, agent: int) -> np.ndarray:
        """Neighbour indices of one agent."""
        return self.neighbours_of_many(np.array([agent]))

    def neighbours_of_many(self, agents: np.ndarray) -> np.ndarray:
        """Concatenated neighbour indices of `agents` (with repeats)."""
        agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
        counts = self.indptr[agents + 1] - self.indptr[agents]
        out = np.empty(int(counts.sum()), dtype=np.int32)
        _neighbours_of_many(self.indptr, self.offsets, self.far, self.far_before, agents, out)
        return out

    def neighbour_at(self, agents: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The neighbour at `positions` in each agent's row (int64)."""
        agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
        out = np.empty(agents.size, dtype=np.int64)
        positions = np.asarray(positions, dtype=np.int64)
        _neighbour_at(self.indptr, self.offsets, self.far, self.far_before, agents, positions, out)
        return out

    def to_networkx(self) -> nx.Graph:
        """The same network as a networkx graph (for analysis and drawing)."""
        return CSRNetwork(self.indptr, self.indices).to_networkx()


@njit(cache=True, inline="always")
def first_far(indptr, offsets, far_before, i):
    """Position in a `CompactNetwork`'s `far` of agent i's first FAR neighbour (or of the
    next FAR neighbour of a later row, if it has none)."""
    block = i // FAR_BLOCK_ROWS
    position = far_before[block]
    for k in range(indptr[block * FAR_BLOCK_ROWS], indptr[i]):
        if offsets[k] == FAR:
            position += 1
    return position


class NetworkArrays(NamedTuple):
    """A `CSRNetwork`'s or a `CompactNetwork`'s arrays, for a compiled pass that reads rows
    (`neighbour_of`); the arrays of the other form are empty. A tuple of a pass's arrays
    may hold these fields by the same names (Numba's parallel loops take no nested tuple)."""

    network_compact: bool
    indptr: np.ndarray
    indices: np.ndarray  # a CSRNetwork's
    offsets: np.ndarray  # a CompactNetwork's
    far: np.ndarray
    far_before: np.ndarray


def network_arrays(network: CSRNetwork | CompactNetwork) -> NetworkArrays:
    """The arrays of either form of network, for `neighbour_of`."""
    if isinstance(network, CompactNetwork):
        no_indices = np.empty(0, dtype=np.int32)
        return NetworkArrays(True, network.indptr, no_indices, network.offsets, network.far, network.far_before)
    none = np.empty(0, dtype=np.int32)
    return NetworkArrays(False, network.indptr, network.indices, np.empty(0, np.int8), none, none.astype(np.int64))


@njit(cache=True, inline="always")
def first_position(net, i):
    """Where reading agent i's row starts: in a compact network, its first FAR entry's
    position in `far` (`first_far`); 0 otherwise."""
    return first_far(net.indptr, net.offsets, net.far_before, i) if net.network_compact else 0


@njit(cache=True, inline="always")
def neighbour_of(net, i, k, position):
    """Entry k of agent i's row (k from indptr[i] up, in order) and the position of the
    next FAR entry, starting from `first_position(net, i)`.

    Returns:
        (the neighbour's index, the position to pass with entry k + 1).
    """
    if not net.network_compact:
        return np.int64(net.indices[k]), position
    if net.offsets[k] == FAR:
        return np.int64(net.far[position]), position + 1
    return i + net.offsets[k], position


@njit(cache=True)
def _neighbours_of_many(indptr, offsets, far, far_before, agents, out):
    n = 0
    for i in agents:
        position = first_far(indptr, offsets, far_before, i)
        for k in range(indptr[i], indptr[i + 1]):
            if offsets[k] == FAR:
                out[n] = far[position]
                position += 1
            else:
                out[n] = i + offsets[k]
            n += 1


@njit(cache=True)
def _neighbour_at(indptr, offsets, far, far_before, agents, positions, out):
    for a in range(agents.size):
        i = agents[a]
        position = first_far(indptr, offsets, far_before, i)
        for k in range(indptr[i], indptr[i] + positions[a]):
            if offsets[k] == FAR:
                position += 1
        k = indptr[i] + positions[a]
        out[a] = far[position] if offsets[k] == FAR else i + offsets[k]


@njit(cache=True)
def _encode(indptr, indices, offsets, far_in_block):
    """Every entry's offset (FAR where the neighbour lies 128 or more places away), and
    the FAR entries of each block of rows (at its block's index + 1)."""
    for i in range(indptr.size - 1):
        for k in range(indptr[i], indptr[i + 1]):
            offset = indices[k] - i
            if -128 < offset < 128:
                offsets[k] = offset
            else:
                offsets[k] = FAR
                far_in_block[i // FAR_BLOCK_ROWS + 1] += 1


@njit(cache=True)
def _gather_far(indices, offsets, far):
    n = 0
    for k in range(offsets.size):
        if offsets[k] == FAR:
            far[n] = indices[k]
            n += 1


def compact(network: CSRNetwork) -> CSRNetwork | CompactNetwork:
    """The network as a `CompactNetwork` where that takes less memory, else as it is."""
    n, entries = network.n_nodes, len(network.indices)
    blocks = -(-n // FAR_BLOCK_ROWS)
    offsets = np.empty(entries, dtype=np.int8)
    far_in_block = np.zeros(blocks + 1, dtype=np.int64)
    _encode(network.indptr, network.indices, offsets, far_in_block)
    far_before = np.cumsum(far_in_block)
    n_far = int(far_before[-1])
    pointer = pointer_type(n_far)
    if entries + 4 * n_far + np.dtype(pointer).itemsize * blocks >= network.indices.nbytes:
        return network
    far = np.empty(n_far, dtype=np.int32)
    _gather_far(network.indices, offsets, far)
    return CompactNetwork(network.indptr, offsets, far, far_before[:-1].astype(pointer))


class _CSRBuilder:
    """Fills CSR arrays from edge lists in two passes (count, then place) with bounded memory."""

    def __init__(self, n_nodes: int):
        self.n_nodes = n_nodes
        self.degree = np.zeros(n_nodes, dtype=np.int32)
        self.indptr: np.ndarray | None = None
        self.indices: np.ndarray | None = None
        self.placed: np.ndarray | None = None  # entries placed in each row so far (int32: half a pointer's memory)

    def count(self, u: np.ndarray, v: np.ndarray) -> None:
        np.add.at(self.degree, u, 1)
        np.add.at(self.degree, v, 1)

    def allocate(self) -> None:
        pointer = pointer_type(int(self.degree.sum(dtype=np.int64)))
        self.indptr = np.zeros(self.n_nodes + 1, dtype=pointer)
        np.cumsum(self.degree, out=self.indptr[1:], dtype=pointer)
        self.indices = np.empty(int(self.indptr[-1]), dtype=np.int32)
        self.placed = np.zeros(self.n_nodes, dtype=np.int32)
        del self.degree

    def place_distinct(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Place entries whose `rows` are all different (no sorting needed)."""
        placed = self.placed[rows]
        self.indices[self.indptr[rows] + placed] = cols
        self.placed[rows] = placed + 1

    def place(self, u: np.ndarray, v: np.ndarray) -> None:
        """Place both directions of arbitrary edges (sorting them by row, a batch at a time)."""
        for start in range(0, len(u), PLACE_BATCH_EDGES):
            self._place_batch(u[start : start + PLACE_BATCH_EDGES], v[start : start + PLACE_BATCH_EDGES])

    def _place_batch(self, u: np.ndarray, v: np.ndarray) -> None:
        rows = np.concatenate([u, v])
        cols = np.concatenate([v, u])
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
        run_starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        run_lengths = np.diff(np.r_[run_starts, len(rows)])
        rank = np.arange(len(rows)) - np.repeat(run_starts, run_lengths)
        self.indices[self.indptr[rows] + self.placed[rows] + rank] = cols
        self.placed[rows[run_starts]] += run_lengths.astype(np.int32)

    def finish(self) -> CSRNetwork:
        for start in range(0, self.n_nodes, EDGE_CHUNK_NODES):
            stop = min(start + EDGE_CHUNK_NODES, self.n_nodes)
            if not np.array_equal(self.placed[start:stop], np.diff(self.indptr[start : stop + 1])):
                raise RuntimeError("CSR fill does not match the counted degrees")
        del self.placed
        return CSRNetwork(indptr=self.indptr, indices=self.indices)


def csr_from_edges(n_nodes: int, edges: np.ndarray) -> CSRNetwork:
    """CSR arrays of an undirected graph given its edge list (each edge once, no self-loops)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    builder = _CSRBuilder(n_nodes)
    builder.count(edges[:, 0], edges[:, 1])
    builder.allocate()
    builder.place(edges[:, 0], edges[:, 1])
    return builder.finish()


def build_network(
    network_type: str,
    n_nodes: int,
    mean_degree: int,
    rewiring_prob: float,
    streams: AgentStreams,
    generator: str = "direct",
) -> CSRNetwork:
    """Build a network of one of NETWORK_TYPES over `n_nodes` agents.

    The homophilous network is a Watts-Strogatz ring laid over agents sorted by age and
    income; the sorting is the population's job (`Population.create`), so here it is
    built as "watts_strogatz" over agents already in ring order.

    Args:
        network_type: One of NETWORK_TYPES.
        n_nodes: Number of agents.
        mean_degree: Target mean number of ties (Watts-Strogatz and homophilous use the
            even number at or below it; Barabasi-Albert attaches mean_degree // 2 ties
            per new node).
        rewiring_prob: Share of ring ties rewired at random (Watts-Strogatz, homophilous).
        streams: The run's addressed random streams.
        generator: "direct" (default) or "networkx".

    Returns:
        The network as CSR arrays; agent i is node i.
    """
    if network_type not in NETWORK_TYPES:
        raise ValueError(f"network_type={network_type!r} is not allowed: one of {', '.join(NETWORK_TYPES)}")
    if generator not in NETWORK_GENERATORS:
        raise ValueError(f"network generator {generator!r} is not allowed: one of {', '.join(NETWORK_GENERATORS)}")
    family = "watts_strogatz" if network_type == "homophilous" else network_type
    if generator == "networkx":
        return _networkx(family, n_nodes, mean_degree, rewiring_prob, streams)
    if family == "watts_strogatz":
        return _watts_strogatz(n_nodes, mean_degree // 2, rewiring_prob, streams)
    if family == "erdos_renyi":
        return _erdos_renyi(n_nodes, mean_degree / (n_nodes - 1), streams)
    return _barabasi_albert(n_nodes, max(1, mean_degree // 2), streams)


def _networkx(family: str, n: int, mean_degree: int, rewiring_prob: float, streams: AgentStreams) -> CSRNetwork:
    seed = int(streams.uniforms(Stream.NETWORK_EDGES, 0, 0, 1)[0] * (2**31 - 1))
    if family == "watts_strogatz":
        graph = nx.watts_strogatz_graph(n, mean_degree, rewiring_prob, seed=seed)
    elif family == "barabasi_albert":
        graph = nx.barabasi_albert_graph(n, max(1, mean_degree // 2), seed=seed)
    else:
        graph = nx.fast_gnp_random_graph(n, mean_degree / (n - 1), seed=seed)
    return csr_from_edges(n, np.array(graph.edges(), dtype=np.int64).reshape(-1, 2))


def _node_chunks(n: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, EDGE_CHUNK_NODES):
        yield start, min(start + EDGE_CHUNK_NODES, n)


def _watts_strogatz(n: int, half: int, rewiring_prob: float, streams: AgentStreams) -> CSRNetwork:
    """Ring lattice of `half` ties each side, each tie (i, i+j) rewired with probability p.

    A rewired tie keeps i and goes to a node drawn uniformly from those outside i's ring
    window (so never a self-loop or a lattice tie); of rewired ties that coincide (about
    (p half)^2 expected in a whole graph, whatever n) one is kept. networkx instead
    redraws such targets; the difference is a handful of ties.
    """
    if n <= 2 * half + 1:
        raise ValueError(f"a Watts-Strogatz ring of {n} agents cannot hold {2 * half} ties each")
    rewired = []
    kept = []
    for start, stop in _node_chunks(n):
        slots = (start * half, stop * half)
        rewire = streams.uniforms(Stream.NETWORK_REWIRE, 0, *slots).reshape(-1, half) < rewiring_prob
        target_draw = streams.uniforms(Stream.NETWORK_TARGET, 0, *slots).reshape(-1, half)
        nodes = np.arange(start, stop, dtype=np.int64)
        where = np.nonzero(rewire)
        source = nodes[where[0]]
        target = (source + half + 1 + (target_draw[where] * (n - 2 * half - 1)).astype(np.int64)) % n
        rewired.append(np.stack([np.minimum(source, target), np.maximum(source, target)], axis=1))
        kept.append(~rewire)
    rewired_edges = _unique_edges(np.concatenate(rewired), n)
    del rewired
    builder = _CSRBuilder(n)
    kept_all = np.concatenate(kept)
    del kept
    for j in range(1, half + 1):
        column = kept_all[:, j - 1]
        builder.degree += column  # tie i -> i + j
        builder.degree += np.roll(column, j)  # tie i - j -> i
    builder.count(rewired_edges[:, 0], rewired_edges[:, 1])
    builder.allocate()
    # Offsets outermost, so that every row lists its ties in the same order whatever the
    # chunking: forward ties by offset, then backward ties by offset, then rewired ties.
    for forward in (True, False):
        for j in range(1, half + 1):
            for start, stop in _node_chunks(n):
                u = np.arange(start, stop, dtype=np.int64)[kept_all[start:stop, j - 1]]
                v = (u + j) % n
                if forward:
                    builder.place_distinct(u, v)
                else:
                    builder.place_distinct(v, u)
    del kept_all
    builder.place(rewired_edges[:, 0], rewired_edges[:, 1])
    return builder.finish()


def _erdos_renyi(n: int, p: float, streams: AgentStreams) -> CSRNetwork:
    """G(n, p): node u draws its number of ties to higher-numbered nodes from
    Binomial(n - 1 - u, p) (by inverse CDF) and picks them uniformly; a target drawn
    twice is kept once, so a node with c such ties loses about c^2 / (2 (n - u)) of them."""
    counts = np.empty(n, dtype=np.int64)
    for start, stop in _node_chunks(n):
        u = np.maximum(streams.uniforms(Stream.NETWORK_REWIRE, 0, start, stop), 1e-300)  # ppf(0) is -1
        counts[start:stop] = binom.ppf(u, n - 1 - np.arange(start, stop), p).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    edges = []
    for start, stop in _node_chunks(n):
        first, last = int(offsets[start]), int(offsets[stop])
        draw = streams.uniforms(Stream.NETWORK_TARGET, 0, first, last)
        source = np.repeat(np.arange(start, stop, dtype=np.int64), counts[start:stop])
        target = source + 1 + (draw * (n - 1 - source)).astype(np.int64)
        edges.append(_unique_edges(np.stack([source, target], axis=1), n))
    all_edges = np.concatenate(edges)
    builder = _CSRBuilder(n)
    builder.count(all_edges[:, 0], all_edges[:, 1])
    builder.allocate()
    builder.place(all_edges[:, 0], all_edges[:, 1])
    return builder.finish()


def _barabasi_albert(n: int, m: int, streams: AgentStreams) -> CSRNetwork:
    """Preferential attachment by the Batagelj-Brandes (2005) edge-copying scheme.

    Node v >= m adds m ties; each tie's target copies the endpoint at a uniformly drawn
    earlier position of the list of all tie endpoints, which picks nodes in proportion to
    their degree. The chains of copies are resolved together, without a loop over nodes.
    Self-ties and repeated ties are dropped (networkx draws m distinct targets instead),
    which costs a small share of ties at the low-degree end.
    """
    if n <= m:
        raise ValueError(f"a Barabasi-Albert graph of {n} agents cannot attach {m} ties per agent")
    n_ties = (n - m) * m
    # Endpoint list: position 2t is the new node of tie t, 2t+1 its target. The first m
    # ties (node m) go to nodes 0..m-1, as in networkx's star seed.
    position = np.arange(n_ties, dtype=np.int64)
    new_node = m + position // m
    draw = np.empty(n_ties)
    for start in range(0, n_ties, EDGE_CHUNK_NODES):
        stop = min(start + EDGE_CHUNK_NODES, n_ties)
        draw[start:stop] = streams.uniforms(Stream.NETWORK_TARGET, 0, start, stop)
    # Target of tie t: an endpoint position drawn from 0..2t (positions before it).
    copy_from = (draw * (2 * position + 1)).astype(np.int64)
    copy_from[:m] = -1 - position[:m]  # the star seed: tie t < m goes to node t
    resolved = copy_from.copy()
    unresolved = (resolved >= 0) & (resolved % 2 == 1)
    while unresolved.any():
        resolved[unresolved] = copy_from[resolved[unresolved] // 2]
        unresolved = (resolved >= 0) & (resolved % 2 == 1)
    target = np.where(resolved < 0, -1 - resolved, new_node[np.maximum(resolved, 0) // 2])
    edges = np.stack([np.minimum(new_node, target), np.maximum(new_node, target)], axis=1)
    return csr_from_edges(n, _unique_edges(edges[edges[:, 0] != edges[:, 1]], n))


def _unique_edges(edges: np.ndarray, n: int) -> np.ndarray:
    """Edges given as (low, high) pairs with repeats removed, sorted (one int64 key each)."""
    keys = np.unique(edges[:, 0] * n + edges[:, 1])
    return np.stack([keys // n, keys % n], axis=1)
