"""RFFT2D (float32 -> complex64, LiteRT's only types) and the audio custom ops AudioSpectrogram and Mfcc
(float32), as LiteRT's builtin resolver registers them. Kernels: kernels/ref/fft.c."""
from __future__ import annotations

from edgerun.runtime.ops import Kernel, register, register_custom
from edgerun.runtime.ops.detection import _flex_options

F32, I32, C64 = 0, 2, 8


@register("RFFT2D")
def rfft2d(ctx):
    ctx.check_inputs(2, 2)
    x, fl = ctx.inputs
    if x.type != F32:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; LiteRT's kernel and edgerun take FLOAT32 only")
    if len(x.shape) < 2:
        raise ctx.shape_error(f"input '{x.name}' must have rank >= 2, has shape {x.shape}")
    if fl.type != I32 or fl.shape != (2,):
        raise ctx.shape_error(f"fft_length '{fl.name}' must be INT32 of shape (2,), is {fl.type_name} {fl.shape}")
    h, w = (int(v) for v in ctx.require_const(1, "(fft_length)").reshape(-1))
    for v in (h, w):
        if v < 1 or v & (v - 1):
            raise ctx.unsupported(f"fft_length {[h, w]}: each must be a power of two")
    if w < 2:
        raise ctx.unsupported(f"fft_length {[h, w]}: a width of 1 is not supported")
    outer = 1
    for d in x.shape[:-2]:
        outer *= d
    ctx.set_output(0, tuple(x.shape[:-2]) + (h, w // 2 + 1), C64)
    p = ctx.new("er_rfft2d_params *", {"outer": outer, "in_h": x.shape[-2], "in_w": x.shape[-1], "fft_h": h,
                                        "fft_w": w})
    return Kernel("f32_rfft2d", p, scratch_bytes=ctx.reserve(16 * (h * w + max(h, w)), "scratch"))


# -- the audio custom ops LiteRT's builtin resolver registers (options: a flexbuffer map) -------------------


def _int_option(ctx, opts, key, default=None):
    v = opts.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
        raise ctx.unsupported(f"option {key} is {v!r}, expected an integer")
    return int(v)


@register_custom("AudioSpectrogram")
def audio_spectrogram(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    if x.type != F32 or len(x.shape) != 2:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name} {x.shape}; expected FLOAT32 [samples, channels]")
    opts = _flex_options(ctx)
    window, stride = _int_option(ctx, opts, "window_size", 0), _int_option(ctx, opts, "stride", 0)
    if window < 2 or stride < 1:
        raise ctx.unsupported(f"options window_size {window} (must be >= 2) and stride {stride} (>= 1)")
    n = 1
    while n < window:
        n *= 2
    samples, channels = x.shape
    frames = 0 if samples < window else 1 + (samples - window) // stride
    ctx.set_output(0, (channels, frames, n // 2 + 1), F32)
    p = ctx.new("er_spectrogram_params *", {
        "samples": samples, "channels": channels, "frames": frames, "window": window, "stride": stride,
        "fft_len": n, "magnitude_squared": int(bool(opts.get("magnitude_squared", False)))})
    return Kernel("f32_spectrogram", p, scratch_bytes=ctx.reserve(8 * (4 * n + window), "scratch"))


@register_custom("Mfcc")
def mfcc(ctx):
    ctx.check_inputs(2, 2)
    spec, rate = ctx.inputs
    if spec.type != F32 or len(spec.shape) != 3:
        raise ctx.unsupported(f"spectrogram '{spec.name}' is {spec.type_name} {spec.shape}; expected FLOAT32 "
                              f"[channels, frames, bins]")
    if rate.type != I32 or rate.size != 1:
        raise ctx.unsupported(f"sample_rate '{rate.name}' is {rate.type_name} {rate.shape}; expected an INT32 scalar")
    opts = _flex_options(ctx)
    # a missing option reads as 0, as in LiteRT's flexbuffer parsing (not TensorFlow's op defaults)
    nch = _int_option(ctx, opts, "filterbank_channel_count", 0)
    ndct = _int_option(ctx, opts, "dct_coefficient_count", 0)
    upper, lower = opts.get("upper_frequency_limit", 0.0), opts.get("lower_frequency_limit", 0.0)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (upper, lower)):
        raise ctx.unsupported(f"options upper/lower_frequency_limit {upper!r}, {lower!r} must be numbers")
    if nch < 1 or ndct < 0 or ndct > nch or not 0 <= lower < upper:
        raise ctx.unsupported(f"options filterbank_channel_count {nch} (>= 1), dct_coefficient_count {ndct} "
                              f"(0..channels), "
                              f"lower/upper_frequency_limit {lower}, {upper} (0 <= lower < upper)")
    c, f, bins = spec.shape
    if bins < 2:
        raise ctx.shape_error(f"spectrogram '{spec.name}' has {bins} bins, needs at least 2")
    ctx.set_output(0, (c, f, ndct), F32)
    p = ctx.new("er_mfcc_params *", {"outer": c * f, "bins": bins, "lower_frequency_limit": float(lower),
                                      "upper_frequency_limit": float(upper), "filterbank_channels": nch,
                                      "dct_count": ndct})
    return Kernel("f32_mfcc", p, scratch_bytes=ctx.reserve(8 * (2 * bins + 2 * nch + 1), "scratch"))
