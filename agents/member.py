"""MemberAgent: one person of the eligible population, a view onto the model's arrays."""

from __future__ import annotations

import mesa
import numpy as np

from huzhu.agents import cross_sell, leaving
from huzhu.agents.states import ExitReason, State
from huzhu.model.calendar import PERIODS_PER_YEAR


class MemberAgent(mesa.Agent):
    """One agent of the population, member of the plan or not.

    The agent owns no data: every attribute reads (or writes) index `index` of the
    model's `Population` arrays, so agent objects and the vectorised engine always
    agree. The model creates one object per agent at small sizes and none at large
    ones; `MutualAidModel.member(i)` gives a view of any agent on demand.

    `step()` is the per-agent reference path (`engine="agents"`): one agent's period,
    calling the same rule functions as the vectorised engine on this one agent, with
    neighbours looked up one agent at a time and its own sequential random draws.

    Args:
        model: The MutualAidModel.
        index: Position of the agent in the population arrays.
    """

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def _population(self):
        return self.model.population

    @property
    def age_years(self) -> float:
        """Age (years)."""
        return float(self._population.age_periods[self.index]) / PERIODS_PER_YEAR

    @property
    def income_cny(self) -> float:
        """Annual income (CNY per year)."""
        return float(self._population.income_cny[self.index])

    @property
    def annual_risk(self) -> float:
        """True annual probability of a covered critical illness (per year)."""
        return float(self._population.annual_risk(self.index))

    @property
    def perceived_annual_risk(self) -> float:
        """The agent's own belief about its annual risk (per year)."""
        return float(self._population.perceived_annual_risk(self.index))

    @property
    def price_sensitivity(self) -> float:
        """Slope of its price response (log-odds per log price ratio)."""
        return float(self._population.price_sensitivity[self.index])

    @property
    def state(self) -> State:
        """Membership state."""
        return State(self._population.state[self.index])

    @property
    def exit_reason(self) -> ExitReason:
        """Why its last membership ended (NONE if it has not)."""
        return ExitReason(self._population.member_values("exit_reason", self.index))

    @property
    def is_member(self) -> bool:
        """Waiting or covered."""
        return self.state in (State.WAITING, State.COVERED)

    @property
    def considering_insurance(self) -> bool:
        return bool(self._population.considering[self.index])

    @property
    def insured(self) -> bool:
        """Holds commercial insurance."""
        return bool(self._population.insured[self.index])

    @property
    def contributions_cny(self) -> float:
        """Shares paid over the run (CNY)."""
        return float(self._population.member_values("contributions_cny", self.index))

    @property
    def neighbours(self) -> list[int]:
        """Indices of its network ties."""
        return self._population.network.neighbours(self.index).tolist()

    # ------------------------------------------------------------------ reference path
    def step(self) -> None:
        """One period of this agent, in the order of docs/ODD.md section 3 (steps 2-7)."""
        model, population, i = self.model, self._population, self.index
        period, rng, events = model.period, model.rng, model.period_events
        signal, cap = model.platform.charge_signal, model.platform.cap_in_force(model.date.year)
        p = model.params
        one = np.array([i])
        if population.waiting_is_over(i, period):
            population.state[i] = State.COVERED
        if p["contagion_model"] == "hazard":  # every agent's, member or not (ODD 7.5)
            population.exposure[i] *= leaving.exposure_decay(p["contagion_decay_periods"])
        if population.state[i] in (State.WAITING, State.COVERED):
            outcome, expected = population.decide_members(one, period, signal, cap, np.array([rng.random()]))
            for name, value in expected.items():
                events[name] += value
            reason = int(outcome[0])
            if reason == ExitReason.CLAIM:
                events["benefits_cny"].append(float(population.benefit_cny(i)))
                events["claims_family"] += int(population.member_values("enrolled_by_family", i))
                population.leave(one, ExitReason.CLAIM, period)
            elif reason == ExitReason.ILL_IN_WAITING:
                events["refunds_cny"].append(float(population.member_values("paid_this_membership_cny", i)))
                population.leave(one, ExitReason.ILL_IN_WAITING, period)
                events["exit_reasons"].append(ExitReason.ILL_IN_WAITING)
            elif reason != ExitReason.NONE:
                population.leave(one, reason, period)
                events["exit_reasons"].append(reason)
        elif (
            period < model.platform.announced_period
            and population.may_join(i, period)
            and population.age_periods[i] >= population.adult_age_periods
            and rng.random() < population.join_probability(i, period, signal, cap)
        ):
            events["rejoins"] += population.enter(one, period)
            events["joins"] += 1
            u_family = rng.random()
            if u_family < p["family_enrolment_prob"]:
                relatives, rejoined = population.enrol_relatives(
                    one, np.array([u_family / p["family_enrolment_prob"]]), period
                )
                events["joins_family"] += len(relatives)
                events["rejoins"] += rejoined
        self._age_one_period(period, one)
        self._consider_and_buy_insurance(rng, events)

    def _age_one_period(self, period: int, one: np.ndarray) -> None:
        population = self._population
        self.model.period_events["aged_out"] += population.reach_maximum_age(population.grow_older(one), period)

    def _consider_and_buy_insurance(self, rng: np.random.Generator, events: dict) -> None:
        population, i, p = self._population, self.index, self.model.params
        if not population.alive(i):
            return
        member = population.state[i] in (State.WAITING, State.COVERED)
        if not population.considering[i]:
            p_consider = cross_sell.consider_probability(
                member, p["consider_rate_members"], p["consider_rate_nonmembers"]
            )
            if rng.random() < p_consider:
                population.considering[i] = True
        if population.considering[i] and not population.insured[i]:
            p_buy = cross_sell.buy_probability(
                population.income_cny[i], p["income_median_cny"], p["buy_rate"], p["buy_income_elasticity"]
            )
            if rng.random() < p_buy:
                population.insured[i] = True
                events["buyers_were_members"].append(member)

    def __repr__(self) -> str:
        return f"MemberAgent(index={self.index}, age={self.age_years:.1f}, state={self.state.name})"
