"""The market's other plans fitted to their own record up to 2020.

What the record gives of the other plans (data/market_observations_2016_2020.csv and
Xianghubao's file): Waterdrop's members (over 80M in July 2019, 109.3M in April 2020),
Qingsong's (17M in May 2020), and the 2020 cost per member of Xianghubao's elderly cancer
plan (414 CNY) and chronic-disease cancer plan (3.43 CNY). Each is fitted by one value of
its own plan, the rest of the behaviour being the `xianghubao` preset's:

- a competitor's `marketing_reach`: its marketing hazards (`marketing_rate`,
  `launch_marketing_rate`) as a multiple of Xianghubao's, whose home-page launch no other
  platform had;
- an elderly or chronic-disease plan's `incidence_factor`: its claims' incidence as a
  multiple of the critical-illness incidence (cancer only, at its members' ages).

Platforms join independently when `multi_homing_propensity` is 1 (the default) and nothing
closes before 2021, so each plan's record to 2020 depends on its own value alone: the fits
are one-dimensional, and run side by side, one market run per step (each plan's own
golden-section search, in the log of its value). The distance is the sum of squared log
errors of the plan's targets, read Poisson-free. The runs keep every competitor open
(`competitor_closures="none"`): nothing dated after the record, not even the notice of
Meituan's closure on its last day, enters the fit. Meituan, Wukong and Xiaomi have no count
in the record dated before 2021 (Meituan's 18 periods and about 384 aided are totals at its
closure in January 2021): their reach is an assumption (the smallest fitted reach), stated in
the file.

One number of the whole industry is dated inside the record and checked, not fitted: the
mutual-aid funds paid to the ill in 2019, about 5.4bn CNY (Ant white paper), against the
fitted model's payouts over 2019 summed over every platform's plans (`industry_funds`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from huzhu.calibration.observations import load_market_observations
from huzhu.calibration.targets import stock_on_day
from huzhu.model.calendar import Calendar
from huzhu.model.plans import MARKET_CALIBRATION_FILE

CUTOFF = dt.date(2020, 12, 31)
#: The plans fitted by one value each, and its search range (log-uniform; 1).
FITTED = {
    "qingsong.critical_illness": ("marketing_reach", 0.003, 3.0),
    "xianghubao.elderly_cancer": ("incidence_factor", 0.01, 10.0),
    "xianghubao.chronic_cancer": ("incidence_factor", 0.01, 10.0),
}
#: Waterdrop, with two counts (July 2019, April 2020), is fitted by two values: its reach,
#: and its incidence factor, which stands for what the record does not give of its rules
#: (benefits, claims practice) and sets how fast its charges rose, and so whether it still
#: grew in 2020. Start values and the search's first steps (log; 1).
WATERDROP = "waterdrop.critical_illness"
WATERDROP_VALUES = ("marketing_reach", "incidence_factor")
WATERDROP_START = (1.0, 0.5)
#: Plans with no count in the record: their reach is the smallest fitted one (assumption).
UNOBSERVED_REACH = ("meituan.critical_illness", "wukong.critical_illness", "xiaomi.critical_illness")
#: The key of observations of the whole industry (every platform's plans together).
INDUSTRY = "industry.all_plans"
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class PlanTarget:
    """One observation of a plan and how its period table gives it.

    Attributes:
        plan: "platform.plan".
        quantity: "members" (people at the end of the day) or "share_per_member_per_year"
            (CNY over the calendar year of `date`, read Poisson-free).
        date: Observation date.
        observed: Observed value.
        source: Its source.
    """

    plan: str
    quantity: str
    date: dt.date
    observed: float
    source: str

    def simulated_in(self, tables: dict[str, pd.DataFrame], calendar: Calendar) -> float:
        """This target's value in a market run's period tables (by "platform.plan")."""
        if self.plan == INDUSTRY:
            return industry_funds(tables, self.date.year)
        return self.simulated(tables[self.plan], calendar)

    def simulated(self, table: pd.DataFrame, calendar: Calendar) -> float:
        """The plan's value of this target in its period table (nan if it has no row then).

        Args:
            table: The plan's rows of `MutualAidModel.plan_results` (its periods from its launch).
            calendar: The market model's calendar (period 0 at the first launch).
        """
        if self.quantity == "members":
            # Read as Xianghubao's own counts are (`targets.stock_on_day`): at the day, within its half month.
            periods = table["period"].to_numpy()
            stock = np.zeros(periods.max() + 1 if len(periods) else 0)
            stock[periods] = table["members"].to_numpy()
            return stock_on_day(stock, self.date, calendar) if len(periods) else math.nan
        in_year = table[pd.to_datetime(table["date"]).dt.year == self.date.year]
        return float(in_year["expected_share_per_member"].sum()) if len(in_year) else math.nan


def industry_funds(tables: dict[str, pd.DataFrame], year: int) -> float:
    """Mutual-aid funds paid to the ill in `year`, summed over every plan of `tables` (CNY,
    read Poisson-free: each sharing's expected total less its expected fee)."""
    total = 0.0
    for table in tables.values():
        in_year = table[pd.to_datetime(table["date"]).dt.year == year]
        total += float((in_year["expected_shared_total"] - in_year["expected_fee_revenue"]).sum())
    return total


def industry_checks(until: dt.date = CUTOFF) -> list[PlanTarget]:
    """The industry's observations dated on or before `until`: checked, not fitted."""
    observations = load_market_observations()
    rows = observations[(observations["platform"] + "." + observations["plan"] == INDUSTRY)]
    return [
        PlanTarget(INDUSTRY, row.quantity, row.date, float(row.value), row.source)
        for row in rows.itertuples()
        if row.quantity == "funds_paid_in_year" and row.date <= until
    ]


def plan_targets(until: dt.date = CUTOFF) -> list[PlanTarget]:
    """The targets of every fitted plan dated on or before `until`."""
    observations = load_market_observations()
    targets = []
    for row in observations.itertuples():
        key = f"{row.platform}.{row.plan}"
        fitted = key in (*FITTED, WATERDROP) and row.quantity in ("members", "share_per_member_per_year")
        if fitted and row.date <= until:
            targets.append(PlanTarget(key, row.quantity, row.date, float(row.value), row.source))
    return targets


def load_market_calibration(path: str | Path | None = None) -> dict:
    """The shipped market calibration (data/market_calibration.json), or the one at `path`."""
    if path is None:
        return json.loads(resources.files("huzhu.data").joinpath(MARKET_CALIBRATION_FILE).read_text())
    return json.loads(Path(path).read_text())


def calibrate_market(
    n_agents: int = 200_000, seed: int = 1, iterations: int = 14, waterdrop_evaluations: int = 40, progress=None
) -> tuple[dict, pd.DataFrame]:
    """Fit each plan's values to its targets (module docstring).

    Args:
        n_agents: Agents of each market run.
        seed: Seed of every run (common random numbers across the steps).
        iterations: Golden-section steps after the first two points (each narrows the
            interval of log values by 0.618).
        waterdrop_evaluations: Market runs of Waterdrop's two-value search (Nelder-Mead).
        progress: Optional callable(step, steps).

    Returns:
        (calibration, fit): the manifest written to data/market_calibration.json (settings,
        the fitted values with their plans, the unobserved plans' reach) and the fit table
        (a row per target, then a row per industry check: observed, simulated, relative
        error, and `role` "fitted" or "checked").
    """
    targets = plan_targets()
    waterdrop = dict(zip(WATERDROP_VALUES, WATERDROP_START, strict=True))
    low = {key: math.log(lo) for key, (_, lo, _) in FITTED.items()}
    high = {key: math.log(hi) for key, (_, _, hi) in FITTED.items()}
    # Golden-section search in the log of each value, all plans one run per step.
    inner = {key: high[key] - _GOLDEN * (high[key] - low[key]) for key in FITTED}
    outer = {key: low[key] + _GOLDEN * (high[key] - low[key]) for key in FITTED}
    steps = iterations + 2 + waterdrop_evaluations
    f_inner = _errors(*run_to_cutoff(inner, waterdrop, n_agents, seed), targets)
    f_outer = _errors(*run_to_cutoff(outer, waterdrop, n_agents, seed), targets)
    if progress:
        progress(2, steps)
    for step in range(iterations):
        probe = {}
        for key in FITTED:
            if f_inner[key] < f_outer[key]:  # the minimum lies in [low, outer]
                high[key], outer[key], f_outer[key] = outer[key], inner[key], f_inner[key]
                inner[key] = probe[key] = high[key] - _GOLDEN * (high[key] - low[key])
            else:
                low[key], inner[key], f_inner[key] = inner[key], outer[key], f_outer[key]
                outer[key] = probe[key] = low[key] + _GOLDEN * (high[key] - low[key])
        f_probe = _errors(*run_to_cutoff(probe, waterdrop, n_agents, seed), targets)
        for key in FITTED:
            if probe[key] == inner[key]:
                f_inner[key] = f_probe[key]
            else:
                f_outer[key] = f_probe[key]
        if progress:
            progress(step + 3, steps)
    best = {key: inner[key] if f_inner[key] <= f_outer[key] else outer[key] for key in FITTED}
    evaluations = [0]

    def waterdrop_error(log_values: np.ndarray) -> float:
        values = dict(zip(WATERDROP_VALUES, np.exp(log_values), strict=True))
        evaluations[0] += 1
        if progress:
            progress(iterations + 2 + evaluations[0], steps)
        return _errors(*run_to_cutoff(best, values, n_agents, seed), targets)[WATERDROP]

    search = minimize(
        waterdrop_error, np.log(WATERDROP_START), method="Nelder-Mead",
        options={"maxfev": waterdrop_evaluations, "initial_simplex": _simplex(WATERDROP_START), "xatol": 0.01},
    )  # fmt: skip
    waterdrop = dict(zip(WATERDROP_VALUES, np.exp(search.x).tolist(), strict=True))
    values = {key: {FITTED[key][0]: float(math.exp(value))} for key, value in best.items()}
    values[WATERDROP] = waterdrop
    smallest_reach = min(v["marketing_reach"] for v in values.values() if "marketing_reach" in v)
    # The fit table's run is the shipped market's to the cutoff: the unobserved platforms at
    # their assumed reach too (the fitted plans' rows cannot tell; the industry's can).
    tables, calendar = run_to_cutoff(best, waterdrop, n_agents, seed, unobserved_reach=smallest_reach)
    fit = pd.DataFrame(
        [
            {
                "plan": t.plan, "quantity": t.quantity, "date": t.date.isoformat(), "observed": t.observed,
                "simulated": (sim := t.simulated_in(tables, calendar)), "relative_error": sim / t.observed - 1.0,
                "role": role, "source": t.source,
            }
            for role, checked in (("fitted", targets), ("checked", industry_checks()))
            for t in checked
        ]
    )  # fmt: skip
    for key in UNOBSERVED_REACH:
        values[key] = {"marketing_reach": smallest_reach}
    calibration = {
        "settings": {
            "cutoff": CUTOFF.isoformat(), "n_agents": n_agents, "seed": seed, "iterations": iterations,
            "preset": "xianghubao", "market_scope": "market", "multi_homing_propensity": 1.0,
            "competitor_closures": "none", "waterdrop_evaluations": waterdrop_evaluations,
        },
        "plans": values,
        "sources": {
            **{key: f"calibrated: {FITTED[key][0]} fitted to the plan's record to {CUTOFF} (huzhu calibrate-market)"
               for key in FITTED},
            WATERDROP: f"calibrated: marketing_reach and incidence_factor fitted to the platform's two counts to "
                       f"{CUTOFF} (huzhu calibrate-market)",
            **{key: "assumption: the smallest fitted reach; the record gives no count of the platform's members"
               for key in UNOBSERVED_REACH},
        },
    }  # fmt: skip
    return calibration, fit


def _simplex(start: tuple[float, float]) -> np.ndarray:
    """Nelder-Mead's first simplex around the log of `start`: each value doubled in turn."""
    x0 = np.log(start)
    return np.array([x0, x0 + np.array([math.log(2.0), 0.0]), x0 + np.array([0.0, math.log(2.0)])])


def run_to_cutoff(
    log_values: dict, waterdrop: dict, n_agents: int, seed: int, unobserved_reach: float | None = None
) -> tuple[dict[str, pd.DataFrame], Calendar]:
    """One market run to the cutoff with each fitted plan's value, the competitors open.

    Args:
        log_values: The log of the one fitted value of each plan of `FITTED`.
        waterdrop: Waterdrop's two values by name (`WATERDROP_VALUES`; 1).
        n_agents: Agents of the run.
        seed: Its seed.
        unobserved_reach: The `marketing_reach` of each plan of `UNOBSERVED_REACH` (1), or
            None for the market file's.

    Returns:
        (each plan's period table to the cutoff, by "platform.plan"; the run's calendar).
    """
    from huzhu.model.model import MutualAidModel  # the model imports this module's reader

    overrides = {key: {FITTED[key][0]: math.exp(value)} for key, value in log_values.items()}
    overrides[WATERDROP] = dict(waterdrop)
    if unobserved_reach is not None:
        overrides.update({key: {"marketing_reach": unobserved_reach} for key in UNOBSERVED_REACH})
    # No closure of 2021 (nor its announcement in late 2020) enters the fit: competitors stay open.
    model = MutualAidModel(
        preset="xianghubao", market_scope="market", market_calibration="none", competitor_closures="none",
        n_agents=n_agents, rng=seed, plan_overrides=overrides,
    )  # fmt: skip
    last = Calendar(model.calendar.launch_date).period_of(CUTOFF)
    while model.running and model.period <= last:
        model.step()
    plans = model.plan_results()
    return {f"{p}.{q}": table for (p, q), table in plans.groupby(["platform", "plan"])}, model.calendar


def _errors(tables: dict[str, pd.DataFrame], calendar: Calendar, targets: list[PlanTarget]) -> dict[str, float]:
    """Each fitted plan's sum of squared log errors over its targets."""
    errors = dict.fromkeys([*FITTED, WATERDROP], 0.0)
    for t in targets:
        simulated = t.simulated(tables[t.plan], calendar)
        errors[t.plan] += (math.log(max(simulated, 1e-9) / t.observed)) ** 2 if np.isfinite(simulated) else 1e9
    return errors
