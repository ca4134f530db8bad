"""Weight packing at prepare, in C (kernels/opt/pack.c, layouts in edgerun/ops_pack.h): one pass over the
weights per conv / fully-connected op instead of numpy's padding copies, transposes and reductions. The plain
definitions the packed bytes must equal are in tests/runtime/test_cold_start.py. Outputs are new numpy arrays
(the plan keeps them as constants); the model's weights are only read.
"""
from __future__ import annotations

import numpy as np

from edgerun.errors import EdgerunError
from edgerun.kernels import ffi, lib



def _c(name):
    fn = getattr(lib, name, None)
    if fn is None:  # a kernel library built before kernels/opt/pack.c
        raise EdgerunError(f"the loaded kernel library has no {name}: rebuild it (python kernels/build.py)")
    return fn


def _check_k(k: int):
    if k >= 1 << 24:  # the int32 sums of kernels/opt/pack.c (the kernels take K * 255 * 255 < 2^31 anyway)
        raise ValueError(f"{k} weights per output channel are too many to pack")


def _ptr(a: np.ndarray, ctype: str):
    return ffi.cast(ctype, ffi.from_buffer(a, require_writable=False))


def f32_panels(w: np.ndarray, bias: np.ndarray, groups: int) -> tuple:
    """Weights [N, K] float32 and bias [N] -> (panels, padded bias) as er_pack_f32_panels lays them out."""
    w = np.ascontiguousarray(w, np.float32)
    bias = np.ascontiguousarray(bias, np.float32)
    n, k = w.shape
    ng8 = -(-(n // groups) // 8) * 8
    out_w = np.empty(groups * ng8 * k, np.float32)
    out_b = np.empty(groups * ng8, np.float32)
    _c("er_pack_f32_panels")(_ptr(w, "float *"), _ptr(bias, "float *"), n, k, groups,
                             _ptr(out_w, "float *"), _ptr(out_b, "float *"))
    return out_w, out_b


def s8_dot(w2d: np.ndarray, input_offset: int) -> tuple:
    """int8 [N, K] -> (int32 words: corrections, panels, weight sums, K4, Np) as er_pack_s8_dot lays them
    out."""
    w2d = np.ascontiguousarray(w2d, np.int8)
    n, k = w2d.shape
    _check_k(k)
    k4, np_ = (k + 3) // 4 * 4, (n + 7) // 8 * 8
    out = np.empty(2 * np_ + np_ * k4 // 4, "<i4")
    _c("er_pack_s8_dot")(_ptr(w2d, "int8_t *"), n, k, int(input_offset), _ptr(out, "int32_t *"))
    return out, k4, np_


def _qm_into(out_words, mult, shift, sums, bias, n, cp, input_offset):
    mult = np.ascontiguousarray(mult, np.int32)
    shift = np.ascontiguousarray(shift, np.int32)
    b = ffi.NULL
    if bias is not None:
        bias = np.ascontiguousarray(np.asarray(bias, np.int32).reshape(-1)[:n])
        b = _ptr(bias, "int32_t *")
    _c("er_pack_qm_blob")(_ptr(mult, "int32_t *"), _ptr(shift, "int32_t *"), _ptr(sums, "int32_t *"), b, n, cp,
                          int(input_offset), _ptr(out_words, "int32_t *"))


def qm_words(cp: int) -> int:
    """int32 words of the madd blob's head for Cp channels."""
    return lib.ER_PACK_QM_HEADER_WORDS + cp + cp // 8 * lib.ER_PACK_QM_RQ_WORDS


def s8_madd_gemm(w2d: np.ndarray, mult, shift, bias, input_offset: int) -> tuple:
    """int8 [N, K] -> (blob int8: the madd head of er_pack_qm_blob, then er_pack_s8_pairs panels, Kp, Np)."""
    w2d = np.ascontiguousarray(w2d, np.int8)
    n, k = w2d.shape
    _check_k(k)
    kp, np_ = k + (k & 1), (n + 7) // 8 * 8
    head = 4 * qm_words(np_)
    out = np.empty(head + np_ * kp, np.int8)
    sums = np.empty(n, np.int32)
    _c("er_pack_s8_pairs")(_ptr(w2d, "int8_t *"), n, k, _ptr(out[head:], "int8_t *"), _ptr(sums, "int32_t *"))
    _qm_into(out[:head].view(np.int32), mult, shift, sums, bias, n, np_, input_offset)
    return out, kp, np_


def s8_madd_depthwise(w: np.ndarray, cp: int, mult, shift, bias, input_offset: int) -> np.ndarray:
    """int8 [1, KH, KW, C] -> blob int8: the madd head of er_pack_qm_blob, then er_pack_s8_dw_pairs tap pairs."""
    _, kh, kw, c = w.shape
    w = np.ascontiguousarray(w, np.int8)
    t = kh * kw
    _check_k(t)
    head = 4 * qm_words(cp)
    out = np.empty(head + (t + 1) // 2 * cp * 2, np.int8)
    sums = np.empty(c, np.int32)
    _c("er_pack_s8_dw_pairs")(_ptr(w, "int8_t *"), t, c, cp, _ptr(out[head:], "int8_t *"),
                              _ptr(sums, "int32_t *"))
    _qm_into(out[:head].view(np.int32), mult, shift, sums, bias, c, cp, input_offset)
    return out


def quantize_multipliers(real: np.ndarray) -> tuple:
    """TFLite's QuantizeMultiplier per value (finite, >= 0): (int32 multipliers, int32 shifts)."""
    real = np.ascontiguousarray(real, np.float64).reshape(-1)
    q = np.empty(real.size, np.int32)
    s = np.empty(real.size, np.int32)
    _c("er_quantize_multipliers")(_ptr(real, "double *"), real.size, _ptr(q, "int32_t *"), _ptr(s, "int32_t *"))
    return q, s
