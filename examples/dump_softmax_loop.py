"""Online softmax over a bf16 row in chunks: the running max lives in a loop.

Dump the running max per iteration, at the Python level:
    workbench dump examples/dump_softmax_loop.py --kernel online_softmax_kernel --level python \
        --value m --reference "torch.stack([x[0, :64*(i+1)].float().max() for i in range(4)])"
or, with no change to the kernel, at TTIR/TTGIR level by SSA name (``workbench compile`` shows
the names; the loop-carried max is an scf.for iter_arg, its new value ``%m_new...``).
"""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
import triton.language as tl

from workbench.language import dump


@triton.jit
def online_softmax_kernel(out_ptr, in_ptr, n_cols, stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    m = tl.full([], float("-inf"), tl.float32)
    s = tl.zeros([], tl.float32)
    for start in range(0, n_cols, BLOCK):
        chunk = tl.load(in_ptr + row * stride + start + cols, mask=start + cols < n_cols, other=-float("inf"))
        if start == 0:
            dump(chunk)  # a bf16 tensor
        m_new = tl.maximum(m, tl.max(chunk.to(tl.float32), 0))
        s = s * tl.exp(m - m_new) + tl.sum(tl.exp(chunk.to(tl.float32) - m_new), 0)
        m = m_new
        dump(m)  # the running max, one value per iteration
    for start in range(0, n_cols, BLOCK):
        chunk = tl.load(in_ptr + row * stride + start + cols, mask=start + cols < n_cols, other=-float("inf"))
        p = tl.exp(chunk.to(tl.float32) - m) / s
        tl.store(out_ptr + row * stride + start + cols, p.to(tl.bfloat16), mask=start + cols < n_cols)


def main():
    torch.manual_seed(0)
    x = torch.randn(8, 256, device=DEVICE, dtype=torch.bfloat16)
    out = torch.empty_like(x)
    online_softmax_kernel[(x.shape[0],)](out, x, x.shape[1], x.stride(0), BLOCK=64)
    torch.testing.assert_close(out.float(), torch.softmax(x.float(), dim=1), atol=1e-2, rtol=1e-2)
    print(f"dump_softmax_loop: ok ({DEVICE.type})")


if __name__ == "__main__":
    main()
