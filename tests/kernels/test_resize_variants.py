"""The fast RESIZE_BILINEAR kernels (kernels/opt/resize.c: f32_resize_bilinear_opt, s8_resize_bilinear_opt;
AVX2 pixels in kernels/x86/resize_avx2.c, portable loops otherwise) against the reference kernels
(kernels/ref/shape_resize.c) under every ISA this CPU supports, bit for bit, float32 included (same products
and sums in the same order), and int8 against LiteRT; channel counts below, at and past the vector widths
(8 floats, 16 int8), upscaling and downscaling, align_corners / half_pixel_centers, both rounding modes of the
int8 fixed-point result (er_rounding_mode 1 against the reference only: LiteRT's build is mode 0)."""
import numpy as np
import pytest
from oracle import litert_run

from edgerun.runtime import isa as isa_switch


def _model(dtype, src, dst, c, align, half):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    q = None if dtype == np.float32 else (0.05, 3)
    x = b.tensor("x", (2,) + src + (c,), dtype, quant=q)
    size = b.const("size", np.array(dst, np.int32))
    y = b.tensor("y", (2,) + dst + (c,), dtype, quant=q)
    b.op("RESIZE_BILINEAR", [x, size], [y], options={"alignCorners": align, "halfPixelCenters": half})
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _run(model, x, isa):
    import edgerun

    with isa_switch.selected(isa):
        it = edgerun.Interpreter(model_content=model)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"]), [st.kernel for st in it._main.graph.steps]


# (source HxW, destination HxW, channels)
CASES = [((4, 5), (7, 9), 1), ((6, 8), (3, 5), 8), ((3, 3), (6, 6), 16), ((5, 7), (11, 3), 19), ((1, 4), (3, 1), 37),
         ((3, 7), (9, 19), 24)]
FLAGS = [(False, False), (True, False), (False, True)]


@pytest.mark.parametrize("dtype,mode", [(np.float32, 0), (np.int8, 0), (np.int8, 1)],
                         ids=["float32", "int8", "int8-single_rounding"])
@pytest.mark.parametrize("flags", FLAGS, ids=["plain", "align", "half"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "{}x{}-{}x{}-c{}".format(*c[0], *c[1], c[2]))
def test_resize_bilinear_fast(case, flags, dtype, mode):
    from edgerun.kernels import lib

    src, dst, c = case
    model = _model(dtype, src, dst, c, *flags)
    rng = np.random.default_rng(c)
    shape = (2,) + src + (c,)
    if dtype == np.float32:
        x = rng.uniform(-3, 3, shape).astype(np.float32)
    else:
        x = rng.integers(-128, 128, shape).astype(np.int8)
        x.flat[::5] = 127
        x.flat[1::7] = -128
    lib.er_set_rounding_mode(mode)
    try:
        ref, names = _run(model, x, "ref")
        assert names == [("f32" if dtype == np.float32 else "s8") + "_resize_bilinear"]
        if mode == 0:
            (theirs,) = litert_run(model, [x])
            if dtype == np.int8:
                np.testing.assert_array_equal(ref, theirs)
            else:
                np.testing.assert_allclose(ref, theirs, rtol=1e-5, atol=1e-5)
        for isa in isa_switch.supported()[1:]:
            ours, names = _run(model, x, isa)
            assert names == [("f32" if dtype == np.float32 else "s8") + "_resize_bilinear_opt"], isa
            np.testing.assert_array_equal(ours, ref, err_msg=isa)
    finally:
        lib.er_set_rounding_mode(0)
