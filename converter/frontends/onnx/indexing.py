"""Index and selection ops, several with run-time-sized outputs: NonZero, Range (run-time limits), TopK,
GatherND, ScatterND, GatherElements, ScatterElements, CumSum, OneHot, Hardmax, ReverseSequence, Trilu, Unique;
and the helpers the other new-op modules share (scalars, run-time scalars, index normalization).

Values whose size is known only at run time (NonZero's count, Range's length, a run-time K or OneHot depth,
Unique's values) are Vals with that axis dynamic (IR dimension -1); the runtime runs the ops after them in
stages (runtime/staged.py), LiteRT as dynamic tensors. TFLite index outputs are int32 where the op has no int64
form; ONNX's int64 outputs get a CAST at the end, so the graph's types are the ONNX model's."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import Val, _ident

_I32, _I64, _BOOL = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.bool_)
_F32 = np.dtype(np.float32)


class IndexingMixin:
    """_op_<Type> methods of index/selection ops (see the module docstring)."""

    # -- helpers -------------------------------------------------------------------------------------------
    def _scalar(self, value, dtype, name="scalar"):
        """A 0-d IR constant (TFLite scalar operands: RANGE's limits, TOPK_V2's k, ONE_HOT's depth)."""
        return self.g.const(self.em._name(name), np.array(value, dtype))  # (em.const makes it 1-D)

    def _runtime_scalar(self, v: Val, dtype, what: str):
        """A run-time one-element value as a 0-d IR tensor of `dtype`."""
        if int(np.prod(v.shape)) != 1 or v.dyn:
            raise self.err(f"{what} must hold one value, not shape {v.shape}")
        t = self._cast_t(self._plain(v), dtype)
        return self.reshape(t, ()) if tuple(t.shape) != () else t

    def _cast_t(self, t, dtype):
        return self.em.cast(t, dtype)

    def _plain(self, v: Val):
        """v in the ONNX layout."""
        return self.ir(v)

    def _static_only(self, v: Val, what: str):
        if v.dyn:
            raise self.err(f"{what} ({v.name!r}) has a dynamic shape {self.ir_shape(v, _ident(v.rank))}; this "
                           "lowering needs its shape at conversion" + self.dynamic_inputs_hint())

    def _norm_index(self, idx: Val, sizes, what: str, dtype=_I32):
        """Index tensor with negative entries counted from the end (ONNX) made non-negative (TFLite), as `dtype`.
        sizes broadcasts against the index values (a scalar, or the sizes along the last axis)."""
        sizes = np.asarray(sizes, np.int64)
        if idx.const is not None:
            ids = np.asarray(idx.const).astype(np.int64)
            if np.any(ids < -sizes) or np.any(ids >= sizes):
                raise self.err(f"{what}: an index is out of range (sizes {sizes.tolist()})")
            ids = np.where(ids < 0, ids + sizes, ids)
            return self.cconst(ids.astype(dtype), name="indices")
        if idx.dtype not in (_I32, _I64):
            raise self.err(f"{what} of type {idx.dtype} are not supported (int32, int64)")
        t = self._plain(idx)
        d = self.cconst(sizes.astype(t.dtype), name="sizes")
        t = self.em.op1("FLOOR_MOD", [t, d], t.shape)
        return self._cast_t(t, dtype)

    # -- NonZero, Range ------------------------------------------------------------------------------------
    def _op_NonZero(self, node, ins, at):
        x = ins[0]
        if x.rank == 0:
            raise self.err("NonZero of a 0-d value is not supported")
        if x.dtype not in (_F32, _I32, _I64, _BOOL, np.dtype(np.int8), np.dtype(np.uint8)):
            raise self.err(f"NonZero of {x.dtype} values is not supported")
        w = self.em.op1("WHERE", [self._plain(x)], [-1, x.rank], dtype=np.int64)  # [n, rank] coordinates, row-major order
        y = self.em.op1("TRANSPOSE", [w, self.cconst(np.array([1, 0], np.int32), name="perm")], [x.rank, -1])
        return self.new(y, _ident(2), (x.rank, 1), {1})

    def _op_Range(self, node, ins, at):
        # all-constant Ranges were folded; here a limit is known only at run time
        dt = next(v.dtype for v in ins if v.const is None)
        if dt not in (_F32, _I32, _I64):
            raise self.err(f"Range over {dt} values is not supported (float32, int32, int64)")
        ts = []
        for v, what in zip(ins, ("start", "limit", "delta")):
            if v is None or int(np.prod(v.shape)) != 1:
                raise self.err(f"{what} must be a scalar")
            if v.const is not None:
                ts.append(self._scalar(np.asarray(v.const).reshape(()), dt, what))
            else:
                if v.dtype != dt:
                    raise self.err(f"{what} is {v.dtype}, start/limit/delta must have one type")
                ts.append(self._runtime_scalar(v, dt, what))
        y = self.em.op1("RANGE", ts, [-1], dtype=dt)
        return self.new(y, _ident(1), (1,), {0})

    # -- TopK ----------------------------------------------------------------------------------------------
    def _op_TopK(self, node, ins, at):
        x = ins[0]
        r = x.rank
        axis = int(at.get("axis", -1)) % r
        largest = int(at.get("largest", 1))
        if x.dtype not in (_F32, _I32, _I64):
            raise self.err(f"TopK of {x.dtype} values is not supported (float32, int32, int64)")
        if axis in x.dyn:
            raise self.err(f"TopK along the dynamic axis {axis} is not supported")
        # sorted=0 lets the order be anything: the sorted order is one of them
        if self.opset < 10:
            kv = self.cval(np.array([int(at["k"])], np.int64))
        else:
            kv = ins[1]
        lay = x.perm_layout() or _ident(r)
        if lay.index(axis) != r - 1:
            lay = tuple(p for p in lay if p != axis) + (axis,)
        t = self.ir(x, lay)
        if not largest:  # the k largest of the order-reversed values
            t = self._reverse_order(t)
        dyn = set(x.dyn)
        if kv.const is not None:
            k = int(np.asarray(kv.const).reshape(-1)[0])
            if not 0 <= k <= x.shape[axis]:
                raise self.err(f"K = {k} is out of range for axis {axis} of size {x.shape[axis]}")
            kt = self._scalar(k, np.int32, "k")
            kd = k
        else:
            kt = self._runtime_scalar(kv, np.int32, "K")
            k, kd = 1, -1
            dyn.add(axis)
        shape = list(t.shape[:-1]) + [kd]
        vals, idx = self.em.op("TOPK_V2", [t, kt], [shape, shape], dtypes=[t.dtype, _I32])
        if not largest:
            vals = self._reverse_order(vals)
        idx = self._cast_t(idx, np.int64)
        static = list(x.shape)
        static[axis] = k
        return [self.new(vals, lay, static, dyn), self.new(idx, lay, static, dyn)]

    # -- gather / scatter ----------------------------------------------------------------------------------
    def _op_GatherND(self, node, ins, at):
        data, idx = ins
        b = int(at.get("batch_dims", 0))
        if idx.rank < 1 or idx.rank - 1 in idx.dyn or (b and idx.dyn):
            self._static_only(idx, "indices (their last dimension, and every one with batch_dims > 0)")
        k = idx.shape[-1]
        if idx.rank < 1 or k > data.rank - b or b >= idx.rank:
            raise self.err(f"indices of shape {idx.shape} do not index data of shape {data.shape} "
                           f"with batch_dims={b}")
        if any(a < b + k for a in data.dyn):
            raise self.err("GatherND over a dynamic indexed or batch dimension is not supported")
        sizes = np.array(data.shape[b:b + k], np.int64)
        it = self._norm_index(idx, sizes, "indices")
        if b:
            # TFLite's GATHER_ND has no batch dimensions: prefix every index tuple with its batch coordinates
            grid = np.indices(idx.shape[:-1], np.int32)[:b]  # [b, *idx.shape[:-1]]
            grid = np.moveaxis(grid, 0, -1)
            it = self.em.concat([self.cconst(grid, name="batch_coords"), it], idx.rank - 1)
        t = self._plain(data)
        shape = [-1 if i in idx.dyn else d for i, d in enumerate(idx.shape[:-1])] + \
            [-1 if i in data.dyn else d for i, d in enumerate(data.shape)][b + k:]
        y = self.em.op1("GATHER_ND", [t, it], shape, dtype=data.dtype)
        static = list(idx.shape[:-1]) + list(data.shape[b + k:])
        dyn = {a - (b + k) + idx.rank - 1 for a in data.dyn} | set(idx.dyn)
        return self.new(y, _ident(len(static)), static, dyn)

    def _scatter(self, data: Val, coords, k: int, updates: Val, reduction: str):
        """data with `updates` written at `coords` (an int32 IR tensor [..., k] of coordinates over data's first k
        axes, each selecting a slice data.shape[k:]). Over the flattened data: each update element's target
        position; reduction none: the last update of a position wins (onnxruntime applies them in order, ONNX
        leaves duplicates undefined) - SCATTER_ND alone would sum them; add: SCATTER_ND sums; mul/max/min: the
        UNSORTED_SEGMENT_PROD/MAX/MIN of the updates per position."""
        if reduction not in ("none", "add", "mul", "max", "min"):
            raise self.err(f"reduction={reduction!r} is not supported")
        self._static_only(data, "data")
        self._static_only(updates, "updates")
        kinds = (_F32, _I32, _I64, _BOOL) if reduction == "none" else (_F32, _I32, _I64) if reduction == "add" \
            else (_F32, _I32)
        if data.dtype not in kinds:
            raise self.err(f"scatter with reduction={reduction!r} into {data.dtype} values is not supported "
                           f"({', '.join(str(d) for d in kinds)})")
        u = self._plain(updates) if updates.const is None else \
            self.cconst(np.asarray(updates.const).astype(data.dtype).reshape(updates.shape), name="updates")
        if u.dtype != data.dtype:
            raise self.err(f"updates are {u.dtype}, data {data.dtype}")
        size = int(np.prod(data.shape))
        rows = int(np.prod(coords.shape[:-1]))
        inner = int(np.prod(data.shape[k:]))
        n_el = rows * inner
        # each update element's position in the flattened data
        c2 = self.reshape(coords, [rows, k])
        strides = np.array([int(np.prod(data.shape[i + 1:k])) * inner for i in range(k)], np.int32)
        lin = self.em.op1("MUL", [c2, self.cconst(strides, name="strides")], [rows, k], {"fusedActivationFunction": 0})
        if k > 1:
            lin = self.em.op1("SUM", [lin, self.cconst(np.array([1], np.int32), name="axis")], [rows, 1],
                              {"keepDims": True})
        if inner > 1:
            lin = self.em.op1("ADD", [lin, self.cconst(np.arange(inner, dtype=np.int32)[None], name="offsets")],
                              [rows, inner], {"fusedActivationFunction": 0})
        pos = self.reshape(lin, [n_el])
        pos2 = self.reshape(lin, [n_el, 1])
        flat_u = self.reshape(u, [n_el])
        flat_d = self.reshape(self._plain(data), [size])
        num = self.cconst(np.array([size], np.int32), name="num_positions")
        shape_t = self.cconst(np.array([size], np.int32), name="shape")
        ew = {"fusedActivationFunction": 0}
        if reduction == "add":
            s = self.em.op1("SCATTER_ND", [pos2, flat_u, shape_t], [size], dtype=data.dtype)
            y = self.em.op1("ADD", [flat_d, s], [size], ew)
        elif reduction == "mul":  # an untouched position multiplies by 1
            p = self.em.op1("UNSORTED_SEGMENT_PROD", [flat_u, pos, num], [size], dtype=data.dtype)
            y = self.em.op1("MUL", [flat_d, p], [size], ew)
        elif reduction == "none":
            order = self.cconst(np.repeat(np.arange(rows, dtype=np.int32), inner), name="update_order")
            last = self.em.op1("UNSORTED_SEGMENT_MAX", [order, pos, num], [size], dtype=np.int32)
            mine = self.em.op1("GATHER", [last, pos], [n_el], {"axis": 0, "batchDims": 0}, dtype=np.int32)
            is_last = self.em.op1("EQUAL", [mine, order], [n_el], dtype=np.bool_)
            zero = self.cconst(np.zeros(1, data.dtype), name="zero")
            kept = self.em.op1("SELECT_V2", [is_last, flat_u, zero], [n_el], dtype=data.dtype)
            s = self.em.op1("SCATTER_ND", [pos2, kept, shape_t], [size], dtype=data.dtype)
            touched = self.em.op1("GREATER_EQUAL", [last, self.cconst(np.array([0], np.int32), name="zero")],
                                  [size], dtype=np.bool_)
            y = self.em.op1("SELECT_V2", [touched, s, flat_d], [size], dtype=data.dtype)
        else:  # max/min: an untouched position keeps its value (not the segment op's lowest/highest)
            seg = self.em.op1("UNSORTED_SEGMENT_MAX" if reduction == "max" else "UNSORTED_SEGMENT_MIN",
                              [flat_u, pos, num], [size], dtype=data.dtype)
            both = self.em.op1("MAXIMUM" if reduction == "max" else "MINIMUM", [flat_d, seg], [size])
            ones = self.cconst(np.ones(n_el, np.bool_), name="ones")
            touched = self.em.op1("SCATTER_ND", [pos2, ones, shape_t], [size], dtype=np.bool_)
            y = self.em.op1("SELECT_V2", [touched, both, flat_d], [size], dtype=data.dtype)
        return self.new(self.reshape(y, data.shape), _ident(data.rank), data.shape)

    def _op_ScatterND(self, node, ins, at):
        data, idx, upd = ins
        self._static_only(idx, "indices")
        k = idx.shape[-1]
        if k > data.rank or tuple(upd.shape) != tuple(idx.shape[:-1]) + tuple(data.shape[k:]):
            raise self.err(f"updates of shape {upd.shape} do not fit indices {idx.shape} into data {data.shape}")
        it = self._norm_index(idx, np.array(data.shape[:k], np.int64), "indices")
        return self._scatter(data, it, k, upd, at.get("reduction", "none"))

    def _element_coords(self, data: Val, idx: Val, axis: int):
        """Full coordinates [*idx.shape, rank] of GatherElements/ScatterElements: idx along `axis`, each other
        axis its own position."""
        self._static_only(idx, "indices")
        if axis in data.dyn:
            raise self.err(f"axis {axis} is dynamic")
        r = data.rank
        it = self._norm_index(idx, data.shape[axis], "indices")
        grid = np.moveaxis(np.indices(idx.shape, np.int32), 0, -1)  # [*s, r]
        mid = self.reshape(it, list(idx.shape) + [1])
        parts = []
        if axis > 0:
            parts.append(self.cconst(np.ascontiguousarray(grid[..., :axis]), name="coords"))
        parts.append(mid)
        if axis < r - 1:
            parts.append(self.cconst(np.ascontiguousarray(grid[..., axis + 1:]), name="coords"))
        return parts[0] if len(parts) == 1 else self.em.concat(parts, r)

    def _op_GatherElements(self, node, ins, at):
        data, idx = ins
        axis = int(at.get("axis", 0)) % data.rank
        if idx.rank != data.rank:
            raise self.err(f"indices rank {idx.rank} != data rank {data.rank}")
        if any(a != axis and idx.shape[a] > data.shape[a] for a in range(data.rank)) or \
                any(a in data.dyn for a in range(data.rank)):
            raise self.err(f"indices of shape {idx.shape} do not fit data of shape {data.shape}")
        coords = self._element_coords(data, idx, axis)
        y = self.em.op1("GATHER_ND", [self._plain(data), coords], list(idx.shape), dtype=data.dtype)
        return self.new(y, _ident(data.rank), idx.shape)

    def _op_ScatterElements(self, node, ins, at):
        data, idx, upd = ins
        axis = int(at.get("axis", 0)) % data.rank
        if idx.rank != data.rank or tuple(upd.shape) != tuple(idx.shape):
            raise self.err(f"indices {idx.shape} / updates {upd.shape} do not match data {data.shape}")
        coords = self._element_coords(data, idx, axis)
        return self._scatter(data, coords, data.rank, upd, at.get("reduction", "none"))

    _op_Scatter = _op_ScatterElements  # opsets 9-10

    # -- CumSum, OneHot, Hardmax, ReverseSequence ----------------------------------------------------------
    def _op_CumSum(self, node, ins, at):
        x = ins[0]
        if x.dtype not in (_F32, _I32, _I64):
            raise self.err(f"CumSum of {x.dtype} values is not supported (float32, int32, int64)")
        if ins[1].const is None:  # a run-time axis counts ONNX axes (CUMSUM takes negative ones too)
            lay = _ident(x.rank)
            t = self.ir(x, lay)
            ax = self._runtime_scalar(ins[1], np.int32, "axis")
        else:
            axis = self.ints_of(ins[1], "axis")[0] % x.rank
            lay = x.perm_layout() or _ident(x.rank)
            t = self.ir(x, lay)
            ax = self._scalar(lay.index(axis), np.int32, "axis")
        y = self.em.op1("CUMSUM", [t, ax], t.shape, {"exclusive": bool(int(at.get("exclusive", 0))),
                                                     "reverse": bool(int(at.get("reverse", 0)))})
        return self.new(y, lay, x.shape, x.dyn)

    def _one_hot(self, it, depth, axis: int, on, off, shape, dtype):
        """ONE_HOT of an int32/int64 IR tensor; depth an int or a 0-d int32 IR tensor, on/off numpy scalars or
        0-d IR tensors."""
        on_t = on if not isinstance(on, np.ndarray) else self._scalar(on, dtype, "on")
        off_t = off if not isinstance(off, np.ndarray) else self._scalar(off, dtype, "off")
        dt = self._scalar(depth, np.int32, "depth") if isinstance(depth, int) else depth
        return self.em.op1("ONE_HOT", [it, dt, on_t, off_t], shape, {"axis": axis}, dtype=dtype)

    def _op_OneHot(self, node, ins, at):
        idx, depth_v, values = ins
        if depth_v.const is not None:
            depth = int(np.asarray(depth_v.const).reshape(-1)[0])
            if depth < 1:
                raise self.err(f"depth {depth} < 1")
        else:  # known at run time: a dynamic output axis
            if depth_v.dtype.kind not in "iuf":
                raise self.err(f"depth of type {depth_v.dtype}")
            depth = self._runtime_scalar(depth_v, np.int32, "depth")
        r = idx.rank + 1
        axis = int(at.get("axis", -1)) % r
        if values.const is not None:
            vals = np.asarray(values.const)
            dt = vals.dtype
            off, on = vals.reshape(-1)[0], vals.reshape(-1)[1]
            off, on = np.array(off, dt), np.array(on, dt)
        else:
            dt = values.dtype
            vt = self._plain(values)
            off, on = (self.em.op1("GATHER", [vt, self._scalar(i, np.int32, "i")], (), {"axis": 0, "batchDims": 0})
                       for i in (0, 1))
        if dt not in (_F32, _I32, _I64, _BOOL):
            raise self.err(f"OneHot values of type {dt} are not supported (float32, int32, int64, bool)")
        t = self._plain(idx)
        if idx.dtype.kind == "f":
            t = self._cast_t(t, np.int64)  # ONNX casts float indices to integers (truncating)
        elif idx.dtype not in (_I32, _I64):
            t = self._cast_t(t, np.int64)
        # ONNX counts negative indices from the end; ONE_HOT gives all-off rows for them
        neg = self.em.op1("LESS", [t, self.cconst(np.array([0], t.dtype), name="zero")], t.shape, dtype=np.bool_)
        dpt = self.cconst(np.array([depth], t.dtype), name="depth") if isinstance(depth, int) else \
            self._cast_t(depth, t.dtype)
        wrapped = self.em.op1("ADD", [t, dpt], t.shape, {"fusedActivationFunction": 0})
        t = self.em.op1("SELECT_V2", [neg, wrapped, t], t.shape, dtype=t.dtype)
        ishape = list(self.ir_shape(idx, _ident(idx.rank)))
        d_ir, d_static = (depth, depth) if isinstance(depth, int) else (-1, 1)
        shape = ishape[:axis] + [d_ir] + ishape[axis:]
        y = self._one_hot(t, depth, axis, on, off, shape, dt)
        static = list(idx.shape[:axis]) + [d_static] + list(idx.shape[axis:])
        dyn = {a + (a >= axis) for a in idx.dyn} | (set() if isinstance(depth, int) else {axis})
        return self.new(y, _ident(r), static, dyn)

    def _op_Hardmax(self, node, ins, at):
        x = ins[0]
        if x.dtype != _F32:
            raise self.err(f"Hardmax of {x.dtype} values is not supported (float32)")
        r = x.rank
        axis = int(at.get("axis", -1 if self.opset >= 13 else 1)) % r
        t = self._plain(x)
        if self.opset < 13:  # the input coerced to 2-D [prod(shape[:axis]), prod(shape[axis:])]
            if x.dyn:
                raise self.err("Hardmax (opset < 13) of a value with dynamic dimensions is not supported")
            t = self.reshape(t, [int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))])
            ax = 1
        else:
            if axis in x.dyn:
                raise self.err(f"Hardmax along the dynamic axis {axis} is not supported")
            ax = axis
        depth = t.shape[ax]
        am_shape = [d for i, d in enumerate(t.shape) if i != ax]
        am = self.em.op1("ARG_MAX", [t, self.cconst(np.array([ax], np.int32), name="axis")], am_shape,
                         {"outputType": 2}, dtype=np.int32)  # the first maximum, as ONNX
        y = self._one_hot(am, depth, ax, np.array(1, np.float32), np.array(0, np.float32), t.shape, _F32)
        if self.opset < 13:
            y = self.reshape(y, self.ir_shape(x, _ident(r)))
        return self.new(y, _ident(r), x.shape, x.dyn)

    def _op_ReverseSequence(self, node, ins, at):
        x, lens = ins
        bax, tax = int(at.get("batch_axis", 1)), int(at.get("time_axis", 0))
        if x.dtype not in (_F32, _I32, _I64):
            raise self.err(f"ReverseSequence of {x.dtype} values is not supported (float32, int32, int64)")
        lt = self._plain(lens) if lens.const is None else self.cconst(np.asarray(lens.const).astype(np.int64))
        y = self.em.op1("REVERSE_SEQUENCE", [self._plain(x), lt], self.ir_shape(x, _ident(x.rank)),
                        {"seqDim": tax, "batchDim": bax})
        return self.new(y, _ident(x.rank), x.shape, x.dyn)

    # -- Trilu ---------------------------------------------------------------------------------------------
    def _op_Trilu(self, node, ins, at):
        x = ins[0]
        upper = int(at.get("upper", 1))
        kv = ins[1] if len(ins) > 1 else None
        if x.rank < 2 or {x.rank - 1, x.rank - 2} & set(x.dyn):
            raise self.err("Trilu needs a value of rank >= 2 with static last two dimensions")
        n, m = x.shape[-2:]
        i, j = np.indices((n, m))
        if kv is None or kv.const is not None:
            k = 0 if kv is None else self.ints_of(kv, "k")[0]
            mask = self.cconst((j - i >= k) if upper else (j - i <= k), name="mask")
        else:  # the diagonal offset at run time: compare j - i with it
            diag = self.cconst((j - i).astype(np.int64), name="diagonal")
            kt = self._runtime_scalar(kv, np.int64, "k")
            mask = self.em.op1("GREATER_EQUAL" if upper else "LESS_EQUAL", [diag, kt], [n, m], dtype=np.bool_)
        lay = x.perm_layout() or _ident(x.rank)
        if lay[-2:] != (x.rank - 2, x.rank - 1):
            lay = _ident(x.rank)
        t = self.ir(x, lay)
        zero = self.cconst(np.zeros(1, x.dtype), name="zero")
        y = self.em.op1("SELECT_V2", [mask, t, zero], t.shape, dtype=x.dtype)
        return self.new(y, lay, x.shape, x.dyn)

    # -- Unique --------------------------------------------------------------------------------------------
    def _op_Unique(self, node, ins, at):
        x = ins[0]
        if "axis" in at and not (x.rank == 1 and int(at["axis"]) in (0, -1)):
            raise self.err("Unique with an axis (of a value of rank > 1) is not supported (TFLite's UNIQUE is over "
                           "a 1-D value)")
        if x.dtype not in (_F32, _I32, _I64):
            raise self.err(f"Unique of {x.dtype} values is not supported (float32, int32, int64)")
        want = [bool(o) and bool(self.uses.get(o)) for o in list(node.output)[1:]]
        if any(want) and x.dyn:
            raise self.err("Unique's indices/counts of a value with dynamic dimensions are not supported")
        n = int(np.prod(x.shape))
        flat = self.reshape(self._plain(x), [-1 if x.dyn else n])
        # UNIQUE: the values in the order of first occurrence (ONNX's sorted=0), and each element's value index
        y, inv = self.em.op("UNIQUE", [flat], [[-1], list(flat.shape)], {"idxOutType": 2}, dtypes=[x.dtype, _I32])
        num = self.em.op1("SHAPE", [y], [1], {"outType": 2}, dtype=np.int32)
        first = counts = None
        if any(want):
            iota = self.cconst(np.arange(n, dtype=np.int32), name="iota")
            first = self.em.op1("UNSORTED_SEGMENT_MIN", [iota, inv, num], [-1], dtype=np.int32)
            ones = self.cconst(np.ones(n, np.int32), name="ones")
            counts = self.em.op1("UNSORTED_SEGMENT_SUM", [ones, inv, num], [-1], dtype=np.int32)
        if int(at.get("sorted", 1)):
            # ascending: TOPK_V2 of the order-reversed values over all of them (distinct: no ties), then the
            # value indices renumbered by the sorted position of their value
            k = self.reshape(num, ())
            key = self._reverse_order(y)
            key, perm = self.em.op("TOPK_V2", [key, k], [[-1], [-1]], dtypes=[x.dtype, _I32])
            y = self._reverse_order(key)
            if any(want):
                take = {"axis": 0, "batchDims": 0}
                first = self.em.op1("GATHER", [first, perm], [-1], take, dtype=np.int32)
                counts = self.em.op1("GATHER", [counts, perm], [-1], take, dtype=np.int32)
                iota_k = self.em.op1("RANGE", [self._scalar(0, np.int32, "zero"), k, self._scalar(1, np.int32, "one")],
                                     [-1], dtype=np.int32)
                rank = self.em.op1("SCATTER_ND", [self.reshape(perm, [-1, 1]), iota_k, num], [-1], dtype=np.int32)
                inv = self.em.op1("GATHER", [rank, inv], list(flat.shape), take, dtype=np.int32)
        outs = [self.new(y, _ident(1), (1,), {0})]
        if any(want):
            outs.append(self.new(self._cast_t(first, np.int64), _ident(1), (1,), {0}))
            outs.append(self.new(self._cast_t(inv, np.int64), _ident(1), (n,)))
            outs.append(self.new(self._cast_t(counts, np.int64), _ident(1), (1,), {0}))
        return outs

    def _reverse_order(self, t):
        """-t (float) or -1 - t (integers: no overflow): an order-reversing map that is its own inverse."""
        if t.dtype == _F32:
            return self.em.op1("NEG", [t], t.shape)
        return self.em.op1("SUB", [self.cconst(np.array([-1], t.dtype), name="minus_one"), t], t.shape,
                           {"fusedActivationFunction": 0})
