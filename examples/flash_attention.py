"""Flash-attention forward: softmax(Q K^T * sm_scale) V without materialising the attention matrix."""
import os

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    os.environ.setdefault("TRITON_INTERPRET", "1")  # no GPU: Triton's interpreter runs the kernel

import triton
import triton.language as tl


@triton.jit
def attn_fwd(Q, K, V, Out, sm_scale,
             stride_qz, stride_qh, stride_qm, stride_qk,
             stride_kz, stride_kh, stride_kn, stride_kk,
             stride_vz, stride_vh, stride_vn, stride_vk,
             stride_oz, stride_oh, stride_om, stride_ok,
             H, N_CTX,
             HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
             CAUSAL: tl.constexpr):
    # Program (start_m, off_hz) owns BLOCK_M query rows of one (batch, head).
    start_m = tl.program_id(0)
    off_hz = tl.program_id(1)
    off_z = off_hz // H
    off_h = off_hz % H
    q_base = Q + off_z * stride_qz + off_h * stride_qh
    k_base = K + off_z * stride_kz + off_h * stride_kh
    v_base = V + off_z * stride_vz + off_h * stride_vh
    o_base = Out + off_z * stride_oz + off_h * stride_oh

    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(q_base + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qk)

    # Online softmax state: running row max m_i, running denominator l_i, unnormalised output acc.
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    # Work in base 2: exp2 is the native instruction, so fold log2(e) into the scale.
    qk_scale = sm_scale * 1.44269504

    # With a causal mask, keys past this block's last query row contribute nothing: stop there.
    hi = (start_m + 1) * BLOCK_M if CAUSAL else N_CTX
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + offs_n
        k = tl.load(k_base + cols[None, :] * stride_kn + offs_d[:, None] * stride_kk)  # K^T tile
        qk = tl.dot(q, k) * qk_scale
        if CAUSAL:
            qk = tl.where(offs_m[:, None] >= cols[None, :], qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1))
        p = tl.math.exp2(qk - m_new[:, None])
        # Rescale what was accumulated under the old max before adding this block.
        alpha = tl.math.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        v = tl.load(v_base + cols[:, None] * stride_vn + offs_d[None, :] * stride_vk)
        acc = tl.dot(p.to(tl.float16), v, acc)
        m_i = m_new

    acc = acc / l_i[:, None]
    tl.store(o_base + offs_m[:, None] * stride_om + offs_d[None, :] * stride_ok, acc.to(Out.dtype.element_ty))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, sm_scale: float) -> torch.Tensor:
    Z, H, N_CTX, HEAD_DIM = q.shape
    BLOCK_M, BLOCK_N = 64, 32
    # No bounds masks in the kernel: the sequence must tile exactly.
    assert N_CTX % BLOCK_M == 0 and N_CTX % BLOCK_N == 0
    o = torch.empty_like(q)
    grid = (triton.cdiv(N_CTX, BLOCK_M), Z * H)
    attn_fwd[grid](q, k, v, o, sm_scale,
                   q.stride(0), q.stride(1), q.stride(2), q.stride(3),
                   k.stride(0), k.stride(1), k.stride(2), k.stride(3),
                   v.stride(0), v.stride(1), v.stride(2), v.stride(3),
                   o.stride(0), o.stride(1), o.stride(2), o.stride(3),
                   H, N_CTX,
                   HEAD_DIM=HEAD_DIM, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, CAUSAL=causal,
                   num_warps=4, num_stages=2)
    return o


def main():
    torch.manual_seed(0)
    Z, H, N_CTX, HEAD_DIM = 2, 2, 128, 64
    q = torch.randn(Z, H, N_CTX, HEAD_DIM, device=DEVICE, dtype=torch.float16)
    k = torch.randn(Z, H, N_CTX, HEAD_DIM, device=DEVICE, dtype=torch.float16)
    v = torch.randn(Z, H, N_CTX, HEAD_DIM, device=DEVICE, dtype=torch.float16)
    sm_scale = HEAD_DIM ** -0.5
    errs = []
    for causal in (False, True):
        out = attention(q, k, v, causal, sm_scale)
        # fp32 reference, so the check measures the kernel rather than torch's fp16 path.
        ref = torch.nn.functional.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=causal,
                                                               scale=sm_scale).half()
        torch.testing.assert_close(out, ref, atol=1e-2, rtol=1e-2)
        errs.append((out.float() - ref.float()).abs().max().item())
    print(f"flash_attention: max abs err {errs[0]:.3g} non-causal, {errs[1]:.3g} causal ({DEVICE.type})")


if __name__ == "__main__":
    main()
