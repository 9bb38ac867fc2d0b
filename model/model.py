"""MutualAidModel: a post-paid equal-sharing mutual-aid pool over unequal risks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from huzhu.agents.member import MemberAgent
from huzhu.agents.population import DEFAULT_CHUNK_SIZE, Population
from huzhu.agents.states import VOLUNTARY_EXIT_REASONS
from huzhu.model import between_plans
from huzhu.model.calendar import Calendar
from huzhu.model.market import MODELLED_PLATFORM, load_market
from huzhu.model.network import build_network, compact
from huzhu.model.parameters import ParameterError, resolve_parameters
from huzhu.model.plans import PlanSetup, oldest_age_years, people_reached, plan_setups
from huzhu.model.pool import EXIT_COLUMNS, REPORTED_COLUMNS, Pool
from huzhu.model.presets import preset_overrides
from huzhu.model.streams import AgentStreams
from huzhu.model.threads import threads_from_environment

MEMBER_OBJECTS_MAX = 50_000  # above this, MemberAgent views are made on demand only
NEVER = 1 << 30  # the period of a closure beyond the run: never reached

__all__ = ["EXIT_COLUMNS", "REPORTED_COLUMNS", "VOLUNTARY_EXIT_COLUMNS", "MutualAidModel"]
VOLUNTARY_EXIT_COLUMNS = tuple(EXIT_COLUMNS[reason] for reason in VOLUNTARY_EXIT_REASONS)
#: Columns of `MutualAidModel.industry_results()`.
INDUSTRY_COLUMNS = ("period", "date", "platform", "members")


class MutualAidModel(mesa.Model):
    """Xianghubao-style online mutual aid: members join, share, claim, leave.

    One step is one sharing period (half a month). By default the model runs one pool,
    Xianghubao's critical-illness plan, from its launch; with `market_scope="market"` it
    runs every plan of data/market.toml over the same people from the first launch (each
    plan's pool in `pools`, the modelled plan first). `running` turns false after the
    settlement period that follows the modelled plan's closure.

    Args:
        preset: Name of a parameter preset (see `huzhu.model.presets.PRESETS`) applied
            before the keyword parameters.
        rng: Seed or numpy Generator (Mesa's convention).
        chunk_size: Agents per chunk of the vectorised passes; results do not depend on it.
        market_file: The market a market model runs (a TOML file as data/market.toml,
            which is the default; `huzhu.model.market.load_market`).
        plan_overrides: Per "platform.plan" of a market model, values that replace the
            market calibration's (`huzhu.model.plans.PLAN_OVERRIDES`: marketing reach,
            incidence factor).
        **params: Any parameter of `huzhu.model.parameters.PARAMETERS`.

    The compiled passes run on the threads `HUZHU_THREADS` names (model/threads.py);
    results do not depend on how many.

    Raises:
        ParameterError: On an unknown parameter or a value that is not allowed.
        MarketError: On a malformed market file.
        ValueError: `HUZHU_THREADS` is set to anything but a thread count.
    """

    def __init__(
        self,
        *,
        preset: str = "default",
        rng=None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        market_file: str | Path | None = None,
        plan_overrides: dict[str, dict[str, float]] | None = None,
        **params: Any,
    ):
        threads_from_environment()
        super().__init__(rng=rng)
        self.preset = preset
        self.params = resolve_parameters({**preset_overrides(preset), **params})
        p = self.params
        setups = plan_setups(p, market_file, plan_overrides=plan_overrides)
        if len(setups) > 1 and p["engine"] == "agents":
            raise ParameterError(
                "engine='agents' runs one plan: allowed with market_scope='one_plan' (the market needs 'vectorised')"
            )
        oldest = oldest_age_years(setups)
        self.people_per_agent = people_reached(p, oldest) / p["n_agents"]
        self.calendar = Calendar(min(setup.launch for setup in setups))
        self.period = 0
        # Every draw of the run is addressed by (stream, period, agent) from this root.
        self.streams = AgentStreams(np.random.SeedSequence(int(self.rng.integers(2**63))))
        people = Population.create(
            p, self.streams, self._build_network, chunk_size,
            oldest_age_years=None if len(setups) == 1 else oldest,
            age_shift_periods=self.calendar.period_of(p["launch_date"]),
            launch_period=self.calendar.period_of(p["launch_date"]),
        )  # fmt: skip
        self.pools = [self._pool(setups[0], people)]
        for setup in setups[1:]:
            launch = self.calendar.period_of(setup.launch)
            population = people.another_plan(
                setup.params, self.streams.for_plan(setup.key), launch, admits_chronic=setup.admits_chronic
            )
            self.pools.append(self._pool(setup, population))
        if self._marks_members_elsewhere:
            for pool in self.pools:
                pool.population.track_members_elsewhere()
        self._transfers = {
            setup.key: [pool for pool in self.pools if pool.setup.transfer_from == setup.key] for setup in setups
        }
        for pool in self.pools:
            pool.population.closure_news_periods = self._closures_elsewhere(pool)
        self._industry_rows: list[dict[str, Any]] = []
        self._members_by_index: dict[int, MemberAgent] = {}
        if p["engine"] == "agents" or p["n_agents"] <= MEMBER_OBJECTS_MAX:
            for i in range(p["n_agents"]):
                self._members_by_index[i] = MemberAgent(self, i)
        self.datacollector = mesa.DataCollector(model_reporters={c: _reporter(c) for c in REPORTED_COLUMNS})

    def _pool(self, setup: PlanSetup, population: Population) -> Pool:
        period_of = self.calendar.period_of
        return Pool(
            self,
            setup,
            population,
            launch_period=period_of(setup.launch),
            announced_period=NEVER if setup.announced is None else period_of(setup.announced),
            end_period=NEVER if setup.closure is None else period_of(setup.closure),
        )

    def _closures_elsewhere(self, pool: Pool) -> np.ndarray:
        """Periods in which platforms other than the pool's closed, whose news draws
        attention to the charge under the salience rule. In a one-plan model the market
        file gives them, read only when that news has an effect, so no run without it
        depends on the market file; in a market model the other pools' closures do."""
        if not self.params["closure_news_attention"]:
            return np.empty(0, dtype=np.int64)
        if len(self.pools) > 1:
            closures = {
                other.platform_key: other.platform.end_period
                for other in self.pools
                if other.platform_key != pool.platform_key and other.platform.end_period != NEVER
            }.values()
        else:
            closures = [
                self.calendar.period_of(platform.closure)
                for key, platform in load_market().items()
                if key != MODELLED_PLATFORM and platform.closure is not None
            ]
        return np.array(sorted(closures), dtype=np.int64)

    @property
    def _marks_members_elsewhere(self) -> bool:
        """Whether joining weighs membership of another platform (several plans, and a
        multi-homing propensity other than 1)."""
        return len(self.pools) > 1 and self.params["multi_homing_propensity"] != 1.0

    def _build_network(self, n_agents: int):
        p = self.params
        # Stored compactly where ties are local (the rows and their order are the same).
        return compact(
            build_network(
                p["network_type"], n_agents, p["mean_degree"], p["rewiring_prob"], self.streams,
                p["network_generator"],
            )
        )  # fmt: skip

    # ---------------------------------------------------------------- the modelled plan
    @property
    def pool(self) -> Pool:
        """The modelled plan's pool (Xianghubao's critical-illness plan)."""
        return self.pools[0]

    @property
    def population(self):
        """The modelled plan's members among the people (`Population`)."""
        return self.pools[0].population

    @property
    def platform(self):
        """The modelled plan's books (`PlatformAgent`)."""
        return self.pools[0].platform

    @property
    def tally(self) -> dict[str, Any]:
        """The modelled plan's accounts this period (`REPORTED_COLUMNS`)."""
        return self.pools[0].tally

    # ---------------------------------------------------------------- schedule
    def step(self) -> None:
        """One sharing period (half a month), in the order of docs/ODD.md section 3; every
        open pool takes each step before any takes the next."""
        if not self.running:
            return
        period, date = self.period, self.calendar.date(self.period)
        pools = [pool for pool in self.pools if pool.is_open(period)]
        for pool in pools:
            pool.open_period(period, date)
            pool.share_last_period_costs(period, date.year)
        for pool in pools:
            if pool.is_settling(period):  # the platform has paid the last shares
                pool.record()
                pool.settled = True
        active = [pool for pool in pools if not pool.settled]
        censuses: dict[str, dict | None] = {}
        if self.params["engine"] == "agents":
            if active:
                self.step_each_agent()
        else:
            for pool in active:
                pool.complete_waiting_periods(period)
                pool.fall_ill_then_decide_to_stay(period, date.year)
            self.decide_to_join(period, date.year, active)
            censuses, aged_out = self.age_then_cross_sell(period, active)
            self.move_at_maximum_age(period, active, aged_out, censuses)
        self.close_if_due(period, active, censuses)
        between_plans.count_exit_destinations(active)
        for pool in active:
            row = pool.record(censuses.get(pool.key))
            if pool is self.pool:
                pool.platform.review_closure(period, row["members"])
                self._close_with_the_modelled_plan()
        if len(self.pools) > 1:
            self._record_industry(period, date)
        if self.pool in pools:
            self.datacollector.collect(self)
        self.running = not self.pool.settled
        self.period += 1

    def _close_with_the_modelled_plan(self) -> None:
        """The closure rule is the modelled platform's decision (`closure_rule`): its other
        plans, and under `competitor_closures="with_modelled"` every platform, close when
        the modelled plan does, however the rule moved its dates; the news of it reaches
        the others when it closes."""
        modelled = self.pool.platform
        moved = False
        for pool in self.pools[1:]:
            if pool.platform_key == self.pool.platform_key or self.params["competitor_closures"] == "with_modelled":
                moved |= pool.platform.end_period != modelled.end_period
                pool.platform.announced_period = modelled.announced_period
                pool.platform.end_period = modelled.end_period
        if moved:
            for pool in self.pools:
                pool.population.closure_news_periods = self._closures_elsewhere(pool)

    def decide_to_join(self, period: int, year: int, active: list[Pool]) -> None:
        """Each open pool's outsiders decide to join, pool by pool; in a market model
        with `multi_homing_propensity` below 1, each pool's joiners count as members
        elsewhere for the pools of other platforms that decide after it."""
        marks = self._marks_members_elsewhere
        if marks:
            between_plans.mark_members_elsewhere(active)
        for pool in active:
            joiners = pool.decide_to_join(period, year)
            if marks and len(joiners):
                between_plans.mark_joiners_elsewhere(active, pool, joiners)

    def age_then_cross_sell(self, period: int, active: list[Pool]) -> tuple[dict, dict]:
        """Everyone ages half a month and passes through the insurance funnel (in the first
        pool's pass, which runs every period); members reaching a plan's maximum age leave
        it. Returns each active pool's census (`Population.census`) and the members each
        pool aged out (agent indices)."""
        censuses: dict[str, dict | None] = {}
        aged_out: dict[str, np.ndarray] = {}
        first = self.pools[0]
        # The first pool ages people from the model's first period, before it opens, to
        # the last before its settlement, which ends the run.
        people_step = [] if first.settled else [first]
        # In a market model the funnel's members are those of any of the platform's plans.
        platform = [pool for pool in active if pool.platform_key == first.platform_key]
        platform_member = None
        if len(self.pools) > 1 and people_step and period >= first.launch_period:  # the funnel runs
            platform_member = np.zeros(self.params["n_agents"], dtype=bool)
            for start, stop in first.population.chunks():
                held = between_plans.platforms_held(platform, slice(start, stop))
                platform_member[start:stop] = held.get(first.platform_key, False)
        for pool in dict.fromkeys([*people_step, *active]):
            censuses[pool.key], aged_out[pool.key] = pool.age_then_cross_sell(
                period, platform_member if pool is first else None
            )
        return censuses, aged_out

    def move_at_maximum_age(
        self, period: int, active: list[Pool], aged_out: dict[str, np.ndarray], censuses: dict[str, dict | None]
    ) -> None:
        """Members a plan has just aged out of move to the plan that takes them over
        (`between_plans.transfer_at_maximum_age`, `plan_transfer_takeup`); the census of
        each plan they joined is taken again."""
        for source in active:
            for target in self._transfers[source.key]:
                if target in active and target.takes_members(period):
                    moved = between_plans.transfer_at_maximum_age(
                        source, target, aged_out[source.key], period, self.params["plan_transfer_takeup"]
                    )
                    source.tally["transfers_out"] += moved
                    target.tally["transfers_in"] += moved
                    if moved:
                        censuses[target.key] = None

    def close_if_due(self, period: int, active: list[Pool], censuses: dict[str, dict | None]) -> None:
        """Pools in their last covered period close, a platform's together: every member
        leaves and lands in one destination (`between_plans.close_platform`); the census
        of each pool the members left or joined is taken again."""
        closing = [pool for pool in active if period == pool.platform.end_period]
        for platform_key in dict.fromkeys(pool.platform_key for pool in closing):
            plans = [pool for pool in closing if pool.platform_key == platform_key]
            others = [other for other in active if other not in closing and other.platform_key != platform_key]
            offered = plans[0].setup.closure_offer == "policy"
            joined = between_plans.close_platform(
                plans, period, self.params["closure_offer_takeup"] if offered else 0.0, others,
                self.params["closure_switch_prob"], self.params["closure_news_contagion"],
            )  # fmt: skip
            for pool in plans:
                censuses[pool.key] = None
            for other, (joins, rejoins) in joined.items():
                other.tally["joins"] += joins
                other.tally["rejoins"] += rejoins
                censuses[other.key] = None

    def _record_industry(self, period: int, date: dt.date) -> None:
        """People who are members of at least one plan, of each platform and of any,
        each counted once (`industry_results`)."""
        recorded = [pool for pool in self.pools if pool.rows and pool.rows[-1]["period"] == period]
        timestamp = pd.Timestamp(date)
        for key, count in between_plans.industry_counts(recorded).items():
            self._industry_rows.append(
                {"period": period, "date": timestamp, "platform": key, "members": count * self.people_per_agent}
            )

    def step_each_agent(self) -> None:
        """Reference path (one plan): every MemberAgent runs its own period, in random
        order (Mesa's `shuffle_do`), then the platform books what they did."""
        pool = self.pool
        self.period_events = {
            "benefits_cny": [], "refunds_cny": [], "exit_reasons": [], "buyers_were_members": [],
            "expected_claims": 0.0, "expected_benefits_cny": 0.0, "expected_claims_family": 0.0, "claims_family": 0,
            "joins": 0, "joins_family": 0, "rejoins": 0, "aged_out": 0,
        }  # fmt: skip
        self.agents_by_type[MemberAgent].shuffle_do("step")
        events = self.period_events
        pool.book_claims(
            self.period,
            np.array(events["benefits_cny"]),
            np.array(events["refunds_cny"]),
            events["expected_claims"],
            events["expected_benefits_cny"],
            claims_family=events["claims_family"],
            expected_claims_family=events["expected_claims_family"],
        )
        pool.count_exits(np.array(events["exit_reasons"], dtype=np.int8))
        for column in ("joins", "joins_family", "rejoins", "aged_out"):
            pool.tally[column] = events[column]
        pool.tally.update(self.platform.sell_insurance(np.array(events["buyers_were_members"], dtype=bool)))

    @property
    def date(self):
        """Start date of the current period."""
        return self.calendar.date(self.period)

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
        """The modelled plan's period table (the DataCollector's model table), one row
        per period from its launch (`REPORTED_COLUMNS`)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def plan_results(self) -> pd.DataFrame:
        """Every plan's period table in long format: `platform`, `plan`, then
        `REPORTED_COLUMNS`, one row per plan and period it was open."""
        tables = []
        for pool in self.pools:
            table = pool.results()
            table.insert(0, "plan", pool.plan_key)
            table.insert(0, "platform", pool.platform_key)
            tables.append(table)
        return pd.concat(tables, ignore_index=True)

    def industry_results(self) -> pd.DataFrame:
        """People who are members, by platform and of any platform ("all"), each counted
        once however many plans they hold (people; `INDUSTRY_COLUMNS`; a market model only)."""
        return pd.DataFrame(self._industry_rows, columns=list(INDUSTRY_COLUMNS))

    @property
    def nbytes(self) -> int:
        """Memory held by the people (traits and network, once) and every plan's own
        arrays (bytes)."""
        return self.population.nbytes + sum(pool.population.plan_nbytes for pool in self.pools[1:])

    @property
    def n_periods(self) -> int:
        """Periods from the first launch to the settlement after the dated closure."""
        return self.calendar.period_of(self.params["closure_date"]) + 2


def _reporter(column: str):
    def report(model: MutualAidModel):
        return model.tally[column]

    report.__name__ = column
    return report
