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
    population.take_over(movers, period, source.population.member_values("first_join_period", movers))
    return len(movers)


def close_platform(
    closing: list, period: int, takeup: float, others: list, switch_prob: float, news_weight: float = 0.0
) -> dict:
    """A platform's plans in their last covered period close together; each person who
    was a member of any of them lands in one destination, decided once for the person:
    the policy offered (with probability `takeup`, stream CLOSURE_OFFER of the platform's
    first closing plan: insured from then on), else another platform held already, else
    (`closure_choices`, `join_chosen`) another platform joined now, else none. Each
    person is booked in the row of the first of the plans it held (model order), so a
    destination summed over the plans counts people. Their neighbours in the other
    platforms' plans hear of it: each closer counts `news_weight` recent exits in those
    plans' exposure (`Population.hear_of_departures`).

    People are taken a chunk of agents at a time (every draw is addressed by agent, and
    no one joins another platform before every switcher has chosen), so nothing is held
    for all of a large platform's members at once.

    Args:
        closing: The platform's pools closing now, in model order.
        period: This period.
        takeup: `closure_offer_takeup` if the platform offered a policy, else 0.
        others: The open pools of the other platforms (not closing now), in model order.
        switch_prob: `closure_switch_prob` (0 in a one-plan model, which has no others).
        news_weight: `closure_news_contagion` (recent neighbour exits per closer).

    Returns:
        The pools the switchers joined, each with (joins, re-joins) (agents).
    """
    closed = [pool.close(period) for pool in closing]
    took_policy, held_elsewhere = np.zeros(len(closing), np.int64), np.zeros(len(closing), np.int64)
    drawn, choices, owners = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for start, stop in closing[0].population.chunks():
        parts = [c[np.searchsorted(c, start) : np.searchsorted(c, stop)] for c in closed]
        people = parts[0].astype(np.int64) if len(parts) == 1 else np.unique(np.concatenate(parts)).astype(np.int64)
        if not len(people):
            continue
        if news_weight:
            for other in others:
                other.population.hear_of_departures(people, news_weight)
        owner = np.full(len(people), len(closing), dtype=np.int64)
        for k in reversed(range(len(closing))):  # the first plan a person held owns it
            owner[np.isin(people, parts[k], assume_unique=True)] = k
        took = np.zeros(len(people), dtype=bool)
        if takeup:
            took = uniform_at(closing[0].population, Stream.CLOSURE_OFFER, period, people) < takeup
            closing[0].population.insured[people[took]] = True  # the people's array, shared by every plan
        held, chosen, choice = closure_choices(closing[0], people, took, period, others, switch_prob)
        took_policy += np.bincount(owner[took], minlength=len(closing) + 1)[: len(closing)]
        held_elsewhere += np.bincount(owner[held], minlength=len(closing) + 1)[: len(closing)]
        drawn.append(people[chosen])
        choices.append(choice)
        owners.append(owner[chosen])
    joined, switched = join_chosen(np.concatenate(drawn), np.concatenate(choices), period, others)
    switched_by_plan = np.bincount(np.concatenate(owners)[switched], minlength=len(closing) + 1)
    for k, pool in enumerate(closing):
        pool.tally["closure_took_policy"] = int(took_policy[k])
        pool.tally["closure_member_elsewhere"] = int(held_elsewhere[k])
        pool.tally["closure_switched"] = int(switched_by_plan[k])
    return joined


def _switch_targets(period: int, others: list) -> tuple[list, list]:
    """The other platforms' pools taking members now, and each such platform's first
    plan taking members (model order): where a closer may switch."""
    taking = [other for other in others if other.takes_members(period)]
    first_plans: dict = {}
    for other in taking:
        first_plans.setdefault(other.platform_key, other)
    return taking, list(first_plans.values())


def closure_choices(
    pool, people: np.ndarray, took: np.ndarray, period: int, others: list, switch_prob: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where a closing platform's members who did not take the policy go: those still
    members of another platform stay there; of the rest, each chooses to join another
    platform taking members with probability `switch_prob` (stream CLOSURE_SWITCH of the
    platform's first closing plan), among the platforms with weight 1 + its neighbours in
    each platform's first plan taking members (what it sees on its phone, and its
    friends); it enters the first of that platform's plans that admits it (`join_chosen`),
    else leaves mutual aid.

    Args:
        pool: The platform's first closing pool (its streams draw).
        people: People who left the platform now (agent indices, ascending).
        took: Per person, whether it took the policy.
        period: This period.
        others: The open pools of the other platforms (not closing now), in model order.
        switch_prob: `closure_switch_prob`.

    Returns:
        (held elsewhere: per person (bool); the positions in `people` of those who chose a
        platform, and the platform each chose (its position among `_switch_targets`' first plans)).
    """
    held_by_platform = platforms_held(others, people) if others and len(people) else {}
    held = np.any(list(held_by_platform.values()), axis=0) if held_by_platform else np.zeros(len(people), bool)
    held &= ~took
    none = np.empty(0, np.int64)
    candidates = np.flatnonzero(~took & ~held)
    _, firsts = _switch_targets(period, others)
    if not switch_prob or not firsts or not len(candidates):
        return held, none, none
    u = uniform_at(pool.population, Stream.CLOSURE_SWITCH, period, people[candidates])
    drawn = candidates[u < switch_prob]
    u_choice = (u[u < switch_prob] / switch_prob)[:, None]
    weights = np.stack([1.0 + first.population.member_neighbour_counts(people[drawn]) for first in firsts], axis=1)
    cumulative = np.cumsum(weights, axis=1)
    return held, drawn, (u_choice * cumulative[:, -1:] >= cumulative).sum(axis=1)


def join_chosen(people: np.ndarray, choice: np.ndarray, period: int, others: list) -> tuple[dict, np.ndarray]:
    """Those who chose a platform (`closure_choices`) enter the first of its plans taking
    members that admits them.

    Args:
        people: Who chose (agent indices, ascending).
        choice: The platform each chose (position among `_switch_targets`' first plans).
        period: This period.
        others: The open pools of the other platforms (not closing now), in model order.

    Returns:
        (the pools they joined, each with (joins, re-joins) (agents); per person, whether
        it joined one).
    """
    joined: dict = {}
    switched = np.zeros(len(people), dtype=bool)
    taking, firsts = _switch_targets(period, others)
    for k, first in enumerate(firsts):
        waiting = np.flatnonzero(choice == k)
        for plan in (other for other in taking if other.platform_key == first.platform_key):
            if not len(waiting):
                break
            admitted = waiting[plan.population.may_join(people[waiting], period)]
            if len(admitted):
                joined[plan] = (len(admitted), plan.population.enter(people[admitted], period))
                switched[admitted] = True
                waiting = np.setdiff1d(waiting, admitted, assume_unique=True)
    return joined, switched


def count_exit_destinations(pools: list) -> None:
    """Where each pool's voluntary leavers of this period are at its end, one destination
    a person, in this order: a member of another platform's plan (held already or joined
    this period), else holding commercial insurance, else neither; added to each pool's
    tally (`exits_to_other_platform`, `exits_to_insurance`, `exits_to_none`; agents)."""
    for pool in pools:
        leavers = pool.population.take_voluntary_leavers()
        others = [other for other in pools if other.platform_key != pool.platform_key]
        held = platforms_held(others, leavers) if others and len(leavers) else {}
        elsewhere = np.any(list(held.values()), axis=0) if held else np.zeros(len(leavers), bool)
        insured = ~elsewhere & pool.population.insured[leavers]
        pool.tally["exits_to_other_platform"] = int(np.count_nonzero(elsewhere))
        pool.tally["exits_to_insurance"] = int(np.count_nonzero(insured))
        pool.tally["exits_to_none"] = (
            len(leavers) - pool.tally["exits_to_other_platform"] - pool.tally["exits_to_insurance"]
        )


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
