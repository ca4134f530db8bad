"""cffi build of edgerun's C kernels (out-of-line API mode).

setup.py names `kernels/build.py:ffibuilder` in cffi_modules. For development, `python kernels/build.py`
rebuilds the extension in place (next to this file) without reinstalling.
Environment: EDGERUN_SANITIZE=1 adds ASan/UBSan; EDGERUN_CFLAGS adds flags; EDGERUN_DEBUG=1 builds -O0 -g.
"""
import glob
import os
import re
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "include")


def _headers():
    """core.h, the host ISA switch, then the family headers in the order ops.h includes them."""
    ops_h = open(os.path.join(INCLUDE, "edgerun", "ops.h")).read()
    families = re.findall(r'#include "edgerun/(ops_\w+\.h)"', ops_h)
    return [os.path.join(INCLUDE, "edgerun", name) for name in ["core.h", "host_isa.h"] + families]


def cdef_text():
    """The headers with preprocessor lines removed, except `#define NAME <int>` which cffi understands."""
    out = []
    for path in _headers():
        text = open(path).read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for line in text.splitlines():
            s = line.strip()
            if s.startswith("#"):
                m = re.match(r"#define\s+(ER_\w+)\s+(-?\d+)\s*$", s)
                if m:
                    out.append(f"#define {m.group(1)} {m.group(2)}")
                continue
            if s.startswith("_Static_assert") or s.startswith("static_assert"):
                continue
            out.append(line)
    return "\n".join(out)


def _sources(rel):
    base = os.path.relpath(HERE) if rel else HERE
    # ref/: the reference kernels (the definition); opt/: optimized kernels in portable C; x86/, neon/: their
    # ISA-specific micro-kernels (compiled to nothing on other targets), chosen at load by host_isa.c
    files = sorted(glob.glob(os.path.join(base, "ref", "*.c")))
    files += [os.path.join(base, "exec.c"), os.path.join(base, "host_isa.c"), os.path.join(base, "pool.c")]
    for folder in ("opt", "x86", "neon"):
        files += sorted(glob.glob(os.path.join(base, folder, "*.c")))
    return files


def kernel_sources() -> list:
    """Absolute paths of every C file of the kernel library: the extension's sources, and what test drivers
    that link the kernels themselves (tests/kernels/*_driver.c) compile."""
    return _sources(False)


# platforms/lib's loader and API (plan files), compiled into the desktop extension too: the interpreter opens
# its cached plans with it (runtime/plan_cache.py). Beside kernels/ in a checkout, under edgerun/platforms when
# installed.
LIB = os.path.join(os.path.dirname(HERE), "platforms", "lib")
LIB_SOURCES = ("load.c", "runtime.c", "layout_gen.c")
LIB_CDEF = """
typedef enum edgerun_status { EDGERUN_OK = 0, EDGERUN_ERROR_ARGUMENT = 1, EDGERUN_ERROR_IO = 2,
  EDGERUN_ERROR_FORMAT = 3, EDGERUN_ERROR_VERSION = 4, EDGERUN_ERROR_INCOMPATIBLE = 5, EDGERUN_ERROR_MEMORY = 6,
  EDGERUN_ERROR_INVOKE = 7, EDGERUN_ERROR_UNSUPPORTED = 8 } edgerun_status;
typedef struct edgerun_model edgerun_model;
edgerun_status er_rt_open_cached(const void *data, size_t size, edgerun_model **model, char *error,
                                 size_t error_size);
void edgerun_close(edgerun_model *model);
er_tensor *er_rt_tensors(edgerun_model *model, int32_t *count);
edgerun_status er_rt_variable_data(edgerun_model *model, int32_t index, void **data, size_t *bytes);
edgerun_status edgerun_invoke(edgerun_model *model);
edgerun_status edgerun_set_num_threads(edgerun_model *model, int32_t threads);
edgerun_status edgerun_reset_variables(edgerun_model *model);
const char *edgerun_last_error(const edgerun_model *model);
"""


def _lib_sources(rel):
    base = os.path.relpath(LIB) if rel else LIB
    return [os.path.join(base, "src", name) for name in LIB_SOURCES]


def _cflags():
    flags = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare",
             "-fno-strict-aliasing", "-fvisibility=hidden"]
    if os.environ.get("EDGERUN_DEBUG") == "1":
        flags += ["-O0", "-g"]
    else:
        flags += ["-O3"]
    if os.environ.get("EDGERUN_SANITIZE") == "1":
        flags += ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                  "-fno-omit-frame-pointer", "-g"]
    flags += os.environ.get("EDGERUN_CFLAGS", "").split()
    return flags


def _ldflags():
    flags = ["-lm"]
    if os.environ.get("EDGERUN_SANITIZE") == "1":
        flags += ["-fsanitize=address,undefined"]
    return flags


def make_builder(module_name="edgerun.kernels._kernels", rel=True):
    """rel=True gives paths relative to the project root, as setuptools wants inside `pip install`."""
    builder = FFI()
    builder.cdef(cdef_text() + LIB_CDEF)
    fix = os.path.relpath if rel else (lambda p: p)
    builder.set_source(
        module_name,
        '#include "edgerun/edgerun.h"\n#include "edgerun/host_isa.h"\n#include "model.h"\n',
        sources=_sources(rel) + _lib_sources(rel),
        include_dirs=[fix(INCLUDE), fix(os.path.join(HERE, "list")), fix(os.path.join(LIB, "include")),
                      fix(os.path.join(LIB, "src"))],
        extra_compile_args=_cflags(),
        extra_link_args=_ldflags(),
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    # In-place development build: kernels/_kernels.<abi>.so, importable as edgerun.kernels._kernels.
    import shutil
    import tempfile

    out_dir = HERE
    if "--out" in sys.argv:  # e.g. a sanitized build kept apart: EDGERUN_SANITIZE=1 ... --out /tmp/san
        out_dir = sys.argv[sys.argv.index("--out") + 1]
        os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="edgerun-build-")
    so = make_builder("_kernels", rel=False).compile(tmpdir=tmp, verbose="-v" in sys.argv)
    target = os.path.join(out_dir, os.path.basename(so))
    shutil.copy(so, target + ".tmp")
    os.replace(target + ".tmp", target)
    shutil.rmtree(tmp, ignore_errors=True)
    print(target)
