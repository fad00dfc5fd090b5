"""torch.compile on a small function: Inductor generates the Triton kernels and launches them
through launchers of its own."""
import torch


def f(x, w, b):
    return torch.softmax(torch.nn.functional.gelu(x @ w + b), dim=-1)


torch.manual_seed(0)
x = torch.randn(64, 128, device="cuda")
w = torch.randn(128, 256, device="cuda")
b = torch.randn(256, device="cuda")
g = torch.compile(f)
for _ in range(2):
    out = g(x, w, b)
torch.testing.assert_close(out, f(x, w, b), atol=1e-4, rtol=1e-4)
print("ok")
