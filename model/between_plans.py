"""Members between plans in a market model: who holds which platform, the move to the
elderly plan at 60, and where a closing platform's members go (docs/ODD.md 7.12).

Each function reads and changes the pools' populations (`huzhu.model.pool.Pool`); the
model calls them at their places in the period (`MutualAidModel.step`).
"""

from __future__ import annotations

import numpy as np

from huzhu.agents.population import Population
from huzhu.agents.states import State
from huzhu.model.streams import Stream


def platforms_held(pools: list, idx) -> dict[str, np.ndarray]:
    """Whether each person at `idx` (a slice or agent indices) is a member of any plan of
    each platform of `pools` (bool per platform key)."""
    held: dict[str, np.ndarray] = {}
    for pool in pools:
        member = pool.population.is_member(idx)
        held[pool.platform_key] = held[pool.platform_key] | member if pool.platform_key in held else member
    return held


def mark_members_elsewhere(pools: list) -> None:
    """Each pool's `member_elsewhere`: whether a person is a member of another platform
    than the pool's, a chunk at a time (read when `multi_homing_propensity` is below 1)."""
    if not pools:
        return
    for start, stop in pools[0].population.chunks():
        chunk = slice(start, stop)
        held = platforms_held(pools, chunk)
        count = np.sum(list(held.values()), axis=0, dtype=np.int8)
        for pool in pools:
            pool.population.member_elsewhere[chunk] = count > held[pool.platform_key]


def mark_joiners_elsewhere(pools: list, joined_pool, joiners: np.ndarray) -> None:
    """Those who have just joined `joined_pool` are members elsewhere for every pool of
    another platform, whose own joining pass comes later in the period."""
    for pool in pools:
        if pool.platform_key != joined_pool.platform_key:
            pool.population.member_elsewhere[joiners] = True


def transfer_at_maximum_age(source, target, aged_out: np.ndarray, period: int, takeup: float) -> int:
    """Members of `source` who have just reached its maximum age move to `target` covered,
    without a new wait or health declaration, each with probability `takeup` (one uniform
    each, stream PLAN_TRANSFER of the target's streams), if `target` may hold them: not a
    member, claimed or aged out of it, and of its ages.

    Returns:
        How many moved (agents).
    """
    if not len(aged_out) or not takeup:
        return 0
    population = target.population
    movers = aged_out[uniform_at(population, Stream.PLAN_TRANSFER, period, aged_out) < takeup]
    state = population.state[movers]
    open_to_them = (~population.is_member(movers)) & (state != State.CLAIMED) & (state != State.AGED_OUT)
    movers = movers[open_to_them & population.in_age_range(movers)]
    population.take_over(movers, period, source.population.first_join_period[movers])
    return len(movers)


def closure_destinations(
    pool, closed: np.ndarray, took_policy: np.ndarray, period: int, others: list, switch_prob: float
) -> tuple[int, int, dict]:
    """Where the members of a closing pool go, beyond the policy some took: those still
    members of another platform stay there; of the rest, each joins another platform
    taking members with probability `switch_prob` (stream CLOSURE_SWITCH of the closing
    plan), choosing among the platforms with weight 1 + its neighbours in each platform's
    first plan (what it sees on its phone, and its friends), and enters the first of that
    platform's plans that admits it; else it leaves mutual aid.

    Args:
        pool: The closing pool; `closed` its members who left (agent indices, ascending),
            `took_policy` those of them who took the policy.
        period: This period.
        others: The open pools of the other platforms (not closing now), in model order.
        switch_prob: `closure_switch_prob`.

    Returns:
        (members held elsewhere, members who switched (agents), the pools they joined
        with how many joined each and how many of those had been members before).
    """
    rest = np.setdiff1d(closed, took_policy, assume_unique=True)
    held = platforms_held(others, rest) if others else {}
    elsewhere = np.any(list(held.values()), axis=0) if held else np.zeros(len(rest), dtype=bool)
    candidates = rest[~elsewhere]
    taking = [other for other in others if other.takes_members(period)]
    first_plans = list({other.platform_key: other for other in reversed(taking)}.values())[::-1]
    joined: dict = {}
    if not switch_prob or not first_plans or not len(candidates):
        return int(np.count_nonzero(elsewhere)), 0, joined
    u = uniform_at(pool.population, Stream.CLOSURE_SWITCH, period, candidates)
    switching = candidates[u < switch_prob]
    u_choice = (u[u < switch_prob] / switch_prob)[:, None]
    weights = np.stack([1.0 + first.population.member_neighbours[switching] for first in first_plans], axis=1)
    cumulative = np.cumsum(weights, axis=1)
    choice = (u_choice * cumulative[:, -1:] >= cumulative).sum(axis=1)
    switched = 0
    for k, first in enumerate(first_plans):
        waiting = switching[choice == k].astype(np.int64)
        for plan in (other for other in taking if other.platform_key == first.platform_key):
            admitted = waiting[plan.population.may_join(waiting, period)] if len(waiting) else waiting
            if len(admitted):
                rejoined = plan.population.enter(admitted, period)
                joined[plan] = (len(admitted), rejoined)
                switched += len(admitted)
                waiting = np.setdiff1d(waiting, admitted, assume_unique=True)
    return int(np.count_nonzero(elsewhere)), switched, joined


def industry_counts(pools: list) -> dict[str, int]:
    """Members of each platform of `pools` and of any ("all"), each person once (agents)."""
    counts = dict.fromkeys((pool.platform_key for pool in pools), 0)
    counts["all"] = 0
    for start, stop in pools[0].population.chunks() if pools else ():
        held = platforms_held(pools, slice(start, stop))
        for key, member in held.items():
            counts[key] += int(np.count_nonzero(member))
        counts["all"] += int(np.count_nonzero(np.any(list(held.values()), axis=0)))
    return counts


def uniform_at(population: Population, stream: Stream, period: int, agents: np.ndarray) -> np.ndarray:
    """One uniform for each agent of `agents` (ascending) from the population's `stream`
    in `period` (addressed by periods since its plan's launch), item i being agent i's,
    drawn a chunk at a time."""
    out = np.empty(len(agents))
    for start, stop in population.chunks():
        low, high = np.searchsorted(agents, [start, stop])
        if high > low:
            local_period = period - population.launch_period
            out[low:high] = population.streams.uniforms(stream, local_period, start, stop)[agents[low:high] - start]
    return out
