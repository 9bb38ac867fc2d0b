"""Claims per member and period: what the record implies, and what a run gives.

The record has no claim rate, but it has cases per period, people aided to a date and in a
year, and member counts. Between two of its cumulative counts (or over a year, or in one
period) the cases announced per period divided by the members then give the rate:

    rate = (aided at the end - aided at the start) / periods between / members,

with the members interpolated linearly between the record's dated counts at the middle of
the interval (the 2020 mean sharing pool for 2020; the last dated count after it). The
rate shows how claims grew with the pool's age: it tells a rise with each member's time in
the plan (the select effect) from one that reaches every member at once (claim awareness;
docs/ODD.md 7.1, docs/calibration.md).
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd

from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.market import MODELLED_PLAN
from huzhu.model.parameters import DEFAULTS

DAYS_PER_PERIOD = 365.25 / PERIODS_PER_YEAR


def record_claim_rates(observations: pd.DataFrame, launch_date: dt.date = DEFAULTS["launch_date"]) -> pd.DataFrame:
    """Claims announced per million members and period, from the record.

    Args:
        observations: From `load_observations`.
        launch_date: The plan's launch (its first members' cover began 90 days later).

    Returns:
        One row per interval: `start`, `end` (dates), `cases_per_period` (people),
        `members` (people), `rate_per_million` (cases per million members per period),
        `basis` (what it rests on).
    """
    rows = observations[observations["plan"] == MODELLED_PLAN]

    def values(quantity: str) -> pd.Series:
        chosen = rows[rows["quantity"] == quantity].sort_values("date")
        return pd.Series(chosen["value"].to_numpy(), index=chosen["date"].to_numpy())

    members, pools = values("members"), values("mean_sharing_members_in_year")
    aided = values("cumulative_aided")
    # Nobody was covered before the first members' 90-day wait ended, so the aided count is
    # 0 then and a year's total adds to the earlier years' at the year's end.
    first_cover = launch_date + dt.timedelta(days=90)
    by_year = values("aided_in_year")
    year_ends = pd.Series(by_year.cumsum().to_numpy(), index=by_year.index)
    aided = pd.concat([aided, year_ends[~year_ends.index.isin(aided.index)]])
    aided.loc[first_cover] = 0.0
    aided = aided.sort_index()
    intervals = []
    for (start, first), (end, last) in itertools.pairwise(aided.items()):
        periods = (end - start).days / DAYS_PER_PERIOD
        intervals.append((start, end, (last - first) / periods, "people aided between two dates"))
    for date, cases in values("cases_per_period").items():
        start = date - dt.timedelta(days=DAYS_PER_PERIOD / 2)
        intervals.append((start, start + dt.timedelta(days=DAYS_PER_PERIOD), cases, "cases announced in a period"))
    table = pd.DataFrame(intervals, columns=["start", "end", "cases_per_period", "basis"])
    table["members"] = [
        _members_at(start + (end - start) / 2, members, pools)
        for start, end in zip(table["start"], table["end"], strict=True)
    ]
    table["rate_per_million"] = table["cases_per_period"] / table["members"] * 1e6
    return table.sort_values(["start", "end"], ignore_index=True)


def _members_at(date: dt.date, members: pd.Series, pools: pd.Series) -> float:
    pool = pools[[d.year == date.year for d in pools.index]]
    if len(pool) and date > members.index[-1]:
        return float(pool.iloc[0])
    days = np.array([(d - members.index[0]).days for d in members.index], dtype=float)
    return float(np.interp((date - members.index[0]).days, days, members.to_numpy()))


def model_claim_rates(table: pd.DataFrame) -> pd.Series:
    """A run's claims announced per million members and period (Poisson-free), by date."""
    rate = table["expected_cases_announced"] / table["members"].where(table["members"] > 0) * 1e6
    return pd.Series(rate.to_numpy(), index=pd.to_datetime(table["date"]))
