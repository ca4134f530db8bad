"""NonMaxSuppression (ONNX: [num_selected, 3] rows of (batch, class, box) over every batch and class) on TFLite's
single-class NON_MAX_SUPPRESSION_V4, one per (batch, class), made exact against ONNX's definition: TFLite
suppresses at IoU >= threshold and ONNX at >, so the threshold is moved to the next float; TFLite's candidate
heap takes equal scores in no defined order and onnxruntime lower index first, so each class's boxes are sorted
first (TOPK_V2) and NMS runs on distinct stand-in scores. The selections of all classes are gathered by WHERE over
their valid counts: a run-time-sized output."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import _ident

_F32, _I32 = np.dtype(np.float32), np.dtype(np.int32)


class DetectionMixin:
    """_op_NonMaxSuppression."""

    def _op_NonMaxSuppression(self, node, ins, at):
        boxes, scores = ins[0], ins[1]
        extra = list(ins[2:]) + [None] * (5 - len(ins))
        max_v, iou_v, score_v = extra[0], extra[1], extra[2]
        self._static_only(boxes, "boxes")
        self._static_only(scores, "scores")
        if boxes.dtype != _F32 or scores.dtype != _F32:
            raise self.err("NonMaxSuppression of non-float32 boxes/scores is not supported")
        bn, n, four = boxes.shape
        sb, c, sn = scores.shape
        if four != 4 or sb != bn or sn != n:
            raise self.err(f"boxes {boxes.shape} and scores {scores.shape} do not match")
        m_rt = None  # a run-time max_output_boxes_per_class: NMS selects greedily, so the first m of n are the same
        if max_v is None:
            m = 0
        elif max_v.const is not None:
            m = int(np.asarray(max_v.const).reshape(-1)[0])
        else:
            m, m_rt = n, self._runtime_scalar(max_v, np.int32, "max_output_boxes_per_class")
        m = max(0, min(m, n))
        if m == 0:  # nothing selected: the same ops with none kept (an empty [0, 3] at run time)
            m, m_rt = n, self._scalar(0, np.int32, "max_output_boxes_per_class")
        # ONNX suppresses a box whose IoU with a selected one is > threshold; TFLite at >= threshold: the next
        # float up (at run time: the bits + 1 of a non-negative float32)
        if iou_v is None or iou_v.const is not None:
            iou = 0.0 if iou_v is None else float(np.asarray(iou_v.const).reshape(-1)[0])
            if not 0.0 <= iou <= 1.0:
                raise self.err(f"iou_threshold {iou} is outside [0, 1]")
            iou_t = self._scalar(np.nextafter(np.float32(iou), np.float32(np.inf)), np.float32, "iou_threshold")
        else:
            if iou_v.dtype != _F32:
                raise self.err(f"iou_threshold of type {iou_v.dtype} is not supported (float32)")
            t = self._runtime_scalar(iou_v, np.float32, "iou_threshold")
            t = self.em.op1("MAXIMUM", [t, self._scalar(0.0, np.float32, "zero")], ())
            t = self.em.op1("ADD", [t, self._scalar(0.0, np.float32, "zero")], (), {"fusedActivationFunction": 0})
            bits = self.em.op1("BITCAST", [t], (), dtype=np.int32)  # (+ 0: -0.0 -> +0.0 before the bits)
            bits = self.em.op1("ADD", [bits, self._scalar(1, np.int32, "one")], (), {"fusedActivationFunction": 0})
            iou_t = self.em.op1("BITCAST", [bits], (), dtype=np.float32)
        if score_v is None:
            st = None
        elif score_v.const is not None:
            st = self._scalar(np.asarray(score_v.const, np.float32).reshape(()), np.float32, "score_threshold")
        else:
            st = self._runtime_scalar(score_v, np.float32, "score_threshold")
        bt = self._plain(boxes)
        if int(at.get("center_point_box", 0)) == 1:  # [xc, yc, w, h] -> [y1, x1, y2, x2], as onnxruntime computes
            half = self.em.op1("MUL", [bt, self.cconst(np.array([0, 0, 0.5, 0.5], np.float32))], bt.shape,
                               {"fusedActivationFunction": 0})
            ctr = self.em.op1("GATHER", [bt, self.cconst(np.array([1, 0, 1, 0], np.int32))], bt.shape,
                              {"axis": 2, "batchDims": 0})
            hw = self.em.op1("GATHER", [half, self.cconst(np.array([3, 2, 3, 2], np.int32))], bt.shape,
                             {"axis": 2, "batchDims": 0})
            lo = self.em.op1("SUB", [ctr, hw], bt.shape, {"fusedActivationFunction": 0})
            hi = self.em.op1("ADD", [ctr, hw], bt.shape, {"fusedActivationFunction": 0})
            pick = self.cconst(np.array([[True, True, False, False]]), name="corner")
            bt = self.em.op1("SELECT_V2", [pick, lo, hi], bt.shape, dtype=_F32)
        b_list = self.em.op("UNPACK", [bt], [[n, 4]] * bn, {"num": bn, "axis": 0}) if bn > 1 else \
            [self.reshape(bt, [n, 4])]
        st2 = self.reshape(self._plain(scores), [bn * c, n])
        s_list = self.em.op("UNPACK", [st2], [[n]] * (bn * c), {"num": bn * c, "axis": 0}) if bn * c > 1 else \
            [self.reshape(st2, [n])]
        mt = self._scalar(m, np.int32, "max_output_size")
        iota = self.cconst(np.arange(m, dtype=np.int32), name="iota")
        # onnxruntime takes equal scores lower index first; TFLite's heap in no defined order. So each class's
        # boxes are first sorted by score (TOPK_V2: ties lower index first) and NMS runs on the sorted boxes with
        # distinct stand-in scores n, n-1, ..., 1 (-1: at or below the score threshold, never a candidate)
        rank_scores = self.cconst(np.arange(n, 0, -1).astype(np.float32), name="rank_scores")
        zero_t = self._scalar(0.0, np.float32, "zero")
        n_t = self._scalar(n, np.int32, "n")
        take = {"axis": 0, "batchDims": 0}
        masks, rows = [], []
        for bi in range(bn):
            for ci in range(c):
                top, perm = self.em.op("TOPK_V2", [s_list[bi * c + ci], n_t], [[n], [n]], dtypes=[_F32, _I32])
                syn = rank_scores
                if st is not None:
                    keep = self.em.op1("GREATER", [top, st], [n], dtype=np.bool_)
                    syn = self.em.op1("SELECT_V2", [keep, rank_scores, self._scalar(-1.0, np.float32, "minus_one")],
                                      [n], dtype=_F32)
                sorted_boxes = self.em.op1("GATHER", [b_list[bi], perm], [n, 4], take, dtype=_F32)
                sel, valid = self.em.op("NON_MAX_SUPPRESSION_V4", [sorted_boxes, syn, mt, iou_t, zero_t],
                                        [[m], []], dtypes=[_I32, _I32])
                sel = self.em.op1("GATHER", [perm, sel], [m], take, dtype=_I32)  # sorted position -> box index
                if m_rt is not None:
                    valid = self.em.op1("MINIMUM", [valid, m_rt], [])
                masks.append(self.em.op1("LESS", [iota, valid], [m], dtype=np.bool_))
                bc = self.cconst(np.tile(np.array([[bi, ci]], np.int32), (m, 1)), name="batch_class")
                rows.append(self.em.concat([bc, self.reshape(sel, [m, 1])], 1))
        mask = masks[0] if len(masks) == 1 else self.em.concat(masks, 0)
        table = rows[0] if len(rows) == 1 else self.em.concat(rows, 0)
        where = self.em.op1("WHERE", [mask], [-1, 1], dtype=np.int64)
        y = self.em.op1("GATHER_ND", [table, where], [-1, 3], dtype=_I32)
        return self.new(self._cast_t(y, np.int64), _ident(2), (1, 3), {0})
