"""The social network as the browser shows it: a fixed sample of agents, laid out once.

Drawing every agent stops being readable (and fast) past a few thousand nodes, so the
view keeps a connected sample: breadth-first from a few random agents, over their
ties, until `max_nodes` agents are in. The sample and its layout are computed once
per model, when the view first sees it, and reused on every step; only the colours
change as agents join, leave, claim and age.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.spatial import cKDTree

from huzhu.agents.states import State
from huzhu.model.network import CSRNetwork
from huzhu.viz.panels import PANEL_DPI, PANEL_WIDTH_INCHES, shown_period
from huzhu.viz.selection import shown_pool

MAX_DRAWN_NODES = 1_000  # assumption: more points than this blur into one hairball in a 5-inch panel
SAMPLE_SEEDS = 8  # breadth-first searches start from this many random agents, so the sample is not one neighbourhood
LAYOUT_ITERATIONS = 100  # cooling steps of the layout; it settles well before at this size (networkx uses 50)

#: Node colour of each state (colour-blind safe, Okabe & Ito 2008).
STATE_COLOURS = {
    State.OUTSIDER: "#BBBBBB",
    State.WAITING: "#E69F00",
    State.COVERED: "#0072B2",
    State.EXITED: "#D55E00",
    State.CLAIMED: "#009E73",
    State.AGED_OUT: "#000000",
}
STATE_LABELS = {
    State.OUTSIDER: "outsider",
    State.WAITING: "waiting",
    State.COVERED: "covered",
    State.EXITED: "exited",
    State.CLAIMED: "claimed",
    State.AGED_OUT: "aged out",
}
RECENT_EXIT_COLOUR = "#CC79A7"
NETWORK_HEIGHT_INCHES = 5.2  # with the legend, fits a half-width cell of the page (about 580 x 390 pixels)


@dataclass(frozen=True)
class NetworkSample:
    """The agents a network view draws, their ties and positions.

    Attributes:
        nodes: Agent indices drawn (int64, sorted).
        edges: Ties among them as pairs of positions into `nodes` (int64, shape (m, 2)).
        positions: Layout coordinates of each drawn node (float64, shape (len(nodes), 2)).
        n_agents: Agents in the model.
    """

    nodes: np.ndarray
    edges: np.ndarray
    positions: np.ndarray
    n_agents: int

    @property
    def is_sample(self) -> bool:
        """True when fewer agents are drawn than the model has."""
        return len(self.nodes) < self.n_agents


def sample_nodes(network: CSRNetwork, max_nodes: int, rng: np.random.Generator) -> np.ndarray:
    """A connected-looking sample: breadth-first from `SAMPLE_SEEDS` random agents.

    Args:
        network: The model's network.
        max_nodes: Most agents to keep.
        rng: Source of the starting agents.

    Returns:
        Sorted agent indices (int64), all of them if the network is no larger than
        `max_nodes`.
    """
    n = network.n_nodes
    if n <= max_nodes:
        return np.arange(n, dtype=np.int64)
    chosen = np.zeros(n, dtype=bool)
    frontier = rng.choice(n, size=min(SAMPLE_SEEDS, max_nodes), replace=False)
    chosen[frontier] = True
    count = len(frontier)
    while count < max_nodes:
        if len(frontier) == 0:
            # The searches ran out of ties (a small component): start again elsewhere.
            frontier = rng.choice(np.flatnonzero(~chosen), size=1)
            chosen[frontier] = True
            count += 1
            continue
        neighbours = np.unique(network.neighbours_of_many(frontier))
        new = neighbours[~chosen[neighbours]]
        if count + len(new) > max_nodes:
            new = rng.choice(new, size=max_nodes - count, replace=False)
        chosen[new] = True
        count += len(new)
        frontier = new
    return np.flatnonzero(chosen).astype(np.int64)


def ties_among(network: CSRNetwork, nodes: np.ndarray) -> np.ndarray:
    """Ties with both ends in `nodes`, once each, as position pairs into `nodes`."""
    position = np.full(network.n_nodes, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    degrees = network.indptr[nodes + 1] - network.indptr[nodes]
    source = np.repeat(np.arange(len(nodes)), degrees)
    target = position[network.neighbours_of_many(nodes)]
    keep = (target >= 0) & (source < target)
    return np.column_stack([source[keep], target[keep]])


def force_layout(n_nodes: int, edges: np.ndarray, seed: int, iterations: int = LAYOUT_ITERATIONS) -> np.ndarray:
    """Fruchterman-Reingold layout, grid variant: nodes repel only within 2k.

    Fruchterman & Reingold (1991, Softw. Pract. Exp. 21(11), section 6) cut repulsion at
    twice the ideal distance k; with a k-d tree that makes an iteration about linear in
    the number of nodes, where networkx's layouts take seconds at a thousand nodes.

    Args:
        n_nodes: Number of nodes.
        edges: Ties as position pairs (int, shape (m, 2)).
        seed: Seed of the starting positions.
        iterations: Cooling steps.

    Returns:
        Positions in the unit square (float64, shape (n_nodes, 2)).
    """
    rng = np.random.default_rng(seed)
    positions = rng.random((n_nodes, 2))
    if n_nodes < 2:
        return positions
    k = np.sqrt(1.0 / n_nodes)
    source, target = edges[:, 0], edges[:, 1]
    for step in range(iterations):
        temperature = 0.1 * (1 - step / iterations)
        displacement = np.zeros_like(positions)
        i, j = cKDTree(positions).query_pairs(2 * k, output_type="ndarray").T
        delta = positions[i] - positions[j]
        distance_sq = np.maximum((delta**2).sum(axis=1), 1e-12)
        push = delta * (k * k / distance_sq)[:, None]
        displacement += _sum_by_node(i, push, n_nodes) - _sum_by_node(j, push, n_nodes)
        delta = positions[source] - positions[target]
        pull = delta * (np.sqrt((delta**2).sum(axis=1)) / k)[:, None]
        displacement += _sum_by_node(target, pull, n_nodes) - _sum_by_node(source, pull, n_nodes)
        length = np.maximum(np.sqrt((displacement**2).sum(axis=1)), 1e-12)
        positions += displacement * (np.minimum(length, temperature) / length)[:, None]
    return positions


def _sum_by_node(nodes: np.ndarray, vectors: np.ndarray, n_nodes: int) -> np.ndarray:
    """Sum of 2-d `vectors` per node (np.add.at is ten times slower)."""
    return np.column_stack([np.bincount(nodes, vectors[:, axis], minlength=n_nodes) for axis in (0, 1)])


def build_sample(network: CSRNetwork, max_nodes: int = MAX_DRAWN_NODES, seed: int = 0) -> NetworkSample:
    """Sample the network and lay the sample out (fixed seed).

    Args:
        network: The model's network.
        max_nodes: Most agents to draw.
        seed: Seed of the sample and the layout, so a model's view is reproducible.
    """
    nodes = sample_nodes(network, max_nodes, np.random.default_rng(seed))
    edges = ties_among(network, nodes)
    positions = force_layout(len(nodes), edges, seed)
    return NetworkSample(nodes=nodes, edges=edges, positions=positions, n_agents=network.n_nodes)


_SAMPLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sample_of(model) -> NetworkSample:
    """The model's network sample, built on first use and kept for the model's life."""
    if model not in _SAMPLES:
        _SAMPLES[model] = build_sample(model.population.network)
    return _SAMPLES[model]


def recent_exit_window_periods(model) -> int:
    """Periods for which an exit counts as recent: the e-folding time of its pull on
    neighbours (`contagion_decay_periods`, rounded up), at least one period."""
    return max(1, int(np.ceil(model.params["contagion_decay_periods"])))


def node_colours(model, sample: NetworkSample) -> tuple[np.ndarray, np.ndarray]:
    """Each drawn agent's state code towards the plan shown (`huzhu.viz.selection`) and
    whether it left that plan voluntarily in the recent window.

    Returns:
        (state codes int8, recently exited bool), aligned with `sample.nodes`.
    """
    population = shown_pool(model).population
    states = population.state[sample.nodes]
    exit_period = population.member_values("exit_period", sample.nodes).astype(np.int64)
    recent = (states == State.EXITED) & (exit_period >= model.period - recent_exit_window_periods(model))
    return states, recent


class LiveNetworkView:
    """The network figure of one model: ties and positions drawn once, colours redrawn.

    Args:
        model: The MutualAidModel it shows.
        sample: The agents drawn (default: `sample_of(model)`).
    """

    def __init__(self, model, sample: NetworkSample | None = None):
        self.sample = sample or sample_of(model)
        self.figure = Figure(figsize=(PANEL_WIDTH_INCHES, NETWORK_HEIGHT_INCHES), dpi=PANEL_DPI)
        self.figure.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.15)
        ax = self.axes = self.figure.add_subplot()
        xy = self.sample.positions
        ax.add_collection(LineCollection(xy[self.sample.edges], colors="#999999", linewidths=0.3, alpha=0.5, zorder=1))
        self.nodes = ax.scatter(xy[:, 0], xy[:, 1], s=10, c=STATE_COLOURS[State.OUTSIDER], linewidths=0, zorder=2)
        self.rings = ax.scatter(
            [], [], s=45, facecolors="none", edgecolors=RECENT_EXIT_COLOUR, linewidths=0.9, zorder=3
        )
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.autoscale_view()
        n = self.sample.n_agents
        shown = (
            f"a sample of {len(self.sample.nodes):,} of {n:,} agents" if self.sample.is_sample else f"all {n:,} agents"
        )
        ax.set_title(f"Social network: {shown}", fontsize=10)
        self.window = recent_exit_window_periods(model)
        handles = [
            Line2D([], [], ls="", marker="o", ms=5, color=STATE_COLOURS[s], label=STATE_LABELS[s]) for s in State
        ]
        handles.append(
            Line2D([], [], ls="", marker="o", ms=7, mfc="none", mec=RECENT_EXIT_COLOUR,
                   label=f"left in last {self.window} periods")
        )  # fmt: skip
        self.legend = ax.legend(
            handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, frameon=False, fontsize=8
        )
        self.date_note = self.figure.text(0.99, 0.99, "", ha="right", va="top", fontsize=8, color="0.4")
        self._palette = np.array([STATE_COLOURS[State(code)] for code in range(len(State))])

    def update(self, model) -> Figure:
        """Colour the drawn agents by their state now; ring the recent exits."""
        states, recent = node_colours(model, self.sample)
        self.date_note.set_text(shown_period(model))
        self.nodes.set_facecolors(self._palette[states])
        self.rings.set_offsets(self.sample.positions[recent] if recent.any() else np.empty((0, 2)))
        counts = np.bincount(states, minlength=len(State))
        for text, state in zip(self.legend.get_texts(), State, strict=False):
            text.set_text(f"{STATE_LABELS[state]} ({counts[state]:,})")
        self.legend.get_texts()[-1].set_text(f"left in last {self.window} periods ({int(recent.sum()):,})")
        return self.figure


_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def network_figure(model) -> Figure:
    """The model's network figure, up to date (one LiveNetworkView per model)."""
    if model not in _VIEWS:
        _VIEWS[model] = LiveNetworkView(model)
    return _VIEWS[model].update(model)
