"""The single-step recurrent ops RNN and LSTM (the full kernel, not the sequence ops): one time step of
UNIDIRECTIONAL_SEQUENCE_RNN / _LSTM on a [batch, features] input, so they run the same C kernels (f32_rnn,
h_rnn, f32_lstm, h_lstm in kernels/ref/lstm.c) with T = 1, time-major. float32 and hybrid (int8 weights);
the state inputs are variable tensors kept across invokes. LSTM with an int8 input is the full-integer
8x8_16 form (runtime/ops/lstm_int.py). LSTM's BASIC kernel type is refused by name."""
from __future__ import annotations

import dataclasses

from edgerun.runtime.ops import lstm as seq
from edgerun.runtime.ops import lstm_int, register

F32, I8 = seq.F32, seq.I8


def _step_input(ctx):
    """Input 0 [batch, features] as the one-step time-major sequence [1, batch, features]; (view, batch)."""
    x = ctx.inputs[0]
    if x.type != F32:
        if x.type in (I8, 7):
            raise ctx.unsupported(f"{x.type_name} input '{x.name}': full-integer recurrent ops are not supported "
                                  f"(float32 and hybrid int8-weight models are)")
        raise ctx.dtype_error(f"input '{x.name}' is {x.type_name}, expected FLOAT32")
    if len(x.shape) != 2:
        raise ctx.shape_error(f"input '{x.name}' must be 2-D [batch, features], has shape {x.shape}")
    return dataclasses.replace(x, shape=(1, x.shape[0], x.shape[1])), x.shape[0]


@register("RNN")
def rnn(ctx):
    ctx.check_inputs(5, 5)
    x, B = _step_input(ctx)
    d, kind = seq._rnn_direction(ctx, (0, 1, 2, 3, 4), B=B, x=x)
    ctx.set_output(0, (B, d["n_units"]), type=F32)
    d.update(out=0, out_offset=0, out_row=d["n_units"], forward=1)
    return seq._rnn_kernel(ctx, [d], [kind], B=B, T=1, time_major=True)


@register("LSTM")
def lstm(ctx):
    if ctx.opt("kernelType", 0) != 0:
        raise ctx.unsupported("kernel type BASIC (the 5-input LSTM cell) is not supported; FULL is")
    seq._check_count(ctx, (20, 24))
    x = ctx.inputs[0]
    if x.type == I8:  # full-integer (8x8_16): runtime/ops/lstm_int.py
        if len(x.shape) != 2:
            raise ctx.shape_error(f"input '{x.name}' must be 2-D [batch, features], has shape {x.shape}")
        return lstm_int.integer_lstm(ctx, seq.SLOT_NAMES, B=x.shape[0], T=1, time_major=True,
                                     out_shape=lambda O: (x.shape[0], O))
    x, B = _step_input(ctx)
    d, kind = seq._lstm_direction(ctx, list(range(24)), B=B, T=1, x=x, diagonal=False)
    ctx.set_output(0, (B, d["n_output"]), type=F32)
    d.update(out=0, out_offset=0, out_row=d["n_output"], forward=1)
    return seq._lstm_kernel(ctx, [d], [kind], B=B, T=1, time_major=True)
