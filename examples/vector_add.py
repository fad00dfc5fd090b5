"""Element-wise vector addition: the smallest useful Triton kernel."""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    # n_elements need not be a multiple of BLOCK_SIZE: the last block is masked.
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y, mask=mask)


def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n_elements = out.numel()
    grid = lambda meta: (triton.cdiv(n_elements, meta["BLOCK_SIZE"]),)
    add_kernel[grid](x, y, out, n_elements, BLOCK_SIZE=1024)
    return out


def main():
    torch.manual_seed(0)
    n = 98432  # deliberately not a multiple of BLOCK_SIZE
    x = torch.rand(n, device=DEVICE)
    y = torch.rand(n, device=DEVICE)
    out = add(x, y)
    ref = x + y
    torch.testing.assert_close(out, ref)
    print(f"vector_add: max abs err {(out - ref).abs().max().item()} ({DEVICE.type})")


if __name__ == "__main__":
    main()
