"""Layer-norm forward: y = (x - mean) * rstd * w + b per row, also saving mean and rstd for a backward pass."""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
import triton.language as tl


@triton.jit
def layer_norm_fwd(X, Y, W, B, Mean, Rstd, stride, N, eps, BLOCK_SIZE: tl.constexpr):
    # One program per row; BLOCK_SIZE >= N, so the whole row is loaded once.
    row = tl.program_id(0)
    X += row * stride
    Y += row * stride
    cols = tl.arange(0, BLOCK_SIZE)
    mask = cols < N
    x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=0) / N
    # Re-mask after centering: padding lanes would otherwise add mean^2 to the variance.
    xc = tl.where(mask, x - mean, 0.0)
    var = tl.sum(xc * xc, axis=0) / N
    rstd = 1 / tl.sqrt(var + eps)
    tl.store(Mean + row, mean)
    tl.store(Rstd + row, rstd)
    w = tl.load(W + cols, mask=mask)
    b = tl.load(B + cols, mask=mask)
    y = xc * rstd * w + b
    tl.store(Y + cols, y, mask=mask)


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5):
    M, N = x.shape
    y = torch.empty_like(x)
    mean = torch.empty(M, device=x.device, dtype=torch.float32)
    rstd = torch.empty(M, device=x.device, dtype=torch.float32)
    BLOCK_SIZE = triton.next_power_of_2(N)
    num_warps = min(max(BLOCK_SIZE // 256, 1), 8)
    layer_norm_fwd[(M,)](x, y, weight, bias, mean, rstd, x.stride(0), N, eps,
                         BLOCK_SIZE=BLOCK_SIZE, num_warps=num_warps)
    return y, mean, rstd


def main():
    torch.manual_seed(0)
    M, N, eps = 128, 1000, 1e-5
    x = torch.randn(M, N, device=DEVICE, dtype=torch.float32)
    weight = torch.rand(N, device=DEVICE, dtype=torch.float32)
    bias = torch.rand(N, device=DEVICE, dtype=torch.float32)
    y, mean, rstd = layer_norm(x, weight, bias, eps)
    ref = torch.nn.functional.layer_norm(x, (N,), weight, bias, eps)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mean, x.mean(dim=1))
    torch.testing.assert_close(rstd, 1 / torch.sqrt(x.var(dim=1, unbiased=False) + eps))
    print(f"layernorm: max abs err {(y - ref).abs().max().item():.3g} ({DEVICE.type})")


if __name__ == "__main__":
    main()
