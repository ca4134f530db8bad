"""Build glue: the card's top-level folders become subpackages of `edgerun`, and cffi builds the kernels."""
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


setup(
    packages=_packages(),
    package_dir={"edgerun": "edgerun", **{f"edgerun.{t}": t for t in SUBPACKAGES}},
    package_data={
        "edgerun.kernels": ["include/edgerun/*.h", "list/*.inc", "*.c", "ref/*.c", "ref/*.h", "opt/*.c", "opt/*.h",
                            "x86/*.c", "x86/*.h", "neon/*.c", "neon/*.h"],
        "edgerun.schema": ["*.fbs"],
        "edgerun.platforms": ["**/*"],
    },
    cffi_modules=["kernels/build.py:ffibuilder"],
)
