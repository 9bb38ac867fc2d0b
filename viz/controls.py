"""The browser app's controls, read from the model's parameter table.

Each control is a parameter of `huzhu.model.parameters.PARAMETERS` under its own name,
so the label, the unit, the allowed values and the validation are the model's. A slider
spans the parameter's whole allowed range unless a narrower span is stated in
`VIEW_RANGES`, with the reason; it never goes outside the allowed range.
"""

from __future__ import annotations

import math
from typing import Any

from huzhu.model.parameters import ParameterError, format_number, get_parameter
from huzhu.model.presets import PRESETS

#: Agents in a new model of the app: at 200,000 agents (2,000 people each) a period has a
#: few claims and the rising share shows; at a few thousand it is nil or one claim's worth.
VIEW_AGENTS = 200_000

#: Controls shown, in order: model parameters and Mesa's `rng` (the seed).
CONTROLLED_PARAMETERS = (
    "n_agents",
    "fee_rate",
    "annual_cap_cny",
    "sharing_rule",
    "contagion_model",
    "contagion_strength",
    "price_sensitivity",
    "network_type",
)

#: Slider spans narrower than the allowed range, each with its reason.
VIEW_RANGES: dict[str, tuple[float, float, str]] = {
    "n_agents": (1_000, 1_000_000, "past 10^6 agents a step takes over a quarter of a second and a reset seconds"),
    "annual_cap_cny": (0.0, 500.0, "no cap (inf) cannot be a slider position; the no_cap preset gives it"),
    "contagion_strength": (0.0, 5.0, "six times the +80% per neighbour of Nitzan & Libai (2011) is already extreme"),
    "price_sensitivity": (0.0, 10.0, "five times the elasticity of Cutler & Reber (1998)"),
}

#: Slider steps (in the parameter's unit).
STEPS = {
    "n_agents": 1_000,
    "fee_rate": 0.01,
    "annual_cap_cny": 1.0,
    "contagion_strength": 0.05,
    "price_sensitivity": 0.1,
}

SEED_RANGE = (0, 999)  # seeds offered by the seed slider; any whole number is valid in the model
DEFAULT_SEED = 1


def slider_span(name: str) -> tuple[float, float]:
    """The slider's (min, max) for parameter `name`: inside its allowed range, always."""
    parameter = get_parameter(name)
    low, high = parameter.low, parameter.high
    if name in VIEW_RANGES:
        view_low, view_high, _ = VIEW_RANGES[name]
        low, high = max(low, view_low), min(high, view_high)
    if math.isinf(high):
        raise ParameterError(f"{name} allows up to inf: give the slider a finite span in VIEW_RANGES")
    return low, high


def control_of(name: str, value: Any = None) -> dict[str, Any]:
    """Mesa SolaraViz's description of the control of parameter `name`.

    Args:
        name: A parameter of the model.
        value: Starting value (default: the parameter's default); validated.

    Raises:
        ParameterError: For an unknown name, a value not allowed, or a value outside
            the slider's span.
    """
    parameter = get_parameter(name)
    value = parameter.validate(parameter.default if value is None else value)
    label = name  # the unit is in `huzhu params`; long labels squeeze the slider
    if parameter.choices is not None:
        return {"type": "Select", "value": value, "values": list(parameter.choices), "label": label}
    if parameter.kind is bool:
        return {"type": "Checkbox", "value": value, "label": label}
    if parameter.kind not in (int, float):
        raise ParameterError(f"{name} is a {parameter.kind.__name__}: the app offers no control for it")
    low, high = slider_span(name)
    if not low <= value <= high:
        raise ParameterError(
            f"{name}={format_number(value)} is outside the app's slider span [{format_number(low)}, "
            f"{format_number(high)}]; set it with `huzhu run --set` instead"
        )
    kind = "SliderInt" if parameter.kind is int else "SliderFloat"
    step = STEPS.get(name, 1 if parameter.kind is int else (high - low) / 100)
    return {"type": kind, "value": value, "min": low, "max": high, "step": step, "label": label}


def model_params(n_agents: int = VIEW_AGENTS, seed: int = DEFAULT_SEED) -> dict[str, dict[str, Any]]:
    """Every control of the app: scenario preset, the parameters, and the seed."""
    controls: dict[str, dict[str, Any]] = {
        "preset": {"type": "Select", "value": "default", "values": list(PRESETS), "label": "scenario preset"},
    }
    for name in CONTROLLED_PARAMETERS:
        controls[name] = control_of(name, n_agents if name == "n_agents" else None)
    controls["rng"] = {"type": "SliderInt", "value": seed, "min": SEED_RANGE[0], "max": SEED_RANGE[1], "step": 1,
                       "label": "seed"}  # fmt: skip
    return controls


def model_arguments(preset: str, controls: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the model from the app's control values.

    A control at the parameter's default leaves the preset's value in force, so choosing
    the `no_cap` preset removes the cap while the cap slider still shows 188; a control
    moved away from its default overrides the preset.

    Args:
        preset: Name of the scenario preset.
        controls: Control name to value, as the app holds them (`n_agents` is always
            passed: the app's size is not a preset's).
    """
    if preset not in PRESETS:
        raise ParameterError(f"unknown preset {preset!r}: one of {', '.join(PRESETS)}")
    arguments: dict[str, Any] = {"preset": preset}
    for name, value in controls.items():
        if name == "rng":
            arguments["rng"] = value
            continue
        parameter = get_parameter(name)
        value = parameter.validate(value)
        if name == "n_agents" or name not in PRESETS[preset] or value != parameter.default:
            arguments[name] = value
    return arguments
