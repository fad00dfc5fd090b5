"""Vector addition written in Gluon, with an explicit register layout.

Gluon is Triton's lower-level dialect: the kernel states how a block is spread over
threads and warps (gl.BlockedLayout) instead of leaving that to the compiler. Compare
with vector_add.py, the same operation in plain Triton.
Triton's interpreter does not run Gluon, so without a GPU the launch fails and the
script reports a skip.
"""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl


@gluon.jit
def gluon_add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: gl.constexpr, layout: gl.constexpr):
    pid = gl.program_id(0)
    offsets = pid * BLOCK_SIZE + gl.arange(0, BLOCK_SIZE, layout=layout)
    mask = offsets < n_elements
    x = gl.load(x_ptr + offsets, mask=mask)
    y = gl.load(y_ptr + offsets, mask=mask)
    gl.store(out_ptr + offsets, x + y, mask=mask)


def gluon_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n_elements = out.numel()
    BLOCK_SIZE, num_warps = 1024, 4
    # 4 contiguous fp32 per thread gives 16-byte accesses; 32 threads x 4 warps x 4
    # elements = 512, so each thread holds two such chunks of the 1024-wide block.
    # warps_per_cta must multiply out to num_warps.
    layout = gl.BlockedLayout(size_per_thread=[4], threads_per_warp=[32], warps_per_cta=[num_warps], order=[0])
    grid = (triton.cdiv(n_elements, BLOCK_SIZE),)
    gluon_add_kernel[grid](x, y, out, n_elements, BLOCK_SIZE=BLOCK_SIZE, layout=layout, num_warps=num_warps)
    return out


def main():
    torch.manual_seed(0)
    n = 98432
    x = torch.rand(n, device=DEVICE)
    y = torch.rand(n, device=DEVICE)
    try:
        out = gluon_add(x, y)
    except Exception as e:
        # gluon.jit ignores TRITON_INTERPRET and asks for a GPU driver at launch.
        if DEVICE.type != "cpu":
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"gluon_vector_add: skipped: Gluon needs a GPU ({type(e).__name__}: {msg})")
        return
    ref = x + y
    torch.testing.assert_close(out, ref)
    print(f"gluon_vector_add: max abs err {(out - ref).abs().max().item()} ({DEVICE.type})")


if __name__ == "__main__":
    main()
