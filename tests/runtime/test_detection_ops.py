"""Detection ops (runtime/ops/detection.py, kernels/ref/detection.c) against LiteRT's builtin kernels:
NON_MAX_SUPPRESSION_V4 / V5 (float32, the only type LiteRT 2.3 takes): selected indices, scores and counts
identical, tied scores included (the candidate heap follows the C++ library's order); the
TFLite_Detection_PostProcess custom op (float32 and uint8, fast and regular NMS): boxes, classes, scores and
counts identical on the slots LiteRT writes."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, edgerun_run, litert_run, tf_convert_function

import edgerun
from edgerun.errors import UnsupportedOpError


def _boxes(rng, n, flip=False):
    c, s = rng.uniform(0, 1, (n, 2)), rng.uniform(0.05, 0.4, (n, 2))
    boxes = np.concatenate([c - s / 2, c + s / 2], 1).astype(np.float32)
    return boxes[:, [2, 3, 0, 1]].copy() if flip else boxes


def nms_model(v5, n=40, m=10, iou=0.4, score=0.1, sigma=0.5, box_type=np.float32):
    b = ModelBuilder()
    bx, sc = b.tensor("boxes", (n, 4), box_type), b.tensor("scores", (n,), np.float32)
    ins = [bx, sc, b.const("max", np.array(m, np.int32)), b.const("iou", np.array(iou, np.float32)),
           b.const("score", np.array(score, np.float32))]
    if v5:
        ins.append(b.const("sigma", np.array(sigma, np.float32)))
    outs = [b.tensor("selected", (m,), np.int32)]
    if v5:
        outs.append(b.tensor("selected_scores", (m,), np.float32))
    outs.append(b.tensor("valid", (), np.int32))
    b.op("NON_MAX_SUPPRESSION_V5" if v5 else "NON_MAX_SUPPRESSION_V4", ins, outs)
    b.inputs([bx, sc])
    b.outputs(outs)
    return b.finish()


@pytest.mark.parametrize("v5", [False, True], ids=["v4", "v5"])
def test_nms_from_tensorflow(v5):
    import tensorflow as tf

    def fn(boxes, scores):
        kw = {"boxes": boxes, "scores": scores, "max_output_size": 10, "iou_threshold": 0.5,
              "score_threshold": 0.1, "pad_to_max_output_size": True}
        if v5:
            return tf.raw_ops.NonMaxSuppressionV5(soft_nms_sigma=0.5, **kw)
        return tf.raw_ops.NonMaxSuppressionV4(**kw)

    sig = [tf.TensorSpec((40, 4), tf.float32), tf.TensorSpec((40,), tf.float32)]
    model = tf_convert_function(fn, sig, key=f"nms-{'v5' if v5 else 'v4'}-40x10")
    rng = np.random.default_rng(0)
    ours, _ = assert_matches_litert(model, [_boxes(rng, 40), rng.uniform(0, 1, 40).astype(np.float32)], exact=True)
    assert int(ours[-1]) == 10


@pytest.mark.parametrize("v5,sigma", [(False, 0.0), (True, 0.0), (True, 0.5)], ids=["v4", "v5-hard", "v5-soft"])
def test_nms_cases(v5, sigma):
    """Random boxes (corners in either order), scores with many ties, thresholds that keep all or few."""
    rng = np.random.default_rng(1)
    models = {(iou, sc): nms_model(v5, 40, 10, iou, sc, sigma) for iou, sc in ((0.4, 0.1), (0.9, 0.0), (1.5, 0.5))}
    for trial in range(6):
        scores = rng.uniform(0, 1, 40).astype(np.float32)
        if trial % 2 == 0:
            scores = np.round(scores * 4) / 4  # ties: LiteRT's heap order decides
        boxes = _boxes(rng, 40, flip=trial % 3 == 1)
        for model in models.values():
            assert_matches_litert(model, [boxes, scores.astype(np.float32)], exact=True)


def test_nms_edges():
    rng = np.random.default_rng(2)
    boxes, scores = _boxes(rng, 8), rng.uniform(0, 1, 8).astype(np.float32)
    assert_matches_litert(nms_model(False, 8, 0), [boxes, scores], exact=True)  # max_output_size 0
    ours, _ = assert_matches_litert(nms_model(True, 8, 20), [boxes, scores], exact=True)  # fewer boxes than slots
    assert np.all(ours[0][int(ours[2]):] == 0) and np.all(ours[1][int(ours[2]):] == 0)
    empty = [np.zeros((0, 4), np.float32), np.zeros(0, np.float32)]
    assert_matches_litert(nms_model(False, 0, 3), empty, exact=True)  # no boxes


def test_nms_errors():
    model = nms_model(True, 8, 3, sigma=-1.0)
    with pytest.raises(RuntimeError, match="sigma"):
        litert_run(model, [np.zeros((8, 4), np.float32), np.zeros(8, np.float32)])
    with pytest.raises(UnsupportedOpError, match="NON_MAX_SUPPRESSION_V5.*soft_nms_sigma is -1.0"):
        edgerun.Interpreter(model_content=model).allocate_tensors()
    # LiteRT 2.3 takes float32 boxes only (its prepare fails on int8); so does edgerun, saying so
    with pytest.raises(UnsupportedOpError, match="NON_MAX_SUPPRESSION_V4.*'boxes' is INT8"):
        edgerun.Interpreter(model_content=nms_model(False, 8, 3, box_type=np.int8)).allocate_tensors()


# -- TFLite_Detection_PostProcess ----------------------------------------------------------------------------


def _flex(**kw) -> bytes:
    from flatbuffers import flexbuffers

    b = flexbuffers.Builder()
    with b.Map():
        for k, v in kw.items():
            if isinstance(v, bool):
                b.Bool(k, v)
            elif isinstance(v, int):
                b.Int(k, v)
            else:
                b.Float(k, v)
    return bytes(b.Finish())


N_ANCHORS = 30
DETPP = {"y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0, "nms_score_threshold": 0.3,
         "nms_iou_threshold": 0.5, "num_classes": 4, "max_detections": 6, "detections_per_class": 5}


def _anchors(rng, n=N_ANCHORS):
    return np.concatenate([rng.uniform(0.1, 0.9, (n, 2)), rng.uniform(0.1, 0.4, (n, 2))], 1).astype(np.float32)


def detpp_model(anchors, box_len=4, classes=5, dtype=np.float32, quant=(None, None, None), **options):
    n = anchors.shape[0]
    b = ModelBuilder()
    enc = b.tensor("box_encodings", (1, n, box_len), dtype, quant=quant[0])
    cls = b.tensor("class_predictions", (1, n, classes), dtype, quant=quant[1])
    anc = b.const("anchors", anchors, quant=quant[2])
    d = options["max_detections"] * options["max_classes_per_detection"]
    outs = [b.tensor("boxes", (1, d, 4), np.float32), b.tensor("classes", (1, d), np.float32),
            b.tensor("scores", (1, d), np.float32), b.tensor("num_detections", (1,), np.float32)]
    b.op("CUSTOM", [enc, cls, anc], outs, custom_code="TFLite_Detection_PostProcess", custom_options=_flex(**options))
    b.inputs([enc, cls])
    b.outputs(outs)
    return b.finish()


def _check_detpp(model, inputs, regular, per_detection):
    """Equal to LiteRT bit for bit on the slots LiteRT writes: regular NMS fills max_detections slots, fast NMS
    per_detection slots per detection; LiteRT leaves the rest of its outputs unwritten (edgerun zeros them)."""
    theirs, ours = litert_run(model, inputs), edgerun_run(model, inputs)
    assert [o.shape for o in ours] == [o.shape for o in theirs]
    n = int(theirs[3][0])
    assert ours[3][0] == n
    used = DETPP["max_detections"] if regular else n * per_detection
    for a, b in zip(ours[:3], theirs[:3]):
        assert np.array_equal(a[0, :used], b[0, :used]), f"{a[0, :used]} vs LiteRT {b[0, :used]}"
        assert not np.any(a[0, used:])
    return n


@pytest.mark.parametrize("regular", [False, True], ids=["fast", "regular"])
def test_detection_postprocess_float(regular):
    """Box encodings of 4 and 6 values, 1 and 3 classes per detection, random and tied scores."""
    rng = np.random.default_rng(3)
    anchors = _anchors(rng)
    for box_len, per in ((4, 1), (6, 3)):
        model = detpp_model(anchors, box_len, max_classes_per_detection=per, use_regular_nms=regular, **DETPP)
        for trial in range(3):
            enc = rng.normal(0, 1, (1, N_ANCHORS, box_len)).astype(np.float32)
            scores = rng.uniform(0, 1, (1, N_ANCHORS, 5))
            if trial == 1:
                scores = np.round(scores * 3) / 3  # ties: LiteRT's sort orders decide
            n = _check_detpp(model, [enc, scores.astype(np.float32)], regular, per)
            assert n > 0


@pytest.mark.parametrize("regular", [False, True], ids=["fast", "regular"])
def test_detection_postprocess_uint8(regular):
    rng = np.random.default_rng(4)
    anchors = np.clip(np.round(_anchors(rng) * 255), 0, 255).astype(np.uint8)
    quant = ((0.05, 128), (1 / 255, 0), (1 / 255, 0))
    model = detpp_model(anchors, 4, dtype=np.uint8, quant=quant, max_classes_per_detection=1,
                        use_regular_nms=regular, **DETPP)
    for _ in range(3):
        inputs = [rng.integers(0, 256, (1, N_ANCHORS, 4)).astype(np.uint8),
                  rng.integers(0, 256, (1, N_ANCHORS, 5)).astype(np.uint8)]  # uint8 scores tie often
        _check_detpp(model, inputs, regular, 1)


def test_detection_postprocess_errors():
    rng = np.random.default_rng(5)
    bad_iou = detpp_model(_anchors(rng), max_classes_per_detection=1, **dict(DETPP, nms_iou_threshold=0.0))
    with pytest.raises(UnsupportedOpError, match="TFLite_Detection_PostProcess.*nms_iou_threshold is 0.0"):
        edgerun.Interpreter(model_content=bad_iou).allocate_tensors()
    few = detpp_model(_anchors(rng), classes=7, max_classes_per_detection=1, **DETPP)  # 7 columns, 4 classes
    with pytest.raises(Exception, match="7 columns for num_classes 4"):
        edgerun.Interpreter(model_content=few).allocate_tensors()
