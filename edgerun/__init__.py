"""edgerun: convert models to TensorFlow Lite flatbuffers and run them on hand-tuned C kernels."""
import os as _os

# In a source checkout the card's top-level folders (converter/, runtime/, kernels/, schema/, platforms/)
# sit beside this one; installed, setup.py maps them to edgerun.converter, edgerun.runtime, ... The line
# below makes the same names resolve from a checkout without installing.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "kernels", "build.py")) and _root not in __path__:
    __path__.append(_root)

__version__ = "0.1.0"

from edgerun.errors import (  # noqa: E402
    ConversionError,
    DtypeError,
    EdgerunError,
    InvokeError,
    MemoryLimitError,
    ModelError,
    RunTimeShapeError,
    ShapeError,
    StateError,
    UnsupportedOpError,
)


def __getattr__(name):
    # Lazy so that `import edgerun` stays light (no C extension load, no converter import) until used.
    if name == "Interpreter":
        from edgerun.runtime.interpreter import Interpreter

        return Interpreter
    if name == "SignatureRunner":
        from edgerun.runtime.interpreter import SignatureRunner

        return SignatureRunner
    if name == "register_custom_op":
        from edgerun.runtime.ops import register_custom_op

        return register_custom_op
    if name == "convert":
        from edgerun.converter import convert

        return convert
    if name == "verify":
        from edgerun.runtime.verify import verify

        return verify
    if name == "compile":
        from edgerun.platforms.codegen import compile_model

        return compile_model
    raise AttributeError(f"module 'edgerun' has no attribute {name!r}")


__all__ = [
    "Interpreter",
    "SignatureRunner",
    "convert",
    "compile",
    "verify",
    "register_custom_op",
    "EdgerunError",
    "ModelError",
    "UnsupportedOpError",
    "RunTimeShapeError",
    "ShapeError",
    "DtypeError",
    "InvokeError",
    "MemoryLimitError",
    "StateError",
    "ConversionError",
]
