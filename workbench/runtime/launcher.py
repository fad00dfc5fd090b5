"""The workbench's own kernel launcher (issue 31), opt-in: ``WORKBENCH_LAUNCHER=own`` or
``workbench.jit(launcher="own")``.

Triton's compiled launcher parses every argument with ``PyArg_ParseTuple``, looks each pointer
up again and is reached through Python that allocates scratch and wraps descriptors. Ours is
one C function per kernel signature (the types Triton's source gives, argument names left out
so kernels of the same types share it) that takes the arguments straight to
``cuLaunchKernelEx``, checking each against its type: an int that does not fit is refused in
one line naming the argument, where Triton's would wrap it. It is built with the compiler
Triton builds its launchers with, once per signature, and cached on disk under a hash of the
source, Triton's version and the Python ABI; the cached file's name carries a digest of its
bytes, so a corrupt one is rebuilt, never loaded. Every driver function is resolved with
dlopen at the first launch, so building needs no libcuda. The calling convention is Triton's
(``launch(gx, gy, gz, stream, function, coop, pdl, global_scratch, profile_scratch, packed,
launch_metadata, enter_hook, exit_hook, *args)``), with ``packed`` carrying the names a
refusal needs; :class:`OwnLauncher` stands where Triton's ``CudaLauncher`` does.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

CHOICES = ("own", "triton")
N_BASE = 13  # the launcher's arguments before the kernel's

# Triton type -> (C type of the parameter, the template's converter)
_SCALARS = {"i1": ("uint8_t", "to_bit"), "u1": ("uint8_t", "to_bit"), "i8": ("int8_t", "to_int8"),
            "i16": ("int16_t", "to_int16"), "i32": ("int32_t", "to_int32"), "i64": ("int64_t", "to_int64"),
            "u8": ("uint8_t", "to_uint8"), "u16": ("uint16_t", "to_uint16"), "u32": ("uint32_t", "to_uint32"),
            "u64": ("uint64_t", "to_uint64"), "fp16": ("uint16_t", "to_fp16"), "bf16": ("uint16_t", "to_bf16"),
            "fp32": ("uint32_t", "to_fp32"), "f32": ("uint32_t", "to_fp32"), "fp64": ("uint64_t", "to_fp64"),
            "nvTmaDesc": ("CUtensorMap", "to_tma")}


def chosen(fn) -> bool:
    """Whether ``fn`` launches through the own launcher: its ``launcher=`` keyword, else
    ``WORKBENCH_LAUNCHER`` (default: Triton's)."""
    value = getattr(fn, "launcher", None)
    if value is None:
        value = os.environ.get("WORKBENCH_LAUNCHER") or "triton"
        if value not in CHOICES:
            raise ValueError(f"WORKBENCH_LAUNCHER is 'own' or 'triton', not {value!r}")
    return value == "own"


def source(types: list) -> str:
    """The C source of the launcher for these (expanded) signature types."""
    return _template() + _launch_function(list(types))


@functools.lru_cache(maxsize=None)
def _template() -> str:
    return Path(__file__).with_name("launcher.c").read_text()


def _launch_function(types: list) -> str:
    decls: list[str] = []
    body: list[str] = []
    node = [0]

    def walk(expr: str, ty) -> None:
        me = node[0]
        node[0] += 1
        if isinstance(ty, tuple):
            body.append(f"  PyObject *t{me} = {expr};")
            body.append(f"  if (check_tuple(&ctx, {me}, t{me}, {len(ty)}) < 0) return NULL;")
            for k, sub in enumerate(ty):
                walk(f"PyTuple_GET_ITEM(t{me}, {k})", sub)
            return
        if ty == "constexpr":
            return
        if ty.startswith("*"):
            ctype, convert = "CUdeviceptr", "to_pointer"
        elif ty in _SCALARS:
            ctype, convert = _SCALARS[ty]
        else:
            raise ValueError(f"the own launcher does not know the signature type {ty!r}")
        i = len(decls)
        decls.append(f"  {ctype} arg{i};")
        body.append(f'  if ({convert}(&ctx, {me}, "{_c_text(ty)}", {expr}, &arg{i}) < 0) return NULL;')

    for k, ty in enumerate(types):
        walk(f"a[N_BASE + {k}]", ty)
    params = ", ".join([f"&arg{i}" for i in range(len(decls))] + ["&b.global_scratch", "&b.profile_scratch"])
    n = len(types)
    return f"""
#define N_ARGS {n}
static PyObject *launch(PyObject *self, PyObject *const *a, Py_ssize_t n) {{
  Ctx ctx = {{n > 9 && PyTuple_Check(a[9]) ? a[9] : NULL}};
  if (n != N_BASE + N_ARGS) {{
    if (ctx.packed && PyTuple_GET_SIZE(ctx.packed) > 5)
      say(&ctx, PyExc_TypeError, "takes %d arguments (%S), got %zd", N_ARGS, PyTuple_GET_ITEM(ctx.packed, 5), n - N_BASE);
    else
      say(&ctx, PyExc_TypeError, "takes %d arguments, got %zd", N_ARGS, n - N_BASE);
    return NULL;
  }}
  Base b;
  if (resolve(&ctx) < 0 || ensure_context(&ctx) < 0 || read_base(&ctx, a, &b) < 0) return NULL;
{chr(10).join(decls)}
{chr(10).join(body)}
  if (call_hook(b.enter, b.launch_metadata) < 0) return NULL;
  void *params[] = {{{params}}};
  CUresult r;
  Py_BEGIN_ALLOW_THREADS
  r = launch_kernel(&b, params);
  Py_END_ALLOW_THREADS
  if (r != CUDA_SUCCESS) {{
    cuda_failed(&ctx, "cuLaunchKernelEx", r);
    return NULL;
  }}
  if (call_hook(b.leave, b.launch_metadata) < 0) return NULL;
  Py_RETURN_NONE;
}}
"""


def _c_text(ty: str) -> str:
    if not re.fullmatch(r"[\w*]+", ty):
        raise ValueError(f"the own launcher does not know the signature type {ty!r}")
    return ty


# -- building, once per signature --------------------------------------------------------------

_modules: dict[str, ModuleType] = {}


def module(types: list) -> ModuleType:
    """The launcher module for these signature types: loaded once per process, built once per
    machine (``<cache>/launchers``)."""
    src = source(types)
    mod = _modules.get(src)
    if mod is None:
        from workbench.compiler.cache import default_dir
        mod = _modules[src] = load(src, default_dir() / "launchers")
    return mod


def cache_key(src: str) -> str:
    """What a built launcher depends on: its source, Triton's version (its build and headers),
    the Python ABI and the platform."""
    import triton
    from triton.runtime.build import platform_key
    parts = [src, triton.__version__, sys.implementation.cache_tag, sysconfig.get_config_var("EXT_SUFFIX") or "",
             platform_key()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_name(key: str, data: bytes) -> str:
    return f"launcher-{key[:32]}-{digest(data)[:16]}{sysconfig.get_config_var('EXT_SUFFIX')}"


def load(src: str, root: Path) -> ModuleType:
    """The built launcher for ``src`` from ``root``, built and stored there (atomically) when
    none there is sound: a file whose bytes do not match the digest in its name is removed."""
    key = cache_key(src)
    root.mkdir(parents=True, exist_ok=True)
    for path in sorted(root.glob(f"launcher-{key[:32]}-*")):
        data = path.read_bytes()
        if path.name == _file_name(key, data):
            return _import(path)
        path.unlink(missing_ok=True)
    data = _build(src)
    path = root / _file_name(key, data)
    temporary = root / f".{path.name}.{os.getpid()}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return _import(path)


def _build(src: str) -> bytes:
    """Compiled as Triton compiles its launchers (its compiler, flags and CUDA headers), with
    no library to link."""
    from triton.backends.nvidia.driver import include_dirs
    from triton.runtime.build import _build as build
    with tempfile.TemporaryDirectory(prefix="wb-launcher-") as folder:
        c = Path(folder) / "launcher.c"
        c.write_text(src)
        try:
            so = build("_wb_launcher", str(c), folder, [], include_dirs, [], [])
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"could not build the launcher: {e.cmd[0]} exited with {e.returncode} "
                               "(its errors are above)") from None
        return Path(so).read_bytes()


def _import(path: Path) -> ModuleType:
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.ExtensionFileLoader("_wb_launcher", str(path))
    spec = importlib.util.spec_from_file_location("_wb_launcher", str(path), loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def reset_driver() -> None:
    """Every loaded launcher resolves the driver again at its next launch (re-reading
    ``WORKBENCH_LIBCUDA``): for tests that point it at a stand-in."""
    for mod in _modules.values():
        mod.reset_driver()


# -- one kernel's launcher ---------------------------------------------------------------------

class OwnLauncher:
    """Stands where Triton's ``CudaLauncher`` does, for one compiled kernel: ``launch`` is the
    C function (Triton's calling convention), ``packed`` the kernel's metadata as it takes
    it, and a call allocates the scratch Triton 3.6 appends, as Triton's does."""

    def __init__(self, src: Any, metadata: Any) -> None:
        signature = dict(src.signature)
        self.name = metadata.name
        meta = getattr(metadata, "tensordesc_meta", None)
        names, types, self._descriptors = _expand(signature, meta)
        self.module = module(types)
        self.num_ctas = getattr(metadata, "num_ctas", 1)
        self.packed = (metadata.num_warps, self.num_ctas, metadata.shared, self.name,
                       tuple(_node_names(names, types)), ", ".join(signature))
        self.global_scratch_size = metadata.global_scratch_size
        self.global_scratch_align = metadata.global_scratch_align
        self.profile_scratch_size = metadata.profile_scratch_size
        self.profile_scratch_align = metadata.profile_scratch_align
        self.launch_cooperative_grid = metadata.launch_cooperative_grid
        self.launch_pdl = metadata.launch_pdl
        self.launch = self._with_descriptors(len(signature)) if self._descriptors else self.module.launch

    def __call__(self, gx, gy, gz, stream, function, *args) -> None:
        from triton.runtime import _allocation

        def scratch(size, align, allocator):
            return allocator.get()(gx * gy * gz * self.num_ctas * size, align, stream) if size > 0 else None
        self.launch(gx, gy, gz, stream, function, self.launch_cooperative_grid, self.launch_pdl,
                    scratch(self.global_scratch_size, self.global_scratch_align, _allocation._allocator),
                    scratch(self.profile_scratch_size, self.profile_scratch_align, _allocation._profile_allocator),
                    *args)

    def _with_descriptors(self, n_args: int):
        """Each tensor descriptor expanded as Triton 3.6 expands it before its C launcher."""
        launch, descriptors = self.module.launch, self._descriptors

        def inner(*args):
            if len(args) != N_BASE + n_args:
                raise TypeError(f"{self.name}: takes {n_args} arguments ({self.packed[5]}), got {len(args) - N_BASE}")
            final = list(args[:N_BASE])
            for i, arg in enumerate(args[N_BASE:]):
                if i in descriptors:
                    final.extend(self._descriptor(arg, *descriptors[i]))
                else:
                    final.append(arg)
            return launch(*final)
        return inner

    def _descriptor(self, arg, meta: dict | None, ty: str, name: str) -> list:
        if not all(hasattr(arg, a) for a in ("base", "shape", "strides", "padding")):
            raise TypeError(f"{self.name}: argument '{name}' ({ty}) takes a TensorDescriptor, got {type(arg).__name__}")
        if meta is None:
            return [arg.base, *arg.shape, *arg.strides, arg.padding == "nan", *arg.shape, *arg.strides]
        from triton.backends.nvidia.driver import TMA_DTYPE_DEVICE_TO_HOST
        shape = list(arg.shape)
        if meta["fp4_padded"]:
            shape[-1] *= 2
        tma = self.module.encode_tma(arg.base.data_ptr(), meta["swizzle"], meta["elem_size"],
                                     TMA_DTYPE_DEVICE_TO_HOST[meta["elem_type"]], meta["block_size"], shape,
                                     list(arg.strides), 1 if arg.padding == "nan" else 0, self.name)
        return [tma, *shape, *arg.strides]


def _expand(signature: dict, tensordesc_meta) -> tuple[list[str], list, dict[int, tuple]]:
    """The launcher's arguments as Triton 3.6 expands them (``make_launcher``'s
    ``_expand_signature``): each tensor descriptor becomes a TMA descriptor, or (not lowered
    to TMA) a pointer with its shape, strides and padding; then its shape (i32) and strides."""
    names, types, descriptors = [], [], {}
    index = 0
    for i, (name, ty) in enumerate(signature.items()):
        if not (isinstance(ty, str) and ty.startswith("tensordesc")):
            names.append(name)
            types.append(ty)
            continue
        meta = tensordesc_meta[index] if tensordesc_meta else None
        index += 1
        match = re.match(r"tensordesc<([^[>]*)\[([^]]*)\]", ty)
        dtype, ndim = match.group(1), match.group(2).count(",") + 1
        descriptors[i] = (meta, ty, name)
        dims = range(ndim)
        if meta is None:
            names += [f"{name}.base", *(f"{name}.shape[{d}]" for d in dims), *(f"{name}.strides[{d}]" for d in dims),
                      f"{name}.padding"]
            types += ["*" + dtype] + ["i64"] * 2 * ndim + ["i1"]
        else:
            names.append(name)
            types.append("nvTmaDesc")
        names += [*(f"{name}.shape[{d}]" for d in dims), *(f"{name}.strides[{d}]" for d in dims)]
        types += ["i32"] * ndim + ["i64"] * ndim
    return names, types, descriptors


def _node_names(names: list[str], types: list) -> list[str]:
    """A name for every node of the signature in the generated code's order (a tuple, then
    its items as ``name[k]``)."""
    out: list[str] = []

    def walk(name: str, ty) -> None:
        out.append(name)
        if isinstance(ty, tuple):
            for k, sub in enumerate(ty):
                walk(f"{name}[{k}]", sub)
    for name, ty in zip(names, types):
        walk(name, ty)
    return out
