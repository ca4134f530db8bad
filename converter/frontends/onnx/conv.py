"""Convolution, pooling and resizing, all channels-last: Conv (1-D/2-D, groups, depthwise, dilations,
auto_pad, asymmetric pads), ConvTranspose, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool,
Resize and Upsample (nearest, linear; the coordinate transformation modes)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.frontends.onnx.layout import _LOWEST, Val, _cl
from edgerun.converter.ir import SAME, VALID, Tensor


class ConvPoolMixin:
    """_op_<Type> methods of convolutions, pooling and resize."""

    # -- convolutions ----------------------------------------------------------------------------------------
    def _spatial(self, node, x, k_hw, at, transposed=False):
        """Common conv/pool attributes over 1 or 2 spatial dims, as 2-D lists."""
        ns = x.rank - 2
        if ns not in (1, 2):
            raise self.err(f"{ns}-D spatial inputs are not supported (1-D and 2-D are)")
        strides = [int(s) for s in at.get("strides", [1] * ns)]
        dil = [int(d) for d in at.get("dilations", [1] * ns)]
        pads = [int(p) for p in at.get("pads", [0] * (2 * ns))]
        if ns == 1:
            strides, dil = [1] + strides, [1] + dil
            pads = [0, pads[0], 0, pads[1]]
        return strides, dil, pads

    def _to4d(self, x: Val) -> Tensor:
        """x channels-last as a 4-D IR tensor (a 1-D spatial input gets H = 1)."""
        t = self.ir(x, _cl(x.rank))
        if x.rank == 3:
            t = self.reshape(t, (t.shape[0], 1, t.shape[1], t.shape[2]))
        return t

    def _from4d(self, y: Tensor, x: Val, c_out: int) -> Val:
        n = x.shape[0]
        if x.rank == 3:
            y3 = self.reshape(y, (y.shape[0], y.shape[2], y.shape[3]))
            return self.new(y3, _cl(3), (n, c_out, y.shape[2]), {0} & x.dyn)
        return self.new(y, _cl(4), (n, c_out, y.shape[1], y.shape[2]), {0} & x.dyn)

    def _padding(self, in_hw, k_hw, strides, dil, pads, auto_pad):
        """(TFLite padding, explicit [[top, bottom], [left, right]] or None, output size) for ONNX pads."""
        eff = [(k - 1) * d + 1 for k, d in zip(k_hw, dil)]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pb, pe = [], []
            for i in range(2):
                out = -(-in_hw[i] // strides[i])
                total = max((out - 1) * strides[i] + eff[i] - in_hw[i], 0)
                lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
                pb.append(lo)
                pe.append(total - lo)
        elif auto_pad == "VALID":
            pb, pe = [0, 0], [0, 0]
        else:
            pb, pe = [pads[0], pads[1]], [pads[2], pads[3]]
        out = [(in_hw[i] + pb[i] + pe[i] - eff[i]) // strides[i] + 1 for i in range(2)]
        if min(out) < 1:
            raise self.err(f"the window is larger than the padded input (output size {out})"
                           + self.dynamic_inputs_hint())
        if pb == [0, 0] and pe == [0, 0]:
            return VALID, None, out
        same = True
        for i in range(2):
            o = -(-in_hw[i] // strides[i])
            total = max((o - 1) * strides[i] + eff[i] - in_hw[i], 0)
            if o != out[i] or total // 2 != pb[i]:
                same = False
        if same:
            return SAME, None, out
        return VALID, [[pb[0], pe[0]], [pb[1], pe[1]]], out

    def _pad4d(self, t: Tensor, hw_pads, value=None) -> Tensor:
        p = [[0, 0], hw_pads[0], hw_pads[1], [0, 0]]
        shape = [t.shape[0], t.shape[1] + sum(hw_pads[0]), t.shape[2] + sum(hw_pads[1]), t.shape[3]]
        pc = self.cconst(np.array(p, np.int32), name="paddings")
        if value is None:
            return self.em.op1("PAD", [t, pc], shape)
        pv = self.cconst(np.array([value], np.float32), name="pad_value")
        return self.em.op1("PADV2", [t, pc, pv], shape)

    def _op_Conv(self, node, ins, at):
        x, wv = ins[0], ins[1]
        bv = ins[2] if len(ins) > 2 else None
        W = np.asarray(self.const_of(wv, "the weights"), np.float32)
        B = None if bv is None else np.asarray(self.const_of(bv, "the bias"), np.float32)
        if x.rank == 3:
            W = W[:, :, None, :]
        if W.ndim != 4 or x.rank not in (3, 4):
            raise self.err(f"input {x.shape} / weights {W.shape}: only 1-D and 2-D convolutions are "
                           "supported")
        strides, dil, pads = self._spatial(node, x, W.shape[2:], at)
        group = int(at.get("group", 1))
        cin = x.shape[1]
        m = W.shape[0]
        if W.shape[1] * group != cin or m % group:
            raise self.err(f"weights {W.shape} do not match {cin} input channels in {group} groups")
        t = self._to4d(x)
        padding, explicit, _ = self._padding(t.shape[1:3], W.shape[2:], strides, dil, pads,
                                               at.get("auto_pad", "NOTSET"))
        if explicit is not None:
            t = self._pad4d(t, explicit)
        em = self.em
        bias = None if B is None else em.const(B, np.float32, "bias")
        fold = []
        if group == 1:
            w = em.const(W.transpose(0, 2, 3, 1), np.float32, "weights")
            y = em.conv2d(t, w, bias, strides, dil, padding)
            fold.append((em.g.ops[-1], 1, 2, 0, 0, m))
        elif group == cin and W.shape[1] == 1:
            mult = m // cin
            w = em.const(W.reshape(m, W.shape[2], W.shape[3]).transpose(1, 2, 0)[None], np.float32, "weights")
            y = em.depthwise_conv2d(t, w, bias, mult, strides, dil, padding)
            fold.append((em.g.ops[-1], 1, 2, 3, 0, m))
        else:
            xs = em.split(t, group, axis=3)
            per = m // group
            ys = []
            for gi, xg in enumerate(xs):
                wg = np.ascontiguousarray(W[gi * per:(gi + 1) * per].transpose(0, 2, 3, 1))
                wg = em.const(wg, np.float32, f"weights_g{gi}")
                bg = None if B is None else em.const(B[gi * per:(gi + 1) * per], np.float32, f"bias_g{gi}")
                ys.append(em.conv2d(xg, wg, bg, strides, dil, padding))
                fold.append((em.g.ops[-1], 1, 2, 0, gi * per, per))
            y = em.concat(ys, axis=3)
        v = self._from4d(y, x, m)
        v.fold = fold
        return v

    def _op_ConvTranspose(self, node, ins, at):
        x, wv = ins[0], ins[1]
        bv = ins[2] if len(ins) > 2 else None
        W = np.asarray(self.const_of(wv, "the weights"), np.float32)  # (Cin, Cout/g, kh, kw)
        B = None if bv is None else np.asarray(self.const_of(bv, "the bias"), np.float32)
        if x.rank == 3:
            W = W[:, :, None, :]
        if W.ndim != 4 or x.rank not in (3, 4):
            raise self.err("only 1-D and 2-D transposed convolutions are supported")
        ns = x.rank - 2
        strides, dil, pads = self._spatial(node, x, W.shape[2:], at, transposed=True)
        if any(d != 1 for d in dil):
            raise self.err("dilated transposed convolutions are not supported")
        group = int(at.get("group", 1))
        opad = [int(p) for p in at.get("output_padding", [0] * ns)]
        if ns == 1:
            opad = [0] + opad
        cin, per = W.shape[0], W.shape[1]
        if cin != x.shape[1] or cin % group:
            raise self.err(f"weights {W.shape} do not match {x.shape[1]} input channels")
        m = per * group
        t = self._to4d(x)
        in_hw = t.shape[1:3]
        k = W.shape[2:]
        full = [strides[i] * (in_hw[i] - 1) + k[i] for i in range(2)]
        auto = at.get("auto_pad", "NOTSET")
        if "output_shape" in at:
            osz = [int(s) for s in at["output_shape"]][-ns:]
            if ns == 1:
                osz = [1] + osz
            pb = []
            for i in range(2):
                total = full[i] + opad[i] - osz[i]
                pb.append(total // 2 if auto == "SAME_UPPER" else total - total // 2)
            out = osz
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            out = [in_hw[i] * strides[i] for i in range(2)]
            pb = []
            for i in range(2):
                total = full[i] + opad[i] - out[i]
                pb.append(total // 2 if auto == "SAME_UPPER" else total - total // 2)
        else:
            if auto == "VALID":
                pads = [0, 0, 0, 0]
            pb = [pads[0], pads[1]]
            out = [full[i] + opad[i] - pads[i] - pads[i + 2] for i in range(2)]
        if min(out) < 1 or min(pb) < 0:
            raise self.err(f"unsupported output size {out} / padding {pb}")
        em = self.em
        n = t.shape[0]

        def tconv(xt, Wg, Bg, size, padding):
            # (out, kh, kw, in)
            w = em.const(np.ascontiguousarray(Wg.transpose(1, 2, 3, 0)), np.float32, "weights")
            b = None if Bg is None else em.const(Bg, np.float32, "bias")
            shape = [n, int(size[0]), int(size[1]), Wg.shape[1]]
            if n < 0:  # a dynamic batch: output_shape = [batch of xt] + [h, w, c], computed at run time
                batch = em.slice(em.op1("SHAPE", [xt], [4], {"outType": 2}, dtype=np.int32), [0], [1])
                os_ = em.concat([batch, em.const(np.array(shape[1:], np.int32), np.int32, "output_hwc")], axis=0)
            else:
                os_ = self.cconst(np.array(shape, np.int32), name="output_shape")
            y = em.op1("TRANSPOSE_CONV", [os_, w, xt, b], shape,
                       {"padding": padding, "strideH": int(strides[0]), "strideW": int(strides[1]),
                        "fusedActivationFunction": 0}, dtype=xt.dtype)
            return y, em.g.ops[-1]

        same = True
        for i in range(2):
            o = out[i]
            total = max((-(-o // strides[i]) - 1) * strides[i] + k[i] - o, 0)
            if -(-o // strides[i]) != in_hw[i] or total // 2 != pb[i]:
                same = False
        if same:
            padding, size, crop = SAME, out, None
        else:
            # TFLite wants (size - k) // s + 1 == input size for VALID: compute at least the full output, then
            # crop the ONNX window (positions past the full output, from output_padding, only get the bias)
            size = [max(full[i], pb[i] + out[i]) for i in range(2)]
            if any(size[i] > full[i] + strides[i] - 1 for i in range(2)):
                raise self.err(f"output size {out} with padding {pb} is not supported")
            padding = VALID
            crop = None if (size == out and pb == [0, 0]) else pb
        xs = [t] if group == 1 else em.split(t, group, axis=3)
        ys, fold = [], []
        cg = cin // group
        for gi, xg in enumerate(xs):
            Wg = W[gi * cg:(gi + 1) * cg]
            Bg = None if B is None else B[gi * per:(gi + 1) * per]
            y, op = tconv(xg, Wg, Bg, size, padding)
            ys.append(y)
            fold.append((op, 1, 3, 0, gi * per, per))
        y = em.concat(ys, axis=3) if len(ys) > 1 else ys[0]
        if crop is not None:
            b_ = self.cconst(np.array([0, crop[0], crop[1], 0], np.int32), name="begin")
            s_ = self.cconst(np.array([-1, out[0], out[1], -1], np.int32), name="size")
            y = em.op1("SLICE", [y, b_, s_], [y.shape[0], out[0], out[1], y.shape[3]])
        v = self._from4d(y, x, m)
        v.fold = fold if crop is None else None
        return v

    def _pool_attrs(self, node, x, at):
        ns = x.rank - 2
        k = [int(v) for v in at["kernel_shape"]]
        if ns not in (1, 2) or len(k) != ns:
            raise self.err("only 1-D and 2-D pooling is supported")
        if any(int(d) != 1 for d in at.get("dilations", [1] * ns)):
            raise self.err("dilated pooling is not supported")
        strides, _, pads = self._spatial(node, x, k, at)
        if ns == 1:
            k = [1] + k
        return k, strides, pads

    def _op_MaxPool(self, node, ins, at):
        if len(node.output) > 1 and node.output[1] and self.uses.get(node.output[1]):
            raise self.err("the Indices output of MaxPool is not supported")
        x = ins[0]
        k, strides, pads = self._pool_attrs(node, x, at)
        t = self._to4d(x)
        padding, explicit, _ = self._pool_padding(t, k, strides, pads, at)
        if explicit is not None:
            t = self._pad4d(t, explicit, _LOWEST)
        y = self.em.pool2d("MAX_POOL_2D", t, k, strides, padding)
        return [self._from4d(y, x, x.shape[1]), None]

    def _pool_padding(self, t, k, strides, pads, at):
        in_hw = t.shape[1:3]
        padding, explicit, out = self._padding(in_hw, k, strides, [1, 1], pads, at.get("auto_pad", "NOTSET"))
        if int(at.get("ceil_mode", 0)):
            if padding == SAME and explicit is None:
                total = [max((out[i] - 1) * strides[i] + k[i] - in_hw[i], 0) for i in range(2)]
                explicit = [[total[i] // 2, total[i] - total[i] // 2] for i in range(2)]
            elif explicit is None:
                explicit = [[0, 0], [0, 0]]
            new_out, changed = [], False
            for i in range(2):
                lo, hi = explicit[i]
                span = in_hw[i] + lo + hi - k[i]
                o = -(-span // strides[i]) + 1
                if (o - 1) * strides[i] >= in_hw[i] + lo:  # the last window must start inside
                    o -= 1
                extra = max((o - 1) * strides[i] + k[i] - (in_hw[i] + lo + hi), 0)
                if extra:
                    explicit[i] = [lo, hi + extra]
                    changed = True
                new_out.append(o)
            if changed or explicit != [[0, 0], [0, 0]]:
                if not changed and padding == SAME:
                    return SAME, None, new_out
                return VALID, explicit, new_out
            return VALID, None, new_out
        return padding, explicit, out

    def _op_AveragePool(self, node, ins, at):
        x = ins[0]
        k, strides, pads = self._pool_attrs(node, x, at)
        t = self._to4d(x)
        include = bool(int(at.get("count_include_pad", 0)))
        in_hw = t.shape[1:3]
        padding, explicit, out = self._pool_padding(t, k, strides, pads, at)
        em = self.em
        if explicit is None and (padding == VALID or not include):
            y = em.pool2d("AVERAGE_POOL_2D", t, k, strides, padding)
            return self._from4d(y, x, x.shape[1])
        if explicit is None:  # SAME with count_include_pad: make the padding explicit
            total = [max((out[i] - 1) * strides[i] + k[i] - in_hw[i], 0) for i in range(2)]
            explicit = [[total[i] // 2, total[i] - total[i] // 2] for i in range(2)]
        # the ONNX pads (without the ceil-mode extension) bound what count_include_pad counts
        if at.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER", "VALID"):
            onnx_pads = None
        else:
            onnx_pads = [[pads[0], pads[2]], [pads[1], pads[3]]]
        tp = self._pad4d(t, explicit)
        y = em.pool2d("AVERAGE_POOL_2D", tp, k, strides, VALID)
        counts = []
        for i in range(2):
            lo, hi = explicit[i]
            if include:
                olo, ohi = onnx_pads[i] if onnx_pads is not None else (lo, hi)
                valid_lo, valid_hi = -olo, in_hw[i] + ohi
            else:
                valid_lo, valid_hi = 0, in_hw[i]
            c = []
            for o in range(out[i]):
                s = o * strides[i] - lo
                c.append(max(min(s + k[i], valid_hi) - max(s, valid_lo), 0))
            counts.append(np.array(c, np.float64))
        cnt = np.outer(counts[0], counts[1])
        if np.any(cnt == 0):
            raise self.err("a pooling window covers no input")
        factor = (k[0] * k[1] / cnt).astype(np.float32)
        if not np.allclose(factor, 1.0):
            y = em.mul(y, em.const(factor.reshape(out[0], out[1], 1), np.float32, "count_scale"))
        return self._from4d(y, x, x.shape[1])

    def _global_pool(self, x, type):
        if x.rank < 3:
            raise self.err(f"input {x.shape} has no spatial dimensions")
        return self.reduce(type, x, list(range(2, x.rank)), True)

    def _op_GlobalAveragePool(self, node, ins, at):
        return self._global_pool(ins[0], "MEAN")

    def _op_GlobalMaxPool(self, node, ins, at):
        return self._global_pool(ins[0], "REDUCE_MAX")

    # -- resize ----------------------------------------------------------------------------------------------
    def _op_Upsample(self, node, ins, at):
        x = ins[0]
        scales = at.get("scales")
        if scales is None:
            scales = [float(s) for s in np.asarray(self.const_of(ins[1], "scales")).reshape(-1)]
        mode = at.get("mode", "nearest")
        return self._resize(x, [float(s) for s in scales], None, mode, "asymmetric", "simple")

    def _op_Resize(self, node, ins, at):
        x = ins[0]
        if self.opset < 11:
            scales_v, sizes_v = ins[1], None
            default_ctm = "asymmetric"
        else:
            scales_v = ins[2] if len(ins) > 2 else None
            sizes_v = ins[3] if len(ins) > 3 else None
            default_ctm = "half_pixel"
        scales = sizes = None
        if sizes_v is not None and np.size(self.const_of(sizes_v, "sizes")):
            sizes = self.ints_of(sizes_v, "sizes")
        elif scales_v is not None and np.size(self.const_of(scales_v, "scales")):
            scales = [float(s) for s in np.asarray(scales_v.const).reshape(-1)]
        else:
            raise self.err("needs scales or sizes")
        axes = at.get("axes")
        if axes is not None:
            full_sc = [1.0] * x.rank
            full_sz = list(x.shape)
            for k, a in enumerate(axes):
                if scales is not None:
                    full_sc[a % x.rank] = scales[k]
                else:
                    full_sz[a % x.rank] = sizes[k]
            scales = full_sc if scales is not None else None
            sizes = full_sz if sizes is not None else None
        if int(at.get("antialias", 0)):
            raise self.err("antialias=1 is not supported")
        if at.get("keep_aspect_ratio_policy", "stretch") != "stretch" and sizes is not None:
            raise self.err("keep_aspect_ratio_policy other than 'stretch' is not supported")
        mode = at.get("mode", "nearest")
        ctm = at.get("coordinate_transformation_mode", default_ctm)
        nearest = at.get("nearest_mode", "round_prefer_floor") if self.opset >= 11 else "simple"
        return self._resize(x, scales, sizes, mode, ctm, nearest)

    def _resize(self, x, scales, sizes, mode, ctm, nearest_mode):
        if x.rank != 4:
            raise self.err(f"only 4-D (N, C, H, W) inputs can be resized, got {x.shape}")
        if sizes is not None:
            out = [int(s) for s in sizes]
            sc = [out[i] / x.shape[i] for i in range(4)]
        else:
            sc = list(scales)
            out = [int(np.floor(np.float32(x.shape[i]) * np.float32(sc[i]))) for i in range(4)]
        if out[0] != x.shape[0] or out[1] != x.shape[1]:
            raise self.err("resizing the batch or channel dimension is not supported")
        if out[2:] == list(x.shape[2:]) and all(abs(s - 1.0) < 1e-9 for s in sc[2:]):
            return x
        in_hw = x.shape[2:]
        t = self.ir(x, _cl(4))
        em = self.em
        if mode == "linear" or mode == "bilinear":
            for i in range(2):
                if abs(sc[2 + i] * in_hw[i] - out[2 + i]) > 1e-4 * out[2 + i] and ctm != "align_corners":
                    raise self.err(f"scale {sc[2 + i]} does not give an integral size from {in_hw[i]}")
            if ctm == "align_corners":
                flags = (True, False)
            elif ctm == "half_pixel" or (ctm == "pytorch_half_pixel" and min(out[2:]) > 1):
                flags = (False, True)
            elif ctm == "asymmetric":
                flags = (False, False)
            else:
                raise self.err(f"coordinate_transformation_mode {ctm!r} is not supported for linear resizing")
            y = em.resize("RESIZE_BILINEAR", t, out[2:], align_corners=flags[0], half_pixel_centers=flags[1])
            return self.new(y, _cl(4), out, x.dyn)
        if mode != "nearest":
            raise self.err(f"resize mode {mode!r} is not supported (nearest, linear)")
        maps = [self._onnx_nearest(in_hw[i], out[2 + i], sc[2 + i], ctm, nearest_mode) for i in range(2)]
        for ac, hp in ((False, False), (False, True), (True, False), (True, True)):
            if all(np.array_equal(maps[i], _tfl_nearest(in_hw[i], out[2 + i], ac, hp)) for i in range(2)):
                y = em.resize("RESIZE_NEAREST_NEIGHBOR", t, out[2:], align_corners=ac, half_pixel_centers=hp)
                return self.new(y, _cl(4), out, x.dyn)
        y = t
        for i in range(2):
            sh = list(y.shape)
            sh[1 + i] = out[2 + i]
            y = em.op1("GATHER", [y, self.cconst(maps[i].astype(np.int32), name="indices")], sh,
                       {"axis": 1 + i, "batchDims": 0})
        return self.new(y, _cl(4), out, x.dyn)

    def _onnx_nearest(self, n_in, n_out, scale, ctm, nearest_mode):
        o = np.arange(n_out, dtype=np.float32)
        s = np.float32(scale)
        if ctm == "half_pixel":
            xo = (o + np.float32(0.5)) / s - np.float32(0.5)
        elif ctm == "pytorch_half_pixel":
            xo = (o + np.float32(0.5)) / s - np.float32(0.5) if n_out > 1 else np.zeros_like(o)
        elif ctm == "align_corners":
            xo = o * np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros_like(o)
        elif ctm == "asymmetric":
            xo = o / s
        elif ctm == "tf_half_pixel_for_nn":
            xo = (o + np.float32(0.5)) / s
        else:
            raise self.err(f"coordinate_transformation_mode {ctm!r} is not supported for nearest resizing")
        if nearest_mode == "round_prefer_floor":
            idx = np.ceil(xo - np.float32(0.5))
        elif nearest_mode == "round_prefer_ceil":
            idx = np.floor(xo + np.float32(0.5))
        elif nearest_mode == "floor":
            idx = np.floor(xo)
        elif nearest_mode == "ceil":
            idx = np.ceil(xo)
        elif nearest_mode == "simple":  # Upsample, Resize-10: floor when upsampling, ceil when downsampling
            idx = np.floor(xo) if scale >= 1 else np.ceil(xo)
        else:
            raise self.err(f"nearest_mode {nearest_mode!r} is not supported")
        return np.clip(idx, 0, n_in - 1).astype(np.int64)


def _tfl_nearest(n_in, n_out, align_corners, half_pixel):
    """TFLite's RESIZE_NEAREST_NEIGHBOR source index per output position."""
    if align_corners and n_out > 1:
        scale = np.float32((n_in - 1) / (n_out - 1))
    else:
        scale = np.float32(n_in / n_out)
    offset = np.float32(0.5 if half_pixel else 0.0)
    o = np.arange(n_out, dtype=np.float32)
    v = (o + offset) * scale
    # TfLiteRound rounds half away from zero
    idx = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) if align_corners else np.floor(v)
    idx = np.minimum(idx, n_in - 1)
    if half_pixel:
        idx = np.maximum(idx, 0)
    return idx.astype(np.int64)
