"""Everything that differs between Triton versions, in one place (with :mod:`.compat_passes`, a
stage's passes one at a time, and :mod:`.compat_interpreter`, Triton's interpreter).

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
