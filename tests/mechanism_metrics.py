"""Measures of a run that the mechanism tests compare across scenarios."""

from __future__ import annotations

import pandas as pd

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
