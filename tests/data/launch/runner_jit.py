"""A kernel under triton-runner's own jit (its JITFunction subclass has a run() and _do_compile of
its own): capture at the launch sees it all the same (issue 25.11)."""
import torch
import triton
import triton.language as tl
import triton_runner


@triton_runner.jit
def add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)


for n in (256, 1024):
    x, y = torch.arange(n, dtype=torch.float32), torch.ones(n)
    out = torch.empty(n)
    add[(triton.cdiv(n, 128),)](x, y, out, n, BLOCK=128)
    torch.testing.assert_close(out, x + y)
print("ok")
