"""Launches from where library code makes them: a kernel under @triton.heuristics (EVEN chosen from
the arguments), called from a torch.autograd.Function's forward and from another thread, with a
bool runtime argument and an int64 scalar past 2**32 (tests/runtime/test_capture.py)."""
import threading

import torch
import triton
import triton.language as tl

DEV = "cuda" if torch.cuda.is_available() else "cpu"


@triton.heuristics({"EVEN": lambda args: args["n"] % args["BLOCK"] == 0})
@triton.jit
def scale_cast(x_ptr, out_ptr, n, offset, flag, BLOCK: tl.constexpr, EVEN: tl.constexpr, OUT: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    if EVEN:
        x = tl.load(x_ptr + offs)
    else:
        x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    big = (offset - 4294967296).to(tl.float32)   # offset is an int64 past 2**32
    if flag:
        x = x + big
    y = x.to(OUT)
    if EVEN:
        tl.store(out_ptr + offs, y)
    else:
        tl.store(out_ptr + offs, y, mask=offs < n)


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = torch.empty_like(x)
        n = x.numel()
        scale_cast[(triton.cdiv(n, 64),)](x, out, n, 4294967296 + 3, True, BLOCK=64, OUT=tl.float32)
        return out

    @staticmethod
    def backward(ctx, g):
        return g


def main():
    torch.manual_seed(0)
    x = torch.randn(256, device=DEV)
    out16 = torch.empty(256, dtype=torch.float16, device=DEV)
    scale_cast[(4,)](x, out16, 256, 4294967296, False, BLOCK=64, OUT=tl.float16)   # EVEN
    assert torch.allclose(out16.float(), x, atol=1e-2)
    x2 = torch.randn(250, device=DEV, requires_grad=True)
    y = Double.apply(x2)   # not EVEN, flag on: x + 3
    assert torch.allclose(y, x2 + 3)
    y.sum().backward()
    errors = []

    def worker():
        try:
            o = torch.empty(100, device=DEV)
            xs = torch.arange(100, dtype=torch.float32, device=DEV)
            scale_cast[(2,)](xs, o, 100, 4294967296 + 1, True, BLOCK=64, OUT=tl.float32)
            assert torch.allclose(o, xs + 1)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert not errors, errors
    print("ok")


if __name__ == "__main__":
    main()
