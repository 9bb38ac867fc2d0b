"""One plan's pool in a model: its members (a `Population`), its books (a `PlatformAgent`)
and its period, phase by phase.

`MutualAidModel` runs one pool (Xianghubao's critical-illness plan) or, with
`market_scope="market"`, a pool for every plan of data/market.toml over the same people.
Each phase below is the plan's part of a step of the schedule (docs/ODD.md section 3);
the model calls them for every open pool in turn, phase by phase, so every pool sees the
people as they are at the same point of the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from huzhu.agents.platform import PlatformAgent
from huzhu.agents.population import Population
from huzhu.agents.states import ExitReason
from huzhu.model.plans import PlanSetup

EXIT_COLUMNS = {
    ExitReason.PRICE: "exits_price",
    ExitReason.CONTAGION: "exits_contagion",
    ExitReason.OTHER: "exits_other",
    ExitReason.ILL_IN_WAITING: "exits_ill_in_waiting",
    ExitReason.CLOSURE: "exits_closure",
}

#: Columns of a pool's period table; counts are people, amounts CNY, all for the period
#: of the row unless named cumulative.
REPORTED_COLUMNS = (
    "period",
    "date",
    "members",
    "sharers",
    "waiting",
    "covered",
    "joins",
    "joins_family",
    "rejoins",
    "transfers_in",
    "exits",
    *EXIT_COLUMNS.values(),
    "aged_out",
    "transfers_out",
    "claims",
    "claims_family",
    "cases_announced",
    "payouts",
    "refunds",
    "shared_total",
    "share_per_member",
    "expected_cost_per_member",
    "collected",
    "fee_revenue",
    "platform_subsidy",
    "cap_subsidy",
    "cumulative_aided",
    "adverse_selection_index",
    "mean_member_age",
    "consider_rate_members",
    "consider_rate_nonmembers",
    "insurance_buyers",
    "insurance_buyers_members",
    "commission_revenue",
    "closure_took_policy",
    "closure_switched",
    "closure_member_elsewhere",
    "exits_to_other_platform",
    "exits_to_insurance",
    "exits_to_none",
    # Poisson-free counterparts of the claim accounts: the same rules applied to the
    # expectation of each period's claims given who is covered (calibration targets).
    "expected_claims",
    "expected_claims_family",
    "expected_cases_announced",
    "expected_cumulative_aided",
    "expected_shared_total",
    "expected_share_per_member",
    "expected_fee_revenue",
)
#: Columns counted in agents during the period and reported in people.
_COUNTED = (
    "joins", "joins_family", "rejoins", "transfers_in", "exits", *EXIT_COLUMNS.values(), "aged_out",
    "transfers_out", "claims", "claims_family", "closure_took_policy", "closure_switched", "closure_member_elsewhere",
    "exits_to_other_platform", "exits_to_insurance", "exits_to_none",
)  # fmt: skip


class Pool:
    """A plan's members and books over the model's periods.

    Args:
        model: The model the pool belongs to (its calendar, scale and agents).
        setup: The plan as the model runs it (`huzhu.model.plans.PlanSetup`): its key,
            parameters, sharing cadence, closure offer and the plan it takes over from.
        population: Its members among the model's people.
        launch_period: Model period in which it opens (0 in a one-plan model).
        announced_period, end_period: Model periods of the closure announcement and the
            last covered period.

    Attributes:
        model, setup, population, launch_period: As given.
        key, platform_key, plan_key: "platform.plan", and its two parts.
        params: The plan's resolved parameters.
        platform: The plan's books (`PlatformAgent`).
        tally: This period's accounts, one entry per `REPORTED_COLUMNS` column.
        rows: The period table so far, one dict a recorded period.
        settled: Whether the settlement after its closure is over.
    """

    def __init__(
        self,
        model,
        setup: PlanSetup,
        population: Population,
        launch_period: int,
        announced_period: int,
        end_period: int,
    ):
        self.model = model
        self.setup = setup
        self.key = setup.key
        self.platform_key, _, self.plan_key = setup.key.partition(".")
        self.params = setup.params
        self.population = population
        self.launch_period = launch_period
        self.platform = PlatformAgent(model, self, announced_period, end_period)
        self.tally: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []
        self.settled = False
        self._last_shared_year: int | None = None

    # ---------------------------------------------------------------- when
    def is_open(self, period: int) -> bool:
        """Whether the plan runs in `period`: launched, and not past its settlement."""
        return self.launch_period <= period and not self.settled

    def is_settling(self, period: int) -> bool:
        """Whether `period` is the settlement after the plan's last covered period."""
        return period > self.platform.end_period

    def takes_members(self, period: int) -> bool:
        """Whether outsiders may join in `period` (until the closure is announced)."""
        return self.launch_period <= period < self.platform.announced_period

    # ---------------------------------------------------------------- phases
    def open_period(self, period: int, date: dt.date) -> None:
        """A fresh tally for the period (starting on `date`): every reported column at zero."""
        self.tally = {c: 0 for c in REPORTED_COLUMNS}
        self.tally.update(period=period, date=pd.Timestamp(date))

    def share_last_period_costs(self, period: int, year: int) -> None:
        """The platform splits the benefits paid since its last sharing, and the fee on
        them, among today's members, in each of the plan's sharing periods and in the
        settlement after its closure, which shares whatever is left."""
        off_cycle = (period - self.launch_period) % self.setup.share_every_periods
        if off_cycle and not self.is_settling(period):
            return
        new_year = self._last_shared_year != year
        self._last_shared_year = year
        self.tally.update(self.platform.share_last_period_costs(period, year, new_year))

    def complete_waiting_periods(self, period: int) -> None:
        """Waiting members whose waiting period is over become covered."""
        self.population.complete_waiting_periods(period)

    def fall_ill_then_decide_to_stay(self, period: int, year: int) -> None:
        """Members fall ill (the covered are paid, the waiting refunded); the others weigh
        charges, churn and neighbours' exits, and some leave."""
        cap = self.platform.cap_in_force(year)
        events = self.population.fall_ill_then_decide_to_stay(period, self.platform.charge_signal, cap)
        self.book_claims(
            period,
            events["benefits_cny"],
            events["refunds_cny"],
            events["expected_claims"],
            events["expected_benefits_cny"],
            claims_family=int(
                np.count_nonzero(self.population.member_values("enrolled_by_family", events["claimants"]))
            ),
            expected_claims_family=events["expected_claims_family"],
        )
        self.count_exits(np.full(len(events["ill_in_waiting"]), ExitReason.ILL_IN_WAITING))
        self.count_exits(events["exit_reasons"])

    def book_claims(
        self,
        period: int,
        benefits_cny: np.ndarray,
        refunds_cny: np.ndarray,
        expected_claims: float,
        expected_benefits_cny: float,
        claims_family: int,
        expected_claims_family: float,
    ) -> None:
        """The platform takes the period's claims and refunds (`PlatformAgent.pay_claims`);
        the tally counts them and the cover's expected cost per member."""
        self.tally.update(
            self.platform.pay_claims(period, benefits_cny, refunds_cny, expected_claims, expected_benefits_cny)
        )
        self.tally["claims"] = len(benefits_cny)
        self.tally["claims_family"] = claims_family
        self.tally["expected_claims_family"] = expected_claims_family * self.model.people_per_agent
        if self.tally["sharers"]:
            expected = (1 + self.params["fee_rate"]) * expected_benefits_cny * self.model.people_per_agent
            self.tally["expected_cost_per_member"] = expected / self.tally["sharers"]

    def decide_to_join(self, period: int, year: int) -> np.ndarray:
        """Eligible outsiders join, until the closure is announced. Returns those who
        joined, by their own decision or a relative's (agent indices)."""
        if not self.takes_members(period):
            return np.empty(0, dtype=np.int64)
        cap = self.platform.cap_in_force(year)
        joined, relatives, rejoined = self.population.decide_to_join(period, self.platform.charge_signal, cap)
        self.tally["joins"], self.tally["joins_family"], self.tally["rejoins"] = len(joined), len(relatives), rejoined
        return np.concatenate([joined, relatives])

    def age_then_cross_sell(self, period: int, platform_member: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
        """People age half a month (in the model's first pool; any other checks only its
        maximum age), members reaching the maximum age leave; then, in the first pool,
        agents come to consider and buy commercial insurance and the platform books
        commission, on purchases by `platform_member`s in a market model (members of any
        of the platform's plans). Returns the census taken in the same pass
        (`Population.census`) and the members who aged out (agent indices)."""
        aged_out, buyers_were_members, census = self.population.age_then_consider_and_buy_insurance(
            period, platform_member
        )
        self.tally["aged_out"] = len(aged_out)
        if self.population.people_step:
            self.tally.update(self.platform.sell_insurance(buyers_were_members))
        return census, aged_out

    def close(self, period: int) -> np.ndarray:
        """In the last covered period every member leaves (`Population.close_plan`).
        Returns those who left (agent indices, ascending)."""
        closed = self.population.close_plan(period)
        self.count_exits(np.full(len(closed), ExitReason.CLOSURE))
        return closed

    def count_exits(self, reasons: np.ndarray) -> None:
        """Add exits, by reason, to the tally (agents)."""
        for reason, column in EXIT_COLUMNS.items():
            self.tally[column] += int(np.count_nonzero(reasons == reason))

    def record(self, census: dict | None = None) -> dict[str, Any]:
        """Convert agent counts to people, add the stock measures, and keep the row.

        Args:
            census: The population's census at the end of the period, if a pass has
                taken it (`Population.census`); else it is taken now.

        Returns:
            The period's row (the tally).
        """
        tally = self.tally
        scale = self.model.people_per_agent
        tally["joins"] += tally["joins_family"]
        tally["exits"] = sum(tally[c] for c in EXIT_COLUMNS.values())
        for column in _COUNTED:
            tally[column] *= scale
        if census is None:
            census = self.population.census()
        tally["waiting"] = census["waiting"] * scale
        tally["covered"] = census["covered"] * scale
        tally["members"] = tally["waiting"] + tally["covered"]
        tally["cumulative_aided"] = self.platform.totals["cumulative_aided"]
        tally["expected_cumulative_aided"] = self.platform.totals["expected_cumulative_aided"]
        members = census["waiting"] + census["covered"]
        tally["adverse_selection_index"] = _ratio(
            _ratio(census["risk_members"], members), _ratio(census["risk_eligible"], census["eligible"])
        )
        tally["mean_member_age"] = _ratio(census["age_members"], members)
        tally["consider_rate_members"] = _ratio(census["considering_members"], members)
        tally["consider_rate_nonmembers"] = _ratio(census["considering_nonmembers"], census["nonmembers"])
        self.rows.append(dict(tally))
        return tally

    def results(self) -> pd.DataFrame:
        """The pool's period table, one row per recorded period (`REPORTED_COLUMNS`)."""
        return pd.DataFrame(self.rows, columns=list(REPORTED_COLUMNS))


def _ratio(a: float, b: float) -> float:
    """a / b, or nan when b is zero or nan (an empty group)."""
    return float(a / b) if b and not np.isnan(b) else np.nan
