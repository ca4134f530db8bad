"""Prepare-time quantization math shared by every integer op: TFLite's multiplier/shift encoding.

A real multiplier m > 0 is stored as a Q31 integer q in [2^30, 2^31) and a shift s with m = q * 2^(s-31).
Rounding is std::round (half away from zero), not Python's banker's round.
"""
from __future__ import annotations

import math

import numpy as np


def round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: (q, shift) with m ~= q * 2^(shift - 31)."""
    if m == 0.0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = round_half_away(frac * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def quantize_multiplier_smaller_than_one(m: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp (shift <= 0)."""
    q, shift = quantize_multiplier(m)
    return q, shift


def quantize_multiplier_greater_than_one(m: float) -> tuple[int, int]:
    q, shift = quantize_multiplier(m)
    return q, shift


def quantize_multipliers(ms) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel: arrays (int32 multipliers, int32 shifts), quantize_multiplier of each value (vectorized:
    frexp, the exact scaling by 2^31 and the half-away rounding give the same integers)."""
    m = np.asarray(ms, dtype=np.float64).reshape(-1)
    frac, shift = np.frexp(m)  # m == 0: frac 0, shift 0
    q = np.floor(np.abs(frac) * float(1 << 31) + 0.5)
    np.copysign(q, frac, out=q)
    top = q == float(1 << 31)
    if top.any():
        q[top] /= 2
        shift[top] += 1
    small = shift < -31
    if small.any():
        q[small] = 0
        shift[small] = 0
    return q.astype(np.int64).astype(np.int32), shift.astype(np.int32)


def activation_range(activation: int, scale: float, zero_point: int, qmin: int, qmax: int) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for fused activations (NONE, RELU, RELU_N1_TO_1, RELU6)."""

    def q(v):
        return zero_point + round_half_away(v / scale)

    if activation == 1:  # RELU
        return max(qmin, q(0.0)), qmax
    if activation == 3:  # RELU6
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == 2:  # RELU_N1_TO_1
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    return qmin, qmax


def float_activation_range(activation: int) -> tuple[float, float]:
    inf = float("inf")
    return {0: (-inf, inf), 1: (0.0, inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}.get(activation, (-inf, inf))


DTYPE_RANGE = {9: (-128, 127), 3: (0, 255), 7: (-32768, 32767), 2: (-(1 << 31), (1 << 31) - 1)}
