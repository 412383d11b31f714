"""Decode attention (one query token per sequence over a KV cache): flash-decoding in Triton, and PyTorch.

Math, per batch b and query head h reading KV head g = h // (Hq // Hkv), scale s (default 1/sqrt(D)):

    o[b, h] = softmax(s · K[b, g] q[b, h]) ᵀ V[b, g]        K, V: (L, D), q: (D,)

Flash-decoding: the cache length L is cut into ``num_splits`` chunks so that even one sequence fills
the GPU. A partial kernel, one program per (split, b, KV head), handles all the query heads of the
KV head's group at once (so each K/V block is read once per group, not once per query head) and
writes, per split and query head, the running max m (log2 units of the log2e-scaled scores), the sum
l = Σ 2^(x - m) and the unnormalised accumulator acc = Σ 2^(x - m) v. A reduce kernel combines the
splits: M = max m_s, o = Σ 2^(m_s - M) acc_s / Σ 2^(m_s - M) l_s.

The number of splits comes from L and, on a GPU, the SM count (about two programs per SM, at most
``MAX_SPLITS``); under the CPU interpreter a few splits (so the reduction is exercised) with big tiles.

PyTorch counterpart, :func:`torch_decode_attention`: SDPA (torch's default backend choice) with the
query heads of each KV group laid out as the query *sequence* of that KV head, (B, Hkv, group, D):
non-causal attention treats query rows independently, so this is exact, reads each KV head once per
group and needs no GQA support from the backend.
"""

from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

from gpucompare.hw import compile_target, has_gpu, on_gpu
from gpucompare.kernels._common import check_out, upcast_bf16
from gpucompare.kernels.attention import LOG2E, _check_qkv, _dot_precision, _scale

MAX_SPLITS = 256
"""Upper bound on KV splits (enough for two programs per SM on a B200 with a single KV head)."""

_GPU_BLOCK_N = 64
_INTERP_BLOCK_N = 64
_INTERP_MAX_SPLITS = 4
_REDUCE_BLOCK_S = 32  # splits combined per reduce step


@triton.jit
def _decode_partial(
    Q, K, V, M_OUT, L_OUT, ACC_OUT, qk_scale,
    stride_qb, stride_qh, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    Hq, Hkv, GROUP, L, SPLIT_LEN, NUM_SPLITS,
    HEAD_DIM: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr,
    UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
):  # fmt: skip
    """Partial softmax state of one KV split for every query head of one (batch, KV head)."""
    split = tl.program_id(0)
    off_bg = tl.program_id(1).to(tl.int64)
    off_b = off_bg // Hkv
    off_g = off_bg % Hkv
    offs_h = tl.arange(0, BLOCK_H)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    head_ok = offs_h < GROUP
    heads = off_g * GROUP + offs_h
    q = tl.load(
        Q + off_b * stride_qb + heads[:, None] * stride_qh + offs_d[None, :] * stride_qd,
        mask=head_ok[:, None], other=0.0,
    )  # fmt: skip
    if UPCAST:
        q = q.to(tl.float32)
    k_base = K + off_b * stride_kb + off_g * stride_kh
    v_base = V + off_b * stride_vb + off_g * stride_vh

    m_i = tl.full([BLOCK_H], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_H], dtype=tl.float32)
    acc = tl.zeros([BLOCK_H, HEAD_DIM], dtype=tl.float32)
    start = split * SPLIT_LEN
    end = tl.minimum(start + SPLIT_LEN, L)
    for start_n in range(start, end, BLOCK_N):
        cols = start_n + offs_n
        col_ok = cols < end
        kt = tl.load(
            k_base + cols[None, :] * stride_kn + offs_d[:, None] * stride_kd, mask=col_ok[None, :], other=0.0
        )
        v = tl.load(
            v_base + cols[:, None] * stride_vn + offs_d[None, :] * stride_vd, mask=col_ok[:, None], other=0.0
        )
        if UPCAST:
            kt = kt.to(tl.float32)
            v = v.to(tl.float32)
        qk = tl.dot(q, kt, input_precision=DOT_PREC) * qk_scale
        qk = tl.where(col_ok[None, :], qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1))  # finite: every block has a valid column
        p = tl.exp2(qk - m_new[:, None])
        alpha = tl.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=DOT_PREC)
        m_i = m_new

    row = (off_b * Hq + heads) * NUM_SPLITS + split  # (B, Hq, NUM_SPLITS) buffers
    tl.store(M_OUT + row, m_i, mask=head_ok)
    tl.store(L_OUT + row, l_i, mask=head_ok)
    tl.store(ACC_OUT + row[:, None] * HEAD_DIM + offs_d[None, :], acc, mask=head_ok[:, None])


@triton.jit
def _decode_reduce(
    M_IN, L_IN, ACC_IN, Out,
    stride_ob, stride_oh, stride_od,
    Hq, NUM_SPLITS,
    HEAD_DIM: tl.constexpr, BLOCK_S: tl.constexpr,
):  # fmt: skip
    """o = Σ_s 2^(m_s - M) acc_s / Σ_s 2^(m_s - M) l_s for one (batch, query head), BLOCK_S splits a step."""
    off_bh = tl.program_id(0).to(tl.int64)
    off_b = off_bh // Hq
    off_h = off_bh % Hq
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, HEAD_DIM)
    base = off_bh * NUM_SPLITS
    m_max = tl.full([BLOCK_S], float("-inf"), dtype=tl.float32)
    for s0 in range(0, NUM_SPLITS, BLOCK_S):
        m = tl.load(M_IN + base + s0 + offs_s, mask=s0 + offs_s < NUM_SPLITS, other=float("-inf"))
        m_max = tl.maximum(m_max, m)
    m_top = tl.max(m_max, 0)  # finite: split 0 always holds keys
    denom = tl.zeros([BLOCK_S], dtype=tl.float32)
    acc = tl.zeros([BLOCK_S, HEAD_DIM], dtype=tl.float32)
    for s0 in range(0, NUM_SPLITS, BLOCK_S):
        s_ok = s0 + offs_s < NUM_SPLITS
        m = tl.load(M_IN + base + s0 + offs_s, mask=s_ok, other=float("-inf"))
        l_s = tl.load(L_IN + base + s0 + offs_s, mask=s_ok, other=0.0)
        a = tl.load(
            ACC_IN + (base + s0 + offs_s)[:, None] * HEAD_DIM + offs_d[None, :], mask=s_ok[:, None], other=0.0
        )
        w = tl.where(m == float("-inf"), 0.0, tl.exp2(m - m_top))
        denom += w * l_s
        acc += w[:, None] * a
    out = tl.sum(acc, 0) / tl.sum(denom, 0)
    tl.store(Out + off_b * stride_ob + off_h * stride_oh + offs_d * stride_od, out.to(Out.dtype.element_ty))


@functools.cache
def _sm_count(device_index: int) -> int:
    return torch.cuda.get_device_properties(device_index).multi_processor_count


def choose_splits(length: int, programs: int, sm_count: int | None, block_n: int) -> tuple[int, int]:
    """(num_splits, split_len) for a cache of ``length`` keys and ``programs`` = B·Hkv programs per split.

    GPU (``sm_count`` given): enough splits for about two programs per SM, at least one key block per
    split, at most ``MAX_SPLITS``. Interpreter (``sm_count`` None): up to ``_INTERP_MAX_SPLITS``.
    ``split_len`` is a multiple of ``block_n``; no split is empty.
    """
    if length < 1 or programs < 1 or block_n < 1:
        raise ValueError(
            f"choose_splits: length, programs and block_n must be >= 1, got {length}, {programs}, {block_n}"
        )
    blocks = triton.cdiv(length, block_n)
    want = _INTERP_MAX_SPLITS if sm_count is None else triton.cdiv(2 * sm_count, programs)
    splits = max(1, min(want, blocks, MAX_SPLITS))
    split_len = triton.cdiv(blocks, splits) * block_n
    return triton.cdiv(length, split_len), split_len


def decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    sm_scale: float | None = None,
    *,
    out: torch.Tensor | None = None,
    num_splits: int | None = None,
) -> torch.Tensor:
    """Flash-decoding in Triton: q (B, Hq, D), caches (B, Hkv, L, D) -> (B, Hq, D) in q's dtype.

    Hq a multiple of Hkv (query head h reads KV head h // (Hq // Hkv)); D in
    ``attention.SUPPORTED_HEAD_DIMS``; fp32, fp16 or bf16; any L >= 1; any strides.
    ``out``: an output buffer to write. ``num_splits``: force the number of KV splits (1 ..
    ``MAX_SPLITS``); by default chosen from L and the SM count (see :func:`choose_splits`).
    """
    op = "decode_attention"
    b, hq, hkv, _one, length, d = _check_qkv(op, q, k_cache, v_cache, q_rank=3)
    scale = _scale(op, sm_scale, d)
    if out is not None:
        check_out(op, out, (b, hq, d), q.dtype, q.device)
    group = hq // hkv
    block_n = _GPU_BLOCK_N if on_gpu(q) else _INTERP_BLOCK_N
    if num_splits is not None:
        if not isinstance(num_splits, int) or not 1 <= num_splits <= MAX_SPLITS:
            raise ValueError(f"{op}: num_splits must be an int in 1..{MAX_SPLITS}, got {num_splits!r}")
        split_len = triton.cdiv(triton.cdiv(length, num_splits), block_n) * block_n
        splits = triton.cdiv(length, split_len)  # never an empty split
    else:
        sms = _sm_count(q.device.index or 0) if q.device.type == "cuda" and has_gpu() else None
        if q.device.type == "meta" and compile_target() is not None:  # the cache builder's target GPU
            sms = compile_target().sm_count
        splits, split_len = choose_splits(length, b * hkv, sms, block_n)

    f32 = torch.float32
    m_part = torch.empty((b, hq, splits), dtype=f32, device=q.device)
    l_part = torch.empty((b, hq, splits), dtype=f32, device=q.device)
    acc_part = torch.empty((b, hq, splits, d), dtype=f32, device=q.device)
    o = out if out is not None else torch.empty((b, hq, d), dtype=q.dtype, device=q.device)
    block_h = max(16, triton.next_power_of_2(group))  # tl.dot needs >= 16 rows
    gpu = on_gpu(q)
    _decode_partial[(splits, b * hkv)](
        q, k_cache, v_cache, m_part, l_part, acc_part, scale * LOG2E,
        *q.stride(), *k_cache.stride(), *v_cache.stride(),
        hq, hkv, group, length, split_len, splits,
        HEAD_DIM=d, BLOCK_H=block_h, BLOCK_N=block_n,
        UPCAST=upcast_bf16(q.dtype), DOT_PREC=_dot_precision(q.dtype),
        num_warps=4, num_stages=3 if gpu else 1,
    )  # fmt: skip
    _decode_reduce[(b * hq,)](
        m_part, l_part, acc_part, o, *o.stride(), hq, splits,
        HEAD_DIM=d, BLOCK_S=min(_REDUCE_BLOCK_S, max(2, triton.next_power_of_2(splits))), num_warps=4,
    )  # fmt: skip
    return o


def torch_decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    sm_scale: float | None = None,
) -> torch.Tensor:
    """PyTorch decode attention: SDPA (default backend choice) over (B, Hkv, group, D) queries.

    The query heads of each KV group become the query sequence of that KV head; non-causal attention
    treats rows independently, so this equals per-head decode attention exactly. Shapes as in
    :func:`decode_attention`; any head dim and device torch supports.
    """
    op = "torch_decode_attention"
    b, hq, hkv, _one, _length, d = _check_qkv(
        op, q, k_cache, v_cache, q_rank=3, head_dims=None, triton_launch=False
    )
    scale = _scale(op, sm_scale, d)
    qg = q.reshape(b, hkv, hq // hkv, d)
    out = torch.nn.functional.scaled_dot_product_attention(qg, k_cache, v_cache, scale=scale)
    return out.reshape(b, hq, d)
