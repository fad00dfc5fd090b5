"""The output buffer already holds the kernel's answer before the launch, as it does when a script
runs a kernel twice into the same buffer (a warm-up, a benchmark loop) or recomputes a result in
place: the launch leaves its bytes as they were, though the kernel writes every element."""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y, mask=mask)


def main():
    torch.manual_seed(0)
    n = 4096
    x, y = torch.rand(n, device=DEVICE), torch.rand(n, device=DEVICE)
    out = x + y   # the answer, before the kernel computes it again into the same buffer
    add_kernel[(triton.cdiv(n, 1024),)](x, y, out, n, BLOCK_SIZE=1024)
    torch.testing.assert_close(out, x + y)


if __name__ == "__main__":
    main()
