"""A library that runs torch's own operators as Triton kernels of its own while it is enabled
(as FlagGems' `use_gems()` does, through torch.library), each first launch under a lock that is
not reentrant (as FlagGems' LibEntry holds one). Here `clone` and `==` are overridden: a
capture that copies a launch's tensors, or compares them, must not record the library's kernels
as the script's, nor deadlock on them."""
import contextlib
import threading

import torch
import triton
import triton.language as tl


@triton.jit
def copy_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(dst_ptr + offs, tl.load(src_ptr + offs, mask=offs < n), mask=offs < n)


@triton.jit
def eq_kernel(a_ptr, b_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(a_ptr + offs, mask=mask) == tl.load(b_ptr + offs, mask=mask), mask=mask)


LOCKS = {name: threading.Lock() for name in ("clone", "eq")}


@contextlib.contextmanager
def first_run_lock(name):
    if not LOCKS[name].acquire(timeout=20):
        raise RuntimeError(f"the library's {name} lock was taken again by the thread that holds it")
    try:
        yield
    finally:
        LOCKS[name].release()


def library_clone(x, memory_format=None):
    with first_run_lock("clone"):
        out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
        n = x.numel()
        copy_kernel[(triton.cdiv(n, 1024),)](x.view(-1), out.view(-1), n, BLOCK=1024)
        return out


def library_eq(a, b):
    assert a.shape == b.shape and a.is_contiguous() and b.is_contiguous()
    with first_run_lock("eq"):
        out = torch.empty(a.shape, dtype=torch.bool, device=a.device)
        n = a.numel()
        eq_kernel[(triton.cdiv(n, 1024),)](a.view(-1), b.view(-1), out.view(-1), n, BLOCK=1024)
        return out


@contextlib.contextmanager
def use_library():
    lib = torch.library.Library("aten", "IMPL")
    key = "CUDA" if torch.cuda.is_available() else "CPU"
    lib.impl("clone", library_clone, key)
    lib.impl("eq.Tensor", library_eq, key)
    try:
        yield
    finally:
        lib._destroy()


@triton.jit
def scale(x_ptr, factor, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=mask) * factor, mask=mask)


@triton.autotune(configs=[triton.Config({"BLOCK": 512}), triton.Config({"BLOCK": 1024})], key=["n"],
                 restore_value=["x_ptr"])
@triton.jit
def shift(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 1.0, mask=mask)


dev = "cuda" if torch.cuda.is_available() else "cpu"
x = torch.arange(3000, dtype=torch.float32, device=dev)
with use_library():
    y = x.clone()                  # the library's kernel, launched by the script
    scale[(3,)](y, 2.0, 3000, BLOCK=1024)
    shift[lambda meta: (triton.cdiv(3000, meta["BLOCK"]),)](y, 3000)
assert torch.equal(y, x * 2 + 1)
print("ok")
