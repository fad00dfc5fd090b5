"""An autotuned kernel whose benchmark launches another Triton kernel over a buffer far bigger
than the call's tensors (as Triton's do_bench flushes L2 with `cache.zero_()` of 256 MiB, which
FlagGems runs as a zeros kernel of its own). Here a config pre_hook launches it, so the
interpreter shows it too."""
import torch
import triton
import triton.language as tl

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@triton.jit
def flush_kernel(buf_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(buf_ptr + offs, tl.zeros([BLOCK], tl.float32), mask=offs < n)


FLUSH = torch.ones(1 << 18, device=DEVICE)   # 1 MiB


def flush(nargs):
    flush_kernel[(triton.cdiv(FLUSH.numel(), 4096),)](FLUSH, FLUSH.numel(), BLOCK=4096)


@triton.autotune(configs=[triton.Config({"BLOCK": 2048}, pre_hook=flush),
                          triton.Config({"BLOCK": 4096}, pre_hook=flush)], key=["n"])
@triton.jit
def scale(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 3.0, mask=mask)


n = 1 << 18
x = torch.randn(n, device=DEVICE)
y = torch.empty_like(x)
scale[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](x, y, n)
torch.testing.assert_close(y, x * 3.0)
