"""How far exits cluster on the social network beyond what the network's degrees give."""

from __future__ import annotations

import numpy as np

from huzhu.agents.states import VOLUNTARY_EXIT_REASONS


def leaver_tie_excess(model, rng: np.random.Generator, shuffles: int = 20, window_periods: int | None = None) -> float:
    """Ties between two voluntary leavers, observed over expected under degree-preserving
    shuffles of the ties among agents who were ever members (1; 1 = no clustering).

    Restricting to ever-members removes the clustering that word-of-mouth joining alone
    puts into who can leave at all. With `window_periods`, only ties whose two ends left
    within that many periods of each other count (contagion acts within weeks).

    Args:
        model: A `MutualAidModel` after its run (its modelled plan's members).
        rng: Generator of the shuffles.
        shuffles: Shuffles averaged for the expectation.
        window_periods: Largest gap between the two exits of a counted tie (periods), or
            None for any.
    """
    population = model.population
    ever_member = population.join_period >= 0
    leaver = np.isin(population.exit_reason, VOLUNTARY_EXIT_REASONS)
    network = population.network
    rows = np.repeat(np.arange(network.n_nodes), network.degree)
    indices = network.indices
    among_members = ever_member[rows] & ever_member[indices]
    rows, cols = rows[among_members], indices[among_members]
    exit_period = population.exit_period
    window = np.inf if window_periods is None else window_periods

    def leaver_ties(a, b):
        return np.count_nonzero(leaver[a] & leaver[b] & (np.abs(exit_period[a] - exit_period[b]) <= window))

    observed = leaver_ties(rows, cols) / 2
    stubs = rows.copy()  # each tie appears twice: shuffling all ends keeps every degree
    expected = []
    for _ in range(shuffles):
        rng.shuffle(stubs)
        ends = stubs.reshape(-1, 2)
        expected.append(leaver_ties(ends[:, 0], ends[:, 1]))
    return observed / np.mean(expected)
