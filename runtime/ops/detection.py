"""Detection post-processing ops: NON_MAX_SUPPRESSION_V4 / V5 (float32, the only type LiteRT's builtin
kernel takes) and the TFLite_Detection_PostProcess custom op. Kernels: kernels/ref/detection.c."""
from __future__ import annotations

import struct

from edgerun.runtime.ops import Kernel, register, register_custom

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


U8 = 3
_DETPP_INT = ("max_detections", "max_classes_per_detection", "num_classes")
_DETPP_FLOAT = ("nms_score_threshold", "nms_iou_threshold", "y_scale", "x_scale", "h_scale", "w_scale")


def _flex_options(ctx) -> dict:
    from flatbuffers import flexbuffers

    raw = bytes(ctx.custom_options or b"")
    try:
        opts = flexbuffers.Loads(raw) if raw else {}
    except (ValueError, IndexError, KeyError, TypeError, struct.error, UnicodeDecodeError) as exc:  # damaged
        raise ctx.unsupported(f"custom options are not a readable flexbuffer map ({exc})") from None
    if not isinstance(opts, dict):
        raise ctx.unsupported(f"custom options must be a flexbuffer map, got {type(opts).__name__}")
    return opts


@register_custom("TFLite_Detection_PostProcess")
def detection_postprocess(ctx):
    """SSD post-processing: decode box encodings against anchors, then multi-class NMS (regular: per class;
    fast: on each box's best classes). float32 inputs, or uint8 quantized ones (LiteRT's two types)."""
    ctx.check_inputs(3, 3)
    if len(ctx.outputs) != 4:
        raise ctx.unsupported(f"expected 4 outputs (boxes, classes, scores, num_detections), got {len(ctx.outputs)}")
    enc, cls, anc = ctx.inputs
    kind = enc.type
    if kind not in (F32, U8):
        raise ctx.unsupported(f"box encodings '{enc.name}' are {enc.type_name}; LiteRT's kernel and edgerun take "
                              f"FLOAT32 or UINT8")
    for i, t in enumerate(ctx.inputs):
        if t.type != kind:
            raise ctx.dtype_error(f"input {i} '{t.name}' is {t.type_name}, expected {enc.type_name} as the box "
                                  f"encodings")
        if kind == U8 and t.scale.size != 1:
            raise ctx.unsupported(f"input {i} '{t.name}' needs per-tensor quantization")
    if len(enc.shape) != 3 or len(cls.shape) != 3 or len(anc.shape) != 2:
        raise ctx.shape_error(f"expected box encodings [1, N, >=4], class scores [1, N, C], anchors [N, 4]; got "
                              f"{enc.shape}, {cls.shape}, {anc.shape}")
    n, c = enc.shape[1], cls.shape[2]
    if enc.shape[0] != 1 or cls.shape[0] != 1 or enc.shape[2] < 4 or cls.shape[1] != n or anc.shape != (n, 4):
        raise ctx.shape_error(f"expected box encodings [1, N, >=4], class scores [1, N, C], anchors [N, 4] with "
                              f"batch 1; got {enc.shape}, {cls.shape}, {anc.shape}")
    opts = _flex_options(ctx)
    vals = {}
    for key in _DETPP_INT + ("detections_per_class",):
        v = opts.get(key, 100 if key == "detections_per_class" else 0)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ctx.unsupported(f"option {key} is {v!r}, expected an integer")
        vals[key] = int(v)
    for key in _DETPP_FLOAT:
        v = opts.get(key, 0.0)
        if not isinstance(v, (int, float)):
            raise ctx.unsupported(f"option {key} is {v!r}, expected a number")
        vals[key] = float(v)
    regular = bool(opts.get("use_regular_nms", False))
    m, mc, k = vals["max_detections"], vals["max_classes_per_detection"], vals["num_classes"]
    if m < 0 or mc < 1 or k < 1 or vals["detections_per_class"] < 1:
        raise ctx.unsupported(f"options max_detections {m}, max_classes_per_detection {mc}, num_classes {k}, "
                              f"detections_per_class {vals['detections_per_class']}: need >= 0, >= 1, >= 1, >= 1")
    if not (c >= k and c - k <= 1):
        raise ctx.shape_error(f"class scores have {c} columns for num_classes {k} (expected {k} or {k + 1} with a "
                              f"background class)")
    if not 0.0 < vals["nms_iou_threshold"] <= 1.0:
        raise ctx.unsupported(f"option nms_iou_threshold is {vals['nms_iou_threshold']}, must be in (0, 1]")
    d = m * mc
    for i, shape in enumerate(((1, d, 4), (1, d), (1, d), (1,))):
        ctx.set_output(i, shape, F32)
    p = ctx.new("er_detpp_params *", {
        "max_detections": m, "max_classes_per_detection": mc, "detections_per_class": vals["detections_per_class"],
        "num_classes": k, "regular": int(regular), "score_threshold": vals["nms_score_threshold"],
        "iou_threshold": vals["nms_iou_threshold"], "y_scale": vals["y_scale"], "x_scale": vals["x_scale"],
        "h_scale": vals["h_scale"], "w_scale": vals["w_scale"]})
    words = 16 * n + n * c + n * k + 5 * m  # the scratch layout of kernels/ref/detection.c
    name = "f32_detection_postprocess" if kind == F32 else "u8_detection_postprocess"
    return Kernel(name, p, scratch_bytes=ctx.reserve(4 * words, "scratch"))
