"""Constant folding at conversion time: a node whose inputs are all constant (Constant, shape chains,
ConstantOfShape, Range, ...) is evaluated with onnx's reference evaluator, and the values computed from a
dynamic dimension are traced (Val.alt) so a Reshape can keep that entry dynamic. Nodes in _NO_FOLD
(random ops, control flow) are always lowered."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import _np_float

_NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
            "Bernoulli", "If", "Loop", "Scan"}


class FoldingMixin:
    """_evaluator / _fold: run one ONNX node on constant inputs with onnx.reference."""

    def _evaluator(self, node, ins):
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        inputs = []
        for n, v in zip(node.input, ins):
            if n and n not in [i.name for i in inputs]:
                elem = helper.np_dtype_to_tensor_dtype(v.const.dtype)
                inputs.append(helper.make_tensor_value_info(n, elem, None))
        outputs = [helper.make_value_info(o, helper.TypeProto()) for o in node.output if o]
        g = helper.make_graph([node], "fold", inputs, outputs)
        m = helper.make_model(g, opset_imports=list(self.model.opset_import),
                              ir_version=self.model.ir_version)
        return ReferenceEvaluator(m)

    def _fold(self, node, ins):
        feeds = {n: v.const for n, v in zip(node.input, ins) if n}
        try:
            ev = self._evaluator(node, ins)
            res = ev.run(None, feeds)
        except Exception:  # noqa: BLE001 - the op is lowered instead
            return None
        outs = [self.cval(np.asarray(r)) for r in res]
        if any(v is not None and v.alt is not None for v in ins):
            alt_feeds = {n: (v.alt if v.alt is not None else v.const) for n, v in zip(node.input, ins) if n}
            try:
                alts = ev.run(None, alt_feeds)
            except Exception:  # noqa: BLE001 - no dependency tracking through this node
                alts = [None] * len(outs)
            for v, a in zip(outs, alts):
                if a is not None and np.shape(a) == v.shape:
                    v.alt = _np_float(np.asarray(a)).astype(v.dtype)
        return outs
