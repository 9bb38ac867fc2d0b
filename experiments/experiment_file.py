"""Experiment files: a TOML description of a batch experiment, validated before anything runs.

An experiment file names a base scenario, the factors varied, the design that places
points in the factor space, the replications and the outputs to keep::

    name = "fee_policies"
    description = "How does the fee rate change the platform's income and the pool's life?"
    seed = 2019                 # root of every replication seed and of the design sampler
    replications = 8

    [base]                      # the scenario every point starts from
    preset = "default"
    n_agents = 20000

    [factors.fee_rate]          # a factor: listed values ...
    values = [0.0, 0.08, 0.15]

    [factors.price_sensitivity] # ... or a range with a distribution (sampled designs)
    low = 1.0
    high = 4.0
    distribution = "uniform"    # uniform | loguniform | triangular (with mode)

    [design]
    kind = "grid"               # grid | lhs | sobol | morris | table

    [outputs]
    timeseries = "all"          # "all", a list of columns, or false (summaries only)
    summaries = "all"           # "all" or a list of names from huzhu.experiments.summaries

Every error names the file, the line (where the TOML text shows it) and the field, and
says what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huzhu.experiments.summaries import ALL_METRICS, MARKET_METRICS, SUMMARY_METRICS
from huzhu.model.model import REPORTED_COLUMNS
from huzhu.model.parameters import ParameterError, get_parameter
from huzhu.model.presets import PRESETS

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris", "table")
DISTRIBUTIONS = ("uniform", "loguniform", "triangular")
PRESET_FACTOR = "preset"  # a factor or table column that selects the preset, not a parameter
LABEL_COLUMN = "label"  # an optional table column naming each point
MAX_REPLICATIONS = 100_000
MAX_POINTS = 1_000_000
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_TOP_LEVEL = ("name", "description", "seed", "replications", "base", "factors", "design", "outputs", "sensitivity")
_FACTOR_KEYS = ("values", "low", "high", "distribution", "mode", "levels")
_DESIGN_KEYS = ("kind", "samples", "levels", "second_order", "file", "points")
_OUTPUT_KEYS = ("timeseries", "summaries")
_SENSITIVITY_KEYS = ("outputs", "resamples", "confidence")


class ExperimentFileError(ValueError):
    """An experiment file that cannot be run; the message names the field and the line."""


@dataclass(frozen=True)
class Factor:
    """A varied parameter (or the preset).

    Attributes:
        name: Parameter name, or "preset".
        values: Listed values (grid, or categorical in sampled designs); None for a range.
        low / high: Range of a numeric factor (sampled designs, or a grid with `levels`).
        distribution: How unit-interval samples map to the range.
        mode: Mode of a triangular distribution.
        levels: Evenly spaced grid values over [low, high].
    """

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    distribution: str = "uniform"
    mode: float | None = None
    levels: int | None = None

    @property
    def is_range(self) -> bool:
        return self.values is None


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file.

    Attributes:
        name: Experiment name (also the default output folder name).
        description: The question the experiment answers.
        seed: Root seed of the replications and of the design sampler.
        replications: Runs per design point; replication k has the same seed at every point.
        preset: Preset of the base scenario.
        base: Parameter values of the base scenario (validated).
        factors: The varied factors, in file order.
        design: Design settings (`kind` and its options).
        timeseries: Columns kept every period; empty tuple keeps none.
        summaries: End-of-run metrics kept.
        sensitivity: Settings for `huzhu sensitivity` (outputs, resamples, confidence).
        source: Path of the file (None when built from a dict).
        text: The file's text, stored with the results.
    """

    name: str
    description: str
    seed: int
    replications: int
    preset: str
    base: dict[str, Any]
    factors: tuple[Factor, ...]
    design: dict[str, Any]
    timeseries: tuple[str, ...]
    summaries: tuple[str, ...]
    sensitivity: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    text: str = ""

    def fingerprint(self, design_table=None) -> str:
        """A hash of everything that determines the results (not the name or description).

        Two files with the same fingerprint produce the same runs, so an output folder can
        be resumed only by an experiment with its fingerprint.
        """
        content = {
            "seed": self.seed,
            "replications": self.replications,
            "preset": self.preset,
            "base": {k: _canonical(v) for k, v in sorted(self.base.items())},
            "factors": [_canonical(f.__dict__) for f in self.factors],
            "design": {k: _canonical(v) for k, v in sorted(self.design.items()) if k != "file"},
            "timeseries": list(self.timeseries),
            "summaries": list(self.summaries),
        }
        if design_table is not None:
            content["points"] = json.loads(design_table.to_json(orient="split", date_format="iso", double_precision=15))
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Read and validate an experiment file.

    Args:
        path: The TOML file.
        overrides: Top-level settings replacing the file's (for example
            {"replications": 2} or {"base": {"n_agents": 2000}} for a quick look); base
            entries are merged into the file's [base].

    Raises:
        ExperimentFileError: If the file is missing, not TOML, or not a valid experiment.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ExperimentFileError(f"{path}: cannot read the experiment file ({error.strerror})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExperimentFileError(f"{path}: not valid TOML: {error}") from None
    for key, value in (overrides or {}).items():
        if key == "base":
            document.setdefault("base", {}).update(value)
        else:
            document[key] = value
    return parse_experiment(document, source=path, text=text)


def parse_experiment(document: dict[str, Any], source: Path | None = None, text: str = "") -> Experiment:
    """Validate an experiment given as a dict (the parsed TOML).

    Raises:
        ExperimentFileError: Naming the field, its line in `text` when found, and what is allowed.
    """
    where = _Locator(source, text)
    _check_keys(document, _TOP_LEVEL, "", where)

    name = _required(document, "name", str, where)
    if not NAME_PATTERN.match(name):
        raise where.error("name", f"{name!r} is not a folder-safe name: letters, digits, '_', '-', '.'")
    description = _optional(document, "description", str, "", where)
    seed = _optional(document, "seed", int, 0, where)
    if seed < 0:
        raise where.error("seed", f"{seed} is negative: allowed a whole number >= 0")
    replications = _optional(document, "replications", int, 1, where)
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise where.error("replications", f"{replications}: allowed 1..{MAX_REPLICATIONS}")

    base_table = dict(_optional(document, "base", dict, {}, where))
    preset = base_table.pop(PRESET_FACTOR, "default")
    if preset not in PRESETS:
        raise where.error("base.preset", f"unknown preset {preset!r}: one of {', '.join(PRESETS)}")
    base = {key: _parameter_value(key, value, f"base.{key}", where) for key, value in base_table.items()}

    factors = tuple(
        _factor(key, spec, base, where) for key, spec in _optional(document, "factors", dict, {}, where).items()
    )
    design = _design(_optional(document, "design", dict, {"kind": "grid"}, where), factors, source, where)
    market = preset == "market" or base.get("market_scope") == "market"
    timeseries, summaries = _outputs(_optional(document, "outputs", dict, {}, where), where, market)
    sensitivity = _sensitivity(_optional(document, "sensitivity", dict, {}, where), design, summaries, where)
    return Experiment(
        name=name,
        description=description,
        seed=seed,
        replications=replications,
        preset=preset,
        base=base,
        factors=factors,
        design=design,
        timeseries=timeseries,
        summaries=summaries,
        sensitivity=sensitivity,
        source=source,
        text=text,
    )


# ---------------------------------------------------------------- sections
def _factor(name: str, spec: Any, base: dict, where: _Locator) -> Factor:
    field_name = f"factors.{name}"
    if not isinstance(spec, dict):
        raise where.error(field_name, "must be a table with `values = [...]` or `low`/`high`")
    _check_keys(spec, _FACTOR_KEYS, field_name, where)
    if name in base:
        raise where.error(field_name, f"{name} is also set in [base]; a factor's base value is not used, remove one")
    if name == PRESET_FACTOR:
        values = _list(spec, "values", field_name, where)
        for value in values:
            if value not in PRESETS:
                raise where.error(f"{field_name}.values", f"unknown preset {value!r}: one of {', '.join(PRESETS)}")
        if set(spec) - {"values"}:
            raise where.error(field_name, "the preset factor takes only `values`")
        return Factor(name, values=tuple(values))
    try:
        parameter = get_parameter(name)
    except ParameterError as error:
        raise where.error(field_name, str(error)) from None
    if "values" in spec:
        if set(spec) - {"values"}:
            raise where.error(field_name, "give either `values` or `low`/`high` (with `distribution`, `levels`)")
        values = _list(spec, "values", field_name, where)
        checked = tuple(_parameter_value(name, v, f"{field_name}.values", where) for v in values)
        if len(set(map(str, checked))) != len(checked):
            raise where.error(f"{field_name}.values", "lists a value twice")
        return Factor(name, values=checked)
    if parameter.choices is not None or parameter.kind not in (int, float):
        raise where.error(field_name, f"{name} is not numeric: list its `values` ({parameter.allowed()})")
    if "low" not in spec or "high" not in spec:
        raise where.error(field_name, "needs `values = [...]` or both `low` and `high`")
    low = _parameter_value(name, spec["low"], f"{field_name}.low", where)
    high = _parameter_value(name, spec["high"], f"{field_name}.high", where)
    if not low < high:
        raise where.error(f"{field_name}.high", f"high {high} must be above low {low}")
    if math.isinf(high):
        raise where.error(f"{field_name}.high", "must be finite; list inf among `values` instead")
    distribution = spec.get("distribution", "uniform")
    if distribution not in DISTRIBUTIONS:
        raise where.error(f"{field_name}.distribution", f"{distribution!r}: one of {', '.join(DISTRIBUTIONS)}")
    if distribution == "loguniform" and low <= 0:
        raise where.error(f"{field_name}.low", f"loguniform needs low > 0, got {low}")
    mode = spec.get("mode")
    if distribution == "triangular":
        if not isinstance(mode, int | float) or isinstance(mode, bool) or not low <= mode <= high:
            raise where.error(f"{field_name}.mode", f"triangular needs a number `mode` in [{low}, {high}]")
    elif mode is not None:
        raise where.error(f"{field_name}.mode", "only a triangular distribution has a mode")
    levels = spec.get("levels")
    if levels is not None and (not isinstance(levels, int) or isinstance(levels, bool) or levels < 2):
        raise where.error(f"{field_name}.levels", f"{levels!r}: a whole number >= 2")
    return Factor(name, low=low, high=high, distribution=distribution, mode=mode, levels=levels)


def _design(spec: dict, factors: tuple[Factor, ...], source: Path | None, where: _Locator) -> dict[str, Any]:
    _check_keys(spec, _DESIGN_KEYS, "design", where)
    kind = spec.get("kind")
    if kind not in DESIGN_KINDS:
        raise where.error("design.kind", f"{kind!r}: one of {', '.join(DESIGN_KINDS)}")
    design: dict[str, Any] = {"kind": kind}
    allowed = {
        "grid": set(),
        "lhs": {"samples"},
        "sobol": {"samples", "second_order"},
        "morris": {"samples", "levels"},
        "table": {"file", "points"},
    }[kind]
    extra = set(spec) - allowed - {"kind"}
    if extra:
        raise where.error(f"design.{sorted(extra)[0]}", f"not an option of design kind {kind!r}: {sorted(allowed)}")
    if kind == "table":
        if ("file" in spec) == ("points" in spec):
            raise where.error("design", "a table design needs exactly one of `file` (CSV or Parquet) or `points`")
        if factors:
            raise where.error("factors", "a table design takes its points from the table; remove [factors]")
        if "file" in spec:
            file = Path(spec["file"])
            if not file.is_absolute() and source is not None:
                file = source.parent / file
            if file.suffix.lower() not in (".csv", ".parquet"):
                raise where.error("design.file", f"{spec['file']!r}: a .csv or .parquet file")
            if not file.exists():
                raise where.error("design.file", f"{file} does not exist")
            design["file"] = str(file)
        else:
            points = spec["points"]
            if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
                raise where.error("design.points", "a non-empty array of tables ([[design.points]])")
            design["points"] = points
        return design
    if kind == "grid":
        for factor in factors:
            if factor.is_range and factor.levels is None:
                raise where.error(f"factors.{factor.name}", "a grid needs `values` or `levels` with `low`/`high`")
        return design
    if not factors:
        raise where.error("factors", f"a {kind} design needs at least one factor")
    for factor in factors:
        if factor.levels is not None:
            raise where.error(f"factors.{factor.name}.levels", f"`levels` is for grids, not {kind} designs")
    samples = spec.get("samples")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 2:
        raise where.error("design.samples", f"{samples!r}: a whole number >= 2")
    design["samples"] = samples
    if kind == "sobol":
        if samples & (samples - 1):
            raise where.error("design.samples", f"{samples}: Saltelli's scheme needs a power of 2 (e.g. 64, 128)")
        second = spec.get("second_order", False)
        if not isinstance(second, bool):
            raise where.error("design.second_order", f"{second!r}: true or false")
        design["second_order"] = second
    if kind == "morris":
        levels = spec.get("levels", 4)
        if not isinstance(levels, int) or isinstance(levels, bool) or levels < 2 or levels % 2:
            raise where.error("design.levels", f"{levels!r}: an even whole number >= 2 (Morris grid levels)")
        design["levels"] = levels
    if kind in ("sobol", "morris") and len(factors) < 2:
        raise where.error("factors", f"a {kind} analysis needs at least two factors")
    return design


def _outputs(spec: dict, where: _Locator, market: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The kept time series and summaries; "all" summaries of a market experiment (its
    base a market model) include the market's metrics."""
    _check_keys(spec, _OUTPUT_KEYS, "outputs", where)
    series = spec.get("timeseries", "all")
    if series == "all":
        timeseries = tuple(REPORTED_COLUMNS)
    elif series is False:
        timeseries = ()
    elif isinstance(series, list) and all(isinstance(c, str) for c in series):
        unknown = [c for c in series if c not in REPORTED_COLUMNS]
        if unknown:
            allowed = ", ".join(REPORTED_COLUMNS)
            raise where.error("outputs.timeseries", f"unknown column {unknown[0]!r}: one of {allowed}")
        # period and date always come along: a series without its time axis is useless.
        timeseries = tuple(dict.fromkeys(["period", "date", *series]))
    else:
        raise where.error("outputs.timeseries", f'{series!r}: "all", false or a list of column names')
    kept = spec.get("summaries", "all")
    if kept == "all":
        summaries = tuple(SUMMARY_METRICS) + (tuple(MARKET_METRICS) if market else ())
    elif isinstance(kept, list) and kept and all(isinstance(c, str) for c in kept):
        unknown = [c for c in kept if c not in ALL_METRICS]
        if unknown:
            allowed = ", ".join(ALL_METRICS)
            raise where.error("outputs.summaries", f"unknown summary {unknown[0]!r}: one of {allowed}")
        summaries = tuple(dict.fromkeys(kept))
    else:
        raise where.error("outputs.summaries", f'{kept!r}: "all" or a non-empty list of summary names')
    return timeseries, summaries


def _sensitivity(spec: dict, design: dict, summaries: tuple[str, ...], where: _Locator) -> dict[str, Any]:
    _check_keys(spec, _SENSITIVITY_KEYS, "sensitivity", where)
    if not spec:
        return {}
    if design["kind"] not in ("sobol", "morris"):
        raise where.error("sensitivity", f"needs a sobol or morris design, not {design['kind']!r}")
    outputs = spec.get("outputs", list(summaries))
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise where.error("sensitivity.outputs", "a non-empty list of summary names")
    for output in outputs:
        if output not in summaries:
            kept = ", ".join(summaries)
            raise where.error("sensitivity.outputs", f"{output!r} is not among the kept summaries: {kept}")
    resamples = spec.get("resamples", 1000)
    if not isinstance(resamples, int) or isinstance(resamples, bool) or resamples < 10:
        raise where.error("sensitivity.resamples", f"{resamples!r}: a whole number >= 10 (bootstrap resamples)")
    confidence = spec.get("confidence", 0.95)
    if not isinstance(confidence, float) or not 0.5 <= confidence < 1:
        raise where.error("sensitivity.confidence", f"{confidence!r}: a number in [0.5, 1)")
    return {"outputs": tuple(outputs), "resamples": resamples, "confidence": confidence}


# ---------------------------------------------------------------- helpers
def _parameter_value(name: str, value: Any, field_name: str, where: _Locator) -> Any:
    try:
        return get_parameter(name).validate(value)
    except ParameterError as error:
        raise where.error(field_name, str(error)) from None


def _check_keys(table: dict, allowed: tuple[str, ...], prefix: str, where: _Locator) -> None:
    for key in table:
        if key not in allowed:
            field_name = f"{prefix}.{key}" if prefix else key
            raise where.error(field_name, f"unknown key: allowed {', '.join(allowed)}")


def _required(table: dict, key: str, kind: type, where: _Locator) -> Any:
    if key not in table:
        raise where.error(key, "is required")
    return _optional(table, key, kind, None, where)


def _optional(table: dict, key: str, kind: type, default: Any, where: _Locator) -> Any:
    value = table.get(key, default)
    if key in table and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise where.error(key, f"{value!r} is not {_KIND_NAMES[kind]}")
    return value


def _list(spec: dict, key: str, field_name: str, where: _Locator) -> list:
    values = spec.get(key)
    if not isinstance(values, list) or not values:
        raise where.error(f"{field_name}.{key}", "a non-empty list")
    return values


_KIND_NAMES = {str: "text", int: "a whole number", dict: "a table", float: "a number", bool: "true or false"}


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class _Locator:
    """Finds the line of a dotted field in the TOML text, for error messages."""

    def __init__(self, source: Path | None, text: str):
        self.source = source
        self.lines = text.splitlines()

    def line_of(self, field_name: str) -> int | None:
        parts = field_name.split(".")
        header: list[str] = []
        best = None
        open_string = None  # the quotes of a multi-line string being read, whose lines are not keys
        for number, raw in enumerate(self.lines, start=1):
            if open_string is not None:
                if raw.count(open_string) % 2:
                    open_string = None
                continue
            for quotes in ('"""', "'''"):
                if raw.count(quotes) % 2:
                    open_string = quotes
            line = raw.split("#", 1)[0].strip()
            table = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
            if table:
                header = [p.strip().strip('"') for p in table.group(1).split(".")]
                if header == parts[: len(header)] and best is None and len(header) == len(parts):
                    best = number
                continue
            key = re.match(r"^([A-Za-z0-9_\"\-.]+)\s*=", line)
            if key:
                path = header + [p.strip().strip('"') for p in key.group(1).split(".")]
                if path == parts:
                    return number
                if best is None and path == parts[: len(path)]:
                    best = number
        if best is None and len(parts) > 1:
            return self.line_of(".".join(parts[:-1]))
        return best

    def error(self, field_name: str, problem: str) -> ExperimentFileError:
        line = self.line_of(field_name) if self.lines else None
        where = str(self.source) if self.source else "experiment"
        if line is not None:
            where += f", line {line}"
        return ExperimentFileError(f"{where}: {field_name}: {problem}")
