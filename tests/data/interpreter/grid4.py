"""A 4-element grid (rows, CTAs per row, 1, 1): Triton's launcher uses its first three."""
import torch
import triton
import triton.language as tl


@triton.jit
def row_halves(x_ptr, y_ptr, N: tl.constexpr, HALF: tl.constexpr):
    row, part = tl.program_id(0), tl.program_id(1)
    offs = row * N + part * HALF + tl.arange(0, HALF)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs) * 2 + part)


M, N, CTAS = 4, 32, 2
x = torch.arange(M * N, dtype=torch.float32).reshape(M, N)
y = torch.empty_like(x)
row_halves[(M, CTAS, 1, 1)](x, y, N, N // CTAS)
assert torch.equal(y, x * 2 + (torch.arange(N) >= N // 2).float()), y
