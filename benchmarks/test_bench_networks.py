"""Latency of whole networks: edgerun and LiteRT (builtin kernels, and its default XNNPACK delegate) in the
same run, grouped per model so pytest-benchmark prints them side by side; `edgerun bench` quotes ratios.
Run: make bench  (pytest benchmarks --benchmark-enable)."""
import numpy as np
import pytest

from oracle import random_inputs, tf_convert
from networks import NETWORKS, _calibration

CASES = [("mobilenet_v2", None), ("mobilenet_v2", "int8"), ("kws_dscnn", None), ("kws_dscnn", "int8"),
         ("recurrent", None)]


def _model(name, quant):
    keras_model = NETWORKS[name]()
    if quant == "int8":
        return tf_convert(keras_model, quantize="int8", representative=_calibration(keras_model),
                          input_type=np.int8, output_type=np.int8)
    return tf_convert(keras_model)


def _ready(it):
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), random_inputs(it.get_input_details())):
        it.set_tensor(d["index"], x)
    return it


@pytest.mark.parametrize("runtime", ["edgerun", "litert-builtin", "litert-xnnpack"])
@pytest.mark.parametrize("name,quant", CASES, ids=[f"{n}-{q or 'f32'}" for n, q in CASES])
def test_invoke(benchmark, name, quant, runtime):
    model = _model(name, quant)
    if runtime == "edgerun":
        import edgerun

        it = edgerun.Interpreter(model_content=model)
    else:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kind = OpResolverType.AUTO if runtime == "litert-xnnpack" else \
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        it = Interpreter(model_content=model, experimental_op_resolver_type=kind, num_threads=1)
    it = _ready(it)
    benchmark.group = f"{name}-{quant or 'f32'}"
    benchmark(it.invoke)
