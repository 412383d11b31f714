"""GEMM for Hopper (sm_90): TMA descriptors, a persistent grid, wgmma; split-K for skinny (decode) GEMMs.

Same math and contract as :mod:`gpucompare.kernels.gemm` (C = A @ B, fp32 accumulation; fp8 e4m3 with
per-tensor scales applied to the accumulator). :func:`gemm.matmul` and :func:`gemm.matmul_fp8` call
:func:`matmul_sm90` when ``_common.use_hopper_path`` says so and the operands can back TMA descriptors
(:func:`supports`); otherwise they run the portable kernel.

Two kernels:

- ``_gemm_persistent``: one program per SM (grid = min(#SMs, #tiles)); each walks the output tiles
  ``start, start + NUM_SMS, ...`` in grouped order (GROUP_M tile-rows column by column, so B tiles stay
  in L2). A and B tiles arrive by TMA (``cp.async.bulk.tensor``) into a ``num_stages`` ring that the
  software pipeliner overlaps with the wgmma of the previous stages; the outer tile loop is flattened into
  the K loop (``tl.range(flatten=True)``) so the next tile's loads start during this tile's last MMAs.
  The C tile leaves by a TMA store (optionally in two halves, ``EPILOGUE_SUBTILE``, to halve its staging
  buffer). With ``WARP_SPECIALIZE`` (num_warps = 4 only: Triton 3.6's Hopper warp specialisation) the K
  loop is split into a producer warp group issuing TMA and consumer warp groups issuing wgmma
  (``setmaxnreg`` rebalances registers); the tile loop is then not flattened and C is stored by pointers
  (3.6's Hopper warp specialisation rejects a descriptor store after the loop).
- ``_gemm_skinny``: M <= ``SKINNY_MAX_M`` (decode: 1-16 tokens). wgmma needs 64 rows, so the product is
  computed transposed, Cᵀ = Bᵀ Aᵀ: the weight supplies the 64/128 rows, the tokens the 16 columns. The
  grid is (N tiles, K splits) with the split count chosen so that about two programs run per SM
  (:func:`choose_split_k`); with more than one split each program writes an fp32 partial and
  ``_splitk_reduce`` sums them in a fixed order (deterministic, no atomics), scales and casts.

fp8 accumulation (Hopper's wgmma accumulates fp8 products in a reduced-precision adder): the kernels pass
``max_num_imprecise_acc = BLOCK_K`` unless ``fast_accum`` is asked, so the partial sum of one K tile
(<= 128 products) is added into a full fp32 accumulator ("precise", what ``torch._scaled_mm`` does with
``use_fast_accum=False``). ``FP8_FAST_ACCUM`` is the default both sides use; ``fast_accum=True`` gives
Triton's own sm_90 default (no promotion before the end), to compare with ``use_fast_accum=True``.

Under Triton's CPU interpreter (which runs tensor descriptors as masked loads and stores) these kernels
run too, with bf16/fp8 tiles upcast to fp32 (``UPCAST``) and a handful of "SMs" so the persistent loop
visits several tiles per program; the tests call :func:`matmul_sm90` directly for that.
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
    rne_to_bf16,
    round_bf16_in_kernel,
    sm_count,
    tma_compatible,
    triton_has_tma_api,
    upcast_bf16,
)

FP8 = getattr(torch, "float8_e4m3fn", None)

FP8_FAST_ACCUM = False
"""The fp8 accumulation mode of the GEMM benchmarks, both sides: False = precise (the Triton kernel
promotes its wgmma partial sums to fp32 every ``BLOCK_K`` products, ``max_num_imprecise_acc = BLOCK_K``;
``torch._scaled_mm(..., use_fast_accum=False)``). True = fast (Triton's sm_90 default; ``use_fast_accum=
True``). The portable kernel on Ada has no such mode (its mma.sync accumulates fp32)."""

SKINNY_MAX_M = 16
"""Largest M the split-K skinny kernel takes (the decode GEMMs: 1, 8, 16 tokens)."""

SPILL_BOUND_BYTES = 0
"""Configs of the Hopper kernels may not spill at all on sm_90 (ptxas ``bytes spill stores``): every
config listed below was compiled and spilled 0 B (kernels/NOTES.md, "Hopper kernels"); the compile test
and ``kernels/_sm90_compile.py --all`` fail on any config above this bound."""

_INT32_MAX = 2**31 - 1


def _cfg(bm, bn, bk, warps, stages, ws=False, subtile=False, group=8) -> triton.Config:
    meta = {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": group, "WARP_SPECIALIZE": ws,
            "EPILOGUE_SUBTILE": subtile}  # fmt: skip
    return triton.Config(meta, num_warps=warps, num_stages=stages, pre_hook=_set_block_shapes)


def _set_block_shapes(nargs) -> None:
    """Autotune pre-hook: the host descriptors' block shapes follow the config being launched."""
    bm, bn, bk = nargs["BLOCK_M"], nargs["BLOCK_N"], nargs["BLOCK_K"]
    nargs["a_desc"].block_shape = [bm, bk]
    nargs["b_desc"].block_shape = [bn, bk] if nargs["B_KMAJOR"] else [bk, bn]
    if "c_desc" in nargs:
        nargs["c_desc"].block_shape = [bm, bn // 2 if nargs["EPILOGUE_SUBTILE"] else bn]


# Persistent configs: 128-row tiles (two wgmma m64 per warp group with 8 warps), BN 128/256, BK 64 for
# 16-bit and 128 for fp8 (128 B rows either way: the 128-byte TMA swizzle). Pruned per call against shared
# memory (``_prune_persistent``) and, offline, against spills (SPILL_BOUND_BYTES; kernels/NOTES.md).
_PERSISTENT_CONFIGS = [
    _cfg(128, 256, 64, 8, 3),
    _cfg(128, 256, 64, 8, 4, subtile=True),
    _cfg(128, 128, 64, 8, 4),
    _cfg(128, 128, 64, 4, 4),
    _cfg(128, 128, 64, 4, 4, ws=True),
    _cfg(128, 256, 64, 4, 3, ws=True),
    _cfg(128, 256, 128, 8, 3),
    _cfg(128, 128, 128, 8, 4),
    _cfg(128, 128, 128, 4, 4, ws=True),
]
_INTERP_PERSISTENT = _cfg(64, 64, 64, 4, 1, group=2)

_SKINNY_CONFIGS = [
    triton.Config({"BLOCK_N": bn, "BLOCK_K": bk}, num_warps=4, num_stages=s, pre_hook=_set_block_shapes)
    for bn, bk, s in ((64, 128, 6), (128, 128, 4), (128, 64, 6), (64, 256, 4))
]
_INTERP_SKINNY = triton.Config({"BLOCK_N": 64, "BLOCK_K": 64}, num_warps=4, num_stages=1,
                               pre_hook=_set_block_shapes)  # fmt: skip


def persistent_smem_estimate(cfg: triton.Config, in_bytes: int, out_bytes: int) -> int:
    """Shared memory of ``_gemm_persistent``: the TMA ring, stages x (BM + BN) x BK x input size, plus
    the C staging tile of the TMA store (BM x BN, half with EPILOGUE_SUBTILE; none with warp
    specialisation, which stores by pointers)."""
    kw = cfg.kwargs
    ring = cfg.num_stages * (kw["BLOCK_M"] + kw["BLOCK_N"]) * kw["BLOCK_K"] * in_bytes
    if kw["WARP_SPECIALIZE"]:
        return ring
    c_tile = kw["BLOCK_M"] * kw["BLOCK_N"] * out_bytes // (2 if kw["EPILOGUE_SUBTILE"] else 1)
    return ring + c_tile


def _prune_persistent(configs, named_args, **kwargs):
    """Keep the configs whose BK suits the input size (BK=64 rows are 128 B for 16-bit inputs, BK=128
    for fp8), whose registers do not spill, and whose shared memory fits the device (the smallest one if
    none fits). Spills, from the sm_90 compiles (kernels/NOTES.md): fp8 with precise accumulation holds a
    second (partial) accumulator, so the 128x256 tile needs 255 registers and spills 236 B; dropped."""
    a = named_args["a_desc"].base
    c = named_args["c_ptr"]
    limit = max_shared_memory(c.device)
    want_bk = 128 // a.element_size()
    kept = [cf for cf in configs if cf.kwargs["BLOCK_K"] == want_bk] or list(configs)
    if kwargs.get("FP8_PRECISE"):
        kept = [cf for cf in kept if cf.kwargs["BLOCK_M"] * cf.kwargs["BLOCK_N"] <= 128 * 128] or kept
    est = {id(cf): persistent_smem_estimate(cf, a.element_size(), c.element_size()) for cf in kept}
    fits = [cf for cf in kept if est[id(cf)] <= limit]
    return fits or [min(kept, key=lambda cf: est[id(cf)])]


@triton.jit
def _tile_coords(tile, num_pid_m, num_pid_n, GROUP_M: tl.constexpr):
    """(pid_m, pid_n) of a linear tile index in grouped order (GROUP_M tile-rows, column by column)."""
    in_group = GROUP_M * num_pid_n
    first_m = (tile // in_group) * GROUP_M
    size_m = tl.minimum(num_pid_m - first_m, GROUP_M)
    pid_m = first_m + (tile % in_group) % size_m
    pid_n = (tile % in_group) // size_m
    return pid_m, pid_n


@triton.jit
def _load_ab(a_desc, b_desc, off_m, off_n, off_k, B_KMAJOR: tl.constexpr, UPCAST: tl.constexpr):
    """A tile (BM, BK) and B tile as (BK, BN); B is stored (N, K) when B_KMAJOR (fp8's 'TN' layout)."""
    a = a_desc.load([off_m, off_k])
    b = b_desc.load([off_n, off_k]).T if B_KMAJOR else b_desc.load([off_k, off_n])
    if UPCAST:
        a = a.to(tl.float32)
        b = b.to(tl.float32)
    return a, b


@triton.jit
def _mma(a, b, acc, PRECISION: tl.constexpr, FP8_PRECISE: tl.constexpr, BLOCK_K: tl.constexpr):
    """acc += a @ b. FP8_PRECISE: the wgmma partial sum is added into the fp32 accumulator after every
    BLOCK_K products (``max_num_imprecise_acc``); otherwise Triton's default (sm_90 fp8: never)."""
    if FP8_PRECISE:
        acc = tl.dot(a, b, acc, input_precision=PRECISION, max_num_imprecise_acc=BLOCK_K)
    else:
        acc = tl.dot(a, b, acc, input_precision=PRECISION)
    return acc


@triton.jit
def _epilogue(acc, scale, HAS_SCALE: tl.constexpr, RNE_BF16: tl.constexpr):
    if HAS_SCALE:
        acc = acc * scale
    if RNE_BF16:
        acc = rne_to_bf16(acc)
    return acc


@triton.jit
def _gemm_persistent(
    a_desc, b_desc, c_desc, c_ptr, scale_a_ptr, scale_b_ptr,
    M, N, K, stride_cm, stride_cn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    NUM_SMS: tl.constexpr, AB_DTYPE: tl.constexpr, B_KMAJOR: tl.constexpr, PRECISION: tl.constexpr,
    FP8_PRECISE: tl.constexpr, HAS_SCALE: tl.constexpr, UPCAST: tl.constexpr, RNE_BF16: tl.constexpr,
    WARP_SPECIALIZE: tl.constexpr, EPILOGUE_SUBTILE: tl.constexpr,
):  # fmt: skip
    start = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    k_tiles = tl.cdiv(K, BLOCK_K)
    num_tiles = num_pid_m * num_pid_n
    scale = 1.0
    if HAS_SCALE:
        scale = tl.load(scale_a_ptr) * tl.load(scale_b_ptr)
    out_ty = c_ptr.dtype.element_ty
    for tile in tl.range(start, num_tiles, NUM_SMS, flatten=not WARP_SPECIALIZE):
        pid_m, pid_n = _tile_coords(tile, num_pid_m, num_pid_n, GROUP_M)
        off_m = pid_m * BLOCK_M
        off_n = pid_n * BLOCK_N
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for ki in tl.range(k_tiles, warp_specialize=WARP_SPECIALIZE):
            a, b = _load_ab(a_desc, b_desc, off_m, off_n, ki * BLOCK_K, B_KMAJOR, UPCAST)
            acc = _mma(a, b, acc, PRECISION, FP8_PRECISE, BLOCK_K)
        acc = _epilogue(acc, scale, HAS_SCALE, RNE_BF16)
        if WARP_SPECIALIZE:
            offs_m = off_m + tl.arange(0, BLOCK_M)
            offs_n = off_n + tl.arange(0, BLOCK_N)
            c_ptrs = c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn
            tl.store(c_ptrs, acc.to(out_ty), mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))
        elif EPILOGUE_SUBTILE:
            halves = tl.permute(tl.reshape(acc, (BLOCK_M, 2, BLOCK_N // 2)), (0, 2, 1))
            c0, c1 = tl.split(halves)
            c_desc.store([off_m, off_n], c0.to(out_ty))
            c_desc.store([off_m, off_n + BLOCK_N // 2], c1.to(out_ty))
        else:
            c_desc.store([off_m, off_n], acc.to(out_ty))


@triton.jit
def _gemm_skinny(
    a_desc, b_desc, c_ptr, part_ptr, scale_a_ptr, scale_b_ptr,
    M, N, K, stride_cm, stride_cn, K_PER_SPLIT,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, AB_DTYPE: tl.constexpr,
    B_KMAJOR: tl.constexpr, PRECISION: tl.constexpr, FP8_PRECISE: tl.constexpr, HAS_SCALE: tl.constexpr,
    UPCAST: tl.constexpr, RNE_BF16: tl.constexpr, SPLIT: tl.constexpr,
):  # fmt: skip
    """Cᵀ tile (BLOCK_N, BLOCK_M) of one K split: acc = Σ_k B[k, n]ᵀ A[m, k]ᵀ over the split's K tiles."""
    pid_n = tl.program_id(0)
    split = tl.program_id(1)
    off_n = pid_n * BLOCK_N
    tiles = K_PER_SPLIT // BLOCK_K  # K_PER_SPLIT is a multiple of every config's BLOCK_K
    k_lo = split * tiles
    k_hi = tl.minimum(k_lo + tiles, tl.cdiv(K, BLOCK_K))
    acc = tl.zeros((BLOCK_N, BLOCK_M), dtype=tl.float32)
    for ki in tl.range(k_lo, k_hi):
        a, b = _load_ab(a_desc, b_desc, 0, off_n, ki * BLOCK_K, B_KMAJOR, UPCAST)
        acc = _mma(b.T, a.T, acc, PRECISION, FP8_PRECISE, BLOCK_K)
    offs_n = off_n + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    mask = (offs_n[:, None] < N) & (offs_m[None, :] < M)
    if SPLIT:
        # partials laid out (split, M, N) in fp32; the reduce kernel sums them in split order
        p_ptrs = part_ptr + (split * M + offs_m[None, :]).to(tl.int64) * N + offs_n[:, None]
        tl.store(p_ptrs, acc, mask=mask)
    else:
        scale = 1.0
        if HAS_SCALE:
            scale = tl.load(scale_a_ptr) * tl.load(scale_b_ptr)
        acc = _epilogue(acc, scale, HAS_SCALE, RNE_BF16)
        c_ptrs = c_ptr + offs_m[None, :] * stride_cm + offs_n[:, None] * stride_cn
        tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _splitk_reduce(
    part_ptr, c_ptr, scale_a_ptr, scale_b_ptr, M, N, SPLITS, stride_cm, stride_cn,
    BLOCK: tl.constexpr, HAS_SCALE: tl.constexpr, RNE_BF16: tl.constexpr,
):  # fmt: skip
    """C[m, n] = scale · Σ_s part[s, m, n], s in increasing order (deterministic)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < M * N
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for s in range(SPLITS):
        acc += tl.load(part_ptr + s * M * N + offs, mask=ok, other=0.0)
    scale = 1.0
    if HAS_SCALE:
        scale = tl.load(scale_a_ptr) * tl.load(scale_b_ptr)
    acc = _epilogue(acc, scale, HAS_SCALE, RNE_BF16)
    m = offs // N
    n = offs % N
    tl.store(c_ptr + m * stride_cm + n * stride_cn, acc.to(c_ptr.dtype.element_ty), mask=ok)


_TUNE_KEY = ["M", "N", "K", "AB_DTYPE", "B_KMAJOR", "PRECISION", "FP8_PRECISE"]

_persistent = triton.autotune(
    configs=pick_configs(_PERSISTENT_CONFIGS, _INTERP_PERSISTENT),
    key=_TUNE_KEY,
    prune_configs_by={"early_config_prune": _prune_persistent},
    do_bench=autotune_bench,
)(_gemm_persistent)

_skinny = triton.autotune(
    configs=pick_configs(_SKINNY_CONFIGS, _INTERP_SKINNY),
    key=[*_TUNE_KEY, "K_PER_SPLIT"],
    do_bench=autotune_bench,
)(_gemm_skinny)


# ---------------------------------------------------------------------------------------------------------
# host side


def _b_kmajor(b: torch.Tensor) -> bool:
    """True when B (K, N) is stored N-by-K (column-major: b = w.t() of a row-major (N, K) weight)."""
    return b.stride(0) == 1 and b.stride(1) != 1


def supports(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> bool:
    """Can the Hopper kernels take these operands? fp16, bf16 or fp8 inputs (fp32/tf32 stays on the
    portable kernel: its configs are not tuned here); A row-major; B row-major (K, N) or, the fp8 'TN'
    layout, column-major; every row 16-byte aligned for TMA; C row-major for the TMA store; fp8 needs
    B column-major (wgmma reads fp8 operands K-major only); offsets within int32."""
    if not triton_has_tma_api() or a.dtype not in (torch.float16, torch.bfloat16, FP8):
        return False
    bt = b.t() if _b_kmajor(b) else b
    if a.dtype == FP8 and bt is b:
        return False
    if any(t.numel() > _INT32_MAX for t in (a, b, c)):
        return False
    return all(tma_compatible(t) for t in (a, bt, c))


def choose_split_k(n_tiles: int, k_tiles: int, sms: int) -> int:
    """K splits for the skinny kernel: enough (N tiles x splits) programs for about two per SM, each
    split at least 4 K tiles long (a pipeline of 4 stages has something to overlap), at most 16."""
    if n_tiles < 1 or k_tiles < 1 or sms < 1:
        raise ValueError(f"choose_split_k: arguments must be >= 1, got {n_tiles}, {k_tiles}, {sms}")
    want = triton.cdiv(2 * sms, n_tiles)
    return max(1, min(want, k_tiles // 4, 16))


def _descriptors(a, b, c, kmajor: bool):
    from triton.tools.tensor_descriptor import TensorDescriptor

    # block shapes are placeholders, set per config by ``_set_block_shapes``
    a_desc = TensorDescriptor.from_tensor(a, [16, 16])
    b_desc = TensorDescriptor.from_tensor(b.t() if kmajor else b, [16, 16])
    c_desc = TensorDescriptor.from_tensor(c, [16, 16]) if c is not None else None
    return a_desc, b_desc, c_desc


def matmul_sm90(
    a: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    *,
    scale_a: torch.Tensor | None = None,
    scale_b: torch.Tensor | None = None,
    precision: str = "tf32",
    fast_accum: bool = FP8_FAST_ACCUM,
    num_sms: int | None = None,
    skinny: bool | None = None,
    split_k: int | None = None,
) -> torch.Tensor:
    """C = A @ B (fp8: scaled) into ``c`` with the Hopper kernels; operands already validated by
    :mod:`gemm` and accepted by :func:`supports`. ``precision``: Triton's dot precision ("tf32", the
    default, changes nothing for 16-bit and fp8 inputs). ``num_sms``, ``skinny``, ``split_k``: overrides for tests (the persistent grid's
    size; force the skinny kernel or not; its split count)."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return c
    is_fp8 = a.dtype == FP8
    kmajor = _b_kmajor(b)
    upcast = upcast_bf16(a.dtype) or (is_fp8 and interpreting())
    meta = {
        "AB_DTYPE": str(a.dtype).removeprefix("torch."),
        "B_KMAJOR": kmajor,
        "PRECISION": "ieee" if upcast else precision,
        # fp8 on sm_90: promote the wgmma partial sum to fp32 every BLOCK_K products unless fast_accum
        "FP8_PRECISE": is_fp8 and not fast_accum and not upcast,
        "HAS_SCALE": scale_a is not None,
        "UPCAST": upcast,
        "RNE_BF16": round_bf16_in_kernel(c.dtype),
    }
    sa = scale_a if scale_a is not None else c
    sb = scale_b if scale_b is not None else c
    if skinny is None:
        skinny = m <= SKINNY_MAX_M
    if skinny:
        if m > SKINNY_MAX_M:
            raise ValueError(f"matmul_sm90: the skinny kernel takes M <= {SKINNY_MAX_M}, got {m}")
        return _launch_skinny(a, b, c, sa, sb, meta, kmajor, num_sms, split_k)
    a_desc, b_desc, c_desc = _descriptors(a, b, c, kmajor)
    sms = num_sms or sm_count(c.device)

    def grid(cfg):
        tiles = triton.cdiv(m, cfg["BLOCK_M"]) * triton.cdiv(n, cfg["BLOCK_N"])
        return (min(sms, tiles),)

    _persistent[grid](
        a_desc, b_desc, c_desc, c, sa, sb, m, n, k, c.stride(0), c.stride(1),
        NUM_SMS=sms, **meta,
    )  # fmt: skip
    return c


def _launch_skinny(a, b, c, sa, sb, meta, kmajor, num_sms, split_k):
    m, k = a.shape
    n = b.shape[1]
    a_desc, b_desc, _ = _descriptors(a, b, None, kmajor)
    sms = num_sms or sm_count(c.device)
    cfgs = _skinny.configs
    # the split count depends on BLOCK_N / BLOCK_K; decided for the largest tile so every config agrees
    bn = max(cf.kwargs["BLOCK_N"] for cf in cfgs)
    bk = max(cf.kwargs["BLOCK_K"] for cf in cfgs)
    k_tiles_big = triton.cdiv(k, bk)
    splits = split_k or choose_split_k(triton.cdiv(n, bn), k_tiles_big, sms)
    splits = max(1, min(splits, k_tiles_big))
    k_span = triton.cdiv(k_tiles_big, splits) * bk  # K elements per split, a multiple of every BLOCK_K
    part = torch.empty((splits, m, n), dtype=torch.float32, device=c.device) if splits > 1 else c

    def grid(cfg):
        return (triton.cdiv(n, cfg["BLOCK_N"]), splits)

    _skinny[grid](
        a_desc, b_desc, c, part, sa, sb, m, n, k, c.stride(0), c.stride(1), k_span,
        BLOCK_M=SKINNY_MAX_M, SPLIT=splits > 1, **meta,
    )  # fmt: skip
    if splits > 1:
        block = 1024
        _splitk_reduce[(triton.cdiv(m * n, block),)](
            part, c, sa, sb, m, n, splits, c.stride(0), c.stride(1),
            BLOCK=block, HAS_SCALE=meta["HAS_SCALE"], RNE_BF16=meta["RNE_BF16"],
        )  # fmt: skip
    return c
