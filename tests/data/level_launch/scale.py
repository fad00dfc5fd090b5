"""A launch from a level folder (argv[1]: the keyword, argv[2]: the folder), as triton-runner's
scripts make them; ``save FOLDER`` writes the levels first."""
import sys

import torch
import triton.language as tl

import workbench


@workbench.jit
def scale_kernel(x_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * alpha, mask=mask)


x = torch.rand(4096)
out = torch.empty_like(x)
if sys.argv[1] == "save":
    scale_kernel.save_levels(sys.argv[2], x, out, 4096, 2.0, BLOCK=512)
else:
    scale_kernel[(8,)](x, out, 4096, 2.0, BLOCK=512, **{sys.argv[1]: sys.argv[2]})  # line 23
    print("max err", (out - 2 * x).abs().max().item())
