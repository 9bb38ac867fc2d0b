"""Measures of a run that the mechanism tests compare across scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from huzhu import MutualAidModel
from huzhu.agents.states import VOLUNTARY_EXIT_REASONS

LAST_YEAR = ("2020-12-01", "2021-12-01")  # the year before the closure announcement


def cost_growth(table: pd.DataFrame, column: str = "expected_cost_per_member", first_periods: int = 4) -> float:
    """Mean `column` in the year before the closure announcement over its mean in the
    first `first_periods` periods with covered members (1)."""
    first = table[table["covered"] > 0].head(first_periods)
    last = table[(table["date"] >= LAST_YEAR[0]) & (table["date"] < LAST_YEAR[1])]
    return last[column].mean() / first[column].mean()


def cost_growth_since_peak(table: pd.DataFrame) -> float:
    """Expected cost per member in the year before the announcement over its value in
    the year after peak membership (1)."""
    peak_date = table.loc[table["members"].idxmax(), "date"]
    after_peak = table[(table["date"] >= peak_date) & (table["date"] < peak_date + pd.DateOffset(years=1))]
    last = table[(table["date"] >= LAST_YEAR[0]) & (table["date"] < LAST_YEAR[1])]
    return last["expected_cost_per_member"].mean() / after_peak["expected_cost_per_member"].mean()


def leaver_tie_excess(
    model: MutualAidModel, rng: np.random.Generator, shuffles: int = 20, window_periods: int | None = None
) -> float:
    """Ties between two voluntary leavers, observed over expected under degree-preserving
    shuffles of the ties among agents who were ever members (1 = no clustering).

    Restricting to ever-members removes the clustering that word-of-mouth joining alone
    puts into who can leave at all. With `window_periods`, only ties whose two ends left
    within that many periods of each other count (contagion acts within weeks).
    """
    population = model.population
    ever_member = population.join_period >= 0
    leaver = np.isin(population.exit_reason, VOLUNTARY_EXIT_REASONS)
    network = population.network
    rows = np.repeat(np.arange(network.n_nodes), network.degree)
    among_members = ever_member[rows] & ever_member[network.indices]
    rows, cols = rows[among_members], network.indices[among_members]
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
