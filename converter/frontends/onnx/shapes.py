"""Shapes and indexing: Shape, Size, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Split, Slice,
Gather, Pad, Expand, Tile, ConstantOfShape, DepthToSpace, SpaceToDepth - with their axes remapped into
the layout the input has, and reshapes of channels-last values kept in layout where possible."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import (
    _ALT_DIM,
    Cols,
    Val,
    _cl,
    _drop_axes_perm,
    _ident,
    _is_perm,
    _to_layout,
)


class ShapesMixin:
    """_op_<Type> methods of shape, layout and indexing ops."""

    # -- shapes --------------------------------------------------------------------------------------------
    def _op_Shape(self, node, ins, at):
        x = ins[0]
        start, end = int(at.get("start", 0)), at.get("end")
        sl = slice(start, None if end is None else int(end))
        v = self.cval(np.array(x.shape, np.int64)[sl])
        if x.dyn:
            v.alt = np.array([_ALT_DIM if i in x.dyn else d for i, d in enumerate(x.shape)], np.int64)[sl]
        return v

    def _op_Size(self, node, ins, at):
        x = ins[0]
        v = self.cval(np.array(int(np.prod(x.shape)), np.int64))
        if x.dyn:
            v.alt = np.array(int(np.prod([_ALT_DIM if i in x.dyn else d for i, d in enumerate(x.shape)])),
                             np.int64)
        return v

    def _flatten_2d(self, x: Val, target, dyn0: bool) -> Val:
        """x -> (target[0], target[1]) where target[0] == x.shape[0]: in x's layout when it keeps the first
        axis in front (column layout), else from the ONNX layout."""
        lay = x.perm_layout()
        n = -1 if dyn0 else target[0]
        if lay is not None and lay[0] == 0 and x.rank >= 2 and not (x.dyn - {0}):
            t = self.ir(x, lay)
            k = int(np.prod(x.shape[1:]))
            colperm = np.arange(k).reshape(x.shape[1:]).transpose([p - 1 for p in lay[1:]]).reshape(-1)
            y = self.reshape(t, (n, target[1]))
            if np.array_equal(colperm, np.arange(k)):
                return self.new(y, _ident(2), target, {0} if dyn0 else ())
            v = self.new(y, Cols(colperm), target, {0} if dyn0 else ())
            v.derive = lambda: self.reshape(self.ir(x), (n, target[1]))
            return v
        y = self.reshape(self.ir(x), (n, target[1]))
        return self.new(y, _ident(2), target, {0} if dyn0 else ())

    def _reshape_in_layout(self, x: Val, target, out_dyn=None) -> Val | None:
        """A reshape that only merges/splits groups of axes which are contiguous (and in order) in x's layout
        runs in that layout: e.g. channels-last (N, C, H, W) -> (N, C, H*W) gives (N, H*W, C) = layout
        (0, 2, 1), no transpose. None when the groups do not allow it (or x is in the ONNX layout anyway)."""
        lay = x.perm_layout()
        if lay is None or lay == _ident(x.rank) or x.const is not None:
            return None
        groups = _reshape_groups(x.shape, target)
        if groups is None:
            return None
        for a in x.dyn:  # a dynamic axis must stay a group of its own
            g = next(((gi, gj) for gi, gj in groups if a in gi), None)
            if g is None or g[0] != [a] or len(g[1]) != 1:
                return None
        pos = {p: i for i, p in enumerate(lay)}
        keyed = []
        prev = -1.0
        for gi, gj in groups:
            big = [a for a in gi if x.shape[a] != 1 or a in x.dyn]
            if not big:  # only size-1 axes: keep it right after the group before it
                prev += 1e-3
                keyed.append((prev, gj))
                continue
            ps = [pos[a] for a in big]
            if ps != sorted(ps):
                return None
            prev = float(ps[0])
            keyed.append((prev, gj, ps))
        # no other group's non-1 axis may sit between a group's first and last non-1 axis
        spans = [(k[2][0], k[2][-1]) for k in keyed if len(k) == 3]
        for a0, a1 in spans:
            for b0, b1 in spans:
                if (a0, a1) != (b0, b1) and a0 < b0 < a1:
                    return None
        order = [a for k in sorted(keyed, key=lambda k: k[0]) for a in k[1]]
        new_lay = tuple(order)
        dyn = {gj[0] for gi, gj in groups if len(gi) == 1 and gi[0] in x.dyn}
        if out_dyn is not None and dyn != set(out_dyn):
            return None
        shape = [-1 if a in dyn else target[a] for a in new_lay]
        t = self.ir(x, lay)
        return self.new(self.reshape(t, shape), new_lay, target, dyn)

    def _reshape_to_layout(self, x: Val, target, out_lay, out_dyn) -> Val | None:
        """The reshape as a RESHAPE producing `out_lay`, from x in the layout that makes it one (emitting at
        most one TRANSPOSE of x); None when no input layout does (an output group would be split)."""
        groups = _reshape_groups(x.shape, target)
        if groups is None:
            return None
        for a in x.dyn:
            g = next(((gi, gj) for gi, gj in groups if a in gi), None)
            if g is None or g[0] != [a] or len(g[1]) != 1:
                return None
        dyn = {gj[0] for gi, gj in groups if len(gi) == 1 and gi[0] in x.dyn}
        if dyn != set(out_dyn):
            return None
        pos = {a: i for i, a in enumerate(out_lay)}
        keyed, prev = [], -1.0
        for gi, gj in groups:
            big = [a for a in gj if target[a] != 1 or a in dyn]
            if not big:
                prev += 1e-3
                keyed.append((prev, gi))
                continue
            ps = [pos[a] for a in big]
            if ps != sorted(ps) or ps[-1] - ps[0] != len(ps) - 1:
                return None
            prev = float(ps[0])
            keyed.append((prev, gi))
        in_lay = tuple(a for _, gi in sorted(keyed, key=lambda k: k[0]) for a in gi)
        t = self.ir(x, in_lay)
        shape = [-1 if a in dyn else target[a] for a in out_lay]
        return self.new(self.reshape(t, shape), out_lay, target, dyn)

    def _op_Flatten(self, node, ins, at):
        x = ins[0]
        axis = int(at.get("axis", 1))
        if axis < 0:
            axis += x.rank
        target = (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))
        dyn0 = 0 in x.dyn and axis >= 1
        if x.dyn - {0}:
            raise self.err("flattening a dynamic dimension other than the batch is not supported")
        if axis == 1:
            return self._flatten_2d(x, target, dyn0)
        if axis == 0 and 0 in x.dyn:
            raise self.err("Flatten(axis=0) of a dynamic batch is not supported")
        if not x.dyn:
            v = self._reshape_in_layout(x, target)
            if v is not None:
                return v
        y = self.reshape(self.ir(x), (-1 if dyn0 else target[0], target[1]))
        return self.new(y, _ident(2), target, {0} if dyn0 else ())

    def _op_Reshape(self, node, ins, at):
        x, s = ins
        shape = self.ints_of(s, "the target shape")
        allowzero = int(at.get("allowzero", 0))
        target = []
        for i, d in enumerate(shape):
            target.append(x.shape[i] if (d == 0 and not allowzero) else d)
        size = int(np.prod(x.shape))
        if target.count(-1) > 1:
            raise self.err(f"target shape {shape} has more than one -1")
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = size // max(known, 1)
        if int(np.prod(target)) != size:
            raise self.err(f"cannot reshape {x.shape} to {tuple(shape)}")
        target = tuple(target)
        dyn = self._reshape_dyn(x, s, shape, allowzero)
        if target == x.shape and dyn == set(x.dyn):
            return x
        v = self._reshape_in_layout(x, target, dyn)
        if v is not None:
            return v
        lay = x.perm_layout()
        if len(target) == 4 and lay not in (None, _ident(x.rank)):
            # a channels-last value reshaped to 4-D (pixel shuffle, ...): produce channels-last directly
            v = self._reshape_to_layout(x, target, _cl(4), dyn)
            if v is not None:
                return v
        if len(target) == 2 and x.rank >= 2 and target[0] == x.shape[0] and dyn <= {0} and \
                (x.dyn <= {0}) and (0 in dyn) == (0 in x.dyn):
            return self._flatten_2d(x, target, 0 in dyn)
        out = [-1 if i in dyn else d for i, d in enumerate(target)]
        y = self.reshape(self.ir(x), out)
        return self.new(y, _ident(len(target)), target, dyn)

    def _reshape_dyn(self, x: Val, s: Val, shape, allowzero) -> set:
        """Output axes of a Reshape that follow x's dynamic size: copied by a 0 entry, computed from the
        dynamic dimension (a Shape chain), or else the -1 entry. More than one: none (static)."""
        if not x.dyn:
            return set()
        alt = None if s.alt is None else [int(a) for a in np.asarray(s.alt).reshape(-1)]
        dyn = set()
        for i, d in enumerate(shape):
            if (d == 0 and not allowzero and i in x.dyn) or (alt is not None and alt[i] != d):
                dyn.add(i)
        if not dyn and -1 in shape:
            dyn.add(shape.index(-1))
        return dyn if len(dyn) == 1 else set()

    def _op_Transpose(self, node, ins, at):
        x = ins[0]
        perm = [int(p) for p in at.get("perm", list(range(x.rank))[::-1])]
        if x.perm_layout() is None:
            self.ir(x)
        v = Val(self._tmp(), [x.shape[p] for p in perm], x.dtype, dyn={perm.index(a) for a in x.dyn})
        for q, t in x.forms.items():
            if _is_perm(q):
                v.forms[tuple(perm.index(qi) for qi in q)] = t
        return v

    def _axes_input(self, node, ins, at, idx=1):
        if "axes" in at:
            return [int(a) for a in at["axes"]]
        if len(ins) > idx and ins[idx] is not None:
            return self.ints_of(ins[idx], "axes")
        return None

    def _op_Squeeze(self, node, ins, at):
        x = ins[0]
        axes = self._axes_input(node, ins, at)
        if axes is None:
            axes = [i for i, d in enumerate(x.shape) if d == 1 and i not in x.dyn]
        axes = sorted({a % x.rank for a in axes})
        for a in axes:
            if x.shape[a] != 1 or a in x.dyn:
                raise self.err(f"cannot squeeze axis {a} of size {x.shape[a]}")
        if not axes:
            return x
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        new_lay = _drop_axes_perm(lay, axes)
        shape = [d for i, d in enumerate(t.shape) if lay[i] not in axes]
        static = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        dyn = {a - sum(1 for b in axes if b < a) for a in x.dyn}
        return self.new(self.reshape(t, shape), new_lay, static, dyn)

    def _op_Unsqueeze(self, node, ins, at):
        x = ins[0]
        axes = self._axes_input(node, ins, at)
        r = x.rank + len(axes)
        axes = sorted({a % r for a in axes})
        old = [i for i in range(r) if i not in axes]  # old axis k -> new axis old[k]
        static = [1] * r
        for k, i in enumerate(old):
            static[i] = x.shape[k]
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        new_lay = tuple(old[p] for p in lay) + tuple(axes)
        shape = list(t.shape) + [1] * len(axes)
        return self.new(self.reshape(t, shape), new_lay, static, {old[a] for a in x.dyn})

    def _op_Concat(self, node, ins, at):
        vals = [v for v in ins if v is not None and 0 not in v.shape]
        if not vals:
            return ins[0]
        r = vals[0].rank
        axis = int(at["axis"]) % r
        if axis in set().union(*[v.dyn for v in vals]):
            raise self.err("concatenation along a dynamic dimension is not supported")
        lay = self.pick_layout(vals, r, allow_cols=False)
        dt = next((v.dtype for v in vals if v.const is None), vals[0].dtype)
        ts = []
        for v in vals:
            if v.const is not None:
                ts.append(self.cconst(_to_layout(v.const.astype(dt), lay, r), name="const"))
            else:
                ts.append(self.ir(v, lay))
        static = list(vals[0].shape)
        static[axis] = sum(v.shape[axis] for v in vals)
        if len(ts) == 1:
            return vals[0]
        y = self.em.concat(ts, lay.index(axis))
        dyn = set().union(*[v.dyn for v in vals if v.const is None])
        return self.new(y, lay, static, dyn)

    def _op_Split(self, node, ins, at):
        x = ins[0]
        axis = int(at.get("axis", 0)) % x.rank
        n = len(node.output)
        if "split" in at:
            sizes = [int(s) for s in at["split"]]
        elif len(ins) > 1 and ins[1] is not None:
            sizes = self.ints_of(ins[1], "split")
        else:
            d = x.shape[axis]
            k = int(at.get("num_outputs", n))
            per = -(-d // k)
            sizes = [per] * (k - 1) + [d - per * (k - 1)]
        if sum(sizes) != x.shape[axis] or axis in x.dyn:
            raise self.err(f"cannot split {x.shape} into {sizes} along axis {axis}")
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        ia = lay.index(axis)
        shapes = []
        for s in sizes:
            sh = list(t.shape)
            sh[ia] = s
            shapes.append(sh)
        if len(set(sizes)) == 1:
            ax = self.cconst(np.array([ia], np.int32), name="axis")
            outs = self.em.op("SPLIT", [ax, t], shapes, {"numSplits": len(sizes)})
        else:
            ss = self.cconst(np.array(sizes, np.int32), name="size_splits")
            ax = self.cconst(np.array([ia], np.int32), name="axis")
            outs = self.em.op("SPLIT_V", [t, ss, ax], shapes, {"numSplits": len(sizes)})
        res = []
        for s, o in zip(sizes, outs):
            st = list(x.shape)
            st[axis] = s
            res.append(self.new(o, lay, st, x.dyn))
        return res

    def _op_Slice(self, node, ins, at):
        x = ins[0]
        r = x.rank
        if self.opset < 10:
            starts, ends = [int(v) for v in at["starts"]], [int(v) for v in at["ends"]]
            axes = [int(v) for v in at.get("axes", range(len(starts)))]
            steps = [1] * len(starts)
        else:
            starts = self.ints_of(ins[1], "starts")
            ends = self.ints_of(ins[2], "ends")
            given = [len(ins) > k and ins[k] is not None for k in (3, 4)]
            axes = self.ints_of(ins[3], "axes") if given[0] else list(range(len(starts)))
            steps = self.ints_of(ins[4], "steps") if given[1] else [1] * len(starts)
        lay = x.perm_layout() or _ident(r)
        t = self.ir(x, lay)
        begin, end, strides = [0] * r, [0] * r, [1] * r
        bmask = emask = (1 << r) - 1
        static = list(x.shape)
        changed = False
        for s, e, a, st in zip(starts, ends, axes, steps):
            a %= r
            if st == 0:
                raise self.err("slice step 0")
            d = x.shape[a]
            b_, e_, st_ = slice(s, e, st).indices(d)
            n = len(range(b_, e_, st_))
            if n == d and st_ == 1:
                continue
            if a in x.dyn:
                raise self.err(f"slicing the dynamic axis {a} is not supported")
            changed = True
            ia = lay.index(a)
            static[a] = n
            begin[ia], strides[ia] = b_, st_
            bmask &= ~(1 << ia)
            if st_ < 0 and e_ < 0:
                end[ia] = 0
            else:
                end[ia] = e_
                emask &= ~(1 << ia)
        if not changed:
            return x
        shape = tuple(-1 if lay[i] in x.dyn else static[lay[i]] for i in range(r))
        em = self.em
        y = em.op1("STRIDED_SLICE", [t, self.cconst(np.array(begin, np.int32), name="begin"),
                                     self.cconst(np.array(end, np.int32), name="end"),
                                     self.cconst(np.array(strides, np.int32), name="strides")], shape,
                   {"beginMask": bmask, "endMask": emask, "ellipsisMask": 0, "newAxisMask": 0,
                    "shrinkAxisMask": 0, "offset": False})
        return self.new(y, lay, static, x.dyn)

    def _op_Gather(self, node, ins, at):
        data, idx = ins
        r = data.rank
        axis = int(at.get("axis", 0)) % r
        if idx.const is not None:
            ids = np.asarray(idx.const).astype(np.int64)
            d = data.shape[axis]
            if axis in data.dyn:
                raise self.err("gathering along a dynamic axis is not supported")
            if np.any(ids < -d) or np.any(ids >= d):
                raise self.err(f"indices out of range for axis {axis} of size {d}")
            ids = np.where(ids < 0, ids + d, ids)
            lay = data.perm_layout() or _ident(r)
            if ids.ndim <= 1:
                t = self.ir(data, lay)
                ia = lay.index(axis)
                if ids.ndim == 0:
                    k = int(ids)
                    begin = [0] * r
                    end = [0] * r
                    begin[ia], end[ia] = k, k + 1
                    shape = [s for i, s in enumerate(t.shape) if i != ia]
                    mask = ((1 << r) - 1) & ~(1 << ia)
                    y = self.em.op1("STRIDED_SLICE",
                                    [t, self.cconst(np.array(begin, np.int32), name="begin"),
                                     self.cconst(np.array(end, np.int32), name="end"),
                                     self.cconst(np.ones(r, np.int32), name="strides")], shape,
                                    {"beginMask": mask, "endMask": mask, "ellipsisMask": 0, "newAxisMask": 0,
                                     "shrinkAxisMask": 1 << ia, "offset": False})
                    static = [s for i, s in enumerate(data.shape) if i != axis]
                    dyn = {a - (a > axis) for a in data.dyn}
                    return self.new(y, _drop_axes_perm(lay, {axis}), static, dyn)
                shape = list(t.shape)
                shape[ia] = ids.size
                y = self.em.op1("GATHER", [t, self.cconst(ids.astype(np.int32), name="indices")], shape,
                                {"axis": ia, "batchDims": 0})
                static = list(data.shape)
                static[axis] = ids.size
                return self.new(y, lay, static, data.dyn)
            idx_t = self.cconst(ids.astype(np.int32), name="indices")
        else:
            idx_t = self.ir(idx)
            if idx_t.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
                raise self.err(f"indices of type {idx_t.dtype} are not supported")
            if axis in data.dyn:
                raise self.err("gathering along a dynamic axis is not supported")
            # ONNX counts negative indices from the end; TFLite's GATHER refuses them
            # of the indices' rank, so a 0-d index (a Loop's iteration number) stays 0-d
            size = np.array(data.shape[axis], idx_t.dtype).reshape((1,) * len(idx_t.shape))
            d = self.g.const(self.em._name("axis_size"), size)
            idx_t = self.em.op1("FLOOR_MOD", [idx_t, d], idx_t.shape)
        t = self.ir(data)
        shape = list(t.shape[:axis]) + list(idx_t.shape) + list(t.shape[axis + 1:])
        y = self.em.op1("GATHER", [t, idx_t], shape, {"axis": axis, "batchDims": 0}, dtype=t.dtype)
        static = list(data.shape[:axis]) + list(idx.shape) + list(data.shape[axis + 1:])
        dyn = {a for a in data.dyn if a < axis} | {a + idx.rank - 1 for a in data.dyn if a > axis}
        if idx.const is None:
            dyn |= {a + axis for a in idx.dyn}
        return self.new(y, _ident(len(static)), static, dyn)

    def _op_Pad(self, node, ins, at):
        x = ins[0]
        r = x.rank
        mode = at.get("mode", "constant")
        if self.opset < 11:
            pads = [int(p) for p in at["pads"]]
            value = float(at.get("value", 0.0))
            axes = list(range(r))
        else:
            pads = self.ints_of(ins[1], "pads")
            value = 0.0
            if len(ins) > 2 and ins[2] is not None:
                cv = np.asarray(self.const_of(ins[2], "constant_value")).reshape(-1)
                value = float(cv[0]) if cv.size else 0.0
            axes = self.ints_of(ins[3], "axes") if len(ins) > 3 and ins[3] is not None else list(range(r))
        axes = [a % r for a in axes]
        n = len(axes)
        per = [[0, 0] for _ in range(r)]
        for k, a in enumerate(axes):
            per[a] = [pads[k], pads[k + n]]
        if any(p < 0 for pp in per for p in pp):
            raise self.err("negative pads (cropping) are not supported")
        if any(per[a] != [0, 0] for a in x.dyn):
            raise self.err("padding a dynamic dimension is not supported" + self.dynamic_inputs_hint())
        if all(pp == [0, 0] for pp in per):
            return x
        lay = x.perm_layout() or _ident(r)
        t = self.ir(x, lay)
        ir_pads = [per[p] for p in lay]
        static = [d + sum(per[i]) for i, d in enumerate(x.shape)]
        shape = [d if d < 0 else d + sum(p) for d, p in zip(t.shape, ir_pads)]
        if mode == "constant":
            if value == 0.0:
                y = self.em.op1("PAD", [t, self.cconst(np.array(ir_pads, np.int32), name="paddings")], shape)
            else:
                y = self.em.op1("PADV2", [t, self.cconst(np.array(ir_pads, np.int32), name="paddings"),
                                          self.cconst(np.array([value], t.dtype), name="value")], shape)
        elif mode == "reflect":
            for i, (b, e) in enumerate(ir_pads):
                if max(b, e) >= max(t.shape[i], 1):
                    raise self.err("reflect padding wider than the input")
            pc = self.cconst(np.array(ir_pads, np.int32), name="paddings")
            y = self.em.op1("MIRROR_PAD", [t, pc], shape, {"mode": 0})
        elif mode == "edge":
            y = t
            for i, (b, e) in enumerate(ir_pads):
                if b == 0 and e == 0:
                    continue
                d = t.shape[i]
                ids = np.clip(np.arange(-b, d + e), 0, d - 1).astype(np.int32)
                sh = list(y.shape)
                sh[i] = ids.size
                y = self.em.op1("GATHER", [y, self.cconst(ids, name="indices")], sh,
                                {"axis": i, "batchDims": 0})
        else:
            raise self.err(f"pad mode {mode!r} is not supported")
        return self.new(y, lay, static, x.dyn)

    def _op_Expand(self, node, ins, at):
        x, s = ins
        shape = self.ints_of(s, "shape")
        static = tuple(int(d) for d in np.broadcast_shapes(x.shape, tuple(shape)))
        if static == x.shape:
            return x
        r = len(static)
        if x.rank == r:
            lay = x.perm_layout() or _ident(r)
            t = self.ir(x, lay)
        else:
            lay = _ident(r)
            t = self.reshape(self.ir(x), (1,) * (r - x.rank) + tuple(self.ir(x).shape))
        target = [static[p] for p in lay]
        y = self.em.op1("BROADCAST_TO", [t, self.cconst(np.array(target, np.int32), name="shape")], target)
        self.g.ops[-1].version = 2  # LiteRT registers BROADCAST_TO from version 2
        return self.new(y, lay, static, self._dyn_aligned(x, r))

    def _op_Tile(self, node, ins, at):
        x, rep = ins
        reps = self.ints_of(rep, "repeats")
        lay = x.perm_layout() or _ident(x.rank)
        t = self.ir(x, lay)
        m = [reps[p] for p in lay]
        shape = [d * k if d > 0 else d for d, k in zip(t.shape, m)]
        y = self.em.op1("TILE", [t, self.cconst(np.array(m, np.int32), name="multiples")], shape)
        return self.new(y, lay, [d * k for d, k in zip(x.shape, reps)], x.dyn)

    def _op_ConstantOfShape(self, node, ins, at):
        raise self.err("ConstantOfShape needs a constant shape")

    def _op_DepthToSpace(self, node, ins, at):
        x = ins[0]
        b = int(at["blocksize"])
        mode = at.get("mode", "DCR")
        n, c, h, w = x.shape
        t = self.ir(x, _cl(4))
        if mode == "CRD":
            cc = c // (b * b)
            ids = np.array([ci * b * b + i * b + j for i in range(b) for j in range(b) for ci in range(cc)],
                           np.int32)
            t = self.em.op1("GATHER", [t, self.cconst(ids, name="indices")], t.shape,
                            {"axis": 3, "batchDims": 0})
        y = self.em.op1("DEPTH_TO_SPACE", [t], [t.shape[0], h * b, w * b, c // (b * b)], {"blockSize": b})
        return self.new(y, _cl(4), (n, c // (b * b), h * b, w * b), x.dyn)

    def _op_SpaceToDepth(self, node, ins, at):
        x = ins[0]
        b = int(at["blocksize"])
        n, c, h, w = x.shape
        t = self.ir(x, _cl(4))
        y = self.em.op1("SPACE_TO_DEPTH", [t], [t.shape[0], h // b, w // b, c * b * b], {"blockSize": b})
        if at.get("mode", "DCR") == "CRD":  # channel c * b * b + i * b + j instead of (i * b + j) * C + c
            ids = np.array([(i * b + j) * c + ci for ci in range(c) for i in range(b) for j in range(b)],
                           np.int32)
            y = self.em.op1("GATHER", [y, self.cconst(ids, name="indices")], y.shape,
                            {"axis": 3, "batchDims": 0})
        return self.new(y, _cl(4), (n, c * b * b, h // b, w // b), x.dyn)


def _reshape_groups(src, dst):
    """Pair consecutive axes of two shapes of equal size into groups with equal products:
    [(src axes, dst axes), ...], or None."""
    i = j = 0
    groups = []
    while i < len(src) or j < len(dst):
        gi, gj, ps, pd = [], [], 1, 1
        if i < len(src):
            gi.append(i)
            ps *= src[i]
            i += 1
        if j < len(dst):
            gj.append(j)
            pd *= dst[j]
            j += 1
        while ps != pd:
            if ps < pd:
                if i >= len(src):
                    return None
                gi.append(i)
                ps *= src[i]
                i += 1
            else:
                if j >= len(dst):
                    return None
                gj.append(j)
                pd *= dst[j]
                j += 1
        groups.append((gi, gj))
    return groups
