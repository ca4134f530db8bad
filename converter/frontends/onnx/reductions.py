"""Reductions: ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSumExp/LogSum, ArgMax, ArgMin (axes
remapped into the input's layout)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import Cols, Val, _drop_axes_perm, _ident

_REDUCE = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "REDUCE_MAX", "ReduceMin": "REDUCE_MIN",
           "ReduceProd": "REDUCE_PROD"}


class ReductionsMixin:
    """reduce() and the _op_Reduce*/_op_Arg* methods."""

    def reduce(self, type: str, x: Val, axes, keep: bool) -> Val:
        r = x.rank
        axes = sorted({int(a) % r for a in axes}) if r else []
        static = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep else \
            tuple(d for i, d in enumerate(x.shape) if i not in axes)
        lay = x.primary
        if isinstance(lay, Cols) and 1 not in axes:
            lay = x.perm_layout() or _ident(r)
        t = self.ir(x, lay)
        if isinstance(lay, Cols):
            ir_axes = axes
            out_lay = _ident(len(static))
        else:
            ir_axes = [lay.index(a) for a in axes]
            out_lay = lay if keep else _drop_axes_perm(lay, axes)
        if keep:
            dyn = {a for a in x.dyn if a not in axes}
        else:
            dyn = {a - sum(1 for b in axes if b < a) for a in x.dyn if a not in axes}
        if not axes:
            return x
        y = self.em.reduce(type, t, ir_axes, keep)
        return self.new(y, out_lay, static, dyn)

    # -- reductions ----------------------------------------------------------------------------------------
    def _reduce_axes(self, node, ins, at):
        x = ins[0]
        axes = self._axes_input(node, ins, at)
        if axes is None or (len(axes) == 0):
            if int(at.get("noop_with_empty_axes", 0)) and axes is not None or \
                    (axes is None and int(at.get("noop_with_empty_axes", 0))):
                return None
            axes = list(range(x.rank))
        return [a % x.rank for a in axes]

    def _reduce_op(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        if axes is None:
            return ins[0]
        keep = bool(int(at.get("keepdims", 1)))
        type = _REDUCE[node.op_type]
        if ins[0].dtype == np.bool_:
            type = {"REDUCE_MAX": "REDUCE_ANY", "REDUCE_MIN": "REDUCE_ALL"}.get(type)
            if type is None:
                raise self.err("this reduction of bool values is not supported")
        return self.reduce(type, ins[0], axes, keep)

    _op_ReduceMean = _op_ReduceSum = _op_ReduceMax = _op_ReduceMin = _op_ReduceProd = _reduce_op

    def _op_ReduceSumSquare(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        x = ins[0]
        sq = self.ew("MUL", [x, x], {"fusedActivationFunction": 0})
        return sq if axes is None else self.reduce("SUM", sq, axes, bool(int(at.get("keepdims", 1))))

    def _op_ReduceL2(self, node, ins, at):
        return self.unary("SQRT", self._op_ReduceSumSquare(node, ins, at))

    def _op_ReduceL1(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        a = self.unary("ABS", ins[0])
        return a if axes is None else self.reduce("SUM", a, axes, bool(int(at.get("keepdims", 1))))

    def _op_ReduceLogSumExp(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        x = ins[0]
        if axes is None:
            return x
        keep = bool(int(at.get("keepdims", 1)))
        m = self.reduce("REDUCE_MAX", x, axes, True)
        s = self.reduce("SUM", self.unary("EXP", self.sub(x, m)), axes, keep)
        mm = m if keep else self.reduce("REDUCE_MAX", x, axes, False)
        return self.add(self.unary("LOG", s), mm)

    def _op_ReduceLogSum(self, node, ins, at):
        axes = self._reduce_axes(node, ins, at)
        x = ins[0]
        s = x if axes is None else self.reduce("SUM", x, axes, bool(int(at.get("keepdims", 1))))
        return self.unary("LOG", s)

    def _arg(self, node, ins, at, type):
        x = ins[0]
        last = bool(int(at.get("select_last_index", 0)))
        axis = int(at.get("axis", 0)) % x.rank
        keep = bool(int(at.get("keepdims", 1)))
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        ia = lay.index(axis)
        shape = [d for i, d in enumerate(t.shape) if i != ia]
        ax = self.cconst(np.array([ia], np.int32), name="axis")
        if last:  # the first extremum of the reversed axis, counted from the end
            t = self.em.op1("REVERSE_V2", [t, ax], t.shape)
        y = self.em.op1(type, [t, ax], shape, {"outputType": 4}, dtype=np.int64)
        if last:
            y = self.em.op1("SUB", [self.cconst(np.array([x.shape[axis] - 1], np.int64), name="last"), y],
                            shape, {"fusedActivationFunction": 0}, dtype=np.int64)
        static = [d for i, d in enumerate(x.shape) if i != axis]
        dyn = {a - (a > axis) for a in x.dyn if a != axis}
        if not keep:
            return self.new(y, _drop_axes_perm(lay, {axis}), static, dyn)
        kshape = list(t.shape)
        kshape[ia] = 1
        y = self.reshape(y, kshape)
        st = list(x.shape)
        st[axis] = 1
        return self.new(y, lay, st, {a for a in x.dyn if a != axis})

    def _op_ArgMax(self, node, ins, at):
        return self._arg(node, ins, at, "ARG_MAX")

    def _op_ArgMin(self, node, ins, at):
        return self._arg(node, ins, at, "ARG_MIN")
