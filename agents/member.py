"""MemberAgent: one person of the eligible population, a view onto the model's arrays."""

from __future__ import annotations

import mesa

from huzhu.agents.states import ExitReason, State


class MemberAgent(mesa.Agent):
    """One agent of the population, member of the plan or not.

    The agent owns no data: every attribute reads (or writes) index `index` of the
    model's `Population` arrays, so agent objects and the vectorised engine always
    agree. The model creates one object per agent at small sizes and none at large
    ones; `MutualAidModel.member(i)` gives a view of any agent on demand.

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
        return float(self._population.age_years[self.index])

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
        return ExitReason(self._population.exit_reason[self.index])

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
        return float(self._population.contributions_cny[self.index])

    @property
    def neighbours(self) -> list[int]:
        """Indices of its network ties."""
        return self._population.network.neighbours(self.index).tolist()

    def __repr__(self) -> str:
        return f"MemberAgent(index={self.index}, age={self.age_years:.1f}, state={self.state.name})"
