"""Splitting a period's costs among the members: the equal rule and its alternatives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from huzhu.agents.compiled import rule
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.incidence import ci1_incidence

AGE_BAND_YEARS = 10.0  # age-banded sharing prices ten-year bands (0-9, ..., 50-59)


def sharing_weights(rule: str, age_years):
    """Relative share each member pays under `rule` (1; equal rule: all ones).

    "age_banded": proportional to CI1 incidence at the middle of the member's
    ten-year age band, the part of risk the platform can see.
    """
    age = np.asarray(age_years)
    if rule == "equal":
        return np.ones(np.shape(age), dtype=np.float64)
    if rule == "age_banded":
        band_middle = (np.floor(age / AGE_BAND_YEARS) + 0.5) * AGE_BAND_YEARS
        return ci1_incidence(band_middle) / ci1_incidence(30.0)
    raise ValueError(f"sharing_rule={rule!r} is not allowed: one of 'equal', 'age_banded'")


def annual_cap_cny(year: int, cap_cny: float, first_year: int, last_year: int) -> float:
    """The per-member annual cap in force in `year` (CNY per year; inf when none)."""
    return cap_cny if first_year <= year <= last_year else np.inf


@rule(3)
def capped_charges(asked_cny, paid_this_year_cny, cap_cny):
    """What each member pays of what is asked, given the annual cap (CNY per person).

    The platform pays the rest (asked - charged).
    """
    return min(asked_cny, max(cap_cny - paid_this_year_cny, 0.0))


@rule(3)
def expected_annual_charge(unit_share_cny_per_period, weight, cap_cny):
    """Charges an agent expects over a year at the recent share (CNY per year).

    Args:
        unit_share_cny_per_period: Recent (smoothed) share per unit of weight (CNY per period).
        weight: The agent's `sharing_weights` (1).
        cap_cny: Annual cap in force (CNY per year).
    """
    return min(PERIODS_PER_YEAR * unit_share_cny_per_period * weight, cap_cny)


def one_to_one_share(simulated_cny: float, expected_cny: float, people_per_agent: float) -> float:
    """The share with the noise it would have if each agent were one person (CNY).

    A count of n agent-events standing for k people each has variance k^2 n; the same
    people counted one by one, k n events, have variance k n: k times less. Shrinking
    the simulated share's departure from its expectation by sqrt(k) gives it the
    one-to-one noise (never negative for k >= 1, as both shares are not).

    Args:
        simulated_cny: The share as simulated (CNY).
        expected_cny: Its expectation given the members' risks (CNY).
        people_per_agent: People each agent stands for (>= 1).
    """
    return expected_cny + (simulated_cny - expected_cny) / float(np.sqrt(people_per_agent))


@dataclass(frozen=True)
class ChargeSignal:
    """What members know of the charges when they decide this period.

    All zero before the first share and from the closure announcement on, when the
    platform pays every share and says so.

    Attributes:
        recent_unit_share_cny: Smoothed recent share per unit of sharing weight (CNY per period).
        reference_unit_share_cny: Reference share formed from earlier periods, with a longer
            memory (CNY per period).
        jump: How far this period's share stands above the reference (`leaving.share_jump`; 1).
    """

    recent_unit_share_cny: float = 0.0
    reference_unit_share_cny: float = 0.0
    jump: float = 0.0
