"""Everyone in the eligible population, member or not, as compact typed arrays.

Traits and state of agent i live at index i of each array; `MemberAgent` objects are
views onto these. Each period's decisions are applied to all agents by the methods
below, chunk by chunk, with no Python loop over agents; they call the rule functions of
joining, leaving, illness, valuation, sharing and cross_sell, and write no rule
themselves. Every random draw comes from an addressed stream (model/streams.py), so
results do not depend on the chunk size.

Ages are whole half-month periods (int16): age in years is `age_periods / 24`, exact,
and an age threshold of a years applies from the first half month at or above it.
Functions of age (incidence, benefit, sharing weight) are evaluated once on that grid.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numba import njit
from scipy.special import ndtr, ndtri

from huzhu.agents import (
    ageing,
    charge_pass,
    illness,
    insurance_pass,
    joining,
    leaving,
    member_pass,
    sharing,
    valuation,
    waiting,
)
from huzhu.agents import census as census_totals
from huzhu.agents.blocks import partial_sums
from huzhu.agents.census import sum_blocks_in_order
from huzhu.agents.memberships import NO_PERIOD, Memberships
from huzhu.agents.neighbour_counts import add_to_neighbours
from huzhu.agents.sharing import ChargeSignal
from huzhu.agents.states import IS_SIGNAL_EXIT, IS_VOLUNTARY_EXIT, ExitReason, State
from huzhu.model import demography
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.network import CompactNetwork, CSRNetwork, network_arrays
from huzhu.model.streams import AgentStreams, Stream
from huzhu.model.threads import BLOCK_AGENTS

_NO_WORDS = np.zeros(4, dtype=np.uint64)  # a pass that draws nothing reads no generator
#: Person-level arrays: the same in every plan of a model (`Population.another_plan`).
_TRAITS = (
    "age_periods", "income_cny", "frailty", "perceived_frailty", "price_sensitivity", "credit_pass",
    "health_declined", "reviews_charges", "considering", "insured",
)  # fmt: skip
HOMOPHILY_AGE_BAND_YEARS = 5.0  # ties of the homophilous network stay mostly within 5-year age bands
# Agents per chunk: each chunk costs every pass a call (about 70 microseconds: dispatch and
# starting the threads) and holds a few bytes an agent of temporaries (12 MB at this size),
# so 10^6 agents are one chunk; 10^6 agents at 2^16 took a fifth longer on 2 cores.
DEFAULT_CHUNK_SIZE = 1 << 20


def age_threshold_periods(age_years: float) -> int:
    """First whole half-month age at or above `age_years`."""
    return int(np.ceil(age_years * PERIODS_PER_YEAR - 1e-9))


class _People:
    """What a model's plans keep once for their people, who are the same.

    Attributes:
        count_type: The integer type of counts over a person's neighbours kept per plan
            (the exited neighbours of threshold contagion): the narrowest that holds the
            largest degree, one byte with the default network, not four.
        age_order: Agents sorted by age (int32), built on the first generation choice.
    """

    def __init__(self, count_type: type):
        self.count_type = count_type
        self.age_order: np.ndarray | None = None


def _count_type(max_degree: int) -> type:
    """The narrowest signed integer type that holds counts up to `max_degree`."""
    return next(t for t in (np.int8, np.int16, np.int32) if max_degree <= np.iinfo(t).max)


def _record_field(name: str) -> property:
    """A field of the membership records read as an array over every agent (a read-only
    copy: writing to it would change nothing)."""

    def every_agent(self) -> np.ndarray:
        values = self.member_values(name)
        values.flags.writeable = False
        return values

    every_agent.__doc__ = f"`{name}` of every agent (read-only copy; `member_values`)."
    return property(every_agent)


class Population:
    """Traits and state of all agents, and the vectorised period processes.

    Attributes (arrays of length n_agents unless said):
        age_periods: Age in whole half months (int16).
        income_cny: Annual income (CNY per year, float32).
        frailty: Private risk multiplier, mean 1 (float32).
        perceived_frailty: The agent's belief about its frailty (float32).
        price_sensitivity: Slope of `valuation.price_pressure` (float32).
        credit_pass: Passes the credit screen (bool).
        health_declined: Kept out by the health declaration (bool).
        reviews_charges: Ever weighs a charge deducted by default (bool; salience stay rule).
        contagion_threshold: Exit threshold of the threshold model (float32; None under
            other contagion models).
        state: `State` code towards this plan (int8).
        considering / insured: Considers / holds commercial insurance (bool).
        memberships: The records of those who have joined (`Memberships`, shared by the
            plans of a model), this plan's found by `plan_number`; read per person as
            the arrays below (copies, read-only), or `member_values`:
        exit_reason: `ExitReason` of the last membership that ended (int8).
        join_period / exit_period: Period of the last join / exit, NO_PERIOD if none (int16).
        first_join_period: Period of the first join, NO_PERIOD if none (int16): the select
            effect of the health declaration runs from it, so re-joining does not reset it.
        enrolled_by_family: A relative enrolled the agent at its last join (bool).
        contributions_cny: Shares paid over the run, per person (CNY, float64).
        paid_this_year_cny: Shares paid this calendar year, per person (CNY, float64).
        paid_this_membership_cny: Shares paid since the last join (CNY, float64): the
            refund on illness in the waiting period.
        exposure: Decayed count of neighbours who left for the price or after others
            left (`SIGNAL_EXIT_REASONS`; float32; hazard contagion).
        member_neighbours: Neighbours who are members now (counted from their states when
            asked, not stored; int32).
        exited_neighbours: Neighbours out after a signal exit (the narrowest of int8, int16
            and int32 that holds the largest degree; None unless
            threshold contagion).
        member_elsewhere: Is a member of another platform's plan now (bool; empty, read as
            all False, unless a market model with `multi_homing_propensity` other than 1
            calls `track_members_elsewhere` and sets it before and during the joining passes).
        oldest_age_periods: People age up to this age (half months): the plan's maximum
            age, or in a model of several plans the oldest any of them admits.
        launch_period: Model period in which the plan opens (its marketing and its
            members' claim awareness run from it, and its streams are addressed by periods
            since it: the modelled plan draws the same numbers in a market model as alone).
        admits_chronic: The plan admits only those its health declaration finds with
            chronic conditions (else only those it finds healthy).
        people_step: Whether this plan's last pass ages people and runs the insurance
            funnel (the model's first plan) or only checks the plan's maximum age.
    """

    def __init__(
        self,
        params: dict,
        streams: AgentStreams,
        traits: dict,
        network_builder,
        chunk_size: int,
        *,
        oldest_age_years: float | None = None,
        launch_period: int = 0,
        people_step: bool = True,
        admits_chronic: bool = False,
        memberships: Memberships | None = None,
        people: _People | None = None,
    ):
        _check_chunk_size(chunk_size)
        p = self.params = params
        self.streams = streams
        self.chunk_size = chunk_size
        self.launch_period = launch_period
        self.people_step = people_step
        self.admits_chronic = admits_chronic
        self.age_periods = traits["age_periods"]
        self.income_cny = traits["income_cny"]
        self.frailty = traits["frailty"]
        self.perceived_frailty = traits["perceived_frailty"]
        self.price_sensitivity = traits["price_sensitivity"]
        self.credit_pass = traits["credit_pass"]
        self.health_declined = traits["health_declined"]
        self.reviews_charges = traits["reviews_charges"]
        self.considering = traits["considering"]
        self.insured = traits["insured"]
        threshold_model = p["contagion_model"] == "threshold"
        self.contagion_threshold = traits.get("contagion_threshold") if threshold_model else None
        n = len(self.age_periods)
        self.network: CSRNetwork | CompactNetwork = network_builder(n)
        self._network_arrays = network_arrays(self.network)
        self.min_age_periods = age_threshold_periods(p["min_age_years"])
        self.max_age_periods = age_threshold_periods(p["max_age_years"])
        self.oldest_age_periods = age_threshold_periods(
            p["max_age_years"] if oldest_age_years is None else oldest_age_years
        )
        if self.oldest_age_periods < self.max_age_periods:
            raise ValueError(
                f"oldest_age_years={oldest_age_years} is below the plan's max_age_years={p['max_age_years']}"
            )
        self.adult_age_periods = age_threshold_periods(p["adult_age_years"])
        self.state = np.full(n, State.OUTSIDER, dtype=np.int8)
        self.state[self.age_periods >= self.max_age_periods] = State.AGED_OUT
        self.memberships = Memberships(n) if memberships is None else memberships
        self.plan_number = self.memberships.add_plan()
        self.exposure = np.zeros(n, dtype=np.float32)
        self._voluntary_leavers: list[np.ndarray] = []  # this period's, until `take_voluntary_leavers`
        counts = _count_type(self.network.max_degree) if people is None else people.count_type
        self.exited_neighbours = np.zeros(n, dtype=counts) if threshold_model else None
        self.member_weight_total = 0.0  # sum of members' sharing weights, kept by `census`
        self.member_elsewhere = np.zeros(0, dtype=bool)
        self._people = _People(counts) if people is None else people  # shared by the model's plans
        self.closure_news_periods = np.empty(0, dtype=np.int64)  # other platforms' closures, set by the model
        self._tables_period = None  # the period whose tables `_period_tables` holds
        self._tabulate_age_functions()

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls,
        params: dict,
        streams: AgentStreams,
        network_builder,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        oldest_age_years: float | None = None,
        age_shift_periods: int = 0,
        launch_period: int = 0,
    ):
        """Draw every agent's traits, chunk by chunk, then build the network.

        Args:
            params: Resolved model parameters.
            streams: The run's addressed random streams.
            network_builder: Callable(n_agents) -> CSRNetwork over agents in index order.
            chunk_size: Agents per chunk; results do not depend on it.
            oldest_age_years: People are drawn, and age, below this age (years); the
                plan's `max_age_years` if None. A model of several plans draws its people
                up to the oldest age any plan admits.
            age_shift_periods: Ages are drawn as they are this many periods after the
                start (half months): a market model, starting before the modelled plan's
                launch, draws the people as they are at that launch, so the modelled plan
                meets the same age pyramid as in a one-plan model. One younger than the
                shift is not yet born at the start (a negative age), joins nothing and
                counts nowhere until it has reached the plan's minimum age.
            launch_period: The model period in which the plan opens.
        """
        _check_chunk_size(chunk_size)
        p = params
        n = p["n_agents"]
        traits = {
            "age_periods": np.empty(n, np.int16),
            "income_cny": np.empty(n, np.float32),
            "frailty": np.empty(n, np.float32),
            "perceived_frailty": np.empty(n, np.float32),
            "price_sensitivity": np.empty(n, np.float32),
            "credit_pass": np.empty(n, bool),
            "health_declined": np.empty(n, bool),
            "reviews_charges": np.empty(n, bool),
            "considering": np.empty(n, bool),
            "insured": np.empty(n, bool),
        }
        if p["contagion_model"] == "threshold":  # kept only under the threshold model
            traits["contagion_threshold"] = np.empty(n, np.float32)
        heterogeneous = p["risk_heterogeneity"] == "age_and_frailty"
        sigma, sigma_p = p["frailty_sigma"], p["risk_perception_sigma"]
        # The frailty quantile is analytic for a lognormal: no pass over the data needed.
        condition_frailty = np.exp(sigma * ndtri(p["health_screen_frailty_quantile"]) - sigma**2 / 2)
        max_age_periods = age_threshold_periods(p["max_age_years"] if oldest_age_years is None else oldest_age_years)
        for start, stop in _chunks(n, chunk_size):

            def draw(stream, start=start, stop=stop):
                return streams.uniforms(stream, 0, start, stop)

            def normal(stream, start=start, stop=stop):
                return streams.normals(stream, 0, start, stop)

            s = slice(start, stop)
            traits["age_periods"][s] = (
                demography.draw_age_periods(draw(Stream.AGE), p["age_pyramid"], max_age_periods, PERIODS_PER_YEAR)
                - age_shift_periods
            )
            income = p["income_median_cny"] * np.exp(p["income_sigma"] * normal(Stream.INCOME))
            traits["income_cny"][s] = income
            frailty = np.exp(sigma * normal(Stream.FRAILTY) - sigma**2 / 2) if heterogeneous else np.ones(stop - start)
            traits["frailty"][s] = frailty
            traits["perceived_frailty"][s] = frailty * np.exp(sigma_p * normal(Stream.PERCEPTION) - sigma_p**2 / 2)
            relative_income = income / p["income_median_cny"]
            traits["price_sensitivity"][s] = p["price_sensitivity"] * relative_income ** (
                -p["price_sensitivity_income_elasticity"]
            )
            traits["credit_pass"][s] = draw(Stream.CREDIT) < p["credit_pass_rate"]
            has_condition = (frailty > condition_frailty) if heterogeneous else np.zeros(stop - start, bool)
            traits["health_declined"][s] = has_condition & (
                draw(Stream.HEALTH_SCREEN) < p["health_screen_effectiveness"]
            )
            traits["reviews_charges"][s] = draw(Stream.ATTENTION) >= p["inattentive_share"]
            if "contagion_threshold" in traits:
                traits["contagion_threshold"][s] = _truncated_normal(
                    draw(Stream.THRESHOLD), p["contagion_threshold_mean"], p["contagion_threshold_sd"]
                )
            traits["considering"][s] = draw(Stream.CONSIDERING) < p["consider_prob_initial"]
            traits["insured"][s] = draw(Stream.INSURED) < p["insured_prob_initial"]
        if p["network_type"] == "homophilous":
            order = _homophilous_order(traits, p, streams, chunk_size)
            for name, values in traits.items():
                traits[name] = values[order]
        return cls(
            p, streams, traits, network_builder, chunk_size, oldest_age_years=oldest_age_years,
            launch_period=launch_period,
        )  # fmt: skip

    def another_plan(
        self, params: dict, streams: AgentStreams, launch_period: int, admits_chronic: bool = False
    ) -> Population:
        """The same people towards another plan: traits, ages, insurance and the network
        are this population's arrays (shared, not copied); membership is the plan's own.

        Args:
            params: The plan's resolved parameters (its ages, benefits, wait, fee, ...).
            streams: The plan's own random streams (its members' decisions are its own).
            launch_period: The model period in which the plan opens.
            admits_chronic: The plan admits those with chronic conditions, and only them
                (`member_pass.may_join`).
        """
        traits = {name: getattr(self, name) for name in _TRAITS}
        if self.contagion_threshold is not None:
            traits["contagion_threshold"] = self.contagion_threshold
        return type(self)(
            params, streams, traits, lambda n: self.network, self.chunk_size,
            oldest_age_years=self.oldest_age_periods / PERIODS_PER_YEAR, launch_period=launch_period,
            people_step=False, admits_chronic=admits_chronic, memberships=self.memberships, people=self._people,
        )  # fmt: skip

    def _tabulate_age_functions(self) -> None:
        """Incidence, benefit, sharing weight and joining propensity (of those never and
        those once members) at every half-month age (rules evaluated once)."""
        p = self.params
        grid_years = np.arange(self.oldest_age_periods + 1) / PERIODS_PER_YEAR
        incidence = illness.annual_risk(grid_years, 1.0, p["covered_illness_factor"])
        if p["risk_heterogeneity"] == "none":
            # Everyone carries the population's mean risk at the start, whatever the age.
            counts = np.zeros(len(grid_years), np.int64)
            for start, stop in self.chunks():
                ages = self.age_periods[start:stop]
                counts += np.bincount(ages[ages >= 0], minlength=len(grid_years))
            incidence = np.full(len(grid_years), (counts * incidence).sum() / counts.sum())
        self.incidence_by_age = incidence
        self.benefit_by_age = valuation.benefit_cny(
            grid_years, p["benefit_young_cny"], p["benefit_old_cny"], p["benefit_age_split_years"]
        )
        self.weight_by_age = sharing.sharing_weights(p["sharing_rule"], grid_years)
        adult_years = self.adult_age_periods / PERIODS_PER_YEAR
        self.join_propensity_by_age = np.stack([
            joining.join_propensity(grid_years, adult_years, p["join_age_gradient"], former, p["rejoin_propensity"])
            for former in (False, True)
        ])  # fmt: skip

    # ------------------------------------------------------------------ views
    @property
    def n_agents(self) -> int:
        return len(self.state)

    @property
    def age_years(self) -> np.ndarray:
        """Age (years), computed from `age_periods`."""
        return self.age_periods / PERIODS_PER_YEAR

    @property
    def nbytes(self) -> int:
        """Memory held by the agent arrays, the membership records (every plan's, with
        their room to grow) and the network (bytes)."""
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        people = self._people.age_order.nbytes if self._people.age_order is not None else 0
        return sum(a.nbytes for a in arrays) + people + self.memberships.nbytes + self.network.nbytes

    @property
    def plan_nbytes(self) -> int:
        """Memory held by this plan's own arrays, those not shared with another plan's
        population (bytes): every array but the people's traits, the network and the
        membership records (one store for all plans)."""
        shared = {id(getattr(self, name)) for name in _TRAITS}
        if self.contagion_threshold is not None:
            shared.add(id(self.contagion_threshold))
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray) and id(v) not in shared]
        return sum(a.nbytes for a in arrays)

    @property
    def member_neighbours(self) -> np.ndarray:
        """Neighbours of every agent who are members of the plan now (int32; counted)."""
        return self.member_neighbour_counts(np.arange(self.n_agents))

    def member_neighbour_counts(self, idx) -> np.ndarray:
        """Neighbours of each agent at `idx` who are members of the plan now (int32;
        `member_pass.member_neighbours`)."""
        return member_pass.member_neighbours_each(self.member_arrays(self.launch_period), idx)

    def track_members_elsewhere(self) -> None:
        """Keep `member_elsewhere` for every agent (a market model whose members weigh
        their other platforms' plans when they join)."""
        self.member_elsewhere = np.zeros(self.n_agents, dtype=bool)

    def records(self, idx) -> np.ndarray:
        """This plan's record of each agent at `idx` (-1 for one who has never joined; int64)."""
        return self.memberships.records_of(self.plan_number, idx)

    def member_values(self, name: str, idx=slice(None)) -> np.ndarray:
        """Field `name` of the membership records (`memberships.FIELDS`) of the agents at
        `idx`, as a dense array over them would hold it (a copy)."""
        people = np.arange(self.n_agents)[idx] if isinstance(idx, slice) else idx
        values = self.memberships.values(self.plan_number, name, people)
        return values if np.ndim(people) else values[0]

    join_period = _record_field("join_period")
    exit_period = _record_field("exit_period")
    first_join_period = _record_field("first_join_period")
    exit_reason = _record_field("exit_reason")
    enrolled_by_family = _record_field("enrolled_by_family")
    contributions_cny = _record_field("contributions_cny")
    paid_this_year_cny = _record_field("paid_this_year_cny")
    paid_this_membership_cny = _record_field("paid_this_membership_cny")

    @property
    def degree(self) -> np.ndarray:
        """Ties of each agent (int32), computed from the network when asked (not kept)."""
        return self.network.degree

    def chunks(self) -> Iterator[tuple[int, int]]:
        """(start, stop) of each chunk of agents."""
        return _chunks(self.n_agents, self.chunk_size)

    def is_member(self, idx=slice(None)) -> np.ndarray:
        """Waiting or covered (bool)."""
        state = self.state[idx]
        return (state == State.WAITING) | (state == State.COVERED)

    def in_age_range(self, idx=slice(None)) -> np.ndarray:
        age = self.age_periods[idx]
        return (age >= self.min_age_periods) & (age < self.max_age_periods)

    def alive(self, idx=slice(None)) -> np.ndarray:
        """Of age, not paid a benefit and not past the maximum age (bool): those counted
        among the eligible population and the insurance funnel."""
        state = self.state[idx]
        return (state != State.CLAIMED) & (state != State.AGED_OUT) & (self.age_periods[idx] >= self.min_age_periods)

    def waiting_is_over(self, i: int, period: int) -> bool:
        """Whether agent i is a waiting member whose waiting period has ended by `period`
        (`waiting.waiting_is_over`)."""
        return bool(
            waiting.waiting_is_over(
                int(self.state[i]),
                int(self.member_values("join_period", i)),
                int(period),
                int(self.params["waiting_periods"]),
            )
        )

    def annual_risk(self, idx=slice(None)) -> np.ndarray:
        """True (ultimate) annual risk of the agents at `idx` (per year; 0 for one not yet born)."""
        return self.incidence_by_age[self._born_age(idx)] * self.frailty[idx] * (self.age_periods[idx] >= 0)

    def perceived_annual_risk(self, idx=slice(None)) -> np.ndarray:
        """The agents' belief about their annual risk (per year; 0 for one not yet born)."""
        return self.incidence_by_age[self._born_age(idx)] * self.perceived_frailty[idx] * (self.age_periods[idx] >= 0)

    def benefit_cny(self, idx) -> np.ndarray:
        """Benefit the agents at `idx` would be paid if approved now (CNY)."""
        return self.benefit_by_age[self._born_age(idx)]

    def _born_age(self, idx) -> np.ndarray:
        """Ages at `idx` as table indices: one not yet born (a negative age in a market
        model's early periods) reads the table at age 0, never from its end."""
        return np.maximum(self.age_periods[idx], 0)

    def _check_born(self, idx, period: int) -> None:
        """The compiled rules read tables at an agent's age and its plan's time since launch:
        refuse an agent not yet born, or a period before the plan's launch."""
        if np.any(self.age_periods[idx] < 0):
            raise ValueError("an agent asked about is not yet born (a negative age): the rules do not apply to it")
        if period < self.launch_period:
            raise ValueError(f"period {period} is before the plan's launch (period {self.launch_period})")

    def price_pressure(self, idx, signal: ChargeSignal, cap_cny: float, paying: bool) -> np.ndarray:
        """Price pressure on the agents at `idx` at the recent share (0-1; `member_pass.price_pressure`).

        Args:
            idx: Agent indices.
            signal: What the agents know of the charges.
            cap_cny: Annual cap in force (CNY per year).
            paying: The agents are members who pay the charges: under the salience rule
                they weigh them against their reference (loss aversion); those deciding to
                join have paid nothing to compare with.
        """
        self._check_born(idx, self.launch_period)
        return member_pass.price_pressures(
            self.member_arrays(self.launch_period), self.period_values(self.launch_period, signal, cap_cny),
            np.asarray(idx), paying,
        )  # fmt: skip

    def illness_probability(self, idx, period: int) -> np.ndarray:
        """Probability that the members at `idx` fall ill in `period` and claim (0-1;
        `member_pass.illness_probability`)."""
        self._check_born(idx, period)
        return member_pass.illness_probabilities(
            self.member_arrays(period), self.period_values(period, ChargeSignal(), np.inf), np.asarray(idx)
        )

    def may_join(self, idx, period: int) -> np.ndarray:
        """Who may join now (bool; `member_pass.may_join`): outsiders, or those who left
        voluntarily before this period (not ill in the waiting period, not closed out),
        eligible and of age."""
        arrays, values = self.member_arrays(period), self.period_values(period, ChargeSignal(), np.inf)
        if isinstance(idx, slice):
            # A chunk of indices at a time: every agent's index at once would take 8 bytes an agent.
            start, stop, step = idx.indices(self.n_agents)
            may = np.empty(len(range(start, stop, step)), dtype=bool)
            for first in range(0, may.size, self.chunk_size):
                part = np.arange(first, min(first + self.chunk_size, may.size)) * step + start
                may[first : first + part.size] = member_pass.may_join_each(arrays, values, part)
            return may
        may = member_pass.may_join_each(arrays, values, idx)
        return may if np.ndim(idx) else bool(may[0])

    def join_probability(self, idx, period: int, signal: ChargeSignal, cap_cny: float) -> np.ndarray:
        """Probability that the adults at `idx`, who may join, join this period (0-1;
        `member_pass.join_probability`)."""
        self._check_born(idx, period)
        return member_pass.join_probabilities(
            self.member_arrays(period), self.period_values(period, signal, cap_cny), np.asarray(idx)
        )

    # ------------------------------------------------------------------ transitions
    def enter(self, idx: np.ndarray, period: int, by_family: bool = False) -> int:
        """Agents at `idx` join: a new waiting period starts, also for those who were
        members before (they declare their health again and wait 90 days again).

        Args:
            idx: Agents joining.
            period: This period.
            by_family: Whether a relative enrolled them (else they joined by their own
                decision); kept until they join again.

        Returns:
            How many of them were members before (re-joins; agents).
        """
        m = self.memberships
        records = m.open(self.plan_number, idx)
        returning = m.first_join_period[records] != NO_PERIOD
        if self.exited_neighbours is not None:
            signalled = idx[(self.state[idx] == State.EXITED) & IS_SIGNAL_EXIT[m.exit_reason[records]]]
            self._add_to_neighbours(self.exited_neighbours, signalled, -1)
        self.state[idx] = State.WAITING
        m.join_period[records] = period
        m.first_join_period[records[~returning]] = period
        m.paid_this_membership_cny[records] = 0.0
        m.enrolled_by_family[records] = by_family
        return int(np.count_nonzero(returning))

    def take_over(self, idx: np.ndarray, period: int, first_join_period: np.ndarray) -> None:
        """Members of another plan of the platform move here covered, without a new wait
        or health declaration (the elderly plan's transfer at its youngest age).

        Args:
            idx: Agents moving here, none of them a member here.
            period: This period.
            first_join_period: Each one's first join of the plan it leaves (periods): the
                select effect of its health declaration runs from then, not from now.
        """
        m = self.memberships
        records = m.open(self.plan_number, idx)
        if self.exited_neighbours is not None:
            signalled = idx[(self.state[idx] == State.EXITED) & IS_SIGNAL_EXIT[m.exit_reason[records]]]
            self._add_to_neighbours(self.exited_neighbours, signalled, -1)
        self.state[idx] = State.COVERED
        m.join_period[records] = period
        m.first_join_period[records] = np.where(
            m.first_join_period[records] == NO_PERIOD, first_join_period, m.first_join_period[records]
        )
        m.paid_this_membership_cny[records] = 0.0
        m.enrolled_by_family[records] = False

    def leave(self, idx: np.ndarray, reason: ExitReason | np.ndarray, period: int) -> None:
        """Members at `idx` leave for `reason` (one code, or one per member)."""
        if not np.size(idx):
            return
        reason = np.broadcast_to(np.asarray(reason, dtype=np.int8), np.shape(idx))
        new_state = np.where(
            reason == ExitReason.CLAIM,
            np.int8(State.CLAIMED),
            np.where(reason == ExitReason.AGED_OUT, np.int8(State.AGED_OUT), np.int8(State.EXITED)),
        )
        self.state[idx] = new_state
        records = self.records(idx)  # every leaver has one: it was a member
        self.memberships.exit_reason[records] = reason
        self.memberships.exit_period[records] = period
        voluntary = idx[IS_VOLUNTARY_EXIT[reason]]
        if voluntary.size:
            self._voluntary_leavers.append(np.asarray(voluntary, dtype=np.int64))
        signalled = idx[IS_SIGNAL_EXIT[reason]]
        self.hear_of_departures(signalled, 1.0)
        if self.exited_neighbours is not None:
            self._add_to_neighbours(self.exited_neighbours, signalled, 1)

    def take_voluntary_leavers(self) -> np.ndarray:
        """Who has left for the price, after others or for other reasons since the last
        call (agent indices, ascending; each once a period, as a leaver is out until it
        rejoins in a later period), and forget them."""
        leavers = np.sort(np.concatenate(self._voluntary_leavers)) if self._voluntary_leavers else np.empty(0, np.int64)
        self._voluntary_leavers = []
        return leavers

    def hear_of_departures(self, idx: np.ndarray, weight: float) -> None:
        """The neighbours of the agents at `idx` hear that they left: each adds `weight`
        recent exits to its exposure (the hazard contagion's; decayed in the members' pass)."""
        self._add_to_neighbours(self.exposure, idx, np.float32(weight))

    def _add_to_neighbours(self, counts: np.ndarray, idx: np.ndarray, value) -> None:
        """Add `value` to `counts` at every neighbour of the agents at `idx`
        (`neighbour_counts.add_to_neighbours`: no list of all their neighbours is built)."""
        add_to_neighbours(self.network, counts, idx, value)

    # ------------------------------------------------------------------ period processes
    def charge_shares(self, unit_share_cny: float, cap_cny: float, new_year: bool) -> tuple[float, float, int]:
        """Charge every member its share of the period's costs, within the annual cap.

        Args:
            unit_share_cny: Share per unit of sharing weight (CNY per person).
            cap_cny: Annual cap in force (CNY per person per year; inf when none).
            new_year: The period opens a calendar year (year-to-date totals reset first).

        Returns:
            (asked, charged, sharers): sums over members of what was asked and what was
            paid (CNY per person, not yet scaled to people) and the number of members.
        """
        partial = partial_sums(self.n_agents, len(charge_pass.SUMS))
        for start, stop in self.chunks():
            charge_pass.charge(self, start, stop, unit_share_cny, cap_cny, new_year, partial)
        asked_total, charged_total, sharers = sum_blocks_in_order(partial).tolist()
        return asked_total, charged_total, int(sharers)

    def complete_waiting_periods(self, period: int) -> None:
        """Waiting members whose waiting period is over become covered (`waiting`)."""
        waiting.complete_waiting_periods(
            self.state, self.memberships.links(self.plan_number), self.memberships.join_period, period,
            self.params["waiting_periods"],
        )  # fmt: skip

    def fall_ill_then_decide_to_stay(self, period: int, signal: ChargeSignal, cap_cny: float) -> dict:
        """Members fall ill (covered: paid; waiting: refunded, out for good); the others
        weigh charges, churn and neighbours' exits, and some leave (`member_pass`).

        One uniform per member drives both: ill if u < p_ill; otherwise the staying
        decision uses (u - p_ill) / (1 - p_ill), uniform and independent of the illness
        draw. No member's staying depends on another's illness, so this equals the two
        steps one after the other.

        Returns:
            {"claimants", "ill_in_waiting", "leavers": agent indices; "benefits_cny":
            benefit per claimant; "refunds_cny": refund per ill waiting member (CNY per
            person); "exit_reasons": ExitReason per leaver; "expected_claims": sum over
            covered members of illness probability (agents); "expected_benefits_cny": sum
            over covered members of illness probability x benefit (CNY per person);
            "expected_claims_family": the part of "expected_claims" from members a relative
            enrolled (agents)}.
        """
        # The members' pass first decays every agent's exposure (hazard contagion only).
        no_decay = self.params["contagion_model"] != "hazard"
        decay = np.float32(1.0) if no_decay else leaving.exposure_decay(self.params["contagion_decay_periods"])
        arrays, values = self.member_arrays(period), self.period_values(period, signal, cap_cny)
        partial = partial_sums(self.n_agents, len(member_pass.EXPECTED))
        words = self.streams.words(Stream.MEMBERSHIP, period - self.launch_period)
        claimants, ill_in_waiting, leavers, reasons = [], [], [], []
        for start, stop in self.chunks():
            outcome = member_pass.decide_drawn(arrays, values, start, stop, words, partial, BLOCK_AGENTS, decay)
            # One scan of the chunk; then only the few members whose period changed are sorted.
            changed = start + np.flatnonzero(outcome != ExitReason.NONE)
            codes = outcome[changed - start]
            claimants.append(changed[codes == ExitReason.CLAIM])
            ill_in_waiting.append(changed[codes == ExitReason.ILL_IN_WAITING])
            voluntary = IS_VOLUNTARY_EXIT[codes]
            leavers.append(changed[voluntary])
            reasons.append(codes[voluntary])
        expected = dict(zip(member_pass.EXPECTED, sum_blocks_in_order(partial).tolist(), strict=True))
        result = {
            "claimants": np.concatenate(claimants),
            "ill_in_waiting": np.concatenate(ill_in_waiting),
            "leavers": np.concatenate(leavers),
            "exit_reasons": np.concatenate(reasons),
            **expected,
        }
        result["benefits_cny"] = self.benefit_cny(result["claimants"])
        result["refunds_cny"] = self.member_values("paid_this_membership_cny", result["ill_in_waiting"])
        self.leave(result["claimants"], ExitReason.CLAIM, period)
        self.leave(result["ill_in_waiting"], ExitReason.ILL_IN_WAITING, period)
        self.leave(result["leavers"], result["exit_reasons"], period)
        return result

    def decide_members(
        self, members: np.ndarray, period: int, signal: ChargeSignal, cap_cny: float, u: np.ndarray
    ) -> tuple[np.ndarray, dict]:
        """The fate of the members at `members` this period, from one uniform each
        (`member_pass.decide`), without applying it.

        Returns:
            (outcome, expected): ExitReason code per member (CLAIM, ILL_IN_WAITING, an exit
            reason, or NONE); the expected-claim sums over them (`member_pass.EXPECTED`).
        """
        partial = partial_sums(self.n_agents, len(member_pass.EXPECTED))
        outcome = member_pass.decide(
            self.member_arrays(period), self.period_values(period, signal, cap_cny), members, u, partial, BLOCK_AGENTS
        )
        return outcome, dict(zip(member_pass.EXPECTED, sum_blocks_in_order(partial).tolist(), strict=True))

    def member_arrays(self, period: int) -> member_pass.MemberArrays:
        """The arrays the compiled member pass reads in `period`."""
        threshold = self.exited_neighbours is not None
        unused = np.zeros(1, self._people.count_type)  # read only under threshold contagion
        select_by_duration, awareness_by_age = self._period_tables(period)
        m = self.memberships
        return member_pass.MemberArrays(
            self.state, m.head, m.next_record, m.record_plan, self.plan_number,
            m.exit_reason, m.exit_period, self.credit_pass, self.health_declined,
            self.age_periods, m.first_join_period, self.frailty, self.perceived_frailty,
            self.insured, self.income_cny, self.price_sensitivity, self.reviews_charges, self.exposure,
            m.enrolled_by_family,
            self.exited_neighbours if threshold else unused,
            *self._network_arrays,
            self.contagion_threshold if threshold else unused.astype(np.float32),
            self.incidence_by_age, self.benefit_by_age, self.weight_by_age, self.join_propensity_by_age,
            select_by_duration, awareness_by_age, self.member_elsewhere,
        )  # fmt: skip

    def _period_tables(self, period: int) -> tuple[np.ndarray, np.ndarray]:
        """This period's select factor by periods since the first join and claim awareness
        by age: the rules of illness.py at every duration and age, once a period."""
        if self._tables_period != period:
            p = self.params
            select_by_duration = illness.select_factor(
                np.arange(period + 1),
                p["select_risk_factor_at_joining"],
                p["select_period_years"],
                p["select_shape"],
                p["select_ultimate_factor"],
            )
            awareness_by_age = illness.claim_awareness(
                period - self.launch_period,
                p["claim_awareness_midpoint_periods"],
                p["claim_awareness_width_periods"],
                (np.arange(self.oldest_age_periods + 1) - self.adult_age_periods) / PERIODS_PER_YEAR,
                p["claim_awareness_age_delay_periods"],
            )
            self._tables, self._tables_period = (select_by_duration, awareness_by_age), period
        return self._tables

    def period_values(self, period: int, signal: ChargeSignal, cap_cny: float) -> member_pass.PeriodValues:
        """This period's model-level values for the compiled member pass."""
        p = self.params
        return member_pass.PeriodValues(
            period=float(period),
            recent_unit_share_cny=signal.recent_unit_share_cny,
            reference_unit_share_cny=signal.reference_unit_share_cny,
            jump=signal.jump,
            cap_cny=float(cap_cny),
            salience_rule=p["stay_rule"] == "salience",
            loss_aversion=p["loss_aversion"],
            price_attention=p["price_attention"],
            salience_attention=p["salience_attention"],
            closure_news=leaving.closure_news_hazard(
                period, self.closure_news_periods, p["closure_news_attention"], p["closure_news_decay_periods"]
            ),
            base_exit_hazard=p["base_exit_hazard"],
            contagion_strength=p["contagion_strength"] if p["contagion_model"] == "hazard" else 0.0,
            threshold_contagion=self.exited_neighbours is not None,
            value_loading=p["value_loading"],
            insurance_substitution=p["insurance_substitution"],
            affordability_share=p["affordability_share"],
            probability_weighting=p["probability_weighting"],
            marketing_hazard=float(
                joining.marketing_hazard(
                    period - self.launch_period,
                    p["marketing_rate"],
                    p["launch_marketing_rate"],
                    p["launch_marketing_decay_periods"],
                )
            ),
            word_of_mouth_rate=p["word_of_mouth_rate"],
            multi_homing_propensity=p["multi_homing_propensity"],
            adult_age_periods=float(self.adult_age_periods),
            min_age_periods=float(self.min_age_periods),
            max_age_periods=float(self.max_age_periods),
            admits_chronic=self.admits_chronic,
        )

    def decide_to_join(self, period: int, signal: ChargeSignal, cap_cny: float) -> tuple[np.ndarray, np.ndarray, int]:
        """Eligible adults join by marketing and word of mouth; some enrol a relative.

        One uniform per adult: joins if u < p_join; a joiner enrols a relative if
        u / p_join < family_enrolment_prob, and u / (p_join x family_enrolment_prob),
        uniform on [0, 1), chooses whom (`relatives_of`).

        Returns:
            (agents who joined by their own decision, relatives they enrolled (agent
            indices), how many of both had been members before).
        """
        arrays, values = self.member_arrays(period), self.period_values(period, signal, cap_cny)
        joiners, enrolling, choice = [], [], []
        words = self.streams.words(Stream.MEMBERSHIP, period - self.launch_period)
        for start, stop in self.chunks():
            decision, u_choice = member_pass.decide_to_join(
                arrays, values, start, stop, words, self.params["family_enrolment_prob"], BLOCK_AGENTS
            )
            joiners.append(start + np.flatnonzero(decision != member_pass.STAYS_OUT))
            enrols = decision == member_pass.JOINS_AND_ENROLS
            enrolling.append(start + np.flatnonzero(enrols))
            choice.append(u_choice[enrols])
        joined = np.concatenate(joiners)
        rejoined = self.enter(joined, period)
        relatives, relatives_rejoined = self.enrol_relatives(np.concatenate(enrolling), np.concatenate(choice), period)
        return joined, relatives, rejoined + relatives_rejoined

    def enrol_relatives(self, joiners: np.ndarray, u: np.ndarray, period: int) -> tuple[np.ndarray, int]:
        """Joiners who have just entered enrol the relatives `relatives_of` chooses, those
        of them who may join (a relative two joiners choose is enrolled once).

        Args:
            joiners: Agents enrolling a relative.
            u: One uniform on [0, 1) per joiner.
            period: This period.

        Returns:
            (relatives enrolled (agent indices), how many of them had been members before).
        """
        picked = self.relatives_of(joiners, u, period)
        picked = np.unique(picked[picked >= 0])
        picked = picked[self.may_join(picked, period)]
        return picked, self.enter(picked, period, by_family=True)

    def relatives_of(self, joiners: np.ndarray, u: np.ndarray, period: int) -> np.ndarray:
        """The relative each joiner would enrol (agent index; -1 for none), by `relative_choice`.

        neighbour: the tie at position floor(u x degree) of the joiner's list (none
        without ties; whether the tie may join is the caller's check). generation: a
        parent if u < family_parent_share, else a child; u rescaled within that branch
        picks uniformly among the agents who may join now whose age lies in the window a
        generation away (`joining.relative_age_window`): none if the window holds none.

        Args:
            joiners: Agents enrolling a relative.
            u: One uniform on [0, 1) per joiner.
            period: This period.
        """
        p = self.params
        joiners = np.asarray(joiners, dtype=np.int64)
        relatives = np.full(len(joiners), -1, dtype=np.int64)
        if p["relative_choice"] == "neighbour":
            indptr = self.network.indptr
            degree = indptr[joiners + 1] - indptr[joiners]
            tied = degree > 0
            pick = np.minimum((u[tied] * degree[tied]).astype(np.int64), degree[tied] - 1)
            relatives[tied] = self.network.neighbour_at(joiners[tied], pick)
            return relatives
        if not len(joiners):
            return relatives
        q = p["family_parent_share"]
        parent = u < q
        within = np.where(parent, u / max(q, 1e-300), (u - q) / max(1.0 - q, 1e-300))
        if self._people.age_order is None:
            # Kept while everyone ages alike (the vectorised engine), which keeps it sorted;
            # one for all of a model's plans, whose people are the same.
            self._people.age_order = np.argsort(self.age_periods, kind="stable").astype(np.int32)
        # The candidates are counted by age in one sequential pass; only the picked ones
        # are then looked up, in age order, among the agents of their age.
        may = self.may_join(slice(None), period)
        candidates_by_age, agents_by_age, unborn = _count_by_age(self.age_periods, may, self.oldest_age_periods + 1)
        candidates_younger_than = np.concatenate([[0], np.cumsum(candidates_by_age)])
        low, high = joining.relative_age_window(
            self.age_periods[joiners], parent,
            p["generation_gap_years"] * PERIODS_PER_YEAR, p["generation_spread_years"] * PERIODS_PER_YEAR,
        )  # fmt: skip
        position = joining.pick_in_age_window(candidates_younger_than, low, high, within)
        found = np.flatnonzero(position >= 0)
        age = np.searchsorted(candidates_younger_than, position[found], side="right") - 1
        rank = position[found] - candidates_younger_than[age]
        in_order = np.lexsort((rank, age))
        picked = np.empty(found.size, dtype=np.int64)
        all_younger_than = unborn + np.concatenate([[0], np.cumsum(agents_by_age)])
        picked[in_order] = _nth_of_age(self._people.age_order, may, all_younger_than, age[in_order], rank[in_order])
        relatives[found] = picked
        return relatives

    def grow_older(self, idx: np.ndarray) -> np.ndarray:
        """The agents at `idx` age half a month (`ageing.grow_older`). Returns those of
        them who have just reached the maximum age.

        Only some agents age here (the per-agent engine ages one at a time), so the age
        order kept for the generation choice no longer holds: it is rebuilt when next needed.
        """
        self._people.age_order = None
        return ageing.grow_older_each(self.age_periods, self.state, self.oldest_age_periods, self.max_age_periods, idx)

    def reach_maximum_age(self, reached: np.ndarray, period: int) -> int:
        """Agents at the maximum age: members leave (AGED_OUT), outsiders and leavers become
        AGED_OUT. Returns the number of members who aged out (agents)."""
        if not len(reached):  # the usual case for one agent in one period; skip the bookkeeping
            return 0
        state = self.state[reached]
        members_out = reached[(state == State.WAITING) | (state == State.COVERED)]
        self.state[reached[(state == State.OUTSIDER) | (state == State.EXITED)]] = State.AGED_OUT
        self.leave(members_out, ExitReason.AGED_OUT, period)
        return len(members_out)

    def age_then_consider_and_buy_insurance(
        self, period: int, platform_member: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """Everyone ages half a month (members reaching the maximum age leave); then agents
        come to consider commercial insurance and some who consider buy; then the census.

        One uniform per agent: one not yet considering starts if u < p_consider and then
        buys if u / p_consider < p_buy; one already considering buys if u < p_buy.

        Args:
            period: This period.
            platform_member: In a market model, whether each agent is a member of any plan
                of the modelled platform (bool): the funnel's members (None: this plan's).

        Returns:
            (members who aged out (agent indices), for each buyer whether it was a member
            when buying (bool), the census of the population after it (`census`), taken in
            the same pass).
        """
        were_members, aged_out = [], []
        # The funnel runs in the first plan's pass from its launch; before it, people only age.
        funnel = self.people_step and period >= self.launch_period
        words = self.streams.words(Stream.INSURANCE, period - self.launch_period) if funnel else _NO_WORDS
        census_partial = partial_sums(self.n_agents, len(census_totals.TOTALS))
        for start, stop in self.chunks():
            bought, member_aged_out = insurance_pass.age_then_consider_and_buy(
                self, start, stop, words, census_partial, self.people_step, funnel, platform_member
            )
            were_members.append(bought[bought != insurance_pass.NO_PURCHASE] == insurance_pass.BOUGHT_AS_MEMBER)
            aged_out.append(start + np.flatnonzero(member_aged_out))
        aged_out = np.concatenate(aged_out)
        self.leave(aged_out, ExitReason.AGED_OUT, period)  # their state is AGED_OUT already: the census stands
        return aged_out, np.concatenate(were_members), self._keep(census_totals.totals_from(census_partial))

    def close_plan(self, period: int) -> np.ndarray:
        """All members leave because the plan closed (what they go to is the platform's
        closure's: `huzhu.model.between_plans.close_platform`).

        Returns:
            The members who left (agent indices, ascending, int32: at 10^8 agents the
            members' indices take 4 bytes each).
        """
        closed = []
        for start, stop in self.chunks():
            members = (start + np.flatnonzero(self.is_member(slice(start, stop)))).astype(np.int32)
            self.leave(members, ExitReason.CLOSURE, period)
            closed.append(members)
        return np.concatenate([np.empty(0, np.int32), *closed])

    def census(self) -> dict:
        """Counts and sums over the population at the end of a period (agents, per person).

        Also caches the members' total sharing weight, which the next period's sharing
        needs: members do not change between the end of one period and the next lock date.
        """
        return self._keep(
            census_totals.census(
                self.state, self.age_periods, self.frailty, self.credit_pass, self.considering,
                self.incidence_by_age, self.weight_by_age, self.min_age_periods,
            )
        )  # fmt: skip

    def _keep(self, census: dict) -> dict:
        """Keep what the next period's sharing needs from an end-of-period census."""
        self.member_weight_total = census["weight_members"]
        return census


@njit(cache=True)
def _count_by_age(age_periods: np.ndarray, selected: np.ndarray, ages: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(selected agents, all agents) at each age 0..ages-1 (half months; int64), and the
    agents not yet born (negative ages, which sort before every age)."""
    selected_by_age = np.zeros(ages, dtype=np.int64)
    all_by_age = np.zeros(ages, dtype=np.int64)
    unborn = 0
    for i in range(age_periods.size):
        if age_periods[i] < 0:  # not yet born (a market model's early periods): never selected
            unborn += 1
            continue
        selected_by_age[age_periods[i]] += selected[i]
        all_by_age[age_periods[i]] += 1
    return selected_by_age, all_by_age, unborn


@njit(cache=True)
def _nth_of_age(
    order: np.ndarray, selected: np.ndarray, all_younger_than: np.ndarray, ages: np.ndarray, ranks: np.ndarray
) -> np.ndarray:
    """For each (age, rank), sorted, the rank-th selected agent of that age in `order` (the
    agents sorted by age: those of age a sit at all_younger_than[a]..all_younger_than[a+1]-1).
    Each age's agents are walked once, however many picks fall there."""
    out = np.empty(ages.size, dtype=np.int64)
    k = 0
    while k < ages.size:
        age = ages[k]
        slot, end = all_younger_than[age], all_younger_than[age + 1]
        seen = -1
        while k < ages.size and ages[k] == age:
            while seen < ranks[k]:
                if slot == end:  # the counts and the order disagree: never walk past the age's agents
                    raise RuntimeError("the age order is out of step with the ages")
                seen += selected[order[slot]]
                slot += 1
            out[k] = order[slot - 1]
            k += 1
    return out


def _check_chunk_size(chunk_size) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size <= 0:
        raise ValueError(f"chunk_size={chunk_size!r} is not allowed: a positive integer (agents)")


def _chunks(n: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, chunk_size):
        yield start, min(start + chunk_size, n)


def _truncated_normal(u: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """Normal(mean, sd) truncated to [0, 1], by inverse CDF from uniforms `u` (not clamped)."""
    if sd == 0:
        return np.full(len(u), mean)
    low, high = ndtr((0.0 - mean) / sd), ndtr((1.0 - mean) / sd)
    return mean + sd * ndtri(low + u * (high - low))


def _homophilous_order(traits: dict, p: dict, streams: AgentStreams, chunk_size: int) -> np.ndarray:
    """Agents ordered by 5-year age band, then income quantile, each blurred by noise.

    Laid on a ring in this order, neighbours are of similar age and income.
    """
    n = len(traits["age_periods"])
    noise = p["homophily_noise"]
    band = np.empty(n, np.float64)
    income_position = np.empty(n, np.float64)
    for start, stop in _chunks(n, chunk_size):
        s = slice(start, stop)
        age_years = traits["age_periods"][s] / PERIODS_PER_YEAR
        age_noise = noise * (60 / HOMOPHILY_AGE_BAND_YEARS) * streams.normals(Stream.HOMOPHILY_AGE, 0, start, stop)
        band[s] = np.floor(age_years / HOMOPHILY_AGE_BAND_YEARS + age_noise)
        log_ratio = np.log(traits["income_cny"][s] / p["income_median_cny"])
        income_quantile = ndtr(log_ratio / max(p["income_sigma"], 1e-12))  # lognormal income: its quantile
        income_position[s] = income_quantile + noise * streams.normals(Stream.HOMOPHILY_INCOME, 0, start, stop)
    return np.lexsort((income_position, band))
