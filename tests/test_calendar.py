"""The half-month calendar of model/calendar.py (docs/ODD.md section 2, Scales).

Periods are half months starting on the 1st and the 16th; period 0 is the launch half
month and is dated by the launch day itself.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from functools import cache

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu import MutualAidModel
from huzhu.model.calendar import Calendar, half_month_index, half_month_start
from huzhu.model.parameters import DEFAULTS

PROPERTY = settings(max_examples=100, deadline=None)

dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))

LAUNCH = DEFAULTS["launch_date"]  # 2018-10-16
CLOSURE = DEFAULTS["closure_date"]  # 2022-01-28

# The closure period, from month arithmetic alone: the launch 2018-10-16 lies in the second
# half of October 2018, half month index H0 = 2 x (months to Oct 2018) + 1. The closure
# 2022-01-28 lies in the second half of January 2022, index 2 x (months to Jan 2022) + 1.
# Both are second halves, so the period of the closure is twice the months between them:
# (2022 - 2018) x 12 + (1 - 10) = 39 months, 78 half months.
MONTHS_LAUNCH_TO_CLOSURE = (2022 - 2018) * 12 + (1 - 10)
CLOSURE_PERIOD = 2 * MONTHS_LAUNCH_TO_CLOSURE


def test_the_defaults_are_the_dates_the_closure_period_is_derived_from():
    assert (LAUNCH, CLOSURE) == (dt.date(2018, 10, 16), dt.date(2022, 1, 28))
    assert CLOSURE_PERIOD == 78


# ----------------------------------------------------------------------------- half months
@PROPERTY
@given(day=dates)
def test_half_month_start_of_a_days_index_is_the_1st_or_16th_at_or_before_it(day):
    index = half_month_index(day)
    start = half_month_start(index)
    assert (start.year, start.month) == (day.year, day.month)
    assert start.day == (1 if day.day < 16 else 16)
    assert start <= day < half_month_start(index + 1)
    assert half_month_index(start) == index


@PROPERTY
@given(day=dates)
def test_half_month_index_of_a_half_month_start_round_trips(day):
    index = half_month_index(day)
    for i in (index - 1, index, index + 1):
        assert half_month_index(half_month_start(i)) == i


@PROPERTY
@given(first=dates, second=dates)
def test_half_month_indices_differ_by_two_a_month_plus_the_half(first, second):
    def months(d):
        return d.year * 12 + d.month

    expected = 2 * (months(second) - months(first)) + (second.day >= 16) - (first.day >= 16)
    assert half_month_index(second) - half_month_index(first) == expected


# ----------------------------------------------------------------------------- periods
@PROPERTY
@given(launch=dates)
def test_period_zero_is_the_launch_date_itself(launch):
    calendar = Calendar(launch)
    assert calendar.date(0) == launch
    assert calendar.period_of(launch) == 0
    # Period 1 starts on the next 1st or 16th after the launch.
    first = calendar.date(1)
    assert first.day in (1, 16)
    assert launch < first <= launch + dt.timedelta(days=16)


@PROPERTY
@given(launch=dates, k=st.integers(0, 24 * 20))
def test_period_of_the_date_of_period_k_is_k(launch, k):
    calendar = Calendar(launch)
    assert calendar.period_of(calendar.date(k)) == k


def test_later_periods_start_on_the_1st_or_16th_consecutively_two_a_month():
    calendar = Calendar(LAUNCH)
    starts = [calendar.date(k) for k in range(1, 24 * 10 + 1)]
    assert all(d.day in (1, 16) for d in starts)
    # Consecutive half months: each start follows the previous by 13 (16 Feb - 1 Mar) to 16 days.
    gaps = {(b - a).days for a, b in itertools.pairwise(starts)}
    assert gaps <= {13, 14, 15, 16}
    # Periods 1..240 are Nov 2018 to Oct 2028: 120 months, each with a 1st and a 16th.
    by_month = Counter((d.year, d.month) for d in starts)
    assert len(by_month) == 120
    assert set(by_month.values()) == {2}
    assert (starts[0], starts[-1]) == (dt.date(2018, 11, 1), dt.date(2028, 10, 16))


def test_every_day_belongs_to_the_period_whose_start_is_the_latest_on_or_before_it():
    calendar = Calendar(LAUNCH)
    k = 0
    day = LAUNCH
    while day < dt.date(2023, 1, 1):
        if day == calendar.date(k + 1):
            k += 1
        assert calendar.period_of(day) == k, day
        day += dt.timedelta(days=1)


def test_days_before_launch_have_negative_periods():
    calendar = Calendar(LAUNCH)
    assert calendar.period_of(dt.date(2018, 10, 15)) == -1
    assert calendar.period_of(dt.date(2018, 10, 1)) == -1
    assert calendar.period_of(dt.date(2018, 9, 30)) == -2


# ----------------------------------------------------------------------------- the default run
def test_the_closure_date_falls_in_period_78_counted_from_the_launch():
    calendar = Calendar(LAUNCH)
    assert calendar.period_of(CLOSURE) == CLOSURE_PERIOD
    assert calendar.date(CLOSURE_PERIOD) == dt.date(2022, 1, 16)


@cache
def default_run() -> tuple[MutualAidModel, pd.DataFrame]:
    model = MutualAidModel(n_agents=500, rng=1)
    return model, model.run()


def test_the_default_model_runs_the_closure_period_plus_two():
    # Periods 0..78 are covered and period 79 (2022-02-01) settles the last shares.
    model, _ = default_run()
    assert MutualAidModel(n_agents=500, rng=1).n_periods == CLOSURE_PERIOD + 2
    assert model.n_periods == CLOSURE_PERIOD + 2


def test_the_default_run_has_one_row_a_period_ending_on_the_settlement_date():
    model, table = default_run()
    assert len(table) == CLOSURE_PERIOD + 2
    assert table["period"].tolist() == list(range(CLOSURE_PERIOD + 2))
    assert table["date"].iloc[0] == pd.Timestamp(LAUNCH)
    assert table["date"].iloc[-1] == pd.Timestamp(2022, 2, 1)
    assert not model.running


@pytest.mark.parametrize("k", [1, 2, 3, 30, 78, 79])
def test_each_row_is_dated_by_its_period_start(k):
    _, table = default_run()
    assert table["date"].iloc[k] == pd.Timestamp(Calendar(LAUNCH).date(k))
