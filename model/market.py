"""The mutual-aid market as sourced data: the platforms and the plans (pools) each runs.

`load_market` reads data/market.toml: for each platform its launch, closure and what it
offered its members at the closure; for each plan who may join (ages), what it pays
(benefit by age at diagnosis), the wait, the fee and the cadence, and the plan whose
members it takes over without a new wait. Every value carries a source (a citation or
"assumption: ..."). Facts dated after a given day can be left out (`known_on`), so that a
forecast made from the record (to 2020-12-31) is made without 2021's closures.

The file is checked on load; a fault is a `MarketError` naming the platform, the plan
and the field, and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.parameters import PARAMETERS_BY_NAME

#: The last day of the public record the model is calibrated on.
RECORD_END = dt.date(2020, 12, 31)
#: The platform whose critical-illness plan the model runs, and that plan: the one the
#: model's own parameters describe (a market model runs the others beside it).
MODELLED_PLATFORM = "xianghubao"
MODELLED_PLAN = "critical_illness"
#: What a closing platform offered its members: a commercial policy, a refund, nothing.
CLOSURE_OFFERS = ("policy", "refund", "none")
MARKET_FILE = "market.toml"
DAYS_PER_YEAR = 365.25

_PLATFORM_FIELDS = {"name": str, "launch": dt.date, "closure": dt.date, "closure_offer": str}
_PLATFORM_REQUIRED = ("name", "launch")
_PLAN_FIELDS = {
    "name": str,
    "launch": dt.date,
    "entry_ages_years": list,
    "benefit_cny": list,
    "waiting_days": int,
    "fee_rate": float,
    "periods_per_month": int,
    "transfer_from": str,
    "incidence_factor": float,
    "admits": str,
    "sharing_rule": str,
}
_PLAN_REQUIRED = ("name", "launch", "entry_ages_years", "benefit_cny", "waiting_days", "fee_rate", "periods_per_month")
_UNSOURCED = ("name", "plans")  # a name needs no source; `plans` is a table of plans
_OLDEST_AGE_YEARS = 120.0
_LONGEST_WAIT_DAYS = 3650
_CADENCES = (1, 2, 4)  # sharing periods a month
#: Whom a plan's health declaration admits: those it finds healthy, or those with the
#: chronic conditions other plans' declarations turn away.
ADMITS = ("declared_healthy", "chronic_conditions")
_LARGEST_INCIDENCE_FACTOR = 10.0


class MarketError(ValueError):
    """The market file is malformed; the message names the platform, plan and field."""


@dataclass(frozen=True)
class Plan:
    """One pool of a platform.

    Attributes:
        platform: Key of the platform that runs it.
        key: The plan's key within its platform.
        name: Its name.
        launch: First day it admits members.
        entry_ages_years: Ages at which one may join, [youngest, oldest) (years).
        benefit_cny: (age from, benefit) steps: the benefit for a diagnosis at an age is
            that of the last step at or below it (years, CNY).
        waiting_days: Days from joining before a member is covered (days).
        fee_rate: Management fee as a share of the payouts it shares (1).
        periods_per_month: Sharing periods a month (1/month).
        transfer_from: Key of the platform's plan whose members move here at this plan's
            youngest age without a new wait (None: none do).
        incidence_factor: The plan's claim incidence as a multiple of the critical-illness
            incidence the model's parameters give (1; 1 when not given).
        admits: Whom its health declaration admits (`ADMITS`; "declared_healthy" when
            not given).
        sharing_rule: How its costs are split among its members (a choice of the model's
            `sharing_rule`), or None: the model's `sharing_rule`, as for every plan of the
            shipped file (the record describes an equal split and no other).
        sources: Source of each field.
    """

    platform: str
    key: str
    name: str
    launch: dt.date
    entry_ages_years: tuple[float, float]
    benefit_cny: tuple[tuple[float, float], ...]
    waiting_days: int
    fee_rate: float
    periods_per_month: int
    transfer_from: str | None = None
    incidence_factor: float = 1.0
    admits: str = "declared_healthy"
    sharing_rule: str | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def full_key(self) -> str:
        """ "platform.plan", the plan's key across the market."""
        return f"{self.platform}.{self.key}"

    @property
    def waiting_periods(self) -> int:
        """The wait in the model's half-month periods, rounded to the nearest (periods):
        what a member waits whatever the plan's sharing cadence."""
        return round(self.waiting_days * PERIODS_PER_YEAR / DAYS_PER_YEAR)

    def benefit_at(self, age_years: float) -> float:
        """Benefit for a diagnosis at `age_years` (CNY; 0 below the first step)."""
        benefit = 0.0
        for age_from, cny in self.benefit_cny:
            if age_years >= age_from:
                benefit = cny
        return benefit


@dataclass(frozen=True)
class Platform:
    """A platform and the plans it runs.

    Attributes:
        key: Its key in the market file.
        name: Its name.
        launch: First day it ran.
        closure: Last day it ran (None: open, or not known on the day asked for).
        closure_offer: What members were offered at the closure (`CLOSURE_OFFERS`; None
            with no closure).
        plans: Its plans by key.
        sources: Source of each field.
    """

    key: str
    name: str
    launch: dt.date
    closure: dt.date | None
    closure_offer: str | None
    plans: dict[str, Plan]
    sources: dict[str, str] = field(default_factory=dict, compare=False)


def load_market(path: str | Path | None = None, known_on: dt.date | None = None) -> dict[str, Platform]:
    """The market's platforms by key, validated.

    Args:
        path: A market TOML file (default: the project's data/market.toml).
        known_on: Leave out every fact dated after this day: platforms and plans launched
            later, and closures (with their offers) later (default: keep all).

    Raises:
        MarketError: On a malformed file, naming platform, plan and field.
    """
    path = Path(path) if path is not None else _shipped_file()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MarketError(f"{path}: not a readable TOML file ({error})") from error
    unknown = set(document) - {"platforms"}
    if unknown:
        raise MarketError(f"{path}: unknown top-level table(s) {sorted(unknown)}; allowed: 'platforms'")
    platforms = document.get("platforms")
    if not isinstance(platforms, dict) or not platforms:
        raise MarketError(f"{path}: needs a [platforms.<key>] table for at least one platform")
    market = {key: _platform(key, table) for key, table in platforms.items()}
    if known_on is not None:
        market = {key: known for key, platform in market.items() if (known := _as_known_on(platform, known_on))}
    return market


def _shipped_file() -> Path:
    return Path(str(resources.files("huzhu.data").joinpath(MARKET_FILE)))


def _as_known_on(platform: Platform, day: dt.date) -> Platform | None:
    """The platform as known on `day` (None if nothing of it had launched yet)."""
    plans = {key: plan for key, plan in platform.plans.items() if plan.launch <= day}
    if platform.launch > day or not plans:
        return None
    closed = platform.closure is not None and platform.closure <= day
    hidden = () if closed else ("closure", "closure_offer")
    return Platform(
        key=platform.key,
        name=platform.name,
        launch=platform.launch,
        closure=platform.closure if closed else None,
        closure_offer=platform.closure_offer if closed else None,
        plans=plans,
        sources={name: source for name, source in platform.sources.items() if name not in hidden},
    )


def _platform(key: str, table) -> Platform:
    where = f"platform {key!r}"
    if not isinstance(table, dict):
        raise MarketError(f"{where}: must be a table")
    values, sources = _fields(where, table, _PLATFORM_FIELDS, _PLATFORM_REQUIRED, extra=("plans",))
    closure, offer = values.get("closure"), values.get("closure_offer")
    if (closure is None) != (offer is None):
        raise MarketError(f"{where}: closure and closure_offer go together (one is given without the other)")
    if offer is not None and offer not in CLOSURE_OFFERS:
        raise MarketError(f"{where}, field 'closure_offer': {offer!r} is not allowed: one of {list(CLOSURE_OFFERS)}")
    if closure is not None and closure <= values["launch"]:
        raise MarketError(f"{where}, field 'closure': {closure} is not after the launch {values['launch']}")
    plan_tables = table.get("plans")
    if not isinstance(plan_tables, dict) or not plan_tables:
        raise MarketError(f"{where}: needs a [platforms.{key}.plans.<key>] table for at least one plan")
    plans = {plan_key: _plan(key, plan_key, plan_table, values) for plan_key, plan_table in plan_tables.items()}
    for plan in plans.values():
        if closure is not None and plan.launch >= closure:
            raise MarketError(
                f"{where}, plan {plan.key!r}, field 'launch': {plan.launch} is not before the platform's "
                f"closure {closure}"
            )
        if plan.transfer_from is not None and (plan.transfer_from not in plans or plan.transfer_from == plan.key):
            others = sorted(set(plans) - {plan.key})
            raise MarketError(
                f"{where}, plan {plan.key!r}, field 'transfer_from': {plan.transfer_from!r} is not allowed: "
                f"another plan of the platform, one of {others}"
            )
        _no_transfer_cycle(where, plan, plans)
        if plan.transfer_from is not None and plan.entry_ages_years[0] != plans[plan.transfer_from].entry_ages_years[1]:
            raise MarketError(
                f"{where}, plan {plan.key!r}, field 'entry_ages_years': its youngest age "
                f"{plan.entry_ages_years[0]:g} is not allowed: members of {plan.transfer_from!r} move here when they "
                f"reach its oldest age, {plans[plan.transfer_from].entry_ages_years[1]:g}"
            )
    return Platform(key, values["name"], values["launch"], closure, offer, plans, sources)


def _no_transfer_cycle(where: str, plan: Plan, plans: dict[str, Plan]) -> None:
    """Members move along `transfer_from` links; following them from a plan must end."""
    seen, current = {plan.key}, plan.transfer_from
    while current is not None:
        if current in seen:
            raise MarketError(
                f"{where}, plan {plan.key!r}, field 'transfer_from': the transfers form a cycle through {current!r}"
            )
        seen.add(current)
        current = plans[current].transfer_from


def _plan(platform_key: str, key: str, table, platform_values: dict) -> Plan:
    where = f"platform {platform_key!r}, plan {key!r}"
    if not isinstance(table, dict):
        raise MarketError(f"{where}: must be a table")
    values, sources = _fields(where, table, _PLAN_FIELDS, _PLAN_REQUIRED)
    if values["launch"] < platform_values["launch"]:
        raise MarketError(
            f"{where}, field 'launch': {values['launch']} is before the platform's launch {platform_values['launch']}"
        )
    ages = _entry_ages(where, values["entry_ages_years"])
    benefits = _benefits(where, values["benefit_cny"])
    if not 0 <= values["waiting_days"] <= _LONGEST_WAIT_DAYS:
        raise MarketError(
            f"{where}, field 'waiting_days': {values['waiting_days']} is not allowed: 0 to {_LONGEST_WAIT_DAYS} days"
        )
    if not 0.0 <= values["fee_rate"] <= 1.0:
        raise MarketError(f"{where}, field 'fee_rate': {values['fee_rate']} is not allowed: 0 to 1 (share of payouts)")
    if values["periods_per_month"] not in _CADENCES:
        raise MarketError(
            f"{where}, field 'periods_per_month': {values['periods_per_month']} is not allowed: one of "
            f"{list(_CADENCES)}"
        )
    factor = values.get("incidence_factor", 1.0)
    if not (math.isfinite(factor) and 0.0 <= factor <= _LARGEST_INCIDENCE_FACTOR):
        raise MarketError(
            f"{where}, field 'incidence_factor': {factor} is not allowed: 0 to {_LARGEST_INCIDENCE_FACTOR:g} "
            "(multiple of the critical-illness incidence)"
        )
    admits = values.get("admits", "declared_healthy")
    if admits not in ADMITS:
        raise MarketError(f"{where}, field 'admits': {admits!r} is not allowed: one of {list(ADMITS)}")
    rules = PARAMETERS_BY_NAME["sharing_rule"].choices
    if values.get("sharing_rule", rules[0]) not in rules:
        raise MarketError(
            f"{where}, field 'sharing_rule': {values['sharing_rule']!r} is not allowed: one of {list(rules)}"
        )
    return Plan(
        platform=platform_key,
        key=key,
        name=values["name"],
        launch=values["launch"],
        entry_ages_years=ages,
        benefit_cny=benefits,
        waiting_days=values["waiting_days"],
        fee_rate=values["fee_rate"],
        periods_per_month=values["periods_per_month"],
        transfer_from=values.get("transfer_from"),
        incidence_factor=factor,
        admits=admits,
        sharing_rule=values.get("sharing_rule"),
        sources=sources,
    )


def _fields(where: str, table: dict, types: dict, required: tuple, extra: tuple = ()) -> tuple[dict, dict]:
    """Each field's value (typed) and source; unknown, missing, mistyped or unsourced fields are errors."""
    allowed = set(types) | {f"{name}_source" for name in types if name not in _UNSOURCED} | set(extra)
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise MarketError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")
    missing = [name for name in required if name not in table]
    if missing:
        raise MarketError(f"{where}: missing field(s) {missing}")
    values, sources = {}, {}
    for name, kind in types.items():
        if name not in table:
            continue
        value = table[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        datetime_for_date = kind is dt.date and isinstance(value, dt.datetime)
        if not isinstance(value, kind) or isinstance(value, bool) or datetime_for_date:
            raise MarketError(f"{where}, field {name!r}: {value!r} is not allowed: a {kind.__name__}")
        values[name] = value
        if name in _UNSOURCED:
            continue
        source = table.get(f"{name}_source")
        if not isinstance(source, str) or not source.strip():
            raise MarketError(
                f"{where}, field {name!r}: needs a source ({name}_source: a citation or 'assumption: why')"
            )
        sources[name] = source
    return values, sources


def _entry_ages(where: str, ages: list) -> tuple[float, float]:
    if (
        len(ages) != 2
        or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in ages)
        or not 0.0 <= ages[0] < ages[1] <= _OLDEST_AGE_YEARS
    ):
        raise MarketError(
            f"{where}, field 'entry_ages_years': {ages!r} is not allowed: [youngest, oldest) in years, "
            f"0 <= youngest < oldest <= {_OLDEST_AGE_YEARS:g}"
        )
    return float(ages[0]), float(ages[1])


def _benefits(where: str, steps: list) -> tuple[tuple[float, float], ...]:
    ok = bool(steps) and all(
        isinstance(step, list)
        and len(step) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in step)
        and all(math.isfinite(x) and x >= 0 for x in step)
        for step in steps
    )
    if ok:
        ages = [step[0] for step in steps]
        ok = all(later > earlier for earlier, later in itertools.pairwise(ages))
    if not ok:
        raise MarketError(
            f"{where}, field 'benefit_cny': {steps!r} is not allowed: [[age from, CNY], ...] with ages "
            "increasing and every number finite and not negative"
        )
    return tuple((float(age), float(cny)) for age, cny in steps)
