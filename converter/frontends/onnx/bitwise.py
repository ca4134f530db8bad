"""Predicates and bitwise ops: IsNaN, IsInf, Xor, BitwiseAnd/Or/Xor/Not, BitShift - on TFLite's NOT_EQUAL/EQUAL,
BITWISE_XOR, STABLEHLO_AND, RIGHT_SHIFT and STABLEHLO_SHIFT_LEFT (LiteRT registers no integer OR: a | b is
(a ^ b) ^ (a & b)). Integer types: int8, uint8, int16, int32 (the types those kernels take)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import Val, _ident

_F32 = np.dtype(np.float32)
_SMALL_INTS = {np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.int32)}


class BitwiseMixin:
    """_op_<Type> methods of predicates and bitwise ops."""

    def _op_IsNaN(self, node, ins, at):
        x = ins[0]
        if x.dtype != _F32:
            raise self.err(f"IsNaN of {x.dtype} values is not supported (float32)")
        return self.ew("NOT_EQUAL", [x, x], dtype=np.bool_)

    def _op_IsInf(self, node, ins, at):
        x = ins[0]
        if x.dtype != _F32:
            raise self.err(f"IsInf of {x.dtype} values is not supported (float32)")
        pos, neg = int(at.get("detect_positive", 1)), int(at.get("detect_negative", 1))
        if not pos and not neg:
            return self.ew("LESS", [x, np.float32(-np.inf)], dtype=np.bool_)  # never true
        if pos and neg:
            return self.ew("EQUAL", [self.unary("ABS", x), np.float32(np.inf)], dtype=np.bool_)
        return self.ew("EQUAL", [x, np.float32(np.inf if pos else -np.inf)], dtype=np.bool_)

    def _op_Xor(self, node, ins, at):
        return self.ew("NOT_EQUAL", ins, dtype=np.bool_)

    def _int_binary(self, type, a: Val, b: Val, what):
        """An elementwise integer op over int8/uint8/int16/int32 values (ONNX layout, broadcasting)."""
        for v in (a, b):
            if v.dtype not in _SMALL_INTS:
                raise self.err(f"{what} of {v.dtype} values is not supported (int8, uint8, int16, int32)")
        r = max(a.rank, b.rank)
        static = tuple(int(d) for d in np.broadcast_shapes(a.shape, b.shape))
        dyn = self._dyn_aligned(a, r) | self._dyn_aligned(b, r)
        shape = tuple(-1 if i in dyn else d for i, d in enumerate(static))
        ts = []
        for v in (a, b):
            t = self._plain(v) if v.const is None else self.cconst(np.asarray(v.const).reshape(v.shape))
            if type.startswith("STABLEHLO_") and tuple(v.shape) != static:  # StableHLO ops do not broadcast
                if dyn:
                    raise self.err(f"{what} broadcasting a value with dynamic dimensions is not supported")
                t = self.reshape(t, (1,) * (r - v.rank) + tuple(v.shape))
                t = self.em.op1("BROADCAST_TO", [t, self.cconst(np.array(static, np.int32), name="shape")], static)
                self.g.ops[-1].version = 2  # LiteRT registers BROADCAST_TO from version 2
            ts.append(t)
        ta, tb = ts
        y = self.em.op1(type, [ta, tb], shape, dtype=a.dtype)
        return self.new(y, _ident(r), static, dyn)

    def _op_BitwiseXor(self, node, ins, at):
        return self._int_binary("BITWISE_XOR", ins[0], ins[1], "BitwiseXor")

    def _op_BitwiseAnd(self, node, ins, at):
        return self._int_binary("STABLEHLO_AND", ins[0], ins[1], "BitwiseAnd")

    def _op_BitwiseOr(self, node, ins, at):
        # a | b = (a ^ b) ^ (a & b): LiteRT registers no OR of integers
        x = self._int_binary("BITWISE_XOR", ins[0], ins[1], "BitwiseOr")
        n = self._int_binary("STABLEHLO_AND", ins[0], ins[1], "BitwiseOr")
        return self._int_binary("BITWISE_XOR", x, n, "BitwiseOr")

    def _op_BitwiseNot(self, node, ins, at):
        x = ins[0]
        ones = np.array(-1).astype(x.dtype) if x.dtype.kind == "i" else np.array(np.iinfo(x.dtype).max, x.dtype)
        return self._int_binary("BITWISE_XOR", x, self.cval(ones.reshape((1,) * max(x.rank, 1))), "BitwiseNot")

    def _op_BitShift(self, node, ins, at):
        x, s = ins
        direction = at.get("direction")
        if x.dtype not in _SMALL_INTS or s.dtype != x.dtype:
            raise self.err(f"BitShift of {x.dtype} values is not supported (uint8, int8, int16, int32)")
        if direction not in ("LEFT", "RIGHT"):
            raise self.err(f"direction {direction!r} is not LEFT or RIGHT")
        if direction == "LEFT" and x.dtype != np.dtype(np.uint8):
            # a shift >= the width, or negative, gives 0 (ONNX opset 26+); LiteRT's STABLEHLO_SHIFT_LEFT shifts an
            # int32 by it as C does, so such shifts are replaced by 0 and their results selected away
            bits = 8 * x.dtype.itemsize
            st = self._plain(s) if s.const is None else self.cconst(np.asarray(s.const).reshape(s.shape))
            s32 = self._cast_t(st, np.int32)
            bad = self.em.op1("LOGICAL_OR", [
                self.em.op1("LESS", [s32, self.cconst(np.array([0], np.int32), name="zero")], s32.shape,
                            dtype=np.bool_),
                self.em.op1("GREATER_EQUAL", [s32, self.cconst(np.array([bits], np.int32), name="width")],
                            s32.shape, dtype=np.bool_)], s32.shape, dtype=np.bool_)
            zero = self.cconst(np.zeros(1, x.dtype), name="zero")
            safe = self.em.op1("SELECT_V2", [bad, zero, st], st.shape, dtype=x.dtype)
            y = self._int_binary("STABLEHLO_SHIFT_LEFT", x, self.new(safe, _ident(s.rank), s.shape, s.dyn),
                                 "BitShift")
            t = self.ir(y)
            return self.new(self.em.op1("SELECT_V2", [bad, zero, t], t.shape, dtype=x.dtype), _ident(y.rank),
                            y.shape, y.dyn)
        r = max(x.rank, s.rank)
        xi, si = (self._cast_t(self._plain(v), np.int32) if v.const is None else
                  self.cconst(np.asarray(v.const).astype(np.int32).reshape(v.shape)) for v in (x, s))
        static = tuple(int(d) for d in np.broadcast_shapes(x.shape, s.shape))
        dyn = self._dyn_aligned(x, r) | self._dyn_aligned(s, r)
        shape = tuple(-1 if i in dyn else d for i, d in enumerate(static))
        c31 = self.cconst(np.array([31], np.int32), name="c31")
        if direction == "RIGHT":
            # in int32 (sign- or zero-extended): a shift >= the width, or negative, fills with the sign bit
            neg = self.em.op1("LESS", [si, self.cconst(np.array([0], np.int32), name="zero")], si.shape,
                              dtype=np.bool_)
            si = self.em.op1("SELECT_V2", [neg, c31, self.em.op1("MINIMUM", [si, c31], si.shape)], si.shape,
                             dtype=np.int32)
            y = self.em.op1("RIGHT_SHIFT", [xi, si], shape)
        else:  # uint8: (x * 2^min(s, 8)) mod 256
            si = self.em.op1("MINIMUM", [si, self.cconst(np.array([8], np.int32))], si.shape)
            p = self.em.op1("POW", [self.cconst(np.array([2], np.int32)), si], si.shape)
            y = self.em.op1("MUL", [xi, p], shape, {"fusedActivationFunction": 0})
            y = self.em.op1("FLOOR_MOD", [y, self.cconst(np.array([256], np.int32))], shape)
        return self.new(self._cast_t(y, x.dtype), _ident(r), static, dyn)
