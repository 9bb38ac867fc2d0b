"""Parameter validation: every value not allowed is refused with a message naming it."""

import datetime as dt
import math
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import huzhu.model.model as model_module
from huzhu import MutualAidModel
from huzhu.model.parameters import (
    DEFAULTS,
    PARAMETERS,
    PARAMETERS_BY_NAME,
    Parameter,
    ParameterError,
    get_parameter,
    resolve_parameters,
)
from huzhu.model.presets import PRESETS, preset_overrides

SETTINGS = settings(max_examples=60, deadline=None)

NUMERIC = [p for p in PARAMETERS if p.kind in (int, float) and p.low is not None]
BOUNDED_BELOW = [p for p in NUMERIC if math.isfinite(p.low)]
BOUNDED_ABOVE = [p for p in NUMERIC if math.isfinite(p.high)]
DATES = [p for p in PARAMETERS if p.kind is dt.date]
CHOICES = [p for p in PARAMETERS if p.choices is not None]
TYPED = [p for p in PARAMETERS if p.kind is not str]


def _ids(params):
    return [p.name for p in params]


def _assert_refused(name, value, *words):
    with pytest.raises(ParameterError) as caught:
        resolve_parameters({name: value})
    message = str(caught.value)
    assert name in message
    if words:
        assert any(word in message for word in words), message
    return message


def _below(p: Parameter):
    return p.low - 1 if p.kind is int else math.nextafter(p.low, -math.inf)


def _above(p: Parameter):
    return p.high + 1 if p.kind is int else math.nextafter(p.high, math.inf)


def _outside(p: Parameter) -> st.SearchStrategy:
    if p.kind is int:
        sides = [st.integers(max_value=p.low - 1)]
        if math.isfinite(p.high):
            sides.append(st.integers(min_value=p.high + 1))
    else:
        sides = [st.floats(max_value=_below(p), allow_nan=False)]
        if math.isfinite(p.high):
            sides.append(st.floats(min_value=_above(p), allow_nan=False))
    return st.one_of(sides)


def _inside(p: Parameter) -> st.SearchStrategy:
    if p.kind is int:
        return st.integers(min_value=p.low, max_value=p.high)
    return st.floats(min_value=p.low, max_value=p.high, allow_nan=False)


# ------------------------------------------------------------------ defaults and presets


def test_every_table_entry_is_numeric_with_bounds_or_has_choices():
    for p in PARAMETERS:
        assert (p.low is not None and p.high is not None and p.low <= p.high) or p.choices is not None, p.name
        assert (p.choices is None) or (p.default in p.choices), p.name


def test_every_default_is_an_allowed_value():
    assert resolve_parameters() == DEFAULTS
    for p in PARAMETERS:
        assert p.validate(p.default) == p.default


def test_every_preset_resolves_to_allowed_values():
    for name in PRESETS:
        resolve_parameters(preset_overrides(name))


def test_unknown_preset_is_refused_naming_it():
    with pytest.raises(ParameterError, match="no_such_preset"):
        preset_overrides("no_such_preset")


# ------------------------------------------------------------------ out of range


@pytest.mark.parametrize("p", BOUNDED_BELOW, ids=_ids(BOUNDED_BELOW))
def test_just_below_the_lowest_allowed_value_is_refused(p):
    _assert_refused(p.name, _below(p), "allowed", "range")


@pytest.mark.parametrize("p", BOUNDED_ABOVE, ids=_ids(BOUNDED_ABOVE))
def test_just_above_the_highest_allowed_value_is_refused(p):
    _assert_refused(p.name, _above(p), "allowed", "range")


@pytest.mark.parametrize("p", NUMERIC, ids=_ids(NUMERIC))
def test_the_bounds_themselves_are_allowed(p):
    for bound in (p.low, p.high):
        if math.isfinite(bound):
            assert p.validate(bound) == bound


@SETTINGS
@given(data=st.data())
def test_any_number_outside_the_range_is_refused(data):
    p = data.draw(st.sampled_from(NUMERIC), label="parameter")
    value = data.draw(_outside(p), label="value")
    _assert_refused(p.name, value, "allowed", "range")


@pytest.mark.parametrize("p", DATES, ids=_ids(DATES))
def test_dates_a_day_outside_the_range_are_refused(p):
    _assert_refused(p.name, p.low - dt.timedelta(days=1), "allowed", "range")
    _assert_refused(p.name, p.high + dt.timedelta(days=1), "allowed", "range")


@pytest.mark.parametrize(
    "p", [q for q in NUMERIC if q.kind is float], ids=_ids([q for q in NUMERIC if q.kind is float])
)
def test_nan_is_refused(p):
    _assert_refused(p.name, float("nan"), "allowed")


# ------------------------------------------------------------------ inside the range


@SETTINGS
@given(data=st.data())
def test_any_number_inside_the_range_is_accepted_unchanged(data):
    p = data.draw(st.sampled_from(NUMERIC), label="parameter")
    value = data.draw(_inside(p), label="value")
    validated = p.validate(value)
    assert validated == value
    assert type(validated) is p.kind


@SETTINGS
@given(data=st.data())
def test_an_int_is_accepted_for_a_float_parameter_as_a_float(data):
    p = data.draw(st.sampled_from([q for q in NUMERIC if q.kind is float]), label="parameter")
    value = data.draw(st.integers(min_value=math.ceil(p.low), max_value=math.floor(min(p.high, 2**53))), label="value")
    validated = p.validate(value)
    assert type(validated) is float and validated == value


@SETTINGS
@given(data=st.data())
def test_numbers_as_text_are_parsed_to_the_same_value(data):
    p = data.draw(st.sampled_from(NUMERIC), label="parameter")
    value = data.draw(_inside(p), label="value")
    assert p.validate(f"  {value!r} ") == value


@SETTINGS
@given(data=st.data())
def test_dates_inside_the_range_are_accepted_as_dates_or_iso_text(data):
    p = data.draw(st.sampled_from(DATES), label="parameter")
    day = data.draw(st.dates(min_value=p.low, max_value=p.high), label="value")
    assert p.validate(day) == day
    assert p.validate(day.isoformat()) == day


def test_command_line_text_is_parsed():
    assert get_parameter("fee_rate").validate("0.5") == 0.5
    assert get_parameter("n_agents").validate("3000") == 3000
    assert get_parameter("launch_date").validate("2019-01-01") == dt.date(2019, 1, 1)
    assert get_parameter("annual_cap_cny").validate("inf") == math.inf
    assert get_parameter("network_type").validate("erdos_renyi") == "erdos_renyi"
    assert resolve_parameters({"fee_rate": "0.5", "launch_date": "2019-01-01"})["fee_rate"] == 0.5
    # The table has no true/false parameter at present; the parser is shared by all.
    flag = Parameter("flag", False, "-")
    for text, value in (("true", True), ("FALSE", False), ("yes", True), ("off", False), ("1", True), ("0", False)):
        assert flag.validate(text) is value
    with pytest.raises(ParameterError, match="flag"):
        flag.validate("maybe")


# ------------------------------------------------------------------ wrong types

_LETTERS = st.text(alphabet=string.ascii_letters + "_-, ", min_size=1, max_size=12).filter(
    lambda s: s.strip().lower() not in ("inf", "infinity", "nan", "true", "false", "yes", "no", "on", "off")
)


@SETTINGS
@given(p=st.sampled_from(TYPED), text=_LETTERS)
def test_text_that_cannot_be_read_is_refused_naming_the_parameter(p, text):
    _assert_refused(p.name, text, "allowed")


@pytest.mark.parametrize("p", NUMERIC, ids=_ids(NUMERIC))
def test_a_bool_for_a_number_is_refused(p):
    _assert_refused(p.name, True, "allowed")
    _assert_refused(p.name, False, "allowed")


@pytest.mark.parametrize("p", PARAMETERS, ids=_ids(PARAMETERS))
def test_a_list_is_refused(p):
    _assert_refused(p.name, [p.default], "allowed")


@pytest.mark.parametrize("p", [q for q in NUMERIC if q.kind is int], ids=_ids([q for q in NUMERIC if q.kind is int]))
def test_a_float_for_an_integer_parameter_is_refused(p):
    _assert_refused(p.name, float(p.low), "allowed")
    _assert_refused(p.name, f"{p.low}.5", "allowed")


@pytest.mark.parametrize("p", DATES, ids=_ids(DATES))
def test_a_number_for_a_date_is_refused(p):
    _assert_refused(p.name, 20190101, "allowed")


@pytest.mark.parametrize("p", DATES, ids=_ids(DATES))
def test_a_datetime_for_a_date_is_refused_or_converted_never_a_type_error(p):
    try:
        value = p.validate(dt.datetime(2019, 1, 1, 12, 0))
    except ParameterError:
        return
    assert value == dt.date(2019, 1, 1)


@SETTINGS
@given(p=st.sampled_from(CHOICES), text=st.text(max_size=20))
def test_choice_parameters_refuse_unknown_text(p, text):
    if text in p.choices:
        assert p.validate(text) == text
    else:
        _assert_refused(p.name, text, "allowed")


@pytest.mark.parametrize("p", CHOICES, ids=_ids(CHOICES))
def test_choice_parameters_refuse_a_choice_in_other_case_or_with_a_number(p):
    _assert_refused(p.name, p.choices[0].upper(), "allowed")
    _assert_refused(p.name, 1, "allowed")


# ------------------------------------------------------------------ unknown names


@SETTINGS
@given(name=st.text(min_size=1, max_size=30).filter(lambda s: s not in PARAMETERS_BY_NAME))
def test_unknown_parameter_names_are_refused(name):
    with pytest.raises(ParameterError, match="unknown parameter"):
        resolve_parameters({name: 1})


def test_a_typo_suggests_the_close_parameter_name():
    with pytest.raises(ParameterError, match="did you mean fee_rate"):
        resolve_parameters({"fee_rat": 0.1})
    with pytest.raises(ParameterError, match="n_agents"):
        get_parameter("n_agent")


# ------------------------------------------------------------------ combinations


@SETTINGS
@given(closure=st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2035, 12, 30)), days_after=st.integers(1, 365))
def test_closure_announced_after_closure_is_refused(closure, days_after):
    announced = min(closure + dt.timedelta(days=days_after), dt.date(2035, 12, 31))
    with pytest.raises(ParameterError, match="closure_announced_date"):
        resolve_parameters({"closure_date": closure, "closure_announced_date": announced})


@SETTINGS
@given(
    closure=st.dates(min_value=dt.date(2019, 11, 1), max_value=dt.date(2035, 12, 31)), days_before=st.integers(0, 365)
)
def test_closure_announced_on_or_before_closure_is_accepted(closure, days_before):
    announced = closure - dt.timedelta(days=days_before)
    resolved = resolve_parameters({"closure_date": closure, "closure_announced_date": announced})
    assert resolved["closure_announced_date"] <= resolved["closure_date"]


def test_closure_on_or_before_launch_is_refused():
    with pytest.raises(ParameterError, match="launch_date"):
        resolve_parameters(
            {"launch_date": "2019-01-01", "closure_date": "2019-01-01", "closure_announced_date": "2018-12-01"}
        )


@SETTINGS
@given(first=st.integers(2017, 2035), gap=st.integers(1, 19))
def test_cap_first_year_after_last_year_is_refused(first, gap):
    last = max(first - gap, 2016)
    with pytest.raises(ParameterError, match="annual_cap_first_year"):
        resolve_parameters({"annual_cap_first_year": first, "annual_cap_last_year": last})


@SETTINGS
@given(first=st.integers(2016, 2035), span=st.integers(0, 19))
def test_cap_first_year_up_to_last_year_is_accepted(first, span):
    last = min(first + span, 2035)
    assert (
        resolve_parameters({"annual_cap_first_year": first, "annual_cap_last_year": last})["annual_cap_last_year"]
        == last
    )


def test_mean_degree_that_a_ring_of_the_agents_cannot_hold_is_refused():
    # A ring of n agents holds at most n - 2 ties each besides the agent itself and a rewiring target.
    with pytest.raises(ParameterError, match="mean_degree"):
        resolve_parameters({"n_agents": 201, "mean_degree": 200})
    assert resolve_parameters({"n_agents": 202, "mean_degree": 200})["mean_degree"] == 200


@SETTINGS
@given(n_agents=st.integers(1_001, 200_000_000))
def test_fewer_people_than_agents_is_refused(n_agents):
    with pytest.raises(ParameterError, match="population"):
        resolve_parameters({"n_agents": n_agents, "population": float(n_agents - 1)})


# ------------------------------------------------------------------ the model refuses before building


@pytest.fixture
def building_forbidden(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the model started building before its parameters were checked")

    monkeypatch.setattr(model_module.Population, "create", forbidden)
    monkeypatch.setattr(model_module, "build_network", forbidden)


def test_model_refuses_a_bad_value_before_building_anything(building_forbidden):
    with pytest.raises(ParameterError, match="fee_rate"):
        MutualAidModel(fee_rate=2.0)


def test_model_refuses_an_unknown_parameter_before_building_anything(building_forbidden):
    with pytest.raises(ParameterError, match="fee_rat"):
        MutualAidModel(fee_rat=0.1)


def test_model_refuses_an_unknown_preset_before_building_anything(building_forbidden):
    with pytest.raises(ParameterError, match="no_such_preset"):
        MutualAidModel(preset="no_such_preset")


def test_model_keyword_overrides_the_preset():
    params = MutualAidModel(preset="no_cap", n_agents=200, annual_cap_cny=50.0, rng=1).params
    assert params["annual_cap_cny"] == 50.0


@pytest.mark.parametrize("p", DATES, ids=_ids(DATES))
def test_a_datetime_at_midnight_is_read_as_its_date(p):
    assert p.validate(dt.datetime(2019, 1, 1)) == dt.date(2019, 1, 1)


def test_numpy_scalars_from_a_sweep_are_accepted_as_python_numbers():
    from huzhu.model.parameters import get_parameter

    n = get_parameter("n_agents").validate(np.int64(3000))
    fee = get_parameter("fee_rate").validate(np.float32(0.25))
    assert type(n) is int and n == 3000
    assert type(fee) is float and fee == pytest.approx(0.25)
    with pytest.raises(ParameterError, match="n_agents"):
        get_parameter("n_agents").validate(np.float64(3000.5))


def test_a_closure_announced_before_launch_is_refused():
    from huzhu.model.parameters import resolve_parameters

    with pytest.raises(ParameterError, match="closure_announced_date"):
        resolve_parameters({"closure_announced_date": dt.date(2017, 1, 1)})
