"""Build glue: the card's top-level folders become subpackages of `edgerun`, and cffi builds the kernels.

Builds happen outside the source tree (build/ and the egg-info go to a folder under the system's temporary
directory, or EDGERUN_BUILD_DIR), and wheels are tagged abi3: cffi compiles the extension against Python's
limited API, so one wheel serves every CPython from 3.10 on."""
import hashlib
import os
import tempfile

from setuptools import setup

SUBPACKAGES = ["converter", "runtime", "kernels", "schema", "platforms"]


def _packages():
    import os

    pkgs = ["edgerun"]
    for top in SUBPACKAGES:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "__"))]
            if "__init__.py" in filenames:
                pkgs.append("edgerun." + dirpath.replace(os.sep, "."))
    return pkgs


def _build_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    tag = hashlib.sha256(here.encode()).hexdigest()[:12]
    base = os.environ.get("EDGERUN_BUILD_DIR") or os.path.join(tempfile.gettempdir(), f"edgerun-build-{tag}")
    os.makedirs(os.path.join(base, "egg-info"), exist_ok=True)
    return base


BUILD = _build_dir()

setup(
    packages=_packages(),
    package_dir={"edgerun": "edgerun", **{f"edgerun.{t}": t for t in SUBPACKAGES}},
    package_data={
        "edgerun.kernels": ["include/edgerun/*.h", "list/*.inc", "*.c", "ref/*.c", "ref/*.h", "opt/*.c", "opt/*.h",
                            "x86/*.c", "x86/*.h", "neon/*.c", "neon/*.h", "cortexm/*.c", "cortexm/*.h"],
        "edgerun.schema": ["*.fbs"],
        "edgerun.platforms": ["**/*"],
    },
    cffi_modules=["kernels/build.py:ffibuilder"],
    options={
        "build": {"build_base": os.path.join(BUILD, "build")},
        "egg_info": {"egg_base": os.path.join(BUILD, "egg-info")},
        "bdist_wheel": {"py_limited_api": "cp310"},
    },
)
