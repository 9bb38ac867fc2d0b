"""How a behavioural rule is compiled: once, for one agent and for many.

A rule is written as a scalar function of one agent's values and the period's
model-level values. `rule` compiles it with Numba into a ufunc: called on arrays it runs
over many agents (numpy broadcasting), called on numbers it decides for one agent (the
per-agent reference engine), and the compiled passes of the vectorised engine call it
inside their loops. A rule changed in its one definition changes every engine.
"""

from __future__ import annotations

import math

from numba import njit, vectorize


def rule(n_arguments: int, returns: str = "float64"):
    """Compile a scalar rule of `n_arguments` float64 arguments into a ufunc.

    Args:
        n_arguments: How many arguments the rule takes (all float64: numpy casts
            integers and booleans to them).
        returns: The numba type of its value ("float64", or "int8" for a code).
    """
    signature = f"{returns}({', '.join(['float64'] * n_arguments)})"
    return vectorize([signature], cache=True)


@njit(cache=True)
def logistic(x: float) -> float:
    """1 / (1 + exp(-x)), without overflow at either end."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
