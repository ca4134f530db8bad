"""Plan -> a self-contained C project (`edgerun compile MODEL --target T -o DIR`).

    project = compile_model("kws.tflite", "cortex-m4", "out/kws", name="kws")

writes into DIR:
    NAME.h, NAME.c       the model: weights const (section .rodata.er_weights), one static arena, variables,
                         the op records and NAME_invoke() / NAME_reset(), inputs and outputs described
    NAME_main.c          a runner (files in, files out; what `edgerun run --target` uses)
    kernels/             exec.c and only the kernel sources the plan calls (ref/ + the target's ISA folder),
                         kernels/list/kernels.inc listing just those kernels
    Makefile, CMakeLists.txt
No heap, no flatbuffer parsing, no op table on the device: the plan was prepared here, for the target.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from edgerun.errors import EdgerunError, UnsupportedOpError
from edgerun.platforms.codegen import csource, sources

HERE = Path(__file__).resolve().parent

# --target values: the desktop itself, and the microcontroller boards of platforms/mcu
MCU_TARGETS = ("cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", "riscv32")
# phones and Linux devices: a plan file (--format plan) for the C library of platforms/lib, or a C project;
# the C compiler of each (Debian's cross compilers; iOS and Android through their SDKs)
DEVICE_TARGETS = {"linux-aarch64": "aarch64-linux-gnu-gcc", "linux-armv7": "arm-linux-gnueabihf-gcc",
                  "android-arm64": "aarch64-linux-android-clang", "android-armv7": "armv7a-linux-androideabi-clang",
                  "ios-arm64": "clang", "linux-x86_64": "cc"}
TARGETS = ("host",) + MCU_TARGETS + tuple(DEVICE_TARGETS)


class TargetNameError(EdgerunError, ValueError):
    pass


def family(target: str) -> str:
    if target not in TARGETS:
        raise TargetNameError(f"unknown target {target!r}; targets are {', '.join(TARGETS)}")
    if target in ("host", "linux-x86_64"):
        return "host"
    if target in DEVICE_TARGETS:
        return "arm"  # kernels/opt + kernels/neon (NEON micro-kernels, chosen on the device by its CPU)
    if target.startswith("cortex-m"):
        return "cortexm"
    return "riscv"


@dataclasses.dataclass
class Project:
    dir: Path
    name: str
    target: str
    plan: object              # runtime.plan.Plan
    sources: list             # .c files to compile, relative to dir
    include_dirs: list        # relative to dir

    def paths(self):
        return [self.dir / s for s in self.sources], [self.dir / d for d in self.include_dirs]


def kernel_sets(target: str) -> tuple[str, ...]:
    """The kernel sets (runtime/isa.py names) a plan for `target` may be prepared with, its default last."""
    fam = family(target)
    if fam == "host":
        from edgerun.runtime import isa

        # host plans take avx2 where the desktop runs avx512vnni: one plan file for every AVX2 machine (the C
        # library runs avx512vnni plans too: the desktop interpreter's plan cache, runtime/plan_cache.py)
        cur = "avx2" if isa.current() == "avx512vnni" else isa.current()
        return ("ref", cur) if cur != "ref" else ("ref",)
    # ARM: one plan for "neon" and "neon-dotprod" (int8 GEMM weights in the dot layout); the device picks the
    # dot-product or the plain NEON micro-kernels by its CPU (AT_HWCAP), ARMv7 the plain ones
    return ("ref", "neon") if fam == "arm" else ("ref",)


def prepare_for(model, target: str, input_shapes: dict | None = None, isa: str | None = None):
    """The plan of `model` (a path, bytes or runtime Model) prepared for `target`: on a microcontroller the
    reference kernels (with the target's ISA variants chosen at C build time) and a 16-byte arena alignment;
    on the host (and linux-x86_64) the desktop's kernels, as the interpreter runs them; on the ARM phone and
    Linux targets the NEON kernel set (weights packed for kernels/opt + kernels/neon; only packing happens
    here, so any desktop prepares it) with a 64-byte alignment. isa: another of kernel_sets(target), e.g. "ref"
    for a plan any build of the C library runs."""
    from edgerun.runtime.model import Model
    from edgerun.runtime.prepare import Preparer

    sets = kernel_sets(target)
    if isa is not None and isa not in sets:
        raise TargetNameError(f"kernel set {isa!r} is not one for target {target}: {', '.join(sets)}")
    if not isinstance(model, Model):
        model = Model.from_path(model) if isinstance(model, (str, os.PathLike)) else Model(bytes(model))
    desc = model.subgraphs[0]
    shapes = {i: tuple(desc.tensors[i].shape) for i in desc.inputs}
    shapes.update(input_shapes or {})
    mcu = target in MCU_TARGETS
    preparer = Preparer(model, isa=isa or sets[-1], target=target, alignment=16 if mcu else 64)
    return preparer.prepare(shapes)


def _check_name(name: str):
    if not name.isidentifier() or name.startswith("er_"):
        raise TargetNameError(f"--name {name!r} must be a C identifier (letters, digits, _) not starting with er_")


def generate(plan, out_dir, name: str = "model") -> Project:
    """Write the C project of a prepared plan into out_dir."""
    _check_name(name)
    why = plan.device_blocker()  # STRING / hashtable tensors: variable-size data
    if why:
        raise UnsupportedOpError(why)
    py = plan.python_ops()
    if py:
        sg, op = py[0]
        raise UnsupportedOpError(f"{op.label} (subgraph {sg}) is a Python custom op; a compiled model can only "
                                 f"run C kernels (register it with c_kernel=..., or run it in the interpreter)")
    fam = family(plan.target)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kernels = plan.kernels()
    kernel_ids = {k: i for i, k in enumerate(kernels)}
    try:
        # the desktop's and the ARM devices' optimized kernels call micro-kernels selected at run time
        also = ("er_select_isa",) if (plan.target == "host" or fam == "arm") and plan.isa != "ref" else ()
        files = sources.kernel_sources(kernels, fam, also)
    except LookupError as exc:
        raise UnsupportedOpError(str(exc)) from None
    kdir = out / "kernels"
    if kdir.exists():
        shutil.rmtree(kdir)
    rel_sources = []
    for f in files:
        rel = f.relative_to(sources.KERNELS)
        (kdir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, kdir / rel)
        rel_sources.append(str(Path("kernels") / rel))
    for d in sources.header_dirs(fam):
        for h in d.glob("*.h"):
            rel = h.relative_to(sources.KERNELS)
            (kdir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(h, kdir / rel)
    (kdir / "list").mkdir(exist_ok=True)
    (kdir / "list" / "kernels.inc").write_text(
        "/* The kernels this model calls (generated by edgerun compile); ids are positions. */\n"
        + "".join(f"ER_KERNEL({k})\n" for k in kernels))
    (out / f"{name}.h").write_text(csource.header(plan, name))
    (out / f"{name}.c").write_text(csource.model_source(plan, name, kernel_ids))
    harness = (HERE / "harness.c").read_text().replace("@NAME_UPPER@", name.upper()).replace("@NAME@", name)
    (out / f"{name}_main.c").write_text(harness)
    srcs = [f"{name}.c"] + rel_sources
    incs = ["kernels/include", "kernels/list"]
    (out / "Makefile").write_text(_makefile(name, srcs, incs, plan.target))
    (out / "CMakeLists.txt").write_text(_cmake(name, srcs, incs))
    return Project(out, name, plan.target, plan, srcs, incs)


def compile_model(model, target: str, out_dir, name: str = "model", input_shapes: dict | None = None) -> Project:
    """Prepare `model` for `target` and write its C project into out_dir (edgerun.compile)."""
    return generate(prepare_for(model, target, input_shapes), out_dir, name)


_MCU_FLAGS = {
    "cortex-m0plus": "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft",
    "cortex-m4": "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16",
    "cortex-m7": "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16",
    "cortex-m33": "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16",
    "cortex-m55": "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard",
    "riscv32": "-march=rv32imc -mabi=ilp32",
    # ARMv7 devices: NEON, as Android's armeabi-v7a (Debian's armhf default lacks it)
    "linux-armv7": "-march=armv7-a -mfpu=neon -mfloat-abi=hard",
    "android-armv7": "-march=armv7-a -mfpu=neon -mfloat-abi=softfp",
}


def _makefile(name, srcs, incs, target) -> str:
    cc = "cc" if target == "host" else ("riscv64-unknown-elf-gcc" if target == "riscv32" else "arm-none-eabi-gcc")
    cc = DEVICE_TARGETS.get(target, cc)
    ar = cc[:-3] + "ar" if cc.endswith("-gcc") else ("llvm-ar" if cc.endswith("clang") and "-" in cc else "ar")
    arch = _MCU_FLAGS.get(target, "")
    objs = " ".join(s[:-2] + ".o" for s in srcs)
    return f"""# {name} for {target}, generated by edgerun compile.
# `make` builds lib{name}.a (the model and its kernels) to link into your firmware or program; `make run` (host)
# builds the file-in/file-out runner {name}_main.c. Set CC/AR/ARCH_FLAGS for another toolchain.
# (make's built-in CC and AR are cc and ar: replaced unless given on the command line or in the environment)
ifeq ($(origin CC),default)
CC = {cc}
endif
ifeq ($(origin AR),default)
AR = {ar}
endif
ARCH_FLAGS ?= {arch}
CFLAGS ?= -O2
CFLAGS += -std=c11 -Wall -ffunction-sections -fdata-sections $(ARCH_FLAGS) {" ".join("-I" + i for i in incs)}
OBJS = {objs}

lib{name}.a: $(OBJS)
\t$(AR) rcs $@ $(OBJS)

%.o: %.c
\t$(CC) $(CFLAGS) -c $< -o $@

{name}_run: {name}_main.c lib{name}.a
\t$(CC) $(CFLAGS) {name}_main.c lib{name}.a -Wl,--gc-sections -lm -o $@

run: {name}_run
\t./{name}_run

clean:
\trm -f $(OBJS) lib{name}.a {name}_run

.PHONY: run clean
"""


def _cmake(name, srcs, incs) -> str:
    src = "\n  ".join(srcs)
    inc = " ".join(incs)
    return f"""# {name}, generated by edgerun compile: add_subdirectory() this folder and link `{name}`.
cmake_minimum_required(VERSION 3.13)
project({name} C)
add_library({name} STATIC
  {src})
set_property(TARGET {name} PROPERTY C_STANDARD 11)
target_include_directories({name} PUBLIC . {inc})
target_compile_options({name} PRIVATE -ffunction-sections -fdata-sections)
target_link_libraries({name} PUBLIC m)
add_executable({name}_run {name}_main.c)
target_link_libraries({name}_run PRIVATE {name})
"""
