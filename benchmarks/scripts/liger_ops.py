"""A liger-kernel script as its users write one: RMSNorm, SwiGLU and cross entropy, forward and
backward, a few steps (the script bench_open.py opens)."""
import torch
from liger_kernel.transformers import LigerCrossEntropyLoss, LigerRMSNorm, LigerSwiGLUMLP
from types import SimpleNamespace

torch.manual_seed(0)
dev = "cuda"
cfg = SimpleNamespace(hidden_size=1024, intermediate_size=2816, hidden_act="silu")
norm = LigerRMSNorm(1024).to(dev)
mlp = LigerSwiGLUMLP(cfg).to(dev)
head = torch.nn.Linear(1024, 32000, device=dev)
loss_fn = LigerCrossEntropyLoss()
for step in range(5):
    x = torch.randn(8, 128, 1024, device=dev, requires_grad=True)
    y = torch.randint(0, 32000, (8 * 128,), device=dev)
    logits = head(mlp(norm(x))).view(-1, 32000)
    loss = loss_fn(logits, y)
    loss.backward()
torch.cuda.synchronize()
print("loss", float(loss))
