"""Members fall ill, then decide whether to stay: one compiled pass over the members.

For each member the pass composes the rules of illness.py, valuation.py, sharing.py and
leaving.py (each written once, as a compiled ufunc) into its period: one uniform `u`
decides illness (`u < p_ill`: the covered claim, the waiting are refunded) and, for the
others, staying, with `u' = (u - p_ill) / (1 - p_ill)` (ODD 7.5). Both engines call it:
the vectorised engine with a chunk's members, the per-agent reference with one member.

Members are shared among threads by fixed blocks of agent indices
(model/threads.py), and the expected claims are summed block by block, so neither the
number of threads nor the chunk size changes a bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from huzhu.agents import illness, joining, leaving, sharing, valuation
from huzhu.agents.blocks import block_part, blocks_overlapping
from huzhu.agents.memberships import record_of
from huzhu.agents.states import ExitReason, State
from huzhu.model import pcg64dxsm
from huzhu.model.network import first_position, neighbour_of

#: Columns of the expected-claim sums, per block of agents.
EXPECTED = ("expected_claims", "expected_claims_family", "expected_benefits_cny")

_OUTSIDER, _WAITING = int(State.OUTSIDER), int(State.WAITING)
_COVERED, _EXITED = int(State.COVERED), int(State.EXITED)
_NONE, _CONTAGION = int(ExitReason.NONE), int(ExitReason.CONTAGION)
_CLAIM, _ILL_IN_WAITING, _CLOSURE = int(ExitReason.CLAIM), int(ExitReason.ILL_IN_WAITING), int(ExitReason.CLOSURE)

# The loops below allocate nothing, so they are compiled without Numba's reference
# counting: with it, every read of an array through the MemberArrays tuple inside a loop
# costs an atomic count (who may join over 10^6 agents on two threads: 14 ms with it,
# 0.4 ms without).
NO_REFERENCE_COUNTS = False

#: Codes of `decide_to_join`'s result.
STAYS_OUT, JOINS, JOINS_AND_ENROLS = 0, 1, 2


class PeriodValues(NamedTuple):
    """What every member's decision this period shares (model-level values).

    Attributes:
        period: This period (periods since the launch).
        recent_unit_share_cny, reference_unit_share_cny, jump: What members know of the
            charges (sharing.ChargeSignal; CNY per period, CNY per period, 1).
        cap_cny: Annual cap in force (CNY per year; inf when none).
        salience_rule: The salience stay rule is in force (else the constant one).
        loss_aversion: Extra weight on charges above the reference (1).
        price_attention, salience_attention: leaving.review_chance.
        closure_news: leaving.closure_news_hazard this period (per period).
        base_exit_hazard: Churn for reasons outside the model (per period).
        contagion_strength: Hazard increase per exited neighbour (1; 0 unless hazard contagion).
        threshold_contagion: Threshold contagion is in force.
        value_loading, insurance_substitution, affordability_share, probability_weighting:
            valuation.willingness_to_pay.
        marketing_hazard: This period's joining hazard from promotion (per period).
        word_of_mouth_rate: joining.join_probability.
        multi_homing_propensity: Multiplier on the joining propensity of one who is a
            member of another platform (1; 1: as anyone else, 0: never joins a second).
        adult_age_periods: Age from which agents decide for themselves (half months).
        min_age_periods, max_age_periods: The plan's age range, [min, max) (half months).
        admits_chronic: The plan admits those its health declaration finds with chronic
            conditions, and only them (else only those it finds healthy).
    """

    period: float
    recent_unit_share_cny: float
    reference_unit_share_cny: float
    jump: float
    cap_cny: float
    salience_rule: bool
    loss_aversion: float
    price_attention: float
    salience_attention: float
    closure_news: float
    base_exit_hazard: float
    contagion_strength: float
    threshold_contagion: bool
    value_loading: float
    insurance_substitution: float
    affordability_share: float
    probability_weighting: float
    marketing_hazard: float
    word_of_mouth_rate: float
    multi_homing_propensity: float
    adult_age_periods: float
    min_age_periods: float
    max_age_periods: float
    admits_chronic: bool


class MemberArrays(NamedTuple):
    """The population's arrays the pass reads (see `Population` for each one's unit), and
    this period's functions of membership duration and of age: each a rule of illness.py
    evaluated once a period at every duration or age it can take. The fields marked
    "per record" are indexed by an agent's record of the plan (`memberships.record_of`:
    `head`, `next_record`, `record_plan` and `plan` find it), the others by agent."""

    state: np.ndarray
    head: np.ndarray
    next_record: np.ndarray
    record_plan: np.ndarray
    plan: int
    exit_reason: np.ndarray  # per record
    exit_period: np.ndarray  # per record
    credit_pass: np.ndarray
    health_declined: np.ndarray
    age_periods: np.ndarray
    first_join_period: np.ndarray  # per record
    frailty: np.ndarray
    perceived_frailty: np.ndarray
    insured: np.ndarray
    income_cny: np.ndarray
    price_sensitivity: np.ndarray
    reviews_charges: np.ndarray
    exposure: np.ndarray
    enrolled_by_family: np.ndarray  # per record
    exited_neighbours: np.ndarray  # zeros when threshold contagion is not in force
    network_compact: bool  # the network's arrays (`NetworkArrays`): agent i has indptr[i + 1] - indptr[i] ties
    indptr: np.ndarray
    indices: np.ndarray
    offsets: np.ndarray
    far: np.ndarray
    far_before: np.ndarray
    contagion_threshold: np.ndarray  # zeros when threshold contagion is not in force
    incidence_by_age: np.ndarray
    benefit_by_age: np.ndarray
    weight_by_age: np.ndarray
    join_propensity_by_age: np.ndarray  # joining.join_propensity by age (half months), never / former members
    select_by_duration: np.ndarray  # this period's select factor by periods since the first join
    awareness_by_age: np.ndarray  # this period's claim awareness by age (half months)
    member_elsewhere: (
        np.ndarray
    )  # a member of another platform's plan now (bool, or empty; `Population.member_elsewhere`)


@njit(cache=True, inline="always")
def illness_probability(a, v, i):
    """Probability that member i falls ill this period and claims (0-1)."""
    age = a.age_periods[i]
    annual_risk = a.incidence_by_age[age] * np.float64(a.frailty[i])
    select = a.select_by_duration[int(v.period) - a.first_join_period[record_of(a, i)]]
    return illness.illness_probability(annual_risk, select, a.awareness_by_age[age])


@njit(cache=True, inline="always")
def price_pressure(a, v, i, paying):
    """Price pressure on agent i at the recent share (0-1); `paying`: a member who pays
    the charges weighs them against its reference under the salience rule."""
    age = a.age_periods[i]
    weight = a.weight_by_age[age]
    charge = sharing.expected_annual_charge(v.recent_unit_share_cny, weight, v.cap_cny)
    if paying and v.salience_rule:
        reference = sharing.expected_annual_charge(v.reference_unit_share_cny, weight, v.cap_cny)
        charge = valuation.reference_dependent_charge(charge, reference, v.loss_aversion)
    wtp = valuation.willingness_to_pay(
        a.incidence_by_age[age] * np.float64(a.perceived_frailty[i]),
        a.benefit_by_age[age],
        a.insured[i],
        np.float64(a.income_cny[i]),
        v.value_loading,
        v.insurance_substitution,
        v.affordability_share,
        v.probability_weighting,
    )
    return valuation.price_pressure(charge, wtp, np.float64(a.price_sensitivity[i]))


@njit(cache=True, inline="always")
def may_join(a, v, i):
    """Whether agent i may join now: an outsider, or one who left voluntarily before this
    period (not ill in the waiting period, not closed out); passes the credit screen and
    the plan's health declaration; of the plan's ages."""
    state = a.state[i]
    returning = False
    if state == _EXITED:  # a former member: its record says why and when it left
        r = record_of(a, i)
        reason = a.exit_reason[r]
        returning = reason != _ILL_IN_WAITING and reason != _CLOSURE and a.exit_period[r] < v.period
    age = a.age_periods[i]
    declared = a.health_declined[i] == v.admits_chronic  # the plan's health declaration admits it
    eligible = a.credit_pass[i] and declared and v.min_age_periods <= age < v.max_age_periods
    return (state == _OUTSIDER or returning) and eligible


@njit(cache=True, inline="always")
def member_neighbours(a, i):
    """How many of agent i's neighbours are members of the plan now (counted when asked:
    only those who may join and draw below `joining.join_probability_bound` ask)."""
    count = 0
    position = first_position(a, i)
    for k in range(a.indptr[i], a.indptr[i + 1]):
        j, position = neighbour_of(a, i, k, position)
        s = a.state[j]
        if s == _WAITING or s == _COVERED:
            count += 1
    return count


@njit(cache=True, inline="always")
def join_probability(a, v, i, uniform=-1.0):
    """Probability that adult i, who may join, joins this period (0-1).

    Given the agent's `uniform`, where that is at or above `joining.join_probability_bound`
    it returns the bound instead (the agent does not join at any price), without valuing
    the plan; the default -1 always gives the probability.
    """
    propensity = a.join_propensity_by_age[1 if record_of(a, i) >= 0 else 0, a.age_periods[i]]
    if a.member_elsewhere.size and a.member_elsewhere[i]:  # kept only where multi-homing is weighed
        propensity *= v.multi_homing_propensity
    # The bound at an all-member neighbourhood is at or above the bound at any share
    # (rounding is monotone): a uniform above it stays out before the members are counted.
    most = joining.join_probability_bound(v.marketing_hazard, v.word_of_mouth_rate, 1.0, propensity)
    if uniform >= most:
        return most
    degree = a.indptr[i + 1] - a.indptr[i]
    member_share = member_neighbours(a, i) / degree if degree > 0 else 0.0
    bound = joining.join_probability_bound(v.marketing_hazard, v.word_of_mouth_rate, member_share, propensity)
    if uniform >= bound:
        return bound
    attractiveness = 1.0 - price_pressure(a, v, i, False)
    return joining.join_probability(v.marketing_hazard, v.word_of_mouth_rate, member_share, attractiveness, propensity)


@njit(cache=True, inline="always")
def exit_reason(a, v, i, u_stay):
    """Why healthy member i leaves this period given its uniform `u_stay` (ExitReason code; NONE: stays)."""
    review = leaving.review_chance(
        v.salience_rule, v.price_attention, v.salience_attention, v.jump, a.reviews_charges[i], v.closure_news
    )
    other = v.base_exit_hazard
    exposure = np.float64(a.exposure[i])
    if u_stay >= leaving.exit_probability_bound(other, review, v.contagion_strength, exposure):
        reason = _NONE  # stays at any price: `draw_exits` would say so
    else:
        price = leaving.price_exit_hazard(review, price_pressure(a, v, i, True))
        contagion = leaving.contagion_exit_hazard(other, price, v.contagion_strength, exposure)
        reason = leaving.draw_exits(other, price, contagion, u_stay)
    if (
        reason == _NONE
        and v.threshold_contagion
        and leaving.threshold_exceeded(
            a.exited_neighbours[i], a.indptr[i + 1] - a.indptr[i], np.float64(a.contagion_threshold[i])
        )
    ):
        reason = _CONTAGION
    return reason


@njit(cache=True, inline="always")
def member_fate(a, v, i, u):
    """Member i's fate this period from its uniform `u`: ill if u < p_ill (CLAIM if
    covered, ILL_IN_WAITING if waiting), else `exit_reason` with the rescaled draw.

    Returns:
        (ExitReason code, NONE if it stays; its illness probability p_ill).
    """
    p_ill = illness_probability(a, v, i)
    if u < p_ill:
        return (_CLAIM if a.state[i] == _COVERED else _ILL_IN_WAITING), p_ill
    return exit_reason(a, v, i, (u - p_ill) / (1.0 - p_ill)), p_ill


@njit(cache=True, inline="always")
def add_expected(a, i, p_ill, claims, claims_family, benefits):
    """The expected-claim sums (`EXPECTED`) with covered member i, ill with probability
    `p_ill`, added: its claim, its claim if a relative enrolled it, its benefit."""
    return (
        claims + p_ill,
        claims_family + p_ill * a.enrolled_by_family[record_of(a, i)],
        benefits + p_ill * a.benefit_by_age[a.age_periods[i]],
    )


def _decide_blocks(a, v, members, u, block_starts, outcome, partial, first_block):
    for b in prange(block_starts.size - 1):
        row = partial[first_block + b]
        claims, claims_family, benefits = row[0], row[1], row[2]
        for k in range(block_starts[b], block_starts[b + 1]):
            i = members[k]
            outcome[k], p_ill = member_fate(a, v, i, u[k])
            if a.state[i] == _COVERED:
                claims, claims_family, benefits = add_expected(a, i, p_ill, claims, claims_family, benefits)
        row[0], row[1], row[2] = claims, claims_family, benefits


@njit(cache=True, parallel=True, _nrt=NO_REFERENCE_COUNTS)
def _decide_drawn(a, v, start, stop, block_agents, words, outcome, partial, exposure_decay):
    decays = exposure_decay != 1.0
    first_block, n_blocks = blocks_overlapping(start, stop, block_agents)
    for b in prange(n_blocks):
        block, low, high = block_part(first_block, b, start, stop, block_agents)
        draw_hi, draw_lo = pcg64dxsm.jump(words[0], words[1], words[2], words[3], low)
        row = partial[block]
        claims, claims_family, benefits = row[0], row[1], row[2]
        # Written through a local name: Numba 0.68's parallel loops drop stores made
        # through a tuple's attribute (`a.exposure[i] = ...`).
        exposure = a.exposure
        for i in range(low, high):
            if decays and exposure[i] != 0.0:  # most agents have seen no exit: nothing to decay or write
                exposure[i] *= exposure_decay
            s = a.state[i]
            if s != _WAITING and s != _COVERED:  # its draw is the joining pass's: only step past it
                draw_hi, draw_lo = pcg64dxsm.skip(draw_hi, draw_lo, words[2], words[3])
                outcome[i - start] = _NONE
                continue
            u, draw_hi, draw_lo = pcg64dxsm.next_double(draw_hi, draw_lo, words[2], words[3])
            outcome[i - start], p_ill = member_fate(a, v, i, u)
            if s == _COVERED:
                claims, claims_family, benefits = add_expected(a, i, p_ill, claims, claims_family, benefits)
        row[0], row[1], row[2] = claims, claims_family, benefits


def decide_drawn(
    a: MemberArrays,
    v: PeriodValues,
    start: int,
    stop: int,
    words: np.ndarray,
    partial: np.ndarray,
    block_agents: int,
    exposure_decay: float = 1.0,
) -> np.ndarray:
    """The fate of every member among agents start..stop-1, each drawing its uniform from
    the stream whose position-0 words are `words` (item i: agent i; model/pcg64dxsm.py),
    after every agent's exposure has decayed by `exposure_decay`.

    Args:
        a: The population's arrays.
        v: This period's model-level values.
        start, stop: The chunk of agents.
        words: `AgentStreams.words` of the membership stream this period.
        partial: Expected-claim sums per block of agents (`EXPECTED` columns), carried on
            in place: row b holds agents [b x block_agents, (b + 1) x block_agents).
        block_agents: Agents per block.
        exposure_decay: `leaving.exposure_decay` this period (1: none; applied in float32).

    Returns:
        Per agent of the chunk, its ExitReason code (CLAIM, ILL_IN_WAITING, an exit
        reason; NONE for a member who stays and for every non-member) (int8).
    """
    outcome = np.empty(stop - start, dtype=np.int8)
    if stop > start:
        _decide_drawn(
            a, v, int(start), int(stop), int(block_agents), words, outcome, partial, np.float32(exposure_decay)
        )
    return outcome


def _serial_and_parallel(body):
    """One loop body compiled twice, (on this thread, shared among threads): picked by
    size, since a parallel region costs more to start than a few agents' decisions."""
    return njit(cache=True, _nrt=NO_REFERENCE_COUNTS)(body), njit(cache=True, parallel=True, _nrt=NO_REFERENCE_COUNTS)(
        body
    )


_decide = _serial_and_parallel(_decide_blocks)
PARALLEL_FROM_MEMBERS = 1024


def decide(
    a: MemberArrays,
    v: PeriodValues,
    members: np.ndarray,
    u: np.ndarray,
    partial: np.ndarray,
    block_agents: int,
) -> np.ndarray:
    """Each member's fate this period: claim, refund, exit reason or none.

    Args:
        a: The population's arrays.
        v: This period's model-level values.
        members: Indices of the members deciding, ascending (int64).
        u: One uniform on [0, 1) per member.
        partial: Expected-claim sums per block of agents (`EXPECTED` columns), added to in
            place: row b holds agents [b x block_agents, (b + 1) x block_agents).
        block_agents: Agents per block.

    Returns:
        Per member, its ExitReason code (CLAIM, ILL_IN_WAITING, an exit reason, or NONE if
        it stays a member) (int8).
    """
    members = np.asarray(members, dtype=np.int64)
    outcome = np.empty(members.size, dtype=np.int8)
    if not members.size:
        return outcome
    first_block = int(members[0] // block_agents)
    last_block = int(members[-1] // block_agents)
    edges = np.arange(first_block, last_block + 2, dtype=np.int64) * block_agents
    block_starts = np.searchsorted(members, edges).astype(np.int64)
    _decide[members.size >= PARALLEL_FROM_MEMBERS](
        a, v, members, np.asarray(u, dtype=np.float64), block_starts, outcome, partial, first_block
    )
    return outcome


@njit(cache=True, inline="always")
def join_decision(a, v, i, u, family_enrolment_prob):
    """Whether agent i joins this period from its uniform `u`, and with a relative.

    An adult who may join joins if u < p_join (`join_probability`); a joiner enrols a
    relative if u / p_join < family_enrolment_prob, and u / (p_join x
    family_enrolment_prob), uniform on [0, 1), chooses whom (ODD 7.4).

    Returns:
        (STAYS_OUT, JOINS or JOINS_AND_ENROLS; the uniform that chooses the relative, or
        -1 when none is enrolled).
    """
    if a.age_periods[i] < v.adult_age_periods or not may_join(a, v, i):
        return STAYS_OUT, -1.0
    p_join = join_probability(a, v, i, u)
    if not u < p_join:
        return STAYS_OUT, -1.0
    u_family = u / p_join
    if u_family < family_enrolment_prob:
        return JOINS_AND_ENROLS, u_family / family_enrolment_prob
    return JOINS, -1.0


@njit(cache=True, parallel=True, _nrt=NO_REFERENCE_COUNTS)
def _decide_to_join_drawn(
    a, v, start, stop, block_agents, words, family_enrolment_prob, highest_propensity, decision, u_choice
):  # fmt: skip
    # Every agent's bound is at most the bound at an all-member neighbourhood and the
    # highest propensity (rounding is monotone), so a uniform at or above this one stays
    # out whoever draws it: most agents are decided without reading their state.
    stays_out_from = joining.join_probability_bound(v.marketing_hazard, v.word_of_mouth_rate, 1.0, highest_propensity)
    first_block, n_blocks = blocks_overlapping(start, stop, block_agents)
    for b in prange(n_blocks):
        _, low, high = block_part(first_block, b, start, stop, block_agents)
        draw_hi, draw_lo = pcg64dxsm.jump(words[0], words[1], words[2], words[3], low)
        for i in range(low, high):
            s = a.state[i]
            if s == _WAITING or s == _COVERED:  # a member does not join: its draw was the member pass's
                draw_hi, draw_lo = pcg64dxsm.skip(draw_hi, draw_lo, words[2], words[3])
                decision[i - start] = STAYS_OUT
                continue
            u, draw_hi, draw_lo = pcg64dxsm.next_double(draw_hi, draw_lo, words[2], words[3])
            if u >= stays_out_from:
                decision[i - start] = STAYS_OUT
                continue
            decided, u_relative = join_decision(a, v, i, u, family_enrolment_prob)
            decision[i - start] = decided
            if decided == JOINS_AND_ENROLS:  # a few a period: the other entries are never read
                u_choice[i - start] = u_relative


def decide_to_join(
    a: MemberArrays, v: PeriodValues, start: int, stop: int, words: np.ndarray, family_enrolment_prob: float,
    block_agents: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Agents start..stop-1 decide whether to join (`join_decision`), each drawing its
    uniform from the stream whose position-0 words are `words` (item i: agent i).

    Returns:
        (decision, u_choice): per agent STAYS_OUT, JOINS or JOINS_AND_ENROLS (int8); the
        uniform that chooses the relative (set only where JOINS_AND_ENROLS).
    """
    decision = np.empty(stop - start, dtype=np.int8)
    u_choice = np.empty(stop - start)
    if stop > start:
        _decide_to_join_drawn(
            a, v, int(start), int(stop), int(block_agents), words, family_enrolment_prob,
            float(a.join_propensity_by_age.max()), decision, u_choice,
        )  # fmt: skip
    return decision, u_choice


def _may_join_body(a, v, agents, out):
    for k in prange(agents.size):
        out[k] = may_join(a, v, agents[k])


def _price_pressures_body(a, v, agents, paying, out):
    for k in prange(agents.size):
        out[k] = price_pressure(a, v, agents[k], paying)


def _join_probabilities_body(a, v, agents, out):
    for k in prange(agents.size):
        out[k] = join_probability(a, v, agents[k])


def _member_neighbours_body(a, agents, out):
    for k in prange(agents.size):
        out[k] = member_neighbours(a, agents[k])


def _illness_probabilities_body(a, v, agents, out):
    for k in prange(agents.size):
        out[k] = illness_probability(a, v, agents[k])


_price_pressures = _serial_and_parallel(_price_pressures_body)
_join_probabilities = _serial_and_parallel(_join_probabilities_body)
_illness_probabilities = _serial_and_parallel(_illness_probabilities_body)
_may_join = _serial_and_parallel(_may_join_body)
_member_neighbours = _serial_and_parallel(_member_neighbours_body)


def member_neighbours_each(a: MemberArrays, agents: np.ndarray) -> np.ndarray:
    """`member_neighbours` of each agent in `agents` (int32)."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    out = np.empty(agents.size, dtype=np.int32)
    _member_neighbours[agents.size >= PARALLEL_FROM_MEMBERS](a, agents, out)
    return out


def may_join_each(a: MemberArrays, v: PeriodValues, agents: np.ndarray) -> np.ndarray:
    """`may_join` of each agent in `agents` (bool)."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    out = np.empty(agents.size, dtype=np.bool_)
    _may_join[agents.size >= PARALLEL_FROM_MEMBERS](a, v, agents, out)
    return out


def price_pressures(a: MemberArrays, v: PeriodValues, agents: np.ndarray, paying: bool) -> np.ndarray:
    """`price_pressure` of each agent in `agents` (0-1); `paying`: members weighing what they pay."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    out = np.empty(agents.size)
    _price_pressures[agents.size >= PARALLEL_FROM_MEMBERS](a, v, agents, paying, out)
    return out


def illness_probabilities(a: MemberArrays, v: PeriodValues, agents: np.ndarray) -> np.ndarray:
    """`illness_probability` of each agent in `agents` this period (0-1)."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    out = np.empty(agents.size)
    _illness_probabilities[agents.size >= PARALLEL_FROM_MEMBERS](a, v, agents, out)
    return out


def join_probabilities(a: MemberArrays, v: PeriodValues, agents: np.ndarray) -> np.ndarray:
    """`join_probability` of each agent in `agents` this period (0-1)."""
    agents = np.atleast_1d(np.asarray(agents, dtype=np.int64))
    out = np.empty(agents.size)
    _join_probabilities[agents.size >= PARALLEL_FROM_MEMBERS](a, v, agents, out)
    return out
