"""Observations as targets the model's period table can be compared with, and the distance.

Each observation of the critical-illness plan becomes a `Target`: the model quantity on
the same date and in the same unit (table below), the observed value, and the standard
deviation of its log, which adds the observation's own uncertainty and the Poisson
noise of the events behind it: the record's, 1/sqrt(n) for n people's events, and the
model's, since a simulated count of people is a count of agents times the people each
stands for: a target resting on n agent-events has a relative error of
1/sqrt(n x replications).

| quantity | model (docs/ODD.md 7.10) |
|---|---|
| members, cumulative_aided | `members`, `cumulative_aided` at the date, interpolated linearly within its period |
| share_per_member_per_period | `share_per_member` of the period holding the date |
| cases_per_period | `cases_announced` of that period (the record counts a case when announced) |
| share_per_member_per_year, aided_in_year | sum of `share_per_member`, `cases_announced` over the year's periods |
| total_shared_in_year, management_fees_in_year | sum of `shared_total`, `fee_revenue` over them |
| mean_sharing_members_in_year | sum of `shared_total` over sum of `share_per_member` over them (as derived) |
| shared_per_case | `shared_total` over `cases_announced` of the period holding the date (as derived) |
| mean_member_age | mean of `mean_member_age` over the periods of the year |
| consider_rate_members, consider_rate_nonmembers | the rate at the end of the period holding the date |
| aided_enrolled_by_family_share | sum of `claims_family` over sum of `claims`, launch to the date's period |

Claims are rare: at 400,000 agents, 2019's 16,528 people aided are 17 agent-claims, and
one claim more or less moves the year's share per member by 6%. With the `expected`
estimator (the calibration's default) every quantity made of claims (cases, aided,
shares, the total shared, fees) is read from the model's Poisson-free columns instead
(`expected_claims`, `expected_share_per_member`, ...: the same rules applied to the
expected claims of the covered members, docs/ODD.md 7.10), whose run-to-run spread is
only that of membership. A conditional expectation has the realised value's mean with
less variance, so the fit no longer rests on which seeds drew lucky claims, and these
targets carry only the record's own Poisson term; `realised` reads the realised
columns, with the model's term too.

Distance: the mean over the targets used of z^2, z = log((s + c) / (o + c)) / sigma, with s
the simulated value averaged over replications (for a bound read in every replication,
the largest replication's), o the observed value, and c half an agent-event for counts
(so a run with none stays finite; half a person when read Poisson-free) or a thousandth
of the observed value for amounts (an amount or rate observed as 0 is not used). A
missing simulated value (a rate with no members left) counts as 0. The distance is 0 for
a perfect match and grows with every error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from huzhu.model.calendar import Calendar
from huzhu.model.market import MODELLED_PLAN
from huzhu.model.model import VOLUNTARY_EXIT_COLUMNS
from huzhu.model.parameters import DEFAULTS

#: Standard deviation of the log of each kind of observation (its own uncertainty).
OBSERVATION_SIGMA = {
    "members": 0.05,  # assumption: published round figures (3M, 12M, 50M, 100M), about +-5%
    "share_per_member_per_period": 0.2,  # assumption: announced periods need not match half months
    "cases_per_period": 0.1,  # assumption: cases announced per period, round figures
    "cumulative_aided": 0.05,  # assumption: published totals
    "share_per_member_per_year": 0.05,  # assumption: a member's yearly total, published to the cent
    "aided_in_year": 0.05,  # assumption: published totals
    "total_shared_in_year": 0.1,  # "about 99亿" (XHB 2020 report via blog.wongcw.com)
    # Derived from the two rows above: their sigmas added in quadrature. It repeats their
    # information; it is a target because it states the pool's size directly.
    "mean_sharing_members_in_year": float(np.hypot(0.1, 0.05)),
    "management_fees_in_year": 0.05,  # assumption: reported to the 0.01亿
    # Derived: a period's share x its sharers / its cases (assumption: 3% for three figures
    # published rounded, hypot 3% for the model's half month against the announcement day);
    # the record's own draw of young and old cases adds 1 / n, as for every count.
    "shared_per_case": float(np.hypot(0.03, 0.03)),
    "mean_member_age": 0.03,  # assumption: one year in 34.4
    "consider_rate_members": 0.15,  # assumption: a reported survey answer, wording unknown
    "consider_rate_nonmembers": 0.15,  # assumption: "about 20%"
    # assumption: a platform figure whose reference date (the source's month) and whose
    # "family" (spouse, parents, children) are not stated; the record's own draw adds 1 / n
    # for the n family-enrolled aided.
    "aided_enrolled_by_family_share": 0.1,
}
LAUNCH_PERIOD_SIGMA = 0.25  # assumption: most of the launch half month's joining came in its first days
COUNTS = ("members", "cases_per_period", "cumulative_aided", "aided_in_year")
STOCKS = ("members", "cumulative_aided")  # counted at a date: interpolated within its half month
YEAR_SUMS = {
    "share_per_member_per_year": "share_per_member",
    "aided_in_year": "cases_announced",
    "total_shared_in_year": "shared_total",
    "management_fees_in_year": "fee_revenue",
}
#: The claim columns and their Poisson-free counterparts (`expected` estimator).
EXPECTED_COLUMNS = {
    "cases_announced": "expected_cases_announced",
    "cumulative_aided": "expected_cumulative_aided",
    "claims": "expected_claims",
    "claims_family": "expected_claims_family",
    "share_per_member": "expected_share_per_member",
    "shared_total": "expected_shared_total",
    "fee_revenue": "expected_fee_revenue",
}
ESTIMATORS = ("expected", "realised")
#: The quantities made of claims (read from `EXPECTED_COLUMNS` by the `expected` estimator).
CLAIM_QUANTITIES = (
    "share_per_member_per_period", "cases_per_period", "cumulative_aided", "share_per_member_per_year",
    "aided_in_year", "total_shared_in_year", "mean_sharing_members_in_year", "management_fees_in_year",
    "shared_per_case", "aided_enrolled_by_family_share",
)  # fmt: skip
PERIOD_VALUES = {
    "share_per_member_per_period": "share_per_member",
    "cases_per_period": "cases_announced",
    "consider_rate_members": "consider_rate_members",
    "consider_rate_nonmembers": "consider_rate_nonmembers",
}


@dataclass(frozen=True)
class Target:
    """One observation and how the model gives it.

    Attributes:
        quantity: Observation quantity (`observations.UNITS`).
        date: Observation date.
        observed: Observed value (in the quantity's unit).
        sigma: Standard deviation of the log (observation and model resolution); inf
            when the model cannot resolve it (the target is reported, not used).
        offset: c of the distance (same unit as `observed`).
        source: Where the observation comes from.
        estimator: Whether claim quantities are read realised or Poisson-free (`ESTIMATORS`).
        upper_bound: `observed` is a bound the model should not exceed, not a measurement:
            z is 0 at or below it (`bound_targets`).
        record_sigma: Standard deviation of the log of the record alone: the observation's
            own uncertainty and the Poisson noise of its own events, without the model's
            (the error a new observation has about the model's value: `forecast.score_forecast`).
    """

    quantity: str
    date: dt.date
    observed: float
    sigma: float
    offset: float
    source: str
    estimator: str = "realised"
    upper_bound: bool = False
    record_sigma: float = np.nan

    @property
    def used(self) -> bool:
        return bool(np.isfinite(self.sigma))


def build_targets(
    observations: pd.DataFrame,
    people_per_agent: float,
    replications: int,
    until: dt.date | None = None,
    launch_date: dt.date = DEFAULTS["launch_date"],
    estimator: str = "realised",
) -> list[Target]:
    """Targets of the modelled plan's observations dated on or before `until`.

    Args:
        observations: From `load_observations`.
        people_per_agent: People each agent stands for in the runs compared.
        replications: Runs averaged per candidate (they shrink the Poisson term).
        until: Last date whose observations are used (None: all).
        launch_date: The runs' launch date (members counted in its half month are
            interpolated over the launch campaign: `LAUNCH_PERIOD_SIGMA`).
        estimator: `realised` or `expected` claim quantities; with `expected` the claim
            quantities carry no Poisson term.

    Raises:
        ValueError: On an unknown estimator.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator={estimator!r} is not allowed: one of {', '.join(ESTIMATORS)}")
    rows = observations[observations["plan"] == MODELLED_PLAN]
    if until is not None:
        rows = rows[rows["date"] <= until]
    cases = {(r.date, r.quantity): r.value for r in rows.itertuples()}
    launch_period = Calendar(launch_date)
    targets = []
    for row in rows.itertuples():
        people = _events_behind(row.quantity, row.date, row.value, cases)
        # The record is itself one draw of its events (Poisson at one person a person);
        # the simulation adds its own, at people_per_agent a draw and averaged over the
        # replications, unless the quantity is read Poisson-free.
        simulated_draws = estimator == "realised" or row.quantity not in CLAIM_QUANTITIES
        draws_per_person = 1.0 + (people_per_agent / replications if simulated_draws else 0.0)
        model_variance = draws_per_person / people if people > 0 else np.inf
        record_variance = 1.0 / people if people > 0 else np.inf
        own = OBSERVATION_SIGMA[row.quantity]
        if row.quantity in STOCKS and launch_period.period_of(row.date) == 0:
            own = LAUNCH_PERIOD_SIGMA
        sigma = float(np.sqrt(own**2 + model_variance))
        record_sigma = float(np.sqrt(own**2 + record_variance))
        if row.value <= 0 and row.quantity not in COUNTS:
            sigma = record_sigma = np.inf  # a log error to a zero amount or rate is undefined
        if row.quantity in COUNTS:
            offset = 0.5 * (people_per_agent / replications if simulated_draws else 1.0)
        else:
            offset = 1e-3 * row.value
        targets.append(
            Target(row.quantity, row.date, float(row.value), sigma, offset, row.source, estimator,
                   record_sigma=record_sigma)
        )  # fmt: skip
    return targets


#: Voluntary exits (for the price, after neighbours left, other reasons) in a calendar year
#: against the year's mean members: at most a third (assumption: deduction is automatic and
#: leaving takes an action, and under such defaults most stay: Samuelson & Zeckhauser 1988,
#: Madrian & Shea 2001, Handel 2013; the record has no gross flow, and its flat 2020 pool
#: is met as well by a pool that revolves).
EXIT_SHARE_LIMIT = 1 / 3
#: What a calibration holds is the limit less a margin for its seeds: the candidates share
#: three replication seeds, and a search picks a set whose three sit low (assumption: at
#: the best set before the margin, whose three seeds gave 32.6% of the members, seeds 1-6
#: gave 32.5-34.5%, mean 33.4%, and 4,000,000 agents 33.6%: a winner's curse of about 0.8
#: points; the margin is twice that, docs/calibration.md).
EXIT_SHARE_MARGIN = 0.015
EXIT_SHARE_BOUND = EXIT_SHARE_LIMIT - EXIT_SHARE_MARGIN
#: The bound's sigma of the log: 0.2% over it costs one standard deviation (assumption: a
#: bound, not a measurement; at 0.02 the least-squares fit to 2020 settled 1-2% over it,
#: 33.5-33.8% of the members at `make run`'s scale, and at 0.005 up to 0.9% over it,
#: 33.1-33.6% at seeds 1-2 of 4,000,000 agents: docs/calibration.md).
EXIT_SHARE_SIGMA = 0.002


def bound_targets(until: dt.date | None, first_year: int = 2019, last_year: int = 2020) -> list[Target]:
    """The exit-share bound of every calendar year from `first_year` to `last_year` that
    ends on or before `until` (None: all), as upper-bound targets."""
    return [
        Target("voluntary_exit_share_in_year", dt.date(year, 12, 31), EXIT_SHARE_BOUND, EXIT_SHARE_SIGMA, 0.0,
               "assumption: a third less a margin (calibration/targets.py: EXIT_SHARE_BOUND)", upper_bound=True)
        for year in range(first_year, last_year + 1)
        if until is None or dt.date(year, 12, 31) <= until
    ]  # fmt: skip


def _events_behind(quantity: str, date: dt.date, value: float, cases: dict) -> float:
    """People (not agents) whose random events make up the simulated value: nan-free, 0
    when unknown; inf for the survey rates and the age, which rest on all members."""
    if quantity in COUNTS:
        return value
    if quantity in ("mean_member_age", "consider_rate_members", "consider_rate_nonmembers"):
        return np.inf
    if quantity == "mean_sharing_members_in_year":
        return np.inf  # the ratio of total to share is the pool whatever the cases: it rests on all members
    if quantity in ("share_per_member_per_period", "shared_per_case"):
        return cases.get((date, "cases_per_period"), 0.0)
    if quantity == "aided_enrolled_by_family_share":
        aided = [(d, v) for (d, q), v in cases.items() if q == "cumulative_aided" and d <= date]
        return value * max(aided)[1] if aided else 0.0  # the family-enrolled aided by the latest count
    return cases.get((dt.date(date.year, 12, 31), "aided_in_year"), 0.0)


def stock_on_day(stock: np.ndarray, date: dt.date, calendar: Calendar) -> float:
    """A stock at the end of `date`, from a run's end-of-period stocks (one per period from
    the calendar's period 0): the stock grows linearly within the half month, from the end
    of the period before (0 before the first) to the end of the date's period, so an
    observation dated inside a half month is read at its day, not at the period's end.

    Args:
        stock: End-of-period values, indexed by period (people, or any stock).
        date: The day the observation counts the stock on.
        calendar: The run's calendar.

    Returns:
        The stock at the end of `date` (nan if `stock` has no row for its period).
    """
    period = calendar.period_of(date)
    if period >= len(stock) or period < 0:
        return np.nan
    start, end = calendar.date(period), calendar.date(period + 1)
    fraction = min(1.0, ((date - start).days + 1) / max((end - start).days, 1))
    before = stock[period - 1] if period > 0 else 0.0
    return float(before + fraction * (stock[period] - before))


def simulated_value(target: Target, table: pd.DataFrame, calendar: Calendar) -> float:
    """The model's value of `target` in one run's period table (nan if the run stops
    before the target's date)."""
    period = calendar.period_of(target.date)
    if period >= len(table) or period < 0:
        return np.nan
    quantity = target.quantity

    def column(name: str) -> np.ndarray:
        if target.estimator == "expected":
            name = EXPECTED_COLUMNS.get(name, name)
        return table[name].to_numpy()

    if quantity in STOCKS:
        return stock_on_day(column(quantity), target.date, calendar)
    if quantity in PERIOD_VALUES:
        return float(column(PERIOD_VALUES[quantity])[period])
    if quantity == "shared_per_case":
        cases = column("cases_announced")[period]
        return float(column("shared_total")[period] / cases) if cases > 0 else np.nan
    if quantity == "aided_enrolled_by_family_share":
        claims = column("claims")[: period + 1].sum()
        return float(column("claims_family")[: period + 1].sum() / claims) if claims > 0 else np.nan
    if calendar.period_of(dt.date(target.date.year, 12, 31)) >= len(table):
        return np.nan  # the run stops before the year is complete
    in_year = pd.to_datetime(table["date"]).dt.year.to_numpy() == target.date.year
    if quantity == "mean_member_age":
        return float(column("mean_member_age")[in_year].mean())
    if quantity == "voluntary_exit_share_in_year":
        members = table["members"].to_numpy()[in_year].mean()
        exits = sum(table[name].to_numpy()[in_year].sum() for name in VOLUNTARY_EXIT_COLUMNS)
        return float(exits / members) if members > 0 else np.nan
    if quantity == "mean_sharing_members_in_year":
        share = column("share_per_member")[in_year].sum()
        return float(column("shared_total")[in_year].sum() / share) if share > 0 else np.nan
    return float(column(YEAR_SUMS[quantity])[in_year].sum())


#: How an upper bound is read over a candidate's replications: on their mean (the bound
#: holds in expectation) or in every replication (the largest replication's value: a
#: single run then meets it too, but the margin grows with the run-to-run noise, so at a
#: small scale even the parameters that made the data breach it).
BOUND_READINGS = ("mean", "every_replication")


def simulate_targets(
    targets: list[Target], tables: list[pd.DataFrame], calendar: Calendar, bound_reading: str = "mean"
) -> np.ndarray:
    """Each target's simulated value over the runs' tables, shape (len(targets),): the mean
    of a measurement; of an upper bound, the mean or the largest run's value
    (`bound_reading`, one of `BOUND_READINGS`). A run with no value (a rate with no
    members left) counts as 0."""
    if bound_reading not in BOUND_READINGS:
        raise ValueError(f"bound_reading={bound_reading!r} is not allowed: one of {', '.join(BOUND_READINGS)}")
    values = run_values(targets, tables, calendar)
    if bound_reading == "mean":
        return values.mean(axis=0)
    bounded = np.array([t.upper_bound for t in targets], dtype=bool)
    return np.where(bounded, values.max(axis=0), values.mean(axis=0))


def run_values(targets: list[Target], tables: list[pd.DataFrame], calendar: Calendar) -> np.ndarray:
    """Each run's value of each target, shape (runs, targets); missing values as 0."""
    values = np.array([[simulated_value(t, table, calendar) for t in targets] for table in tables])
    return np.nan_to_num(values, nan=0.0)


def distance(targets: list[Target], simulated: np.ndarray) -> float:
    """Mean squared standardised log error over the targets used (0 for a perfect match)."""
    used = [k for k, t in enumerate(targets) if t.used]
    if not used:
        raise ValueError("no target the model resolves: add observations or agents")
    z = standardised_errors(targets, simulated)[used]
    return float(np.mean(z**2))


def standardised_errors(targets: list[Target], simulated: np.ndarray) -> np.ndarray:
    """z of each target (nan where the simulated value is missing)."""
    observed = np.array([t.observed for t in targets])
    offset = np.array([t.offset for t in targets])
    sigma = np.array([t.sigma for t in targets])
    # A run with no value where one was observed (no members left for a rate) counts as 0.
    simulated = np.nan_to_num(np.maximum(simulated, 0.0), nan=0.0)
    bounded = np.array([t.upper_bound for t in targets], dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log((simulated + offset) / (observed + offset)) / sigma
    return np.where(bounded & (z < 0), 0.0, z)


def fit_table(targets: list[Target], simulated: np.ndarray, low: np.ndarray, high: np.ndarray) -> pd.DataFrame:
    """Target, observed, simulated mean and interval, z, and whether it was used."""
    return pd.DataFrame(
        {
            "date": [t.date for t in targets],
            "quantity": [t.quantity for t in targets],
            "observed": [t.observed for t in targets],
            "simulated": simulated,
            "simulated_low": low,
            "simulated_high": high,
            "sigma_log": [t.sigma for t in targets],
            "z": standardised_errors(targets, simulated),
            "used": [t.used for t in targets],
            "source": [t.source for t in targets],
        }
    )
