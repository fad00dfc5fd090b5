"""The host cost of a launch, on a machine with no GPU (issues 16 and 31), as ratios measured in
one run.

The kernels of ``bench_runner.py`` (5 tensors, 9 ints and 5 constexprs; none; 40) compiled for
cuda:90 on the CPU and launched through the REAL C launchers, Triton's (``CudaLauncher``, built
by Triton as it builds it for a GPU) and the workbench's own, both linked against a stand-in
CUDA driver built here whose every function returns success at once (``cuLaunchKernelEx``
included; ``cuPointerGetAttribute`` gives the address back). What is timed is everything the
host does for a launch but the driver's own work: binding, the key, the launcher's argument
parsing and packing. Paths, interleaved round by round:

  native                     ``kernel[grid](...)`` of ``@triton.jit``
  workbench.jit              ``@workbench.jit``, Triton's launcher (the default)
  workbench.jit own launcher ``@workbench.jit(launcher="own")``
  CompiledKernel.run floor   Triton's compiled launcher called directly, no binding

The tensors are CPU tensors (the stand-in takes every address): both launchers call
``data_ptr()`` and ``cuPointerGetAttribute`` for each, where on a GPU workbench.jit hands them
the pointer its fingerprint read. The device and stream getters are C functions, as torch's
are on a GPU. The GPU figures come from ``bench_runner.py``.

    python benchmarks/bench_launch_cpu.py [--quick]
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WORKBENCH_QUIET", "1")

import torch  # noqa: E402
import triton  # noqa: E402
from triton import knobs  # noqa: E402
from triton.backends.nvidia.driver import CudaLauncher  # noqa: E402
from triton.runtime.jit import compute_cache_key  # noqa: E402

import workbench  # noqa: E402
from bench_runner import empty_kernel, forty_kernel, noop_kernel  # noqa: E402
from workbench.compiler import compat  # noqa: E402
from workbench.runtime.fastlaunch import key_mode, native  # noqa: E402

QUICK = "--quick" in sys.argv

NO_OP_LIBCUDA = r"""
#include "cuda.h"
CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **p, void **e) { return CUDA_SUCCESS; }
CUresult cuGetErrorString(CUresult error, const char **s) { *s = "stand-in"; return CUDA_SUCCESS; }
CUresult cuPointerGetAttribute(void *data, CUpointer_attribute a, CUdeviceptr ptr) {
  *(CUdeviceptr *)data = ptr;
  return CUDA_SUCCESS;
}
CUresult cuPointerGetAttributes(unsigned n, CUpointer_attribute *a, void **data, CUdeviceptr ptr) { return CUDA_SUCCESS; }
CUresult cuCtxGetCurrent(CUcontext *ctx) { *ctx = (CUcontext)0x1; return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext ctx) { return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { *d = ordinal; return CUDA_SUCCESS; }
CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice d) { *ctx = (CUcontext)0x1; return CUDA_SUCCESS; }
CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) { return CUDA_SUCCESS; }
CUresult cuOccupancyMaxActiveClusters(int *n, CUfunction f, const CUlaunchConfig *c) { *n = 1; return CUDA_SUCCESS; }
CUresult cuTensorMapEncodeTiled(CUtensorMap *m, CUtensorMapDataType t, cuuint32_t r, void *a, const cuuint64_t *d,
                                const cuuint64_t *s, const cuuint32_t *b, const cuuint32_t *e, CUtensorMapInterleave i,
                                CUtensorMapSwizzle w, CUtensorMapL2promotion l, CUtensorMapFloatOOBfill f) {
  return CUDA_SUCCESS;
}
"""


def stand_in_driver() -> Path:
    """The no-op driver as ``libcuda.so.1`` (its soname too), loaded into this process first:
    Triton's launcher, linked against it and dlopen-ing ``libcuda.so.1``, gets this one."""
    folder = Path(tempfile.mkdtemp(prefix="bench-libcuda-"))
    (folder / "fake.c").write_text(NO_OP_LIBCUDA)
    include = Path(triton.__file__).parent / "backends" / "nvidia" / "include"
    so = folder / "libcuda.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", f"-I{include}", "-Wl,-soname,libcuda.so.1",
                    str(folder / "fake.c"), "-o", str(so)], check=True)
    (folder / "libcuda.so").symlink_to(so.name)
    ctypes.CDLL(str(so), mode=ctypes.RTLD_GLOBAL)
    os.environ["TRITON_LIBCUDA_PATH"] = str(folder)
    os.environ["WORKBENCH_LIBCUDA"] = str(so)
    return so


class _Utils:
    def __init__(self) -> None:
        self.ids = itertools.count(1)

    def get_device_properties(self, device) -> dict:
        return {"max_shared_mem": 232448, "multiprocessor_count": 132, "max_num_regs": 65536, "warpSize": 32}

    def load_binary(self, name, kernel, shared, device):
        hashlib.sha256(kernel)
        return object(), next(self.ids), 32, 0, 1024


class StandInDriver(compat.CompileOnlyDriver):
    """Compiles for cuda:90; launches through Triton's real ``CudaLauncher``. The device and
    stream getters are C functions, as torch's ``_cuda_getDevice`` and
    ``_cuda_getCurrentRawStream`` are."""

    def __init__(self) -> None:
        super().__init__(compat.parse_target("cuda:90"))
        self.utils = _Utils()
        self.get_current_device = (0).__index__
        self.get_current_stream = {0: 0x5EED}.__getitem__

    def launcher_cls(self, src, metadata):
        return CudaLauncher(src, metadata)


def _best_us(paths: dict, n: int, rounds: int) -> dict[str, float]:
    """The fastest round of each path, rounds interleaved so that the host's drift (a shared
    machine) hits every path alike."""
    best = dict.fromkeys(paths, float("inf"))
    for fn in paths.values():
        for _ in range(200):
            fn()
    for _ in range(rounds):
        for name, fn in paths.items():
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n * 1e6)
    return best


def _paths(kernel, args: tuple, kwargs: dict, floor_args: tuple) -> dict:
    wb, own = workbench.jit(kernel), workbench.jit(kernel, launcher="own")
    grid = (1,)
    compiled = kernel[grid](*args, **kwargs)
    for k in (wb, own):  # compiled (Triton's path), then remembered
        k[grid](*args, **kwargs)
        k[grid](*args, **kwargs)
    assert own._fast.entries and all(e[-1] is not None for e in own._fast.entries.values())
    return {"native": lambda: kernel[grid](*args, **kwargs),
            "workbench.jit": lambda: wb[grid](*args, **kwargs),
            "workbench.jit own launcher": lambda: own[grid](*args, **kwargs),
            "CompiledKernel.run floor": lambda: compiled.run(1, 1, 1, 0x5EED, compiled.function,
                                                             compiled.packed_metadata, None,
                                                             knobs.runtime.launch_enter_hook,
                                                             knobs.runtime.launch_exit_hook, *floor_args)}


def _bindings(ts: list, ints: list) -> dict:
    """The binding alone (no launch): Triton's binder, key and lookup against the fingerprint."""
    wb = workbench.jit(noop_kernel)
    kw = {"C0": 1, "C1": 2, "C2": 3, "C3": 4, "C4": 5}
    wb[(1,)](*ts, *ints, **kw)
    kernel_cache, key_cache, _, _, binder = noop_kernel.device_caches[0]
    entries, fingerprint = wb._fast.entries, native().fingerprint
    kwflags = {p.name: key_mode(p) for p in wb.params}
    flags = bytes(kwflags.values())

    def tritons_binding():
        _, spec, options = binder(*ts, *ints, **kw, debug=False, instrumentation_mode="")
        return kernel_cache.get(compute_cache_key(key_cache, spec, options))

    def our_binding():
        return entries.get(fingerprint(flags, kwflags, (*ts, *ints), kw, 0, None, False, "")[0])
    return {"Triton binder+key+lookup": tritons_binding, "our fingerprint+lookup": our_binding}


def main() -> None:
    stand_in_driver()
    from triton.runtime.driver import driver
    n, rounds = (1000, 5) if QUICK else (3000, 15)
    ts = [torch.empty(1024) for _ in range(10)]
    ints = [3, 5, 7, 9, 11, 13, 17, 19, 23]
    forty = (*ts, *[3 + 2 * i for i in range(20)], *[0.5 + i for i in range(10)])
    cases = [("5 tensors, 9 ints, 5 constexprs", noop_kernel, (*ts[:5], *ints), {"C0": 1, "C1": 2, "C2": 3, "C3": 4,
                                                                                   "C4": 5}, (*ts[:5], *ints, 1, 2, 3, 4, 5)),
             ("no arguments", empty_kernel, (), {}, ()), ("40 arguments", forty_kernel, forty, {}, forty)]
    saved = driver._active
    driver.set_active(StandInDriver())
    try:
        print(f"host cost of a launch, no-op stand-in CUDA driver, real C launchers (torch {torch.__version__}, "
              f"triton {triton.__version__}), fastest of {rounds} interleaved rounds of {n}")
        for name, kernel, args, kwargs, floor_args in cases:
            us = _best_us(_paths(kernel, args, kwargs, floor_args), n, rounds)
            base, floor = us["native"], us["CompiledKernel.run floor"]
            print(f"\n a kernel with {name}")
            for k, v in us.items():
                print(f"   {k:28s} {v:6.2f} us  {v / base:.3f}x native  {v / floor:.3f}x the floor")
        us = _best_us(_bindings(ts[:5], ints), n, rounds)
        print(f"\n binding alone (no launch): ours {us['our fingerprint+lookup']:.2f} us vs Triton's "
              f"{us['Triton binder+key+lookup']:.2f} us: "
              f"{us['our fingerprint+lookup'] / us['Triton binder+key+lookup']:.3f}x")
    finally:
        driver._active = saved


if __name__ == "__main__":
    main()
