"""Designs: where in factor space an experiment runs the model.

Sampled designs (Latin hypercube, Sobol/Saltelli, Morris) are drawn on the unit cube and
mapped to each factor by one rule (`unit_to_values`): a range through its distribution's
quantile function, a list of values by equal-width bins. The unit coordinates are kept
beside the values (columns `unit.<factor>`) because Morris analysis works on them.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from huzhu.experiments.experiment_file import (
    LABEL_COLUMN,
    MAX_POINTS,
    PRESET_FACTOR,
    Experiment,
    ExperimentFileError,
    Factor,
)
from huzhu.model.parameters import ParameterError, get_parameter, resolve_parameters
from huzhu.model.presets import PRESETS, preset_overrides

POINT = "point"
UNIT_PREFIX = "unit."
# Sub-streams of the experiment seed: replications use spawn key (0, k), the design sampler (1,).
DESIGN_SPAWN_KEY = (1,)


def build_design(experiment: Experiment) -> pd.DataFrame:
    """The design points of an experiment, validated as complete parameter sets.

    Returns:
        One row per point: `point` (0, 1, ...), `label`, one column per factor (its value)
        and, for sampled designs, `unit.<factor>` (the coordinate on [0, 1]; Morris grids
        include 1).

    Raises:
        ExperimentFileError: If the design is too large, a table is malformed, or a point's
            parameters contradict each other (naming the point).
    """
    kind = experiment.design["kind"]
    if kind == "table":
        table = _table_points(experiment)
    elif kind == "grid":
        table = _grid(experiment.factors)
    else:
        unit = unit_sample(experiment)
        table = unit_to_values(unit, experiment.factors)
        for j, factor in enumerate(experiment.factors):
            table[UNIT_PREFIX + factor.name] = unit[:, j]
    if len(table) * experiment.replications > MAX_POINTS * 10 or len(table) > MAX_POINTS:
        raise ExperimentFileError(f"design: {len(table):,} points is more than {MAX_POINTS:,}")
    if LABEL_COLUMN not in table:
        table.insert(0, LABEL_COLUMN, [_label(row) for row in table.to_dict("records")])
    table.insert(0, POINT, np.arange(len(table)))
    _check_points(table, experiment)
    return table.reset_index(drop=True)


def unit_sample(experiment: Experiment) -> np.ndarray:
    """Points on the unit cube [0, 1)^d of a sampled design (rows: points; columns: factors)."""
    design = experiment.design
    d = len(experiment.factors)
    seed = int(np.random.SeedSequence(experiment.seed, spawn_key=DESIGN_SPAWN_KEY).generate_state(1)[0])
    if design["kind"] == "lhs":
        return qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(design["samples"])
    problem = salib_problem(experiment)
    if design["kind"] == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, design["samples"], calc_second_order=design["second_order"], seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, design["samples"], num_levels=design["levels"], seed=seed)


def salib_problem(experiment: Experiment) -> dict[str, Any]:
    """SALib's problem dict on the unit cube (factors are mapped by `unit_to_values`)."""
    names = [f.name for f in experiment.factors]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def unit_to_values(unit: np.ndarray, factors: tuple[Factor, ...]) -> pd.DataFrame:
    """Map unit-cube coordinates to factor values.

    A range factor goes through its distribution's quantile function (uniform, log-uniform
    or triangular on [low, high]) and integer parameters are rounded; a factor with listed
    values takes value floor(u * k) of its k values.
    """
    columns = {}
    for j, factor in enumerate(factors):
        u = np.clip(unit[:, j], 0.0, np.nextafter(1.0, 0.0))
        if not factor.is_range:
            index = np.floor(u * len(factor.values)).astype(int)
            columns[factor.name] = [factor.values[i] for i in index]
            continue
        low, high = factor.low, factor.high
        if factor.distribution == "loguniform":
            values = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
        elif factor.distribution == "triangular":
            c = (factor.mode - low) / (high - low)
            values = stats.triang.ppf(u, c, loc=low, scale=high - low)
        else:
            values = low + u * (high - low)
        if get_parameter(factor.name).kind is int:
            columns[factor.name] = np.rint(values).astype(np.int64)
        else:
            columns[factor.name] = values.astype(float)
    return pd.DataFrame(columns)


def _grid(factors: tuple[Factor, ...]) -> pd.DataFrame:
    axes = []
    for factor in factors:
        if factor.is_range:
            values = np.linspace(factor.low, factor.high, factor.levels)
            if factor.name != PRESET_FACTOR and get_parameter(factor.name).kind is int:
                values = np.unique(np.rint(values).astype(np.int64))
            axes.append(list(values))
        else:
            axes.append(list(factor.values))
    size = math.prod(len(a) for a in axes)
    if size > MAX_POINTS:
        raise ExperimentFileError(f"design: the grid has {size:,} points, more than {MAX_POINTS:,}")
    return pd.DataFrame(list(itertools.product(*axes)), columns=[f.name for f in factors])


def _table_points(experiment: Experiment) -> pd.DataFrame:
    design = experiment.design
    if "points" in design:
        where = "design.points"
        points = design["points"]
        # An inline point lists only what it changes; the others keep the base values.
        raw = {column: [p.get(column) for p in points] for column in dict.fromkeys(k for p in points for k in p)}
        unset_allowed = True
    else:
        unset_allowed = False
        where = f"design.file {design['file']}"
        path = Path(design["file"])
        try:
            if path.suffix.lower() == ".parquet":
                frame = pd.read_parquet(path)
            else:
                # As text: pandas would turn an integer column with an empty cell into floats.
                frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
        except Exception as error:
            raise ExperimentFileError(f"{where}: cannot be read as a table: {error}") from None
        raw = {column: frame[column].tolist() for column in frame.columns}
    if not raw or not len(next(iter(raw.values()))):
        raise ExperimentFileError(f"{where}: has no rows")
    columns = {}
    for column in raw:
        if column == LABEL_COLUMN:
            columns[column] = [str(v) for v in raw[column]]
            continue
        if column != PRESET_FACTOR:
            try:
                parameter = get_parameter(column)
            except ParameterError as error:
                raise ExperimentFileError(f"{where}: column {column!r}: {error}") from None
            if column in experiment.base:
                raise ExperimentFileError(f"{where}: column {column!r} is also set in [base]; remove one")
        values = []
        for row, value in enumerate(raw[column]):
            if _is_unset(value):
                if not unset_allowed:
                    raise ExperimentFileError(f"{where}: row {row + 1}, column {column!r}: empty")
                values.append(None)
                continue
            if column == PRESET_FACTOR:
                if value not in PRESETS:
                    raise ExperimentFileError(
                        f"{where}: row {row + 1}, column 'preset': unknown preset {value!r}: "
                        f"one of {', '.join(PRESETS)}"
                    )
                values.append(value)
                continue
            try:
                values.append(parameter.validate(value.item() if isinstance(value, np.generic) else value))
            except ParameterError as error:
                raise ExperimentFileError(f"{where}: row {row + 1}: {error}") from None
        columns[column] = values
    # Object columns where a point leaves a cell unset, so integers stay integers beside None.
    return pd.DataFrame(
        {name: pd.Series(values, dtype=object if None in values else None) for name, values in columns.items()}
    )


def point_parameters(experiment: Experiment, point: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The preset and parameter overrides of one design point (base, then the point's values).

    Args:
        experiment: The experiment.
        point: A row of the design table (as a dict).

    Returns:
        (preset name, parameter overrides).
    """
    preset = point.get(PRESET_FACTOR)
    preset = experiment.preset if _is_unset(preset) else preset
    overrides = dict(experiment.base)
    for name, value in point.items():
        if name in (POINT, LABEL_COLUMN, PRESET_FACTOR) or name.startswith(UNIT_PREFIX) or _is_unset(value):
            continue
        overrides[name] = value.item() if isinstance(value, np.generic) else value
    return preset, overrides


def _check_points(table: pd.DataFrame, experiment: Experiment) -> None:
    for point in table.to_dict("records"):
        preset, overrides = point_parameters(experiment, point)
        try:
            resolve_parameters({**preset_overrides(preset), **overrides})
        except ParameterError as error:
            raise ExperimentFileError(f"design point {point[POINT]} ({point[LABEL_COLUMN]}): {error}") from None


def _is_unset(value: Any) -> bool:
    """A cell a table point leaves empty (None, or NaN after pandas alignment)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label(row: dict[str, Any]) -> str:
    shown = {name: value for name, value in row.items() if not name.startswith(UNIT_PREFIX) and not _is_unset(value)}
    if not shown:
        return "base"
    return ", ".join(f"{name}={_short(value)}" for name, value in shown.items())


def _short(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)
