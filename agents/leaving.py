"""Staying or leaving: baseline churn, price, and exits spreading over the network."""

from __future__ import annotations

import numpy as np

from huzhu.agents.states import ExitReason


def exit_hazards(price_pressure, review_probability, base_exit_hazard: float, contagion_strength: float, exposure):
    """The three additive parts of a member's per-period exit hazard (per period).

    Deduction is automatic, so a member weighs the price only with
    `review_probability` a period (inertia). Each recently exited neighbour multiplies
    the hazard by (1 + contagion_strength x its decayed weight) (Nitzan & Libai 2011).

    Args:
        price_pressure: From `valuation.price_pressure` (0-1).
        review_probability: Chance of weighing the price this period (`review_probability`; 0-1).
        base_exit_hazard: Churn for reasons outside the model (per period).
        contagion_strength: Hazard increase per recently exited neighbour (1).
        exposure: Sum over exited neighbours of exp(-periods since exit / decay) (1).

    Returns:
        (other, price, contagion) hazards, each per period.
    """
    other = np.broadcast_to(np.float64(base_exit_hazard), np.shape(price_pressure))
    price = np.asarray(review_probability, dtype=np.float64) * np.asarray(price_pressure, dtype=np.float64)
    contagion = (other + price) * contagion_strength * np.asarray(exposure, dtype=np.float64)
    return other, price, contagion


def share_jump(current_unit_share_cny: float, reference_unit_share_cny: float, noticeable_share_cny: float) -> float:
    """How far this period's share stands above its reference, as members notice it (1).

    log(max(current, noticeable) / max(reference, noticeable)), or 0 if the share fell:
    shares below `noticeable_share_cny` are too small for a jump to register, which also
    keeps the first shares after zero ones finite.

    Args:
        current_unit_share_cny: Share per unit of weight deducted this period (CNY).
        reference_unit_share_cny: Reference formed from past shares (CNY per period).
        noticeable_share_cny: Smallest share a member notices (CNY per period).
    """
    floor = max(noticeable_share_cny, 1e-12)
    return max(0.0, float(np.log(max(current_unit_share_cny, floor) / max(reference_unit_share_cny, floor))))


def review_probability(
    stay_rule: str, price_attention: float, salience_attention: float, jump: float, attentive
) -> np.ndarray:
    """Chance that a member weighs the price this period (0-1).

    "constant": `price_attention` for every member. "salience": 0 for members who never
    review a charge deducted by default (inertia); for the others a hazard that rises
    with the jump of the share over its reference,
    1 - exp(-(price_attention + salience_attention x jump)).

    Args:
        stay_rule: "constant" or "salience".
        price_attention: Per-period chance (constant) or base hazard (salience).
        salience_attention: Added hazard per unit of `jump` (per period).
        jump: From `share_jump` (1).
        attentive: Whether each member ever reviews (bool).
    """
    attentive = np.asarray(attentive, dtype=bool)
    if stay_rule == "constant":
        return np.full(attentive.shape, price_attention, dtype=np.float64)
    if stay_rule == "salience":
        return np.where(attentive, -np.expm1(-(price_attention + salience_attention * jump)), 0.0)
    raise ValueError(f"stay_rule={stay_rule!r} is not allowed: one of 'constant', 'salience'")


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
