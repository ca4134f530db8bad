"""Detection post-processing ops: NON_MAX_SUPPRESSION_V4 / V5 (float32, the only type LiteRT's builtin
kernel takes) and the TFLite_Detection_PostProcess custom op. Kernels: kernels/ref/detection.c."""
from __future__ import annotations

from edgerun.runtime.ops import Kernel, register

F32, I32 = 0, 2
_CANDIDATE_BYTES = 12  # sizeof(er_nms_candidate)


def _scalar(ctx, i: int, what: str, type_: int):
    t = ctx.inputs[i]
    if t.type != type_:
        want = "FLOAT32" if type_ == F32 else "INT32"
        raise ctx.dtype_error(f"input {i} ({what}) '{t.name}' is {t.type_name}, expected {want}")
    if len(t.shape) != 0 and t.size != 1:
        raise ctx.shape_error(f"input {i} ({what}) '{t.name}' must be a scalar, has shape {t.shape}")


@register("NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5")
def non_max_suppression(ctx):
    soft = ctx.name == "NON_MAX_SUPPRESSION_V5"
    ctx.check_inputs(6 if soft else 5, 6 if soft else 5)
    if len(ctx.outputs) != (3 if soft else 2):
        raise ctx.unsupported(f"expected {3 if soft else 2} outputs, got {len(ctx.outputs)}")
    boxes, scores = ctx.inputs[0], ctx.inputs[1]
    for i, t in enumerate((boxes, scores)):
        if t.type != F32:
            raise ctx.unsupported(f"input {i} '{t.name}' is {t.type_name}; LiteRT's kernel and edgerun take "
                                  f"FLOAT32 only")
    if len(boxes.shape) != 2 or boxes.shape[1] != 4:
        raise ctx.shape_error(f"boxes '{boxes.name}' must be [num_boxes, 4], has shape {boxes.shape}")
    if len(scores.shape) != 1 or scores.shape[0] != boxes.shape[0]:
        raise ctx.shape_error(f"scores '{scores.name}' must be [{boxes.shape[0]}], has shape {scores.shape}")
    _scalar(ctx, 2, "max_output_size", I32)
    for i, what in ((3, "iou_threshold"), (4, "score_threshold"), (5, "soft_nms_sigma"))[:4 if soft else 2]:
        _scalar(ctx, i, what, F32)
    m = int(ctx.require_const(2, "(max_output_size)").reshape(-1)[0])
    if m < 0:
        raise ctx.unsupported(f"max_output_size is {m}, must be >= 0")
    if soft and ctx.inputs[5].is_const and not float(ctx.inputs[5].data.reshape(-1)[0]) >= 0.0:
        raise ctx.unsupported(f"soft_nms_sigma is {float(ctx.inputs[5].data.reshape(-1)[0])}, must be >= 0")
    ctx.set_output(0, (m,), I32)
    if soft:
        ctx.set_output(1, (m,), F32)
    ctx.set_output(len(ctx.outputs) - 1, (), I32)
    p = ctx.new("er_nms_params *", {"max_output": m, "soft": int(soft)})
    return Kernel("f32_nms", p, scratch_bytes=_CANDIDATE_BYTES * boxes.shape[0])
