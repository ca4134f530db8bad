"""Shape family, part 2: ops that are a fixed mapping from output to input positions, run by any_index_map
(kernels/ref/shape_map.c) on every dtype: TRANSPOSE, SLICE, STRIDED_SLICE, REVERSE_V2, PAD, PADV2,
MIRROR_PAD, TILE, BROADCAST_TO, DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND,
RESIZE_NEAREST_NEIGHBOR; plus SPACE_TO_BATCH_ND and RESIZE_BILINEAR, which have their own kernels."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import Kernel, register
from edgerun.runtime.ops.shape_common import (QUANT_TYPES, axis_tables, const_ints, index_map, itemsize,
                                              norm_axis, pad_bytes_of, quant_zero, require_same_quant,
                                              same_type, strides_of)

INT_MAX = (1 << 31) - 1
INT_MIN = -(1 << 31)


@register("TRANSPOSE")
def transpose(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    same_type(ctx)
    perm = const_ints(ctx, 1, "perm").ravel()
    if perm.size != x.ndim or sorted(perm.tolist()) != list(range(x.ndim)):
        raise ctx.shape_error(f"perm {perm.tolist()} is not a permutation of the {x.ndim} input dimensions")
    ctx.set_output(0, [x.shape[p] for p in perm])
    st = strides_of(x.shape)
    return index_map(ctx, [np.arange(x.shape[p], dtype=np.int64) * st[p] for p in perm])


@register("SLICE")
def slice_op(ctx):
    ctx.check_inputs(3, 3)
    x = ctx.inputs[0]
    same_type(ctx)
    begin = const_ints(ctx, 1, "begin", allow_dynamic=True)
    size = const_ints(ctx, 2, "size").ravel()
    if begin is None and size.size == x.ndim and np.all(size >= 0) and 1 <= x.ndim <= 8:
        # begin computed at run time, size static: the output shape is static, the kernel reads begin
        b = ctx.inputs[1]
        if b.shape != (x.ndim,):
            raise ctx.shape_error(f"begin '{b.name}' has shape {b.shape}; expected ({x.ndim},)")
        if np.any(size > np.asarray(x.shape)):
            raise ctx.shape_error(f"slice size {size.tolist()} exceeds the input shape {list(x.shape)}")
        ctx.set_output(0, size.tolist())
        pad = [0] * (8 - x.ndim)
        return Kernel("any_slice_dynamic", ctx.new("er_slice_dynamic_params *", {
            "ndim": x.ndim, "elem_size": itemsize(ctx, x), "idx_size": 8 if b.type == 4 else 4,
            "dims": list(x.shape) + pad, "size": size.tolist() + pad}))
    begin = const_ints(ctx, 1, "begin").ravel()
    if begin.size != x.ndim or size.size != x.ndim:
        raise ctx.shape_error(f"begin/size need {x.ndim} entries, got {begin.size}/{size.size}")
    shape = []
    for k, d in enumerate(x.shape):
        b, s = int(begin[k]), int(size[k])
        if s == -1:
            s = d - b
        if b < 0 or s < 0 or b + s > d:
            raise ctx.shape_error(f"slice begin {b} size {int(size[k])} out of range for dimension {k} of {d}")
        shape.append(s)
    ctx.set_output(0, shape)
    return index_map(ctx, axis_tables(x.shape, [b + np.arange(s) for b, s in zip(begin, shape)]))


def _clamp(v, lo, hi):
    return hi if v > hi else (lo if v < lo else v)


def strided_slice_spec(shape, begin, end, strides, bm, em, elm, nam, sam, offset):
    """TFLite's STRIDED_SLICE shape logic. Returns (effective input shape, [(start, stride, count)] per
    effective dim, output shape, error or None)."""
    n_in, bc = len(shape), len(begin)
    num_add = sum(1 for i in range(bc) if not (elm >> i) & 1 and (nam >> i) & 1)
    eff = n_in + num_add
    eff_ell = eff_new = 0
    ell_start, expanded = eff, 0
    i = 0
    while i < eff:
        if (elm >> i) & 1:
            ell_start = i
            ell_end = max(i + 1, min(i + 1 + num_add + n_in - bc, eff))
            expanded = ell_end - ell_start - 1
            while i < ell_end:
                eff_ell |= 1 << i
                i += 1
            continue
        if (nam >> (i - expanded)) & 1:
            eff_new |= 1 << i
        i += 1
    e_shape, e_begin, e_end, e_stride = [], [], [], []
    e_bm = e_em = e_sam = 0
    implicit = 0  # dims no begin/end entry speaks for (inside the ellipsis, or past the entries)
    added_ell = added_axes = 0
    for i in range(eff):
        if (eff_ell >> i) & 1:
            added_ell = max(0, i - ell_start)
            e_bm |= 1 << i
            e_em |= 1 << i
            e_begin.append(0), e_end.append(0), e_stride.append(1)
            e_shape.append(shape[i - added_axes])
            implicit |= 1 << i
        elif (eff_new >> i) & 1:
            e_begin.append(0), e_end.append(1), e_stride.append(1)
            e_shape.append(1)
            added_axes += 1
        elif i >= bc + expanded:
            e_begin.append(0), e_end.append(0), e_stride.append(1)
            e_bm |= 1 << i
            e_em |= 1 << i
            e_shape.append(shape[i - added_axes])
            implicit |= 1 << i
        else:
            o = i - added_ell
            e_begin.append(int(begin[o])), e_end.append(int(end[o])), e_stride.append(int(strides[o]))
            e_bm |= ((bm >> o) & 1) << i
            e_em |= ((em >> o) & 1) << i
            e_sam |= ((sam >> o) & 1) << i
            e_shape.append(shape[i - added_axes])
    dims, out = [], []
    for i in range(eff):
        size, st = e_shape[i], e_stride[i]
        if st == 0:
            return None, None, None, "stride value has to be non-zero"
        shrink = (e_sam >> i) & 1
        if size == 0:
            start = stop = 0
        else:
            start = e_begin[i]
            if (e_bm >> i) & 1:
                start = INT_MIN if st > 0 else INT_MAX
            if start < 0:
                start += size
            start = _clamp(start, 0, size) if st > 0 else _clamp(start, -1, size - 1)
            if shrink:
                stop = start + 1
            elif offset and (implicit >> i) & 1:
                stop = size if st > 0 else -1  # a dim the entries do not name is taken whole
            elif offset:
                # TFLite's offset mode: end is a length from the (normalized) start, neither clamped nor
                # overridden by the end mask (the caller refuses explicit end-mask bits with offset)
                stop = start + e_end[i]
            else:
                stop = e_end[i]
                if (e_em >> i) & 1:
                    stop = INT_MAX if st > 0 else INT_MIN
                if stop < 0:
                    stop += size
                stop = _clamp(stop, 0, size) if st > 0 else _clamp(stop, -1, size - 1)
        n = max(int(np.ceil(np.float32(stop - start) / np.float32(st))), 0)
        if shrink:
            if not 0 <= start < size:
                return None, None, None, f"shrink index {e_begin[i]} out of range for dimension of {size}"
            n = 1  # TF's x[start]; TFLite leaves the output unwritten for negative strides
        elif n and not (0 <= start < size and 0 <= start + (n - 1) * st < size):
            return None, None, None, (f"slice {e_begin[i]}:{e_end[i]}:{st} (offset) leaves a dimension of "
                                      f"{size}")
        dims.append((start, st, n))
        if not shrink:
            out.append(n)
    return e_shape, dims, out, None


@register("STRIDED_SLICE")
def strided_slice(ctx):
    ctx.check_inputs(4, 4)
    x = ctx.inputs[0]
    same_type(ctx)
    begin = const_ints(ctx, 1, "begin").ravel()
    end = const_ints(ctx, 2, "end").ravel()
    strides = const_ints(ctx, 3, "strides").ravel()
    if not begin.size == end.size == strides.size:
        raise ctx.shape_error(f"begin/end/strides sizes differ: {begin.size}, {end.size}, {strides.size}")
    o = ctx.opt
    explicit = (1 << begin.size) - 1
    if o("offset", False) and o("endMask", 0) & explicit & ~(o("shrinkAxisMask", 0) | o("ellipsisMask", 0)
                                                            | o("newAxisMask", 0)):
        # LiteRT sizes the output from begin + end but its kernel honours the end mask, writing past the
        # output: there is no defined result to match.
        raise ctx.unsupported(f"end_mask {o('endMask', 0)} together with offset=true")
    e_shape, dims, out, err = strided_slice_spec(
        list(x.shape), begin, end, strides, o("beginMask", 0), o("endMask", 0), o("ellipsisMask", 0),
        o("newAxisMask", 0), o("shrinkAxisMask", 0), bool(o("offset", False)))
    if err:
        raise ctx.shape_error(err)
    ctx.set_output(0, out)
    st = strides_of(e_shape)
    return index_map(ctx, [(s + np.arange(n, dtype=np.int64) * k) * st[i]
                           for i, (s, k, n) in enumerate(dims)])


@register("REVERSE_V2")
def reverse_v2(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    same_type(ctx)
    axes = {norm_axis(ctx, a, x.ndim) for a in const_ints(ctx, 1, "axis").ravel()}
    ctx.set_output(0, x.shape)
    return index_map(ctx, axis_tables(x.shape, [np.arange(d)[::-1] if k in axes else np.arange(d)
                                                for k, d in enumerate(x.shape)]))


def _paddings(ctx, i, rank):
    p = const_ints(ctx, i, "paddings")
    if p.shape != (rank, 2):
        raise ctx.shape_error(f"paddings shape {p.shape}, expected ({rank}, 2)")
    if np.any(p < 0):
        raise ctx.shape_error(f"negative paddings {p.tolist()}")
    return p


@register("PAD", "PADV2")
def pad(ctx):
    ctx.check_inputs(2, 3 if ctx.name == "PADV2" else 2)
    x, out = ctx.inputs[0], ctx.outputs[0]
    same_type(ctx)
    p = _paddings(ctx, 1, x.ndim)
    ctx.set_output(0, [d + int(a) + int(b) for d, (a, b) in zip(x.shape, p)])
    cv = ctx.inputs[2] if len(ctx.inputs) > 2 else None
    pad_value, pad_input = quant_zero(out), -1
    if cv is not None:
        if cv.type != x.type:
            raise ctx.dtype_error(f"constant value is {cv.type_name}, input is {x.type_name}")
        if cv.size != 1:
            raise ctx.shape_error(f"constant value must hold one element, has {cv.size}")
        if x.type in QUANT_TYPES:
            require_same_quant(ctx, cv, out, "PADV2 constant value")
        if cv.data is not None:
            pad_value = np.asarray(cv.data).reshape(-1)[0]
        else:
            pad_input = 2
    # axis_tables of the index lists [-1] * before + range(d) + [-1] * after, written directly
    tables = []
    for d, st, (a, b) in zip(x.shape, strides_of(x.shape), p.tolist()):
        t = np.full(a + d + b, -1, np.int64)
        t[a:a + d] = np.arange(d, dtype=np.int64) * st
        tables.append(t)
    return index_map(ctx, tables, pad_value=pad_value, pad_input=pad_input)


@register("MIRROR_PAD")
def mirror_pad(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    same_type(ctx)
    p = _paddings(ctx, 1, x.ndim)
    require_same_quant(ctx, x, ctx.outputs[0], "MIRROR_PAD")
    mode = ctx.opt("mode", 0)  # 0 REFLECT, 1 SYMMETRIC
    if mode not in (0, 1):
        raise ctx.unsupported(f"mirror pad mode {mode}")
    off = 0 if mode == 1 else 1
    idx = []
    for k, (d, (a, b)) in enumerate(zip(x.shape, p)):
        if a > d - off or b > d - off:
            raise ctx.shape_error(f"paddings {int(a)}, {int(b)} too large for dimension {k} of size {d} in "
                                  f"{'SYMMETRIC' if mode else 'REFLECT'} mode")
        i = np.arange(-int(a), d + int(b))
        i = np.where(i < 0, -i - 1 + off, i)
        i = np.where(i >= d, 2 * d - 1 - off - i, i)
        idx.append(i)
    ctx.set_output(0, [len(i) for i in idx])
    return index_map(ctx, axis_tables(x.shape, idx))


@register("TILE")
def tile(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    same_type(ctx)
    m = const_ints(ctx, 1, "multiples").ravel()
    if m.size != x.ndim or np.any(m < 0):
        raise ctx.shape_error(f"multiples {m.tolist()} do not fit an input of rank {x.ndim}")
    ctx.set_output(0, [d * int(k) for d, k in zip(x.shape, m)])
    st = strides_of(x.shape)
    tables = []
    for k, d in enumerate(x.shape):  # output dim k viewed as [multiple, d]
        tables += [np.zeros(int(m[k]), np.int64), np.arange(d, dtype=np.int64) * st[k]]
    return index_map(ctx, tables)


@register("BROADCAST_TO")
def broadcast_to(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    same_type(ctx)
    shape = [int(d) for d in const_ints(ctx, 1, "shape").ravel()]
    if len(shape) < x.ndim or len(shape) > 8:
        raise ctx.shape_error(f"cannot broadcast {x.shape} to {shape}")
    lead = len(shape) - x.ndim
    st = strides_of(x.shape)
    tables = [np.zeros(d, np.int64) for d in shape[:lead]]
    for k, d in enumerate(x.shape):
        t = shape[lead + k]
        if d == t:
            tables.append(np.arange(d, dtype=np.int64) * st[k])
        elif d == 1:
            tables.append(np.zeros(t, np.int64))
        else:
            raise ctx.shape_error(f"cannot broadcast {x.shape} to {shape}")
    ctx.set_output(0, shape)
    return index_map(ctx, tables)


def _nhwc(ctx, what="input"):
    x = ctx.inputs[0]
    if x.ndim != 4:
        raise ctx.shape_error(f"{what} must be 4-D NHWC, got {x.shape}")
    return x.shape


@register("DEPTH_TO_SPACE")
def depth_to_space(ctx):
    ctx.check_inputs(1, 1)
    n, h, w, c = _nhwc(ctx)
    same_type(ctx)
    b = int(ctx.opt("blockSize", 0))
    if b < 1 or c % (b * b):
        raise ctx.shape_error(f"block size {b} does not divide depth {c} into b*b parts")
    co = c // (b * b)
    ctx.set_output(0, [n, h * b, w * b, co])
    st = strides_of((n, h, w, c))
    oh, ow = np.arange(h * b), np.arange(w * b)
    return index_map(ctx, [np.arange(n) * st[0], (oh // b) * st[1] + (oh % b) * b * co,
                           (ow // b) * st[2] + (ow % b) * co, np.arange(co)])


@register("SPACE_TO_DEPTH")
def space_to_depth(ctx):
    ctx.check_inputs(1, 1)
    n, h, w, c = _nhwc(ctx)
    same_type(ctx)
    b = int(ctx.opt("blockSize", 0))
    if b < 1 or h % b or w % b:
        raise ctx.shape_error(f"block size {b} does not divide height {h} and width {w}")
    ctx.set_output(0, [n, h // b, w // b, c * b * b])
    st = strides_of((n, h, w, c))
    oc = np.arange(c * b * b)
    blk = oc // c
    return index_map(ctx, [np.arange(n) * st[0], np.arange(h // b) * b * st[1], np.arange(w // b) * b * st[2],
                           (blk // b) * st[1] + (blk % b) * st[2] + oc % c])


def _block_spatial(ctx, name):
    x = ctx.inputs[0]
    if x.ndim not in (3, 4):
        raise ctx.shape_error(f"input must be 3-D or 4-D, got {x.shape}")
    m = x.ndim - 2
    block = const_ints(ctx, 1, "block_shape").ravel()
    pads = const_ints(ctx, 2, name)
    if block.size != m or pads.shape != (m, 2) or np.any(block < 1) or np.any(pads < 0):
        raise ctx.shape_error(f"block_shape {block.tolist()} / {name} {pads.tolist()} invalid for {x.shape}")
    return x, [int(v) for v in block], pads.astype(int)


@register("BATCH_TO_SPACE_ND")
def batch_to_space_nd(ctx):
    ctx.check_inputs(3, 3)
    x, block, crops = _block_spatial(ctx, "crops")
    same_type(ctx)
    require_same_quant(ctx, x, ctx.outputs[0], "BATCH_TO_SPACE_ND")
    if x.ndim == 3:
        shape4 = [x.shape[0], x.shape[1], 1, x.shape[2]]
        block, crops = block + [1], np.vstack([crops, [[0, 0]]])
    else:
        shape4 = list(x.shape)
    nb, h, w, c = shape4
    bh, bw = block
    if nb % (bh * bw):
        raise ctx.shape_error(f"batch {nb} is not divisible by block {bh}x{bw}")
    n = nb // (bh * bw)
    oh, ow = h * bh - crops[0].sum(), w * bw - crops[1].sum()
    if oh < 0 or ow < 0:
        raise ctx.shape_error(f"crops {crops.tolist()} larger than the output")
    out = [n, oh, ow, c] if x.ndim == 4 else [n, oh, c]
    ctx.set_output(0, out)
    st = strides_of(shape4)
    ys, xs = np.arange(oh) + crops[0][0], np.arange(ow) + crops[1][0]
    return index_map(ctx, [np.arange(n) * st[0], (ys % bh) * bw * n * st[0] + (ys // bh) * st[1],
                           (xs % bw) * n * st[0] + (xs // bw) * st[2], np.arange(c)])


@register("SPACE_TO_BATCH_ND")
def space_to_batch_nd(ctx):
    ctx.check_inputs(3, 3)
    x, block, pads = _block_spatial(ctx, "paddings")
    same_type(ctx)
    require_same_quant(ctx, x, ctx.outputs[0], "SPACE_TO_BATCH_ND")
    if x.ndim == 3:
        block, pads = block + [1], np.vstack([pads, [[0, 0]]])
        n, h, c = x.shape
        w = 1
    else:
        n, h, w, c = x.shape
    bh, bw = block
    ph, pw = h + pads[0].sum(), w + pads[1].sum()
    if ph % bh or pw % bw:
        raise ctx.shape_error(f"padded size {ph}x{pw} is not divisible by block {bh}x{bw}")
    out = [n * bh * bw, ph // bh, pw // bw, c] if x.ndim == 4 else [n * bh * bw, ph // bh, c]
    ctx.set_output(0, out)
    p = ctx.new("er_space_batch_params *", {
        "block_h": bh, "block_w": bw, "pad_top": int(pads[0][0]), "pad_left": int(pads[1][0]),
        "elem_size": itemsize(ctx, x), "pad_bytes": pad_bytes_of(quant_zero(ctx.outputs[0]), x.dtype)})
    return Kernel("any_space_to_batch", p)


def _resize_setup(ctx):
    ctx.check_inputs(2, 2)
    n, h, w, c = _nhwc(ctx)
    same_type(ctx)
    size = const_ints(ctx, 1, "size", types=(2,)).ravel()
    if size.size != 2 or np.any(size <= 0):
        raise ctx.shape_error(f"size {size.tolist()} must be two positive values")
    align, half = bool(ctx.opt("alignCorners", False)), bool(ctx.opt("halfPixelCenters", False))
    if align and half:
        raise ctx.unsupported("align_corners and half_pixel_centers together (TFLite rejects this)")
    ctx.set_output(0, [n, int(size[0]), int(size[1]), c])
    return (n, h, w, c), int(size[0]), int(size[1]), align, half


def _nearest(in_size, out_size, align, half):
    """TFLite's nearest-neighbour source index per output index (float32 arithmetic)."""
    f32 = np.float32
    if align and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    off = f32(0.5) if half else f32(0.0)
    v = (np.arange(out_size, dtype=np.float32) + off) * scale
    v = np.where(v >= 0, np.floor(v + f32(0.5)), -np.floor(-v + f32(0.5))) if align else np.floor(v)
    v = np.minimum(v.astype(np.int64), in_size - 1)
    if half:
        v = np.maximum(v, 0)
    return v


@register("RESIZE_NEAREST_NEIGHBOR")
def resize_nearest(ctx):
    (n, h, w, c), oh, ow, align, half = _resize_setup(ctx)
    st = strides_of((n, h, w, c))
    return index_map(ctx, [np.arange(n) * st[0], _nearest(h, oh, align, half) * st[1],
                           _nearest(w, ow, align, half) * st[2], np.arange(c)])


@register("RESIZE_BILINEAR")
def resize_bilinear(ctx):
    _, _, _, align, half = _resize_setup(ctx)
    x = ctx.inputs[0]
    kern = {0: "f32_resize_bilinear", 3: "u8_resize_bilinear", 9: "s8_resize_bilinear",
            7: "s16_resize_bilinear"}.get(x.type)
    if kern is None:
        raise ctx.unsupported(f"{x.type_name} input (float32, uint8, int8, int16 only)")
    p = ctx.new("er_resize_params *", {"align_corners": int(align), "half_pixel_centers": int(half)})
    if ctx.isa != "ref" and x.type in (0, 9):
        # the reference's arithmetic, tables of source rows/columns and weights in scratch, vector channels
        # (kernels/opt/resize.c)
        oh, ow = ctx.outputs[0].shape[1:3]
        name = "f32_resize_bilinear_opt" if x.type == 0 else "s8_resize_bilinear_opt"
        return Kernel(name, p, scratch_bytes=20 * (oh + ow))
    return Kernel(kern, p)
