"""Everyone in the eligible population, member or not, as typed arrays.

Traits and state of agent i live at index i of each array; `MemberAgent` objects are
views onto these. Each period's decisions are applied to all agents at once by the
methods below, which call the rule functions of joining, leaving, illness, valuation
and cross_sell; no rule is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from huzhu.agents import cross_sell, illness, joining, leaving, sharing, valuation
from huzhu.agents.states import VOLUNTARY_EXIT_REASONS, ExitReason, State
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.incidence import ci1_incidence
from huzhu.model.network import CSRNetwork

NO_PERIOD = -1


@dataclass
class Population:
    """Traits and state of all agents.

    Attributes (arrays of length n_agents):
        age_years: Age (years), float64 so that 1/24-year steps accumulate exactly enough.
        income_cny: Annual income (CNY per year).
        frailty: Private risk multiplier (1, mean 1).
        perceived_frailty: The agent's belief about its frailty (1).
        price_sensitivity: Slope of `valuation.price_pressure` (1).
        credit_pass: Passes the credit screen.
        health_declined: Kept out by the health declaration.
        contagion_threshold: Share of exited neighbours that makes it leave (threshold model).
        state: `State` code.
        exit_reason: `ExitReason` of the last membership that ended.
        join_period / exit_period: Period of the last join / exit (NO_PERIOD if none).
        considering / insured: Considers / holds commercial insurance.
        contributions_cny: Shares paid over the whole run, per person (CNY).
        paid_this_membership_cny: Shares paid since the last join, per person (CNY);
            what is refunded on illness in the waiting period.
        paid_this_year_cny: Shares paid this calendar year, per person (CNY).
        exposure: Decayed count of neighbours who left voluntarily (hazard contagion).
        member_neighbours: Neighbours who are members now.
        exited_neighbours: Neighbours who are out after a voluntary exit now.
    """

    params: dict
    network: CSRNetwork
    rng: np.random.Generator
    age_years: np.ndarray
    income_cny: np.ndarray
    frailty: np.ndarray
    perceived_frailty: np.ndarray
    price_sensitivity: np.ndarray
    credit_pass: np.ndarray
    health_declined: np.ndarray
    contagion_threshold: np.ndarray
    state: np.ndarray = field(init=False)
    exit_reason: np.ndarray = field(init=False)
    join_period: np.ndarray = field(init=False)
    exit_period: np.ndarray = field(init=False)
    considering: np.ndarray = field(init=False)
    insured: np.ndarray = field(init=False)
    contributions_cny: np.ndarray = field(init=False)
    paid_this_membership_cny: np.ndarray = field(init=False)
    paid_this_year_cny: np.ndarray = field(init=False)
    exposure: np.ndarray = field(init=False)
    member_neighbours: np.ndarray = field(init=False)
    exited_neighbours: np.ndarray = field(init=False)

    def __post_init__(self):
        n = len(self.age_years)
        p = self.params
        self.degree = self.network.degree
        self.state = np.full(n, State.OUTSIDER, dtype=np.int8)
        self.exit_reason = np.full(n, ExitReason.NONE, dtype=np.int8)
        self.join_period = np.full(n, NO_PERIOD, dtype=np.int32)
        self.exit_period = np.full(n, NO_PERIOD, dtype=np.int32)
        self.considering = self.rng.random(n) < p["consider_prob_initial"]
        self.insured = self.rng.random(n) < p["insured_prob_initial"]
        self.contributions_cny = np.zeros(n, dtype=np.float64)
        self.paid_this_membership_cny = np.zeros(n, dtype=np.float64)
        self.paid_this_year_cny = np.zeros(n, dtype=np.float64)
        self.exposure = np.zeros(n, dtype=np.float32)
        self.member_neighbours = np.zeros(n, dtype=np.int32)
        self.exited_neighbours = np.zeros(n, dtype=np.int32)
        if p["risk_heterogeneity"] == "none":
            # Everyone carries the population's mean risk, whatever the age.
            self._flat_risk = float(np.mean(illness.annual_risk(self.age_years, 1.0, p["covered_illness_factor"])))
        aged_out = self.age_years >= p["max_age_years"]
        self.state[aged_out] = State.AGED_OUT

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, params: dict, rng: np.random.Generator, network_builder) -> Population:
        """Draw every agent's traits.

        Args:
            params: Resolved model parameters.
            rng: The model's random generator.
            network_builder: Callable(age_years, income_cny) -> CSRNetwork.
        """
        p = params
        n = p["n_agents"]
        # assumption: China's age pyramid is roughly flat from 0 to 59 (2020 census); uniform.
        age = rng.uniform(0.0, p["max_age_years"], n)
        income = (p["income_median_cny"] * np.exp(p["income_sigma"] * rng.standard_normal(n))).astype(np.float32)
        if p["risk_heterogeneity"] == "age_and_frailty":
            sigma = p["frailty_sigma"]
            frailty = np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
        else:
            frailty = np.ones(n)
        sigma_p = p["risk_perception_sigma"]
        perceived = frailty * np.exp(sigma_p * rng.standard_normal(n) - sigma_p**2 / 2)
        sensitivity = p["price_sensitivity"] * (income / p["income_median_cny"]) ** (
            -p["price_sensitivity_income_elasticity"]
        )
        credit_pass = rng.random(n) < p["credit_pass_rate"]
        has_condition = (
            frailty > np.quantile(frailty, p["health_screen_frailty_quantile"])
            if p["risk_heterogeneity"] == "age_and_frailty"
            else np.zeros(n, dtype=bool)
        )
        declined = has_condition & (rng.random(n) < p["health_screen_effectiveness"])
        threshold = _truncated_normal(rng, p["contagion_threshold_mean"], p["contagion_threshold_sd"], n)
        network = network_builder(age, income)
        return cls(
            params=p,
            network=network,
            rng=rng,
            age_years=age,
            income_cny=income,
            frailty=frailty.astype(np.float32),
            perceived_frailty=perceived.astype(np.float32),
            price_sensitivity=sensitivity.astype(np.float32),
            credit_pass=credit_pass,
            health_declined=declined,
            contagion_threshold=threshold.astype(np.float32),
        )

    # ------------------------------------------------------------------ derived views
    @property
    def n_agents(self) -> int:
        return len(self.state)

    def is_member(self) -> np.ndarray:
        """Waiting or covered (bool)."""
        return (self.state == State.WAITING) | (self.state == State.COVERED)

    def in_age_range(self) -> np.ndarray:
        p = self.params
        return (self.age_years >= p["min_age_years"]) & (self.age_years < p["max_age_years"])

    def annual_risk(self, idx=slice(None)) -> np.ndarray:
        """True (ultimate) annual risk of the agents at `idx` (per year)."""
        p = self.params
        if p["risk_heterogeneity"] == "none":
            return np.full(np.shape(self.age_years[idx]), self._flat_risk)
        return illness.annual_risk(self.age_years[idx], self.frailty[idx], p["covered_illness_factor"])

    def perceived_annual_risk(self, idx=slice(None)) -> np.ndarray:
        """The agents' belief about their annual risk (per year)."""
        p = self.params
        if p["risk_heterogeneity"] == "none":
            return self._flat_risk * self.perceived_frailty[idx]
        return p["covered_illness_factor"] * ci1_incidence(self.age_years[idx]) * self.perceived_frailty[idx]

    def benefit_cny(self, idx) -> np.ndarray:
        """Benefit the agents at `idx` would be paid if approved now (CNY)."""
        p = self.params
        return valuation.benefit_cny(
            self.age_years[idx], p["benefit_young_cny"], p["benefit_old_cny"], p["benefit_age_split_years"]
        )

    def willingness_to_pay(self, idx) -> np.ndarray:
        """Most the agents at `idx` will pay a year (CNY per year)."""
        p = self.params
        return valuation.willingness_to_pay(
            self.perceived_annual_risk(idx),
            self.benefit_cny(idx),
            self.insured[idx],
            self.income_cny[idx],
            p["value_loading"],
            p["insurance_substitution"],
            p["affordability_share"],
        )

    def price_pressure(self, idx, unit_share_cny: float, cap_cny: float) -> np.ndarray:
        """Price pressure on the agents at `idx` at the recent share (0-1)."""
        weight = sharing.sharing_weights(self.params["sharing_rule"], self.age_years[idx])
        charge = sharing.expected_annual_charge(unit_share_cny, weight, cap_cny)
        return valuation.price_pressure(charge, self.willingness_to_pay(idx), self.price_sensitivity[idx])

    # ------------------------------------------------------------------ transitions
    def enter(self, idx: np.ndarray, period: int) -> None:
        """Agents at `idx` join: a new waiting period starts."""
        returning = idx[(self.state[idx] == State.EXITED) & np.isin(self.exit_reason[idx], VOLUNTARY_EXIT_REASONS)]
        if len(returning):
            np.subtract.at(self.exited_neighbours, self.network.neighbours_of_many(returning), 1)
        self.state[idx] = State.WAITING
        self.join_period[idx] = period
        self.paid_this_membership_cny[idx] = 0.0
        np.add.at(self.member_neighbours, self.network.neighbours_of_many(idx), 1)

    def leave(self, idx: np.ndarray, reason: ExitReason | np.ndarray, period: int) -> None:
        """Members at `idx` leave for `reason` (one code, or one per member)."""
        reason = np.broadcast_to(np.asarray(reason, dtype=np.int8), idx.shape)
        new_state = np.where(
            reason == ExitReason.CLAIM,
            State.CLAIMED,
            np.where(reason == ExitReason.AGED_OUT, State.AGED_OUT, State.EXITED),
        )
        self.state[idx] = new_state
        self.exit_reason[idx] = reason
        self.exit_period[idx] = period
        np.subtract.at(self.member_neighbours, self.network.neighbours_of_many(idx), 1)
        voluntary = idx[np.isin(reason, VOLUNTARY_EXIT_REASONS)]
        if len(voluntary):
            neighbours = self.network.neighbours_of_many(voluntary)
            np.add.at(self.exposure, neighbours, np.float32(1.0))
            np.add.at(self.exited_neighbours, neighbours, 1)

    def complete_waiting_periods(self, period: int) -> None:
        """Waiting members whose waiting period is over become covered."""
        done = (self.state == State.WAITING) & (period - self.join_period >= self.params["waiting_periods"])
        self.state[done] = State.COVERED

    def fall_ill(self, period: int) -> dict:
        """Members fall ill. Covered: paid, membership ends. Waiting: refunded, out for good.

        Returns:
            {"claimants": idx, "benefits_cny": benefit per claimant (CNY per person),
            "expected_benefits_cny": sum over covered members of illness probability x
            benefit (CNY, per person represented), "ill_in_waiting": idx,
            "refunds_cny": refund per person refunded (CNY)}.
        """
        p = self.params
        members = np.flatnonzero(self.is_member())
        select = illness.select_factor(
            period - self.join_period[members], p["select_risk_factor_at_joining"], p["select_period_years"]
        )
        probability = illness.illness_probability(self.annual_risk(members), select)
        ill = self.rng.random(len(members)) < probability
        covered = self.state[members] == State.COVERED
        benefit = self.benefit_cny(members)
        claimants, ill_in_waiting = members[ill & covered], members[ill & ~covered]
        benefits = benefit[ill & covered]
        refunds = self.paid_this_membership_cny[ill_in_waiting].copy()
        expected_benefits = float((probability * benefit)[covered].sum())
        self.leave(claimants, ExitReason.CLAIM, period)
        self.leave(ill_in_waiting, ExitReason.ILL_IN_WAITING, period)
        return {
            "claimants": claimants,
            "benefits_cny": benefits,
            "expected_benefits_cny": expected_benefits,
            "ill_in_waiting": ill_in_waiting,
            "refunds_cny": refunds,
        }

    def decide_to_stay(self, period: int, unit_share_cny: float, cap_cny: float) -> np.ndarray:
        """Members weigh charges, churn, and their neighbours' exits; some leave.

        Returns:
            ExitReason code of each agent that left this way (int8, per leaver).
        """
        p = self.params
        self.exposure *= np.float32(np.exp(-1.0 / p["contagion_decay_periods"]))
        members = np.flatnonzero(self.is_member())
        pressure = self.price_pressure(members, unit_share_cny, cap_cny)
        exposure = self.exposure[members] if p["contagion_model"] == "hazard" else 0.0
        strength = p["contagion_strength"] if p["contagion_model"] == "hazard" else 0.0
        other, price, contagion = leaving.exit_hazards(
            pressure, p["price_attention"], p["base_exit_hazard"], strength, exposure
        )
        reason = leaving.draw_exits(other, price, contagion, self.rng.random(len(members)))
        if p["contagion_model"] == "threshold":
            tipped = leaving.threshold_exceeded(
                self.exited_neighbours[members], self.degree[members], self.contagion_threshold[members]
            )
            reason[tipped & (reason == ExitReason.NONE)] = ExitReason.CONTAGION
        leavers = reason != ExitReason.NONE
        self.leave(members[leavers], reason[leavers], period)
        return reason[leavers]

    def decide_to_join(self, period: int, unit_share_cny: float, cap_cny: float) -> tuple[int, int]:
        """Eligible adults join by marketing and word of mouth; some enrol a relative.

        Returns:
            (agents who joined by their own decision, relatives they enrolled).
        """
        p = self.params
        candidates = self._join_candidates()
        deciders = np.flatnonzero(candidates & (self.age_years >= p["adult_age_years"]))
        attractiveness = 1.0 - self.price_pressure(deciders, unit_share_cny, cap_cny)
        degree = self.degree[deciders]
        member_share = np.divide(
            self.member_neighbours[deciders], degree, out=np.zeros(len(deciders)), where=degree > 0
        )
        marketing = joining.marketing_hazard(
            period, p["marketing_rate"], p["launch_marketing_rate"], p["launch_marketing_decay_periods"]
        )
        joins = self.rng.random(len(deciders)) < joining.join_probability(
            marketing, p["word_of_mouth_rate"], member_share, attractiveness
        )
        joiners = deciders[joins]
        relatives = self._relatives_enrolled(joiners, candidates)
        self.enter(joiners, period)
        self.enter(relatives, period)
        return len(joiners), len(relatives)

    def _join_candidates(self) -> np.ndarray:
        """Agents who may join now: outsiders or voluntary leavers, eligible, of age (bool)."""
        may_rejoin = (
            (self.state == State.EXITED)
            & (self.exit_reason != ExitReason.ILL_IN_WAITING)
            & (self.exit_reason != ExitReason.CLOSURE)
        )
        return (
            ((self.state == State.OUTSIDER) | may_rejoin)
            & self.credit_pass
            & ~self.health_declined
            & self.in_age_range()
        )

    def _relatives_enrolled(self, joiners: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """A share of joiners enrol one relative: a random neighbour who may join (any age)."""
        enrolling = joiners[
            (self.rng.random(len(joiners)) < self.params["family_enrolment_prob"]) & (self.degree[joiners] > 0)
        ]
        pick = (self.rng.random(len(enrolling)) * self.degree[enrolling]).astype(np.int64)
        relatives = self.network.indices[self.network.indptr[enrolling] + pick]
        relatives = np.unique(relatives[candidates[relatives]])
        return np.setdiff1d(relatives, joiners, assume_unique=True)

    def age_one_period(self, period: int) -> int:
        """Everyone ages half a month; members reaching the maximum age leave.

        Returns:
            Number of members (agents) who aged out.
        """
        self.age_years += 1.0 / PERIODS_PER_YEAR
        reached = self.age_years >= self.params["max_age_years"]
        members_out = np.flatnonzero(reached & self.is_member())
        self.leave(members_out, ExitReason.AGED_OUT, period)
        self.state[reached & ((self.state == State.OUTSIDER) | (self.state == State.EXITED))] = State.AGED_OUT
        return len(members_out)

    def consider_and_buy_insurance(self) -> np.ndarray:
        """Agents come to consider commercial insurance; some who consider buy.

        Returns:
            For each buyer, whether it was a member when buying (bool).
        """
        p = self.params
        alive = self.in_age_range() & (self.state != State.CLAIMED) & (self.state != State.AGED_OUT)
        member = self.is_member()
        start = (
            alive
            & ~self.considering
            & (
                self.rng.random(self.n_agents)
                < cross_sell.consider_probability(member, p["consider_rate_members"], p["consider_rate_nonmembers"])
            )
        )
        self.considering |= start
        shoppers = np.flatnonzero(alive & self.considering & ~self.insured)
        buy = self.rng.random(len(shoppers)) < cross_sell.buy_probability(
            self.income_cny[shoppers], p["income_median_cny"], p["buy_rate"], p["buy_income_elasticity"]
        )
        buyers = shoppers[buy]
        self.insured[buyers] = True
        return member[buyers]

    def close_plan(self, period: int) -> int:
        """All members leave because the plan closed. Returns how many (agents)."""
        members = np.flatnonzero(self.is_member())
        self.leave(members, ExitReason.CLOSURE, period)
        return len(members)


def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """Normal draws on [0, 1], out-of-range values redrawn (not clamped)."""
    values = mean + sd * rng.standard_normal(n)
    bad = (values < 0) | (values > 1)
    while bad.any():
        values[bad] = mean + sd * rng.standard_normal(int(bad.sum()))
        bad = (values < 0) | (values > 1)
    return values
