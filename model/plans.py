"""The plans a model runs, each as the model's parameters with the plan's facts in them.

A one-plan model runs Xianghubao's critical-illness plan with the model's parameters as
given. A market model (`market_scope="market"`) runs every plan of data/market.toml: the
modelled plan (Xianghubao's critical-illness plan) first, with the model's parameters,
then every other plan with the same behavioural parameters and its own facts from the
market file (ages, benefits, wait, fee, incidence, launch, closure and offer). Plans not
in the market file's record keep everything else the model's parameters say, which the
market file's sources state field by field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from huzhu.model import demography
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.market import DAYS_PER_YEAR, MODELLED_PLAN, MODELLED_PLATFORM, Plan, Platform, load_market
from huzhu.model.parameters import ParameterError, resolve_parameters

#: Each other plan's fitted values (`huzhu.calibration.market`).
MARKET_CALIBRATION_FILE = "market_calibration.json"


@dataclass(frozen=True)
class PlanSetup:
    """One plan as a model runs it.

    Attributes:
        key: "platform.plan".
        params: The plan's resolved model parameters.
        launch: First day it admits members.
        closure: Its last covered day (None: open beyond the model's run).
        announced: Day its closure is announced (None with no closure).
        closure_offer: What the platform offered at the closure (`market.CLOSURE_OFFERS`).
        share_every_periods: Half-month periods between its sharings (1 or 2).
        transfer_from: "platform.plan" whose members move here at this plan's youngest
            age without a new wait (None: none do).
        admits_chronic: Its health declaration admits only those with chronic conditions.
    """

    key: str
    params: dict[str, Any]
    launch: dt.date
    closure: dt.date | None
    announced: dt.date | None
    closure_offer: str
    share_every_periods: int = 1
    transfer_from: str | None = None
    admits_chronic: bool = False


#: Values a plan's entry in `plan_overrides` may set (1): its marketing hazards as a
#: multiple of the model's, and its incidence as a multiple of the critical-illness one.
PLAN_OVERRIDES = ("marketing_reach", "incidence_factor")


def plan_setups(
    params: dict[str, Any],
    market_file: str | Path | None = None,
    known_on: dt.date | None = None,
    plan_overrides: dict[str, dict[str, float]] | None = None,
) -> list[PlanSetup]:
    """The plans a model with `params` runs, the modelled plan first.

    Args:
        params: The model's resolved parameters.
        market_file: A market TOML file (`load_market`; default: data/market.toml).
        known_on: In a market model, leave out every fact of the market file dated after
            this day (`load_market`): platforms not yet launched, closures not yet made.
        plan_overrides: Per "platform.plan", values of `PLAN_OVERRIDES` that replace the
            market calibration's (`market_calibration`) and the market file's.

    Raises:
        ParameterError: A plan's facts give a parameter out of its range, or a benefit
            schedule of more than two steps (the model's benefit rule has two).
    """
    modelled = PlanSetup(
        key=f"{MODELLED_PLATFORM}.{MODELLED_PLAN}",
        params=params,
        launch=params["launch_date"],
        closure=params["closure_date"],
        announced=params["closure_announced_date"],
        closure_offer="policy",
    )
    if params["market_scope"] == "one_plan":
        return [modelled]
    setups = [modelled]
    market = load_market(market_file, known_on=known_on)
    if MODELLED_PLATFORM not in market or MODELLED_PLAN not in market[MODELLED_PLATFORM].plans:
        raise ParameterError(f"the market file has no plan {modelled.key!r}: the model runs it first")
    fitted = _calibrated_values() if params["market_calibration"] == "shipped" else {}
    keys = {plan.full_key for platform in market.values() for plan in platform.plans.values()}
    for key, values in (plan_overrides or {}).items():
        if key not in keys or key == modelled.key:
            raise ParameterError(
                f"plan_overrides: unknown plan {key!r}; allowed: the market's other plans "
                f"{sorted(keys - {modelled.key})}"
            )
        unknown = set(values) - set(PLAN_OVERRIDES)
        bad = [name for name, value in values.items() if not (isinstance(value, int | float) and 0 < value < math.inf)]
        if unknown or bad:
            raise ParameterError(
                f"plan_overrides[{key!r}]: {sorted(unknown) or bad} not allowed: {list(PLAN_OVERRIDES)}, "
                "each a positive finite number (1)"
            )
    for platform in market.values():
        for plan in platform.plans.values():
            if plan.full_key != modelled.key:
                values = {**fitted.get(plan.full_key, {}), **(plan_overrides or {}).get(plan.full_key, {})}
                setups.append(_setup(params, platform, plan, values))
    return setups


def _calibrated_values() -> dict[str, dict[str, float]]:
    """Each plan's fitted values in data/market_calibration.json (`huzhu calibrate-market`)."""
    return json.loads(resources.files("huzhu.data").joinpath(MARKET_CALIBRATION_FILE).read_text())["plans"]


def oldest_age_years(setups: list[PlanSetup]) -> float:
    """The oldest age any of the plans admits (years): people are drawn and age below it."""
    return max(setup.params["max_age_years"] for setup in setups)


def people_reached(params: dict[str, Any], oldest_age_years: float) -> float:
    """People the platforms can reach, of all ages below `oldest_age_years` (people).

    `population` counts those below the modelled plan's maximum age; the older ones are
    added at the density of the age pyramid (`demography.people_ratio`)."""
    return params["population"] * demography.people_ratio(
        params["age_pyramid"], oldest_age_years, params["max_age_years"]
    )


def _setup(params: dict[str, Any], platform: Platform, plan: Plan, values: dict[str, float]) -> PlanSetup:
    """A plan of the market file as the model's parameters with its facts in them, and
    its fitted or overridden `values` (`PLAN_OVERRIDES`)."""
    where = f"plan {plan.full_key!r} of data/market.toml"
    if len(plan.benefit_cny) > 2:
        raise ParameterError(f"{where}, field 'benefit_cny': at most two steps (the model's benefit rule has two)")
    (_, young), (split, old) = plan.benefit_cny[0], plan.benefit_cny[-1]
    closures = params["competitor_closures"]
    if platform.key == MODELLED_PLATFORM or closures == "with_modelled":
        # The modelled platform's plans closed together, as the model's parameters date it.
        closure, announced = params["closure_date"], params["closure_announced_date"]
    elif closures == "none":
        closure = announced = None
    else:
        # assumption: notice as Xianghubao gave (closure_notice_periods); no other notice is in the record
        closure = platform.closure
        notice_days = math.ceil(params["closure_notice_periods"] * DAYS_PER_YEAR / PERIODS_PER_YEAR)
        announced = None if closure is None else max(closure - dt.timedelta(days=notice_days), plan.launch)
    overrides = {
        "launch_date": plan.launch,
        # A plan open beyond the model's run ends with it, unannounced.
        "closure_date": closure or params["closure_date"],
        "closure_announced_date": announced or params["closure_date"],
        "min_age_years": plan.entry_ages_years[0],
        "max_age_years": plan.entry_ages_years[1],
        "benefit_young_cny": young,
        "benefit_old_cny": old,
        "benefit_age_split_years": split if len(plan.benefit_cny) == 2 else plan.entry_ages_years[1],
        "waiting_periods": plan.waiting_periods,
        "fee_rate": plan.fee_rate,
        "sharing_rule": plan.sharing_rule or params["sharing_rule"],
        "covered_illness_factor": params["covered_illness_factor"]
        * values.get("incidence_factor", plan.incidence_factor),
        "marketing_rate": params["marketing_rate"] * values.get("marketing_reach", 1.0),
        # assumption: no competitor had a launch like Xianghubao's on the Alipay home page
        # (12M in ten days); they grew over years (Waterdrop: 80M after three). The
        # platform's own new plans are shown to its users as its first was.
        "launch_marketing_rate": params["launch_marketing_rate"] * values.get("marketing_reach", 1.0)
        if platform.key == MODELLED_PLATFORM
        else 0.0,
        # The annual cap was the critical-illness plan's (SCMP 2020-04-04): the elderly plan's
        # members paid 414 CNY in 2020 (2898.com/news/shouji/62702.htm), and no other
        # platform's cap is in the record.
        "annual_cap_cny": math.inf,
    }
    try:
        plan_params = resolve_parameters({**params, **overrides})
    except ParameterError as error:
        raise ParameterError(f"{where}: {error}") from error
    transfer_from = None if plan.transfer_from is None else f"{platform.key}.{plan.transfer_from}"
    return PlanSetup(
        key=plan.full_key,
        params=plan_params,
        launch=plan.launch,
        closure=closure,
        announced=announced,
        closure_offer=(platform.closure_offer or "none") if closure is not None else "none",
        share_every_periods=2 // plan.periods_per_month if plan.periods_per_month <= 2 else _weekly(where),
        transfer_from=transfer_from,
        admits_chronic=plan.admits == "chronic_conditions",
    )


def _weekly(where: str) -> int:
    raise ParameterError(f"{where}, field 'periods_per_month': at most 2 (the model's period is half a month)")
