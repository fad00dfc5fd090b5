"""Two GemLite layers: an A16W4 (int4 weights, fp16 activations) GEMV for one token and a GEMM
for a batch; GemLite queries the device and autotunes with its own cache."""
import torch
from gemlite import GemLiteLinear, DType

torch.manual_seed(0)
dev = "cuda"
in_f, out_f, group = 1024, 512, 128
w = torch.randint(0, 16, (out_f, in_f), device=dev, dtype=torch.uint8)
scales = torch.rand(out_f, in_f // group, device=dev, dtype=torch.float16) * 0.01
zeros = torch.full((out_f, in_f // group), 8.0, device=dev, dtype=torch.float16)
layer = GemLiteLinear(4, group_size=group, in_features=in_f, out_features=out_f,
                      input_dtype=DType.FP16, output_dtype=DType.FP16)
layer.pack(w, scales, zeros, bias=None)
ref_w = ((w.float() - 8.0) * scales.float().repeat_interleave(group, dim=1)).half()
for batch in (1, 64):
    x = torch.randn(batch, in_f, device=dev, dtype=torch.float16)
    out = layer(x)
    torch.testing.assert_close(out.float(), (x @ ref_w.T).float(), atol=0.5, rtol=0.05)
print("ok")
