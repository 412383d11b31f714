"""Attention for Hopper (sm_90): TMA descriptors, warp-specialised forward, one-pass backward.

Same math and conventions as :mod:`gpucompare.kernels.attention` (bottom-right causal mask, GQA by
``h // group``, log-sum-exp in base-2 units, rows that see no key give zeros); its ``_forward`` and
``_backward`` call :func:`forward` / :func:`backward` here when ``_common.use_hopper_path`` says so and
the tensors can back TMA descriptors (:func:`supports`).

Layout (:func:`supports`): D contiguous and (B, H, S) flattening to the rows of a 2-D view, rows
16-byte aligned; any contiguous (B, H, S, D) tensor. The forward reads Q, K, V through 2-D descriptors
over those (B·H·S, D) views (Triton 3.6's Hopper warp specialisation fails on the reshape a rank-4 block
needs); rows past the end of a head belong to the next head and are masked (keys) or never stored
(queries: O leaves by masked pointer stores). The backward, not warp-specialised, uses rank-4
descriptors with (1, 1, rows, D) blocks: the TMA unit zero-fills rows past S and clips its stores.

Forward (``_attn_fwd_sm90``): one program per (query block, batch x head). Q is loaded once by TMA; the
key loop streams K and V tiles by TMA into a pipelined ring and runs S = Q Kᵀ and O += P V on wgmma. With
``WARP_SPECIALIZE`` (num_warps = 4), Triton 3.6's Hopper warp specialisation splits the loop into a
producer warp group (TMA) and consumer warp groups (wgmma + softmax) with their own register budgets
(``setmaxnreg``), so the softmax of one tile overlaps the MMAs of the next. Causal: key blocks no query
of the block sees are skipped, blocks every query sees run without a mask, only the diagonal band is
masked (the split of :func:`attention._causal_bounds`).

Backward (``_attn_bwd_sm90``): one pass. One program per (key block, batch x KV head) keeps K, V and
the dK, dV accumulators on chip and walks the query blocks of every query head of its GQA group:
S = Q Kᵀ is recomputed, then dV += Pᵀ dO, dP = dO Vᵀ, dK += dSᵀ Q and dQ = dS K: five matmuls per
(query block, key block) where the portable backward's separate dK/dV and dQ kernels do seven (S and dP
are computed twice there). dQ is summed across key blocks in an fp32 buffer by TMA reduce-add
(``cp.reduce.async.bulk.tensor``; pointer atomics under the interpreter), then scaled and cast.

Determinism: fp32 additions from different key-block programs land in dQ in whichever order the programs
run, so dQ can differ in its last bits from run to run (dK and dV are deterministic: each is summed by
one program in a fixed order). ``attention(..., deterministic=True)`` takes the portable two-kernel
backward instead (deterministic, about 7/5 of the matmul work).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._common import (
    autotune_bench,
    interpreting,
    max_shared_memory,
    pick_configs,
    tma_compatible,
    triton_has_tma_api,
    upcast_bf16,
)

SPILL_BOUND_BYTES = 0
"""No config of these kernels may spill on sm_90 (ptxas spill stores); see kernels/NOTES.md."""

HOPPER_HEAD_DIMS: tuple[int, ...] = (64, 128)
"""Head dims the Hopper kernels take (tuned and compiled for); others use the portable kernels."""

_INTERP_BLOCKS = (64, 64)


@triton.jit
def _load_tile(desc, off_b, off_h, row, ROWS: tl.constexpr, HEAD_DIM: tl.constexpr, UPCAST: tl.constexpr):
    """(ROWS, HEAD_DIM) tile of a (B, H, S, D) tensor by TMA; rows past S read as zeros."""
    t = desc.load([off_b, off_h, row, 0]).reshape(ROWS, HEAD_DIM)
    if UPCAST:
        t = t.to(tl.float32)
    return t


@triton.jit
def _fwd_loop(
    acc, l_i, m_i, q, k_desc, v_desc, kv_row, offs_m, lo, hi, Sk, causal_off, qk_scale,
    BLOCK_N: tl.constexpr, MASKED: tl.constexpr, CAUSAL: tl.constexpr, UPCAST: tl.constexpr,
    WARP_SPECIALIZE: tl.constexpr,
):  # fmt: skip
    """Key blocks [lo, hi) of one (batch, KV head); K and V rows start at ``kv_row`` of the 2-D views.
    Unmasked blocks lie inside the head; the masked ones give -inf to keys >= Sk (rows of the next head,
    or TMA's zero fill at the end of the tensor) and, causally, to keys after the diagonal."""
    offs_n = tl.arange(0, BLOCK_N)
    for start_n in tl.range(lo, hi, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        k = k_desc.load([kv_row + start_n, 0])
        v = v_desc.load([kv_row + start_n, 0])
        if UPCAST:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        qk = tl.dot(q, k.T) * qk_scale  # log2 units
        if MASKED:
            cols = start_n + offs_n
            valid = cols[None, :] < Sk
            if CAUSAL:
                valid = valid & (cols[None, :] <= offs_m[:, None] + causal_off)
            qk = tl.where(valid, qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1))
        m_sub = tl.where(m_new == float("-inf"), 0.0, m_new) if MASKED else m_new
        p = tl.exp2(qk - m_sub[:, None])
        alpha = tl.exp2(m_i - m_sub)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _fwd_bounds(start_m, Sq, Sk, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
    """Key range of a query block: [0, full) without a mask, [full, hi) masked (diagonal band, Sk tail)."""
    if CAUSAL:
        off = Sk - Sq
        last_row = tl.minimum(Sq, (start_m + 1) * BLOCK_M)
        hi = tl.minimum(Sk, tl.maximum(0, last_row + off))
        full = tl.minimum(tl.maximum(0, start_m * BLOCK_M + off + 1), hi)
    else:
        hi = Sk
        full = Sk
    full = (full // BLOCK_N) * BLOCK_N
    return full, hi


@triton.jit
def _attn_fwd_sm90(
    q_desc, k_desc, v_desc, Out, LSE, qk_scale, Z, Hq, GROUP, Sq, Sk,
    stride_ob, stride_oh, stride_om,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, UPCAST: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr,
):  # fmt: skip
    """One query block of one (batch, head). Q, K, V come through 2-D descriptors over their
    (B·H·S, D) views (Triton 3.6's Hopper warp specialisation rejects the reshape a rank-4 block
    needs); O and the LSE leave by masked pointer stores, so no row of another head is written."""
    start_m = tl.program_id(0)
    off_hz = tl.program_id(1)
    off_b = off_hz // Hq
    off_h = off_hz % Hq
    off_g = off_h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    q = q_desc.load([off_hz * Sq + start_m * BLOCK_M, 0])  # rows past Sq: masked out at the store
    if UPCAST:
        q = q.to(tl.float32)
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    causal_off = Sk - Sq
    kv_row = (off_b * (Hq // GROUP) + off_g) * Sk
    full, hi = _fwd_bounds(start_m, Sq, Sk, BLOCK_M, BLOCK_N, CAUSAL)
    if WARP_SPECIALIZE:
        # Triton 3.6's Hopper warp specialisation takes one loop per kernel: every block masked
        acc, l_i, m_i = _fwd_loop(
            acc, l_i, m_i, q, k_desc, v_desc, kv_row, offs_m, 0, hi, Sk, causal_off, qk_scale,
            BLOCK_N, True, CAUSAL, UPCAST, True,
        )  # fmt: skip
    else:
        acc, l_i, m_i = _fwd_loop(
            acc, l_i, m_i, q, k_desc, v_desc, kv_row, offs_m, 0, full, Sk, causal_off, qk_scale,
            BLOCK_N, False, CAUSAL, UPCAST, False,
        )  # fmt: skip
        acc, l_i, m_i = _fwd_loop(
            acc, l_i, m_i, q, k_desc, v_desc, kv_row, offs_m, full, hi, Sk, causal_off, qk_scale,
            BLOCK_N, True, CAUSAL, UPCAST, False,
        )  # fmt: skip
    empty = l_i == 0.0
    l_safe = tl.where(empty, 1.0, l_i)
    out = acc / l_safe[:, None]
    lse = tl.where(empty, float("inf"), m_i + tl.log2(l_safe))
    row_ok = offs_m < Sq
    offs_d = tl.arange(0, HEAD_DIM)
    o_ptrs = (
        Out
        + off_b.to(tl.int64) * stride_ob
        + off_h * stride_oh
        + offs_m[:, None] * stride_om
        + offs_d[None, :]
    )
    tl.store(o_ptrs, out.to(Out.dtype.element_ty), mask=row_ok[:, None])
    tl.store(LSE + off_hz.to(tl.int64) * Sq + offs_m, lse, mask=row_ok)


@triton.jit
def _bwd_loop(
    dk, dv, k, v, q_desc, do_desc, dq_desc, DQ, LSE, DELTA, off_b, off_h, lo, hi, start_n,
    Hq, Sq, Sk, causal_off, qk_scale, sm_scale,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr, MASKED: tl.constexpr,
    UPCAST: tl.constexpr, TMA_REDUCE: tl.constexpr,
):  # fmt: skip
    """Query blocks [lo, hi) of one query head against one key block: dK, dV accumulate, dQ is added."""
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    row_base = (off_b * Hq + off_h).to(tl.int64) * Sq
    for start_m in tl.range(lo, hi, BLOCK_M):
        rows = start_m + tl.arange(0, BLOCK_M)
        row_ok = rows < Sq
        q = _load_tile(q_desc, off_b, off_h, start_m, BLOCK_M, HEAD_DIM, UPCAST)
        do = _load_tile(do_desc, off_b, off_h, start_m, BLOCK_M, HEAD_DIM, UPCAST)
        lse = tl.load(LSE + row_base + rows, mask=row_ok, other=float("inf"))  # absent rows: P = 0
        delta = tl.load(DELTA + row_base + rows, mask=row_ok, other=0.0)
        pt = tl.exp2(tl.dot(k, q.T) * qk_scale - lse[None, :])  # Pᵀ (BLOCK_N, BLOCK_M)
        if MASKED:
            pt = tl.where(offs_n[:, None] <= rows[None, :] + causal_off, pt, 0.0)
        dv += tl.dot(pt.to(do.dtype), do)
        dst = pt * (tl.dot(v, do.T) - delta[None, :])  # dSᵀ
        ds16 = dst.to(q.dtype)
        dk += tl.dot(ds16, q)
        dq = tl.dot(ds16.T, k) * sm_scale  # (BLOCK_M, HEAD_DIM), this key block's share of dQ
        if TMA_REDUCE:
            dq_desc.atomic_add([off_b, off_h, start_m, 0], dq.reshape(1, 1, BLOCK_M, HEAD_DIM))
        else:
            ptrs = DQ + (row_base + rows)[:, None] * HEAD_DIM + offs_d[None, :]
            tl.atomic_add(ptrs, dq, mask=row_ok[:, None], sem="relaxed")
    return dk, dv


@triton.jit
def _attn_bwd_sm90(
    q_desc, k_desc, v_desc, do_desc, dk_desc, dv_desc, dq_desc, DQ, LSE, DELTA, sm_scale, qk_scale,
    Z, Hq, Hkv, GROUP, Sq, Sk,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, UPCAST: tl.constexpr, TMA_REDUCE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, IN_DTYPE: tl.constexpr,
):  # fmt: skip
    """dK, dV of one key block of one KV head (summed over its GQA group), dQ shares added to DQ (fp32).
    ``IN_DTYPE`` (the inputs' dtype name) is only in the autotune key: every tensor argument the autotuner
    sees is a descriptor or fp32, so without it bf16 reused the fp16 winner (and compiled it on the GPU)."""
    start_n = tl.program_id(0) * BLOCK_N
    off_bg = tl.program_id(1)
    off_b = off_bg // Hkv
    off_g = off_bg % Hkv
    k = _load_tile(k_desc, off_b, off_g, start_n, BLOCK_N, HEAD_DIM, UPCAST)
    v = _load_tile(v_desc, off_b, off_g, start_n, BLOCK_N, HEAD_DIM, UPCAST)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    causal_off = Sk - Sq
    # causal: the query blocks from the first that sees a key of this block, every one masked (one loop:
    # a second, unmasked loop for the blocks below the diagonal costs registers, and sm_90 spills)
    lo = (tl.maximum(0, start_n - causal_off) // BLOCK_M) * BLOCK_M if CAUSAL else 0
    for j in range(0, GROUP):
        off_h = off_g * GROUP + j
        dk, dv = _bwd_loop(
            dk, dv, k, v, q_desc, do_desc, dq_desc, DQ, LSE, DELTA, off_b, off_h, lo, Sq, start_n,
            Hq, Sq, Sk, causal_off, qk_scale, sm_scale, BLOCK_M, BLOCK_N, HEAD_DIM, CAUSAL, UPCAST, TMA_REDUCE,
        )  # fmt: skip
    out_dk = (dk * sm_scale).to(dk_desc.dtype).reshape(1, 1, BLOCK_N, HEAD_DIM)
    dk_desc.store([off_b, off_g, start_n, 0], out_dk)
    dv_desc.store([off_b, off_g, start_n, 0], dv.to(dv_desc.dtype).reshape(1, 1, BLOCK_N, HEAD_DIM))


# --------------------------------------------------------------------------------------------------
# configs (pruned against shared memory per call and against spills offline: kernels/NOTES.md)
# --------------------------------------------------------------------------------------------------


def _fwd_cfg(bm, bn, warps, stages, ws) -> triton.Config:
    return triton.Config(
        {"BLOCK_M": bm, "BLOCK_N": bn, "WARP_SPECIALIZE": ws},
        num_warps=warps,
        num_stages=stages,
        pre_hook=_set_fwd_blocks,
    )


def _set_fwd_blocks(nargs) -> None:
    bm, bn = nargs["BLOCK_M"], nargs["BLOCK_N"]
    d = nargs["HEAD_DIM"]
    nargs["q_desc"].block_shape = [bm, d]
    nargs["k_desc"].block_shape = [bn, d]
    nargs["v_desc"].block_shape = [bn, d]


def _bwd_cfg(bm, bn, warps, stages) -> triton.Config:
    return triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=warps, num_stages=stages,
                         pre_hook=_set_bwd_blocks)  # fmt: skip


def _set_bwd_blocks(nargs) -> None:
    bm, bn = nargs["BLOCK_M"], nargs["BLOCK_N"]
    d = nargs["HEAD_DIM"]
    for name in ("q_desc", "do_desc", "dq_desc"):
        nargs[name].block_shape = [1, 1, bm, d]
    for name in ("k_desc", "v_desc", "dk_desc", "dv_desc"):
        nargs[name].block_shape = [1, 1, bn, d]


_FWD_CONFIGS = [
    _fwd_cfg(128, 128, 8, 2, False),
    _fwd_cfg(128, 64, 8, 3, False),
    _fwd_cfg(128, 128, 4, 2, True),
    _fwd_cfg(128, 64, 4, 3, True),
]
_BWD_CONFIGS = [
    _bwd_cfg(64, 128, 8, 2),  # D = 64 only: spills 184-224 B at D = 128 (see _prune_bwd)
    _bwd_cfg(64, 64, 8, 2),
    _bwd_cfg(32, 128, 8, 2),
    _bwd_cfg(32, 64, 4, 2),
]
_BWD_MAX_TILE_D128 = 64 * 64
"""At D = 128 the one-pass backward holds K, V, dK, dV and four (BLOCK_N x BLOCK_M) tiles: only tiles of
at most 64 x 64 (or 32 x 128) stay under 255 registers without spilling on sm_90 (kernels/NOTES.md)."""


def _prune_bwd(configs, named_args, **kwargs):
    """Drop, at D = 128, the tiles that spill (``SPILL_BOUND_BYTES``): BLOCK_M x BLOCK_N > 64 x 64."""
    if kwargs.get("HEAD_DIM", 0) <= 64:
        return list(configs)
    kept = [c for c in configs if c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] <= _BWD_MAX_TILE_D128]
    return kept or list(configs)


def fwd_smem_estimate(cfg: triton.Config, head_dim: int, elem_bytes: int) -> int:
    """Q tile + stages x (K + V tiles), in bytes."""
    kw = cfg.kwargs
    return (kw["BLOCK_M"] + 2 * cfg.num_stages * kw["BLOCK_N"]) * head_dim * elem_bytes


def _prune_fwd(configs, named_args, **kwargs):
    q = named_args["q_desc"].base
    d = kwargs["HEAD_DIM"]
    limit = max_shared_memory(q.device)
    fits = [c for c in configs if fwd_smem_estimate(c, d, q.element_size()) <= limit]
    return fits or [min(configs, key=lambda c: fwd_smem_estimate(c, d, q.element_size()))]


_TUNE_KEY = ["Z", "Hq", "GROUP", "Sq", "Sk", "HEAD_DIM", "CAUSAL", "UPCAST"]

_fwd = triton.autotune(
    configs=pick_configs(_FWD_CONFIGS, _fwd_cfg(*_INTERP_BLOCKS, 4, 1, False)),
    key=_TUNE_KEY,
    prune_configs_by={"early_config_prune": _prune_fwd},
    do_bench=autotune_bench,
)(_attn_fwd_sm90)

_bwd = triton.autotune(
    configs=pick_configs(_BWD_CONFIGS, _bwd_cfg(*_INTERP_BLOCKS, 4, 1)),
    key=[*_TUNE_KEY, "Hkv", "IN_DTYPE"],
    prune_configs_by={"early_config_prune": _prune_bwd},
    do_bench=autotune_bench,
    reset_to_zero=["DQ"],  # dQ accumulates: every config the autotuner times starts from zero
)(_attn_bwd_sm90)


# --------------------------------------------------------------------------------------------------
# host side
# --------------------------------------------------------------------------------------------------


def _rows(t: torch.Tensor) -> torch.Tensor | None:
    """The (B·H·S, D) view of a (B, H, S, D) tensor, or None when (B, H, S) do not flatten to one
    strided dimension (e.g. a (B, S, H, D) tensor transposed to (B, H, S, D))."""
    b, h, s, d = t.shape
    if (h > 1 and t.stride(1) != s * t.stride(2)) or (b > 1 and t.stride(0) != h * s * t.stride(2)):
        return None
    return t.as_strided((b * h * s, d), (t.stride(2), t.stride(3)))


def supports(*tensors: torch.Tensor) -> bool:
    """Can the Hopper kernels take these (B, H, S, D) tensors? The one layout they accept: fp16 or
    bf16, D in ``HOPPER_HEAD_DIMS`` and contiguous, (B, H, S) flattening to rows of a 2-D view (any
    contiguous (B, H, S, D) tensor), rows 16-byte aligned for TMA, fewer than 2**31 elements."""
    if not triton_has_tma_api():
        return False
    for t in tensors:
        if t.dtype not in (torch.float16, torch.bfloat16) or t.shape[-1] not in HOPPER_HEAD_DIMS:
            return False
        if not tma_compatible(t) or t.numel() >= 2**31 or _rows(t) is None:
            return False
    return True


def _desc(t: torch.Tensor):
    from triton.tools.tensor_descriptor import TensorDescriptor

    return TensorDescriptor.from_tensor(t, [1, 1, 16, t.shape[-1]])  # block shape set per config


def _desc2d(t: torch.Tensor):
    from triton.tools.tensor_descriptor import TensorDescriptor

    return TensorDescriptor.from_tensor(_rows(t), [16, t.shape[-1]])  # block shape set per config


def _check_blocks(blocks):
    if blocks is not None and (len(blocks) != 2 or any(b < 16 or b & (b - 1) for b in blocks)):
        raise ValueError(f"attention_sm90: blocks must be two powers of two >= 16, got {blocks!r}")


def forward(q, k, v, causal: bool, sm_scale: float, log2e: float, out=None, blocks=None, ws: bool = False):
    """(O, LSE) for validated q (B, Hq, Sq, D), k, v (B, Hkv, Sk, D) accepted by :func:`supports`.
    ``blocks`` (BLOCK_M, BLOCK_N) and ``ws``: one fixed config instead of the autotuner (tests)."""
    _check_blocks(blocks)
    b, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    o = out if out is not None else torch.empty_like(q, memory_format=torch.contiguous_format)
    lse = torch.empty((b, hq, sq), dtype=torch.float32, device=q.device)
    args = (_desc2d(q), _desc2d(k), _desc2d(v), o, lse, sm_scale * log2e, b, hq, hq // hkv, sq, sk,
            o.stride(0), o.stride(1), o.stride(2))  # fmt: skip
    meta = {"HEAD_DIM": d, "CAUSAL": bool(causal), "UPCAST": upcast_bf16(q.dtype)}
    if blocks is not None:
        bm, bn = blocks
        nargs = dict(zip(("q_desc", "k_desc", "v_desc"), args[:3]))
        _set_fwd_blocks({**nargs, "BLOCK_M": bm, "BLOCK_N": bn, "HEAD_DIM": d})
        _attn_fwd_sm90[(triton.cdiv(sq, bm), b * hq)](
            *args, **meta, BLOCK_M=bm, BLOCK_N=bn, WARP_SPECIALIZE=ws, num_warps=4, num_stages=1
        )
    else:
        _fwd[lambda m: (triton.cdiv(sq, m["BLOCK_M"]), b * hq)](*args, **meta)
    return o, lse


def backward(q, k, v, do, lse, delta, causal: bool, sm_scale: float, log2e: float, blocks=None):
    """(dQ, dK, dV) from the forward's LSE and delta = rowsum(dO ∘ O) (the portable preprocess kernel)."""
    _check_blocks(blocks)
    b, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    do = do if tma_compatible(do) else do.contiguous()
    dk = torch.empty_like(k, memory_format=torch.contiguous_format)
    dv = torch.empty_like(v, memory_format=torch.contiguous_format)
    dq_acc = torch.zeros((b, hq, sq, d), dtype=torch.float32, device=q.device)
    tma_reduce = not interpreting()  # the interpreter has no TMA reduce: pointer atomics there
    args = (_desc(q), _desc(k), _desc(v), _desc(do), _desc(dk), _desc(dv), _desc(dq_acc), dq_acc, lse, delta,
            sm_scale, sm_scale * log2e, b, hq, hkv, hq // hkv, sq, sk)  # fmt: skip
    meta = {"HEAD_DIM": d, "CAUSAL": bool(causal), "UPCAST": upcast_bf16(q.dtype), "TMA_REDUCE": tma_reduce,
            "IN_DTYPE": str(q.dtype).removeprefix("torch.")}  # fmt: skip
    if blocks is not None:
        bm, bn = blocks
        names = ("q_desc", "k_desc", "v_desc", "do_desc", "dk_desc", "dv_desc", "dq_desc")
        _set_bwd_blocks({**dict(zip(names, args[:7])), "BLOCK_M": bm, "BLOCK_N": bn, "HEAD_DIM": d})
        _attn_bwd_sm90[(triton.cdiv(sk, bn), b * hkv)](
            *args, **meta, BLOCK_M=bm, BLOCK_N=bn, num_warps=4, num_stages=1
        )
    else:
        _bwd[lambda m: (triton.cdiv(sk, m["BLOCK_N"]), b * hkv)](*args, **meta)
    dq = dq_acc if q.dtype == torch.float32 else dq_acc.to(q.dtype)
    return dq, dk, dv
