"""Staying or leaving: baseline churn, price, and exits spreading over the network."""

from __future__ import annotations

import numpy as np

from huzhu.agents.states import ExitReason


def exit_hazards(price_pressure, price_attention: float, base_exit_hazard: float, contagion_strength: float, exposure):
    """The three additive parts of a member's per-period exit hazard (per period).

    Deduction is automatic, so a member weighs the price only with probability
    `price_attention` a period (inertia). Each recently exited neighbour multiplies
    the hazard by (1 + contagion_strength x its decayed weight) (Nitzan & Libai 2011).

    Args:
        price_pressure: From `valuation.price_pressure` (0-1).
        price_attention: Per-period probability of weighing the price (per period).
        base_exit_hazard: Churn for reasons outside the model (per period).
        contagion_strength: Hazard increase per recently exited neighbour (1).
        exposure: Sum over exited neighbours of exp(-periods since exit / decay) (1).

    Returns:
        (other, price, contagion) hazards, each per period.
    """
    other = np.broadcast_to(np.float64(base_exit_hazard), np.shape(price_pressure))
    price = price_attention * np.asarray(price_pressure, dtype=np.float64)
    contagion = (other + price) * contagion_strength * np.asarray(exposure, dtype=np.float64)
    return other, price, contagion


def threshold_exceeded(exited_neighbours, degree, threshold):
    """Threshold contagion (Granovetter 1978; Watts 2002): the share of an agent's
    neighbours who left reaches its threshold (bool)."""
    degree = np.asarray(degree)
    share = np.divide(exited_neighbours, degree, out=np.zeros(np.shape(degree)), where=degree > 0)
    return (share >= threshold) & (degree > 0)


def draw_exits(other, price, contagion, uniform):
    """Who leaves and why, from the hazard parts and one uniform draw per member.

    The exit probability is 1 - exp(-total hazard); an exit is attributed to each part
    in proportion to its share of the total.

    Returns:
        ExitReason codes (int8): NONE for those who stay.
    """
    total = other + price + contagion
    leave_prob = -np.expm1(-total)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        position = np.where(total > 0, uniform / leave_prob * total, np.inf)
    reason = np.full(np.shape(total), ExitReason.NONE, dtype=np.int8)
    leaving = uniform < leave_prob
    reason[leaving & (position < other)] = ExitReason.OTHER
    reason[leaving & (position >= other) & (position < other + price)] = ExitReason.PRICE
    reason[leaving & (position >= other + price)] = ExitReason.CONTAGION
    return reason
