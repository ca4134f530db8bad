"""Elementwise ops and activations: Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Mod, And, Or, Not, Where,
comparisons, unary math (Sqrt, Exp, Log, Abs, Neg, Reciprocal, Floor, Ceil, Round, Sin, Cos, Sign, Erf),
activations (Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, Tanh, HardSigmoid, HardSwish, Softplus,
Softsign, Mish, Gelu, Clip), Softmax/LogSoftmax, Identity, Dropout, Cast, and the GELU and hard-swish
patterns (x * 0.5 * (1 + erf(x / sqrt 2)) and x * Clip(x + 3, 0, 6) / 6, each fused into one node before
lowering). The layout-generic helpers
they build on (ew, unary, add, mul, ...) are in core.py."""
from __future__ import annotations

import math

import numpy as np
from edgerun.converter.frontends.onnx.layout import _FLOAT_TYPES, _LOWEST, Cols, Val, _ident, _onnx

_UNARY = {"Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH", "Exp": "EXP", "Log": "LOG", "Sqrt": "SQRT",
          "Abs": "ABS", "Neg": "NEG", "Floor": "FLOOR", "Ceil": "CEIL", "Round": "ROUND", "Sin": "SIN",
          "Cos": "COS", "Not": "LOGICAL_NOT", "Sign": "SIGN", "HardSwish": "HARD_SWISH"}
_BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Div": "DIV", "Max": "MAXIMUM", "Min": "MINIMUM",
           "And": "LOGICAL_AND", "Or": "LOGICAL_OR"}
_COMPARE = {"Equal": "EQUAL", "Greater": "GREATER", "Less": "LESS", "GreaterOrEqual": "GREATER_EQUAL",
            "LessOrEqual": "LESS_EQUAL"}


class ElementwiseMixin:
    """_op_<Type> methods of elementwise ops and activations, and the GELU pattern fusion."""

    # -- GELU pattern ----------------------------------------------------------------------------------------
    def _static_const(self, name, producers):
        from onnx import numpy_helper

        v = self.vals.get(name)
        if v is not None and v.const is not None:
            return v.const
        p = producers.get(name)
        if p is not None and p.op_type == "Constant":
            for a in p.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
                if a.name == "value_float":
                    return np.float32(a.f)
        return None

    def _fuse_gelu(self, nodes):
        """x * 0.5 * (1 + erf(x / sqrt(2))) (any order of the final multiplications) -> one Gelu node."""
        from onnx import helper

        producers = {o: n for n in nodes for o in n.output}
        consumers: dict = {}
        for n in nodes:
            for i in n.input:
                consumers.setdefault(i, []).append(n)

        def near(name, value):
            c = self._static_const(name, producers)
            if c is None or np.size(c) != 1:
                return False
            return abs(float(np.asarray(c).reshape(-1)[0]) - value) < 1e-4

        def only(name):
            cs = consumers.get(name, [])
            return cs[0] if len(cs) == 1 and name not in self.outputs else None

        skip, replace = set(), {}
        for e in nodes:
            if e.op_type != "Erf" or e.domain not in ("", "ai.onnx"):
                continue
            d = producers.get(e.input[0])
            if d is None or only(d.output[0]) is not e:
                continue
            r2 = math.sqrt(2.0)
            if (d.op_type == "Div" and near(d.input[1], r2)) or \
                    (d.op_type == "Mul" and near(d.input[1], 1 / r2)):
                x = d.input[0]
            elif d.op_type == "Mul" and near(d.input[0], 1 / r2):
                x = d.input[1]
            else:
                continue
            add = only(e.output[0])
            if add is None or add.op_type != "Add":
                continue
            if not (near(add.input[1], 1.0) or near(add.input[0], 1.0)):
                continue
            cur, chain, have_x, have_half = add.output[0], [d, e, add], False, False
            ok = False
            for _ in range(2):
                m = only(cur)
                if m is None or m.op_type != "Mul":
                    break
                other = m.input[1] if m.input[0] == cur else m.input[0]
                hp = producers.get(other)
                if other == x:
                    have_x = True
                elif near(other, 0.5):
                    have_half = True
                elif hp is not None and hp.op_type == "Mul" and x in hp.input and \
                        near(hp.input[1] if hp.input[0] == x else hp.input[0], 0.5):
                    have_x = have_half = True
                else:
                    break
                chain.append(m)
                cur = m.output[0]
                if have_x and have_half:
                    ok = True
                    break
            if not ok:
                continue
            for n in chain[:-1]:
                skip.add(id(n))
            replace[id(chain[-1])] = helper.make_node("Gelu", [x], [cur], name=e.name or cur, domain="")
        return [replace.get(id(n), n) for n in nodes if id(n) not in skip]

    # -- hard-swish pattern ----------------------------------------------------------------------------------
    def _fuse_patterns(self, nodes):
        """The spelled-out activations that become one op: GELU, then hard-swish."""
        return self._fuse_hardswish(self._fuse_gelu(nodes))

    def _fuse_hardswish(self, nodes):
        """x * Clip(x + 3, 0, 6) / 6 (or * 1/6; either operand order), as Paddle2ONNX writes MobileNetV3's
        hard-swish -> one HardSwish node: one TFLite op instead of four, and in int8 no intermediate
        x * clip(...) tensor of range ~[-2, 50] quantized with a step six times coarser than the result's."""
        from onnx import helper

        producers = {o: n for n in nodes for o in n.output}
        consumers: dict = {}
        for n in nodes:
            for i in n.input:
                consumers.setdefault(i, []).append(n)

        def value(name):
            c = self._static_const(name, producers) if name else None
            return None if c is None or np.size(c) != 1 else float(np.asarray(c).reshape(-1)[0])

        def near(name, want):
            v = value(name)
            return v is not None and abs(v - want) < 1e-6 * max(1.0, abs(want))

        def only(name):
            cs = consumers.get(name, [])
            return cs[0] if len(cs) == 1 and name not in self.outputs else None

        def other(node, name):
            return node.input[1] if node.input[0] == name else node.input[0]

        skip, replace = set(), {}
        for clip in nodes:
            if clip.op_type != "Clip" or clip.domain not in ("", "ai.onnx"):
                continue
            if self.opset < 11:
                at = {a.name: helper.get_attribute_value(a) for a in clip.attribute}
                bounds = at.get("min") == 0.0 and at.get("max") == 6.0
            else:
                bounds = len(clip.input) == 3 and near(clip.input[1], 0.0) and near(clip.input[2], 6.0)
            add = producers.get(clip.input[0])
            if not bounds or add is None or add.op_type != "Add" or only(add.output[0]) is not clip:
                continue
            if near(add.input[1], 3.0):
                x = add.input[0]
            elif near(add.input[0], 3.0):
                x = add.input[1]
            else:
                continue
            mul = only(clip.output[0])
            if mul is None or mul.op_type != "Mul" or other(mul, clip.output[0]) != x:
                continue
            last = only(mul.output[0])
            if last is None or not ((last.op_type == "Div" and last.input[0] == mul.output[0]
                                     and near(last.input[1], 6.0))
                                    or (last.op_type == "Mul" and near(other(last, mul.output[0]), 1 / 6))):
                continue
            skip.update((id(add), id(clip), id(mul)))
            replace[id(last)] = helper.make_node("HardSwish", [x], [last.output[0]], name=last.name, domain="")
        return [replace.get(id(n), n) for n in nodes if id(n) not in skip]

    # -- activations ---------------------------------------------------------------------------------------
    def _op_Relu(self, node, ins, at):
        return self.unary("RELU", ins[0])

    def _unary_op(self, node, ins, at):
        return self.unary(_UNARY[node.op_type], ins[0],
                          dtype=np.bool_ if node.op_type == "Not" else None)

    _op_Sigmoid = _op_Tanh = _op_Exp = _op_Log = _op_Sqrt = _op_Abs = _op_Neg = _unary_op
    _op_Floor = _op_Ceil = _op_Round = _op_Sin = _op_Cos = _op_Not = _op_Sign = _op_HardSwish = _unary_op

    def _op_Reciprocal(self, node, ins, at):
        return self.div(np.array(1, np.float32), ins[0])

    def _op_LeakyRelu(self, node, ins, at):
        return self.unary("LEAKY_RELU", ins[0], {"alpha": float(at.get("alpha", 0.01))})

    def _op_PRelu(self, node, ins, at):
        x, slope = ins
        if slope.const is None:
            # max(x, 0) + slope * min(x, 0)
            return self.add(self.unary("RELU", x), self.mul(slope, self.ew("MINIMUM", [x, np.float32(0)])))
        s = np.asarray(slope.const, np.float32)
        if s.size == 1:
            return self.unary("LEAKY_RELU", x, {"alpha": float(s.reshape(-1)[0])})
        return self.ew("PRELU", [x, s])

    def _elu(self, x, alpha):
        if alpha == 1.0:
            return self.unary("ELU", x)
        neg = self.sub(self.unary("EXP", self.ew("MINIMUM", [x, np.float32(0)])), np.float32(1))
        return self.add(self.unary("RELU", x), self.mul(neg, np.float32(alpha)))

    def _op_Elu(self, node, ins, at):
        return self._elu(ins[0], float(at.get("alpha", 1.0)))

    def _op_Selu(self, node, ins, at):
        alpha = float(at.get("alpha", 1.67326319217681884765625))
        gamma = float(at.get("gamma", 1.05070102214813232421875))
        return self.mul(self._elu(ins[0], alpha), np.float32(gamma))

    def _op_Celu(self, node, ins, at):
        x, alpha = ins[0], float(at.get("alpha", 1.0))
        neg = self.unary("EXP", self.mul(self.ew("MINIMUM", [x, np.float32(0)]), np.float32(1.0 / alpha)))
        return self.add(self.unary("RELU", x), self.mul(self.sub(neg, np.float32(1)), np.float32(alpha)))

    def _softplus(self, x):
        # log(1 + exp(x)) = relu(x) + log(1 + exp(-|x|)): no overflow
        e = self.unary("EXP", self.unary("NEG", self.unary("ABS", x)))
        t = self.unary("LOG", self.add(e, np.float32(1)))
        return self.add(self.unary("RELU", x), t)

    def _op_Softplus(self, node, ins, at):
        return self._softplus(ins[0])

    def _op_Softsign(self, node, ins, at):
        x = ins[0]
        return self.div(x, self.add(self.unary("ABS", x), np.float32(1)))

    def _op_Mish(self, node, ins, at):
        x = ins[0]
        return self.mul(x, self.unary("TANH", self._softplus(x)))

    def _op_HardSigmoid(self, node, ins, at):
        alpha, beta = float(at.get("alpha", 0.2)), float(at.get("beta", 0.5))
        # clip(a x + b, 0, 1) = relu6(6a x + 6b) / 6
        y = self.add(self.mul(ins[0], np.float32(6 * alpha)), np.float32(6 * beta))
        return self.mul(self.unary("RELU6", y), np.float32(1 / 6))

    def _op_Gelu(self, node, ins, at):
        approx = at.get("approximate", "none")
        return self.unary("GELU", ins[0], {"approximate": approx == "tanh"})

    def _op_Erf(self, node, ins, at):
        raise self.err("Erf is only supported inside a GELU pattern x * 0.5 * (1 + erf(x / sqrt(2)))")

    def _op_Clip(self, node, ins, at):
        x = ins[0]
        if self.opset < 11:
            lo, hi = at.get("min"), at.get("max")
            lo_v = hi_v = None
        else:
            lo_v = ins[1] if len(ins) > 1 else None
            hi_v = ins[2] if len(ins) > 2 else None
            lo, hi = (float(np.asarray(v.const).reshape(-1)[0]) if v is not None and v.const is not None
                      else None for v in (lo_v, hi_v))
        if lo is not None and lo <= _LOWEST:
            lo = None
        if hi is not None and hi >= -_LOWEST:
            hi = None
        dynamic = (lo_v is not None and lo_v.const is None) or (hi_v is not None and hi_v.const is None)
        if not dynamic and x.dtype == np.float32:
            if (lo, hi) == (0.0, 6.0):
                return self.unary("RELU6", x)
            if (lo, hi) == (-1.0, 1.0):
                return self.unary("RELU_N1_TO_1", x)
            if (lo, hi) == (0.0, None):
                return self.unary("RELU", x)
            if (lo, hi) == (0.0, 1.0):
                return self.unary("RELU_0_TO_1", x)
        y = x
        lo_o, hi_o = (v if (v is not None and v.const is None) else
                      (None if c is None else np.array(c, x.dtype)) for v, c in ((lo_v, lo), (hi_v, hi)))
        if lo_o is not None:
            y = self.ew("MAXIMUM", [y, lo_o])
        if hi_o is not None:
            y = self.ew("MINIMUM", [y, hi_o])
        return y

    def _softmax(self, node, ins, at, log):
        x = ins[0]
        r = x.rank
        axis = int(at.get("axis", 1 if self.opset < 13 else -1)) % r
        type = "LOG_SOFTMAX" if log else "SOFTMAX"
        opts = None if log else {"beta": 1.0}
        if self.opset < 13 and axis != r - 1:
            # opsets < 13: softmax over the flattened dims >= axis
            t = self.ir(x)
            outer, inner = int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))
            dyn_outer = any(a < axis for a in x.dyn)
            t2 = self.reshape(t, (-1 if dyn_outer else outer, inner))
            y = self.em.op1(type, [t2], t2.shape, opts)
            y = self.reshape(y, t.shape)
            return self.new(y, _ident(r), x.shape, x.dyn)
        lay = x.primary
        if isinstance(lay, Cols):
            if axis == 1:
                return self.unary(type, x, opts)
            lay = x.perm_layout() or _ident(r)
        if lay.index(axis) != r - 1:
            lay = tuple(p for p in lay if p != axis) + (axis,)
        t = self.ir(x, lay)
        y = self.em.op1(type, [t], t.shape, opts)
        return self.new(y, lay, x.shape, x.dyn)

    def _op_Softmax(self, node, ins, at):
        return self._softmax(node, ins, at, False)

    def _op_LogSoftmax(self, node, ins, at):
        return self._softmax(node, ins, at, True)

    # -- elementwise ---------------------------------------------------------------------------------------
    def _binary_op(self, node, ins, at):
        type = _BINARY[node.op_type]
        opts = {"fusedActivationFunction": 0} if type in ("ADD", "SUB", "MUL", "DIV") else None
        vals = [v for v in ins if v is not None]
        y = vals[0]
        for v in vals[1:]:
            y = self.ew(type, [y, v], opts)
        return y

    def _op_Add(self, node, ins, at):
        if len(ins) == 2:
            for (v, c), name in zip((ins, ins[::-1]), node.input):
                fused = self._fuse_bias(v, c, name)
                if fused is not None:
                    return fused
        return self._binary_op(node, ins, at)

    def _fuse_bias(self, v: Val, c: Val, name: str):
        """FULLY_CONNECTED without bias (MatMul) + constant vector over its units -> its bias."""
        op = v.fc_op
        if op is None or c.const is None or v.const is not None or not self._sole_use(v, name) or \
                len(op.inputs) < 3 or op.inputs[2] is not None:
            return None
        units = v.shape[-1]
        b = np.asarray(c.const, np.float32)
        if b.ndim > v.rank or any(d != 1 for d in b.shape[:-1]) or b.shape[-1:] not in ((units,), (1,)):
            return None
        if np.broadcast_shapes(b.shape, v.shape) != v.shape:
            return None
        op.inputs[2] = self.em.const(np.broadcast_to(b.reshape(-1), (units,)).copy(), np.float32, "bias")
        v.fc_op = None
        return v

    _op_Sub = _op_Mul = _op_Div = _op_Max = _op_Min = _op_And = _op_Or = _binary_op

    def _op_Sum(self, node, ins, at):
        y = ins[0]
        for v in ins[1:]:
            y = self.add(y, v)
        return y

    def _op_Mean(self, node, ins, at):
        return self.mul(self._op_Sum(node, ins, at), np.float32(1.0 / len(ins)))

    def _op_Mod(self, node, ins, at):
        if int(at.get("fmod", 0)) == 1:
            if ins[0].dtype.kind == "f":
                # fmod: a - b * trunc(a / b)
                a, b = ins
                q = self.div(a, b)
                tq = self.mul(self.unary("SIGN", q), self.unary("FLOOR", self.unary("ABS", q)))
                return self.sub(a, self.mul(b, tq))
            raise self.err("integer Mod with fmod=1 is not supported")
        return self.ew("FLOOR_MOD", ins)

    def _op_Pow(self, node, ins, at):
        x, e = ins
        if x.dtype not in (np.dtype(np.float32), np.dtype(np.int32)):
            raise self.err(f"Pow of {x.dtype} values is not supported (float32, int32)")
        if e.dtype != x.dtype:
            e = self.cval(np.asarray(e.const).astype(x.dtype)) if e.const is not None else \
                self._op_Cast(node, [e], {"to": _onnx().helper.np_dtype_to_tensor_dtype(x.dtype)})
        if e.const is not None and np.size(e.const) == 1 and x.dtype.kind == "f":
            p = float(np.asarray(e.const).reshape(-1)[0])
            if p == 1.0:
                return x
            if p == 2.0:
                return self.ew("MUL", [x, x], {"fusedActivationFunction": 0})
            if p == 3.0:
                return self.mul(self.ew("MUL", [x, x], {"fusedActivationFunction": 0}), x)
            if p == 0.5:
                return self.unary("SQRT", x)
            if p == -0.5:
                return self.unary("RSQRT", x)
            if p == -1.0:
                return self.div(np.array(1, np.float32), x)
        return self.ew("POW", [x, e])

    def _compare_op(self, node, ins, at):
        return self.ew(_COMPARE[node.op_type], ins, dtype=np.bool_)

    _op_Equal = _op_Greater = _op_Less = _op_GreaterOrEqual = _op_LessOrEqual = _compare_op

    def _op_Where(self, node, ins, at):
        c, a, b = ins
        dt = a.dtype if a.const is None or b.const is not None else b.dtype
        return self.ew("SELECT_V2", [c, a, b], dtype=dt, const_dtypes=[np.bool_, dt, dt])

    def _op_Identity(self, node, ins, at):
        return ins[0]

    def _op_Dropout(self, node, ins, at):
        training = ins[2] if len(ins) > 2 else None
        if training is not None and (training.const is None or bool(np.asarray(training.const).any())):
            raise self.err("training_mode Dropout (random) is not supported")
        return [ins[0], self.cval(np.ones(ins[0].shape, np.bool_))]

    def _op_Cast(self, node, ins, at):
        from edgerun.schema.builder import tensor_type
        from onnx import helper

        x = ins[0]
        to = np.dtype(helper.tensor_dtype_to_np_dtype(int(at["to"])))
        if to in _FLOAT_TYPES or to.kind == "V":
            to = np.dtype(np.float32)
        if to == x.dtype:
            return x
        try:
            opts = {"inDataType": tensor_type(x.dtype), "outDataType": tensor_type(to)}
        except Exception:  # noqa: BLE001
            raise self.err(f"cast from {x.dtype} to {to} is not supported") from None
        return self.unary("CAST", x, opts, dtype=to)
