"""Falling ill: annual risk by age and frailty, damped just after the health declaration.

The per-member rules are compiled ufuncs (`rule`): one definition serves an array of
members, one member, and the compiled passes of the vectorised engine.
"""

from __future__ import annotations

import math

import numpy as np

from huzhu.agents.compiled import logistic, rule
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.incidence import ci1_incidence


def annual_risk(age_years, frailty, covered_illness_factor: float):
    """Annual probability of a covered critical illness (per year).

    CI1 incidence at the agent's age, scaled from six core diseases to the covered
    list, times the agent's frailty (mean 1).
    """
    return covered_illness_factor * ci1_incidence(age_years) * np.asarray(frailty)


@rule(5)
def select_factor(periods_since_joining, factor_at_joining, select_period_years, shape, ultimate_factor):
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
        shape: Weibull shape of the rise (1; 1 for an exponential rise).
        ultimate_factor: u, the long-run factor (1): members' incidence relative to the
            population's once the declaration's effect has worn off.
    """
    years = periods_since_joining / PERIODS_PER_YEAR
    gap = math.exp(-((years / select_period_years) ** shape))
    return ultimate_factor - (ultimate_factor - factor_at_joining) * gap


@rule(5)
def claim_awareness(periods_since_launch, midpoint_periods, width_periods, years_above_adult, delay_periods_per_decade):
    """Share of ill members who know they are covered and claim (0-1), a logistic in the
    plan's age: 1 / (1 + exp(-(t - m_i) / width)), with the midpoint later for older members,
    m_i = midpoint + delay x max(age - adult age, 0) / 10; with width 0, a step at m_i (so
    midpoint 0, width 0 and no delay: every ill member claims from the launch).

    Members joined with one tap on the Alipay home page, paying nothing; many learned what
    the plan paid for only as cases were announced in the app, and the older a user, the
    less of the app they use (CNNIC 45th report), so the later they learn. Ill members who
    do not claim stay members (their illness is not a claim the plan ever sees). Minors,
    enrolled by family, are claimed for by the adults who enrolled them: no delay.

    Args:
        periods_since_launch: t, periods since the launch period.
        midpoint_periods: Periods since launch when half the ill adults of adult age claim.
        width_periods: Periods over which awareness rises by a factor e in odds (0: a step).
        years_above_adult: Age minus the adult age (years; 0 where ages do not matter).
        delay_periods_per_decade: Periods by which the midpoint is later per ten years above
            the adult age (periods per 10 years; 0 for none).
    """
    midpoint = midpoint_periods + delay_periods_per_decade * max(years_above_adult, 0.0) / 10.0
    if width_periods <= 0.0:
        return 1.0 if periods_since_launch >= midpoint else 0.0
    return logistic((periods_since_launch - midpoint) / width_periods)


@rule(3)
def illness_probability(annual_risk_per_year, select, awareness):
    """Probability of falling ill within one period and claiming (0-1).

    Args:
        annual_risk_per_year: Annual risk of a covered illness (per year).
        select: Select-effect multiplier on that risk (1).
        awareness: Share of the ill who claim (`claim_awareness`, 1; 1 when all claim).
    """
    return -math.expm1(-annual_risk_per_year * select / PERIODS_PER_YEAR) * awareness
