"""Joining: platform marketing (innovation) plus word of mouth (imitation), damped by price."""

from __future__ import annotations

import numpy as np


def marketing_hazard(period, marketing_rate: float, launch_marketing_rate: float, launch_decay_periods: float):
    """Per-period joining hazard from the platform's own promotion (per period).

    A launch campaign (home-page placement) that decays exponentially on top of a
    steady rate.
    """
    return marketing_rate + launch_marketing_rate * np.exp(-np.asarray(period) / launch_decay_periods)


def join_probability(marketing, word_of_mouth_rate: float, member_neighbour_share, attractiveness):
    """Probability that an eligible outsider joins this period (0-1).

    Bass diffusion in hazard form: (innovation + imitation x share of neighbours who
    are members) x attractiveness, where attractiveness = 1 - price_pressure.

    Args:
        marketing: `marketing_hazard` this period (per period).
        word_of_mouth_rate: Hazard when every neighbour is a member (per period).
        member_neighbour_share: Share of the agent's neighbours who are members (0-1).
        attractiveness: 1 - price pressure at current charges (0-1).
    """
    hazard = (marketing + word_of_mouth_rate * np.asarray(member_neighbour_share)) * np.asarray(attractiveness)
    return -np.expm1(-hazard)
