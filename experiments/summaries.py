"""End-of-run summaries: the numbers a sweep keeps per run and sensitivity analysis explains.

Each metric is a function of one run's period table and its announcement period, with a
unit and a definition; `huzhu.experiments.load` and `huzhu sensitivity` read them by name.
A market run (`market_scope="market"`) has the market's metrics too (`MARKET_METRICS`),
functions of every plan's table and the industry's members; they are nan in a one-plan run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.market import RECORD_END, load_market


@dataclass(frozen=True)
class SummaryMetric:
    """One end-of-run number.

    Attributes:
        name: Column name in the summaries table.
        unit: Unit of the value.
        definition: What is measured, in one sentence.
        compute: Function of (period table, announcement period index) returning a float.
    """

    name: str
    unit: str
    definition: str
    compute: Callable[[pd.DataFrame, int], float]


def _operating(table: pd.DataFrame, announced: int) -> pd.DataFrame:
    """Rows before the closure announcement (the plan as members knew it)."""
    return table.iloc[:announced]


def _peak_members(table: pd.DataFrame, announced: int) -> float:
    return float(table["members"].max())


def _peak_period(table: pd.DataFrame, announced: int) -> float:
    return float(table["members"].idxmax())


def _periods_peak_to_half(table: pd.DataFrame, announced: int) -> float:
    # Censored at closure: the closure empties the pool, so every run reaches half.
    members = table["members"].to_numpy()
    peak = int(members.argmax())
    below = np.flatnonzero(members[peak:] < members[peak] / 2)
    return float(below[0]) if len(below) else float(len(members) - peak)


def _members_at_announcement(table: pd.DataFrame, announced: int) -> float:
    return float(table["members"].iloc[max(announced - 1, 0)])


def _share_first_year(table: pd.DataFrame, announced: int) -> float:
    return float(_operating(table, announced)["share_per_member"].iloc[:PERIODS_PER_YEAR].sum())


def _share_final_year(table: pd.DataFrame, announced: int) -> float:
    return float(_operating(table, announced)["share_per_member"].iloc[-PERIODS_PER_YEAR:].sum())


def _cost_growth(table: pd.DataFrame, announced: int) -> float:
    # First four periods with covered members against the last operating year.
    cost = _operating(table, announced)["expected_cost_per_member"]
    covered = _operating(table, announced)["covered"] > 0
    first = cost[covered].iloc[:4].mean()
    last = cost.iloc[-PERIODS_PER_YEAR:].mean()
    return float(last / first) if first > 0 else float("nan")


def _total(column: str) -> Callable[[pd.DataFrame, int], float]:
    def total(table: pd.DataFrame, announced: int) -> float:
        return float(table[column].sum())

    return total


def _at_announcement(column: str) -> Callable[[pd.DataFrame, int], float]:
    def at_announcement(table: pd.DataFrame, announced: int) -> float:
        return float(table[column].iloc[max(announced - 1, 0)])

    return at_announcement


def _consideration_gap(table: pd.DataFrame, announced: int) -> float:
    row = table.iloc[max(announced - 1, 0)]
    return float(row["consider_rate_members"] - row["consider_rate_nonmembers"])


_M = SummaryMetric
SUMMARY_METRICS: dict[str, SummaryMetric] = {
    m.name: m
    for m in (
        _M("peak_members", "people", "largest number of members in any period", _peak_members),
        _M("peak_period", "periods since launch", "period of the peak (first if tied)", _peak_period),
        _M(
            "periods_peak_to_half",
            "periods",
            "periods from the peak to the first period with fewer than half the peak members (censored at closure)",
            _periods_peak_to_half,
        ),
        _M(
            "members_at_announcement",
            "people",
            "members in the last period before the closure announcement",
            _members_at_announcement,
        ),
        _M(
            "share_per_member_first_year",
            "CNY per member",
            "sum of the share per member over the first 24 periods",
            _share_first_year,
        ),
        _M(
            "share_per_member_final_year",
            "CNY per member",
            "sum of the share per member over the 24 periods before the closure announcement",
            _share_final_year,
        ),
        _M(
            "expected_cost_growth",
            "1",
            "expected cost per member in the final operating year over the first four covered periods",
            _cost_growth,
        ),
        _M("total_payouts", "CNY", "benefits paid from launch to settlement", _total("payouts")),
        _M("total_fee_revenue", "CNY", "management fees from launch to settlement", _total("fee_revenue")),
        _M("total_platform_subsidy", "CNY", "platform subsidies incl. cap subsidy", _total("platform_subsidy")),
        _M("total_commission_revenue", "CNY", "insurance commission to settlement", _total("commission_revenue")),
        _M("total_aided", "people", "people paid a benefit from launch to settlement", _total("claims")),
        _M(
            "adverse_selection_at_announcement",
            "1",
            "members' mean risk over eligibles' mean risk before the closure announcement",
            _at_announcement("adverse_selection_index"),
        ),
        _M(
            "consideration_gap_at_announcement",
            "share",
            "members' minus non-members' rate of considering insurance before the announcement",
            _consideration_gap,
        ),
    )
}


def summarise_run(table: pd.DataFrame, announced_period: int, names: tuple[str, ...] | None = None) -> dict[str, float]:
    """The chosen end-of-run metrics of one run.

    Args:
        table: The run's period table (`MutualAidModel.results()`).
        announced_period: Index of the period in which closure was announced.
        names: Metric names to compute; None for all of `SUMMARY_METRICS`.

    Returns:
        Metric name to value (units in `SUMMARY_METRICS`).
    """
    unknown = [name for name in names or () if name not in ALL_METRICS]
    if unknown:
        raise ValueError(f"unknown summary {unknown[0]!r}: one of {', '.join(ALL_METRICS)}")
    chosen = SUMMARY_METRICS if names is None else {n: SUMMARY_METRICS[n] for n in names if n in SUMMARY_METRICS}
    return {name: metric.compute(table, announced_period) for name, metric in chosen.items()}


@dataclass(frozen=True)
class MarketMetric:
    """One end-of-run number of a market run.

    Attributes:
        name: Column name in the summaries table.
        unit: Unit of the value.
        definition: What is measured, in one sentence.
        compute: Function of (every plan's table, `MutualAidModel.plan_results()`; the
            industry's members, `industry_results()`) returning a float.
    """

    name: str
    unit: str
    definition: str
    compute: Callable[[pd.DataFrame, pd.DataFrame], float]


def _industry(platform: str, how: str = "peak"):
    def compute(plans: pd.DataFrame, industry: pd.DataFrame) -> float:
        members = industry.loc[industry["platform"] == platform, "members"]
        if how == "peak":
            return float(members.max()) if len(members) else 0.0
        dates = pd.to_datetime(industry.loc[members.index, "date"])
        in_record = members[dates <= pd.Timestamp(RECORD_END)]
        return float(in_record.iloc[-1]) if len(in_record) else 0.0

    return compute


def _held_twice_at_peak(plans: pd.DataFrame, industry: pd.DataFrame) -> float:
    by_period = industry.pivot(index="period", columns="platform", values="members").fillna(0.0)
    peak = by_period["all"].idxmax()
    return float(by_period.drop(columns="all").loc[peak].sum() - by_period.loc[peak, "all"])


def _plans_total(column: str, platform: str | None = None, plan: str | None = None, others: bool = False):
    def compute(plans: pd.DataFrame, industry: pd.DataFrame) -> float:
        rows = plans
        if platform is not None:
            rows = rows[(rows["platform"] != platform) if others else (rows["platform"] == platform)]
        if plan is not None:
            rows = rows[rows["plan"] == plan]
        return float(rows[column].sum())

    return compute


_Market = MarketMetric
#: The platforms of the shipped market file (data/market.toml), each with its own metrics.
SHIPPED_PLATFORMS = tuple(load_market())
MARKET_METRICS: dict[str, MarketMetric] = {
    m.name: m
    for m in (
        _Market("industry_peak_members", "people", "most people holding any platform's plan in a period, each once",
            _industry("all")),
        _Market("industry_members_end_2020", "people", "people holding any platform's plan at the record's end "
            "(2020-12-31), each once", _industry("all", "record_end")),
        _Market("held_twice_at_industry_peak", "people", "platform memberships beyond one a person at the industry's "
            "peak (the platforms' members summed, less the people)", _held_twice_at_peak),
        _Market("xianghubao_peak_members_all_plans", "people", "most people holding any of Xianghubao's plans",
            _industry("xianghubao")),
        _Market("xianghubao_fee_revenue_all_plans", "CNY", "management fees of all Xianghubao's plans to settlement",
            _plans_total("fee_revenue", "xianghubao")),
        _Market("elderly_plan_fee_revenue", "CNY", "management fees of Xianghubao's elderly cancer plan",
            _plans_total("fee_revenue", "xianghubao", "elderly_cancer")),
        _Market("elderly_plan_payouts", "CNY", "benefits paid by Xianghubao's elderly cancer plan",
            _plans_total("payouts", "xianghubao", "elderly_cancer")),
        _Market("competitors_fee_revenue", "CNY", "management fees of every other platform",
            _plans_total("fee_revenue", "xianghubao", others=True)),
        _Market("closure_switched_total", "people", "members of closing plans who joined another platform at the "
            "closure", _plans_total("closure_switched")),
        _Market("closure_took_policy_total", "people", "members of closing plans who took the policy offered",
            _plans_total("closure_took_policy")),
        _Market("xianghubao_leavers_to_other_platform", "people", "voluntary leavers of Xianghubao's plans who "
            "held another platform's plan at the end of the period they left", _plans_total(
                "exits_to_other_platform", "xianghubao")),
        _Market("competitors_leavers_to_other_platform", "people", "voluntary leavers of every other "
            "platform's plans who held another platform's plan at the end of the period they left", _plans_total(
                "exits_to_other_platform", "xianghubao", others=True)),
        *(
            metric
            for platform in SHIPPED_PLATFORMS
            if platform != "xianghubao"
            for metric in (
                _Market(f"{platform}_peak_members", "people", f"most members of {platform} (any of its plans)",
                    _industry(platform)),
                _Market(f"{platform}_fee_revenue", "CNY", f"management fees of all {platform}'s plans to "
                    "settlement or closure", _plans_total("fee_revenue", platform)),
            )
        ),
    )
}  # fmt: skip
#: Every metric's unit and definition, one-plan and market.
ALL_METRICS: dict[str, SummaryMetric | MarketMetric] = {**SUMMARY_METRICS, **MARKET_METRICS}


def summarise_market(model, names: tuple[str, ...] | None = None) -> dict[str, float]:
    """The chosen market metrics of one finished run (nan each in a one-plan run).

    Args:
        model: The finished `MutualAidModel`.
        names: Metric names (those of `MARKET_METRICS` among them are computed); None for all.
    """
    chosen = [name for name in (names or MARKET_METRICS) if name in MARKET_METRICS]
    if len(model.pools) == 1:
        return dict.fromkeys(chosen, float("nan"))
    plans, industry = model.plan_results(), model.industry_results()
    return {name: MARKET_METRICS[name].compute(plans, industry) for name in chosen}
