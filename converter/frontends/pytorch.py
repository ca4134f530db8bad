"""PyTorch frontend: a `torch.nn.Module` and example inputs -> ONNX (torch.export, then torch.onnx's exporter,
in memory) -> the ONNX frontend. Shapes come from the example inputs; the module runs in eval mode (batch norm
with its running statistics, dropout off) without gradients.

Needs `torch` and `onnxscript` (the `edgerun[torch]` extra); torchvision is not needed.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import warnings

import numpy as np

from edgerun.errors import ConversionError


def is_module(obj) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


@contextlib.contextmanager
def _quiet():
    """torch.onnx's exporter logs and warns about optional packages and its own progress: keep that off the
    user's terminal (its errors still raise)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def to_onnx(module, example_inputs):
    """The onnx.ModelProto of `module` traced on `example_inputs` (a tensor, an array, or a tuple of them)."""
    try:
        import torch
    except ImportError as exc:
        raise ConversionError(f"converting a torch.nn.Module needs PyTorch: pip install 'edgerun[torch]' ({exc})") \
            from None
    if example_inputs is None:
        raise ConversionError("a torch.nn.Module needs example_inputs=(tensor, ...): the shapes and types of its "
                              "inputs come from them")
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    args = []
    for i, x in enumerate(example_inputs):
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        if not isinstance(x, torch.Tensor):
            raise ConversionError(f"example_inputs[{i}] is a {type(x).__name__}; expected a torch.Tensor or a numpy "
                                  "array")
        args.append(x)
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it; say so before it fails deep inside)
    except ImportError:
        raise ConversionError("converting a torch.nn.Module needs onnxscript (torch.onnx's exporter): pip install "
                              "'edgerun[torch]'") from None
    modes = [(m, m.training) for m in module.modules()]  # restored one by one: modes may be mixed
    module.eval()
    try:
        with _quiet(), torch.no_grad():
            program = torch.onnx.export(module, tuple(args), dynamo=True, verbose=False, optimize=True)
    except Exception as exc:  # noqa: BLE001 - torch.export / the exporter name the unsupported construct
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConversionError(f"torch.onnx.export of {type(module).__name__} failed: {first}") from None
    finally:
        for m, training in modes:
            m.training = training
    return program.model_proto


def load(module, example_inputs, constant_inputs=None):
    from edgerun.converter.frontends import onnx as onnx_frontend

    return onnx_frontend.load(to_onnx(module, example_inputs), constant_inputs=constant_inputs)
