"""NumPy's PCG64DXSM generator, compiled, so that compiled passes draw the streams' numbers themselves.

`AgentStreams` (model/streams.py) gives item i of a (stream, period) the i-th double of a
PCG64DXSM generator seeded from the run seed, the stream and the period. The functions
here produce exactly those doubles inside a compiled loop: a block of agents jumps its
own copy of the generator to its first agent (`jump`, logarithmic in the distance) and
steps it agent by agent (`next_double`), so threads draw their blocks at once, no array
of draws is kept, and every bit equals what NumPy would give (tests/test_streams.py).

The 128-bit state is carried in two unsigned 64-bit halves. The algorithm is NumPy's
(numpy/random/src/pcg64/pcg64.h: `pcg_cm_random_r`, the "DXSM" output of the state
before the step and the step with the cheap 64-bit multiplier; `pcg_advance_lcg_128`,
Brown 1994 "Random number generation with arbitrary strides", for the jump).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_S32, _S48, _S11, _S1 = np.uint64(32), np.uint64(48), np.uint64(11), np.uint64(1)
_ZERO, _ONE = np.uint64(0), np.uint64(1)
_CHEAP_MULTIPLIER = np.uint64(0xDA942042E4DD58B5)
_TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0


@intrinsic
def _multiply_high(typingctx, a, b):
    """The high 64 bits of the 128-bit product of two unsigned 64-bit numbers (one
    widening multiply of the machine, as NumPy's C code gets from its compiler)."""
    if a != types.uint64 or b != types.uint64:
        return None

    def codegen(context, builder, signature, arguments):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(arguments[0], wide), builder.zext(arguments[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

    return types.uint64(types.uint64, types.uint64), codegen


@njit(cache=True, inline="always")
def _multiply(a_hi, a_lo, b_hi, b_lo):
    """(a x b) mod 2^128, each number as (high, low) 64-bit halves."""
    return _multiply_high(a_lo, b_lo) + a_hi * b_lo + a_lo * b_hi, a_lo * b_lo


@njit(cache=True, inline="always")
def _add(a_hi, a_lo, b_hi, b_lo):
    """(a + b) mod 2^128."""
    low = a_lo + b_lo
    carry = _ONE if low < a_lo else _ZERO
    return a_hi + b_hi + carry, low


@njit(cache=True, inline="always")
def skip(state_hi, state_lo, inc_hi, inc_lo):
    """The state after one draw, without making the draw (for an agent that needs none)."""
    step_hi, step_lo = _multiply(state_hi, state_lo, _ZERO, _CHEAP_MULTIPLIER)
    return _add(step_hi, step_lo, inc_hi, inc_lo)


@njit(cache=True, inline="always")
def next_double(state_hi, state_lo, inc_hi, inc_lo):
    """The generator's next double on [0, 1) and its state after the step.

    Returns:
        (draw, state_hi, state_lo).
    """
    hi = state_hi
    lo = state_lo | _ONE
    hi ^= hi >> _S32
    hi *= _CHEAP_MULTIPLIER
    hi ^= hi >> _S48
    hi *= lo
    state_hi, state_lo = skip(state_hi, state_lo, inc_hi, inc_lo)
    return np.float64(hi >> _S11) * _TWO_TO_MINUS_53, state_hi, state_lo


@njit(cache=True, inline="always")
def jump(state_hi, state_lo, inc_hi, inc_lo, steps):
    """The state `steps` draws ahead (steps >= 0)."""
    multiplier_hi, multiplier_lo = _ZERO, _CHEAP_MULTIPLIER
    plus_hi, plus_lo = inc_hi, inc_lo
    total_multiplier_hi, total_multiplier_lo = _ZERO, _ONE
    total_plus_hi, total_plus_lo = _ZERO, _ZERO
    remaining = np.uint64(steps)
    while remaining > _ZERO:
        if remaining & _ONE:
            total_multiplier_hi, total_multiplier_lo = _multiply(
                total_multiplier_hi, total_multiplier_lo, multiplier_hi, multiplier_lo
            )
            product_hi, product_lo = _multiply(total_plus_hi, total_plus_lo, multiplier_hi, multiplier_lo)
            total_plus_hi, total_plus_lo = _add(product_hi, product_lo, plus_hi, plus_lo)
        multiplier_plus_one_hi, multiplier_plus_one_lo = _add(multiplier_hi, multiplier_lo, _ZERO, _ONE)
        plus_hi, plus_lo = _multiply(multiplier_plus_one_hi, multiplier_plus_one_lo, plus_hi, plus_lo)
        multiplier_hi, multiplier_lo = _multiply(multiplier_hi, multiplier_lo, multiplier_hi, multiplier_lo)
        remaining >>= _S1
    product_hi, product_lo = _multiply(total_multiplier_hi, total_multiplier_lo, state_hi, state_lo)
    return _add(product_hi, product_lo, total_plus_hi, total_plus_lo)


def generator_words(bit_generator: np.random.PCG64DXSM) -> np.ndarray:
    """(state high, state low, increment high, increment low) of a NumPy PCG64DXSM (uint64)."""
    state = bit_generator.state["state"]
    mask = (1 << 64) - 1
    return np.array(
        [state["state"] >> 64, state["state"] & mask, state["inc"] >> 64, state["inc"] & mask], dtype=np.uint64
    )


@njit(cache=True)
def _doubles(words, start, count, out):
    state_hi, state_lo = jump(words[0], words[1], words[2], words[3], start)
    for k in range(count):
        out[k], state_hi, state_lo = next_double(state_hi, state_lo, words[2], words[3])


def doubles(words: np.ndarray, start: int, count: int) -> np.ndarray:
    """Draws start..start+count-1 of the generator whose position-0 words are `words` (float64)."""
    out = np.empty(count)
    _doubles(words, start, count, out)
    return out
