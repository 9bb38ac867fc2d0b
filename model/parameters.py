"""Every model parameter: default, unit, allowed values and source, one a line.

The CLI (`huzhu params`, `huzhu run --set`), `MutualAidModel`'s keyword arguments, the
documentation and any later front end read this one table, so validation lives here.
Sources are in data/xianghubao_facts.md unless named otherwise; "assumption:" marks a
default that no data give, with the reason it was chosen.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np


class ParameterError(ValueError):
    """A parameter name is unknown or its value is not allowed."""


@dataclass(frozen=True)
class Parameter:
    """One model parameter.

    Attributes:
        name: Keyword name in `MutualAidModel(**params)`.
        default: Default value.
        unit: Unit of the value ("1" for dimensionless shares and multipliers).
        low: Smallest allowed value (numbers only), inclusive.
        high: Largest allowed value (numbers only), inclusive; may be math.inf.
        choices: Allowed values (text parameters only).
        source: Citation from data/, or "assumption:" and why.
        group: Section of the model the parameter belongs to.
    """

    name: str
    default: Any
    unit: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    source: str = ""
    group: str = ""

    @property
    def kind(self) -> type:
        """The Python type of the value (bool, int, float, str or dt.date)."""
        return type(self.default)

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is dt.date:
            return f"an ISO date between {self.low} and {self.high}"
        kind = "an integer" if self.kind is int else "a number"
        return f"{kind} in [{format_number(self.low)}, {format_number(self.high)}]"

    def validate(self, value: Any) -> Any:
        """Return `value` converted to this parameter's type, or raise ParameterError.

        Args:
            value: Candidate value (already typed, or text from a command line).

        Returns:
            The value as `self.kind`.

        Raises:
            ParameterError: Naming the parameter and what is allowed. Nothing is clamped.
        """
        if isinstance(value, str) and self.kind is not str:
            value = self._parse(value)
        value = self._from_library_type(value)
        kind = self.kind
        ok_type = (
            (kind is bool and isinstance(value, bool))
            or (kind is int and isinstance(value, int) and not isinstance(value, bool))
            or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
            or (kind is str and isinstance(value, str))
            or (kind is dt.date and isinstance(value, dt.date) and not isinstance(value, dt.datetime))
        )
        if not ok_type:
            raise ParameterError(
                f"{self.name}={value!r} has the wrong type ({type(value).__name__}): allowed {self.allowed()} ({self.unit})"
            )
        if kind is float:
            value = float(value)
            if math.isnan(value):
                raise ParameterError(f"{self.name}=nan is not a number: allowed {self.allowed()} ({self.unit})")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"{self.name}={value!r} is not allowed: {self.allowed()}")
        if self.low is not None and not (self.low <= value <= self.high):
            raise ParameterError(f"{self.name}={value!r} is out of range: allowed {self.allowed()} ({self.unit})")
        return value

    def _from_library_type(self, value: Any) -> Any:
        """numpy scalars (from sweeps built with numpy) as Python numbers; a datetime at
        midnight (pandas Timestamp included) as a date. Anything else is left for the
        type check."""
        if isinstance(value, np.generic):
            return value.item()
        if self.kind is dt.date and isinstance(value, dt.datetime):
            if value.time() != dt.time(0) or value.tzinfo is not None:
                raise ParameterError(f"{self.name}={value!r} has a time of day: allowed {self.allowed()}")
            return value.date()
        return value

    def _parse(self, text: str) -> Any:
        text = text.strip()
        try:
            if self.kind is bool:
                lowered = text.lower()
                if lowered in ("true", "1", "yes", "on"):
                    return True
                if lowered in ("false", "0", "no", "off"):
                    return False
                raise ValueError(text)
            if self.kind is int:
                return int(text)
            if self.kind is float:
                return float(text)
            if self.kind is dt.date:
                return dt.date.fromisoformat(text)
        except ValueError:
            raise ParameterError(
                f"{self.name}={text!r} cannot be read: allowed {self.allowed()} ({self.unit})"
            ) from None
        return text


def format_number(x: float | None) -> str:
    """A number as text: "inf" for infinity, the shortest form otherwise."""
    if x is None:
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:g}" if isinstance(x, float) else str(x)


_DATE_MIN = dt.date(2016, 1, 1)
_DATE_MAX = dt.date(2035, 12, 31)
_P = Parameter
INF = math.inf

# fmt: off
PARAMETERS: tuple[Parameter, ...] = (
    # --- engine ---
    _P("engine", "vectorised", "-", choices=("vectorised", "agents"), source="vectorised: all agents at once, chunked (any size); agents: MemberAgent.step() per agent in random order, the readable reference (small sizes)", group="engine"),
    # --- scale ---
    _P("n_agents", 4_000_000, "agents", 200, 200_000_000, source="assumption: 1:100 scale, tens of approved cases a period at the peak; a run takes about half a minute on 2 cores (benchmarks/)", group="scale"),
    _P("population", 400_000_000.0, "people", 1_000.0, 1.5e9, source="assumption: people the platform can reach (Alipay users aged 0-59 who could join, or be enrolled); chosen so that the 104M members of April 2020 (SCMP 2020-04-04) are about a quarter of them; at most the 904M internet users of March 2020 (CNNIC 45th report)", group="scale"),
    # --- market ---
    _P("market_scope", "one_plan", "-", choices=("one_plan", "market"), source="one_plan: Xianghubao's critical-illness plan alone, as the record describes it; market: every platform and plan of data/market.toml in one model, the people shared (docs/ODD.md 7.12)", group="market"),
    _P("multi_homing_propensity", 1.0, "1 (multiplier on the joining hazard)", 0.0, 1.0, source="assumption: 1, a member of one platform joins another as anyone else would; the platforms' own counts (104M + 109.3M + 17M in spring 2020, xianghubao_facts.md) exceed the industry's 150M+ participants, so many held two; 0: no one joins a second platform", group="market"),
    _P("plan_transfer_takeup", 1.0, "share of members reaching the plan's maximum age", 0.0, 1.0, source="assumption: 1; members of the critical-illness plan transfer to the elderly cancer plan at 59 without a new wait (2898.com/news/shouji/62702.htm), as a transfer, not a new application; no take-up is in the record", group="market"),
    _P("closure_switch_prob", 0.0, "share of a closing platform's members", 0.0, 1.0, source="assumption: 0 by default, no switching at the closure itself (the closures were in 2021, after the record, so nothing in it sets this); members who did not take the offered policy join another platform open to them with this probability, for experiments", group="market"),
    _P("competitor_closures", "dated", "-", choices=("dated", "none", "with_modelled"), source="market model: dated, each other platform closes on its date in data/market.toml (the 2021 closures: a scenario input, not record); none, none closes during the run; with_modelled, every platform closes with the modelled plan, on its closure date (a regulator closing the industry at once)", group="market"),
    _P("market_calibration", "shipped", "-", choices=("shipped", "none"), source="market model: shipped, each other plan's fitted value from data/market_calibration.json (competitors' marketing reach, the elderly and chronic-disease plans' incidence, fitted to their record to 2020-12-31: huzhu calibrate-market); none, the market file's values and Xianghubao's marketing for every platform", group="market"),
    # --- calendar ---
    _P("launch_date", dt.date(2018, 10, 16), "date", _DATE_MIN, _DATE_MAX, source="launch on the Alipay home page (user.guancha.cn/main/content?id=1506581)", group="calendar"),
    _P("closure_rule", "date", "-", choices=("date", "member_floor", "fee_floor"), source="closure by date as Xianghubao (gucheng.com 202112/4142021); the two endogenous rules are policy options", group="calendar"),
    _P("closure_announced_date", dt.date(2021, 12, 28), "date", _DATE_MIN, _DATE_MAX, source="closure announced 28 Dec 2021 (gucheng.com 202112/4142021; pingwest 2021-12-29)", group="calendar"),
    _P("closure_date", dt.date(2022, 1, 28), "date", _DATE_MIN, _DATE_MAX, source="plan ended 24:00 28 Jan 2022 (gucheng.com 202112/4142021)", group="calendar"),
    _P("closure_member_floor", 0.5, "share of peak members", 0.0, 1.0, source="assumption: rule member_floor closes once members fall below this share of their peak", group="calendar"),
    _P("closure_fee_floor_cny", 15_000_000.0, "CNY per period", 0.0, 1e10, source="assumption: rule fee_floor closes once fee revenue falls below this operating cost; half the 2020 mean of 7.29e8/24 CNY (XHB 2020 report, derived)", group="calendar"),
    _P("closure_notice_periods", 2, "periods", 1, 24, source="one month from announcement (28 Dec 2021) to end (28 Jan 2022)", group="calendar"),
    _P("closure_offer_takeup", 0.0, "share of members at the closure", 0.0, 1.0, source="assumption: 0 by default; members were offered commercial insurance at the closure (PICC Life, Sunshine Life: gucheng.com 202112/4142021), but no take-up is in the record; for experiments", group="calendar"),
    # --- eligibility and population ---
    _P("min_age_years", 30 / 365.25, "years", 0.0, 79.0, source="eligible from 30 days of age (user.guancha.cn; sysxhz.com/s/1185401.html)", group="population"),
    _P("max_age_years", 60.0, "years", 19.0, 80.0, source="eligible to age 59; members leave at 60 (user.guancha.cn)", group="population"),
    _P("age_pyramid", "internet_users_2020", "-", choices=("internet_users_2020", "uniform"), source="ages of the people the platform can reach: China's internet users, March 2020 (CNNIC 45th report: 21.5% aged 20-29, 20.8% 30-39, 17.6% 40-49, 16.9% 50+; data/china_internet_users_age_2020.csv); uniform on 0-59 for ablations", group="population"),
    _P("adult_age_years", 18.0, "years", 0.0, 30.0, source="assumption: Alipay's real-name accounts are adults'; minors join only when a relative enrols them", group="population"),
    _P("income_median_cny", 65_700.0, "CNY per year", 1_000.0, 1e6, source="lognormal with sigma 0.8 giving 70% under 100k (data/xianghubao_facts.md, derived)", group="population"),
    _P("income_sigma", 0.8, "log CNY", 0.0, 3.0, source="data/xianghubao_facts.md, derived (NBS 2019; techroomage.com/371)", group="population"),
    _P("credit_pass_rate", 0.75, "share", 0.0, 1.0, source="assumption: Zhima credit >= 650 at launch (user.guancha.cn); share of users passing not published", group="population"),
    # --- risk ---
    _P("risk_heterogeneity", "age_and_frailty", "-", choices=("age_and_frailty", "age_only", "none"), source="age-based CI1 incidence times a private frailty; 'none' gives everyone the population mean (for ablations)", group="risk"),
    _P("covered_illness_factor", 1.33, "1", 0.0, 10.0, source="six core diseases are > 70% (male) / 80% (female) of claims, so ~100 illnesses are ~1/0.75 of CI1 (data/xianghubao_facts.md, derived)", group="risk"),
    _P("frailty_sigma", 1.0, "log units", 0.0, 3.0, source="assumption: lognormal private frailty (mean 1); members know their risk better than the platform", group="risk"),
    _P("health_screen_frailty_quantile", 0.9, "quantile", 0.0, 1.0, source="assumption: the top 10% of frailty have a condition the health declaration asks about (dxju.cn/help/32573.html)", group="risk"),
    _P("health_screen_effectiveness", 0.7, "share", 0.0, 1.0, source="assumption: share of those with a declarable condition whom the declaration keeps out", group="risk"),
    _P("select_risk_factor_at_joining", 0.0, "1", 0.0, 1.0, source="assumption: new diagnoses start low after a health declaration (select-and-ultimate effect); members' incidence is far below insured lives (Fang, Qin, Wu & Yu, SSRN 3781998)", group="risk"),
    _P("select_period_years", 6.0, "years", 0.01, 50.0, source="assumption: time scale of the select effect (with select_shape 1 its e-folding time); from 0 at joining, members' incidence is ~15% of CI1 x 1.33 after two years, near 68,675 aided among ~100M members in 2020 (2898.com/news/shouji/62702.htm); calibrated in the xianghubao preset", group="risk"),
    _P("select_shape", 1.0, "1", 0.2, 6.0, source="assumption: Weibull shape of the rise from the select to the ultimate rate; 1 = exponential; above 1 the first months stay low (conditions undiagnosed at joining surface, are diagnosed and pass the claim investigation first); calibrated on the record's 24 people aided by April 2019 and 2,839 by September 2019 in the xianghubao preset", group="risk"),
    _P("select_ultimate_factor", 1.0, "1", 0.0, 2.0, source="assumption: members' long-run incidence relative to CI1 x covered_illness_factor; 1 = the population's; members' incidence is far below insured lives' at every age (advantageous selection: Fang, Qin, Wu & Yu, SSRN 3781998); calibrated in the xianghubao preset", group="risk"),
    _P("risk_perception_sigma", 0.5, "log units", 0.0, 3.0, source="assumption: lognormal error of an agent's belief about its own frailty", group="risk"),
    # --- claims ---
    _P("benefit_young_cny", 300_000.0, "CNY", 0.0, 1e7, source="300,000 CNY if diagnosed under 40 (user.guancha.cn; kr-asia.com)", group="claims"),
    _P("benefit_old_cny", 100_000.0, "CNY", 0.0, 1e7, source="100,000 CNY if diagnosed at 40-59 (user.guancha.cn; kr-asia.com)", group="claims"),
    _P("benefit_age_split_years", 40.0, "years", 0.0, 80.0, source="benefit falls at 40 (user.guancha.cn)", group="claims"),
    _P("waiting_periods", 6, "periods", 0, 48, source="90-day waiting period at two periods a month (dxju.cn/help/32573.html)", group="claims"),
    _P("claim_awareness_midpoint_periods", 0.0, "periods since launch", 0.0, 120.0, source="assumption: with claim_awareness_width_periods 0, every ill member claims from the launch; calibrated in the xianghubao preset, where the record's claims per member rise about threefold across all cohorts at once in autumn 2019 (500 cases among 77.3M members on 2019-08-07, handmsg.com; ~1,800 a period from September to December 2019, lhsxpumps.com, kr-asia.com, 2898.com) while the 2020 rate stays flat (2,810 in the last period against 68,675 / 24 a period, fbswarehouse.com, 2898.com)", group="claims"),
    _P("claim_awareness_width_periods", 0.0, "periods", 0.0, 48.0, source="assumption: how fast awareness of the cover spread (logistic scale, 0 a step); members joined with one tap and learned what the plan pays as cases were announced; calibrated in the xianghubao preset", group="claims"),
    _P("claim_awareness_age_delay_periods", 0.0, "periods per 10 years of age above adulthood", 0.0, 48.0, source="assumption: 0, awareness the same at every age; the older a user, the less of the app it uses (CNNIC 45th report), so the later it learns what the plan pays; the aided were young early on (227,321 CNY a case in August 2019, 55% under 40, derived from handmsg.com) and old in 2020 (at most 17% of cases under 40 at 133,500 CNY a case, derived from the XHB 2020 report and 2898.com: docs/calibration.md); calibrated in the xianghubao preset", group="claims"),
    _P("claim_announcement_lag_periods", 2, "periods", 0, 24, source="a claim is investigated for up to 30 days before it is announced on the 7th or 21st and shared (dxju.cn/help/32573.html; tzshuo.com/a/67776.html); assumption: the whole month, so the record's cases and aided count diagnoses of a month before", group="claims"),
    # --- sharing ---
    _P("sharing_rule", "equal", "-", choices=("equal", "age_banded"), source="equal split (dxju.cn/help/32573.html); age_banded (risk-rated by age) is a policy option", group="sharing"),
    _P("fee_rate", 0.08, "share of payouts", 0.0, 1.0, source="8% of payouts (dxju.cn; technode 2019-05-07)", group="sharing"),
    _P("annual_cap_cny", 188.0, "CNY per member per year", 0.0, INF, source="188 CNY in 2019 and 2020 (SCMP 2020-04-04; lhsxpumps.com); inf for no cap", group="sharing"),
    _P("annual_cap_first_year", 2019, "year", 2016, 2035, source="cap announced for 2019 (SCMP 2020-04-04)", group="sharing"),
    _P("annual_cap_last_year", 2020, "year", 2016, 2035, source="cap stated for 2019 and 2020, none after (SCMP 2020-04-04; 2898.com/news/shouji/62702.htm)", group="sharing"),
    _P("platform_subsidy_share", 0.0, "share of each period's shared total", 0.0, 1.0, source="assumption: no routine subsidy; a policy option", group="sharing"),
    # --- joining ---
    _P("marketing_rate", 0.004, "per period", 0.0, 1.0, source="assumption: Bass innovation hazard after the launch campaign", group="joining"),
    _P("launch_marketing_rate", 0.08, "per period", 0.0, 5.0, source="assumption: 12M joined in the first 10 days (user.guancha.cn), about 8% of adult eligibles a period", group="joining"),
    _P("launch_marketing_decay_periods", 3.0, "periods", 0.01, 100.0, source="assumption: e-folding time of the launch campaign (home-page placement)", group="joining"),
    _P("word_of_mouth_rate", 0.06, "per period at all neighbours members", 0.0, 5.0, source="assumption: Bass imitation hazard; word of mouth was strong (ggzgc.com/toutiao/20191223/7690.html)", group="joining"),
    _P("join_age_gradient", 0.01, "per year of age above adulthood", 0.0, 0.5, source="joining hazard of an adult falls as exp(-g x (age - adult age)) beyond the internet users' own age pyramid (age_pyramid): older users take up a new payment app's services less; assumption for the default (a fifth less joining at 40 than at 18); calibrated in the xianghubao preset to the members' mean age 34.4 (XHB 2020 report) with the rest of the record", group="joining"),
    _P("rejoin_propensity", 0.25, "1 (multiplier on the joining hazard)", 0.0, 1.0, source="assumption for the default: one who left decided once that the plan was not worth it, so is a quarter as likely as an outsider to join again; no re-join rate is published, so the xianghubao preset calibrates it (docs/calibration.md)", group="joining"),
    _P("family_enrolment_prob", 0.24, "share of joiners", 0.0, 1.0, source="24% of members enrolled relatives (bbs.bj-qlm.com 2019-11; Ant white paper)", group="joining"),
    _P("relative_choice", "neighbour", "-", choices=("neighbour", "generation"), source="whom a joiner enrols: neighbour, a tie at random (peers, as word of mouth); generation, a parent or a child, an eligible agent a generation older or younger (the 19.2% of the aided who had been enrolled by family, bbs.bj-qlm.com 2019-11, weigh more than the enrolled's numbers would at a peer's age)", group="joining"),
    _P("family_parent_share", 0.5, "share of relatives enrolled", 0.0, 1.0, source="generation choice: a parent with this probability, else a child; assumption for the default (no split is published); calibrated in the xianghubao preset to the 19.2% of the aided enrolled by family (bbs.bj-qlm.com 2019-11)", group="joining"),
    _P("generation_gap_years", 27.0, "years", 15.0, 40.0, source="generation choice: parents' age at a child's birth; assumption between mothers' 26.3 years at a first birth (2015 1% population sample survey, crsrw.com/falvchangshi/76741.html) and 28.3 at all births 2003-2014 (two Shanghai and Zhejiang teaching hospitals, starlingscience.com), fathers a couple of years older", group="joining"),
    _P("generation_spread_years", 5.0, "years", 0.5, 15.0, source="generation choice: half-width of the relative's age window around the gap; assumption: 91.6% of births 2003-2014 were to women aged 20-34 (starlingscience.com), about +-5 years around the mean with fathers' ages added", group="joining"),
    # --- staying or leaving ---
    _P("stay_rule", "constant", "-", choices=("constant", "salience"), source="constant: every member weighs the recent charge against willingness to pay with a fixed chance a period; salience: inattentive members never review (Samuelson & Zeckhauser 1988; Madrian & Shea 2001; Handel 2013), the others' attention rises with a jump of the share over its reference, and charges above the reference weigh more (Kahneman & Tversky 1979; Koszegi & Rabin 2006)", group="leaving"),
    _P("inattentive_share", 0.78, "share of agents", 0.0, 1.0, source="salience rule: share who never review a charge deducted by default; automatic enrolment kept (86 - 37) / (100 - 37) = 78% of those who would not have chosen a 401(k) in it (Madrian & Shea 2001, QJE 116(4), derived); calibrated", group="leaving"),
    _P("salience_attention", 1.0, "attention hazard per unit log jump of the share", 0.0, 50.0, source="assumption: salience rule; a share twice its reference adds ln 2 x this to the attentive members' review hazard; calibrated", group="leaving"),
    _P("reference_memory_periods", 12.0, "periods", 0.01, 200.0, source="assumption: salience rule; e-folding memory of the reference share (half a year of deductions)", group="leaving"),
    _P("noticeable_share_cny", 1.0, "CNY per period", 0.0, 1e4, source="assumption: salience rule; shares below about 1 CNY a period (the plan's early 0.1 CNY per case promise, dxju.cn/help/8841.html) are too small to notice a jump in", group="leaving"),
    _P("closure_news_attention", 0.0, "per period", 0.0, 5.0, source="assumption: 0, no effect, by default; the hazard another platform's closure (data/market.toml) adds to the attentive members' review hazard under the salience rule in the period it closes, for market experiments", group="leaving"),
    _P("closure_news_contagion", 0.0, "recent neighbour exits (per person whose platform closed)", 0.0, 20.0, source="assumption: 0, no effect, by default (the closures were in 2021, after the record, so nothing in it sets this); each person whose platform closes counts, for its neighbours in the other platforms' plans, as this many recent exits in the hazard contagion's exposure (contagion_strength; Nitzan & Libai 2011), the news of the closure passing between friends; for market experiments", group="leaving"),
    _P("closure_news_decay_periods", 2.0, "periods", 0.01, 100.0, source="assumption: the news fades as a neighbour's exit does (contagion_decay_periods: Haenlein 2013; Nitzan & Libai 2011)", group="leaving"),
    _P("loss_aversion", 1.25, "1 (extra weight on charges above the reference)", 0.0, 10.0, source="salience rule; losses weigh lambda = 2.25 times gains (Tversky & Kahneman 1992, J. Risk Uncertainty 5(4)), so a charge above the reference adds 1.25 times the excess", group="leaving"),
    _P("value_loading", 1.5, "1", 0.0, 100.0, source="assumption: risk-averse members value cover above its expected cost (> 1), but most below a commercial premium: 68.4% of participants held no commercial insurance (Ant white paper 2020), though commercial critical-illness premiums carry a loading of a few times the expected claims; docs/calibration.md gives the previous shipped calibration's distance at loadings from 1 to 3.3 (2.83 to 3.14)", group="leaving"),
    _P("probability_weighting", 1.0, "1 (curvature g of the decision weight)", 0.28, 2.0, source="members weigh their perceived annual risk p as w(p) = p^g / (p^g + (1 - p)^g)^(1/g) (Tversky & Kahneman 1992, J. Risk Uncertainty 5(4): g = 0.69 for losses; small probabilities overweighted in insurance choices: Barseghyan, Molinari, O'Donoghue & Teitelbaum 2013, AER 103(6)); 1 = as they are, the default; below 0.28 w is not increasing in p; calibrated in the xianghubao preset (docs/calibration.md)", group="leaving"),
    _P("affordability_share", 0.004, "share of income", 0.0, 1.0, source="assumption: most a member will pay a year for mutual aid; 54% could only just afford bills under 100k (techroomage.com/371)", group="leaving"),
    _P("price_sensitivity", 2.0, "1 (log-odds per log price ratio)", 0.0, 50.0, source="short-run price elasticity about -2 in an equal-price pool (Cutler & Reber 1998, QJE 113(2))", group="leaving"),
    _P("price_sensitivity_income_elasticity", 0.3, "1", 0.0, 5.0, source="assumption: sensitivity scales as (income / median)^-e: lower income, higher sensitivity", group="leaving"),
    _P("price_attention", 0.04, "per period", 0.0, 1.0, source="assumption: charges are deducted automatically, so few members review them in a given period (inertia); constant rule: chance a period that a member weighs the price; salience rule: base review hazard of the attentive members", group="leaving"),
    _P("base_exit_hazard", 0.002, "per period", 0.0, 1.0, source="assumption: exits for reasons outside the model (about 5% a year)", group="leaving"),
    _P("charge_signal_noise", "one_to_one", "-", choices=("one_to_one", "simulated"), source="one_to_one: members weigh the share with the case-count noise it has when each agent is one person (expected + (simulated - expected) / sqrt(people per agent)), so behaviour does not depend on the number of agents; simulated: the simulated share as charged (noisier the fewer the agents)", group="leaving"),
    _P("charge_memory_periods", 4.0, "periods", 0.01, 100.0, source="assumption: e-folding memory of recent charges (two months)", group="leaving"),
    _P("contagion_model", "hazard", "-", choices=("hazard", "threshold", "none"), source="hazard: Nitzan & Libai 2011 (J. Marketing 75(6)); threshold: Granovetter 1978, Watts 2002", group="leaving"),
    _P("contagion_strength", 0.8, "hazard increase per recently exited neighbour", 0.0, 20.0, source="+80% defection hazard per defecting neighbour (Nitzan & Libai 2011); an upper bound, naive estimates overstate peer effects 3-7x (Aral et al. 2009, PNAS 106(51))", group="leaving"),
    _P("contagion_decay_periods", 2.0, "periods", 0.01, 100.0, source="effects from neighbours who left within ~5 weeks, strongest in the first month (Haenlein 2013; Nitzan & Libai 2011)", group="leaving"),
    _P("contagion_threshold_mean", 0.3, "share of neighbours", 0.0, 1.0, source="assumption: mean exit threshold of the threshold model (Watts 2002 uses thresholds near 0.2)", group="leaving"),
    _P("contagion_threshold_sd", 0.1, "share of neighbours", 0.0, 1.0, source="assumption: spread of thresholds (normal, truncated to [0, 1] by redrawing)", group="leaving"),
    # --- cross-sell ---
    _P("consider_prob_initial", 0.20, "share", 0.0, 1.0, source="about 20% of non-members consider commercial insurance (Nankai survey end 2019, woshipm.com 2022-01-11)", group="cross_sell"),
    _P("consider_rate_members", 0.0207, "per period", 0.0, 1.0, source="20% + 80% x (1 - (1 - r)^24) = 51.5% of members one year in (woshipm.com 2022-01-11, derived)", group="cross_sell"),
    _P("consider_rate_nonmembers", 0.0, "per period", 0.0, 1.0, source="assumption: non-members stay near the surveyed 20%", group="cross_sell"),
    _P("insured_prob_initial", 0.316, "share", 0.0, 1.0, source="68.4% of participants had no commercial insurance (Ant white paper 2020)", group="cross_sell"),
    _P("buy_rate", 0.01, "per period at median income", 0.0, 5.0, source="assumption: hazard of buying once considering; Haoyibao passed 30M users (woshipm.com 2022-01-11)", group="cross_sell"),
    _P("buy_income_elasticity", 1.0, "1", 0.0, 5.0, source="assumption: buying scales as (income / median)^e", group="cross_sell"),
    _P("insurance_premium_cny", 300.0, "CNY per year", 0.0, 1e6, source="assumption: a typical first-year premium of an online medical or critical-illness policy", group="cross_sell"),
    _P("commission_rate", 0.3, "share of first-year premium", 0.0, 1.0, source="assumption: first-year distribution commission", group="cross_sell"),
    _P("insurance_substitution", 0.0, "share", 0.0, 1.0, source="assumption: none; members held commercial insurance beside mutual aid (31.6% of participants, Ant white paper 2020), taking part raised later insurance uptake (Chen et al. 2026, JRI doi 10.1111/jori.70038), and a lump sum on diagnosis adds to medical indemnity rather than replacing it; a share lowering the value of mutual aid to the insured, for experiments", group="cross_sell"),
    # --- network ---
    _P("network_generator", "direct", "-", choices=("direct", "networkx"), source="direct: families built straight into CSR arrays (any size); networkx: the reference generators (below ~10^6 agents)", group="network"),
    _P("network_type", "watts_strogatz", "-", choices=("watts_strogatz", "barabasi_albert", "erdos_renyi", "homophilous"), source="Watts-Strogatz small world by default; homophilous: ties prefer similar age and income", group="network"),
    _P("mean_degree", 10, "ties per agent", 2, 200, source="assumption: a close circle of about ten ties", group="network"),
    _P("rewiring_prob", 0.1, "share of ties", 0.0, 1.0, source="assumption: small-world regime of Watts & Strogatz (1998)", group="network"),
    _P("homophily_noise", 0.1, "share of the age-income range", 0.0, 10.0, source="assumption: noise on the age-income position along which homophilous ties form; larger is weaker homophily", group="network"),
)
# fmt: on

PARAMETERS_BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS}


def get_parameter(name: str) -> Parameter:
    """Look up a parameter by name.

    Raises:
        ParameterError: If the name is unknown, with the closest known names.
    """
    try:
        return PARAMETERS_BY_NAME[name]
    except KeyError:
        close = difflib.get_close_matches(name, PARAMETERS_BY_NAME, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `huzhu params` lists them all"
        raise ParameterError(f"unknown parameter {name!r}{hint}") from None


def resolve_parameters(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated by `overrides`, every value validated, cross-checks applied.

    Args:
        overrides: Parameter name to value (typed, or text from a command line).

    Returns:
        A full parameter dictionary.

    Raises:
        ParameterError: On an unknown name, a wrong type, a value out of range, or
            values that contradict each other.
    """
    params = dict(DEFAULTS)
    for name, value in (overrides or {}).items():
        params[name] = get_parameter(name).validate(value)
    _check_consistency(params)
    return params


def _check_consistency(p: dict[str, Any]) -> None:
    if p["closure_announced_date"] > p["closure_date"]:
        raise ParameterError(
            f"closure_announced_date={p['closure_announced_date']} is after closure_date={p['closure_date']}: allowed on or before it"
        )
    if p["closure_announced_date"] <= p["launch_date"]:
        raise ParameterError(
            f"closure_announced_date={p['closure_announced_date']} is not after launch_date={p['launch_date']}"
        )
    if p["closure_date"] <= p["launch_date"]:
        raise ParameterError(f"closure_date={p['closure_date']} is not after launch_date={p['launch_date']}")
    if p["min_age_years"] >= p["max_age_years"]:
        raise ParameterError(f"min_age_years={p['min_age_years']} must be below max_age_years={p['max_age_years']}")
    if p["annual_cap_first_year"] > p["annual_cap_last_year"]:
        raise ParameterError(
            f"annual_cap_first_year={p['annual_cap_first_year']} is after annual_cap_last_year={p['annual_cap_last_year']}"
        )
    if p["mean_degree"] >= p["n_agents"] - 1:
        raise ParameterError(f"mean_degree={p['mean_degree']} must be below n_agents - 1 = {p['n_agents'] - 1}")
    if p["population"] < p["n_agents"]:
        raise ParameterError(
            f"population={p['population']:g} must be at least n_agents={p['n_agents']} (one agent is at least one person)"
        )
