"""ONNX -> IR: the path PyTorch users take (torch.onnx.export -> .onnx -> edgerun.convert).

    from edgerun.converter.frontends import onnx as onnx_frontend
    graph = onnx_frontend.load("model.onnx")              # a path, an onnx.ModelProto or serialized bytes
    graph = onnx_frontend.load("model.onnx", nhwc_io=True)

The `onnx` package is imported lazily (only this path needs it). Default-domain operators of opsets 7 to 21
(and newer, where the operator did not change) are read; other domains (com.microsoft, ...) are refused.

Layout
------
ONNX is channels-first (NCHW); TFLite's kernels are channels-last (NHWC). The frontend does the change
itself by tracking, for every ONNX value, the layouts in which it exists as IR tensors. A layout is a
permutation `perm` with `ir_tensor = numpy.transpose(onnx_value, perm)` (NHWC of an NCHW value is
(0, 2, 3, 1)), or a column layout for a 2-D value that flattens a channels-last activation (its columns in
H, W, C order instead of C, H, W).

- Conv, ConvTranspose, pooling, Resize/Upsample, DepthToSpace/SpaceToDepth take channels-last inputs and
  give channels-last outputs: no TRANSPOSE around them.
- Elementwise ops, activations and normalizations run in whatever layout their input has; constants with
  NCHW broadcasting shapes ((1, C, 1, 1), (C, 1, 1), ...) are permuted to match.
- Axis attributes (Concat, Split, Slice, Pad, Gather, Softmax, Reduce*, ArgMax, Squeeze, Unsqueeze,
  Flatten, ...) are remapped into the layout. An ONNX Transpose costs nothing: it only changes the recorded
  layout of its output.
- A TRANSPOSE op is emitted only where a value is needed in a layout it does not have yet (a RESHAPE instead
  when only size-1 dimensions move), e.g. a Reshape of a channels-last activation to a rank other than 2.
- Flatten, or a Reshape to (N, -1), of a channels-last activation gives the column layout; a following
  Gemm/MatMul with constant weights has its weight rows permuted, so flattening costs no transpose either.
- Conv/ConvTranspose/Gemm followed by BatchNormalization have the normalization folded into their
  weights and bias; otherwise BatchNormalization becomes MUL + ADD.

Interface: by default the graph keeps the ONNX interface so its results compare directly with onnxruntime.
A 4-D input stays NCHW and is followed by one TRANSPOSE to NHWC (when something needs channels-last); a 4-D
output computed channels-last gets one TRANSPOSE back to NCHW. `load(source, nhwc_io=True)` makes 4-D
inputs and outputs NHWC instead (no transposes at the edges).

Shapes: static shapes are used throughout. Every node whose inputs are all constant (Constant, and the
Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains torch emits for flatten/view, since Shape of a
value is known) is evaluated at conversion time with onnx's reference evaluator. A dynamic input dimension
(dim_param or unknown) is computed with size 1 and written as -1 in the IR input shape (the flatbuffer's
shape_signature), and tracked through the graph: the shape-chain constants remember which entries came
from it, so a Reshape writes -1 for the one entry that follows the dynamic size (computed from it, copied
by a 0, or else the -1 entry) and the batch can be resized at run time. Other consumers of such constants
(Expand, Tile, ConstantOfShape, Slice bounds, Resize sizes) and recurrent ops over a dynamic sequence
length are fixed to size 1 (or refused). Float16, bfloat16 and float64 values become float32.

Operators: Conv (1-D/2-D, groups, depthwise, dilations, strides, auto_pad, asymmetric pads -> PAD + VALID),
ConvTranspose (groups, output_padding, output_shape), Gemm, MatMul (FULLY_CONNECTED / BATCH_MATMUL; a
following Add of a constant vector becomes the bias),
Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Mod, Sqrt, Exp, Log, Abs, Neg, Reciprocal, Floor, Ceil,
Round, Sin, Cos, Sign, Erf (in x * 0.5 * (1 + erf(x / sqrt 2)) -> GELU), Gelu, Relu, LeakyRelu, PRelu,
Elu, Selu, Celu, Sigmoid, Tanh, HardSigmoid, HardSwish (and x * Clip(x + 3, 0, 6) / 6 -> HARD_SWISH),
Softplus, Softsign, Mish, Clip, Softmax,
LogSoftmax, BatchNormalization, InstanceNormalization, LayerNormalization, MaxPool, AveragePool
(count_include_pad, ceil_mode), GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, Transpose, Squeeze,
Unsqueeze, Concat, Split, Slice, Gather, Pad (constant, reflect, edge), Resize/Upsample (nearest, linear;
align_corners, half_pixel, pytorch_half_pixel, asymmetric, tf_half_pixel_for_nn), DepthToSpace,
SpaceToDepth, ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSumExp/LogSum, ArgMax, ArgMin, Identity,
Dropout (inference), Cast, Expand, Tile, Where, Equal, Greater, Less, GreaterOrEqual, LessOrEqual, Not, And,
Or, Shape, Size, ConstantOfShape, Constant, LSTM, GRU, RNN (unrolled over their static sequence length;
forward, reverse, bidirectional, peepholes, clip, batch-first layout), If (a condition known at conversion
inlines the taken branch - make the inputs it depends on constant with constant_inputs; a run-time condition
gives a TFLite IF), Loop (a TFLite WHILE; scan outputs when the trip count is known at conversion and the
loop cannot stop early), Scan (opset 9+: a WHILE over the scanned axis, any axes and directions),
NonZero (WHERE + TRANSPOSE), Range with run-time inputs (RANGE), TopK (constant or run-time K, any axis,
largest=0; sorted=0 gives the sorted order), GatherND (batch_dims), ScatterND (reductions none, add, mul,
max, min), GatherElements, ScatterElements/Scatter (the same reductions; both through full coordinates),
CumSum (exclusive, reverse, run-time axis), OneHot (run-time depth and values), NonMaxSuppression
(NON_MAX_SUPPRESSION_V4 per batch and class; run-time limits and thresholds), Trilu (run-time k), Einsum (any
number of operands, contracted pairwise; implicit output, '...', diagonals), Hardmax, ReverseSequence,
Unique (without an axis; sorted or not), IsNaN, IsInf, Xor, BitShift (uint8, int8, int16, int32; opset 28's
shifts past the width), BitwiseAnd/Or/Xor/Not (int8, uint8, int16, int32).

Run-time-sized values: NonZero, a Range of run-time limits, a run-time K, Unique and NonMaxSuppression give
values whose size is known only when the model runs (a dynamic axis, -1 in the IR); edgerun runs the ops after
them in stages, LiteRT as dynamic tensors. Index outputs are int64 as ONNX says (TFLite's int32 indices are
cast). Where TFLite's op differs from ONNX's definition the lowering makes up the difference or refuses:
NonMaxSuppression's IoU threshold is moved to the next float (TFLite suppresses at IoU >= threshold, ONNX at
>) and each class's boxes are sorted by score first (TOPK_V2, equal scores lower index first as onnxruntime;
TFLite's NMS heap has no defined order for them), NaN scores excepted; ScatterND/ScatterElements with
reduction none and duplicate indices (undefined in ONNX; TFLite's SCATTER_ND sums) keep the last update, as
onnxruntime; mul/max/min go through UNSORTED_SEGMENT_PROD/MAX/MIN (float32, int32).

Control flow: each If branch / Loop / Scan body becomes an IR subgraph (Graph.subgraphs of the main graph,
nested ones included). Outer run-time values a body reads by name become extra operands of the IF/WHILE and
inputs of its subgraphs, in one layout both sides agree on (the value's first permutation layout, so a
channels-last Conv output enters a branch without TRANSPOSEs); outer constants are copied in. IF outputs leave
in the then branch's layout (the else branch transposes to it if it must); loop-carried values, iteration
counters and scan buffers are in the ONNX layout. Branch outputs must agree in rank, type and shape;
loop-carried values must keep their type and shape.
Anything else raises ConversionError naming the node and its op_type.

Where things live
-----------------
    core.py           load(), fix_inputs(), _Lowering: the node loop, the value table, IR tensors of values in a
                      layout (ir, permute, reshape), graph inputs/outputs, layout-generic elementwise helpers
    layout.py         Val, Cols, layout permutations and array/shape helpers, _Emitter, attribute decoding
    folding.py        constant folding of nodes with constant inputs (onnx's reference evaluator)
    elementwise.py    elementwise ops, activations, Softmax, Cast, the GELU and hard-swish patterns
    shapes.py         shape, layout and indexing ops
    reductions.py     Reduce*, ArgMax/ArgMin
    normalization.py  BatchNormalization, InstanceNormalization, LayerNormalization
    conv.py           convolutions, pooling, Resize/Upsample
    dense.py          Gemm, MatMul
    recurrent.py      LSTM, GRU, RNN
    control_flow.py   If, Loop, Scan (IR subgraphs)
    indexing.py       index/selection ops, several with run-time-sized outputs (NonZero, TopK, Unique, ...)
    einsum.py         Einsum (BATCH_MATMUL)
    detection.py      NonMaxSuppression (NON_MAX_SUPPRESSION_V4 per batch and class)
    bitwise.py        predicates and bitwise ops

_Lowering inherits one mixin class per family module; each holds that family's `_op_<Type>` methods (the node
loop calls `_op_` + op_type). ONNX op -> module:

    elementwise.py     Abs, Add, And, Cast, Ceil, Celu, Clip, Cos, Div, Dropout, Elu, Equal, Erf, Exp, Floor,
                       Gelu, Greater, GreaterOrEqual, HardSigmoid, HardSwish, Identity, LeakyRelu, Less,
                       LessOrEqual, Log, LogSoftmax, Max, Mean, Min, Mish, Mod, Mul, Neg, Not, Or, PRelu, Pow,
                       Reciprocal, Relu, Round, Selu, Sigmoid, Sign, Sin, Softmax, Softplus, Softsign, Sqrt, Sub,
                       Sum, Tanh, Where
    shapes.py          Concat, ConstantOfShape, DepthToSpace, Expand, Flatten, Gather, Pad, Reshape, Shape, Size,
                       Slice, SpaceToDepth, Split, Squeeze, Tile, Transpose, Unsqueeze, Constant (folded)
    reductions.py      ArgMax, ArgMin, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceMax, ReduceMean,
                       ReduceMin, ReduceProd, ReduceSum, ReduceSumSquare
    normalization.py   BatchNormalization, InstanceNormalization, LayerNormalization
    conv.py            AveragePool, Conv, ConvTranspose, GlobalAveragePool, GlobalMaxPool, MaxPool, Resize,
                       Upsample
    dense.py           Gemm, MatMul
    recurrent.py       GRU, LSTM, RNN
    control_flow.py    If, Loop, Scan
    indexing.py        CumSum, GatherElements, GatherND, Hardmax, NonZero, OneHot, Range, ReverseSequence, Scatter,
                       ScatterElements, ScatterND, TopK, Trilu, Unique
    einsum.py          Einsum
    detection.py       NonMaxSuppression
    bitwise.py         BitShift, BitwiseAnd, BitwiseNot, BitwiseOr, BitwiseXor, IsInf, IsNaN, Xor
"""
from edgerun.converter.frontends.onnx.core import _Lowering, fix_inputs, load  # noqa: F401 - _Lowering: tests
from edgerun.converter.frontends.onnx.layout import Cols, Val  # noqa: F401

__all__ = ["fix_inputs", "load"]
