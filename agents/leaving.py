"""Staying or leaving: baseline churn, price, and exits spreading over the network.

The per-member rules are compiled ufuncs (agents/compiled.py): one definition for many
members, for one, and for the compiled passes.
"""

from __future__ import annotations

import math

import numpy as np

from huzhu.agents.compiled import rule
from huzhu.agents.states import ExitReason

STAY_RULES = ("constant", "salience")

# Plain integers: the compiled rules return these codes.
_NONE, _OTHER, _PRICE, _CONTAGION = (
    int(r) for r in (ExitReason.NONE, ExitReason.OTHER, ExitReason.PRICE, ExitReason.CONTAGION)
)


@rule(2)
def price_exit_hazard(review_probability, price_pressure):
    """The price part of a member's exit hazard (per period): it weighs the price with
    `review_probability` a period (deduction is automatic: inertia), and then finds the
    plan too dear with `price_pressure`.

    Args:
        review_probability: Chance of weighing the price this period (`review_probability`; 0-1).
        price_pressure: From `valuation.price_pressure` (0-1).
    """
    return review_probability * price_pressure


@rule(4)
def contagion_exit_hazard(other_hazard, price_hazard, contagion_strength, exposure):
    """The contagion part (per period): each recently exited neighbour multiplies the
    hazard by (1 + contagion_strength x its decayed weight) (Nitzan & Libai 2011).

    Args:
        other_hazard: Churn for reasons outside the model (per period).
        price_hazard: `price_exit_hazard` (per period).
        contagion_strength: Hazard increase per recently exited neighbour (1).
        exposure: Sum over exited neighbours of exp(-periods since exit / decay) (1).
    """
    return (other_hazard + price_hazard) * contagion_strength * exposure


def exposure_decay(contagion_decay_periods: float) -> np.float32:
    """The factor an agent's exposure is multiplied by each period, exp(-1 / decay) (1;
    float32 like the exposure it multiplies), so that an exited neighbour weighs
    exp(-periods since its exit / decay).

    Args:
        contagion_decay_periods: e-folding time of a neighbour's exit (periods).
    """
    return np.float32(np.exp(-1.0 / contagion_decay_periods))


def exit_hazards(price_pressure, review_probability, base_exit_hazard: float, contagion_strength: float, exposure):
    """The three additive parts of a member's per-period exit hazard (per period).

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
    price = price_exit_hazard(review_probability, price_pressure)
    return other, price, contagion_exit_hazard(other, price, contagion_strength, exposure)


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


@rule(6)
def review_chance(salience_rule, price_attention, salience_attention, jump, attentive, news):
    """Chance that a member weighs the price this period (0-1), the stay rule as a flag.

    Constant rule (`salience_rule` false): `price_attention` for every member. Salience
    rule: 0 for members who never review a charge deducted by default (inertia); for the
    others a hazard that rises with the jump of the share over its reference and with the
    news of other platforms' closures, 1 - exp(-(price_attention + salience_attention x
    jump + news)).

    Args:
        salience_rule: Whether the salience stay rule is in force (bool).
        price_attention: Per-period chance (constant) or base hazard (salience).
        salience_attention: Added hazard per unit of `jump` (per period).
        jump: From `share_jump` (1).
        attentive: Whether the member ever reviews (bool).
        news: Added hazard from closures elsewhere (`closure_news_hazard`; per period).
    """
    if not salience_rule:
        return price_attention
    if not attentive:
        return 0.0
    return -math.expm1(-(price_attention + salience_attention * jump + news))


def review_probability(
    stay_rule: str, price_attention: float, salience_attention: float, jump: float, attentive, news: float = 0.0
):
    """`review_chance` under the stay rule named "constant" or "salience" (0-1).

    Raises:
        ValueError: Another name.
    """
    if stay_rule not in STAY_RULES:
        raise ValueError(f"stay_rule={stay_rule!r} is not allowed: one of 'constant', 'salience'")
    return review_chance(stay_rule == "salience", price_attention, salience_attention, jump, attentive, news)


def closure_news_hazard(period: int, closure_periods, attention: float, decay_periods: float) -> float:
    """Attention hazard from the closures of other platforms (per period): each closure
    adds `attention` in its period, fading by exp(-1 / decay) a period after.

    Args:
        period: This period.
        closure_periods: The periods in which other platforms closed.
        attention: Hazard a closure adds in its own period (per period).
        decay_periods: e-folding time of the news (periods).
    """
    since = period - np.asarray(closure_periods, dtype=np.float64)
    since = since[since >= 0]
    return float(attention * np.exp(-since / decay_periods).sum()) if attention else 0.0


@rule(3, returns="boolean")
def threshold_exceeded(exited_neighbours, degree, threshold):
    """Threshold contagion (Granovetter 1978; Watts 2002): the share of an agent's
    neighbours who left reaches its threshold (bool); never without neighbours."""
    # The division is by at least 1: the compiler may evaluate it before the test of degree.
    return degree > 0 and exited_neighbours / max(degree, 1.0) >= threshold


@rule(4)
def exit_probability_bound(other_hazard, review_probability, contagion_strength, exposure):
    """An upper bound of the exit probability of `draw_exits` over every price pressure in
    [0, 1] (0-1 or more).

    The total hazard with the price part at its largest, `review_probability`, computed in
    the same order as `draw_exits` adds its parts, so that rounding keeps it at or above
    the probability (1 - exp(-h) <= h). A member whose uniform is at or above it stays,
    whatever the price: the compiled pass then skips valuing the plan, and decides exactly
    as if it had not.
    """
    contagion = contagion_exit_hazard(other_hazard, review_probability, contagion_strength, exposure)
    return other_hazard + review_probability + contagion


@rule(4, returns="int8")
def draw_exits(other, price, contagion, uniform):
    """Who leaves and why, from the hazard parts and one uniform draw per member.

    The exit probability is 1 - exp(-total hazard); an exit is attributed to each part
    in proportion to its share of the total.

    Returns:
        ExitReason code (int8): NONE for one who stays.
    """
    total = other + price + contagion
    leave_prob = -math.expm1(-total)
    if not uniform < leave_prob:
        return _NONE
    position = uniform / leave_prob * total
    if position < other:
        return _OTHER
    if position < other + price:
        return _PRICE
    return _CONTAGION
