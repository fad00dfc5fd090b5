"""Everything that differs between Triton versions, in one place.

Supported: Triton 3.0 to 3.9 (3.6.0 is the GPU machine's). The rest of the package calls
these functions and never reaches into Triton's internals itself.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator

import triton
from triton._C.libtriton import ir
from triton.backends.compiler import GPUTarget
from triton.compiler.compiler import ASTSource, make_backend as _make_backend

VERSION: tuple[int, int, int] = tuple(int(x) for x in re.findall(r"\d+", triton.__version__)[:3])  # type: ignore[assignment]
MIN_VERSION = (3, 0, 0)

try:  # 3.4+: Language lives beside BaseBackend
    from triton.backends.compiler import Language
except ImportError:  # 3.0-3.3 know one language and stages take none
    import enum

    class Language(enum.Enum):  # type: ignore[no-redef]
        TRITON = 0
        GLUON = 1


class TargetError(ValueError):
    pass


def parse_target(text: str | GPUTarget) -> GPUTarget:
    """``cuda:90``, ``sm_90``, ``sm90a`` or ``90`` -> GPUTarget('cuda', 90, 32)."""
    if isinstance(text, GPUTarget):
        return text
    if is_hip_text(str(text)):
        return parse_hip_target(str(text))
    m = re.fullmatch(r"\s*(?:(cuda):|sm_?)?(\d+)a?\s*", str(text))
    if not m:
        raise TargetError(f"unknown target {text!r}: expected e.g. cuda:90, cuda:80, sm_90, hip:gfx942")
    arch = int(m.group(2))
    known = supported_archs()
    if known and arch not in known:  # ptxas would say so only after every stage above it ran
        raise TargetError(f"cuda:{arch} is not a target this Triton can compile for; supported: "
                          + ", ".join(f"cuda:{a}" for a in known))
    return GPUTarget("cuda", arch, 32)


@functools.lru_cache(maxsize=None)
def supported_archs() -> tuple[int, ...]:
    """The archs the ptxas this Triton uses for each arch accepts (``--help`` lists them;
    5 ms); empty when it cannot be asked, and then nothing is refused up front."""
    import subprocess
    from triton.backends.nvidia import compiler as nv
    get_ptxas = getattr(nv, "get_ptxas", None)  # 3.0-3.2: one ptxas, found by _path_to_binary
    takes_arch = get_ptxas is not None and bool(inspect.signature(get_ptxas).parameters)  # 3.3+: ptxas-blackwell

    def ptxas_for(arch: int) -> str:
        if get_ptxas is None:
            return nv._path_to_binary("ptxas")[0]
        found = get_ptxas(arch) if takes_arch else get_ptxas()
        return found[0] if isinstance(found, tuple) else found.path  # 3.3: (path, version)

    out: set[int] = set()
    try:
        for path in {ptxas_for(80), ptxas_for(100)}:
            text = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30).stdout
            out |= {a for a in map(int, re.findall(r"'sm_(\d+)[a-z]?'", text)) if ptxas_for(a) == path}
    except Exception:  # noqa: BLE001 - no ptxas to ask: ptxas itself will say it later
        return ()
    return tuple(sorted(out))


def target_str(target: GPUTarget) -> str:
    return f"{target.backend}:{target.arch}"


def target_from_json(value: Any) -> GPUTarget:
    if isinstance(value, dict):
        return GPUTarget(value["backend"], _arch_value(value["arch"]), int(value.get("warp_size", 32)))
    if isinstance(value, (list, tuple)):
        return GPUTarget(value[0], _arch_value(value[1]), int(value[2]))
    return parse_target(value)


@functools.lru_cache(maxsize=None)
def make_backend(target: GPUTarget):
    return _make_backend(target)


def is_gluon(fn: Any) -> bool:
    return bool(getattr(fn, "is_gluon", lambda: False)())


def language_of(fn: Any):
    if is_gluon(fn):
        return Language.GLUON
    return Language.TRITON


def ast_source(fn: Any, signature: dict, constexprs: dict, attrs: dict) -> ASTSource:
    """The front-end source for a captured specialization (Gluon has its own)."""
    if is_gluon(fn):
        from triton.experimental.gluon._runtime import GluonASTSource
        return GluonASTSource(fn, signature, constexprs, attrs)
    return ASTSource(fn, signature, constexprs, attrs)


def new_context(backend) -> Any:
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    return context


def stage_table(backend, options, language) -> dict:
    """Triton's own ordered ext -> stage function table for this backend and options."""
    stages: dict = {}
    if VERSION < (3, 4, 0):  # before Gluon, stages took no language
        backend.add_stages(stages, options)
    else:
        backend.add_stages(stages, options, language)
    return stages


def prepare_stage(ext: str) -> None:
    """Process-wide setup a stage relies on an earlier stage to have done.

    ``make_ptx`` assumes ``make_llir`` ran in this process and initialised LLVM's targets;
    starting from LLIR (or from a cached LLIR) it would crash in ``translate_to_asm``.
    """
    if ext in ("amdgcn", "hsaco"):  # make_amdgcn and make_hsaco likewise, for LLVM's AMDGPU target
        from triton._C.libtriton import llvm
        llvm.init_targets()
    if ext == "ptx":
        from triton._C.libtriton import llvm, nvidia
        llvm.init_targets()
        # make_llir also switches LLVM's NVPTX backend to 32-bit shared-memory pointers;
        # without it the same LLIR gives different (worse) PTX.
        if hasattr(nvidia, "set_short_ptr"):
            nvidia.set_short_ptr()


def make_ir(src: ASTSource, target: GPUTarget, options, backend, context):
    codegen_fns = backend.get_codegen_implementation(*(() if VERSION < (3, 3, 0) else (options,)))
    module_map = backend.get_module_map() if VERSION >= (3, 2, 0) else None
    # Code generation may ask the active driver for the target (TMA support checks; 3.4's
    # Gluon front end always does): let it see the target being compiled for.
    with compile_only_driver(target):
        if VERSION < (3, 2, 0):  # no module map before 3.2
            return src.make_ir(options, codegen_fns, context)
        if VERSION < (3, 5, 0):
            return src.make_ir(options, codegen_fns, module_map, context)
        return src.make_ir(target, options, codegen_fns, module_map, context)


def parse_mlir_file(path: str | Path, context) -> Any:
    module = ir.parse_mlir_module(str(path), context)
    module.context = context
    return module


def module_int_attr(module, name: str) -> int | None:
    return module.get_int_attr(name)


def has_kernel(module) -> bool:
    """A public ``tt.func``: what Triton compiles, and asserts (aborting the process) is there."""
    found: list[bool] = []
    module.walk(lambda op: found.append(op.get_name() == "tt.func"
                                        and op.get_str_attr("sym_visibility") in (None, "public")))
    return any(found)


def tensordesc_meta(module) -> Any:
    get = getattr(module, "get_tensordesc_metadata", None)
    return get() if get else None


def nvidia_tool(name: str) -> str:
    """Path of a tool the Triton wheel ships (ptxas, nvdisasm, cuobjdump)."""
    if not has_knobs():
        from triton.backends.nvidia import compiler as nv
        return nv._path_to_binary(name)[0]
    from triton import knobs
    tool = getattr(knobs.nvidia, name)
    return tool.path


def jit_function_class():
    from triton.runtime.jit import JITFunction
    return JITFunction


def jit_function_of(obj):
    """The JITFunction under autotune and heuristics wrappers (``obj`` itself if it is one),
    else None."""
    JITFunction = jit_function_class()
    while obj is not None and not isinstance(obj, JITFunction) and hasattr(obj, "fn"):
        obj = obj.fn
    return obj if isinstance(obj, JITFunction) else None


def autotuner_class():
    from triton.runtime.autotuner import Autotuner
    return Autotuner


@contextlib.contextmanager
def inductor_through_triton() -> Iterator[None]:
    """Inductor (torch.compile) launches its kernels through a static CUDA launcher of its own by
    default, past Triton's launcher: for the block, its kernels launch through Triton's."""
    name = "TORCHINDUCTOR_USE_STATIC_CUDA_LAUNCHER"
    saved_env = os.environ.get(name)
    os.environ[name] = "0"   # (read when torch._inductor.config is first imported)
    config = sys.modules.get("torch._inductor.config")
    saved = getattr(config, "use_static_cuda_launcher", None) if config is not None else None
    if config is not None:
        config.use_static_cuda_launcher = False
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved_env
        if config is not None:
            config.use_static_cuda_launcher = saved


def inductor_used() -> bool:
    return "torch._inductor.runtime.triton_heuristics" in sys.modules


@contextlib.contextmanager
def benchmarker(tuner, do_bench) -> Iterator[None]:
    """``tuner.do_bench`` is ``do_bench`` in the block (a property over ``_do_bench`` in 3.4 and
    3.5, a cached property in 3.6+)."""
    if isinstance(vars(type(tuner)).get("do_bench") or vars(autotuner_class())["do_bench"], property):
        own, tuner._do_bench = tuner._do_bench, do_bench
        try:
            yield
        finally:
            tuner._do_bench = own
        return
    missing = object()
    own = tuner.__dict__.get("do_bench", missing)
    tuner.__dict__["do_bench"] = do_bench
    try:
        yield
    finally:
        if own is missing:
            tuner.__dict__.pop("do_bench", None)
        else:
            tuner.__dict__["do_bench"] = own


def set_interpret(value: bool) -> None:
    """Decide, for kernels decorated from now on, whether ``@triton.jit`` means the interpreter."""
    if not has_knobs():  # 3.0-3.3 read the environment at decoration time
        os.environ["TRITON_INTERPRET"] = "1" if value else "0"
        return
    from triton import knobs
    knobs.runtime.interpret = value


# -- a driver for machines with no GPU -------------------------------------------------------

class CompileOnlyDriver:
    """Stands in for the CUDA driver so that ``JITFunction.run`` specializes and compiles.

    Nothing launches through it. Device properties answer for the target's usual card (``asked``
    says they were)."""

    def __init__(self, target: GPUTarget) -> None:
        self.target = target
        self.asked = False
        self.utils = _TargetUtils(self)

    def is_active(self) -> bool:
        return True

    def get_current_target(self) -> GPUTarget:
        return self.target

    def get_current_device(self) -> int:
        return 0

    def set_current_device(self, device: int) -> None:
        pass

    def get_current_stream(self, device: int | None = None) -> int:
        return 0

    def get_active_torch_device(self):
        import torch
        return torch.device("cpu")

    def get_device_interface(self):
        raise RuntimeError("no GPU: kernels are compiled, not launched")

    def get_benchmarker(self):
        raise RuntimeError("no GPU: kernels are compiled, not launched")

    def __getattr__(self, name: str):
        raise RuntimeError(f"no GPU: the driver's {name!r} is not available when compiling only")


# what compile-only captures answer for `driver.active.utils.get_device_properties` (a library's
# pruning may ask): the card each target is usually found on
TARGET_CARDS = {
    80: ("A100", {"multiprocessor_count": 108, "max_shared_mem": 166912, "max_num_regs": 65536}),
    86: ("RTX 3090", {"multiprocessor_count": 82, "max_shared_mem": 101376, "max_num_regs": 65536}),
    89: ("L40S", {"multiprocessor_count": 142, "max_shared_mem": 101376, "max_num_regs": 65536}),
    90: ("H100 SXM", {"multiprocessor_count": 132, "max_shared_mem": 232448, "max_num_regs": 65536}),
    100: ("B200", {"multiprocessor_count": 148, "max_shared_mem": 232448, "max_num_regs": 65536}),
    120: ("RTX 5090", {"multiprocessor_count": 170, "max_shared_mem": 101376, "max_num_regs": 65536}),
}


class _TargetUtils:
    """``driver.active.utils`` without a GPU: the device queries libraries make while pruning."""

    def __init__(self, driver: CompileOnlyDriver) -> None:
        self.driver = driver

    def get_device_properties(self, device: int = 0) -> dict:
        self.driver.asked = True
        _, props = TARGET_CARDS.get(_arch_value(self.driver.target.arch), TARGET_CARDS[90])
        return dict(props, warpSize=self.driver.target.warp_size, sm_clock_rate=1_980_000,
                    mem_clock_rate=2_619_000, mem_bus_width=5120)

    def __getattr__(self, name: str):
        raise RuntimeError(f"no GPU: the driver's utils.{name} is not available when compiling only")


def has_gpu() -> bool:
    """A CUDA device Triton can launch on (asks torch: the driver probe would raise)."""
    if os.environ.get("WORKBENCH_NO_GPU"):
        return False
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def current_gpu_target() -> GPUTarget | None:
    if not has_gpu():
        return None
    from triton.runtime.driver import driver
    return driver.active.get_current_target()


def compile_only_driver(target: GPUTarget):
    return active_driver(CompileOnlyDriver(target))


@contextlib.contextmanager
def active_driver(stand_in: CompileOnlyDriver) -> Iterator[CompileOnlyDriver]:
    from triton.runtime.driver import driver
    # 3.5+ keep the driver in `_active` and rebuild the real one in reset_active() (which
    # raises on a machine with no GPU); 3.4 keeps a lazy proxy in `active`.
    attr = "_active" if hasattr(driver, "_active") else "active"
    saved = getattr(driver, attr)
    driver.set_active(stand_in)
    try:
        yield stand_in
    finally:
        setattr(driver, attr, saved)


@contextlib.contextmanager
def launchers_seen(seen, load: bool = True) -> Iterator[None]:
    """While the block runs, a compiled kernel's launcher is read as ``seen(kernel, launcher)``:
    3.5+ read it through the ``CompiledKernel.run`` property, so every launch of every compiled
    kernel, whoever holds it, goes through what ``seen`` returns; 3.0-3.4 set ``run`` on the
    kernel when its handles are made. ``load`` False (no GPU): the kernel is not loaded, and
    ``seen`` gets no launcher (a kernel compiled by a JIT of another library, such as
    triton-runner's, is still seen)."""
    from triton.compiler.compiler import CompiledKernel
    prop = CompiledKernel.__dict__.get("run")
    if isinstance(prop, property):
        init = CompiledKernel._init_handles
        CompiledKernel.run = property(lambda kernel: seen(kernel, prop.fget(kernel) if load else None))
        if not load:
            CompiledKernel._init_handles = lambda kernel: None   # (nothing to load it on)
        try:
            yield
        finally:
            CompiledKernel.run, CompiledKernel._init_handles = prop, init
        return
    init = CompiledKernel._init_handles

    def _init_handles(kernel):
        init(kernel)
        run = kernel.__dict__.get("run")
        if run is not None and getattr(run, "kernel", None) is not kernel:
            kernel.run = seen(kernel, run)
    CompiledKernel._init_handles = _init_handles
    try:
        yield
    finally:
        CompiledKernel._init_handles = init


def fast_launch_supported() -> bool:
    """``workbench.runtime.fastlaunch`` mirrors Triton 3.6's launch path (binder, cache key,
    specialization, the compiled launcher's arguments) and is tested against it; other
    releases launch through Triton's own ``kernel[grid]``."""
    import triton
    return triton.__version__.startswith("3.6.")


def has_do_compile() -> bool:
    """3.5+ split the compile step out of ``JITFunction.run`` into ``_do_compile``."""
    return hasattr(jit_function_class(), "_do_compile")


def knob_supported(group: str, name: str) -> bool:
    if not has_knobs():
        return False
    from triton import knobs
    return hasattr(type(getattr(knobs, group)), name) or hasattr(getattr(knobs, group), name)


# -- Triton 3.0 to 3.3: no knobs, hooks as JITFunction class attributes ------------------------

def has_knobs() -> bool:
    """3.4 gathered Triton's settings into ``triton.knobs``; before, they were env vars and
    class attributes."""
    return VERSION >= (3, 4, 0)


def interpret_enabled() -> bool:
    """Whether ``@triton.jit`` means the interpreter for kernels decorated now."""
    if not has_knobs():
        return os.environ.get("TRITON_INTERPRET", "0") == "1"
    from triton import knobs
    return bool(knobs.runtime.interpret)


@contextlib.contextmanager
def interpret_setting() -> Iterator[None]:
    """Put the interpreter setting back as it was after the block (whoever changed it inside)."""
    if not has_knobs():
        saved = os.environ.get("TRITON_INTERPRET")
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("TRITON_INTERPRET", None)
            else:
                os.environ["TRITON_INTERPRET"] = saved
        return
    from triton import knobs
    saved = knobs.runtime.__dict__.get("interpret", None)
    try:
        yield
    finally:
        if saved is None:
            knobs.runtime.__dict__.pop("interpret", None)
        else:
            knobs.runtime.interpret = saved


def jit_cache_hook() -> Any:
    if not has_knobs():
        return jit_function_class().cache_hook
    from triton import knobs
    return knobs.runtime.jit_cache_hook


def set_jit_cache_hook(hook: Any) -> None:
    """The hook ``JITFunction.run`` asks before compiling (returns True: skip the compile)."""
    if not has_knobs():
        jit_function_class().cache_hook = hook
        return
    from triton import knobs
    knobs.runtime.jit_cache_hook = hook


def call_hook_names_hook() -> bool:
    """3.4+ pass the hook to ``_call_hook``; 3.0-3.3 pass ``before`` and it picks the hook."""
    return "hook" in inspect.signature(jit_function_class()._call_hook).parameters


def attrs_dict(attrs: Any) -> dict:
    """A specialization's argument attributes as a plain dict: 3.3+ pass one already; 3.0-3.2
    pass an ``AttrsDescriptor`` (divisible-by-16 and equal-to-1 argument indices)."""
    if isinstance(attrs, dict):
        return attrs
    return dict(attrs.to_dict()) if hasattr(attrs, "to_dict") else {}


def copy_attrs(attrs: Any) -> Any:
    """What a compile is handed back later: a copy of a dict, the descriptor itself otherwise."""
    return dict(attrs) if isinstance(attrs, dict) else attrs


def gluon_missing() -> str | None:
    """Why this Triton cannot compile Gluon kernels (None: it can; Gluon came in 3.4)."""
    if VERSION >= (3, 4, 0):
        return None
    return f"Gluon kernels need Triton 3.4 or later; this is Triton {triton.__version__}"


# -- AMD targets: compiled on any machine, launched only on a ROCm GPU -----------------------

HIP_ARCHS = ("gfx90a", "gfx942", "gfx950")  # MI200, MI300, MI350: wave64


def is_hip_text(text: str) -> bool:
    return bool(re.fullmatch(r"\s*(hip:|amd:)?gfx\w+\s*", text))


def parse_hip_target(text: str) -> GPUTarget:
    """``hip:gfx942`` or ``gfx942`` -> GPUTarget('hip', 'gfx942', 64)."""
    arch = re.sub(r"^(hip|amd):", "", text.strip())
    if arch not in HIP_ARCHS:
        raise TargetError(f"hip:{arch} is not an AMD target the workbench knows; supported: "
                          + ", ".join(f"hip:{a}" for a in HIP_ARCHS))
    return GPUTarget("hip", arch, 64)


def is_hip(target: GPUTarget) -> bool:
    return target.backend == "hip"


def _arch_value(arch: Any) -> Any:
    """NVIDIA archs are numbers (90), AMD archs names (gfx942)."""
    return arch if isinstance(arch, str) and arch.startswith("gfx") else int(arch)


def interpreter_problem() -> str | None:
    """Why Triton's interpreter gives wrong results here (None: it works). Triton 3.0 and 3.1's
    interpreter stores nothing under numpy 2 (seen with numpy 2.3: every output stays as it was)."""
    import numpy
    if VERSION < (3, 2, 0) and int(numpy.__version__.split(".")[0]) >= 2:
        return (f"Triton {triton.__version__}'s interpreter computes nothing under numpy {numpy.__version__}: "
                "Python-level runs give wrong outputs (install numpy<2, or Triton 3.2 or later)")
    return None


# What Triton's interpreter computes wrong, found in a kernel's TTIR: (what the verdict names,
# what the interpreter does instead, the TTIR op). Each seen with Triton 3.6.0 and numpy 2.3.5
# against torch on the CPU (tests/data/interpreter/inexact.py); the code is the same in 3.0 to
# 3.9. The interpreter holds bf16 and fp8 as their bit patterns in uint16 and uint8 arrays.
_TYPE = r"(?:tensor<[\dx]*)?(?P<{}>\w+)"
INTERPRETER_FAULTS = (
    ("bf16 dot", "it multiplies the raw bit patterns, triton-lang/triton#11584",
     r"\btt\.dot\b[^:]*:\s*tensor<[\dx]*bf16\b"),
    ("bf16 arithmetic", "it computes on the raw bit patterns",
     r"\barith\.(?:addf|subf|mulf|divf|remf|cmpf)\b[^:]*:\s*(?:tensor<[\dx]*)?bf16\b"),
    ("fp32 -> bf16 conversion", "it truncates, where the GPU rounds to nearest even",
     r"\barith\.truncf\b[^:]*:\s*(?:tensor<[\dx]*)?f32\b.*\bto\s+(?:tensor<[\dx]*)?bf16\b"),
    ("{src} -> bf16 conversion", "it takes the integer for the bit pattern: 1 becomes 9.2e-41",
     r"\barith\.[su]itofp\b[^:]*:\s*" + _TYPE.format("src") + r".*\bto\s+(?:tensor<[\dx]*)?bf16\b"),
    ("{src} -> {dst} conversion", "a rounding that carries into the exponent is lost: 1.9375 becomes 1.0, not 2.0",
     r"\btt\.fp_to_fp\b.*rounding = rtne\s*:\s*" + _TYPE.format("src") + r".*->\s*(?:tensor<[\dx]*)?(?P<dst>f8\w+)"),
)
_TYPE_NAMES = {"f64": "fp64", "f32": "fp32", "f16": "fp16", "bf16": "bf16", "f8E4M3FN": "fp8e4nv", "f8E5M2": "fp8e5",
               "f8E4M3FNUZ": "fp8e4b8", "f8E5M2FNUZ": "fp8e5b16", "f8E4M3B11FNUZ": "fp8e4b15"}


def interpreter_inexact(ttir: str) -> str | None:
    """What the verdict of a run in Triton's interpreter must say about this kernel (its TTIR):
    "interpreter: bf16 dot is not exact here (...)"; None where no op of it is known to be wrong."""
    found: dict[str, str] = {}
    for line in ttir.splitlines():
        line = re.sub(r"\s+loc\(.*$", "", line)
        for name, why, pattern in INTERPRETER_FAULTS:
            if m := re.search(pattern, line):
                names = {k: _TYPE_NAMES.get(v, re.sub(r"^i(\d+)$", r"int\1", v)) for k, v in m.groupdict().items()}
                found.setdefault(name.format(**names), why)
    if not found:
        return None
    return "interpreter: " + "; ".join(f"{name} is not exact here ({why})" for name, why in found.items())


def interpreter_args(fn, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The arguments as Triton's interpreter takes them. Before 3.8 it holds a runtime (not
    constexpr) Python bool in 32 bits as an i1 and refuses it ("numpy data itemsize (32 bits)
    exceeds dtype primitive_bitwidth (1 bits)"): it gets the i1 scalar 3.8 makes of it."""
    if VERSION >= (3, 8, 0):
        return args, kwargs
    constexprs = {p.name for p in fn.params if p.is_constexpr}

    def value(name: str, v: Any) -> Any:
        if not isinstance(v, bool) or name in constexprs:
            return v
        import numpy
        import triton.language as tl
        from triton.runtime.interpreter import TensorHandle
        return tl.tensor(TensorHandle(numpy.array([v], dtype=numpy.bool_), tl.int1), tl.int1)

    return (tuple(value(n, v) for n, v in zip(fn.arg_names, args)) + tuple(args[len(fn.arg_names):]),
            {k: value(k, v) for k, v in kwargs.items()})


def interpreter_failure(exc: BaseException) -> str | None:
    """The sentence for an interpreted launch that failed because of the interpreter itself, not
    the kernel (None: the kernel's own error). Triton 3.6's interpreter under numpy >= 2.4 turns a
    one-element array into a Python int and numpy refuses (triton-lang/triton#9171)."""
    import numpy
    if "only 0-dimensional arrays can be converted to Python scalars" in str(exc):
        return (f"Triton {triton.__version__}'s interpreter fails on this kernel under numpy {numpy.__version__} "
                "(triton-lang/triton#9171): Python-level runs and dumps need numpy < 2.4 here; IR levels run "
                "on the GPU")
    return None


def interpreter_restores_language() -> bool:
    """3.6+ patch ``triton.language`` for the interpreter in a scope they restore; before,
    the patch stays and every later real compile in the process breaks."""
    from triton.runtime import interpreter
    return hasattr(interpreter, "_LangPatchScope")


@contextlib.contextmanager
def language_restored() -> Iterator[None]:
    """Put ``triton.language`` (its modules and tensor/dtype classes) back as it was after the
    block, where the interpreter would leave it patched."""
    if interpreter_restores_language():
        yield
        return
    import triton.language as tl
    spaces = [tl, tl.core, tl.math, tl.tensor, tl.dtype] + [getattr(tl, n) for n in ("standard", "semantic")
                                                           if inspect.ismodule(getattr(tl, n, None))]
    spaces += [c for c in (getattr(tl.core, "tensor_descriptor_base", None),) if c is not None]  # 3.4+
    saved = [(ns, dict(vars(ns))) for ns in spaces]
    try:
        yield
    finally:
        for ns, before in saved:
            now = vars(ns)
            for key in [k for k in now if k not in before]:
                delattr(ns, key)
            for key, value in before.items():
                if now.get(key) is not value:
                    setattr(ns, key, value)


def missing_feature(module: str | None) -> str | None:
    """What a module the script failed to import means for this Triton (None: nothing known):
    Gluon (``triton.experimental``) before 3.4, host tensor descriptors before 3.4."""
    if not module:
        return None
    if module.startswith("triton.experimental"):
        return gluon_missing()
    if module.startswith("triton.tools.tensor_descriptor") and VERSION < (3, 4, 0):
        return f"tensor descriptors need Triton 3.4 or later; this is Triton {triton.__version__}"
    return None

# -- the passes of a stage, one at a time ----------------------------------------------------

PASS_STAGES = ("ttir", "ttgir", "llir")  # the stages whose work is an MLIR pass manager's


class _StagePassManager:
    """What a stage's ``ir.pass_manager(ctx)`` returns while its passes are intercepted.

    The ``passes.*.add_*`` calls land here instead of in a C++ pass manager; ``run`` then
    runs each in a pass manager of its own, so the module can be read between two passes
    and the first ones can be left out (the module given is already past them).
    """

    def __init__(self, context, hooks: "PassHooks") -> None:
        self.context, self.hooks = context, hooks
        self.calls: list[tuple[str, Any, tuple]] = []
        self.debug = False

    def enable_debug(self):
        self.debug = True  # each pass's own manager gets it too (dumps, timing, reproducers)
        return ir.pass_manager(self.context).enable_debug()

    def run(self, mod, *args):
        import time
        if self.hooks.after is None:  # a restart that records nothing: the rest in one manager, as Triton runs it
            first, self.hooks.count = self.hooks.count, self.hooks.count + len(self.calls)
            pm = ir.pass_manager(mod.context)
            if self.debug:
                pm.enable_debug()
            for index, (_call, add, add_args) in enumerate(self.calls, first):
                if index >= self.hooks.skip:
                    add(pm, *add_args)
            pm.run(mod, *args)
            self.hooks._ran()
            return
        for call, add, add_args in self.calls:
            index = self.hooks.count
            self.hooks.count += 1
            if index < self.hooks.skip:
                continue
            pm = ir.pass_manager(mod.context)
            if self.debug:
                pm.enable_debug()
            add(pm, *add_args)
            pipeline = pm.get_pipeline_str()
            t0 = time.perf_counter()
            pm.run(mod, *args)  # 3.4: run(mod); 3.5+: run(mod, name)
            ms = (time.perf_counter() - t0) * 1000
            if self.hooks.after is not None:
                self.hooks.after(index, pass_name(pipeline), call, ms, mod)
        self.hooks._ran()


class PassHooks:
    """How many of a stage's passes to leave out, what to call after each one that runs, and
    after each of the stage's pass managers has run (``ran(runs)``, its count so far)."""

    def __init__(self, skip: int = 0, after=None, ran=None) -> None:
        self.skip, self.after, self.ran, self.count, self.runs = skip, after, ran, 0, 0

    def _ran(self) -> None:
        self.runs += 1
        if self.ran is not None:
            self.ran(self.runs)


class _PassModule:
    """A stand-in for ``passes`` / ``nvidia`` / ``ir`` in the backend's module: ``add_*`` calls
    go to the stage's intercepted pass manager, everything else to the real module."""

    def __init__(self, real, path: str, hooks: PassHooks) -> None:
        self._real, self._path, self._hooks = real, path, hooks

    def __getattr__(self, name: str):
        value = getattr(self._real, name)
        if name == "pass_manager" and self._path == "ir":
            return lambda context: _StagePassManager(context, self._hooks)
        if inspect.ismodule(value):
            return _PassModule(value, f"{self._path}.{name}", self._hooks)
        if name.startswith("add_") and callable(value):
            call = f"{self._path}.{name}"

            def add(pm, *args):
                if isinstance(pm, _StagePassManager):
                    pm.calls.append((call, value, args))
                else:
                    value(pm, *args)
            return add
        return value


@contextlib.contextmanager
def intercepted_passes(backend, hooks: PassHooks) -> Iterator[PassHooks]:
    """While a stage function of ``backend`` runs, its passes go through ``hooks``.

    Every supported version (3.4 to 3.9) builds each MLIR stage the same way in its backend's
    module: ``pm = ir.pass_manager(ctx)``, ``passes.<group>.add_<pass>(pm, ...)`` (and
    ``nvidia.passes...``), ``pm.run(mod[, name])``; so the pass list is the stage function's
    own, for these options and this target, never a copy. The binding modules' names are
    swapped for stand-ins in that module for the duration.
    """
    import sys
    module = sys.modules[type(backend).__module__]
    # every C++ binding module the backend's module holds (nvidia's or amd's passes too)
    names = [n for n, v in module.__dict__.items()
             if inspect.ismodule(v) and getattr(v, "__name__", "").startswith("triton._C.libtriton")]
    saved = {n: module.__dict__[n] for n in names}
    for n, real in saved.items():
        module.__dict__[n] = _PassModule(real, n, hooks)
    try:
        yield hooks
    finally:
        module.__dict__.update(saved)


def pass_name(pipeline: str) -> str:
    """A one-call pass manager's textual pipeline -> its passes' names:
    ``any(tritongpu-coalesce)`` -> ``tritongpu-coalesce``; a call that adds two passes
    (``any(convert-triton-gpu-to-llvm{...}, reconcile-unrealized-casts)``) names both, with '+'."""
    inner = pipeline.strip()
    m = re.fullmatch(r"[\w.]+\((.*)\)", inner, re.S)
    if m:
        inner = m.group(1)
    names, depth, item = [], 0, ""
    for ch in inner + ",":
        if ch == "," and depth == 0:
            item = item.strip()
            nested = re.fullmatch(r"[\w.]+\((.*)\)", item, re.S)  # a pass nested on an op: tt.func(cse)
            names.append(pass_name(nested.group(1)) if nested else re.split(r"[{(\s]", item, maxsplit=1)[0])
            item = ""
            continue
        depth += ch in "{(" and 1 or (-1 if ch in "})" else 0)
        item += ch
    return "+".join(n for n in names if n) or pipeline


def printable_after(pass_name: str) -> bool:
    """Whether the module can be printed after this pass. Triton 3.4's printer never returns
    on the module the line-info pass (``enable-line-info``, the LLIR stage's last) leaves
    (its DI scopes; seen on 3.4.0, fixed by 3.6): that IR is not kept, the pass is still listed."""
    return not (VERSION < (3, 5, 0) and pass_name == "enable-line-info")
