"""MutualAidModel: a post-paid equal-sharing mutual-aid pool over unequal risks."""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd

from huzhu.agents.member import MemberAgent
from huzhu.agents.platform import PlatformAgent
from huzhu.agents.population import DEFAULT_CHUNK_SIZE, Population
from huzhu.agents.states import VOLUNTARY_EXIT_REASONS, ExitReason
from huzhu.model.calendar import Calendar
from huzhu.model.market import MODELLED_PLATFORM, load_market
from huzhu.model.network import build_network
from huzhu.model.parameters import resolve_parameters
from huzhu.model.presets import preset_overrides
from huzhu.model.streams import AgentStreams
from huzhu.model.threads import threads_from_environment

MEMBER_OBJECTS_MAX = 50_000  # above this, MemberAgent views are made on demand only

EXIT_COLUMNS = {
    ExitReason.PRICE: "exits_price",
    ExitReason.CONTAGION: "exits_contagion",
    ExitReason.OTHER: "exits_other",
    ExitReason.ILL_IN_WAITING: "exits_ill_in_waiting",
    ExitReason.CLOSURE: "exits_closure",
}
VOLUNTARY_EXIT_COLUMNS = tuple(EXIT_COLUMNS[reason] for reason in VOLUNTARY_EXIT_REASONS)

#: Columns of `MutualAidModel.datacollector`'s model DataFrame; counts are people,
#: amounts CNY, all for the period of the row unless named cumulative.
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
    "exits",
    *EXIT_COLUMNS.values(),
    "aged_out",
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


class MutualAidModel(mesa.Model):
    """Xianghubao-style online mutual aid: members join, share, claim, leave.

    One step is one sharing period (half a month) from the launch date to closure;
    `running` turns false after the settlement period that follows closure.

    Args:
        preset: Name of a parameter preset (see `huzhu.model.presets.PRESETS`) applied
            before the keyword parameters.
        rng: Seed or numpy Generator (Mesa's convention).
        **params: Any parameter of `huzhu.model.parameters.PARAMETERS`.

    The compiled passes run on the threads `HUZHU_THREADS` names (model/threads.py);
    results do not depend on how many.

    Raises:
        ParameterError: On an unknown parameter or a value that is not allowed.
        ValueError: `HUZHU_THREADS` is set to anything but a thread count.
    """

    def __init__(self, *, preset: str = "default", rng=None, chunk_size: int = DEFAULT_CHUNK_SIZE, **params: Any):
        threads_from_environment()
        super().__init__(rng=rng)
        self.preset = preset
        self.params = resolve_parameters({**preset_overrides(preset), **params})
        p = self.params
        self.people_per_agent = p["population"] / p["n_agents"]
        self.calendar = Calendar(p["launch_date"])
        self.period = 0
        # Every draw of the run is addressed by (stream, period, agent) from this root.
        self.streams = AgentStreams(np.random.SeedSequence(int(self.rng.integers(2**63))))
        self.population = Population.create(p, self.streams, self._build_network, chunk_size)
        self.population.closure_news_periods = self._closures_elsewhere()
        self.platform = PlatformAgent(
            self,
            announced_period=self.calendar.period_of(p["closure_announced_date"]),
            end_period=self.calendar.period_of(p["closure_date"]),
        )
        self._members_by_index: dict[int, MemberAgent] = {}
        if p["engine"] == "agents" or p["n_agents"] <= MEMBER_OBJECTS_MAX:
            for i in range(p["n_agents"]):
                self._members_by_index[i] = MemberAgent(self, i)
        self.tally: dict[str, Any] = {}
        self.datacollector = mesa.DataCollector(model_reporters={c: _reporter(c) for c in REPORTED_COLUMNS})

    def _closures_elsewhere(self) -> np.ndarray:
        """Periods in which the market's other platforms closed (data/market.toml), whose
        news draws attention to the charge under the salience rule; read only when that
        news has an effect, so no run without it depends on the market file."""
        if not self.params["closure_news_attention"]:
            return np.empty(0, dtype=np.int64)
        closures = [
            self.calendar.period_of(platform.closure)
            for key, platform in load_market().items()
            if key != MODELLED_PLATFORM and platform.closure is not None
        ]
        return np.array(sorted(closures), dtype=np.int64)

    def _build_network(self, n_agents: int):
        p = self.params
        return build_network(
            p["network_type"], n_agents, p["mean_degree"], p["rewiring_prob"], self.streams, p["network_generator"]
        )

    # ---------------------------------------------------------------- schedule
    def step(self) -> None:
        """One sharing period (half a month), in the order of docs/ODD.md section 3."""
        if not self.running:
            return
        self._open_period()
        self.share_last_period_costs()
        if self.period > self.platform.end_period:
            self._settle()
            return
        census = None
        if self.params["engine"] == "agents":
            self.step_each_agent()
        else:
            self.population.complete_waiting_periods(self.period)
            self.fall_ill_then_decide_to_stay()
            self.decide_to_join()
            census = self.age_then_cross_sell()
        if self.close_if_due():
            census = None  # taken before the members left: count again
        self._record_period(census)
        self.platform.review_closure(self.period, self.tally["members"])
        self.period += 1

    def share_last_period_costs(self) -> None:
        """The platform splits last period's benefits and the fee on them among today's members."""
        date = self.calendar.date(self.period)
        new_year = self.period == 0 or self.calendar.date(self.period - 1).year != date.year
        self.tally.update(self.platform.share_last_period_costs(self.period, date.year, new_year))

    def fall_ill_then_decide_to_stay(self) -> None:
        """Members fall ill (the covered are paid, the waiting refunded); the others weigh
        charges, churn and neighbours' exits, and some leave."""
        cap = self.platform.cap_in_force(self.calendar.date(self.period).year)
        events = self.population.fall_ill_then_decide_to_stay(self.period, self.platform.charge_signal, cap)
        self.tally.update(
            self.platform.pay_claims(
                self.period,
                events["benefits_cny"],
                events["refunds_cny"],
                events["expected_claims"],
                events["expected_benefits_cny"],
            )
        )
        self.tally["claims"] = len(events["claimants"])
        self.tally["claims_family"] = int(np.count_nonzero(self.population.enrolled_by_family[events["claimants"]]))
        self.tally["expected_claims_family"] = events["expected_claims_family"] * self.people_per_agent
        self._count_exits(np.full(len(events["ill_in_waiting"]), ExitReason.ILL_IN_WAITING))
        self._count_exits(events["exit_reasons"])
        self._record_expected_cost(events["expected_benefits_cny"])

    def _record_expected_cost(self, expected_benefits_cny: float) -> None:
        """Poisson-free counterpart of next period's share: this period's cover cost per member."""
        if self.tally["sharers"]:
            expected = (1 + self.params["fee_rate"]) * expected_benefits_cny * self.people_per_agent
            self.tally["expected_cost_per_member"] = expected / self.tally["sharers"]

    def decide_to_join(self) -> None:
        """Eligible outsiders join, until the closure is announced."""
        if self.period >= self.platform.announced_period:
            return
        cap = self.platform.cap_in_force(self.calendar.date(self.period).year)
        joins = self.population.decide_to_join(self.period, self.platform.charge_signal, cap)
        self.tally["joins"], self.tally["joins_family"], self.tally["rejoins"] = joins

    def age_then_cross_sell(self) -> dict:
        """Everyone ages half a month (members reaching the maximum age leave); then agents
        come to consider and buy commercial insurance and the platform books commission.
        Returns the census taken in the same pass (`Population.census`)."""
        self.tally["aged_out"], buyers_were_members, census = self.population.age_then_consider_and_buy_insurance(
            self.period
        )
        self.tally.update(self.platform.sell_insurance(buyers_were_members))
        return census

    def step_each_agent(self) -> None:
        """Reference path: every MemberAgent runs its own period, in random order (Mesa's
        `shuffle_do`), then the platform books what they did."""
        self.period_events = {
            "benefits_cny": [], "refunds_cny": [], "exit_reasons": [], "buyers_were_members": [],
            "expected_claims": 0.0, "expected_benefits_cny": 0.0, "expected_claims_family": 0.0, "claims_family": 0,
            "joins": 0, "joins_family": 0, "rejoins": 0, "aged_out": 0,
        }  # fmt: skip
        self.agents_by_type[MemberAgent].shuffle_do("step")
        events = self.period_events
        self.tally.update(
            self.platform.pay_claims(
                self.period,
                np.array(events["benefits_cny"]),
                np.array(events["refunds_cny"]),
                events["expected_claims"],
                events["expected_benefits_cny"],
            )
        )
        self.tally["claims"] = len(events["benefits_cny"])
        self.tally["claims_family"] = events["claims_family"]
        self.tally["expected_claims_family"] = events["expected_claims_family"] * self.people_per_agent
        self._count_exits(np.array(events["exit_reasons"], dtype=np.int8))
        self._record_expected_cost(events["expected_benefits_cny"])
        for column in ("joins", "joins_family", "rejoins", "aged_out"):
            self.tally[column] = events[column]
        self.tally.update(self.platform.sell_insurance(np.array(events["buyers_were_members"], dtype=bool)))

    @property
    def date(self):
        """Start date of the current period."""
        return self.calendar.date(self.period)

    def close_if_due(self) -> bool:
        """In the last covered period every member leaves, some taking the policy offered.
        Returns whether they did."""
        if self.period != self.platform.end_period:
            return False
        closed, took_policy = self.population.close_plan(self.period)
        self._count_exits(np.full(closed, ExitReason.CLOSURE))
        self.tally["closure_took_policy"] = took_policy
        return True

    def _settle(self) -> None:
        """Settlement after closure: the platform has paid the last shares; the run ends."""
        self._record_period()
        self.running = False
        self.period += 1

    # ---------------------------------------------------------------- bookkeeping
    def _open_period(self) -> None:
        """A fresh tally for the period: every reported column at zero."""
        self.tally = {c: 0 for c in REPORTED_COLUMNS}
        self.tally.update(period=self.period, date=pd.Timestamp(self.calendar.date(self.period)))

    def _count_exits(self, reasons: np.ndarray) -> None:
        for reason, column in EXIT_COLUMNS.items():
            self.tally[column] += int(np.count_nonzero(reasons == reason))

    def _record_period(self, census: dict | None = None) -> None:
        """Convert agent counts to people, add the stock measures, and collect.

        Args:
            census: The population's census at the end of the period, if a pass has
                taken it (`Population.census`); else it is taken now.
        """
        tally = self.tally
        scale = self.people_per_agent
        population = self.population
        tally["joins"] += tally["joins_family"]
        tally["exits"] = sum(tally[c] for c in EXIT_COLUMNS.values())
        counted = (
            "joins", "joins_family", "rejoins", "exits", *EXIT_COLUMNS.values(), "aged_out", "claims",
            "closure_took_policy",
        )  # fmt: skip
        for column in (*counted, "claims_family"):
            tally[column] *= scale
        if census is None:
            census = population.census()
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
        self.datacollector.collect(self)

    # ---------------------------------------------------------------- interface
    def member(self, index: int) -> MemberAgent:
        """The MemberAgent of agent `index` (made on demand at large sizes)."""
        if not 0 <= index < self.params["n_agents"]:
            raise IndexError(f"agent index {index} is outside 0..{self.params['n_agents'] - 1}")
        if index not in self._members_by_index:
            self._members_by_index[index] = MemberAgent(self, index)
        return self._members_by_index[index]

    def run(self, progress=None) -> pd.DataFrame:
        """Step until closure and settlement; return the period table.

        Args:
            progress: Optional callable(period) called after each step (for progress bars).
        """
        while self.running:
            self.step()
            if progress is not None:
                progress(self.period)
        return self.results()

    def results(self) -> pd.DataFrame:
        """The DataCollector's model table, one row per period."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    @property
    def n_periods(self) -> int:
        """Periods from launch to the settlement after the dated closure."""
        return self.calendar.period_of(self.params["closure_date"]) + 2


def _reporter(column: str):
    def report(model: MutualAidModel):
        return model.tally[column]

    report.__name__ = column
    return report


def _ratio(a: float, b: float) -> float:
    """a / b, or nan when b is zero or nan (an empty group)."""
    return float(a / b) if b and not np.isnan(b) else np.nan
