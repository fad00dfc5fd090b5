"""The workbench's own launcher (issue 31): one C function per kernel signature that takes a
launch's arguments straight to ``cuLaunchKernelEx``.

The CPU tests build the real generated launcher and run it against a STAND-IN for the CUDA
driver: a small C library compiled here (``FAKE_LIBCUDA``) that exports the driver functions the
launcher resolves and writes what it is given (grid, block, shared memory, stream, attributes,
the raw bytes of each kernel parameter, each TMA descriptor encoded) to a file. The launcher is
pointed at it by ``WORKBENCH_LIBCUDA``. Each parameter's bytes are checked against
``struct.pack`` computed here. Nothing runs on a GPU in these tests: the stand-in accepts every
pointer as device memory unless told otherwise, and its "function handle" is the list of the
kernel's parameter sizes. The GPU tests at the end (skipped without CUDA) check real launches:
every example gives the same outputs through ``WORKBENCH_LAUNCHER=own`` as through Triton's
launcher, a faulting kernel is an error value, graph capture and side streams work.
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import pytest
import torch
import triton.language as tl

from helpers import EXAMPLES, ROOT

FAKE_LIBCUDA = r"""
#include "cuda.h"
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static FILE *out(void) { return fopen(getenv("WORKBENCH_FAKE_CUDA_LOG"), "a"); }

CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **params, void **extra) {
  FILE *o = out();
  const int32_t *sizes = (const int32_t *)f;  /* the test's handle: [n, size of each parameter] */
  fprintf(o, "launch %u %u %u %u %u %u %u %llx %u\n", c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX,
          c->blockDimY, c->blockDimZ, c->sharedMemBytes, (unsigned long long)(uintptr_t)c->hStream, c->numAttrs);
  for (unsigned i = 0; i < c->numAttrs; i++) {
    uint32_t w[3];
    memcpy(w, &c->attrs[i].value, sizeof w);
    fprintf(o, "attr %d %u %u %u\n", (int)c->attrs[i].id, w[0], w[1], w[2]);
  }
  for (int i = 0; i < sizes[0]; i++) {
    fprintf(o, "param ");
    for (int b = 0; b < sizes[i + 1]; b++) fprintf(o, "%02x", ((unsigned char *)params[i])[b]);
    fprintf(o, "\n");
  }
  fprintf(o, "end\n");
  fclose(o);
  const char *fail = getenv("WORKBENCH_FAKE_CUDA_FAIL");
  return fail ? (CUresult)atoi(fail) : CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult error, const char **str) {
  static char text[64];
  snprintf(text, sizeof text, "stand-in error %d", (int)error);
  *str = text;
  return CUDA_SUCCESS;
}

CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr) {
  const char *host = getenv("WORKBENCH_FAKE_CUDA_HOST");  /* the one address that is host memory */
  if (attribute != CU_POINTER_ATTRIBUTE_DEVICE_POINTER) return CUDA_ERROR_NOT_SUPPORTED;
  if (host && strtoull(host, NULL, 10) == (unsigned long long)ptr) return CUDA_ERROR_INVALID_VALUE;
  *(CUdeviceptr *)data = ptr;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *ctx) {
  *ctx = getenv("WORKBENCH_FAKE_CUDA_NO_CONTEXT") ? NULL : (CUcontext)0x1;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) { *device = ordinal; return CUDA_SUCCESS; }

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice device) {
  FILE *o = out();
  fprintf(o, "retain %d\n", (int)device);
  fclose(o);
  *ctx = (CUcontext)0x2;
  return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
  FILE *o = out();
  fprintf(o, "current %llx\n", (unsigned long long)(uintptr_t)ctx);
  fclose(o);
  return CUDA_SUCCESS;
}

CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute attr, int value) {
  FILE *o = out();
  fprintf(o, "funcattr %d %d\n", (int)attr, value);
  fclose(o);
  return CUDA_SUCCESS;
}

CUresult cuTensorMapEncodeTiled(CUtensorMap *map, CUtensorMapDataType dtype, cuuint32_t rank, void *address,
                                const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
                                const cuuint32_t *element_strides, CUtensorMapInterleave interleave,
                                CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill fill) {
  FILE *o = out();
  fprintf(o, "encode %d %u %llx ;", (int)dtype, rank, (unsigned long long)(uintptr_t)address);
  for (cuuint32_t i = 0; i < rank; i++) fprintf(o, " %llu", (unsigned long long)dims[i]);
  fprintf(o, " ;");
  for (cuuint32_t i = 0; i + 1 < rank; i++) fprintf(o, " %llu", (unsigned long long)strides[i]);
  fprintf(o, " ;");
  for (cuuint32_t i = 0; i < rank; i++) fprintf(o, " %u", box[i]);
  fprintf(o, " ;");
  for (cuuint32_t i = 0; i < rank; i++) fprintf(o, " %u", element_strides[i]);
  fprintf(o, " ; %d %d %d %d\n", (int)interleave, (int)swizzle, (int)l2, (int)fill);
  fclose(o);
  /* a map the test can recognise: the address, the type, then 0x5a */
  unsigned char *bytes = (unsigned char *)map;
  memset(bytes, 0x5a, sizeof(CUtensorMap));
  uint64_t a = (uint64_t)(uintptr_t)address;
  uint32_t t = (uint32_t)dtype;
  memcpy(bytes, &a, 8);
  memcpy(bytes + 8, &t, 4);
  return getenv("WORKBENCH_FAKE_CUDA_ENCODE_FAIL") ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}
"""

# the CUDA header's values, read from triton/backends/nvidia/include/cuda.h
COOPERATIVE, CLUSTER_DIMENSION, CLUSTER_SCHEDULING, PROGRAMMATIC_SERIALIZATION = 2, 4, 5, 6
SCHEDULING_SPREAD, NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 1, 14
L2_PROMOTION_128B, OOB_FILL_NAN = 2, 1


@pytest.fixture(scope="module")
def fake_libcuda(tmp_path_factory) -> Path:
    """The stand-in driver, compiled with the CUDA header Triton's wheel ships."""
    import triton
    folder = tmp_path_factory.mktemp("fake-libcuda")
    (folder / "fake.c").write_text(FAKE_LIBCUDA)
    include = Path(triton.__file__).parent / "backends" / "nvidia" / "include"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", f"-I{include}", str(folder / "fake.c"), "-o",
                    str(folder / "libfakecuda.so")], check=True)
    return folder / "libfakecuda.so"


@pytest.fixture
def driver(fake_libcuda, tmp_path, monkeypatch):
    """Launches go to the stand-in; ``driver()`` reads what it recorded since the last read."""
    from workbench.runtime import launcher
    log = tmp_path / "driver.log"
    log.write_text("")
    monkeypatch.setenv("WORKBENCH_LIBCUDA", str(fake_libcuda))
    monkeypatch.setenv("WORKBENCH_FAKE_CUDA_LOG", str(log))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    launcher.reset_driver()
    seen = [0]

    def read() -> list[dict]:
        lines = log.read_text().splitlines()
        new, seen[0] = lines[seen[0]:], len(lines)
        return _parse(new)
    yield read
    launcher.reset_driver()


def _parse(lines: list[str]) -> list[dict]:
    events: list[dict] = []
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "launch":
            v = rest.split()
            events.append({"what": "launch", "grid": tuple(map(int, v[:3])), "block": tuple(map(int, v[3:6])),
                           "shared": int(v[6]), "stream": int(v[7], 16), "attrs": [], "params": []})
        elif word == "attr":
            events[-1]["attrs"].append(tuple(map(int, rest.split())))
        elif word == "param":
            events[-1]["params"].append(bytes.fromhex(rest.strip()))
        elif word == "encode":
            head, dims, strides, box, elem, tail = rest.split(";")
            dtype, rank, address = head.split()
            events.append({"what": "encode", "dtype": int(dtype), "rank": int(rank), "address": int(address, 16),
                           "dims": [int(x) for x in dims.split()], "strides": [int(x) for x in strides.split()],
                           "box": [int(x) for x in box.split()], "element_strides": [int(x) for x in elem.split()],
                           "modes": tuple(int(x) for x in tail.split())})
        elif word in ("funcattr", "retain", "current"):
            events.append({"what": word, "values": rest.split()})
    return events


class Ptr:
    """An object with a data pointer, as Triton's launcher accepts (a tensor's stand-in)."""

    def __init__(self, ptr: int, dtype=torch.float16) -> None:
        self.ptr, self.dtype = ptr, dtype

    def data_ptr(self) -> int:
        return self.ptr


def _kernel(signature: dict, **meta):
    """What the launcher is made from: Triton's source (its signature) and metadata."""
    fields = {"name": "k", "num_warps": 4, "num_ctas": 1, "shared": 0, "global_scratch_size": 0,
              "global_scratch_align": 1, "profile_scratch_size": 0, "profile_scratch_align": 1,
              "launch_cooperative_grid": False, "launch_pdl": False, "tensordesc_meta": None} | meta
    fn = types.SimpleNamespace(arg_names=list(signature))
    return types.SimpleNamespace(signature=signature, fn=fn), types.SimpleNamespace(**fields)


_handles: list = []


def _function(formats: list[str]) -> int:
    """The stand-in's function handle: the size of each parameter, the two scratch pointers last."""
    sizes = [struct.calcsize(f) for f in formats] + [8, 8]
    array = (ctypes.c_int32 * (len(sizes) + 1))(len(sizes), *sizes)
    _handles.append(array)
    return ctypes.addressof(array)


def _launch(own, formats: list[str], *args, grid=(1, 1, 1), stream=0x5EED, enter=None, leave=None, meta=None):
    own(*grid, stream, _function(formats), own.packed, meta, enter, leave, *args)


def _own(signature: dict, **meta):
    from workbench.runtime.launcher import OwnLauncher
    return OwnLauncher(*_kernel(signature, **meta))


def _one_launch(events: list[dict]) -> dict:
    launches = [e for e in events if e["what"] == "launch"]
    assert len(launches) == 1, events
    return launches[0]


# -- every type Triton passes -----------------------------------------------------------------

SCALARS = [  # (Triton type, value, struct format of the parameter)
    ("i1", True, "<b"), ("i1", False, "<b"), ("i8", -128, "<b"), ("i8", 127, "<b"), ("i16", -32768, "<h"),
    ("i32", -(2**31), "<i"), ("i32", 2**31 - 1, "<i"), ("i64", -(2**63), "<q"), ("i64", 2**63 - 1, "<q"),
    ("u1", 1, "<B"), ("u8", 255, "<B"), ("u16", 65535, "<H"), ("u32", 2**32 - 1, "<I"), ("u64", 2**64 - 1, "<Q"),
    ("fp32", 1.5, "<f"), ("f32", -0.1, "<f"), ("fp64", 3.141592653589793, "<d"), ("fp32", 7, "<f"),
]


def test_each_scalar_reaches_the_driver_as_struct_pack_gives_it(driver):
    signature = {f"a{i}": ty for i, (ty, _, _) in enumerate(SCALARS)}
    own = _own(signature)
    formats = [f for _, _, f in SCALARS]
    _launch(own, formats, *[v for _, v, _ in SCALARS])
    params = _one_launch(driver())["params"]
    for (ty, value, fmt), got in zip(SCALARS, params):
        assert got == struct.pack(fmt, value), (ty, value, got.hex())
    assert params[-2:] == [bytes(8), bytes(8)]  # no global or profile scratch: null pointers


@pytest.mark.parametrize("value", [1.0, -2.5, 65504.0, 1e-7, 0.1, 1 / 3, float("inf"), float("nan")])
def test_half_precision_floats_are_packed_as_tritons_launcher_packs_them(driver, value):
    """fp16 rounds to nearest even (``struct`` 'e'); bf16 is the top half of the fp32 bits
    (Triton truncates, it does not round)."""
    own = _own({"h": "fp16", "b": "bf16", "f": "fp32"})
    _launch(own, ["<H", "<H", "<f"], value, value, value)
    h, b, f = _one_launch(driver())["params"][:3]
    assert h == struct.pack("<e", value)
    assert b == struct.pack("<f", value)[2:]
    assert f == struct.pack("<f", value)


TENSOR_DTYPES = [(torch.float32, "*fp32"), (torch.float16, "*fp16"), (torch.bfloat16, "*bf16"),
                 (torch.float64, "*fp64"), (torch.int8, "*i8"), (torch.int16, "*i16"), (torch.int32, "*i32"),
                 (torch.int64, "*i64"), (torch.uint8, "*u8"), (torch.bool, "*i1"),
                 (torch.float8_e4m3fn, "*fp8e4nv"), (torch.float8_e5m2, "*fp8e5"), (torch.float32, "*kfp32")]


def test_tensors_of_each_dtype_ints_and_none_go_as_64_bit_pointers(driver):
    """Each tensor as its data pointer (the stand-in says every address is device memory), an
    int as itself, None as null, anything with ``data_ptr()`` as what it returns."""
    tensors = [torch.zeros(4, dtype=dtype) for dtype, _ in TENSOR_DTYPES]
    signature = {f"t{i}": ty for i, (_, ty) in enumerate(TENSOR_DTYPES)} | {"p": "*fp32", "q": "*fp32", "r": "*i8"}
    own = _own(signature)
    _launch(own, ["<Q"] * len(signature), *tensors, 0xDEAD0000, None, Ptr(0x7000))
    params = _one_launch(driver())["params"]
    want = [t.data_ptr() for t in tensors] + [0xDEAD0000, 0, 0x7000]
    assert params[:len(want)] == [struct.pack("<Q", p) for p in want]


def test_constexprs_are_skipped_and_tuples_are_flattened_as_triton_flattens_them(driver):
    signature = {"x": "*fp32", "pair": ("i32", ("*fp16", "constexpr"), "fp32"), "BLOCK": "constexpr", "n": "i64",
                 "empty": (), "none": "constexpr"}
    own = _own(signature)
    formats = ["<Q", "<i", "<Q", "<f", "<q"]
    _launch(own, formats, Ptr(0x100), (-7, (Ptr(0x200), 64), 0.25), 128, 2**40, (), None)
    params = _one_launch(driver())["params"]
    assert params == [struct.pack(f, v) for f, v in zip(formats, [0x100, -7, 0x200, 0.25, 2**40])] + [bytes(8)] * 2


def test_a_kernel_with_no_arguments_gets_only_the_scratch_pointers(driver):
    own = _own({})
    _launch(own, [], grid=(7, 1, 1))
    launch = _one_launch(driver())
    assert launch["params"] == [bytes(8), bytes(8)] and launch["grid"] == (7, 1, 1)


def test_forty_arguments(driver):
    signature = {f"a{i}": ("*fp32" if i % 4 == 0 else "i32" if i % 4 == 1 else "i64" if i % 4 == 2 else "fp32")
                 for i in range(40)}
    fmt = {"*fp32": "<Q", "i32": "<i", "i64": "<q", "fp32": "<f"}
    values = [Ptr(0x1000 * (i + 1)) if ty == "*fp32" else i * 3 - 50 if ty != "fp32" else i / 8
              for i, ty in enumerate(signature.values())]
    own = _own(signature)
    _launch(own, [fmt[t] for t in signature.values()], *values)
    params = _one_launch(driver())["params"]
    want = [v.ptr if isinstance(v, Ptr) else v for v in values]
    assert params[:40] == [struct.pack(fmt[t], v) for t, v in zip(signature.values(), want)]


# -- the launch itself ------------------------------------------------------------------------

def test_grid_block_shared_memory_stream_and_no_attributes(driver):
    own = _own({"n": "i32"}, num_warps=8, shared=49152)
    _launch(own, ["<i"], 5, grid=(3, 2, 4), stream=0xABCDEF)
    launch = _one_launch(driver())
    assert (launch["grid"], launch["block"], launch["shared"]) == ((3, 2, 4), (256, 1, 1), 49152)
    assert launch["stream"] == 0xABCDEF and launch["attrs"] == []


def test_cooperative_pdl_and_cluster_attributes_as_tritons_launcher_sets_them(driver):
    own = _own({"n": "i32"}, num_ctas=2, launch_cooperative_grid=True, launch_pdl=True)
    _launch(own, ["<i"], 1, grid=(3, 1, 1))
    launch = _one_launch(driver())
    assert launch["grid"] == (6, 1, 1)  # gridX * num_ctas
    assert launch["attrs"] == [(PROGRAMMATIC_SERIALIZATION, 1, 0, 0), (COOPERATIVE, 1, 0, 0),
                               (CLUSTER_DIMENSION, 2, 1, 1), (CLUSTER_SCHEDULING, SCHEDULING_SPREAD, 0, 0)]
    wide = _own({"n": "i32"}, num_ctas=16)
    _launch(wide, ["<i"], 1, grid=(2, 1, 1))
    events = driver()
    assert events[0] == {"what": "funcattr", "values": [str(NON_PORTABLE_CLUSTER_SIZE_ALLOWED), "1"]}
    assert _one_launch(events)["attrs"][0] == (CLUSTER_DIMENSION, 16, 1, 1)


def test_an_empty_grid_launches_nothing(driver):
    own = _own({"n": "i32"})
    _launch(own, ["<i"], 1, grid=(0, 4, 1))
    assert driver() == []


def test_global_and_profile_scratch_are_the_last_two_parameters(driver):
    """Triton 3.6 appends both pointers to every kernel; with a size, the launcher allocates
    each through Triton's allocators (grid size x num_ctas x size, on the launch's stream)."""
    from triton.runtime import _allocation
    asked = []

    def allocator(size, align, stream):
        asked.append((size, align, stream))
        return Ptr(0x9000 + len(asked) * 0x100)
    own = _own({"n": "i32"}, global_scratch_size=64, global_scratch_align=128, profile_scratch_size=32,
               profile_scratch_align=16, num_ctas=2)
    saved = _allocation._allocator.get(), _allocation._profile_allocator.get()
    _allocation._allocator.set(allocator)
    _allocation._profile_allocator.set(allocator)
    try:
        _launch(own, ["<i"], 9, grid=(3, 2, 1), stream=77)
    finally:
        _allocation._allocator.set(saved[0])
        _allocation._profile_allocator.set(saved[1])
    assert asked == [(3 * 2 * 2 * 64, 128, 77), (3 * 2 * 2 * 32, 16, 77)]
    assert _one_launch(driver())["params"] == [struct.pack("<i", 9), struct.pack("<Q", 0x9100),
                                               struct.pack("<Q", 0x9200)]


def test_launch_hooks_are_called_around_the_launch_with_the_launch_metadata(driver):
    own = _own({"n": "i32"})
    order = []
    meta = object()

    def enter(m):
        order.append(("enter", m is meta, len([e for e in driver() if e["what"] == "launch"])))

    def leave(m):
        order.append(("leave", m is meta, len([e for e in driver() if e["what"] == "launch"])))
    _launch(own, ["<i"], 1, enter=enter, leave=leave, meta=meta)
    assert order == [("enter", True, 0), ("leave", True, 1)]


def test_a_thread_with_no_current_context_gets_the_primary_context_of_device_0(driver, monkeypatch):
    monkeypatch.setenv("WORKBENCH_FAKE_CUDA_NO_CONTEXT", "1")
    _launch(_own({"n": "i32"}), ["<i"], 1)
    events = driver()
    assert [e["what"] for e in events] == ["retain", "current", "launch"]
    assert events[0]["values"] == ["0"] and events[1]["values"] == ["2"]


# -- tensor descriptors -----------------------------------------------------------------------

def test_a_tensor_descriptor_lowered_to_tma_is_encoded_as_tritons_driver_encodes_it(driver):
    """Triton 3.6 passes a host TMA descriptor (128 bytes, encoded by cuTensorMapEncodeTiled:
    dimensions innermost first, byte strides of all but the innermost, the block, element
    strides 1, no interleave, the kernel's swizzle, L2 promotion 128B, NaN fill for
    padding='nan'), then the shape as i32 and the strides as i64."""
    from triton.tools.tensor_descriptor import TensorDescriptor
    base = Ptr(0x40000, torch.float16)
    desc = TensorDescriptor(base, [256, 96], [128, 1], [64, 32], padding="nan")
    meta = [{"swizzle": 3, "elem_size": 2, "elem_type": 6, "block_size": [64, 32], "fp4_padded": False}]
    own = _own({"a": "*fp32", "desc": "tensordesc<fp16[64, 32]>", "n": "i32"}, tensordesc_meta=meta)
    _launch(own, ["<Q", "128s", "<i", "<i", "<q", "<q", "<i"], Ptr(0x500), desc, 11)
    events = driver()
    encode = events[0]
    assert encode == {"what": "encode", "dtype": 6, "rank": 2, "address": 0x40000, "dims": [96, 256],
                      "strides": [128 * 2], "box": [32, 64], "element_strides": [1, 1],
                      "modes": (0, 3, L2_PROMOTION_128B, OOB_FILL_NAN)}
    params = _one_launch(events)["params"]
    tma = struct.pack("<QI", 0x40000, 6) + b"\x5a" * 116
    assert params == [struct.pack("<Q", 0x500), tma, struct.pack("<i", 256), struct.pack("<i", 96),
                      struct.pack("<q", 128), struct.pack("<q", 1), struct.pack("<i", 11), bytes(8), bytes(8)]


def test_tma_element_types_map_from_device_to_host_and_fp4_doubles_the_inner_dimension(driver):
    from triton.tools.tensor_descriptor import TensorDescriptor
    desc = TensorDescriptor(Ptr(0x40000, torch.uint8), [8, 64], [64, 1], [8, 64])
    for device_type, host_type in [(8, 10), (9, 8), (10, 9), (5, 5)]:
        meta = [{"swizzle": 1, "elem_size": 1, "elem_type": device_type, "block_size": [8, 64], "fp4_padded": True}]
        own = _own({"desc": "tensordesc<u8[8, 64]>"}, tensordesc_meta=meta)
        _launch(own, ["128s", "<i", "<i", "<q", "<q"], desc)
        encode, launch = driver()
        assert encode["dtype"] == host_type and encode["dims"] == [128, 8] and encode["modes"][3] == 0
        assert launch["params"][1:3] == [struct.pack("<i", 8), struct.pack("<i", 128)]


def test_a_tensor_descriptor_not_lowered_to_tma_goes_as_pointer_shape_strides_twice(driver):
    """With no TMA metadata Triton passes the base pointer, the shape and strides as i64, the
    padding as i1, then the shape as i32 and the strides as i64 again."""
    from triton.tools.tensor_descriptor import TensorDescriptor
    desc = TensorDescriptor(Ptr(0x40000, torch.float32), [4, 8, 16], [128, 16, 1], [2, 4, 16])
    own = _own({"desc": "tensordesc<fp32[2, 4, 16]>"})
    formats = ["<Q"] + ["<q"] * 6 + ["<b"] + ["<i"] * 3 + ["<q"] * 3
    _launch(own, formats, desc)
    values = [0x40000, 4, 8, 16, 128, 16, 1, 0, 4, 8, 16, 128, 16, 1]
    assert _one_launch(driver())["params"][:-2] == [struct.pack(f, v) for f, v in zip(formats, values)]


# -- refusals: one line each, naming the argument; the process goes on --------------------------

REFUSALS = [  # (type, value, exception, what the line says)
    ("i8", 128, OverflowError, "argument 'v' (i8) is 128, which does not fit"),
    ("i8", -129, OverflowError, "argument 'v' (i8) is -129, which does not fit"),
    ("u8", -1, OverflowError, "argument 'v' (u8) is -1, which does not fit"),
    ("i16", 2**15, OverflowError, "does not fit"),
    ("i32", 2**31, OverflowError, "argument 'v' (i32) is 2147483648, which does not fit"),
    ("i64", -(2**63) - 1, OverflowError, "does not fit"),
    ("u32", 2**32, OverflowError, "does not fit"),
    ("u64", 2**64, OverflowError, "argument 'v' (u64) is 18446744073709551616, which does not fit"),
    ("i1", 2, OverflowError, "argument 'v' (i1) is 2, which does not fit"),
    ("i32", 1.5, TypeError, "argument 'v' (i32) takes an int, got float"),
    ("i64", "3", TypeError, "argument 'v' (i64) takes an int, got str"),
    ("fp32", "x", TypeError, "argument 'v' (fp32) takes a float, got str"),
    ("fp16", None, TypeError, "argument 'v' (fp16) takes a float, got NoneType"),
    ("fp16", 1e6, OverflowError, "argument 'v' (fp16) is 1000000.0, which does not fit"),
    ("*fp32", "x", TypeError, "argument 'v' (*fp32) takes a tensor, an int or None, got str"),
    ("*fp32", 1.0, TypeError, "argument 'v' (*fp32) takes a tensor, an int or None, got float"),
    ("*fp32", -1, OverflowError, "argument 'v' (*fp32) is -1, which does not fit"),
    (("i32", "i32"), (1,), TypeError, "argument 'v' takes a tuple of 2, got tuple of 1"),
    (("i32", "i32"), [1, 2], TypeError, "argument 'v' takes a tuple of 2, got list"),
    (("i32", ("i8",)), (1, (300,)), OverflowError, "argument 'v[1][0]' (i8) is 300, which does not fit"),
]


@pytest.mark.parametrize("ty, value, error, says", REFUSALS, ids=[f"{r[0]}={r[1]!r}" for r in REFUSALS])
def test_a_value_that_does_not_fit_its_type_is_refused_in_one_line(driver, ty, value, error, says):
    own = _own({"x": "*fp32", "v": ty})
    with pytest.raises(error) as refused:
        _launch(own, ["<Q", "<Q"], Ptr(0x100), value)
    message = str(refused.value)
    assert says in message and "\n" not in message and message.startswith("k: ")
    assert driver() == []
    _launch(own, ["<Q"], Ptr(0x100), _fits(ty))  # and the next launch goes
    assert len(driver()) == 1


def _fits(ty):
    return tuple(_fits(t) for t in ty) if isinstance(ty, tuple) else None if ty[0] == "*" else 1.0 \
        if ty.startswith("fp") else 1


def test_a_cpu_tensor_is_refused_by_the_drivers_answer(driver, monkeypatch):
    """The launcher asks the driver for each pointer's device address, as Triton's does; host
    memory (here: the one address the stand-in is told is host memory) is refused."""
    host = torch.zeros(16)
    monkeypatch.setenv("WORKBENCH_FAKE_CUDA_HOST", str(host.data_ptr()))
    own = _own({"x": "*fp32", "y": "*fp32"})
    with pytest.raises(ValueError, match=r"^k: argument 'y' \(\*fp32\) at 0x[0-9a-f]+ cannot be accessed from the "
                                         r"GPU \(a CPU tensor\?\)$"):
        _launch(own, ["<Q", "<Q"], Ptr(0x100), host)
    assert driver() == []


def test_a_wrong_number_of_arguments_and_a_wrong_descriptor_are_refused(driver):
    own = _own({"x": "*fp32", "n": "i32"})
    with pytest.raises(TypeError, match=r"^k: takes 2 arguments \(x, n\), got 3$"):
        _launch(own, [], Ptr(0x100), 1, 2)
    described = _own({"desc": "tensordesc<fp16[64, 32]>"}, tensordesc_meta=[
        {"swizzle": 3, "elem_size": 2, "elem_type": 6, "block_size": [64, 32], "fp4_padded": False}])
    with pytest.raises(TypeError, match=r"^k: argument 'desc' \(tensordesc<fp16\[64, 32\]>\) takes a "
                                        r"TensorDescriptor, got Ptr$"):
        _launch(described, [], Ptr(0x100))
    assert driver() == []


def test_a_failed_launch_is_an_error_value_and_the_process_goes_on(driver, monkeypatch):
    own = _own({"n": "i32"})
    monkeypatch.setenv("WORKBENCH_FAKE_CUDA_FAIL", "700")
    with pytest.raises(RuntimeError, match=r"^k: cuLaunchKernelEx failed: CUDA error 700: stand-in error 700$"):
        _launch(own, ["<i"], 1)
    monkeypatch.delenv("WORKBENCH_FAKE_CUDA_FAIL")
    _launch(own, ["<i"], 2)
    assert [e["params"][0] for e in driver()] == [struct.pack("<i", 1), struct.pack("<i", 2)]


def test_no_driver_library_is_one_line(monkeypatch, tmp_path):
    from workbench.runtime import launcher
    monkeypatch.setenv("WORKBENCH_LIBCUDA", str(tmp_path / "missing.so"))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    launcher.reset_driver()
    try:
        with pytest.raises(RuntimeError, match=r"^k: cannot open the CUDA driver .*missing\.so.*$"):
            _launch(_own({"n": "i32"}), ["<i"], 1)
    finally:
        launcher.reset_driver()


# -- building and the cache -------------------------------------------------------------------

def test_one_build_per_signature_cached_on_disk_by_source_triton_and_python(tmp_path, monkeypatch):
    """Argument names are not in the source: two kernels with the same types share one build.
    The cache key covers the source, Triton's version and the Python ABI; the entry's name
    carries a digest of its bytes."""
    import triton
    from workbench.runtime import launcher
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    a = launcher.source(["*fp32", "i32", "constexpr"])
    assert a == launcher.source(["*fp32", "i32", "constexpr"]) != launcher.source(["*fp32", "i64", "constexpr"])
    key = launcher.cache_key(a)
    monkeypatch.setattr(triton, "__version__", "3.6.99")
    assert launcher.cache_key(a) != key
    monkeypatch.undo()
    monkeypatch.setattr(sys.implementation, "cache_tag", "cpython-399")
    assert launcher.cache_key(a) != key
    monkeypatch.undo()
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    assert launcher.cache_key(a) == key
    first = launcher.module(["*fp32", "i32", "constexpr"])
    assert launcher.module(["*fp32", "i32", "constexpr"]) is first
    built = sorted((tmp_path / "cache" / "launchers").iterdir())
    assert [p.name for p in built] == [f"launcher-{key[:32]}-{launcher.digest(built[0].read_bytes())[:16]}"
                                       f"{sysconfig.get_config_var('EXT_SUFFIX')}"]


def test_a_corrupt_cached_launcher_is_rebuilt_never_loaded(tmp_path):
    """A fresh process loads a launcher only if its bytes match the digest in its name: a
    truncated or overwritten one is removed and built again; a half-written temporary file
    is never a candidate."""
    script = (
        "import sys; from pathlib import Path; from workbench.runtime import launcher\n"
        "src = launcher.source(['*fp16', 'u64'])\n"
        "mod = launcher.load(src, Path(sys.argv[1]))\n"
        "print(mod.__file__)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = lambda: subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True,  # noqa: E731
                                 text=True, check=True).stdout.strip()
    from workbench.runtime import launcher

    def sound(path: Path) -> bool:  # the only launcher there, its bytes those its name says
        return sorted(tmp_path.glob("launcher-*")) == [path] and \
            path.name.split("-")[2].startswith(launcher.digest(path.read_bytes())[:16])
    path = Path(run())
    assert sound(path)
    good = path.read_bytes()
    path.write_bytes(good[:len(good) // 2])  # truncated
    (tmp_path / f".{path.name}.1234.tmp").write_bytes(b"half")
    again = Path(run())
    assert sound(again) and again.stat().st_size == len(good)
    again.write_bytes(b"\x7fELF" + bytes(len(good) - 4))  # the same size, other bytes
    assert sound(Path(run()))
    assert (tmp_path / f".{path.name}.1234.tmp").read_bytes() == b"half"  # never taken for a launcher


# -- through workbench.jit --------------------------------------------------------------------

def test_workbench_jit_launches_through_its_own_launcher_only_when_asked(driver, monkeypatch):
    """With ``WORKBENCH_LAUNCHER=own`` (or ``workbench.jit(launcher="own")``) a remembered
    launch reaches the (stand-in) driver through the own launcher with the arguments Triton's
    launcher would pass; the first launch of a specialization is Triton's. Without it, nothing
    reaches the own launcher."""
    import triton
    import triton.language as tl
    import workbench
    from recording_driver import recording

    def scaled(x_ptr, y_ptr, n, alpha, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * alpha, mask=offs < n)

    x, y = torch.rand(4096), torch.empty(4096)
    formats = ["<Q", "<Q", "<i", "<f"]
    with recording() as drv:
        _binaries_take(drv, formats)
        monkeypatch.setenv("WORKBENCH_LAUNCHER", "own")
        ours = workbench.jit(triton.jit(scaled))
        for i in range(3):
            drv.stream = 40 + i
            ours[(32, 2)](x, y, 4096, 0.5, BLOCK=128)
        assert len(drv.launches) == 1  # the first, through Triton's launcher
        launches = [e for e in driver() if e["what"] == "launch"]
        assert [(e["grid"], e["block"], e["stream"]) for e in launches] == [((32, 2, 1), (128, 1, 1), 41),
                                                                              ((32, 2, 1), (128, 1, 1), 42)]
        want = [struct.pack(f, v) for f, v in zip(formats, [x.data_ptr(), y.data_ptr(), 4096, 0.5])]
        assert launches[0]["params"] == want + [bytes(8), bytes(8)]
        monkeypatch.delenv("WORKBENCH_LAUNCHER")
        plain = workbench.jit(triton.jit(scaled))
        keyword = workbench.jit(triton.jit(scaled), launcher="own")
        for _ in range(2):
            plain[(1,)](x, y, 4096, 0.5, BLOCK=128)
        assert driver() == [] and len(drv.launches) == 3
        for _ in range(2):
            keyword[(1,)](x, y, 4096, 0.5, BLOCK=128)
        assert len([e for e in driver() if e["what"] == "launch"]) == 1 and len(drv.launches) == 4


def _binaries_take(drv, formats: list[str]) -> None:
    """The recording driver's binaries get the stand-in's function handles (their parameter sizes)."""
    def load_binary(name, kernel, shared, device):
        handle = _function(formats)
        drv.binaries[handle] = name
        return object(), handle, 32, 0, 1024
    drv.utils.load_binary = load_binary


def test_launch_hooks_on_the_own_path(driver):
    """Hooks set: the own launcher calls them, with Triton's launch metadata."""
    import triton
    import triton.language as tl
    from triton import knobs
    import workbench
    from recording_driver import recording

    def shift(x_ptr, n, k, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + k, mask=offs < n)

    x = torch.zeros(64, dtype=torch.int32)
    with recording() as drv:
        _binaries_take(drv, ["<Q", "<i", "<i"])
        ours = workbench.jit(triton.jit(shift), launcher="own")
        ours[(1,)](x, 64, 3, BLOCK=64)
        seen = []
        hook = lambda md: seen.append(md.get()["name"])  # noqa: E731
        knobs.runtime.launch_enter_hook.add(hook)
        try:
            ours[(1,)](x, 64, 3, BLOCK=64)
        finally:
            knobs.runtime.launch_enter_hook.remove(hook)
        assert seen == ["shift"] and len(drv.launches) == 1
        assert [e["params"][1:3] for e in driver()] == [[struct.pack("<i", 64), struct.pack("<i", 3)]]


def _scaled(x_ptr, y_ptr, n, alpha, BLOCK: tl.constexpr, MODE: tl.constexpr = 0):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * alpha + MODE, mask=offs < n)


SHIFT = tl.constexpr(1.0)


def _shifted(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + SHIFT, mask=offs < n)


def _python_frames(call, *args, **kwargs) -> list[str]:
    """The Python functions ``call(*args, **kwargs)`` enters."""
    entered: list[str] = []

    def profile(frame, event, arg):
        if event == "call":
            entered.append(frame.f_code.co_name)
    sys.setprofile(profile)
    try:
        call(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return entered


def _c_getters(drv, stream: int) -> None:
    """The device and stream getters as C functions, as torch's are on a GPU."""
    drv.get_current_device = (0).__index__
    drv.get_current_stream = {0: stream}.__getitem__


def test_a_remembered_launch_is_one_c_call_with_the_bytes_of_the_python_path(driver):
    """``kernel[grid]`` with a tuple grid is a C callable: a remembered launch enters no Python
    function between the call and ``cuLaunchKernelEx``, and the stand-in driver gets the bytes
    the Python launch (a callable grid takes it) gives it: grid, block, stream, each parameter,
    the default of a constexpr left out filled in, keywords in any order."""
    import triton
    import workbench
    from recording_driver import recording
    x, y = torch.rand(4096), torch.empty(4096)
    formats = ["<Q", "<Q", "<i", "<f"]
    with recording() as drv:
        _binaries_take(drv, formats)
        ours = workbench.jit(triton.jit(_scaled), launcher="own")
        _c_getters(drv, 0x51)
        for kwargs in ({"BLOCK": 128}, {"BLOCK": 128, "MODE": 0}, {"MODE": 0, "BLOCK": 128}):
            ours[(32, 2)](x, y, 4096, 0.5, **kwargs)  # Triton's launch, remembered
            launch = ours[(32, 2)]
            assert type(launch).__name__ == "Bound"
            assert _python_frames(launch, x, y, 4096, 0.5, **kwargs) == []
            ours[lambda meta: (32, 2)](x, y, 4096, 0.5, **kwargs)  # the Python launch of the same entry
        assert len(drv.launches) == 3
        launches = [e for e in driver() if e["what"] == "launch"]
        assert len(launches) == 6 and all(e == launches[0] for e in launches)
        assert (launches[0]["grid"], launches[0]["block"], launches[0]["stream"]) == ((32, 2, 1), (128, 1, 1), 0x51)
        want = [struct.pack(f, v) for f, v in zip(formats, [x.data_ptr(), y.data_ptr(), 4096, 0.5])]
        assert launches[0]["params"] == want + [bytes(8), bytes(8)]


def test_the_c_launch_falls_back_wherever_the_python_one_would(driver):
    """Each check of the Python launch, made in C: another specialization (another binary), a
    pre-run hook, a launch hook, Triton's cache emptied or a wrapped ``JITFunction.run`` take
    Triton's path or the launcher with hooks (a Python function entered each time); another
    current stream is read at each launch. After each, the C launch serves again. (A changed
    global: the test after this one.)"""
    import triton
    import workbench
    from triton import knobs
    from triton.runtime.jit import JITFunction
    from recording_driver import recording
    x, y = torch.rand(4096), torch.empty(4096)
    with recording() as drv:
        _binaries_take(drv, ["<Q", "<Q", "<i", "<f"])
        ours = workbench.jit(triton.jit(_scaled), launcher="own")
        _c_getters(drv, 7)
        launch = ours[(4,)]
        launch(x, y, 4096, 0.5, BLOCK=64)
        driver()

        def fast() -> int | None:  # one launch through the C path (no Python function): its stream
            frames = _python_frames(launch, x, y, 4096, 0.5, BLOCK=64)
            launches = [e for e in driver() if e["what"] == "launch"]
            return launches[0]["stream"] if frames == [] and len(launches) == 1 else None
        assert fast() == 7
        triton_launches = len(drv.launches)
        assert _python_frames(launch, x, y, 17, 0.5, BLOCK=64)  # n=17: another specialization
        assert len(drv.launches) == triton_launches + 1 and driver() == []
        assert fast() == 7
        _c_getters(drv, 9)
        assert fast() == 9  # the current stream, read at each launch
        seen = []
        ours.add_pre_run_hook(lambda *a, **k: seen.append(a[2]))
        launch(x, y, 4096, 0.5, BLOCK=64)
        assert seen == [4096] and len(drv.launches) == triton_launches + 2
        ours.pre_run_hooks.clear()
        assert fast() == 9
        hook = lambda md: seen.append(md.get()["name"])  # noqa: E731
        knobs.runtime.launch_enter_hook.add(hook)
        try:
            launch(x, y, 4096, 0.5, BLOCK=64)
        finally:
            knobs.runtime.launch_enter_hook.remove(hook)
        assert seen == [4096, "_scaled"] and len([e for e in driver() if e["what"] == "launch"]) == 1
        assert fast() == 9
        ours.device_caches[0][0].clear()  # Triton's cache emptied: compiled again, through Triton
        launch(x, y, 4096, 0.5, BLOCK=64)
        assert len(drv.launches) == triton_launches + 3 and driver() == []
        launch(x, y, 4096, 0.5, BLOCK=64)  # (remembered again)
        driver()
        assert fast() == 9
        real = JITFunction.run
        wrapped = []

        def run(self, *args, **kwargs):
            wrapped.append(1)
            return real(self, *args, **kwargs)
        JITFunction.run = run
        try:
            launch(x, y, 4096, 0.5, BLOCK=64)
        finally:
            JITFunction.run = real
        assert wrapped == [1] and len(drv.launches) == triton_launches + 4
        assert fast() == 9
        launch(x, y, 2**31, 0.5, BLOCK=64)  # n an i64: another binary, compiled and launched by Triton
        assert len(drv.launches) == triton_launches + 5 and driver() == []
        assert len(ours.device_caches[0][0]) == 2 and fast() == 9  # (17's binary went with the cache)


def test_an_unknown_launcher_choice_is_one_line(monkeypatch):
    import workbench

    def k(x, BLOCK: tl.constexpr):
        pass
    with pytest.raises(ValueError, match=r"^launcher= is 'own' or 'triton', not 'fast'$"):
        workbench.jit(k, launcher="fast")
    from workbench.runtime import launcher
    monkeypatch.setenv("WORKBENCH_LAUNCHER", "fast")
    with pytest.raises(ValueError, match=r"^WORKBENCH_LAUNCHER is 'own' or 'triton', not 'fast'$"):
        launcher.chosen(None)


# -- on the GPU ---------------------------------------------------------------------------------

EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py"))
# examples whose launches never take workbench.jit's remembered path, so never the own launcher
NOT_REMEMBERED = {"autotuned_add": "the autotuner calls JITFunction.run itself",
                  "gluon_vector_add": "a gluon.jit kernel, not a workbench.jit one",
                  "matmul_tma": "tensor descriptors always take Triton's path (fastlaunch's fingerprint)"}

RUN_TWICE = """
import json, runpy, sys, torch, triton, workbench
real_jit, real_close, seen = triton.jit, torch.testing.assert_close, []
def jit(fn=None, **kw):
    wrap = lambda f: workbench.jit(real_jit(f, **kw))
    return wrap(fn) if fn is not None else wrap
def close(actual, expected, *a, **k):
    seen.append(actual.detach().clone())
    return real_close(actual, expected, *a, **k)
triton.jit, torch.testing.assert_close = jit, close
g = runpy.run_path(sys.argv[1], run_name="__main__")  # compiles: Triton's launches
seen.clear()
g["main"]()  # the same launches again: remembered, through the launcher chosen
torch.cuda.synchronize()
own = sum(e[-1] is not None for v in g.values() if getattr(v, "_fast", None) for e in v._fast.entries.values())
torch.save([t.cpu() for t in seen], sys.argv[2])
print(json.dumps({"own": own}))
"""


def _outputs_of(example: str, tmp_path: Path, launcher: str) -> tuple[list, int]:
    """The example's main() run twice in a process of its own, its kernels under workbench.jit:
    what the second run checked (the first argument of each ``assert_close``), and how many
    remembered launches the own launcher made."""
    import json
    out = tmp_path / f"{example}-{launcher}.pt"
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIET="1", WORKBENCH_LAUNCHER=launcher)
    env.pop("WORKBENCH_LIBCUDA", None)
    done = subprocess.run([sys.executable, "-c", RUN_TWICE, str(EXAMPLES / f"{example}.py"), str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out), json.loads(done.stdout.strip().splitlines()[-1])["own"]


@pytest.mark.gpu
@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_example_gives_identical_outputs_through_the_own_launcher(example, tmp_path):
    """Bitwise: the same binaries, on the same seeded inputs, launched by Triton's launcher
    and by the own one."""
    theirs, _ = _outputs_of(example, tmp_path, "triton")
    ours, own = _outputs_of(example, tmp_path, "own")
    assert theirs, f"{example} checks no output"
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a.view(torch.uint8), b.view(torch.uint8)), f"{example}: an output differs"
    if example in NOT_REMEMBERED:
        assert own == 0, NOT_REMEMBERED[example]
    else:
        assert own > 0, f"{example}: no launch went through the own launcher"


@pytest.mark.gpu
def test_tensor_descriptors_through_the_own_launcher_on_the_gpu():
    """matmul_tma's kernel launched by the own launcher directly (its descriptors encoded by
    it) computes what Triton's launch computed."""
    sys.path.insert(0, str(EXAMPLES))
    import matmul_tma
    from workbench.runtime.launcher import OwnLauncher
    torch.manual_seed(0)
    a = torch.randn(512, 512, device="cuda", dtype=torch.float16)
    b = torch.randn(512, 512, device="cuda", dtype=torch.float16)
    want = matmul_tma.matmul_tma(a, b)
    kernel = next(iter(matmul_tma.matmul_tma_kernel.device_caches[torch.cuda.current_device()][0].values()))
    own = OwnLauncher(kernel.src, kernel.metadata)
    launched = []
    real = kernel.run

    def keep(*args):  # Triton's launch of the same call, its arguments kept
        launched.append(args)
        return real(*args)
    kernel._run = keep
    want = matmul_tma.matmul_tma(a, b)
    gx, gy, gz, stream, function, _, _, _, _, *args = launched[-1]
    c = next(x for x in args if hasattr(x, "base") and x.base.data_ptr() == want.data_ptr()).base
    c.zero_()
    own(gx, gy, gz, stream, function, own.packed, None, None, None, *args)
    torch.cuda.synchronize()
    assert torch.equal(c, want)


FAULT = r"""
import torch, triton, triton.language as tl, workbench

@workbench.jit(launcher="own")
def poke(p, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(p + offs * n, offs)

x = torch.zeros(16 * 17, device="cuda", dtype=torch.int32)
poke[(1,)](x, 17, BLOCK=16)
poke[(1,)](x, 17, BLOCK=16)   # remembered: the own launcher from here
torch.cuda.synchronize()
assert all(e[-1] is not None for e in poke._fast.entries.values())
try:
    poke[(1,)](x, (1 << 28) + 1, BLOCK=16)   # specializes as 17 does; far out of bounds
    torch.cuda.synchronize()
    print("no fault")
except Exception as e:
    print("error value:", type(e).__name__, str(e).splitlines()[0])
"""


@pytest.mark.gpu
def test_a_kernel_that_faults_through_the_own_launcher_is_an_error_value(tmp_path):
    script = tmp_path / "fault.py"
    script.write_text(FAULT)
    done = subprocess.run([sys.executable, str(script)], env=dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIET="1"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # the driver names the fault as it sees it ("illegal address", "operation not supported on
    # global/shared address space", ...): what matters is that it came back as a value
    assert done.stdout.startswith("error value:") and "CUDA error" in done.stdout, done.stdout


@pytest.mark.gpu
def test_graph_capture_and_a_side_stream_through_the_own_launcher():
    import triton.language as tl
    import workbench

    @workbench.jit(launcher="own")
    def twice(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)

    x = torch.rand(4096, device="cuda")
    out = torch.zeros_like(x)
    for _ in range(2):  # compiled, then remembered: the own launcher from here
        twice[(32,)](x, out, 4096, BLOCK=128)
    torch.cuda.synchronize()
    assert twice._fast.entries and all(e[-1] is not None for e in twice._fast.entries.values())
    out.zero_()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        twice[(32,)](x, out, 4096, BLOCK=128)
    torch.cuda.synchronize()
    assert not out.any()
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(out, x * 2)
    side = torch.cuda.Stream()
    out.zero_()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)  # the side stream busy: a launch on the default stream would finish first
        twice[(32,)](x, out, 4096, BLOCK=128)
    # read on the default stream, which does not wait for the side one: the launch is still queued there
    assert not out.any()
    side.synchronize()
    assert torch.equal(out, x * 2)


def test_a_global_changed_after_the_compile_is_triton_s_error_through_the_c_launch(driver):
    """A kernel that reads a global constexpr: once the global changes, the C launch does not
    launch the old binary; the Python launch raises Triton's error, as Triton's own path does."""
    import triton
    import workbench
    from recording_driver import recording
    global SHIFT
    x, y = torch.rand(4096), torch.empty(4096)
    with recording() as drv:
        _binaries_take(drv, ["<Q", "<Q", "<i"])
        ours = workbench.jit(triton.jit(_shifted), launcher="own")
        _c_getters(drv, 3)
        launch = ours[(4,)]
        launch(x, y, 4096, BLOCK=64)
        driver()
        # remembered: the C launch (which compares the global through constexpr's own Python
        # methods: those are all it enters)
        frames = _python_frames(launch, x, y, 4096, BLOCK=64)
        assert frames and all(f.startswith("__") or f == "_unwrap_if_constexpr" for f in frames), frames
        assert len([e for e in driver() if e["what"] == "launch"]) == 1
        saved, SHIFT = SHIFT, tl.constexpr(2.0)
        try:
            with pytest.raises(RuntimeError, match="Global variable SHIFT has changed"):
                launch(x, y, 4096, BLOCK=64)
        finally:
            SHIFT = saved
        assert driver() == []
