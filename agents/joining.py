"""Joining: platform marketing (innovation) plus word of mouth (imitation), damped by price."""

from __future__ import annotations

import math

import numpy as np

from huzhu.agents.compiled import rule


@rule(4)
def marketing_hazard(period, marketing_rate, launch_marketing_rate, launch_decay_periods):
    """Per-period joining hazard from the platform's own promotion (per period).

    A launch campaign (home-page placement) that decays exponentially on top of a
    steady rate.
    """
    return marketing_rate + launch_marketing_rate * math.exp(-period / launch_decay_periods)


@rule(5)
def join_propensity(age_years, adult_age_years, age_gradient, former_member, rejoin_propensity):
    """Relative joining hazard of an adult (1): exp(-age_gradient x (age - adult age)),
    times `rejoin_propensity` for one who has been a member before.

    Online use, and so exposure to the platform's marketing and to mobile payment, falls
    with age (CNNIC 2020); a former member decided once that the plan was not worth it.

    Args:
        age_years: Age (years), at or above `adult_age_years`.
        adult_age_years: Age from which agents decide for themselves (years).
        age_gradient: Fall of the log hazard per year of age (per year).
        former_member: Whether the agent was a member before (bool).
        rejoin_propensity: Multiplier for former members (1).
    """
    age_factor = math.exp(-age_gradient * (age_years - adult_age_years))
    return age_factor * (rejoin_propensity if former_member else 1.0)


@rule(5)
def join_probability(marketing, word_of_mouth_rate, member_neighbour_share, attractiveness, propensity):
    """Probability that an eligible outsider joins this period (0-1).

    Bass diffusion in hazard form: (innovation + imitation x share of neighbours who
    are members) x attractiveness x propensity, where attractiveness = 1 - price_pressure.

    Args:
        marketing: `marketing_hazard` this period (per period).
        word_of_mouth_rate: Hazard when every neighbour is a member (per period).
        member_neighbour_share: Share of the agent's neighbours who are members (0-1).
        attractiveness: 1 - price pressure at current charges (0-1).
        propensity: `join_propensity` (1; 1 for an adult at the adult age who was never a member).
    """
    hazard = (marketing + word_of_mouth_rate * member_neighbour_share) * attractiveness
    return -math.expm1(-hazard * propensity)


@rule(4)
def join_probability_bound(marketing, word_of_mouth_rate, member_neighbour_share, propensity):
    """An upper bound of `join_probability` over every attractiveness in [0, 1] (0-1 or more).

    The hazard at full attractiveness, computed in the same order, so that rounding keeps
    it at or above the probability (1 - exp(-h) <= h). An agent whose uniform is at or
    above it does not join, whatever the price: the compiled pass then skips valuing
    the plan, and decides exactly as if it had not.
    """
    return (marketing + word_of_mouth_rate * member_neighbour_share) * propensity


def relative_age_window(joiner_age, parent, generation_gap: float, generation_spread: float):
    """Ages a relative a generation away may have: [low, high] around the joiner's age
    plus the gap for a parent, minus it for a child (same unit as the ages).

    Args:
        joiner_age: Age of each enrolling joiner.
        parent: Whether each enrols a parent (else a child) (bool).
        generation_gap: Parents' age at a child's birth.
        generation_spread: Half-width of the window around it.
    """
    centre = np.asarray(joiner_age, dtype=np.float64) + np.where(parent, generation_gap, -generation_gap)
    return centre - generation_spread, centre + generation_spread


def pick_in_age_window(candidates_younger_than, low, high, u) -> np.ndarray:
    """Position of the relative among the candidates in age order: uniform among those
    whose age lies in [low, high] (u uniform on [0, 1)), -1 where none does.

    The candidates are given by their ages' counts, not listed: position p is the
    (p - younger_than[a])-th candidate of age a, the a with younger_than[a] <= p <
    younger_than[a + 1].

    Args:
        candidates_younger_than: At each whole age a, how many candidates are younger
            than a (int; length oldest age + 2, so the last entry counts them all).
        low: Each joiner's window's youngest age (`relative_age_window`; the same unit).
        high: Each joiner's window's oldest age (the same unit).
        u: One uniform per joiner.
    """
    top = len(candidates_younger_than) - 1
    # Ages are whole: those below `low` are below ceil(low); those up to `high`, below floor(high) + 1.
    first = candidates_younger_than[np.clip(np.ceil(low), 0, top).astype(np.int64)]
    count = candidates_younger_than[np.clip(np.floor(high) + 1, 0, top).astype(np.int64)] - first
    position = first + np.minimum((np.asarray(u) * count).astype(np.int64), np.maximum(count - 1, 0))
    return np.where(count > 0, position, -1)
