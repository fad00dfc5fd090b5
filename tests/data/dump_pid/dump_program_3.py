"""A kernel that dumps one program of its own choosing: ``dump(x, 0, 3)`` (triton-runner's
positional offset and program id), program 3 of 4."""
import torch
import triton
import triton.language as tl

from workbench.language import dump


@triton.jit
def add_one_kernel(x_ptr, out_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    y = tl.load(x_ptr + offs) + 1.0
    dump(y, 0, 3)
    tl.store(out_ptr + offs, y)


x = torch.arange(256, dtype=torch.float32)
out = torch.empty_like(x)
add_one_kernel[(4,)](x, out, BLOCK=64)
