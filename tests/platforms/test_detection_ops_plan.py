"""The detection kernels (kernels/ref/detection.c) in a plan file run by the C library (er_run on this host)
give the desktop interpreter's outputs: NON_MAX_SUPPRESSION_V5 (scratch heap) and TFLite_Detection_PostProcess
(flexbuffer options turned into a params block, float and uint8 kernels)."""
import numpy as np
from edgerun.schema.builder import ModelBuilder
from flatbuffers import flexbuffers
from test_clib import check, host_lib  # noqa: F401  (the session fixture)

F32, I32, U8 = np.float32, np.int32, np.uint8
N = 20


def _flex(**kw) -> bytes:
    b = flexbuffers.Builder()
    with b.Map():
        for k, v in kw.items():
            (b.Bool if isinstance(v, bool) else b.Int if isinstance(v, int) else b.Float)(k, v)
    return bytes(b.Finish())


def _model():
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    boxes, scores = b.tensor("boxes", (N, 4), F32), b.tensor("scores", (N,), F32)
    enc, cls = b.tensor("enc", (1, N, 4), F32), b.tensor("cls", (1, N, 5), F32)
    enc8 = b.tensor("enc8", (1, N, 4), U8, quant=(0.05, 128))
    cls8 = b.tensor("cls8", (1, N, 5), U8, quant=(1 / 255, 0))
    anchors = np.concatenate([rng.uniform(0.1, 0.9, (N, 2)), rng.uniform(0.1, 0.4, (N, 2))], 1).astype(F32)
    outs = [b.tensor("sel", (6,), I32), b.tensor("sel_scores", (6,), F32), b.tensor("valid", (), I32)]
    b.op("NON_MAX_SUPPRESSION_V5", [boxes, scores, b.const("max", np.array(6, I32)),
                                    b.const("iou", np.array(0.4, F32)), b.const("thr", np.array(0.1, F32)),
                                    b.const("sigma", np.array(0.5, F32))], outs)
    opts = {"y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0, "nms_score_threshold": 0.3,
            "nms_iou_threshold": 0.5, "num_classes": 4, "max_detections": 5, "max_classes_per_detection": 1}
    for k, (e, c, a, regular) in enumerate(((enc, cls, b.const("anchors", anchors), False),
                                            (enc8, cls8, b.const("anchors8", np.round(anchors * 255).astype(U8),
                                                                 quant=(1 / 255, 0)), True))):
        ys = [b.tensor(f"det{k}_boxes", (1, 5, 4), F32), b.tensor(f"det{k}_classes", (1, 5), F32),
              b.tensor(f"det{k}_scores", (1, 5), F32), b.tensor(f"det{k}_num", (1,), F32)]
        b.op("CUSTOM", [e, c, a], ys, custom_code="TFLite_Detection_PostProcess",
             custom_options=_flex(use_regular_nms=regular, **opts))
        outs += ys
    b.inputs([boxes, scores, enc, cls, enc8, cls8])
    b.outputs(outs)
    return b.finish()


def _steps():
    rng = np.random.default_rng(1)
    steps = []
    for _ in range(2):
        c, s = rng.uniform(0, 1, (N, 2)), rng.uniform(0.05, 0.4, (N, 2))
        steps.append([np.concatenate([c - s / 2, c + s / 2], 1).astype(F32), rng.uniform(0, 1, N).astype(F32),
                      rng.normal(0, 1, (1, N, 4)).astype(F32), rng.uniform(0, 1, (1, N, 5)).astype(F32),
                      rng.integers(0, 256, (1, N, 4)).astype(U8), rng.integers(0, 256, (1, N, 5)).astype(U8)])
    return steps


def test_detection_ops_plan_matches_desktop(host_lib, tmp_path):  # noqa: F811
    check(host_lib, _model(), "host", tmp_path, steps=_steps())
    check(host_lib, _model(), "linux-aarch64", tmp_path, steps=_steps(), isa="ref")
