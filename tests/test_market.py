"""The market file: its platforms and plans load, agree with the model's parameters where
they describe the same plan, hide what was not known on a day, and reject bad input with
an error naming the platform, plan and field."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu.calibration.observations import load_market_observations, load_observations
from huzhu.model.calendar import PERIODS_PER_YEAR
from huzhu.model.market import RECORD_END, MarketError, load_market
from huzhu.model.parameters import resolve_parameters

MINIMAL = """
[platforms.p]
name = "a platform"
launch = 2018-01-01
launch_source = "s"
closure = 2021-01-01
closure_source = "s"
closure_offer = "refund"
closure_offer_source = "s"

[platforms.p.plans.a]
name = "plan a"
launch = 2018-01-01
launch_source = "sa"
entry_ages_years = [0.0, 60.0]
entry_ages_years_source = "sa"
benefit_cny = [[0.0, 300000.0], [40.0, 100000.0]]
benefit_cny_source = "sa"
waiting_days = 90
waiting_days_source = "sa"
fee_rate = 0.08
fee_rate_source = "sa"
periods_per_month = 2
periods_per_month_source = "sa"

[platforms.p.plans.b]
name = "plan b"
launch = 2019-01-01
launch_source = "sb"
entry_ages_years = [60.0, 71.0]
entry_ages_years_source = "sb"
transfer_from = "a"
transfer_from_source = "sb"
benefit_cny = [[60.0, 100000.0]]
benefit_cny_source = "sb"
waiting_days = 90
waiting_days_source = "sb"
fee_rate = 0.08
fee_rate_source = "sb"
periods_per_month = 2
periods_per_month_source = "sb"
"""


def _load(tmp_path, text: str, **kwargs):
    path = tmp_path / "market.toml"
    path.write_text(text, encoding="utf-8")
    return load_market(path, **kwargs)


def test_the_shipped_market_loads_with_a_source_for_every_value():
    market = load_market()
    assert {"xianghubao", "waterdrop", "qingsong", "meituan"} <= set(market)
    assert set(market["xianghubao"].plans) >= {"critical_illness", "elderly_cancer", "chronic_cancer"}
    plan_fields = {
        "launch", "entry_ages_years", "benefit_cny", "waiting_days", "fee_rate", "periods_per_month",
        "incidence_factor", "admits",
    }  # fmt: skip
    for platform in market.values():
        closure_fields = {"closure", "closure_offer"} if platform.closure is not None else set()
        assert set(platform.sources) == {"launch"} | closure_fields
        for plan in platform.plans.values():
            assert set(plan.sources) == plan_fields | ({"transfer_from"} if plan.transfer_from else set())
            assert all(source.strip() for source in plan.sources.values())


def test_xianghubaos_critical_illness_plan_in_the_market_is_the_plan_the_model_runs():
    # The same facts written twice, in the parameter list and in the market file: they must agree.
    p = resolve_parameters({})
    platform = load_market()["xianghubao"]
    plan = platform.plans["critical_illness"]
    assert platform.launch == p["launch_date"] == plan.launch
    assert platform.closure == p["closure_date"]
    assert plan.entry_ages_years[0] == pytest.approx(p["min_age_years"], abs=1e-4)
    assert plan.entry_ages_years[1] == p["max_age_years"]
    assert plan.benefit_at(p["benefit_age_split_years"] - 1e-9) == p["benefit_young_cny"]
    assert plan.benefit_at(p["benefit_age_split_years"]) == p["benefit_old_cny"]
    assert plan.waiting_periods == p["waiting_periods"]
    assert plan.fee_rate == p["fee_rate"]
    assert plan.periods_per_month * 12 == PERIODS_PER_YEAR


def test_the_elderly_plan_takes_over_the_critical_illness_plans_members_where_that_plan_ends():
    plans = load_market()["xianghubao"].plans
    assert plans["elderly_cancer"].transfer_from == "critical_illness"
    assert plans["elderly_cancer"].entry_ages_years[0] == plans["critical_illness"].entry_ages_years[1]


def test_a_market_known_at_the_records_end_holds_no_later_closure_or_launch():
    full, known = load_market(), load_market(known_on=RECORD_END)
    assert all(platform.closure is None or platform.closure <= RECORD_END for platform in known.values())
    assert all(platform.closure_offer is None for platform in known.values() if platform.closure is None)
    assert any(platform.closure is not None and platform.closure > RECORD_END for platform in full.values())
    earlier = load_market(known_on=dt.date(2020, 6, 30))["xianghubao"].plans
    assert "chronic_cancer" in earlier and "transport_accident" not in earlier  # May and Sep 2020
    assert "meituan" not in load_market(known_on=dt.date(2019, 5, 31))  # opened Jun 2019


def test_a_market_known_on_a_day_hides_a_later_closures_source_and_platforms_with_no_plan_yet(tmp_path):
    before_closure = _load(tmp_path, MINIMAL, known_on=dt.date(2020, 6, 30))["p"]
    assert before_closure.closure is None and set(before_closure.sources) == {"launch"}
    assert set(before_closure.plans) == {"a", "b"}
    late_plans = MINIMAL.replace(
        'launch = 2018-01-01\nlaunch_source = "sa"', 'launch = 2019-06-01\nlaunch_source = "sa"'
    )
    assert late_plans != MINIMAL
    assert _load(tmp_path, late_plans, known_on=dt.date(2018, 6, 30)) == {}  # launched, but no plan running yet


def test_a_benefit_is_the_last_step_at_or_below_the_age(tmp_path):
    plan = _load(tmp_path, MINIMAL)["p"].plans["a"]
    assert [plan.benefit_at(age) for age in (0.0, 39.99, 40.0, 59.0)] == [300_000.0, 300_000.0, 100_000.0, 100_000.0]
    assert _load(tmp_path, MINIMAL)["p"].plans["b"].benefit_at(59.0) == 0.0


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ('fee_rate_source = "sa"\n', "", ["plan 'a'", "fee_rate", "source"]),
        ('fee_rate_source = "sa"', 'fee_rate_source = "sa"\nbenefit = 1', ["plan 'a'", "unknown field", "benefit"]),
        ("closure = 2021-01-01", "closure = 2017-01-01", ["platform 'p'", "closure", "not after the launch"]),
        ('closure_offer = "refund"', 'closure_offer = "voucher"', ["closure_offer", "voucher", "policy"]),
        ('transfer_from = "a"', 'transfer_from = "c"', ["plan 'b'", "transfer_from", "'c'"]),
        ("entry_ages_years = [60.0, 71.0]", "entry_ages_years = [71.0, 60.0]", ["plan 'b'", "entry_ages_years"]),
        ("[[60.0, 100000.0]]", "[[60.0, -1.0]]", ["plan 'b'", "benefit_cny"]),
        ("[[0.0, 300000.0], [40.0, 100000.0]]", "[[40.0, 300000.0], [0.0, 100000.0]]", ["plan 'a'", "benefit_cny"]),
        ('periods_per_month = 2\nperiods_per_month_source = "sa"',
         'periods_per_month = 3\nperiods_per_month_source = "sa"', ["plan 'a'", "periods_per_month", "3"]),
        ("launch = 2019-01-01", "launch = 2017-01-01", ["plan 'b'", "launch", "before the platform's launch"]),
        ('waiting_days = 90\nwaiting_days_source = "sa"', 'waiting_days = "90"\nwaiting_days_source = "sa"',
         ["plan 'a'", "waiting_days", "int"]),
        ('closure_offer = "refund"\nclosure_offer_source = "s"\n', "", ["closure and closure_offer go together"]),
        ('name = "a platform"', 'name = "a platform"\n[other]', ["unknown top-level", "other"]),
        ("[platforms.p]", "[platforms.p", ["not a readable TOML file"]),
        ("launch = 2019-01-01", "launch = 2021-06-01", ["plan 'b'", "launch", "not before the platform's closure"]),
        ("[[60.0, 100000.0]]", "[[60.0, inf]]", ["plan 'b'", "benefit_cny", "finite"]),
        ('fee_rate_source = "sa"', 'fee_rate_source = "sa"\ntransfer_from = "b"\ntransfer_from_source = "sa"',
         ["transfer_from", "cycle"]),
        ('fee_rate_source = "sa"', 'fee_rate_source = "sa"\nincidence_factor = -0.5\nincidence_factor_source = "s"',
         ["plan 'a'", "incidence_factor", "-0.5", "0 to 10"]),
        ('fee_rate_source = "sa"', 'fee_rate_source = "sa"\nadmits = "everyone"\nadmits_source = "s"',
         ["plan 'a'", "admits", "everyone", "chronic_conditions"]),
        ('fee_rate_source = "sa"', 'fee_rate_source = "sa"\nadmits = "chronic_conditions"',
         ["plan 'a'", "admits", "needs a source"]),
        ("entry_ages_years = [60.0, 71.0]", "entry_ages_years = [59.0, 71.0]",
         ["plan 'b'", "entry_ages_years", "59", "oldest age, 60"]),
    ],
)  # fmt: skip
def test_a_malformed_market_file_is_an_error_naming_where_and_what_is_allowed(tmp_path, old, new, names):
    assert old in MINIMAL
    with pytest.raises(MarketError) as error:
        _load(tmp_path, MINIMAL.replace(old, new, 1))
    for name in names:
        assert name in str(error.value)


@settings(max_examples=60, deadline=None)
@given(fee_rate=st.floats(min_value=-2.0, max_value=3.0, allow_nan=False))
def test_a_fee_rate_is_accepted_exactly_when_it_is_a_share(tmp_path_factory, fee_rate):
    text = MINIMAL.replace("fee_rate = 0.08", f"fee_rate = {fee_rate!r}", 1)
    tmp_path = tmp_path_factory.mktemp("market")
    if 0.0 <= fee_rate <= 1.0:
        assert _load(tmp_path, text)["p"].plans["a"].fee_rate == fee_rate
    else:
        with pytest.raises(MarketError, match="plan 'a', field 'fee_rate'"):
            _load(tmp_path, text)


def test_a_plan_may_name_its_own_sharing_rule_and_an_unknown_one_is_refused(tmp_path):
    own = MINIMAL.replace(
        'fee_rate = 0.08\nfee_rate_source = "sa"',
        'fee_rate = 0.08\nfee_rate_source = "sa"\nsharing_rule = "age_banded"\nsharing_rule_source = "sa"', 1,
    )  # fmt: skip
    plans = _load(tmp_path, own)["p"].plans
    assert (plans["a"].sharing_rule, plans["b"].sharing_rule) == ("age_banded", None)
    with pytest.raises(MarketError, match=r"plan 'a', field 'sharing_rule': 'by_income' is not allowed: one of"):
        _load(tmp_path, own.replace('"age_banded"', '"by_income"', 1))


def test_every_market_observation_is_of_a_plan_in_the_market_file_or_the_industry_and_inside_the_record():
    from huzhu.calibration.market import INDUSTRY

    observations = load_market_observations()
    market = load_market()
    plans = {(platform.key, plan) for platform in market.values() for plan in platform.plans}
    plans.add(tuple(INDUSTRY.split(".")))
    named = set(zip(observations["platform"], observations["plan"], strict=True))
    assert named <= plans, named - plans
    assert {"waterdrop", "qingsong"} <= set(observations["platform"])
    assert max(observations["date"]) <= RECORD_END  # 2021's facts are scenario inputs, not record
    xianghubao_rows = observations[observations["platform"] == "xianghubao"]
    assert len(xianghubao_rows) == len(load_observations())  # the record's own rows, all of them, renamed only
