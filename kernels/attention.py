"""Attention forward and backward: a flash-style Triton kernel and PyTorch SDPA counterparts.

Math (per batch b, query head h, KV head g = h // (Hq // Hkv)), with scale s (default 1/sqrt(D)):

    S = s · Q Kᵀ            (Sq × Sk; causal: S[i, j] = -inf when j > i + Sk - Sq, bottom-right aligned)
    P = softmax(S)          (row-wise; a row that sees no key gives P = 0, O = 0)
    O = P V

Forward (online softmax, never materialising S): per query block, for each key block,
``m' = max(m, rowmax(S·log2e))``, ``l' = l·2^(m-m') + rowsum(2^(S·log2e - m'))``,
``acc' = acc·2^(m-m') + 2^(S·log2e - m') V``; at the end ``O = acc / l`` and the log-sum-exp
``lse = m + log2(l)`` (base-2 units of the log2e-scaled scores, +inf for rows that see no key) is saved.

Backward, with dO the output gradient: ``delta = rowsum(dO ∘ O)`` (preprocess kernel),
``P = 2^(S·log2e - lse)``, ``dV = Pᵀ dO``, ``dP = dO Vᵀ``, ``dS = P ∘ (dP - delta)``,
``dK = s · dSᵀ Q``, ``dQ = s · dS K``. One kernel gives dK and dV per key block (for GQA it loops over
the query heads of the group and accumulates in registers, so no atomics), another gives dQ per
query block.

Causal blocks: key blocks no query of the block can see are skipped; blocks every query sees fully
run without a mask; only the blocks on the diagonal (and the Sk tail block) are masked.

bf16 under Triton's CPU interpreter: its bf16 arithmetic is wrong, so tiles are upcast to fp32 inside
the kernels (``UPCAST`` constexpr); on a GPU bf16 dots run natively with fp32 accumulation. fp32
inputs use IEEE fp32 dots (no TF32), so fp32 results meet the fp32 tolerance.

PyTorch counterparts: :func:`sdpa` (``torch.nn.functional.scaled_dot_product_attention`` pinned to one
backend) and :func:`sdpa_available` (an honest probe of whether a backend runs here).
"""

from __future__ import annotations

import functools
import math
import warnings

import torch
import triton
import triton.language as tl

from gpucompare.dtypes import torch_dtype
from gpucompare.hw import has_gpu, on_gpu, supports_bf16
from gpucompare.kernels import attention_sm90
from gpucompare.kernels._common import (
    FLOAT_DTYPES,
    autotune_bench,
    check_out,
    check_same,
    check_tensor,
    check_triton_device,
    dtype_name,
    max_shared_memory,
    pick_configs,
    tma_compatible,
    upcast_bf16,
    use_hopper_path,
)
from gpucompare.reference import causal_mask

SUPPORTED_HEAD_DIMS: tuple[int, ...] = (16, 32, 64, 128)
"""Head dimensions the Triton kernels accept (powers of two; a tile is the whole head)."""

SDPA_BACKENDS: tuple[str, ...] = ("flash", "efficient", "cudnn", "math")
"""Backend names accepted by :func:`sdpa` and :func:`sdpa_available`."""

LOG2E = 1.4426950408889634

# Interpreter tiles: big, since every program x loop iteration costs ~3-4 ms on the CPU.
_INTERP_FWD = (64, 64)  # BLOCK_M (queries), BLOCK_N (keys)
_INTERP_BWD = (64, 64)


def _empty_like(t: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Every buffer the wrappers allocate goes through here (tests swap it for a NaN-poisoning one)."""
    return torch.empty_like(t, dtype=dtype, memory_format=torch.contiguous_format)


# --------------------------------------------------------------------------------------------------
# Input checks (before any launch)
# --------------------------------------------------------------------------------------------------


def _check_qkv(
    op: str,
    q: object,
    k: object,
    v: object,
    *,
    q_rank: int = 4,
    head_dims: tuple[int, ...] | None = SUPPORTED_HEAD_DIMS,
    dtypes: tuple[torch.dtype, ...] = FLOAT_DTYPES,
    triton_launch: bool = True,
) -> tuple[int, int, int, int, int, int]:
    """Validate q (B, Hq, [Sq,] D), k and v (B, Hkv, Sk, D); return (B, Hq, Hkv, Sq, Sk, D).

    Sq is 1 when ``q_rank`` is 3 (decode). Raises ValueError naming the operation and the argument.
    """
    qn, kn = ("q", "k") if q_rank == 4 else ("q", "k_cache")
    vn = "v" if q_rank == 4 else "v_cache"
    q = check_tensor(qn, q, dims=q_rank, dtypes=dtypes, op=op)
    k = check_tensor(kn, k, dims=4, dtypes=dtypes, op=op)
    v = check_tensor(vn, v, dims=4, dtypes=dtypes, op=op)
    check_same(op, "dtype", **{qn: q, kn: k, vn: v})
    check_same(op, "device", **{qn: q, kn: k, vn: v})
    if tuple(k.shape) != tuple(v.shape):
        raise ValueError(
            f"{op}: {kn} has shape {tuple(k.shape)} but {vn} has {tuple(v.shape)}; they must match"
        )
    b, hq, d = q.shape[0], q.shape[1], q.shape[-1]
    sq = q.shape[2] if q_rank == 4 else 1
    bk, hkv, sk, dk = k.shape
    if bk != b:
        raise ValueError(f"{op}: {qn} has batch {b} but {kn} has batch {bk}")
    if dk != d:
        raise ValueError(f"{op}: {qn} has head dim {d} but {kn} has head dim {dk}")
    if hkv == 0 or hq % hkv != 0:
        raise ValueError(f"{op}: {qn} has {hq} heads, not a multiple of {kn}'s {hkv} KV heads")
    if min(b, hq, sq, sk, d) == 0:
        what = f"{qn} {tuple(q.shape)}, {kn} {tuple(k.shape)}"
        raise ValueError(f"{op}: empty input ({what}); every dimension must be >= 1")
    if head_dims is not None and d not in head_dims:
        raise ValueError(f"{op}: head dim {d} is not supported; supported: {', '.join(map(str, head_dims))}")
    if triton_launch:
        check_triton_device(op, qn, q)
        if q.dtype == torch.bfloat16 and on_gpu(q):
            ok, why = supports_bf16(q.device)
            if not ok:
                raise ValueError(f"{op}: {why}")
    return b, hq, hkv, sq, sk, d


def _scale(op: str, sm_scale: float | None, d: int) -> float:
    if sm_scale is None:
        return 1.0 / math.sqrt(d)
    try:
        s = float(sm_scale)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: sm_scale must be a number, got {sm_scale!r}") from None
    if not math.isfinite(s) or s == 0.0:
        raise ValueError(f"{op}: sm_scale must be finite and non-zero, got {sm_scale!r}")
    return s


def _dot_precision(dtype: torch.dtype) -> str:
    """IEEE fp32 dots for fp32 inputs (no silent TF32); the default for 16-bit inputs."""
    return "ieee" if dtype == torch.float32 else "tf32"


# --------------------------------------------------------------------------------------------------
# Triton kernels
# --------------------------------------------------------------------------------------------------


@triton.jit
def _causal_bounds(start_m, Sq, Sk, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """Key range of a query block: [0, full) needs no mask, [full, hi) is masked (diagonal, Sk tail)."""
    if CAUSAL:
        off = Sk - Sq
        last_row = tl.minimum(Sq, (start_m + 1) * BLOCK_M)
        hi = tl.minimum(Sk, tl.maximum(0, last_row + off))
        # every row of the block sees keys j <= start_m * BLOCK_M + off
        full = tl.minimum(tl.maximum(0, start_m * BLOCK_M + off + 1), hi)
    else:
        hi = Sk
        full = Sk
    full = (full // BLOCK_N) * BLOCK_N
    return full, hi


@triton.jit
def _fwd_inner(
    acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
    offs_m, offs_n, offs_d, lo, hi, Sk, causal_off, qk_scale,
    BLOCK_N: tl.constexpr, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
    UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
):  # fmt: skip
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + offs_n
        kt_ptrs = k_base + cols[None, :] * stride_kn + offs_d[:, None] * stride_kd  # Kᵀ tile (D, BLOCK_N)
        v_ptrs = v_base + cols[:, None] * stride_vn + offs_d[None, :] * stride_vd  # V tile (BLOCK_N, D)
        if MASKED:
            kt = tl.load(kt_ptrs, mask=cols[None, :] < Sk, other=0.0)
            v = tl.load(v_ptrs, mask=cols[:, None] < Sk, other=0.0)
        else:
            kt = tl.load(kt_ptrs)
            v = tl.load(v_ptrs)
        if UPCAST:
            kt = kt.to(tl.float32)
            v = v.to(tl.float32)
        qk = tl.dot(q, kt, input_precision=DOT_PREC) * qk_scale  # log2 units
        if MASKED:
            valid = cols[None, :] < Sk
            if CAUSAL:
                valid = valid & (cols[None, :] <= offs_m[:, None] + causal_off)
            qk = tl.where(valid, qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1))
        # a row that saw no key yet keeps m = -inf; subtract 0 there instead (no -inf - -inf)
        m_sub = tl.where(m_new == float("-inf"), 0.0, m_new) if MASKED else m_new
        p = tl.exp2(qk - m_sub[:, None])
        alpha = tl.exp2(m_i - m_sub)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=DOT_PREC)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _attn_fwd(
    Q, K, V, Out, LSE, qk_scale,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_ob, stride_oh, stride_om, stride_od,
    Hq, GROUP, Sq, Sk,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    start_m = tl.program_id(0)
    off_hz = tl.program_id(1).to(tl.int64)
    off_b = off_hz // Hq
    off_h = off_hz % Hq
    off_g = off_h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    row_ok = offs_m < Sq

    q_base = Q + off_b * stride_qb + off_h * stride_qh
    k_base = K + off_b * stride_kb + off_g * stride_kh
    v_base = V + off_b * stride_vb + off_g * stride_vh
    q = tl.load(
        q_base + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd, mask=row_ok[:, None], other=0.0
    )
    if UPCAST:
        q = q.to(tl.float32)

    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    causal_off = Sk - Sq
    full, hi = _causal_bounds(start_m, Sq, Sk, BLOCK_M, BLOCK_N, CAUSAL)
    acc, l_i, m_i = _fwd_inner(
        acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
        offs_m, offs_n, offs_d, 0, full, Sk, causal_off, qk_scale,
        BLOCK_N, False, CAUSAL, UPCAST, DOT_PREC,
    )  # fmt: skip
    acc, l_i, m_i = _fwd_inner(
        acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
        offs_m, offs_n, offs_d, full, hi, Sk, causal_off, qk_scale,
        BLOCK_N, True, CAUSAL, UPCAST, DOT_PREC,
    )  # fmt: skip

    empty = l_i == 0.0
    l_safe = tl.where(empty, 1.0, l_i)
    out = acc / l_safe[:, None]
    lse = tl.where(empty, float("inf"), m_i + tl.log2(l_safe))
    o_ptrs = (
        Out
        + off_b * stride_ob
        + off_h * stride_oh
        + offs_m[:, None] * stride_om
        + offs_d[None, :] * stride_od
    )
    tl.store(o_ptrs, out.to(Out.dtype.element_ty), mask=row_ok[:, None])
    tl.store(LSE + off_hz * Sq + offs_m, lse, mask=row_ok)


@triton.jit
def _attn_bwd_preprocess(
    Out, DO, DELTA,
    stride_ob, stride_oh, stride_om, stride_od,
    stride_db, stride_dh, stride_dm, stride_dd,
    Hq, Sq, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
):  # fmt: skip
    """delta[b, h, i] = sum_d dO[b, h, i, d] · O[b, h, i, d] (fp32)."""
    start_m = tl.program_id(0)
    off_hz = tl.program_id(1).to(tl.int64)
    off_b = off_hz // Hq
    off_h = off_hz % Hq
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    row_ok = offs_m < Sq
    o = tl.load(
        Out + off_b * stride_ob + off_h * stride_oh + offs_m[:, None] * stride_om
        + offs_d[None, :] * stride_od,
        mask=row_ok[:, None], other=0.0,
    ).to(tl.float32)  # fmt: skip
    do = tl.load(
        DO + off_b * stride_db + off_h * stride_dh + offs_m[:, None] * stride_dm
        + offs_d[None, :] * stride_dd,
        mask=row_ok[:, None], other=0.0,
    ).to(tl.float32)  # fmt: skip
    tl.store(DELTA + off_hz * Sq + offs_m, tl.sum(o * do, 1), mask=row_ok)


@triton.jit
def _bwd_dkdv_inner(
    dk, dv, k, v, q_base, do_base, lse_base, delta_base,
    stride_qm, stride_qd, stride_dm, stride_dd,
    offs_n, offs_d, lo, hi, Sq, causal_off, qk_scale,
    BLOCK_M: tl.constexpr, MASKED: tl.constexpr, UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
):  # fmt: skip
    offs_mb = tl.arange(0, BLOCK_M)
    for start_m in range(lo, hi, BLOCK_M):
        rows = start_m + offs_mb
        row_ok = rows < Sq
        qt = tl.load(
            q_base + rows[None, :] * stride_qm + offs_d[:, None] * stride_qd, mask=row_ok[None, :], other=0.0
        )
        do = tl.load(
            do_base + rows[:, None] * stride_dm + offs_d[None, :] * stride_dd, mask=row_ok[:, None], other=0.0
        )
        if UPCAST:
            qt = qt.to(tl.float32)
            do = do.to(tl.float32)
        lse = tl.load(lse_base + rows, mask=row_ok, other=float("inf"))  # +inf: P = 0 for absent rows
        delta = tl.load(delta_base + rows, mask=row_ok, other=0.0)
        qkt = tl.dot(k, qt, input_precision=DOT_PREC) * qk_scale  # Sᵀ (BLOCK_N, BLOCK_M), log2 units
        pt = tl.exp2(qkt - lse[None, :])
        if MASKED:
            pt = tl.where(offs_n[:, None] <= rows[None, :] + causal_off, pt, 0.0)
        dv += tl.dot(pt.to(do.dtype), do, input_precision=DOT_PREC)
        dpt = tl.dot(v, tl.trans(do), input_precision=DOT_PREC)
        dst = pt * (dpt - delta[None, :])
        dk += tl.dot(dst.to(qt.dtype), tl.trans(qt), input_precision=DOT_PREC)
    return dk, dv


@triton.jit
def _attn_bwd_dkdv(
    Q, K, V, DO, LSE, DELTA, DK, DV, sm_scale, qk_scale,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_db, stride_dh, stride_dm, stride_dd,
    stride_dkb, stride_dkh, stride_dkn, stride_dkd,
    Hq, Hkv, GROUP, Sq, Sk,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """dK, dV for one key block of one KV head, summed over the query heads of its group."""
    start_n = tl.program_id(0) * BLOCK_N
    off_bg = tl.program_id(1).to(tl.int64)
    off_b = off_bg // Hkv
    off_g = off_bg % Hkv
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    col_ok = offs_n < Sk
    k = tl.load(
        K + off_b * stride_kb + off_g * stride_kh + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd,
        mask=col_ok[:, None], other=0.0,
    )  # fmt: skip
    v = tl.load(
        V + off_b * stride_vb + off_g * stride_vh + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd,
        mask=col_ok[:, None], other=0.0,
    )  # fmt: skip
    if UPCAST:
        k = k.to(tl.float32)
        v = v.to(tl.float32)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)

    causal_off = Sk - Sq
    if CAUSAL:
        # rows i >= start_n - off see some key of the block; rows i >= start_n + BLOCK_N - 1 - off see all
        lo = (tl.maximum(0, start_n - causal_off) // BLOCK_M) * BLOCK_M
        mid = tl.cdiv(tl.maximum(0, start_n + BLOCK_N - 1 - causal_off), BLOCK_M) * BLOCK_M
        mid = tl.maximum(mid, lo)
    else:
        lo = 0
        mid = 0
    mid_hi = tl.minimum(mid, Sq)
    for j in range(0, GROUP):
        off_h = off_g * GROUP + j
        q_base = Q + off_b * stride_qb + off_h * stride_qh
        do_base = DO + off_b * stride_db + off_h * stride_dh
        lse_base = LSE + (off_b * Hq + off_h) * Sq
        delta_base = DELTA + (off_b * Hq + off_h) * Sq
        dk, dv = _bwd_dkdv_inner(
            dk, dv, k, v, q_base, do_base, lse_base, delta_base,
            stride_qm, stride_qd, stride_dm, stride_dd,
            offs_n, offs_d, lo, mid_hi, Sq, causal_off, qk_scale,
            BLOCK_M, True, UPCAST, DOT_PREC,
        )  # fmt: skip
        dk, dv = _bwd_dkdv_inner(
            dk, dv, k, v, q_base, do_base, lse_base, delta_base,
            stride_qm, stride_qd, stride_dm, stride_dd,
            offs_n, offs_d, mid, Sq, Sq, causal_off, qk_scale,
            BLOCK_M, False, UPCAST, DOT_PREC,
        )  # fmt: skip
    dk = dk * sm_scale
    out_off = (
        off_b * stride_dkb + off_g * stride_dkh + offs_n[:, None] * stride_dkn + offs_d[None, :] * stride_dkd
    )
    tl.store(DK + out_off, dk.to(DK.dtype.element_ty), mask=col_ok[:, None])
    tl.store(DV + out_off, dv.to(DV.dtype.element_ty), mask=col_ok[:, None])


@triton.jit
def _bwd_dq_inner(
    dq, q, do, lse, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
    offs_m, offs_n, offs_d, lo, hi, Sk, causal_off, qk_scale,
    BLOCK_N: tl.constexpr, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
    UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
):  # fmt: skip
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + offs_n
        kt_ptrs = k_base + cols[None, :] * stride_kn + offs_d[:, None] * stride_kd  # Kᵀ (D, BLOCK_N)
        vt_ptrs = v_base + cols[None, :] * stride_vn + offs_d[:, None] * stride_vd  # Vᵀ (D, BLOCK_N)
        if MASKED:
            kt = tl.load(kt_ptrs, mask=cols[None, :] < Sk, other=0.0)
            vt = tl.load(vt_ptrs, mask=cols[None, :] < Sk, other=0.0)
        else:
            kt = tl.load(kt_ptrs)
            vt = tl.load(vt_ptrs)
        if UPCAST:
            kt = kt.to(tl.float32)
            vt = vt.to(tl.float32)
        qk = tl.dot(q, kt, input_precision=DOT_PREC) * qk_scale
        p = tl.exp2(qk - lse[:, None])
        if MASKED:
            valid = cols[None, :] < Sk
            if CAUSAL:
                valid = valid & (cols[None, :] <= offs_m[:, None] + causal_off)
            p = tl.where(valid, p, 0.0)
        dp = tl.dot(do, vt, input_precision=DOT_PREC)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(kt.dtype), tl.trans(kt), input_precision=DOT_PREC)
    return dq


@triton.jit
def _attn_bwd_dq(
    Q, K, V, DO, LSE, DELTA, DQ, sm_scale, qk_scale,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_db, stride_dh, stride_dm, stride_dd,
    stride_dqb, stride_dqh, stride_dqm, stride_dqd,
    Hq, GROUP, Sq, Sk,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, UPCAST: tl.constexpr, DOT_PREC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """dQ for one query block of one query head."""
    start_m = tl.program_id(0)
    off_hz = tl.program_id(1).to(tl.int64)
    off_b = off_hz // Hq
    off_h = off_hz % Hq
    off_g = off_h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    row_ok = offs_m < Sq
    q = tl.load(
        Q + off_b * stride_qb + off_h * stride_qh + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
        mask=row_ok[:, None], other=0.0,
    )  # fmt: skip
    do = tl.load(
        DO + off_b * stride_db + off_h * stride_dh + offs_m[:, None] * stride_dm
        + offs_d[None, :] * stride_dd,
        mask=row_ok[:, None], other=0.0,
    )  # fmt: skip
    if UPCAST:
        q = q.to(tl.float32)
        do = do.to(tl.float32)
    lse = tl.load(LSE + off_hz * Sq + offs_m, mask=row_ok, other=float("inf"))
    delta = tl.load(DELTA + off_hz * Sq + offs_m, mask=row_ok, other=0.0)
    k_base = K + off_b * stride_kb + off_g * stride_kh
    v_base = V + off_b * stride_vb + off_g * stride_vh
    dq = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    causal_off = Sk - Sq
    full, hi = _causal_bounds(start_m, Sq, Sk, BLOCK_M, BLOCK_N, CAUSAL)
    dq = _bwd_dq_inner(
        dq, q, do, lse, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
        offs_m, offs_n, offs_d, 0, full, Sk, causal_off, qk_scale,
        BLOCK_N, False, CAUSAL, UPCAST, DOT_PREC,
    )  # fmt: skip
    dq = _bwd_dq_inner(
        dq, q, do, lse, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
        offs_m, offs_n, offs_d, full, hi, Sk, causal_off, qk_scale,
        BLOCK_N, True, CAUSAL, UPCAST, DOT_PREC,
    )  # fmt: skip
    dq = dq * sm_scale
    tl.store(
        DQ + off_b * stride_dqb + off_h * stride_dqh + offs_m[:, None] * stride_dqm
        + offs_d[None, :] * stride_dqd,
        dq.to(DQ.dtype.element_ty), mask=row_ok[:, None],
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Autotuned launchers (GPU: Hopper-friendly configs; interpreter: one big-tile config)
# --------------------------------------------------------------------------------------------------

# Batch is no kernel argument: each batch size gets its own autotuner (``_tuned_fwd(batch)``, ...), which share
# the compiled kernels. Heads and the GQA group are in the key, so b4-h32 and b1-h64-kv8 are tuned apart.
_TUNE_KEY = ["Hq", "GROUP", "Sq", "Sk", "HEAD_DIM", "CAUSAL", "UPCAST", "DOT_PREC"]

# fp32 inputs use IEEE dots, which run on the CUDA cores with every operand tile held in registers: the
# 16-bit tiles below spill hundreds of KB per thread for fp32 on sm_90 (and the 128x128 forward tile needs
# 256 KB of shared memory at D=128, over the H100's 227 KB), taking minutes to compile. fp32 gets its own
# small tiles (area <= _FP32_MAX_TILE); ``_prune_by_precision`` gives each precision only its own configs.
# See kernels/NOTES.md, "Compile check".
_FP32_MAX_TILE = 32 * 64


def _cfgs(tiles, warps, stages) -> list[triton.Config]:
    return [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=w, num_stages=s)
        for bm, bn in tiles
        for w in warps
        for s in stages
    ]


def _prune_by_precision(configs, named_args, **kwargs):
    """Autotune pruning: IEEE (fp32) dots keep the small-tile configs, tensor-core dots the others."""
    ieee = kwargs.get("DOT_PREC") == "ieee"
    kept = [c for c in configs if (c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] <= _FP32_MAX_TILE) == ieee]
    return kept or configs


def _fwd_smem_estimate(cfg: triton.Config, head_dim: int, elem_bytes: int) -> int:
    """Forward shared memory on sm_90: the Q tile plus num_stages buffered K and V tiles,
    (BLOCK_M + 2 x num_stages x BLOCK_N) x HEAD_DIM x element size (what the sm_90 compile reports)."""
    kw = cfg.kwargs
    return (kw["BLOCK_M"] + 2 * cfg.num_stages * kw["BLOCK_N"]) * head_dim * elem_bytes


def _prune_fwd(configs, named_args, **kwargs):
    """Forward pruning: by precision, then drop the configs over the device's shared memory
    (on an H100: 128x128 tiles with 4 stages at D=128). Keeps the smallest one if none fits."""
    kept = _prune_by_precision(configs, named_args, **kwargs)
    q, d = named_args["Q"], kwargs["HEAD_DIM"]
    limit = max_shared_memory(q.device)
    fits = [c for c in kept if _fwd_smem_estimate(c, d, q.element_size()) <= limit]
    return fits or [min(kept, key=lambda c: _fwd_smem_estimate(c, d, q.element_size()))]


def _autotune(gpu: list[triton.Config], interp_blocks: tuple[int, int], key: list[str], fn, prune):
    bm, bn = interp_blocks
    interp = triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=4, num_stages=1)
    tuner = triton.autotune(
        configs=pick_configs(gpu, interp),
        key=key,
        prune_configs_by={"early_config_prune": prune},
        do_bench=autotune_bench,
    )
    return tuner(fn)


# GPU configs: 16-bit tiles first, then the fp32 (IEEE) ones
_FWD_CONFIGS = _cfgs(((128, 64), (128, 128)), (4, 8), (2, 3, 4)) + _cfgs(((32, 64),), (4, 8), (2,))
_DKDV_CONFIGS = _cfgs(((32, 128), (64, 128), (64, 64)), (4, 8), (2, 3)) + _cfgs(((32, 32),), (4, 8), (2,))
_DQ_CONFIGS = _cfgs(((128, 32), (128, 64), (64, 64)), (4, 8), (2, 3)) + _cfgs(((32, 32),), (4, 8), (2,))


@functools.cache
def _tuned_fwd(batch: int = 1):
    return _autotune(_FWD_CONFIGS, _INTERP_FWD, _TUNE_KEY, _attn_fwd, _prune_fwd)


@functools.cache
def _tuned_dkdv(batch: int = 1):
    key = ["Hkv", *_TUNE_KEY]
    return _autotune(_DKDV_CONFIGS, _INTERP_BWD, key, _attn_bwd_dkdv, _prune_by_precision)


@functools.cache
def _tuned_dq(batch: int = 1):
    return _autotune(_DQ_CONFIGS, _INTERP_BWD, _TUNE_KEY, _attn_bwd_dq, _prune_by_precision)


def _check_blocks(blocks: tuple[int, int] | None) -> None:
    if blocks is None:
        return
    if len(blocks) != 2 or any(b < 16 or b & (b - 1) for b in blocks):
        raise ValueError(f"attention: _blocks must be two powers of two >= 16, got {blocks!r}")


def _hopper(q, k, v, blocks, *more) -> bool:
    """Take the Hopper kernels (``attention_sm90``)? Only with autotuned tiles (``blocks`` is the
    portable kernels' test hook), on a Hopper GPU (``use_hopper_path``), for tensors they accept."""
    return blocks is None and use_hopper_path(q.device) and attention_sm90.supports(q, k, v, *more)


def _forward(q, k, v, causal: bool, sm_scale: float, out=None, blocks=None):
    if _hopper(q, k, v, blocks) and (out is None or tma_compatible(out)):
        return attention_sm90.forward(q, k, v, causal, sm_scale, LOG2E, out=out)
    b, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    o = out if out is not None else _empty_like(q)
    lse = _empty_like(q[..., 0], dtype=torch.float32)  # (B, Hq, Sq) contiguous
    args = (
        q, k, v, o, lse, sm_scale * LOG2E,
        *q.stride(), *k.stride(), *v.stride(), *o.stride(),
        hq, hq // hkv, sq, sk,
    )  # fmt: skip
    meta = {
        "HEAD_DIM": d,
        "CAUSAL": bool(causal),
        "UPCAST": upcast_bf16(q.dtype),
        "DOT_PREC": _dot_precision(q.dtype),
    }
    if blocks is not None:
        grid = (triton.cdiv(sq, blocks[0]), b * hq)
        _attn_fwd[grid](*args, **meta, BLOCK_M=blocks[0], BLOCK_N=blocks[1], num_warps=4, num_stages=1)
    else:
        _tuned_fwd(b)[lambda m: (triton.cdiv(sq, m["BLOCK_M"]), b * hq)](*args, **meta)
    return o, lse


def _backward(q, k, v, o, lse, do, causal: bool, sm_scale: float, blocks=None, deterministic=False):
    b, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    group = hq // hkv
    upcast = upcast_bf16(q.dtype)
    prec = _dot_precision(q.dtype)
    delta = _empty_like(lse)
    pre_m = 64
    _attn_bwd_preprocess[(triton.cdiv(sq, pre_m), b * hq)](
        o, do, delta, *o.stride(), *do.stride(), hq, sq, HEAD_DIM=d, BLOCK_M=pre_m
    )
    if not deterministic and _hopper(q, k, v, blocks):
        return attention_sm90.backward(q, k, v, do, lse, delta, causal, sm_scale, LOG2E)
    dq, dk, dv = _empty_like(q), _empty_like(k), _empty_like(v)
    assert dk.stride() == dv.stride()
    meta = {"HEAD_DIM": d, "CAUSAL": bool(causal), "UPCAST": upcast, "DOT_PREC": prec}
    common = (*q.stride(), *k.stride(), *v.stride(), *do.stride())
    dkdv_args = (q, k, v, do, lse, delta, dk, dv, sm_scale, sm_scale * LOG2E, *common, *dk.stride(),
                 hq, hkv, group, sq, sk)  # fmt: skip
    dq_args = (q, k, v, do, lse, delta, dq, sm_scale, sm_scale * LOG2E, *common, *dq.stride(),
               hq, group, sq, sk)  # fmt: skip
    if blocks is not None:
        bm, bn = blocks
        _attn_bwd_dkdv[(triton.cdiv(sk, bn), b * hkv)](
            *dkdv_args, **meta, BLOCK_M=bm, BLOCK_N=bn, num_warps=4
        )
        _attn_bwd_dq[(triton.cdiv(sq, bm), b * hq)](*dq_args, **meta, BLOCK_M=bm, BLOCK_N=bn, num_warps=4)
    else:
        _tuned_dkdv(b)[lambda m: (triton.cdiv(sk, m["BLOCK_N"]), b * hkv)](*dkdv_args, **meta)
        _tuned_dq(b)[lambda m: (triton.cdiv(sq, m["BLOCK_M"]), b * hq)](*dq_args, **meta)
    return dq, dk, dv


class _FlashAttention(torch.autograd.Function):
    """Triton forward (saves O and the log-sum-exp) and Triton backward (preprocess, dK/dV, dQ)."""

    @staticmethod
    def forward(ctx, q, k, v, causal, sm_scale, blocks, deterministic):
        o, lse = _forward(q, k, v, causal, sm_scale, blocks=blocks)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.causal, ctx.sm_scale, ctx.blocks, ctx.deterministic = causal, sm_scale, blocks, deterministic
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        dq, dk, dv = _backward(
            q, k, v, o, lse, do, ctx.causal, ctx.sm_scale, blocks=ctx.blocks, deterministic=ctx.deterministic
        )
        return dq, dk, dv, None, None, None, None


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    sm_scale: float | None = None,
    *,
    out: torch.Tensor | None = None,
    deterministic: bool = False,
    _blocks: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Flash attention in Triton: softmax(sm_scale · Q Kᵀ [causal]) V, differentiable.

    q (B, Hq, Sq, D); k, v (B, Hkv, Sk, D); Hq a multiple of Hkv (query head h reads KV head
    h // (Hq // Hkv)); D in ``SUPPORTED_HEAD_DIMS``; fp32, fp16 or bf16; any Sq, Sk; any strides.
    Causal is bottom-right aligned: query i sees keys j <= i + Sk - Sq (a query that sees no key
    outputs zeros). sm_scale defaults to 1/sqrt(D). Returns (B, Hq, Sq, D) in q's dtype.

    ``out``: an output buffer to write (forward only: refused when an input requires grad).
    ``deterministic``: on Hopper the backward runs in one pass and sums dQ with fp32 atomics, whose order
    varies (dQ may differ in its last bits between runs); True takes the deterministic two-kernel
    backward instead. Elsewhere the backward is always deterministic.
    ``_blocks``: private, (BLOCK_M, BLOCK_N) instead of the autotuned / interpreter tiles (tests use it
    to run several blocks on tiny problems).
    """
    op = "attention"
    b, hq, _hkv, sq, _sk, d = _check_qkv(op, q, k, v)
    scale = _scale(op, sm_scale, d)
    _check_blocks(_blocks)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    if out is not None:
        if needs_grad:
            raise ValueError("attention: out= is not supported when an input requires grad")
        check_out(op, out, (b, hq, sq, d), q.dtype, q.device)
        return _forward(q, k, v, bool(causal), scale, out=out, blocks=_blocks)[0]
    if not needs_grad:
        return _forward(q, k, v, bool(causal), scale, blocks=_blocks)[0]
    return _FlashAttention.apply(q, k, v, bool(causal), scale, _blocks, bool(deterministic))


# --------------------------------------------------------------------------------------------------
# PyTorch SDPA counterpart
# --------------------------------------------------------------------------------------------------


def _sdpa_backend(name: str):
    from torch.nn.attention import SDPBackend

    table = {
        "flash": SDPBackend.FLASH_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "math": SDPBackend.MATH,
    }
    if name not in table:
        raise ValueError(f"sdpa: unknown backend {name!r}; known: {', '.join(SDPA_BACKENDS)}")
    return table[name]


def gqa_native(backend: str, dtype: torch.dtype, device: torch.device | str, head_dim: int) -> bool:
    """Does SDPA's ``backend`` take grouped-query attention itself (``enable_gqa=True``) for these inputs?
    Asked of torch with a tiny GQA call (cached), never assumed from a list: backends gained it release by
    release, and a baseline given K/V repeated reads (and, backward, sums) ``hq/hkv`` times the K/V."""
    if backend not in SDPA_BACKENDS:
        raise ValueError(f"sdpa: unknown backend {backend!r}; known: {', '.join(SDPA_BACKENDS)}")
    if not _torch_has_enable_gqa():
        return False
    return _gqa_probe(backend, dtype, str(torch.device(device)), int(head_dim))


@functools.cache
def _gqa_probe(backend: str, dtype: torch.dtype, device: str, head_dim: int) -> bool:
    from torch.nn.attention import sdpa_kernel

    gen = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (
        torch.randn(1, h, 16, head_dim, generator=gen).to(device=device, dtype=dtype) for h in (4, 2, 2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with sdpa_kernel(_sdpa_backend(backend)):
                torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        except (RuntimeError, NotImplementedError, TypeError, ValueError):
            return False
    return True


@functools.cache
def _torch_has_enable_gqa() -> bool:
    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    return (major, minor) >= (2, 5)


def sdpa(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    sm_scale: float | None = None,
    backend: str = "math",
) -> torch.Tensor:
    """``scaled_dot_product_attention`` pinned to one backend ("flash", "efficient", "cudnn", "math").

    Same shapes and conventions as :func:`attention`. GQA: ``enable_gqa=True`` for every backend that
    takes it here (:func:`gqa_native`, torch >= 2.5); the others get K/V expanded with
    ``repeat_interleave`` (that copy is part of the call). Causal: SDPA's ``is_causal`` is top-left aligned, so it is used only when Sq == Sk;
    otherwise the bottom-right mask is passed explicitly as a boolean ``attn_mask`` (math, efficient,
    cudnn), and "flash", which takes no mask, raises ValueError rather than differ from the reference.
    Raises RuntimeError (from torch) when the backend cannot run these inputs: see :func:`sdpa_available`.
    """
    from torch.nn.attention import sdpa_kernel

    op = "sdpa"
    be = _sdpa_backend(backend)
    _b, hq, hkv, sq, sk, d = _check_qkv(op, q, k, v, head_dims=None, triton_launch=False)
    scale = _scale(op, sm_scale, d)
    kwargs: dict = {"scale": scale}
    if hq != hkv:
        if gqa_native(backend, q.dtype, q.device, d):
            kwargs["enable_gqa"] = True
        else:
            k = k.repeat_interleave(hq // hkv, dim=1)
            v = v.repeat_interleave(hq // hkv, dim=1)
    if causal and sq == sk:
        kwargs["is_causal"] = True
    elif causal:
        if backend == "flash":
            raise ValueError(
                f"sdpa: backend 'flash' masks causally top-left and takes no explicit mask; causal with "
                f"Sq={sq} != Sk={sk} would differ from the bottom-right convention"
            )
        kwargs["attn_mask"] = causal_mask(sq, sk, q.device)
    with sdpa_kernel(be):
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs)
    if causal and sq > sk:
        # rows that see no key: SDPA may give NaN (0/0); the convention (and the reference) is zeros
        out = out.masked_fill(torch.arange(sq, device=q.device)[:, None] < sq - sk, 0.0)
    return out


def _as_torch_dtype(dtype: str | torch.dtype) -> torch.dtype:
    return dtype if isinstance(dtype, torch.dtype) else torch_dtype(dtype)


@functools.cache
def _probe(backend: str, dtype: torch.dtype, device: str, head_dim: int, causal: bool, gqa: bool,
           seq_q: int, seq_k: int) -> tuple[bool, str]:  # fmt: skip
    hq, hkv = (4, 2) if gqa else (2, 2)
    gen = torch.Generator(device="cpu").manual_seed(0)
    q = torch.randn(1, hq, seq_q, head_dim, generator=gen).to(device=device, dtype=dtype)
    k = torch.randn(1, hkv, seq_k, head_dim, generator=gen).to(device=device, dtype=dtype)
    v = torch.randn(1, hkv, seq_k, head_dim, generator=gen).to(device=device, dtype=dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = sdpa(q, k, v, causal=causal, backend=backend)
        except ValueError as e:
            return False, str(e)
        except (RuntimeError, NotImplementedError) as e:
            # torch explains why each fused kernel was refused in warnings; keep them with the error
            why = [str(w.message).strip() for w in caught] + [str(e).strip()]
            text = " | ".join(" ".join(x.split()) for x in why if x)
            where = f"{dtype_name(dtype)}, head dim {head_dim}, {device}"
            return (
                False,
                f"torch SDPA has no {backend!r} kernel for this case ({where}); torch says: {text or type(e).__name__}",
            )
    if not torch.isfinite(out).all():
        return False, f"sdpa backend {backend!r} returned NaN/Inf on a probe"
    return True, ""


def sdpa_available(
    backend: str,
    dtype: str | torch.dtype,
    device: torch.device | str,
    head_dim: int = 64,
    *,
    causal: bool = False,
    gqa: bool = False,
    seq_q: int = 16,
    seq_k: int = 16,
) -> tuple[bool, str]:
    """Can :func:`sdpa` run ``backend`` here? ``(True, "")`` or ``(False, reason)``.

    The answer comes from a tiny probe call inside ``sdpa_kernel(backend)`` on ``device`` with
    ``dtype`` and ``head_dim`` (cached per arguments); the reason is torch's own error text (e.g.
    flash needs fp16/bf16 on compute capability >= 8.0; on the CPU, math and sometimes a CPU flash
    kernel run). ``causal`` with ``seq_q != seq_k`` also answers for the explicit-mask path.
    """
    if backend not in SDPA_BACKENDS:
        raise ValueError(f"sdpa_available: unknown backend {backend!r}; known: {', '.join(SDPA_BACKENDS)}")
    dt = _as_torch_dtype(dtype)
    dev = torch.device(device)
    if dev.type == "cuda" and not has_gpu():
        return False, "no CUDA GPU here"
    if head_dim < 1 or seq_q < 1 or seq_k < 1:
        raise ValueError(
            f"sdpa_available: head_dim, seq_q and seq_k must be >= 1, got {head_dim}, {seq_q}, {seq_k}"
        )
    return _probe(backend, dt, str(dev), int(head_dim), bool(causal), bool(gqa), int(seq_q), int(seq_k))
