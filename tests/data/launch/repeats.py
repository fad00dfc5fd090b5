"""One specialization launched three times with other sizes and other data (n stays a multiple
of 16, so the spec is the same)."""
import torch
import triton
import triton.language as tl


@triton.jit
def saxpy(x_ptr, y_ptr, out_ptr, n, a, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, a * tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)


for n, a in ((128, 2.0), (512, 3.0), (1024, -1.0)):
    x, y = torch.arange(n, dtype=torch.float32), torch.ones(n)
    out = torch.empty(n)
    saxpy[(triton.cdiv(n, 128),)](x, y, out, n, a, BLOCK=128)
    torch.testing.assert_close(out, a * x + y)
