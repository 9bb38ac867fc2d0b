"""Sharing periods and their dates: two periods a month, starting on the 1st and the 16th.

Xianghubao announced cases on the 7th and 21st and deducted shares on the 14th and
28th (tzshuo.com/a/67776.html); a half-month grid starting on the 1st and the 16th keeps
that cadence while staying a regular grid of periods.
"""

from __future__ import annotations

import datetime as dt

PERIODS_PER_YEAR = 24


def half_month_index(date: dt.date) -> int:
    """Number of half months from 1 Jan of year 0 to the half month holding `date`."""
    return (date.year * 12 + date.month - 1) * 2 + (0 if date.day < 16 else 1)


def half_month_start(index: int) -> dt.date:
    """First day of the half month with the given `half_month_index`."""
    months, half = divmod(index, 2)
    year, month0 = divmod(months, 12)
    return dt.date(year, month0 + 1, 16 if half else 1)


class Calendar:
    """Maps period numbers (0 = launch period) to dates.

    Args:
        launch_date: Any day of the launch half month; period 0 is that half month.
    """

    def __init__(self, launch_date: dt.date):
        self.launch_date = launch_date
        self._first = half_month_index(launch_date)

    def date(self, period: int) -> dt.date:
        """Start date of `period` (the launch date itself for period 0)."""
        return self.launch_date if period == 0 else half_month_start(self._first + period)

    def period_of(self, date: dt.date) -> int:
        """The period whose half month holds `date` (negative before launch)."""
        return half_month_index(date) - self._first
