"""MutualAidModel: a post-paid equal-sharing mutual-aid pool over unequal risks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from huzhu.agents.member import MemberAgent
from huzhu.agents.population import DEFAULT_CHUNK_SIZE, Population
from huzhu.agents.states import VOLUNTARY_EXIT_REASONS, State
from huzhu.model.calendar import Calendar
from huzhu.model.market import MODELLED_PLATFORM, load_market
from huzhu.model.network import build_network
from huzhu.model.parameters import ParameterError, resolve_parameters
from huzhu.model.plans import PlanSetup, oldest_age_years, people_reached, plan_setups
from huzhu.model.pool import EXIT_COLUMNS, REPORTED_COLUMNS, Pool
from huzhu.model.presets import preset_overrides
from huzhu.model.streams import AgentStreams, Stream
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

    def _build_network(self, n_agents: int):
        p = self.params
        return build_network(
            p["network_type"], n_agents, p["mean_degree"], p["rewiring_prob"], self.streams, p["network_generator"]
        )

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
            self._mark_members_elsewhere(active)
            for pool in active:
                pool.decide_to_join(period, date.year)
            censuses = self.age_then_cross_sell(period, active)
        self._close_due(period, active, censuses)
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
        the modelled plan does, however the rule moved its dates."""
        modelled = self.pool.platform
        for pool in self.pools[1:]:
            if pool.platform_key == self.pool.platform_key or self.params["competitor_closures"] == "with_modelled":
                pool.platform.announced_period = modelled.announced_period
                pool.platform.end_period = modelled.end_period

    def age_then_cross_sell(self, period: int, active: list[Pool]) -> dict[str, dict | None]:
        """Everyone ages half a month and passes through the insurance funnel (in the first
        pool's pass, which runs every period); members reaching a plan's maximum age leave
        it, and some move to the plan that takes them over. Returns each active pool's
        census, None where it must be taken again."""
        censuses: dict[str, dict | None] = {}
        first = self.pools[0]
        # The first pool ages people from the model's first period, before it opens, to
        # the last before its settlement, which ends the run.
        people_step = [] if first.settled else [first]
        for pool in dict.fromkeys([*people_step, *active]):
            census, aged_out = pool.age_then_cross_sell(period)
            censuses[pool.key] = census
            for target in self._transfers[pool.key] if len(aged_out) else ():
                if target in active and target.takes_members(period):
                    moved = self._transfer(pool, target, aged_out, period)
                    pool.tally["transfers_out"] += moved
                    target.tally["transfers_in"] += moved
                    if target.key in censuses:  # counted before the transfer
                        censuses[target.key] = None
        return censuses

    def _transfer(self, source: Pool, target: Pool, aged_out: np.ndarray, period: int) -> int:
        """Members of `source` who have just aged out move to `target` covered, each with
        probability `plan_transfer_takeup` (one uniform each, `Stream.PLAN_TRANSFER` of
        the target's streams). Returns how many moved (agents)."""
        takeup = self.params["plan_transfer_takeup"]
        if not len(aged_out) or not takeup:
            return 0
        target_population = target.population
        movers = aged_out[_uniform_at(target_population, Stream.PLAN_TRANSFER, period, aged_out) < takeup]
        state = target_population.state[movers]
        movers = movers[(state != State.WAITING) & (state != State.COVERED)]
        target_population.take_over(movers, period, source.population.first_join_period[movers])
        return len(movers)

    def _close_due(self, period: int, active: list[Pool], censuses: dict[str, dict | None]) -> None:
        """Pools in their last covered period close: every member leaves, some take the
        offered policy, some join another platform (`closure_switch_prob`); the census of
        each pool the members left or joined is taken again."""
        closing = [pool for pool in active if period == pool.platform.end_period]
        for pool in closing:
            closed, took_policy = pool.close(period)
            censuses[pool.key] = None
            if len(self.pools) > 1:
                self._after_closure(pool, closed, took_policy, period, active, closing, censuses)

    def _after_closure(
        self,
        pool: Pool,
        closed: np.ndarray,
        took_policy: np.ndarray,
        period: int,
        active: list[Pool],
        closing: list[Pool],
        censuses: dict[str, dict | None],
    ) -> None:
        """Where a closed pool's members go: those who took the policy are insured; of the
        others, those still members of another open platform stay there; the rest join
        another open platform with probability `closure_switch_prob`, choosing among the
        platforms taking members with weight 1 + their neighbours there (what they see on
        their phone, and their friends), if it admits them; else they leave mutual aid."""
        open_elsewhere = [
            other for other in active
            if other not in closing and other.platform_key != pool.platform_key and other.takes_members(period)
        ]  # fmt: skip
        rest = np.setdiff1d(closed, took_policy, assume_unique=True)
        elsewhere = np.zeros(len(rest), dtype=bool)
        for other in active:
            if other not in closing and other.platform_key != pool.platform_key:
                elsewhere |= other.population.is_member(rest)
        pool.tally["closure_member_elsewhere"] = int(np.count_nonzero(elsewhere))
        candidates = rest[~elsewhere]
        switch_prob = self.params["closure_switch_prob"]
        if not switch_prob or not open_elsewhere or not len(candidates):
            return
        u = _uniform_at(pool.population, Stream.CLOSURE_SWITCH, period, candidates)
        switching = candidates[u < switch_prob]
        u_choice = (u[u < switch_prob] / switch_prob)[:, None]
        weights = np.stack([1.0 + other.population.member_neighbours[switching] for other in open_elsewhere], axis=1)
        cumulative = np.cumsum(weights, axis=1)
        choice = (u_choice * cumulative[:, -1:] >= cumulative).sum(axis=1)
        switched = 0
        for k, other in enumerate(open_elsewhere):
            chosen = switching[choice == k]
            chosen = chosen[other.population.may_join(chosen, period)]
            if len(chosen):
                other.population.enter(chosen.astype(np.int64), period)
                other.tally["joins"] += len(chosen)
                censuses[other.key] = None
                switched += len(chosen)
        pool.tally["closure_switched"] = switched

    def _mark_members_elsewhere(self, active: list[Pool]) -> None:
        """Before the joining passes of a market model: who is a member of a platform
        other than each pool's (`member_elsewhere`), read when `multi_homing_propensity`
        is below 1."""
        if len(self.pools) == 1 or self.params["multi_homing_propensity"] == 1.0:
            return
        platforms = {pool.platform_key for pool in active}
        for start, stop in self.population.chunks():
            chunk = slice(start, stop)
            member_of = {key: np.zeros(stop - start, dtype=bool) for key in platforms}
            for pool in active:
                member_of[pool.platform_key] |= pool.population.is_member(chunk)
            platforms_held = np.sum(list(member_of.values()), axis=0, dtype=np.int8)
            for pool in active:
                pool.population.member_elsewhere[chunk] = platforms_held > member_of[pool.platform_key]

    def _record_industry(self, period: int, date) -> None:
        """People who are members of at least one plan, of each platform and of any,
        each counted once (`industry_results`)."""
        open_pools = [pool for pool in self.pools if pool.rows and pool.rows[-1]["period"] == period]
        counts = {key: 0 for key in dict.fromkeys(pool.platform_key for pool in open_pools)}
        anywhere = 0
        for start, stop in self.population.chunks():
            chunk = slice(start, stop)
            member_any = np.zeros(stop - start, dtype=bool)
            for key in counts:
                member_of = np.zeros(stop - start, dtype=bool)
                for pool in open_pools:
                    if pool.platform_key == key:
                        member_of |= pool.population.is_member(chunk)
                counts[key] += int(np.count_nonzero(member_of))
                member_any |= member_of
            anywhere += int(np.count_nonzero(member_any))
        timestamp = pd.Timestamp(date)
        scale = self.people_per_agent
        for key, count in {**counts, "all": anywhere}.items():
            self._industry_rows.append({"period": period, "date": timestamp, "platform": key, "members": count * scale})

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


def _uniform_at(population: Population, stream: Stream, period: int, agents: np.ndarray) -> np.ndarray:
    """One uniform for each agent of `agents` (ascending) from the population's `stream`
    in `period`, item i being agent i's, drawn a chunk at a time."""
    out = np.empty(len(agents))
    for start, stop in population.chunks():
        low, high = np.searchsorted(agents, [start, stop])
        if high > low:
            local_period = period - population.launch_period
            out[low:high] = population.streams.uniforms(stream, local_period, start, stop)[agents[low:high] - start]
    return out


def _reporter(column: str):
    def report(model: MutualAidModel):
        return model.tally[column]

    report.__name__ = column
    return report
