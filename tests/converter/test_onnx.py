"""ONNX -> TFLite with edgerun's ONNX frontend. Oracle: onnxruntime's outputs on the same inputs; the
converted model must reproduce them within 1e-4 x max|onnxruntime output| both in LiteRT (builtin kernels, no
delegate) and in edgerun. Models are built with onnx.helper (tests/converter/onnx_models.py)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx_models as om
from convert_checks import check_model_bytes, op_types
from edgerun.converter.export import export
from edgerun.converter.frontends.onnx import load
from onnx import TensorProto


def ort_run(model, inputs):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
    return [np.asarray(v) for v in sess.run(None, feeds)]


def random_inputs(model, seed=0, batch=None):
    rng = np.random.default_rng(seed)
    out = []
    inits = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else (batch or 1)
                for d in vi.type.tensor_type.shape.dim]
        et = vi.type.tensor_type.elem_type
        if et in (TensorProto.INT64, TensorProto.INT32):
            out.append(rng.integers(0, 5, dims).astype(np.int64 if et == TensorProto.INT64 else np.int32))
        else:
            out.append(rng.uniform(-1, 1, dims).astype(np.float32))
    return out


def check(model, inputs=None, rtol=1e-4, nhwc_io=False, seed=0, batch=None):
    inputs = random_inputs(model, seed, batch) if inputs is None else inputs
    ref = ort_run(model, inputs)
    data = export(load(model, nhwc_io=nhwc_io))
    if nhwc_io:
        inputs = [np.transpose(x, (0, 2, 3, 1)) if x.ndim == 4 else x for x in inputs]
        ref = [np.transpose(y, (0, 2, 3, 1)) if y.ndim == 4 else y for y in ref]
    check_model_bytes(data, inputs, ref, rtol)
    return data


CASES = {
    # Conv
    "conv_pads_same": om.conv(pads=[1, 1, 1, 1]),
    "conv_valid_stride2": om.conv(strides=[2, 2]),
    "conv_asym_pads": om.conv(pads=[0, 1, 2, 1]),
    "conv_pads_stride2_not_same": om.conv(x_shape=(1, 3, 8, 8), pads=[1, 1, 1, 1], strides=[2, 2]),
    "conv_auto_same_upper": om.conv(x_shape=(1, 3, 8, 7), strides=[2, 2], auto_pad="SAME_UPPER"),
    "conv_auto_same_lower": om.conv(x_shape=(1, 3, 8, 7), strides=[2, 2], auto_pad="SAME_LOWER"),
    "conv_auto_valid_nobias": om.conv(bias=False, auto_pad="VALID"),
    "conv_dilation": om.conv(x_shape=(1, 2, 10, 9), w_shape=(3, 2, 3, 3), dilations=[2, 2],
                             pads=[2, 2, 2, 2]),
    "conv_rect_kernel": om.conv(w_shape=(4, 3, 3, 1), strides=[2, 1], pads=[1, 0, 1, 0]),
    "conv_groups": om.conv(x_shape=(1, 4, 6, 6), w_shape=(6, 2, 3, 3), group=2, pads=[1, 1, 1, 1]),
    "conv_depthwise": om.conv(x_shape=(1, 4, 7, 7), w_shape=(4, 1, 3, 3), group=4, pads=[1, 1, 1, 1]),
    "conv_depthwise_mult2_stride": om.conv(x_shape=(1, 3, 9, 9), w_shape=(6, 1, 3, 3), group=3,
                                           strides=[2, 2]),
    "conv1d": om.conv(x_shape=(2, 3, 10), w_shape=(4, 3, 3), pads=[1, 1]),
    "conv1d_stride_dil": om.conv(x_shape=(1, 2, 12), w_shape=(3, 2, 3), strides=[2], dilations=[2]),
    "conv1d_depthwise": om.conv(x_shape=(1, 4, 9), w_shape=(4, 1, 3), group=4, pads=[2, 0]),
    "conv_batch2": om.conv(x_shape=(2, 3, 6, 5), pads=[1, 1, 1, 1]),
    # ConvTranspose
    "convT_basic": om.conv_transpose(),
    "convT_stride2": om.conv_transpose(strides=[2, 2]),
    "convT_stride2_pads": om.conv_transpose(strides=[2, 2], pads=[1, 1, 1, 1]),
    "convT_stride2_outpad": om.conv_transpose(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
    "convT_asym_pads": om.conv_transpose(strides=[2, 2], pads=[0, 1, 2, 0]),
    "convT_output_shape": om.conv_transpose(strides=[2, 2], output_shape=[10, 12]),
    "convT_groups": om.conv_transpose(x_shape=(1, 4, 4, 4), w_shape=(4, 2, 3, 3), group=2, strides=[2, 2]),
    "convT_1d": om.conv_transpose(x_shape=(1, 4, 6), w_shape=(4, 3, 4), strides=[2], pads=[1, 1]),
    # pooling
    "maxpool_2x2": om.pool("MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    "maxpool_3x3_s2_pad": om.pool("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "maxpool_ceil": om.pool("MaxPool", x_shape=(1, 3, 8, 8), kernel_shape=[3, 3], strides=[2, 2],
                            ceil_mode=1),
    "maxpool_same_upper": om.pool("MaxPool", x_shape=(1, 3, 8, 7), kernel_shape=[3, 3], strides=[2, 2],
                                  auto_pad="SAME_UPPER"),
    "maxpool_asym": om.pool("MaxPool", kernel_shape=[2, 3], strides=[1, 2], pads=[0, 1, 1, 0]),
    "maxpool1d": om.pool("MaxPool", x_shape=(1, 3, 11), kernel_shape=[3], strides=[2]),
    "avgpool_valid": om.pool("AveragePool", kernel_shape=[3, 3], strides=[2, 2]),
    "avgpool_pad_exclude": om.pool("AveragePool", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
    "avgpool_pad_include": om.pool("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                   count_include_pad=1),
    "avgpool_asym_exclude": om.pool("AveragePool", kernel_shape=[2, 2], strides=[2, 2], pads=[1, 0, 0, 1]),
    "avgpool_ceil": om.pool("AveragePool", x_shape=(1, 3, 8, 8), kernel_shape=[3, 3], strides=[2, 2],
                            ceil_mode=1),
    "avgpool_ceil_include": om.pool("AveragePool", x_shape=(1, 3, 8, 8), kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
    "global_avgpool": om.pool("GlobalAveragePool"),
    "global_maxpool": om.pool("GlobalMaxPool"),
    # Gemm / MatMul
    "gemm": om.gemm(),
    "gemm_transB_alpha_beta": om.gemm(transB=1, alpha=0.5, beta=2.0),
    "gemm_transA": om.gemm(x_shape=(6, 2), transA=1),
    "gemm_bias_scalar": om.gemm(bias_shape=(1,)),
    "gemm_bias_matrix": om.gemm(bias_shape=(2, 5)),
    "gemm_nobias": om.gemm(bias_shape=None),
    "matmul_2d": om.matmul((3, 6), (6, 4)),
    "matmul_3d_const": om.matmul((2, 3, 6), (6, 4)),
    "matmul_batched": om.matmul((2, 3, 6), (2, 6, 4), b_const=False),
    "matmul_broadcast": om.matmul((2, 3, 6), (6, 4), b_const=False),
    "matmul_vec": om.matmul((3, 6), (6,)),
    "matmul_batched_const_rhs": om.matmul((2, 3, 6), (2, 6, 4)),
    # BatchNormalization
    "bn_alone": om.batchnorm(),
    "bn_folded": om.batchnorm(after_conv=True),
    "bn_not_folded": om.batchnorm(after_conv=True, conv_extra_use=True),
    "bn_2d": om.batchnorm(x_shape=(3, 5)),
    "bn_behind_shared_identity": om.bn_behind_shared_identity,
    "matmul_add_shared": om.matmul_add_shared,
    # elementwise with NCHW-broadcast constants
    "add_c11": om.binary_const("Add", (4, 1, 1)),
    "mul_1c11": om.binary_const("Mul", (1, 4, 1, 1)),
    "sub_scalar": om.binary_const("Sub", ()),
    "div_full": om.binary_const("Div", (1, 4, 5, 6), positive=True),
    "add_w": om.binary_const("Add", (6,)),
    "max_hw": om.binary_const("Max", (5, 1)),
    "min_c11": om.binary_const("Min", (4, 1, 1)),
    "pow_const": om.binary_const("Pow", (), positive=True),
    "prelu_c11": om.binary_const("PRelu", (4, 1, 1)),
    "prelu_scalar": om.binary_const("PRelu", (1,)),
    "add_two_inputs_bcast": om.binary_two_inputs("Add", (1, 4, 5, 6), (4, 1, 1)),
    "mul_two_inputs": om.binary_two_inputs("Mul", (1, 4, 5, 6), (1, 4, 5, 6)),
    "sub_lower_rank": om.binary_two_inputs("Sub", (1, 4, 5, 6), (5, 6)),
    # unary / activations
    "relu": om.unary("Relu"),
    "leaky_relu": om.unary("LeakyRelu", alpha=0.1),
    "elu": om.unary("Elu"),
    "elu_alpha": om.unary("Elu", alpha=0.5),
    "selu": om.unary("Selu"),
    "celu": om.unary("Celu", alpha=0.7),
    "sigmoid": om.unary("Sigmoid"),
    "tanh": om.unary("Tanh"),
    "hard_sigmoid": om.unary("HardSigmoid", alpha=1 / 6, beta=0.5),
    "hard_sigmoid_default": om.unary("HardSigmoid"),
    "hard_swish": om.unary("HardSwish"),
    "softplus": om.unary("Softplus"),
    "softsign": om.unary("Softsign"),
    "mish": om.unary("Mish", opset=18),
    "sqrt": om.unary("Sqrt", positive=True),
    "exp": om.unary("Exp"),
    "log": om.unary("Log", positive=True),
    "abs": om.unary("Abs"),
    "neg": om.unary("Neg"),
    "reciprocal": om.unary("Reciprocal", positive=True),
    "floor": om.unary("Floor"),
    "ceil": om.unary("Ceil"),
    "softmax_channels": om.unary("Softmax", axis=1),
    "softmax_last": om.unary("Softmax", axis=-1),
    "softmax_opset11_coerced": None,  # filled below
    "log_softmax_channels": om.unary("LogSoftmax", axis=1),
    "gelu_op": None,
    "gelu_erf_0": lambda: om.gelu_erf(0),
    "gelu_erf_1": lambda: om.gelu_erf(1),
    "gelu_erf_2": lambda: om.gelu_erf(2),
    # layout-sensitive ops
    "flatten_chain_view": om.flatten_chain,
    "flatten_spatial_gemm": om.cnn_flatten_spatial,
    "channel_ops": om.channel_ops,
    "transpose_pad_gather": om.conv_chain_transposes,
    "reduce_mean_hw": om.unary("ReduceMean", axes=[2, 3], keepdims=1),
    "reduce_max_c": om.unary("ReduceMax", axes=[1], keepdims=0),
    "reduce_min_all": om.unary("ReduceMin", keepdims=0),
    "reduce_l2": om.unary("ReduceL2", axes=[1], keepdims=1),
    "argmax_c": None,
    "pad_constant": None,
    "pad_edge": None,
    "slice_neg_step": None,
    "resize_nearest_x2": om.resize("nearest", "asymmetric", scales=[1, 1, 2, 2], nearest_mode="floor"),
    "resize_nearest_half_pixel": om.resize("nearest", "half_pixel", scales=[1, 1, 2, 3]),
    "resize_nearest_down": om.resize("nearest", "half_pixel", x_shape=(1, 3, 8, 6), scales=[1, 1, 0.5, 0.5]),
    "resize_nearest_sizes_odd": om.resize("nearest", "asymmetric", sizes=[1, 3, 7, 9]),
    "resize_nearest_align": om.resize("nearest", "align_corners", sizes=[1, 3, 7, 9],
                                      nearest_mode="round_prefer_ceil"),
    "resize_linear_half_pixel": om.resize("linear", "half_pixel", scales=[1, 1, 2, 2]),
    "resize_linear_pytorch": om.resize("linear", "pytorch_half_pixel", sizes=[1, 3, 8, 15]),
    "resize_linear_align": om.resize("linear", "align_corners", sizes=[1, 3, 7, 9]),
    "resize_linear_asym": om.resize("linear", "asymmetric", scales=[1, 1, 2, 2]),
    "depth_to_space_dcr": om.unary("DepthToSpace", shape=(1, 8, 3, 4), blocksize=2),
    "depth_to_space_crd": om.unary("DepthToSpace", shape=(1, 8, 3, 4), blocksize=2, mode="CRD"),
    "space_to_depth": om.unary("SpaceToDepth", shape=(1, 2, 4, 6), blocksize=2),
    "layernorm_last": lambda: om.layernorm(),
    "layernorm_2axes": lambda: om.layernorm((2, 3, 4, 5), axis=-2),
    "layernorm_decomposed": om.layernorm_decomposed,
    "instancenorm": None,
    "attention": om.attention,
    "vit_patch_embed": om.vit_patch_embed,
    "pixel_shuffle_6d": om.pixel_shuffle_6d,
    "detection_head": om.detection_head,
    "spatial_attention_channels": om.spatial_attention(1),
    "spatial_attention_positions": om.spatial_attention(2),
    "reshape_needs_nchw": om.reshape_needs_nchw,
    "opset9_attrs": om.old_opset_ops(9),
    "opset11_attrs": om.old_opset_ops(11),
    "opset18_inputs": om.new_opset_ops(18),
    "opset21_inputs": om.new_opset_ops(21),
    "upsample9_nearest": om.upsample_opset9("nearest"),
    "upsample9_linear": om.upsample_opset9("linear"),
    "upsample9_nearest_x3": om.upsample_opset9("nearest", (1, 1, 3, 3)),
    "resize10_nearest_x3": om.resize_opset10([1, 1, 3, 2]),
    "resize10_nearest_down": om.resize_opset10([1, 1, 0.6, 0.5]),
    "resize10_linear": om.resize_opset10([1, 1, 2, 2], "linear"),
    "resize_nearest_floor_down": om.resize_nearest_floor_down,
    "misc_elementwise": om.misc_elementwise,
    "embedding": om.embedding,
    "misc_unary_logic_reduce": om.misc_unary_logic_reduce,
    "int_mod": om.int_mod,
    "clip_variants": om.clip_variants,
    "convT_auto_same_upper": om.conv_transpose(strides=[2, 2], auto_pad="SAME_UPPER"),
    "resize_opset18_axes": om.resize_opset18_axes,
    "resize_nearest_ceil_asym": om.resize("nearest", "asymmetric", sizes=[1, 3, 9, 7],
                                          nearest_mode="round_prefer_ceil"),
    "resize_nearest_tf_half_pixel": om.resize("nearest", "tf_half_pixel_for_nn", scales=[1, 1, 3, 2]),
    "gemm_bias_column": om.gemm(bias_shape=(2, 1)),
    "bn_after_gemm": om.bn_after_gemm,
    "squeeze_all_flatten_axis2": om.squeeze_all_and_flatten_axis2,
    "resnet_block": om.resnet_block,
    "mobilenet_block": om.mobilenet_block,
    "lstm_t1": om.recurrent("LSTM", T=1, direction="bidirectional"),
    # recurrent
    "lstm": om.recurrent("LSTM"),
    "lstm_reverse": om.recurrent("LSTM", direction="reverse"),
    "lstm_bidirectional": om.recurrent("LSTM", direction="bidirectional"),
    "lstm_init_states_peephole": om.recurrent("LSTM", init=True, peep=True),
    "lstm_clip": om.recurrent("LSTM", clip=0.5),
    "gru": om.recurrent("GRU"),
    "gru_lbr_bidir": om.recurrent("GRU", direction="bidirectional", linear_before_reset=1),
    "gru_init": om.recurrent("GRU", init=True),
    "rnn": om.recurrent("RNN"),
    "rnn_relu_bidir": om.recurrent("RNN", direction="bidirectional", activations=["Relu", "Tanh"]),
    "lstm_classifier": om.lstm_classifier,
    "lstm_torch_batch_first": om.torch_batch_first_lstm(),
    "lstm_torch_batch_first_bidir": om.torch_batch_first_lstm(True),
    # whole models
    "small_cnn": om.small_cnn(),
    "small_cnn_batch2": om.small_cnn(batch=2),
    "mlp": om.mlp(),
}


def _extra_cases():
    def softmax11():
        m = om.Model(opset=11)
        x = m.input("x", (2, 3, 4))
        return m.build(m.node("Softmax", [x], axis=1)), None

    def gelu_op():
        m = om.Model(opset=20)
        x = m.input("x", (2, 9))
        return m.build(m.node("Gelu", [x]), m.node("Gelu", [x], approximate="tanh")), None

    def argmax():
        m = om.Model()
        x = m.input("x", (1, 3, 4, 5))
        y = m.node("Conv", [x, m.w(6, 3, 1, 1)])
        a = m.node("ArgMax", [y], axis=1, keepdims=0)
        b = m.node("ArgMin", [y], axis=3, keepdims=1)
        return m.build(a, b, out_types={a: TensorProto.INT64, b: TensorProto.INT64}), None

    def pad(mode):
        def build():
            m = om.Model()
            x = m.input("x", (1, 3, 4, 5))
            y = m.node("Conv", [x, m.w(3, 3, 1, 1)])
            ins = [y, m.ints([0, 0, 1, 2, 0, 1, 0, 3])]
            if mode == "constant":
                ins.append(m.const(np.array(0.5, np.float32)))
            return m.build(m.node("Pad", ins, mode=mode)), None
        return build

    def slice_neg():
        m = om.Model()
        x = m.input("x", (1, 4, 6, 7))
        y = m.node("Conv", [x, m.w(4, 4, 1, 1)])
        s = m.node("Slice", [y, m.ints([-1, 5]), m.ints([-1000, 0]), m.ints([3, 1]), m.ints([-2, -2])])
        return m.build(s), None

    def instancenorm():
        m = om.Model()
        x = m.input("x", (2, 3, 4, 5))
        y = m.node("Conv", [x, m.w(3, 3, 1, 1), m.w(3)])
        return m.build(m.node("InstanceNormalization", [y, m.w(3, positive=True), m.w(3)])), None

    CASES.update({"softmax_opset11_coerced": softmax11, "gelu_op": gelu_op, "argmax_c": argmax,
                  "pad_constant": pad("constant"), "pad_edge": pad("edge"), "slice_neg_step": slice_neg,
                  "instancenorm": instancenorm})


_extra_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_op(name, tmp_path):
    """load() + export() (the frontend alone), and edgerun.convert(path) (frontend + graph passes)."""
    import edgerun

    model, inputs = CASES[name]()
    check(model, inputs)
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    inputs = random_inputs(model) if inputs is None else inputs
    check_model_bytes(edgerun.convert(str(path)), inputs, ort_run(model, inputs), 1e-4)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_recurrent_batch_first(op):
    """layout=1 (batch-major): onnxruntime refuses it, so the oracle is onnxruntime on the same op with
    layout=0 and transposed inputs/outputs."""
    kw = {"direction": "bidirectional", "init": True, "T": 4, "N": 3}
    model1, _ = om.recurrent(op, layout=1, **kw)()
    model0, _ = om.recurrent(op, layout=0, **kw)()
    inputs = random_inputs(model1)  # x (N, T, I), h0 (N, D, H)[, c0]
    ref0 = ort_run(model0, [np.transpose(x, (1, 0, 2)) for x in inputs])
    ref = [np.transpose(ref0[0], (2, 0, 1, 3))] + [np.transpose(y, (1, 0, 2)) for y in ref0[1:]]
    check_model_bytes(export(load(model1)), inputs, ref, 1e-4)


def _count(data, op):
    return sum(1 for t in op_types(data) if t == op)


def test_cnn_has_no_inner_transposes():
    model, _ = om.small_cnn()()
    data = check(model)
    types = op_types(data)
    assert _count(data, "TRANSPOSE") == 1 and types[0] == "TRANSPOSE", types  # the NCHW input only
    assert "MUL" not in types and "ADD" not in types, types  # batch norm folded into the conv


def test_flatten_of_spatial_activation_needs_no_transpose():
    model, _ = om.cnn_flatten_spatial()
    data = check(model)
    assert _count(data, "TRANSPOSE") == 1, op_types(data)


def test_flatten_chain_is_folded():
    model, _ = om.flatten_chain()
    data = check(model)
    types = op_types(data)
    assert "SHAPE" not in types and "GATHER" not in types and "CONCATENATION" not in types, types
    assert _count(data, "TRANSPOSE") == 1, types


def test_transposes_cancel_in_layout_bookkeeping():
    model, _ = om.conv_chain_transposes()
    data = check(model)
    assert _count(data, "TRANSPOSE") == 2, op_types(data)  # NCHW input, NCHW output


def test_reshapes_of_adjacent_axes_stay_channels_last():
    # NCHW input (+ NCHW output) (+ the pixel shuffle's own data movement)
    for build, n in ((om.vit_patch_embed, 1), (om.spatial_attention(1), 2), (om.detection_head, 1),
                     (om.pixel_shuffle_6d, 3)):
        model, _ = build()
        data = check(model)
        assert _count(data, "TRANSPOSE") == n, op_types(data)


def test_nhwc_io_has_no_transposes():
    model, _ = om.small_cnn()()
    data = check(model, nhwc_io=True)
    assert _count(data, "TRANSPOSE") == 0, op_types(data)
    model, _ = om.conv(pads=[1, 1, 1, 1])()
    data = check(model, nhwc_io=True)
    assert _count(data, "TRANSPOSE") == 0, op_types(data)


def test_gelu_pattern_becomes_one_op():
    model, _ = om.gelu_erf(0)
    data = check(model)
    types = op_types(data)
    assert "GELU" in types and "MUL" not in types, types


@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_hardswish_pattern_becomes_one_op(variant):
    """x * Clip(x + 3, 0, 6) / 6 (MobileNetV3 as Paddle2ONNX writes it) -> HARD_SWISH, matching onnxruntime;
    a look-alike that is not hard-swish (variant 3) keeps its ops."""
    model, _ = om.hardswish_spelled(variant)
    types = op_types(check(model))
    if variant == 3:
        assert "HARD_SWISH" not in types and "DIV" in types, types
    else:
        assert types.count("HARD_SWISH") == 1 and not {"MUL", "DIV", "ADD"} & set(types), types


@pytest.mark.parametrize("build", [om.mlp(dynamic=True), om.small_cnn(dynamic=True), om.lstm_dynamic_batch,
                                   lambda: om.flatten_chain(dynamic=True), om.reshape_merging_dynamic_batch],
                         ids=["mlp", "cnn", "lstm", "view_chain", "reshape_merging_batch"])
def test_dynamic_batch(build):
    model, _ = build()
    g = load(model)
    assert -1 in g.inputs[0].shape
    for batch in (1, 3):
        inputs = random_inputs(model, seed=batch, batch=batch)
        ref = ort_run(model, inputs)
        check_model_bytes(export(g), inputs, ref, 1e-4)


def test_edgerun_convert_path(tmp_path):
    import edgerun

    for name in ("small_cnn", "mlp", "lstm_classifier"):
        model, _ = CASES[name]()
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, str(path))
        inputs = random_inputs(model)
        data = edgerun.convert(str(path))
        check_model_bytes(data, inputs, ort_run(model, inputs), 1e-4)


def test_outputs_that_are_inputs_constants_or_repeated():
    m = om.Model()
    x = m.input("x", (2, 3))
    c = m.node("Shape", [x])  # folded: a constant output
    y = m.node("Relu", [x])
    i = m.node("Identity", [y])
    model = m.build(x, c, y, i, out_types={c: TensorProto.INT64})
    inputs = random_inputs(model)
    ref = ort_run(model, inputs)
    g = load(model)
    assert g.output_names == [o.name for o in model.graph.output]
    check_model_bytes(export(g), inputs, ref, 1e-4)


@pytest.mark.parametrize("quantize", ["float16", "dynamic", "int8"])
def test_quantized_conversion(tmp_path, quantize):
    """edgerun.convert(path.onnx, quantize=...): the converted CNN runs the same in edgerun and LiteRT and
    stays close to onnxruntime's float outputs."""
    from oracle import assert_matches_litert

    import edgerun

    model, _ = om.small_cnn()()
    path = tmp_path / "cnn.onnx"
    onnx.save(model, str(path))
    rep = [random_inputs(model, seed=s)[0] for s in range(16)] if quantize == "int8" else None
    data = edgerun.convert(str(path), quantize=quantize, representative_data=rep)
    inputs = random_inputs(model, seed=99)
    ours, _ = assert_matches_litert(data, inputs, rtol=1e-3)
    ref = ort_run(model, inputs)[0]
    err = float(np.max(np.abs(ours[0] - ref)))
    assert err <= 0.05 * float(np.max(np.abs(ref))), f"{quantize}: max|diff| vs onnxruntime = {err:.3g}"


def test_unsupported_op_names_the_node():
    from edgerun.errors import ConversionError

    m = om.Model()
    x = m.input("x", (3, 3))
    y = m.node("Det", [x], name="my_det")
    with pytest.raises(ConversionError, match=r"my_det.*Det"):
        load(m.build(y))


def test_erf_outside_gelu_is_refused():
    from edgerun.errors import ConversionError

    m = om.Model()
    x = m.input("x", (1, 4))
    y = m.node("Erf", [x], name="lonely_erf")
    with pytest.raises(ConversionError, match="lonely_erf"):
        load(m.build(y))


def test_other_domain_and_bad_inputs_are_refused(tmp_path):
    from onnx import helper

    from edgerun.errors import ConversionError

    m = om.Model()
    x = m.input("x", (1, 4))
    m.nodes.append(helper.make_node("Gelu", [x], ["y"], name="ms_gelu", domain="com.microsoft"))
    g = helper.make_graph(m.nodes, "t", m.inputs,
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(ConversionError, match="ms_gelu"):
        load(model)
    with pytest.raises(ConversionError, match="no such file"):
        load(str(tmp_path / "missing.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(ConversionError):
        load(str(bad))
    with pytest.raises(ConversionError):
        load(42)


def test_non_constant_conv_weights_are_refused():
    from edgerun.errors import ConversionError

    m = om.Model()
    x = m.input("x", (1, 2, 5, 5))
    w = m.input("w", (3, 2, 3, 3))
    y = m.node("Conv", [x, w], name="dyn_conv")
    with pytest.raises(ConversionError, match="dyn_conv.*constant"):
        load(m.build(y))


def _compare(got, ref):
    """None if got reproduces onnxruntime's ref (1e-4 x max|ref| for floats, exact otherwise), else the
    reason."""
    for a, b in zip(got, ref):
        b = np.asarray(b)
        if a.shape != b.shape:
            return f"shape {a.shape} vs {b.shape}"
        if b.dtype.kind == "f":
            fin = np.isfinite(b)
            if not np.array_equal(np.isfinite(a), fin):
                return "inf/nan pattern differs"
            err = float(np.max(np.abs(a[fin].astype(np.float64) - b[fin]), initial=0.0))
            scale = float(np.max(np.abs(b[fin]), initial=0.0))
            if err > 1e-4 * scale:
                return f"max|diff| = {err:.3g} > 1e-4 x max|ref| = {1e-4 * scale:.3g}"
        elif not np.array_equal(a, b.astype(a.dtype)):
            return "values differ"
    return None


def test_onnx_backend_node_cases():
    """ONNX's own operator test cases (onnx.backend.test.case.node) for every operator the frontend handles:
    each model as published (all inputs at run time) and with every input but the first made an initializer
    (weights, shapes, axes become constants). A case may be refused with a ConversionError; one that converts
    must reproduce onnxruntime in LiteRT and edgerun."""
    import copy
    import warnings

    from edgerun.converter.frontends import onnx as frontend
    from onnx import numpy_helper
    from oracle import edgerun_run, litert_run

    from edgerun.errors import ConversionError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases

        cases = collect_testcases(None)
    ort.set_default_logger_severity(4)
    ops = {n[4:] for n in dir(frontend._Lowering) if n.startswith("_op_")} | {"Constant"}
    plain = {np.dtype(t) for t in (np.float32, np.int32, np.int64, np.bool_)}
    ok, refused, bad = 0, 0, []
    for tc in cases:
        nodes = tc.model.graph.node
        if not tc.data_sets or any(n.op_type not in ops or n.domain not in ("", "ai.onnx") for n in nodes):
            continue
        ins0 = [np.asarray(i) for i in tc.data_sets[0][0]]
        if any(i.dtype not in plain or 0 in i.shape for i in ins0):
            continue
        for variant in ("inputs", "constants"):
            model, ins = tc.model, ins0
            if variant == "constants":
                if len(ins0) < 2:
                    continue
                model = copy.deepcopy(tc.model)
                for vi, arr in list(zip(model.graph.input, ins0))[1:]:
                    model.graph.initializer.append(numpy_helper.from_array(arr, vi.name))
                del model.graph.input[1:]
                ins = ins0[:1]
            try:
                ref = ort_run(model, ins)
            except Exception:  # noqa: BLE001, S112 - no oracle (onnxruntime refuses batch-major RNNs)
                continue
            try:
                data = export(frontend.load(model))
            except ConversionError:
                refused += 1
                continue
            for who, run in (("LiteRT", litert_run), ("edgerun", edgerun_run)):
                try:
                    why = _compare(run(data, ins), ref)
                except Exception as exc:  # noqa: BLE001 - reported below
                    why = f"{type(exc).__name__}: {str(exc)[:200]}"
                if why:
                    bad.append(f"{tc.name} [{variant}] {who}: {why}")
                    break
            else:
                ok += 1
    assert not bad, f"{len(bad)} cases differ from onnxruntime:\n" + "\n".join(bad)
    assert ok >= 750, f"only {ok} cases converted ({refused} refused)"


torch = None
try:  # optional: real torch.onnx.export models
    import torch
except ImportError:
    pass


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_torch_export(tmp_path):
    import edgerun

    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.Hardswish(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(8, 5), torch.nn.GELU()).eval()
    x = torch.randn(1, 3, 16, 16)
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, (x,), str(path), opset_version=17)
    model = onnx.load(str(path))
    inputs = [x.numpy()]
    check_model_bytes(edgerun.convert(str(path)), inputs, ort_run(model, inputs), 1e-4)


def test_convert_accepts_a_model_proto():
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    import edgerun

    it = edgerun.Interpreter(model_content=edgerun.convert(m))
    it.allocate_tensors()
    v = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], v)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), np.maximum(v, 0))
    assert onnx
