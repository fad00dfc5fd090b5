"""Kernels whose pointer arguments are read, written, or both, in the ways real kernels use them
(tests/compiler/test_writes.py reads off their TTIR which ones are only ever stored through)."""
import torch
import triton
import triton.language as tl


@triton.jit
def gather_rows(idx_ptr, src_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # an index input read and used as an address; out written at the gathered places
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    idx = tl.load(idx_ptr + offs, mask=offs < n, other=0)
    v = tl.load(src_ptr + idx, mask=offs < n)
    tl.store(out_ptr + offs, v, mask=offs < n)


@triton.jit
def scatter_add_inplace(acc_ptr, x_ptr, pos_ptr, n, BLOCK: tl.constexpr):
    # acc read and written (in place) at the places pos gives
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    pos = tl.load(pos_ptr + offs, mask=offs < n, other=0)
    old = tl.load(acc_ptr + pos, mask=offs < n)
    tl.store(acc_ptr + pos, old + tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


@triton.jit
def loop_rows(x_ptr, y_ptr, stats_ptr, n_rows, n_cols, BLOCK: tl.constexpr):
    # pointers carried through a loop; y written through a loop-carried pointer; stats by atomics
    cols = tl.arange(0, BLOCK)
    xp = x_ptr + cols
    yp = y_ptr + cols
    for _ in range(n_rows):
        v = tl.load(xp, mask=cols < n_cols)
        tl.store(yp, v * 2, mask=cols < n_cols)
        tl.atomic_add(stats_ptr, tl.sum(v, axis=0))
        xp += n_cols
        yp += n_cols


def main():
    dev = "cpu"
    n = 64
    idx = torch.randint(0, n, (n,), device=dev)
    src, out = torch.randn(n, device=dev), torch.empty(n, device=dev)
    gather_rows[(1,)](idx, src, out, n, BLOCK=64)
    acc, pos = torch.zeros(n, device=dev), torch.randperm(n, device=dev)
    scatter_add_inplace[(1,)](acc, src, pos, n, BLOCK=64)
    x, y, stats = torch.randn(4, 32, device=dev), torch.empty(4, 32, device=dev), torch.zeros(1, device=dev)
    loop_rows[(1,)](x, y, stats, 4, 32, BLOCK=32)


if __name__ == "__main__":
    main()
