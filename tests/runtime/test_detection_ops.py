"""Detection ops (runtime/ops/detection.py, kernels/ref/detection.c) against LiteRT's builtin kernels:
NON_MAX_SUPPRESSION_V4 / V5 (float32, the only type LiteRT 2.3 takes): selected indices, scores and counts
identical, tied scores included (the candidate heap follows the C++ library's order)."""
import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, litert_run, tf_convert_function

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
