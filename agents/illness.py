"""Falling ill: annual risk by age and frailty, damped just after the health declaration."""

from __future__ import annotations

import numpy as np

from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.incidence import ci1_incidence


def annual_risk(age_years, frailty, covered_illness_factor: float):
    """Annual probability of a covered critical illness (per year).

    CI1 incidence at the agent's age, scaled from six core diseases to the covered
    list, times the agent's frailty (mean 1).
    """
    return covered_illness_factor * ci1_incidence(age_years) * np.asarray(frailty)


def select_factor(
    periods_since_joining,
    factor_at_joining: float,
    select_period_years: float,
    shape: float = 1.0,
    ultimate_factor: float = 1.0,
):
    """Multiplier on risk that moves from `factor_at_joining` to `ultimate_factor` with time
    in the plan (1): u - (u - s0) exp(-(years / select_period_years) ** shape).

    A health declaration keeps out conditions already known, so new diagnoses among the
    newly joined start low and approach the members' long-run rate (select and ultimate).
    With `shape` 1 the gap closes exponentially; above 1 it stays near the start for the
    first months (conditions developing undiagnosed at joining surface, are diagnosed and
    pass the claim investigation first), then closes faster (a Weibull curve).

    Args:
        periods_since_joining: Periods since the first joining (half months).
        factor_at_joining: s0, the factor at joining (1).
        select_period_years: Scale of the rise (years): with shape 1, its e-folding time.
        shape: Weibull shape of the rise (1).
        ultimate_factor: u, the long-run factor (1): members' incidence relative to the
            population's once the declaration's effect has worn off.
    """
    years = np.asarray(periods_since_joining, dtype=np.float64) / PERIODS_PER_YEAR
    gap = np.exp(-((years / select_period_years) ** shape))
    return ultimate_factor - (ultimate_factor - factor_at_joining) * gap


def illness_probability(annual_risk_per_year, select):
    """Probability of falling ill within one period (0-1)."""
    return -np.expm1(-np.asarray(annual_risk_per_year) * select / PERIODS_PER_YEAR)
