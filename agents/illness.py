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


def select_factor(periods_since_joining, factor_at_joining: float, select_period_years: float):
    """Multiplier on risk that rises from `factor_at_joining` to 1 with time in the plan (1).

    A health declaration keeps out conditions already known, so new diagnoses among
    the newly joined start low and approach the population rate (select and ultimate).
    """
    years = np.asarray(periods_since_joining, dtype=np.float64) / PERIODS_PER_YEAR
    return 1.0 - (1.0 - factor_at_joining) * np.exp(-years / select_period_years)


def illness_probability(annual_risk_per_year, select):
    """Probability of falling ill within one period (0-1)."""
    return -np.expm1(-np.asarray(annual_risk_per_year) * select / PERIODS_PER_YEAR)
