"""Named parameter presets: the documented defaults, the calibrated Xianghubao scenario,
and the ablations mechanism tests use."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from huzhu.model.parameters import ParameterError, get_parameter

#: The calibration behind the `xianghubao` preset (`huzhu calibrate`; docs/calibration.md):
#: its settings (data cutoff, seed, agents, budget), times, versions, best and near-best sets.
CALIBRATION_FILE = "xianghubao_calibration.json"


def xianghubao_calibration() -> dict[str, Any]:
    """The shipped calibration manifest of the `xianghubao` preset."""
    return json.loads(resources.files("huzhu.data").joinpath(CALIBRATION_FILE).read_text())


def _calibrated() -> dict[str, Any]:
    manifest = xianghubao_calibration()
    return {**manifest["settings"]["fixed"], "stay_rule": manifest["settings"]["stay_rule"], **manifest["best"]}


PRESETS: dict[str, dict[str, Any]] = {
    # Documented defaults of model/parameters.py.
    "default": {},
    # The defaults with the behavioural parameters estimated from Xianghubao's record to
    # 2020-12-31 (data/xianghubao_calibration.json holds the provenance).
    "xianghubao": _calibrated(),
    # The whole market (data/market.toml) over the same people, with the xianghubao
    # preset's behaviour and each other plan's values fitted to its record to 2020
    # (data/market_calibration.json; docs/ODD.md 7.12).
    "market": {**_calibrated(), "market_scope": "market"},
    # Everyone carries the same risk and knows it; no one is screened or selected.
    "homogeneous_risk": {
        "risk_heterogeneity": "none",
        "risk_perception_sigma": 0.0,
        "select_risk_factor_at_joining": 1.0,
        "select_ultimate_factor": 1.0,
    },
    # Exits do not spread over the network.
    "no_contagion": {"contagion_model": "none"},
    # Threshold contagion (Granovetter 1978; Watts 2002) instead of the hazard model.
    "threshold_contagion": {"contagion_model": "threshold"},
    # No annual cap at any time.
    "no_cap": {"annual_cap_cny": float("inf")},
    # Risk-rated sharing by ten-year age band.
    "age_banded": {"sharing_rule": "age_banded"},
}


def preset_overrides(name: str) -> dict[str, Any]:
    """The parameter values of preset `name`, validated.

    Raises:
        ParameterError: If the preset is unknown.
    """
    if name not in PRESETS:
        raise ParameterError(f"unknown preset {name!r}: one of {', '.join(PRESETS)}")
    return {key: get_parameter(key).validate(value) for key, value in PRESETS[name].items()}
