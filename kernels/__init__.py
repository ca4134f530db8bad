"""edgerun's C kernels: `ffi` and `lib` from the cffi extension, and the kernel-name table."""
from edgerun.errors import EdgerunError

import os as _os

try:
    if _os.environ.get("EDGERUN_KERNELS_SO"):
        # Load another build of the kernels (the sanitized one in `make sanitize`).
        import importlib.machinery
        import importlib.util

        _loader = importlib.machinery.ExtensionFileLoader("_kernels", _os.environ["EDGERUN_KERNELS_SO"])
        _spec = importlib.util.spec_from_loader("_kernels", _loader)
        _mod = importlib.util.module_from_spec(_spec)
        _loader.exec_module(_mod)
        ffi, lib = _mod.ffi, _mod.lib
    else:
        from edgerun.kernels._kernels import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise EdgerunError(
        "edgerun's C kernels are not built; install with `pip install .` or run `python kernels/build.py`"
    ) from exc

KERNEL_IDS = {ffi.string(lib.er_kernel_name(i)).decode(): i for i in range(lib.er_kernel_count())}

STATUS_TEXT = {
    lib.ER_ERR_PARAMS: "inconsistent parameters",
    lib.ER_ERR_UNSUPPORTED: "unsupported type or option",
    lib.ER_ERR_SHAPE: "inconsistent shapes",
    lib.ER_ERR_INDEX: "index out of range",
    lib.ER_ERR_KERNEL_ID: "unknown kernel id",
    lib.ER_ERR_ARITH: "arithmetic error",
    lib.ER_ERR_LIMIT: "loop iteration limit reached",
}
