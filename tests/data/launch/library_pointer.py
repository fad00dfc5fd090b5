"""A kernel launched on a library's pointer objects, as FlagGems launches its pointwise kernels
on StridedBuffers: no torch.Tensor, only a dtype and an address inside a tensor's storage."""
import torch
import triton
import triton.language as tl


class StridedBuffer:
    def __init__(self, base, offset, dtype):
        self._base, self.dtype, self.device = base, dtype, base.device
        self._ptr = base.data_ptr() + offset * dtype.itemsize

    def data_ptr(self):
        return self._ptr

    def untyped_storage(self):
        return self._base.untyped_storage()


@triton.jit
def add_one(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 1.0, mask=mask)


x = torch.arange(1024, device="cuda", dtype=torch.float32)
y = torch.zeros(2048, device="cuda")
add_one[(4,)](StridedBuffer(x, 0, torch.float32), StridedBuffer(y, 512, torch.float32), 1024, BLOCK=256)
assert torch.equal(y[512:1536], x + 1) and not y[:512].any() and not y[1536:].any()
print("ok")
