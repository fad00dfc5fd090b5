"""Two overlapping views of one buffer: b starts 256 bytes after a. One program loads all of a
before it stores b, so the result is the same on every run."""
from _common import DEVICE

import torch
import triton
import triton.language as tl


@triton.jit
def shift_kernel(a_ptr, b_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    a = tl.load(a_ptr + offs)
    tl.store(b_ptr + offs, a + 1.0)


torch.manual_seed(0)
buf = torch.rand(1024 + 64, device=DEVICE)
a, b = buf[:1024], buf[64:]
ref = a + 1.0
shift_kernel[(1,)](a, b, BLOCK=1024)
torch.testing.assert_close(b, ref)
