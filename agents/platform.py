"""The platform: runs a plan's sharing rules, keeps its books, sells insurance, closes it.

A platform running several plans keeps one set of books a plan: in a model of the market
(model/pool.py) each plan's pool has its PlatformAgent, keyed by platform and plan.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import mesa
import numpy as np

from huzhu.agents import leaving, sharing
from huzhu.agents.sharing import ChargeSignal

FEE_FLOOR_WINDOW_PERIODS = 6  # assumption: the fee_floor rule reads a quarter's accounts


@dataclass(frozen=True)
class ClaimCohort:
    """The claims of the members diagnosed in one period, realised and expected.

    Attributes:
        payouts_cny: Their benefits (CNY).
        expected_payouts_cny: The benefits' expectation given who was covered (CNY).
        cases: Claimants (people).
        expected_cases: Their expectation (people).
    """

    payouts_cny: float = 0.0
    expected_payouts_cny: float = 0.0
    cases: float = 0.0
    expected_cases: float = 0.0

    def __add__(self, other: ClaimCohort) -> ClaimCohort:
        return ClaimCohort(
            self.payouts_cny + other.payouts_cny,
            self.expected_payouts_cny + other.expected_payouts_cny,
            self.cases + other.cases,
            self.expected_cases + other.expected_cases,
        )


class PlatformAgent(mesa.Agent):
    """Runs "cover first, share later" and keeps the accounts in real CNY.

    A claim is announced and paid `claim_announcement_lag_periods` after the diagnosis
    (the investigation: dxju.cn/help/32573.html); in the last covered period every claim
    still under investigation is announced. Benefits paid in period t are shared in
    period t + 1 together with the management fee on them (the published formula:
    dxju.cn/help/32573.html). Refunds to members ill
    in their waiting period are paid by the platform: the formula has no term for them,
    and 2020's fees, 7.29亿 of ~99亿 shared (8/108 = 7.4%), leave no room for one. From the
    closure announcement on, the platform pays the shares itself.

    Attributes:
        under_investigation: Claim cohorts diagnosed but not yet announced, oldest first.
        pending_payouts_cny: Benefits paid last period, to be shared now (CNY).
        pending_expected_payouts_cny: Their expectation given the covered members'
            risks (CNY): what `charge_signal_noise="one_to_one"` shrinks the share towards.
        unit_share_ewma_cny: Smoothed share per unit of sharing weight (CNY per period);
            the charge level agents expect.
        reference_unit_share_cny: The same with the longer memory of the reference
            (CNY per period).
        pool: The plan's pool (model/pool.py): its parameters and members.
        params: The plan's parameters.
        charge_signal: What members know of the charges this period (`ChargeSignal`).
        announced_period / end_period: Closure announcement and last covered period.
        totals: Running totals of every account (CNY or people).
    """

    def __init__(self, model, pool, announced_period: int, end_period: int):
        super().__init__(model)
        self.pool = pool
        self.params = pool.params
        self.under_investigation: deque[ClaimCohort] = deque()
        self.pending_payouts_cny = 0.0
        self.pending_expected_payouts_cny = 0.0
        self.unit_share_ewma_cny = 0.0
        self.reference_unit_share_cny = 0.0
        self.charge_signal = ChargeSignal()
        self.announced_period = announced_period
        self.end_period = end_period
        self.peak_members = 0.0
        self.fee_history_cny: list[float] = []
        self.totals = {
            "fee_revenue": 0.0, "platform_subsidy": 0.0, "refunds": 0.0, "commission_revenue": 0.0,
            "cumulative_aided": 0.0, "expected_cumulative_aided": 0.0,
        }  # fmt: skip

    def cap_in_force(self, year: int) -> float:
        """Per-member annual cap in `year` (CNY per year; inf when none)."""
        p = self.params
        return sharing.annual_cap_cny(year, p["annual_cap_cny"], p["annual_cap_first_year"], p["annual_cap_last_year"])

    def share_last_period_costs(self, period: int, year: int, new_year: bool) -> dict:
        """Split last period's benefits and the fee on them among today's members.

        Args:
            period: Current period.
            year: Calendar year of the period (selects the cap).
            new_year: Whether the period opens a calendar year (year-to-date resets).

        Returns:
            The period's accounts (CNY): shared_total, share_per_member, collected,
            fee_revenue, platform_subsidy, cap_subsidy; their Poisson-free counterparts
            expected_shared_total, expected_share_per_member, expected_fee_revenue (the
            same rule applied to the expectation of last period's benefits); and
            sharers (people).
        """
        p = self.params
        population = self.pool.population
        scale = self.model.people_per_agent
        fee = p["fee_rate"] * self.pending_payouts_cny
        shared_total = self.pending_payouts_cny + fee
        expected_fee = p["fee_rate"] * self.pending_expected_payouts_cny
        expected_shared_total = self.pending_expected_payouts_cny + expected_fee
        weight_total = population.member_weight_total
        platform_pays_all = period >= self.announced_period or weight_total == 0
        members_pay = 0.0 if platform_pays_all else 1.0 - p["platform_subsidy_share"]
        share_subsidy = (1.0 - members_pay) * shared_total
        asked_total = shared_total - share_subsidy
        unit_share = asked_total / (scale * weight_total) if weight_total else 0.0
        asked, charged, sharers = population.charge_shares(unit_share, self.cap_in_force(year), new_year)
        collected = charged * scale
        cap_subsidy = (asked - charged) * scale
        self._update_charge_signal(self._signalled_unit_share(unit_share, weight_total), platform_pays_all)
        self.pending_payouts_cny = self.pending_expected_payouts_cny = 0.0
        subsidy = share_subsidy + cap_subsidy
        self.totals["fee_revenue"] += fee
        self.totals["platform_subsidy"] += subsidy
        self.fee_history_cny.append(fee)
        return {
            "shared_total": shared_total,
            "share_per_member": asked_total / (scale * sharers) if sharers else 0.0,
            "collected": collected,
            "fee_revenue": fee,
            "platform_subsidy": subsidy,
            "cap_subsidy": cap_subsidy,
            "sharers": sharers * scale,
            "expected_shared_total": expected_shared_total,
            "expected_share_per_member": members_pay * expected_shared_total / (scale * sharers) if sharers else 0.0,
            "expected_fee_revenue": expected_fee,
        }

    def _signalled_unit_share(self, unit_share_cny: float, weight_total: float) -> float:
        """The share per unit of weight as members weigh it (CNY): as charged, or with its
        one-to-one noise (`charge_signal_noise`). Once the platform pays every share the
        signal is zero whatever this returns (`_update_charge_signal`)."""
        p = self.params
        scale = self.model.people_per_agent
        if p["charge_signal_noise"] == "simulated" or weight_total == 0:
            return unit_share_cny
        expected_asked = (1.0 - p["platform_subsidy_share"]) * (1.0 + p["fee_rate"]) * self.pending_expected_payouts_cny
        return sharing.one_to_one_share(unit_share_cny, expected_asked / (scale * weight_total), scale)

    def _update_charge_signal(self, unit_share_cny: float, platform_pays_all: bool) -> None:
        """Smooth the share into the recent level and the reference; set what members see."""
        p = self.params
        jump = leaving.share_jump(unit_share_cny, self.reference_unit_share_cny, p["noticeable_share_cny"])
        reference_before = self.reference_unit_share_cny
        memory = np.exp(-1.0 / p["charge_memory_periods"])
        self.unit_share_ewma_cny = memory * self.unit_share_ewma_cny + (1.0 - memory) * unit_share_cny
        reference_memory = np.exp(-1.0 / p["reference_memory_periods"])
        self.reference_unit_share_cny = reference_memory * reference_before + (1.0 - reference_memory) * unit_share_cny
        # Once the platform pays every share, and says so, nothing is charged to weigh.
        self.charge_signal = (
            ChargeSignal() if platform_pays_all else ChargeSignal(self.unit_share_ewma_cny, reference_before, jump)
        )

    def pay_claims(
        self,
        period: int,
        benefits_cny: np.ndarray,
        refunds_cny: np.ndarray,
        expected_claims: float,
        expected_benefits_cny: float,
    ) -> dict:
        """Take this period's claims into investigation, announce and pay those whose
        investigation is over (shared next period), and pay the refunds (the platform's own
        cost), all per person.

        Args:
            period: Current period (in the last covered one every claim is announced).
            benefits_cny: Benefit of each member diagnosed this period (CNY per person).
            refunds_cny: Refund of each member ill in the waiting period (CNY per person).
            expected_claims: Sum over covered members of illness probability (agents):
                the diagnoses' expectation.
            expected_benefits_cny: Sum over covered members of illness probability x
                benefit (CNY per person): the benefits' expectation.

        Returns:
            {"payouts": CNY announced and paid, "refunds": CNY, "expected_claims": people
            diagnosed in expectation, "cases_announced": people, "expected_cases_announced":
            people}.
        """
        scale = self.model.people_per_agent
        self.under_investigation.append(
            ClaimCohort(
                payouts_cny=float(benefits_cny.sum() * scale),
                expected_payouts_cny=expected_benefits_cny * scale,
                cases=len(benefits_cny) * scale,
                expected_cases=expected_claims * scale,
            )
        )
        announced = ClaimCohort()
        lag = self.params["claim_announcement_lag_periods"]
        while self.under_investigation and (len(self.under_investigation) > lag or period >= self.end_period):
            announced += self.under_investigation.popleft()
        refunds = float(refunds_cny.sum() * scale)
        self.pending_payouts_cny += announced.payouts_cny
        self.pending_expected_payouts_cny += announced.expected_payouts_cny
        self.totals["refunds"] += refunds
        self.totals["cumulative_aided"] += announced.cases
        self.totals["expected_cumulative_aided"] += announced.expected_cases
        return {
            "payouts": announced.payouts_cny,
            "refunds": refunds,
            "expected_claims": expected_claims * scale,
            "cases_announced": announced.cases,
            "expected_cases_announced": announced.expected_cases,
        }

    def sell_insurance(self, buyers_were_members: np.ndarray) -> dict:
        """Book this period's insurance sales; the platform earns commission on members' purchases.

        Returns:
            {"insurance_buyers": people, "insurance_buyers_members": people, "commission_revenue": CNY}.
        """
        p = self.params
        scale = self.model.people_per_agent
        member_buyers = float(buyers_were_members.sum() * scale)
        commission = member_buyers * p["insurance_premium_cny"] * p["commission_rate"]
        self.totals["commission_revenue"] += commission
        return {
            "insurance_buyers": len(buyers_were_members) * scale,
            "insurance_buyers_members": member_buyers,
            "commission_revenue": commission,
        }

    def review_closure(self, period: int, members: float) -> None:
        """Apply the endogenous closure rule, if one is chosen, after the period's accounts.

        Closure is announced next period and takes effect `closure_notice_periods` later;
        it never moves later than the dated closure.
        """
        p = self.params
        self.peak_members = max(self.peak_members, members)
        if p["closure_rule"] == "date" or period + 1 >= self.announced_period:
            return
        if p["closure_rule"] == "member_floor":
            triggered = members < p["closure_member_floor"] * self.peak_members
        else:
            recent = self.fee_history_cny[-FEE_FLOOR_WINDOW_PERIODS:]
            reached = max(
                np.convolve(
                    self.fee_history_cny, np.ones(FEE_FLOOR_WINDOW_PERIODS) / FEE_FLOOR_WINDOW_PERIODS, "valid"
                ),
                default=0.0,
            )
            triggered = (
                len(recent) == FEE_FLOOR_WINDOW_PERIODS
                and reached >= p["closure_fee_floor_cny"]
                and np.mean(recent) < p["closure_fee_floor_cny"]
            )
        if triggered:
            self.announced_period = period + 1
            self.end_period = min(self.end_period, period + p["closure_notice_periods"])
