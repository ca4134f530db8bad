"""Normalization: BatchNormalization (folded into the weights of the Conv/ConvTranspose/Gemm before it when
that is its only use, else MUL + ADD), InstanceNormalization, LayerNormalization."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import Val
from edgerun.converter.ir import Tensor


class NormalizationMixin:
    """_op_<Type> methods of normalization ops."""

    # -- normalization -------------------------------------------------------------------------------------
    def _op_BatchNormalization(self, node, ins, at):
        if int(at.get("training_mode", 0)):
            raise self.err("training_mode=1 is not supported")
        for o in node.output[1:]:
            if o and self.uses.get(o):
                raise self.err("the running statistics outputs are not supported")
        x = ins[0]
        scale, bias, mean, var = [np.asarray(self.const_of(v, w), np.float64)
                                  for v, w in zip(ins[1:5], ("scale", "B", "mean", "var"))]
        eps = float(at.get("epsilon", 1e-5))
        s = scale / np.sqrt(var + eps)
        sh = bias - mean * s
        if x.fold is not None and self._sole_use(x, node.input[0]):
            self._fold_scale(x, s, sh)
            x.fold = None
            return x
        cshape = (x.shape[1],) + (1,) * (x.rank - 2)
        y = self.mul(x, s.astype(np.float32).reshape(cshape))
        return self.add(y, sh.astype(np.float32).reshape(cshape))

    def _sole_use(self, v: Val, name: str) -> bool:
        """This node is the only reader of v (under its own name and the name it is read by here)."""
        return all(self.uses.get(n, 0) == 1 and n not in self.outputs for n in {v.name, name})

    def _fold_scale(self, x: Val, s, sh):
        for op, wi, bi, ax, start, count in x.fold:
            w = op.inputs[wi]
            wd = np.asarray(w.data, np.float64)
            shape = [1] * wd.ndim
            shape[ax] = count
            ss = s[start:start + count]
            op.inputs[wi] = Tensor(w.name, w.shape, np.float32, (wd * ss.reshape(shape)).astype(np.float32))
            while len(op.inputs) <= bi:
                op.inputs.append(None)
            b = op.inputs[bi]
            bd = np.zeros(count) if b is None else np.asarray(b.data, np.float64).reshape(-1)
            nb = (bd * ss + sh[start:start + count]).astype(np.float32)
            op.inputs[bi] = Tensor(b.name if b is not None else w.name + "_bias", (count,), np.float32, nb)

    def _op_InstanceNormalization(self, node, ins, at):
        x = ins[0]
        scale = np.asarray(self.const_of(ins[1], "scale"), np.float32)
        bias = np.asarray(self.const_of(ins[2], "B"), np.float32)
        eps = float(at.get("epsilon", 1e-5))
        axes = list(range(2, x.rank))
        cshape = (x.shape[1],) + (1,) * (x.rank - 2)
        y = self._normalize(x, axes, eps)
        return self.add(self.mul(y, scale.reshape(cshape)), bias.reshape(cshape))

    def _normalize(self, x, axes, eps, want_stats=False):
        mean = self.reduce("MEAN", x, axes, True)
        d = self.sub(x, mean)
        var = self.reduce("MEAN", self.ew("MUL", [d, d], {"fusedActivationFunction": 0}), axes, True)
        inv = self.unary("RSQRT", self.add(var, np.float32(eps)))
        y = self.mul(d, inv)
        return (y, mean, inv) if want_stats else y

    def _op_LayerNormalization(self, node, ins, at):
        x = ins[0]
        axis = int(at.get("axis", -1)) % x.rank
        eps = float(at.get("epsilon", 1e-5))
        y, mean, inv = self._normalize(x, list(range(axis, x.rank)), eps, want_stats=True)
        if len(ins) > 1 and ins[1] is not None:
            y = self.mul(y, ins[1])
        if len(ins) > 2 and ins[2] is not None:
            y = self.add(y, ins[2])
        return [y, mean, inv]
