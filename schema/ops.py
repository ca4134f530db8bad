"""The op table: one description per TFLite builtin op (and per custom op LiteRT's builtin resolver
registers), read by the runtime, the converter's passes, the quantizer and the writer.

    from edgerun.schema.ops import OPS, op_def
    d = op_def("CONV_2D")
    d.inputs            # ('x', 'w', 'b?'): roles by position ('?' optional, '*' any number)
    d.role_index("b")   # 2
    d.options           # 'Conv2DOptions' (the flatbuffer options table; None: the op takes none)
    d.types             # ('float32', 'int8', 'uint8', 'int16'): the types edgerun runs
    d.weighted          # Weighted(x=0, weight=1, axis=0, bias=2): per-channel weights, bias, quantized axis
    d.int8, d.int16     # an int8 / int16x8 kernel in TFLite's builtin op set (the quantizer may target it)
    d.fuses_activation  # a fused RELU/RELU6/RELU_N1_TO_1 applies (fuse_activations may fold one in)
    d.foldable          # fold_constants may evaluate it when every input is constant

Roles: x, y (data operands, the op's type), w (a weight), b (a bias), and named scalars/shape tensors
(axis, shape, perm, paddings, begin, end, strides, size, indices, ...). Quantization rules follow TFLite's
quantization spec: `same_scale` inputs share the outputs' scale and zero point, `fixed` output parameters per
mode, `no_int` names why an op is never integer-quantized, `versions` the op version TensorFlow's converter
writes per mode.

`python -m edgerun.schema.ops --markdown` writes schema/OPS.md, the op x type table edgerun vs LiteRT
(LiteRT's side from schema/litert_ops.json, written by `python -m edgerun.schema.probe --litert`).
"""
from __future__ import annotations

import dataclasses
import functools
import sys
from types import MappingProxyType

# The type columns of the table: numpy names (TFLite TensorType in the comment of TYPE_CODES).
TYPES = ("float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool", "complex64", "string",
         "resource")
TYPE_CODES = {"float32": 0, "float16": 1, "int32": 2, "uint8": 3, "int64": 4, "string": 5, "bool": 6,
              "int16": 7, "complex64": 8, "int8": 9, "resource": 13}


@dataclasses.dataclass(frozen=True)
class Weighted:
    """A weighted op: input `x` is the activation, `weight` the filter quantized per channel along `axis`,
    `bias` the bias (scale x_scale * weight_scale)."""

    x: int
    weight: int
    axis: int
    bias: int


@dataclasses.dataclass(frozen=True)
class OpDef:
    name: str  # BuiltinOperator name, or a custom op's custom_code
    inputs: tuple  # role per input position ('?': optional, '*': any number of this role from here)
    outputs: int | str = 1  # number of outputs ('*': variable)
    custom: bool = False  # a custom op (custom_code), not a builtin
    types: tuple = ()  # the types edgerun runs (from _RUNS below; empty: edgerun refuses the op)
    note: str = ""  # what the types do not say (e.g. 'LSTM: hybrid int8 weights')
    # -- quantization (TFLite's quantization spec) ------------------------------------------------------
    int8: bool = False  # TFLite's builtin op set has an int8 kernel (full-integer target)
    int16: bool = False  # ... an int16x8 kernel
    weighted: Weighted | None = None
    same_scale: tuple | str | None = None  # data inputs sharing the outputs' quantization ('all': every input)
    fixed: MappingProxyType | None = None  # mode -> (output scale, zero point)
    no_int: str | None = None  # why the quantizer never makes it integer
    versions: MappingProxyType | None = None  # mode -> op version TensorFlow's converter writes
    dynamic: MappingProxyType | None = None  # dynamic-range: weight input -> quantized axis (None: per tensor)
    asymmetric_inputs: bool = False  # dynamic-range kernel quantizes its inputs asymmetrically
    int8_in_16x8: tuple = ()  # constant inputs that stay int8 in int16x8 models
    # -- graph passes ------------------------------------------------------------------------------------
    fuses_activation: bool = False  # its float kernel applies fusedActivationFunction (fuse_activations)
    foldable: bool = True  # fold_constants may evaluate it (False: state, randomness, subgraphs)
    subgraphs: tuple = ()  # option fields holding subgraph indices (the model verifiers check them)

    @property
    def options(self) -> str | None:
        """The op's options table (schema.fbs; in BuiltinOptions or BuiltinOptions2), None: it takes none.
        Looked up on first use: importing the table does not import the generated schema module."""
        return None if self.custom else _options_tables().get(self.name)

    def role_index(self, role: str) -> int | None:
        """Position of the first input with this role (None when the op has no such input)."""
        for i, r in enumerate(self.inputs):
            if r.rstrip("?*") == role:
                return i
        return None

    @property
    def runs(self) -> bool:
        return bool(self.types)


def _freeze(d):
    return None if d is None else MappingProxyType(dict(d))


_TABLE: list[OpDef] = []


def _op(name: str, inputs: str = "x", **kw) -> None:
    for k in ("fixed", "versions", "dynamic"):
        kw[k] = _freeze(kw.get(k))
    _TABLE.append(OpDef(name, tuple(inputs.split()), **kw))


# Versions TensorFlow's converter writes for quantized ops (int8 / int16x8 / dynamic), LiteRT registers them.
def _v(i8=None, i16=None, dyn=None):
    return {k: v for k, v in (("int8", i8), ("int16x8", i16), ("dynamic", dyn)) if v is not None}


Q8 = {"int8": True}
Q16 = {"int8": True, "int16": True}
_FIX_LOGISTIC = {"int8": (1 / 256, -128), "int16x8": (1 / 32768, 0)}

# -- convolution, dense, pooling ------------------------------------------------------------------------------
_op("CONV_2D", "x w b?", **Q16, weighted=Weighted(0, 1, 0, 2), versions=_v(3, 4, 5), dynamic={1: 0},
    fuses_activation=True)
_op("DEPTHWISE_CONV_2D", "x w b?", **Q16, weighted=Weighted(0, 1, 3, 2), versions=_v(3, 5, 6), dynamic={1: 3},
    fuses_activation=True)
_op("FULLY_CONNECTED", "x w b?", **Q16, weighted=Weighted(0, 1, 0, 2), versions=_v(4, 7, 12), dynamic={1: 0},
    asymmetric_inputs=True, fuses_activation=True)
_op("TRANSPOSE_CONV", "shape w x b?", **Q16, weighted=Weighted(2, 1, 0, 3), versions=_v(2, 3),
    fuses_activation=True)
_op("BATCH_MATMUL", "x y", **Q16, dynamic={1: None}, versions=_v(dyn=4), asymmetric_inputs=True)
_op("CONV_3D", "x w b?")
_op("CONV_3D_TRANSPOSE", "shape w x b?")
_op("AVERAGE_POOL_2D", **Q16, same_scale=(0,), versions=_v(2, 3), fuses_activation=True)
_op("MAX_POOL_2D", **Q16, same_scale=(0,), versions=_v(2, 3), fuses_activation=True)
_op("L2_POOL_2D")
# -- elementwise binary -------------------------------------------------------------------------------------
_op("ADD", "x y", **Q16, versions=_v(2, 3), fuses_activation=True)
_op("SUB", "x y", **Q16, versions=_v(2, 3), fuses_activation=True)
_op("MUL", "x y", **Q16, versions=_v(2, 4), fuses_activation=True)
_op("DIV", "x y", **Q16, fuses_activation=True)
_op("MAXIMUM", "x y", **Q16, same_scale=(0, 1), versions=_v(2))
_op("MINIMUM", "x y", **Q16, same_scale=(0, 1), versions=_v(2))
_op("SQUARED_DIFFERENCE", "x y", **Q8)
_op("POW", "x y")
_op("FLOOR_DIV", "x y")
_op("FLOOR_MOD", "x y")
_op("ATAN2", "y x")
_op("BITWISE_XOR", "x y")
_op("RIGHT_SHIFT", "x y")
for _n in ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"):
    _op(_n, "x y", **Q16, versions=_v(2))
_op("LOGICAL_AND", "x y")
_op("LOGICAL_OR", "x y")
_op("ADD_N", "x*")
_op("PRELU", "x alpha", **Q16, int8_in_16x8=(1,))
# -- elementwise unary, activations --------------------------------------------------------------------------
_op("LOGISTIC", **Q16, fixed=_FIX_LOGISTIC, versions=_v(2, 3))
_op("TANH", **Q16, fixed={"int8": (1 / 128, 0), "int16x8": (1 / 32768, 0)}, versions=_v(2, 3))
_op("SOFTMAX", **Q16, fixed=_FIX_LOGISTIC, versions=_v(2, 3))
_op("LOG_SOFTMAX", **Q8, fixed={"int8": (16 / 256, 127)}, versions=_v(2))
_op("L2_NORMALIZATION", **Q8, fixed={"int8": (1 / 128, 0)}, versions=_v(2))
_op("RELU", **Q16, versions=_v(2))
_op("RELU6", **Q16, versions=_v(2))
_op("RELU_N1_TO_1", **Q8)
_op("RELU_0_TO_1", **Q8)
_op("LEAKY_RELU", **Q16)
_op("HARD_SWISH", **Q8)
_op("ELU", **Q8)
_op("GELU", **Q16)
for _n in ("EXP", "LOG", "ABS", "NEG", "SQRT", "RSQRT"):
    _op(_n, **Q16)
for _n in ("FLOOR", "CEIL", "ROUND", "SIN", "COS", "SQUARE", "SIGN", "LOGICAL_NOT", "ZEROS_LIKE", "CAST",
           "REAL", "IMAG", "COMPLEX_ABS", "BITCAST"):
    _op(_n)
_op("ONES_LIKE", note="not a BuiltinOperator of schema.fbs (TensorFlow's converter never writes it)")
_op("LOCAL_RESPONSE_NORMALIZATION")
_op("QUANTIZE", versions=_v(1, 3))
_op("DEQUANTIZE", versions=_v(2, 4))
_op("FAKE_QUANT", note="int32: each element's bits as a float32, as LiteRT's kernel reads them")
# -- shapes and data movement -----------------------------------------------------------------------------
_op("RESHAPE", "x shape?", **Q16, same_scale=(0,))
_op("SQUEEZE", **Q16, same_scale=(0,))
_op("EXPAND_DIMS", "x axis", **Q16, same_scale=(0,))
_op("CONCATENATION", "x*", **Q16, same_scale="all", versions=_v(2, 3))
_op("PACK", "x*", **Q16, same_scale="all", versions=_v(2))
_op("UNPACK", outputs="*", **Q16, same_scale=(0,), versions=_v(2))
_op("PAD", "x paddings", **Q16, same_scale=(0,), versions=_v(2))
_op("PADV2", "x paddings value", **Q16, same_scale=(0, 2), versions=_v(2))
_op("MIRROR_PAD", "x paddings", **Q16, same_scale=(0,))
_op("TRANSPOSE", "x perm", **Q16, same_scale=(0,), versions=_v(2))
_op("GATHER", "x indices", **Q16, same_scale=(0,), versions=_v(2))
_op("GATHER_ND", "x indices", **Q16, same_scale=(0,))
_op("SLICE", "x begin size", **Q16, same_scale=(0,), versions=_v(2))
_op("STRIDED_SLICE", "x begin end strides", **Q16, same_scale=(0,), versions=_v(2))
_op("SPLIT", "axis x", outputs="*", **Q16, same_scale=(1,), versions=_v(2))
_op("SPLIT_V", "x size axis", outputs="*", **Q16, same_scale=(0,), versions=_v(2))
_op("SPACE_TO_DEPTH", **Q8, same_scale=(0,), versions=_v(2))
_op("DEPTH_TO_SPACE", **Q8, same_scale=(0,), versions=_v(2))
_op("BATCH_TO_SPACE_ND", "x block crops", **Q16, same_scale=(0,), versions=_v(2))
_op("SPACE_TO_BATCH_ND", "x block paddings", **Q16, same_scale=(0,), versions=_v(2))
_op("RESIZE_BILINEAR", "x size", **Q16, same_scale=(0,), versions=_v(2))
_op("RESIZE_NEAREST_NEIGHBOR", "x size", **Q16, same_scale=(0,), versions=_v(2))
_op("TILE", "x multiples", **Q16, same_scale=(0,))
_op("BROADCAST_TO", "x shape", **Q16, same_scale=(0,), versions=_v(2, 2))
_op("REVERSE_V2", "x axis", **Q16, same_scale=(0,))
_op("SELECT", "cond x y", **Q16, same_scale=(1, 2), versions=_v(2))
_op("SELECT_V2", "cond x y", **Q16, same_scale=(1, 2), versions=_v(1))
_op("SHAPE", **Q16)
_op("RANK")
_op("FILL", "shape value")
_op("RANGE", "start limit delta")
_op("WHERE", "cond")
_op("REVERSE_SEQUENCE", "x lengths")
_op("MATRIX_DIAG", "diagonal")
_op("MATRIX_SET_DIAG", "x diagonal")
_op("ONE_HOT", "indices depth on off")
_op("SCATTER_ND", "indices updates shape")
_op("SPARSE_TO_DENSE", "indices shape values default")
_op("DYNAMIC_UPDATE_SLICE", "x update indices", **Q16, same_scale=(0, 1))
_op("BROADCAST_ARGS", "shape shape")
_op("DILATE", "x dilations value")
_op("DENSIFY")
_op("EMBEDDING_LOOKUP", "indices w")
_op("UNIQUE", outputs=2)
_op("BUCKETIZE")
# -- reductions ---------------------------------------------------------------------------------------------
_op("MEAN", "x axis", **Q16, versions=_v(2))
_op("SUM", "x axis", **Q16, versions=_v(2))
_op("REDUCE_PROD", "x axis", **Q16)
_op("REDUCE_MAX", "x axis", **Q16, same_scale=(0,), versions=_v(2))
_op("REDUCE_MIN", "x axis", **Q16, same_scale=(0,), versions=_v(2))
_op("REDUCE_ANY", "x axis")
_op("REDUCE_ALL", "x axis")
_op("ARG_MAX", "x axis", **Q8, versions=_v(2))
_op("ARG_MIN", "x axis", **Q8, versions=_v(2))
_op("CUMSUM", "x axis")
_op("TOPK_V2", "x k", outputs=2)
_op("SEGMENT_SUM", "x segment_ids")
for _n in ("UNSORTED_SEGMENT_SUM", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_MIN"):
    _op(_n, "x segment_ids num_segments")
_op("REDUCE_WINDOW", "x init window_shape window_strides window_dilations")
# -- recurrent ------------------------------------------------------------------------------------------------
_LSTM = "x w? w w w w? w w w w? w? w? b? b b b w? b? state state w? w? w? w?"
_op("UNIDIRECTIONAL_SEQUENCE_LSTM", _LSTM, versions=_v(dyn=4),
    dynamic={i: None for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16)}, asymmetric_inputs=True,
    no_int="full-integer LSTM needs calibrated gate intermediates, which edgerun's quantizer does not produce; "
           "use quantize='dynamic' for LSTM models")
_op("LSTM", _LSTM)
_op("BIDIRECTIONAL_SEQUENCE_LSTM", "x w*", outputs="*")
_op("RNN", "x w w b state")
_op("UNIDIRECTIONAL_SEQUENCE_RNN", "x w w b state")
_op("BIDIRECTIONAL_SEQUENCE_RNN", "x w*", outputs="*")
_op("SVDF", "x w w b? state")
# -- detection, signal -------------------------------------------------------------------------------------
_op("NON_MAX_SUPPRESSION_V4", "boxes scores max_outputs iou_threshold score_threshold", outputs=2)
_op("NON_MAX_SUPPRESSION_V5", "boxes scores max_outputs iou_threshold score_threshold sigma", outputs=3)
_op("RFFT2D", "x fft_length")
# -- control flow, state, randomness (never folded) ------------------------------------------------------
# IF / WHILE copy tensors between the caller and their subgraphs: int8 and int16 as any other type (the
# quantizer gives each operand or loop variable and its subgraph tensors one quantization)
_op("IF", "cond x*", outputs="*", **Q16, foldable=False, subgraphs=("thenSubgraphIndex", "elseSubgraphIndex"))
_op("WHILE", "x*", outputs="*", **Q16, foldable=False, subgraphs=("condSubgraphIndex", "bodySubgraphIndex"))
_op("CALL", "x*", outputs="*", foldable=False, subgraphs=("subgraph",))
_op("CALL_ONCE", "", outputs=0, foldable=False, subgraphs=("initSubgraphIndex",))
_op("VAR_HANDLE", "", foldable=False)
_op("READ_VARIABLE", "resource", foldable=False)
_op("ASSIGN_VARIABLE", "resource value", outputs=0, foldable=False)
_op("RANDOM_UNIFORM", "shape", foldable=False)
_op("RANDOM_STANDARD_NORMAL", "shape", foldable=False)
_op("MULTINOMIAL", "logits num_samples", foldable=False)
_op("HASHTABLE", "", foldable=False)
_op("HASHTABLE_FIND", "resource keys default", foldable=False)
_op("HASHTABLE_IMPORT", "resource keys values", outputs=0, foldable=False)
_op("HASHTABLE_SIZE", "resource", foldable=False)
_op("CUSTOM", "x*", outputs="*", foldable=False, note="the custom ops edgerun runs are the entries marked custom")
_op("DELEGATE", "x*", outputs="*", foldable=False, note="written by delegates into a runtime graph, never in files")
_op("PLACEHOLDER_FOR_GREATER_OP_CODES", "", foldable=False, note="a schema marker, not an op")
# -- strings, hashing, sparse embeddings ---------------------------------------------------------------------
_op("HASHTABLE_LOOKUP", "indices keys values", outputs=2)
_op("LSH_PROJECTION", "hash x w?")
_op("SKIP_GRAM")
_op("CONCAT_EMBEDDINGS", "x*")
_op("EMBEDDING_LOOKUP_SPARSE", "ids indices dense_shape weights w")
# -- StableHLO --------------------------------------------------------------------------------------------------
for _n in ("ADD", "SUBTRACT", "MULTIPLY", "DIVIDE", "MAXIMUM", "MINIMUM", "AND", "OR", "POWER", "REMAINDER",
           "SHIFT_LEFT", "COMPARE"):
    _op("STABLEHLO_" + _n, "x y")
for _n in ("LOGISTIC", "ABS", "COSINE", "EXPONENTIAL", "FLOOR", "LOG", "NEGATE", "RSQRT", "TANH", "CONVERT",
           "CBRT", "RESHAPE", "BROADCAST_IN_DIM", "SLICE", "TRANSPOSE"):
    _op("STABLEHLO_" + _n)
_op("STABLEHLO_CLAMP", "min x max")
_op("STABLEHLO_SELECT", "cond x y")
_op("STABLEHLO_CONCATENATE", "x*")
_op("STABLEHLO_CONVOLUTION", "x w")
_op("STABLEHLO_DOT_GENERAL", "x y")
_op("STABLEHLO_PAD", "x value")
_op("STABLEHLO_IOTA", "")
_op("STABLEHLO_DYNAMIC_SLICE", "x indices*")
_op("STABLEHLO_DYNAMIC_UPDATE_SLICE", "x update indices*")
_op("STABLEHLO_GATHER", "x indices")
_op("STABLEHLO_SCATTER", "x indices updates", subgraphs=("updateComputationSubgraphIndex",))
_op("STABLEHLO_REDUCE", "x* init*", outputs="*", foldable=False, subgraphs=("bodySubgraphIndex",))
_op("STABLEHLO_REDUCE_WINDOW", "x* init*", outputs="*", foldable=False, subgraphs=("bodySubgraphIndex",))
_op("STABLEHLO_SORT", "x*", outputs="*", foldable=False, subgraphs=("comparatorSubgraphIndex",))
_op("STABLEHLO_WHILE", "x*", outputs="*", foldable=False,
    subgraphs=("condSubgraphIndex", "bodySubgraphIndex"))
_op("STABLEHLO_CASE", "index", outputs="*", foldable=False,
    note="branchSubgraphIndices: a vector of subgraph indices (the verifiers check scalar fields only)")
_op("STABLEHLO_COMPOSITE", "x*", outputs="*", foldable=False, subgraphs=("decompositionSubgraphIndex",))
_op("STABLEHLO_CUSTOM_CALL", "x*", outputs="*", foldable=False)
_op("STABLEHLO_RNG_BIT_GENERATOR", "state", outputs=2, foldable=False)
# -- custom ops LiteRT's builtin resolver registers (and edgerun's built-in custom ops) ----------------------
_op("TFLite_Detection_PostProcess", "boxes scores anchors", outputs=4, custom=True, foldable=False)
_op("AudioSpectrogram", custom=True, foldable=False)
_op("Mfcc", "x sample_rate", custom=True, foldable=False)
_op("MaxPoolingWithArgmax2D", outputs=2, custom=True, foldable=False)
_op("MaxUnpooling2D", "x indices", custom=True, foldable=False)
_op("Convolution2DTransposeBias", "x w b", custom=True, foldable=False)
# -- edgerun's own ops, made by its prepare-time rewrites (never in a file) ---------------------------------
_op("EDGERUN_SET_ITEM", "x update head_size tail_begin", foldable=False,
    note="runtime/rewrite.py: SLICE, SLICE, CONCATENATION of a TensorList write inside a WHILE body")

# The types edgerun runs, by op (the principal type: input 0, or the value type; schema/probe_models.py). For
# the ops with a probe recipe, `python -m edgerun.schema.probe --write-runs` rewrites the entry from edgerun's
# answers and tests/schema/test_op_table.py checks it; the others (CALL_ONCE, the custom ops LiteRT does not
# register, edgerun's own ops) are declared here, 'any' meaning every type passes through.
_RUNS = {
    "CONV_2D": "float32 int8 uint8 int16", "DEPTHWISE_CONV_2D": "float32 int8 uint8 int16",
    "FULLY_CONNECTED": "float32 int8 uint8 int16", "TRANSPOSE_CONV": "float32 int8 uint8 int16",
    "BATCH_MATMUL": "float32 int8 int16", "CONV_3D": "float32", "CONV_3D_TRANSPOSE": "float32",
    "AVERAGE_POOL_2D": "float32 int8 uint8 int16", "MAX_POOL_2D": "float32 int8 uint8 int16",
    "L2_POOL_2D": "float32", "ADD": "float32 float16 int8 uint8 int16 int32 int64",
    "SUB": "float32 int8 uint8 int16 int32 int64", "MUL": "float32 float16 int8 uint8 int16 int32 int64",
    "DIV": "float32 int8 uint8 int16 int32 int64", "MAXIMUM": "float32 float16 int8 uint8 int16 int32 int64",
    "MINIMUM": "float32 float16 int8 uint8 int16 int32 int64",
    "SQUARED_DIFFERENCE": "float32 int8 int32 int64", "POW": "float32 int32 int64",
    "FLOOR_DIV": "float32 int8 int16 int32 int64", "FLOOR_MOD": "float32 int8 int16 int32 int64",
    "ATAN2": "float32 float16", "BITWISE_XOR": "int8 uint8 int16 int32",
    "RIGHT_SHIFT": "int8 uint8 int16 int32", "EQUAL": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "NOT_EQUAL": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "LESS": "float32 float16 int8 uint8 int16 int32 int64",
    "LESS_EQUAL": "float32 float16 int8 uint8 int16 int32 int64",
    "GREATER": "float32 float16 int8 uint8 int16 int32 int64",
    "GREATER_EQUAL": "float32 float16 int8 uint8 int16 int32 int64", "LOGICAL_AND": "bool",
    "LOGICAL_OR": "bool", "ADD_N": "float32 int32", "PRELU": "float32 int8 uint8 int16",
    "LOGISTIC": "float32 float16 int8 uint8 int16", "TANH": "float32 float16 int8 uint8 int16",
    "SOFTMAX": "float32 float16 int8 uint8 int16", "LOG_SOFTMAX": "float32 int8 uint8",
    "L2_NORMALIZATION": "float32 int8 uint8", "RELU": "float32 int8 uint8 int16 int32",
    "RELU6": "float32 int8 uint8 int16", "RELU_N1_TO_1": "float32 int8 uint8",
    "RELU_0_TO_1": "float32 int8 uint8", "LEAKY_RELU": "float32 int8 uint8 int16",
    "HARD_SWISH": "float32 int8 uint8", "ELU": "float32 int8", "GELU": "float32 float16 int8 uint8 int16",
    "EXP": "float32 int8 int16", "LOG": "float32 int8 int16", "ABS": "float32 int8 int16 int32",
    "NEG": "float32 float16 int8 int16 int32 int64", "SQRT": "float32 int8 int16",
    "RSQRT": "float32 int8 int16", "FLOOR": "float32 float16", "CEIL": "float32", "ROUND": "float32 float16",
    "SIN": "float32 float16", "COS": "float32 float16", "SQUARE": "float32 int32", "SIGN": "float32 int32",
    "LOGICAL_NOT": "bool", "ZEROS_LIKE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "CAST": "float32 float16 int8 uint8 int16 int32 int64 bool", "REAL": "complex64", "IMAG": "complex64",
    "COMPLEX_ABS": "complex64", "BITCAST": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "ONES_LIKE": "float32 int32 int64", "LOCAL_RESPONSE_NORMALIZATION": "float32",
    "QUANTIZE": "float32 int8 uint8 int16", "DEQUANTIZE": "float16 int8 uint8 int16", "FAKE_QUANT": "float32 int32",
    "RESHAPE": "float32 float16 int8 uint8 int16 int32 int64 bool string",
    "SQUEEZE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "EXPAND_DIMS": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "CONCATENATION": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "PACK": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "UNPACK": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "PAD": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "PADV2": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "MIRROR_PAD": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "TRANSPOSE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "GATHER": "float32 float16 int8 uint8 int16 int32 int64 bool string",
    "GATHER_ND": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SLICE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STRIDED_SLICE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SPLIT": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SPLIT_V": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SPACE_TO_DEPTH": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "DEPTH_TO_SPACE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "BATCH_TO_SPACE_ND": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SPACE_TO_BATCH_ND": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "RESIZE_BILINEAR": "float32 int8 uint8 int16",
    "RESIZE_NEAREST_NEIGHBOR": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "TILE": "float32 float16 int8 uint8 int16 int32 int64 bool string",
    "BROADCAST_TO": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "REVERSE_V2": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SELECT": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SELECT_V2": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "SHAPE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "RANK": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "FILL": "float32 float16 int8 uint8 int16 int32 int64 bool string", "RANGE": "float32 int32 int64",
    "WHERE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "REVERSE_SEQUENCE": "float32 uint8 int16 int32 int64",
    "MATRIX_DIAG": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "MATRIX_SET_DIAG": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "ONE_HOT": "float32 int8 uint8 int32 int64 bool", "SCATTER_ND": "float32 int8 uint8 int32 int64 bool",
    "SPARSE_TO_DENSE": "float32 int8 uint8 int32 int64",
    "DYNAMIC_UPDATE_SLICE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "BROADCAST_ARGS": "int32 int64", "DILATE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "DENSIFY": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "EMBEDDING_LOOKUP": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "UNIQUE": "float32 int8 uint8 int16 int32 int64", "BUCKETIZE": "float32 int32 int64",
    "MEAN": "float32 int8 uint8 int16 int32 int64", "SUM": "float32 int8 uint8 int16 int32 int64",
    "REDUCE_PROD": "float32 int8 int16 int32 int64", "REDUCE_MAX": "float32 int8 uint8 int16 int32 int64",
    "REDUCE_MIN": "float32 int8 uint8 int16 int32 int64", "REDUCE_ANY": "bool", "REDUCE_ALL": "bool",
    "ARG_MAX": "float32 int8 uint8 int16 int32 int64 bool",
    "ARG_MIN": "float32 int8 uint8 int16 int32 int64 bool", "CUMSUM": "float32 int32 int64",
    "TOPK_V2": "float32 int8 uint8 int16 int32 int64", "SEGMENT_SUM": "float32 int32",
    "UNSORTED_SEGMENT_SUM": "float32 int32", "UNSORTED_SEGMENT_PROD": "float32 int32",
    "UNSORTED_SEGMENT_MAX": "float32 int32", "UNSORTED_SEGMENT_MIN": "float32 int32",
    "REDUCE_WINDOW": "float32 int8 uint8 int16 int32 int64 bool", "UNIDIRECTIONAL_SEQUENCE_LSTM": "float32 int8",
    "LSTM": "float32 int8", "BIDIRECTIONAL_SEQUENCE_LSTM": "float32", "RNN": "float32",
    "UNIDIRECTIONAL_SEQUENCE_RNN": "float32", "BIDIRECTIONAL_SEQUENCE_RNN": "float32", "SVDF": "float32",
    "NON_MAX_SUPPRESSION_V4": "float32", "NON_MAX_SUPPRESSION_V5": "float32", "RFFT2D": "float32",
    "IF": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "WHILE": "float32 float16 int8 uint8 int16 int32 int64 bool", "CALL_ONCE": "any",
    "VAR_HANDLE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "READ_VARIABLE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "ASSIGN_VARIABLE": "float32 float16 int8 uint8 int16 int32 int64 bool", "RANDOM_UNIFORM": "float32",
    "RANDOM_STANDARD_NORMAL": "float32", "MULTINOMIAL": "float32", "HASHTABLE": "int64 string",
    "HASHTABLE_FIND": "int64 string", "HASHTABLE_IMPORT": "int64 string", "HASHTABLE_SIZE": "int64 string",
    "HASHTABLE_LOOKUP": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "LSH_PROJECTION": "float32 float16 int8 uint8 int16 int32 int64 bool string", "SKIP_GRAM": "string",
    "EMBEDDING_LOOKUP_SPARSE": "float32",
    "STABLEHLO_ADD": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_MULTIPLY": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_MAXIMUM": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_MINIMUM": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_AND": "int8 uint8 int16 int32 int64 bool", "STABLEHLO_SHIFT_LEFT": "int8 int16 int32",
    "STABLEHLO_PAD": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_GATHER": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_COMPOSITE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_SCATTER": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_REDUCE_WINDOW": "float32 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_CASE": "float32 float16 int8 uint8 int16 int32 int64 bool",
    "STABLEHLO_RNG_BIT_GENERATOR": "int32 int64",
    "TFLite_Detection_PostProcess": "float32 uint8", "AudioSpectrogram": "float32", "Mfcc": "float32",
    "MaxPoolingWithArgmax2D": "float32", "MaxUnpooling2D": "float32", "Convolution2DTransposeBias": "float32",
    "EDGERUN_SET_ITEM": "any",
}


# (op, types) LiteRT's builtin resolver accepts without computing a defined result, which edgerun refuses on
# purpose: op -> (types, what LiteRT does). The docs list them apart from what edgerun lacks (schema/docs.py).
LITERT_UNDEFINED = MappingProxyType({
    "FAKE_QUANT": ("float16 int8 uint8 int16 int64 bool",
                   ("LiteRT's kernel does not check the type and reads and writes every element as 4 bytes of "
                    "float32: past the end of 1- and 2-byte tensors, and half of an int64 output is left as it was")),
})


@functools.cache
def _options_tables() -> dict:
    """op name -> options table, from the schema's BuiltinOptions/BuiltinOptions2 unions: the table named
    after the op (CamelCase + 'Options'), else the shared table listed here."""
    from edgerun.schema import schema_generated as fb

    shared = {
        "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
        "L2_NORMALIZATION": "L2NormOptions", "LSH_PROJECTION": "LSHProjectionOptions", "SVDF": "SVDFOptions",
        "RNN": "RNNOptions", "LSTM": "LSTMOptions", "UNIDIRECTIONAL_SEQUENCE_RNN": "SequenceRNNOptions",
        "BIDIRECTIONAL_SEQUENCE_RNN": "BidirectionalSequenceRNNOptions",
        "BIDIRECTIONAL_SEQUENCE_LSTM": "BidirectionalSequenceLSTMOptions",
        "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
        "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_PROD": "ReducerOptions",
        "REDUCE_MAX": "ReducerOptions", "REDUCE_MIN": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
        "REDUCE_ALL": "ReducerOptions", "MAXIMUM": "MaximumMinimumOptions", "MINIMUM": "MaximumMinimumOptions",
        "BATCH_TO_SPACE_ND": "BatchToSpaceNDOptions", "SPACE_TO_BATCH_ND": "SpaceToBatchNDOptions",
        "TOPK_V2": "TopKV2Options", "PADV2": "PadV2Options", "SPLIT_V": "SplitVOptions",
        "REVERSE_V2": "ReverseV2Options", "GATHER_ND": "GatherNdOptions", "SELECT_V2": "SelectV2Options",
        "NON_MAX_SUPPRESSION_V4": "NonMaxSuppressionV4Options",
        "NON_MAX_SUPPRESSION_V5": "NonMaxSuppressionV5Options", "SCATTER_ND": "ScatterNdOptions",
        "RFFT2D": "Rfft2dOptions", "CONV_3D": "Conv3DOptions", "CONV_3D_TRANSPOSE": "Conv3DOptions",
        "RANDOM_STANDARD_NORMAL": "RandomOptions", "RANDOM_UNIFORM": "RandomOptions",
        "MULTINOMIAL": "RandomOptions", "ATAN2": "ATan2Options", "CONCAT_EMBEDDINGS": "ConcatEmbeddingsOptions",
        "LOCAL_RESPONSE_NORMALIZATION": "LocalResponseNormalizationOptions",
        "EMBEDDING_LOOKUP_SPARSE": "EmbeddingLookupSparseOptions", "BATCH_MATMUL": "BatchMatMulOptions",
        "CALL": "CallOptions", "STABLEHLO_COMPOSITE": "StableHLOCompositeOptions",
    }
    out = {}
    for d in _TABLE:
        if d.custom:
            continue
        camel = "".join(p[:1] + p[1:].lower() for p in d.name.split("_")).replace("2d", "2D")
        for name in (shared.get(d.name), camel + "Options"):
            if name and (hasattr(fb.BuiltinOptions, name) or hasattr(fb.BuiltinOptions2, name)):
                out[d.name] = name
                break
    return out


def _finish():
    unknown = set(_RUNS) - {d.name for d in _TABLE}
    if unknown:
        raise RuntimeError(f"_RUNS names ops the table lacks: {sorted(unknown)}")
    return tuple(dataclasses.replace(d, types=tuple(_RUNS.get(d.name, "").split())) for d in _TABLE)


OPS: tuple[OpDef, ...] = _finish()
BY_NAME: MappingProxyType = MappingProxyType({d.name: d for d in OPS})


def op_def(name: str) -> OpDef | None:
    """The description of builtin op `name` or custom op `name` (None when the table has no such op)."""
    return BY_NAME.get(name)


# -- views for the consumers (built once; each names the field it reads) -------------------------------------

def names(pred) -> frozenset:
    return frozenset(d.name for d in OPS if pred(d))


def markdown() -> str:
    from edgerun.schema import docs

    return docs.markdown()


if __name__ == "__main__":
    if sys.argv[1:] == ["--markdown"]:
        from edgerun.schema import docs

        docs.main()
    else:
        print(__doc__)
