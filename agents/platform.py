"""The platform: runs the sharing rules, keeps the books, sells insurance, closes the plan."""

from __future__ import annotations

import mesa
import numpy as np

from huzhu.agents import sharing

FEE_FLOOR_WINDOW_PERIODS = 6  # assumption: the fee_floor rule reads a quarter's accounts


class PlatformAgent(mesa.Agent):
    """Runs "cover first, share later" and keeps the accounts in real CNY.

    Costs of period t (benefits paid and refunds) are shared in period t + 1 together
    with the management fee on the benefits. From the closure announcement on, the
    platform pays the shares itself.

    Attributes:
        pending_payouts_cny: Benefits paid last period, to be shared now (CNY).
        pending_refunds_cny: Refunds paid last period, to be shared now (CNY).
        unit_share_ewma_cny: Smoothed share per unit of sharing weight (CNY per period);
            the charge level agents expect.
        announced_period / end_period: Closure announcement and last covered period.
        totals: Running totals of every account (CNY or people).
    """

    def __init__(self, model, announced_period: int, end_period: int):
        super().__init__(model)
        self.pending_payouts_cny = 0.0
        self.pending_refunds_cny = 0.0
        self.unit_share_ewma_cny = 0.0
        self.announced_period = announced_period
        self.end_period = end_period
        self.peak_members = 0.0
        self.fee_history_cny: list[float] = []
        self.totals = {"fee_revenue": 0.0, "platform_subsidy": 0.0, "commission_revenue": 0.0, "cumulative_aided": 0.0}

    def cap_in_force(self, year: int) -> float:
        """Per-member annual cap in `year` (CNY per year; inf when none)."""
        p = self.model.params
        return sharing.annual_cap_cny(year, p["annual_cap_cny"], p["annual_cap_first_year"], p["annual_cap_last_year"])

    def share_last_period_costs(self, period: int, year: int, new_year: bool) -> dict:
        """Split last period's benefits, refunds and fee among today's members.

        Args:
            period: Current period.
            year: Calendar year of the period (selects the cap).
            new_year: Whether the period opens a calendar year (year-to-date resets).

        Returns:
            The period's accounts (CNY): shared_total, share_per_member, collected,
            fee_revenue, platform_subsidy, cap_subsidy; and sharers (people).
        """
        p = self.model.params
        population = self.model.population
        scale = self.model.people_per_agent
        fee = p["fee_rate"] * self.pending_payouts_cny
        shared_total = self.pending_payouts_cny + self.pending_refunds_cny + fee
        weight_total = population.member_weight_total
        platform_pays_all = period >= self.announced_period or weight_total == 0
        share_subsidy = shared_total if platform_pays_all else p["platform_subsidy_share"] * shared_total
        asked_total = shared_total - share_subsidy
        unit_share = asked_total / (scale * weight_total) if weight_total else 0.0
        asked, charged, sharers = population.charge_shares(unit_share, self.cap_in_force(year), new_year)
        collected = charged * scale
        cap_subsidy = (asked - charged) * scale
        memory = np.exp(-1.0 / p["charge_memory_periods"])
        self.unit_share_ewma_cny = memory * self.unit_share_ewma_cny + (1.0 - memory) * unit_share
        self.pending_payouts_cny = self.pending_refunds_cny = 0.0
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
        }

    def pay_claims(self, benefits_cny: np.ndarray, refunds_cny: np.ndarray) -> dict:
        """Pay this period's benefits and refunds (per person), to be shared next period.

        Returns:
            {"payouts": CNY, "refunds": CNY}.
        """
        scale = self.model.people_per_agent
        payouts = float(benefits_cny.sum() * scale)
        refunds = float(refunds_cny.sum() * scale)
        self.pending_payouts_cny += payouts
        self.pending_refunds_cny += refunds
        self.totals["cumulative_aided"] += len(benefits_cny) * scale
        return {"payouts": payouts, "refunds": refunds}

    def sell_insurance(self, buyers_were_members: np.ndarray) -> dict:
        """Book this period's insurance sales; the platform earns commission on members' purchases.

        Returns:
            {"insurance_buyers": people, "insurance_buyers_members": people, "commission_revenue": CNY}.
        """
        p = self.model.params
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
        p = self.model.params
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
