"""Experiment files: every mistake is refused before anything runs, naming the field and its line."""

from __future__ import annotations

import copy
import math
import textwrap
import tomllib
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from huzhu.experiments.designs import build_design
from huzhu.experiments.experiment_file import ExperimentFileError, load_experiment, parse_experiment
from huzhu.model.parameters import PARAMETERS

EXPERIMENTS_DIR = Path(__file__).resolve().parents[1] / "experiments"
SHIPPED = sorted(EXPERIMENTS_DIR.glob("*.toml"))


def write(folder: Path, text: str, name: str = "experiment.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, start: str) -> int:
    """The 1-based line of the only line of `path` that starts with `start` (after indentation)."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.strip().startswith(start)]
    assert len(found) == 1, f"{start!r} is on lines {found}"
    return found[0]


def refusal(path: Path, overrides=None) -> str:
    with pytest.raises(ExperimentFileError) as caught:
        load_experiment(path, overrides)
    return str(caught.value)


def build_refusal(path: Path) -> str:
    experiment = load_experiment(path)
    with pytest.raises(ExperimentFileError) as caught:
        build_design(experiment)
    return str(caught.value)


# ------------------------------------------------------------------ errors name the field and the line

# (id, file text, field named, start of the line the error must point at, words the message must hold)
FIELD_ERRORS = [
    (
        "unknown top-level key",
        """
        name = "x"
        colour = "red"
        """,
        "colour",
        "colour =",
        ["unknown key", "replications"],
    ),
    (
        "unknown parameter in base",
        """
        name = "x"
        [base]
        n_agents = 2000
        fee_rat = 0.1
        """,
        "base.fee_rat",
        "fee_rat =",
        ["unknown parameter 'fee_rat'", "did you mean fee_rate"],
    ),
    (
        "unknown parameter as a factor",
        """
        name = "x"
        [factors.fee_rate]
        values = [0.0, 0.1]
        [factors.price_sensitivty]
        values = [1.0, 2.0]
        """,
        "factors.price_sensitivty",
        "[factors.price_sensitivty]",
        ["unknown parameter 'price_sensitivty'", "did you mean price_sensitivity"],
    ),
    (
        "unknown key in a factor",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        step = 0.05
        """,
        "factors.fee_rate.step",
        "step =",
        ["unknown key", "levels"],
    ),
    (
        "base value out of range",
        """
        name = "x"
        [base]
        n_agents = 2000
        fee_rate = 1.5
        """,
        "base.fee_rate",
        "fee_rate =",
        ["out of range", "[0, 1]"],
    ),
    (
        "integer base value out of range",
        """
        name = "x"
        [base]
        waiting_periods = 49
        """,
        "base.waiting_periods",
        "waiting_periods =",
        ["out of range", "an integer in [0, 48]"],
    ),
    (
        "listed factor value out of range",
        """
        name = "x"
        [factors.fee_rate]
        values = [0.0, 1.5]
        """,
        "factors.fee_rate.values",
        "values =",
        ["fee_rate=1.5", "[0, 1]"],
    ),
    (
        "factor low out of range",
        """
        name = "x"
        [factors.fee_rate]
        low = -0.1
        high = 0.2
        levels = 3
        """,
        "factors.fee_rate.low",
        "low =",
        ["fee_rate=-0.1", "[0, 1]"],
    ),
    (
        "low equal to high",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.2
        high = 0.2
        levels = 3
        """,
        "factors.fee_rate.high",
        "high =",
        ["must be above low"],
    ),
    (
        "low above high",
        """
        name = "x"
        [factors.fee_rate]
        high = 0.1
        low = 0.2
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.fee_rate.high",
        "high =",
        ["must be above low"],
    ),
    (
        "loguniform with low zero",
        """
        name = "x"
        [factors.marketing_rate]
        low = 0.0
        high = 0.01
        distribution = "loguniform"
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.marketing_rate.low",
        "low =",
        ["loguniform needs low > 0"],
    ),
    (
        "unknown distribution",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.1
        distribution = "normal"
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.fee_rate.distribution",
        "distribution =",
        ["uniform, loguniform, triangular"],
    ),
    (
        "triangular without mode",
        """
        name = "x"
        [factors.price_sensitivity]
        low = 1.0
        high = 4.0
        distribution = "triangular"
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.price_sensitivity.mode",
        "[factors.price_sensitivity]",  # no `mode` line: the factor's header
        ["triangular needs a number `mode` in [1.0, 4.0]"],
    ),
    (
        "triangular with mode outside the range",
        """
        name = "x"
        [factors.price_sensitivity]
        low = 1.0
        high = 4.0
        distribution = "triangular"
        mode = 5.0
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.price_sensitivity.mode",
        "mode =",
        ["triangular needs a number `mode` in [1.0, 4.0]"],
    ),
    (
        "triangular with a mode that is not a number",
        """
        name = "x"
        [factors.price_sensitivity]
        low = 1.0
        high = 4.0
        distribution = "triangular"
        mode = "middle"
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.price_sensitivity.mode",
        "mode =",
        ["triangular needs a number"],
    ),
    (
        "mode without triangular",
        """
        name = "x"
        [factors.price_sensitivity]
        low = 1.0
        high = 4.0
        mode = 2.0
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.price_sensitivity.mode",
        "mode =",
        ["only a triangular distribution"],
    ),
    (
        "wrong design kind",
        """
        name = "x"
        [factors.fee_rate]
        values = [0.0, 0.1]
        [design]
        kind = "factorial"
        """,
        "design.kind",
        "kind =",
        ["'factorial'", "grid, lhs, sobol, morris, table"],
    ),
    (
        "sobol samples not a power of two",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        [factors.price_sensitivity]
        low = 1.0
        high = 4.0
        [design]
        kind = "sobol"
        samples = 48
        """,
        "design.samples",
        "samples =",
        ["48", "power of 2"],
    ),
    (
        "morris with an odd number of levels",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        [factors.price_sensitivity]
        low = 1.0
        high = 4.0
        [design]
        kind = "morris"
        samples = 10
        levels = 5
        """,
        "design.levels",
        "levels =",
        ["5", "even"],
    ),
    (
        "sampled design without samples",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        [design]
        kind = "lhs"
        """,
        "design.samples",
        "[design]",  # no `samples` line: the section's header
        ["a whole number >= 2"],
    ),
    (
        "option of another design kind",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        [design]
        kind = "lhs"
        samples = 8
        second_order = true
        """,
        "design.second_order",
        "second_order =",
        ["not an option of design kind 'lhs'"],
    ),
    (
        "sampled design with a text factor given as a range",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        [factors.network_type]
        low = 0
        high = 3
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.network_type",
        "[factors.network_type]",
        ["not numeric", "list its `values`", "'homophilous'"],
    ),
    (
        "sampled design with a date factor given as a range",
        """
        name = "x"
        [factors.closure_date]
        low = 2021-01-01
        high = 2022-12-31
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.closure_date",
        "[factors.closure_date]",
        ["not numeric", "list its `values`"],
    ),
    (
        "levels in a sampled design",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        levels = 3
        [design]
        kind = "lhs"
        samples = 8
        """,
        "factors.fee_rate.levels",
        "levels =",
        ["`levels` is for grids"],
    ),
    (
        "grid factor with a range but no levels",
        """
        name = "x"
        [factors.fee_rate]
        low = 0.0
        high = 0.2
        """,
        "factors.fee_rate",
        "[factors.fee_rate]",
        ["a grid needs `values` or `levels`"],
    ),
    (
        "factor also set in base",
        """
        name = "x"
        [base]
        n_agents = 2000
        fee_rate = 0.1
        [factors.fee_rate]
        values = [0.0, 0.2]
        """,
        "factors.fee_rate",
        "[factors.fee_rate]",
        ["also set in [base]"],
    ),
    (
        "unknown timeseries column",
        """
        name = "x"
        [outputs]
        summaries = "all"
        timeseries = ["members", "memberz"]
        """,
        "outputs.timeseries",
        "timeseries =",
        ["unknown column 'memberz'", "share_per_member"],
    ),
    (
        "unknown summary",
        """
        name = "x"
        [outputs]
        timeseries = false
        summaries = ["peak_members", "peak_memberz"]
        """,
        "outputs.summaries",
        "summaries =",
        ["unknown summary 'peak_memberz'", "total_fee_revenue"],
    ),
    (
        "sensitivity section on a grid design",
        """
        name = "x"
        [factors.fee_rate]
        values = [0.0, 0.2]
        [sensitivity]
        resamples = 100
        """,
        "sensitivity",
        "[sensitivity]",
        ["needs a sobol or morris design, not 'grid'"],
    ),
    (
        "unknown preset",
        """
        name = "x"
        [base]
        preset = "defualt"
        """,
        "base.preset",
        "preset =",
        ["unknown preset 'defualt'", "no_contagion"],
    ),
    (
        "negative seed",
        """
        name = "x"
        seed = -3
        """,
        "seed",
        "seed =",
        ["negative"],
    ),
    (
        "zero replications",
        """
        name = "x"
        replications = 0
        """,
        "replications",
        "replications =",
        ["allowed 1..100000"],
    ),
    (
        "table design file that does not exist",
        """
        name = "x"
        [design]
        kind = "table"
        file = "missing.csv"
        """,
        "design.file",
        "file =",
        ["does not exist"],
    ),
]


@pytest.mark.parametrize(
    "text, field, line_start, words", [case[1:] for case in FIELD_ERRORS], ids=[case[0] for case in FIELD_ERRORS]
)
def test_an_invalid_file_is_refused_naming_the_file_the_field_and_its_line(tmp_path, text, field, line_start, words):
    path = write(tmp_path, text)
    message = refusal(path)
    assert message.startswith(f"{path}, line {line_of(path, line_start)}: {field}: "), message
    for word in words:
        assert word in message


def test_invalid_toml_is_refused_naming_the_file_and_the_line_of_the_mistake(tmp_path):
    path = write(
        tmp_path,
        """
        name = "x"
        [base]
        n_agents = 2000
        fee_rate = 0.1.2
        """,
    )
    message = refusal(path)
    assert message.startswith(f"{path}: not valid TOML")
    assert f"line {line_of(path, 'fee_rate =')}" in message


def test_a_missing_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "nowhere" / "experiment.toml"
    message = refusal(path)
    assert str(path) in message
    assert "cannot read" in message


def test_an_experiment_without_a_name_is_refused():
    with pytest.raises(ExperimentFileError, match="name: is required"):
        parse_experiment({"replications": 2})


def test_the_line_named_is_the_key_and_not_text_inside_a_multiline_description(tmp_path):
    path = write(
        tmp_path,
        '''
        name = "x"
        description = """
        Eight runs a point:
        replications = 8 was too slow
        """
        replications = 0
        ''',
    )
    assert refusal(path).startswith(f"{path}, line 6: replications: ")


# ------------------------------------------------------------------ property: base values vs the parameter table

NUMERIC = [p for p in PARAMETERS if p.kind in (int, float) and p.choices is None]


def _candidate_values(p) -> st.SearchStrategy:
    """Values around and far from the allowed range, the bounds and their neighbours included."""
    if p.kind is int:
        near = st.integers(p.low - 3, p.high + 3)
        anywhere = st.integers(-(2**63), 2**63 - 1)  # TOML's integers
        edges = st.sampled_from([p.low - 1, p.low, p.high, p.high + 1])
    else:
        span = p.high - p.low if math.isfinite(p.high) else 1e6
        near = st.floats(p.low - span, p.low + 2 * span, allow_nan=False)
        anywhere = st.floats(allow_nan=False)
        edges = st.sampled_from(
            [math.nextafter(p.low, -math.inf), p.low, p.high, math.nextafter(p.high, math.inf), math.inf, -math.inf]
        )
    return st.one_of(near, anywhere, edges)


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_a_base_value_is_accepted_if_and_only_if_it_lies_in_the_parameter_range(data):
    p = data.draw(st.sampled_from(NUMERIC), label="parameter")
    value = data.draw(_candidate_values(p), label="value")
    padding = data.draw(st.integers(0, 4), label="comment lines")
    literal = repr(value) if p.kind is float else str(value)  # repr gives inf, -inf, 1e+300: all TOML
    lines = ['name = "x"', *["# a comment"] * padding, "[base]", f"{p.name} = {literal}"]
    text = "\n".join(lines) + "\n"
    document = tomllib.loads(text)
    assert document["base"][p.name] == value  # the TOML round trip is exact
    inside = p.low <= value <= p.high
    event("inside the range" if inside else "outside the range")
    if inside:
        experiment = parse_experiment(document, text=text)
        assert experiment.base[p.name] == value
        assert type(experiment.base[p.name]) is p.kind
    else:
        with pytest.raises(ExperimentFileError) as caught:
            parse_experiment(document, text=text)
        message = str(caught.value)
        assert message.startswith(f"experiment, line {len(lines)}: base.{p.name}: "), message
        assert p.allowed() in message  # the message states the allowed range


# ------------------------------------------------------------------ design points and tables


def test_a_design_point_whose_parameters_contradict_each_other_is_refused_naming_the_point(tmp_path):
    path = write(
        tmp_path,
        """
        name = "x"
        [factors.fee_rate]
        values = [0.0, 0.1]
        [factors.closure_date]
        values = [2022-01-28, 2018-06-01]  # the second is before the launch (2018-10-16)
        """,
    )
    message = build_refusal(path)
    # Points run fee-major: (0, 2022-01-28), (0, 2018-06-01), ... so point 1 is the first bad one.
    assert message.startswith("design point 1 (fee_rate=0, closure_date=2018-06-01): "), message
    assert "closure_date=2018-06-01" in message


TABLE_FILE = """
name = "x"
[base]
n_agents = 2000
[design]
kind = "table"
file = "points.csv"
"""


@pytest.mark.parametrize(
    "csv, words",
    [
        ("label,fee_rate\na,0.1\nb,0.2\n", None),
        ("label,fee_rat\na,0.1\n", ["column 'fee_rat'", "did you mean fee_rate"]),
        ("label,fee_rate\na,0.1\nb,\n", ["row 2, column 'fee_rate': empty"]),
        ("label,fee_rate\na,0.1\nb,0.2\nc,1.7\n", ["row 3", "fee_rate=1.7", "[0, 1]"]),
        ("label,fee_rate,n_agents\na,0.1,3000\n", ["column 'n_agents'", "also set in [base]"]),
        ("label,preset\na,default\nb,no_such\n", ["row 2, column 'preset'", "unknown preset 'no_such'"]),
    ],
    ids=["valid", "unknown column", "empty cell", "bad value", "column also in base", "unknown preset"],
)
def test_a_table_file_is_checked_cell_by_cell_naming_the_row_and_column(tmp_path, csv, words):
    (tmp_path / "points.csv").write_text(csv)
    path = write(tmp_path, TABLE_FILE)  # `file` is relative to the experiment file, not the working folder
    if words is None:
        table = build_design(load_experiment(path))
        assert table["label"].tolist() == ["a", "b"]
        assert table["fee_rate"].tolist() == [0.1, 0.2]
        return
    message = build_refusal(path)
    assert message.startswith(f"design.file {tmp_path / 'points.csv'}: "), message
    for word in words:
        assert word in message


def test_an_empty_cell_in_an_integer_column_of_a_table_file_is_named_as_empty(tmp_path):
    (tmp_path / "points.csv").write_text("label,waiting_periods\na,3\nb,\n")
    message = build_refusal(write(tmp_path, TABLE_FILE))
    assert "row 2, column 'waiting_periods': empty" in message


def _inline(points: str) -> str:
    return textwrap.dedent(
        """
        name = "x"
        [design]
        kind = "table"
        """
    ) + textwrap.dedent(points)


@pytest.mark.parametrize(
    "points, words",
    [
        (
            """
            [[design.points]]
            fee_rate = 0.1
            [[design.points]]
            fee_rat = 0.2
            """,
            ["design.points: column 'fee_rat'", "did you mean fee_rate"],
        ),
        (
            """
            [[design.points]]
            fee_rate = 0.1
            [[design.points]]
            fee_rate = 0.2
            [[design.points]]
            fee_rate = 2.0
            """,
            ["design.points: row 3", "fee_rate=2.0", "[0, 1]"],
        ),
        (
            """
            [[design.points]]
            label = "fine"
            [[design.points]]
            label = "closes before it opens"
            closure_date = 2018-06-01
            """,
            ["design point 1 (closes before it opens)", "closure_date=2018-06-01"],
        ),
    ],
    ids=["unknown column", "bad value", "contradiction"],
)
def test_inline_table_points_are_checked_naming_the_row_or_point(tmp_path, points, words):
    message = build_refusal(write(tmp_path, _inline(points)))
    for word in words:
        assert word in message


def test_an_inline_table_point_may_leave_a_parameter_unset_and_keeps_the_base_value(tmp_path):
    from huzhu.experiments.designs import point_parameters

    points = """
    [[design.points]]
    fee_rate = 0.1
    [[design.points]]
    waiting_periods = 0
    """
    path = write(tmp_path, _inline(points))
    experiment = load_experiment(path, {"base": {"n_agents": 3000}})
    rows = build_design(experiment).to_dict("records")
    assert point_parameters(experiment, rows[0]) == ("default", {"n_agents": 3000, "fee_rate": 0.1})
    assert point_parameters(experiment, rows[1]) == ("default", {"n_agents": 3000, "waiting_periods": 0})


# ------------------------------------------------------------------ shipped files


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_experiment_file_loads_and_builds_its_design(path):
    experiment = load_experiment(path)
    design = build_design(experiment)  # every point is checked as a complete parameter set
    assert len(design) >= 1
    assert design["point"].tolist() == list(range(len(design)))
    for output in experiment.sensitivity.get("outputs", ()):
        assert output in experiment.summaries


# ------------------------------------------------------------------ fingerprint and overrides

DOCUMENT = {
    "name": "fingerprinted",
    "description": "What the fingerprint covers.",
    "seed": 7,
    "replications": 3,
    "base": {"n_agents": 2000},
    "factors": {
        "fee_rate": {"low": 0.0, "high": 0.2},
        "network_type": {"values": ["watts_strogatz", "erdos_renyi"]},
    },
    "design": {"kind": "lhs", "samples": 8},
}


def _changed(path: tuple, value):
    document = copy.deepcopy(DOCUMENT)
    table = document
    for key in path[:-1]:
        table = table.setdefault(key, {})
    table[path[-1]] = value
    return document


RESULT_CHANGES = {
    "seed": (("seed",), 8),
    "replications": (("replications",), 4),
    "base value": (("base", "n_agents"), 2001),
    "new base value": (("base", "price_sensitivity"), 2.5),
    "preset": (("base", "preset"), "no_contagion"),
    "factor range": (("factors", "fee_rate", "high"), 0.3),
    "factor distribution": (("factors", "fee_rate", "distribution"), "triangular"),
    "listed factor value": (("factors", "network_type", "values"), ["watts_strogatz", "homophilous"]),
    "design samples": (("design", "samples"), 16),
    "design kind": (("design", "kind"), "grid"),
    "timeseries kept": (("outputs", "timeseries"), ["members"]),
    "summaries kept": (("outputs", "summaries"), ["peak_members"]),
}


@pytest.mark.parametrize("path, value", RESULT_CHANGES.values(), ids=RESULT_CHANGES.keys())
def test_the_fingerprint_changes_with_anything_that_determines_the_results(path, value):
    document = _changed(path, value)
    if path == ("factors", "fee_rate", "distribution"):
        document["factors"]["fee_rate"]["mode"] = 0.05
    if path == ("design", "kind"):
        document["factors"]["fee_rate"]["levels"] = 3
        del document["design"]["samples"]
    before = parse_experiment(copy.deepcopy(DOCUMENT)).fingerprint()
    assert parse_experiment(document).fingerprint() != before


@pytest.mark.parametrize(
    "path, value", [(("name",), "renamed"), (("description",), "Another question.")], ids=["name", "description"]
)
def test_the_fingerprint_ignores_the_name_and_description(path, value):
    assert parse_experiment(_changed(path, value)).fingerprint() == parse_experiment(DOCUMENT).fingerprint()


def test_the_fingerprint_ignores_comments_and_layout_of_the_file(tmp_path):
    plain = write(tmp_path, 'name = "a"\nseed = 1\n[base]\nn_agents = 2000\n', "plain.toml")
    commented = write(
        tmp_path, '# why\nname   = "a"  # the name\n\nseed = 1\n\n[base]\n# small\nn_agents = 2_000\n', "c.toml"
    )
    assert load_experiment(plain).fingerprint() == load_experiment(commented).fingerprint()


def test_the_fingerprint_with_the_design_changes_when_a_table_file_changes(tmp_path):
    (tmp_path / "points.csv").write_text("label,fee_rate\na,0.1\nb,0.2\n")
    path = write(tmp_path, TABLE_FILE)
    experiment = load_experiment(path)
    before = experiment.fingerprint(build_design(experiment))
    (tmp_path / "points.csv").write_text("label,fee_rate\na,0.1\nb,0.3\n")
    experiment = load_experiment(path)
    assert experiment.fingerprint(build_design(experiment)) != before


def test_overrides_replace_top_level_settings_and_merge_into_base(tmp_path):
    path = write(
        tmp_path,
        """
        name = "x"
        replications = 8
        [base]
        n_agents = 20000
        fee_rate = 0.1
        """,
    )
    assert load_experiment(path).replications == 8
    assert load_experiment(path, {"replications": 2}).replications == 2
    experiment = load_experiment(path, {"base": {"n_agents": 2000}})
    assert experiment.base == {"n_agents": 2000, "fee_rate": 0.1}
    assert experiment.replications == 8
    assert experiment.fingerprint() != load_experiment(path).fingerprint()


def test_overrides_are_validated_like_the_file(tmp_path):
    path = write(tmp_path, 'name = "x"\n')
    assert "base.n_agents" in refusal(path, {"base": {"n_agents": 10}})
    assert "replications" in refusal(path, {"replications": 0})
