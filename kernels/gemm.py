"""GEMM: C = A @ B in Triton, and the PyTorch (cuBLAS) counterpart.

Math. For A (M, K) and B (K, N), C[m, n] = sum_k A[m, k] * B[k, n], accumulated in fp32 and rounded once
to the output dtype. The fp8 variant takes e4m3 inputs with per-tensor fp32 scales s_a, s_b:
C = (s_a * A) @ (s_b * B) = s_a * s_b * (A @ B), the scale product applied to the fp32 accumulator.
Cost (defined in ``gpucompare.workloads``, not here): 2MNK FLOPs.

Triton kernel: one program per (BLOCK_M, BLOCK_N) tile of C, tiles ordered in groups of GROUP_M rows
("swizzle") so consecutive programs reuse the same B columns from L2; a loop over K in BLOCK_K steps with
the tail masked, so any M, N, K works; strides are kernel arguments, so transposed / sliced inputs work
without a copy (fp8 B is usually column-major: b = w.t() of a row-major (N, K) weight).
On the GPU the tile shape is autotuned (keyed on M, N, K); under Triton's CPU interpreter one big-tile
config is used, and bf16 / fp8 tiles are upcast to fp32 before ``tl.dot`` because the interpreter's
bf16 arithmetic is wrong (it works on the raw bits).

Every public function validates its arguments before launching and raises ``ValueError`` naming the
argument. ``triton_available`` / ``torch_available`` say, for a dtype name ("fp32", "tf32", "fp16", "bf16",
"fp8") and a device, whether the implementation can run there, and why not.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpucompare.dtypes import MEASURED_DTYPES
from gpucompare.hw import compute_capability, interpreting, supports_bf16, supports_fp8

from . import gemm_sm90
from ._common import (
    FLOAT_DTYPES,
    autotune_bench,
    check_dtype_name,
    check_out,
    check_same,
    check_tensor,
    check_triton_device,
    dtype_name,
    max_shared_memory,
    pick_configs,
    rne_to_bf16,
    round_bf16_in_kernel,
    triton_device_refusal,
    upcast_bf16,
    use_hopper_path,
)
from .gemm_sm90 import FP8_FAST_ACCUM

FP8 = getattr(torch, "float8_e4m3fn", None)
FP8_OUT_DTYPES: tuple[torch.dtype, ...] = (torch.bfloat16, torch.float16, torch.float32)
DTYPE_NAMES = MEASURED_DTYPES
_INT32_MAX = 2**31 - 1


def _cfg(bm: int, bn: int, bk: int, warps: int, stages: int, group: int = 8) -> triton.Config:
    return triton.Config(
        {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": group}, num_warps=warps, num_stages=stages
    )


# Hopper-oriented configs (also fine on Ampere/Ada). BK=128 entries serve fp8 (1-byte elements);
# ``_prune_gemm_configs`` drops, per call, those whose pipeline exceeds the device's shared memory
# (all compile for sm_90; see kernels/NOTES.md, "Compile check").
_GPU_CONFIGS = [
    _cfg(128, 256, 64, 8, 3),
    _cfg(256, 128, 64, 8, 3),
    _cfg(128, 128, 64, 8, 4),
    _cfg(128, 128, 64, 4, 4),
    _cfg(64, 256, 32, 4, 4),
    _cfg(128, 64, 32, 4, 4),
    _cfg(64, 128, 64, 4, 4),
    _cfg(64, 64, 64, 4, 3),
    _cfg(32, 64, 64, 4, 4),
    _cfg(128, 256, 128, 8, 3),
    _cfg(128, 128, 128, 8, 4),
]
# Interpreter: ~3-4 ms per program x K-iteration whatever the tile, so one large tile.
_INTERP_CONFIG = _cfg(128, 128, 64, 4, 1, group=1)


def _smem_estimate(cfg: triton.Config, elem_bytes: int) -> int:
    """Shared memory of the software pipeline: num_stages x (A tile + B tile) bytes,
    stages x (BLOCK_M x BLOCK_K + BLOCK_K x BLOCK_N) x element size (exact for sm_90 tensor-core dots)."""
    kw = cfg.kwargs
    return cfg.num_stages * (kw["BLOCK_M"] + kw["BLOCK_N"]) * kw["BLOCK_K"] * elem_bytes


def _prune_gemm_configs(configs, named_args, **kwargs):
    """Autotune pruning: drop the configs whose pipeline cannot fit in the device's shared memory
    (on an H100: the BK=128 configs for 16-bit inputs, the large tiles for fp32) instead of compiling
    each and failing with OutOfResources. Keeps the smallest one if none fits."""
    a = named_args["a_ptr"]
    limit = max_shared_memory(a.device)
    size = a.element_size()
    kept = [c for c in configs if _smem_estimate(c, size) <= limit]
    return kept or [min(configs, key=lambda c: _smem_estimate(c, size))]


# PRECISION is in the key so fp32 "ieee" (CUDA cores) and "tf32" (tensor cores) are tuned separately.
@triton.autotune(
    configs=pick_configs(_GPU_CONFIGS, _INTERP_CONFIG),
    key=["M", "N", "K", "PRECISION"],
    prune_configs_by={"early_config_prune": _prune_gemm_configs},
    do_bench=autotune_bench,
)
@triton.jit
def _matmul_kernel(
    a_ptr,
    b_ptr,
    c_ptr,
    scale_a_ptr,
    scale_b_ptr,
    M,
    N,
    K,
    stride_am,
    stride_ak,
    stride_bk,
    stride_bn,
    stride_cm,
    stride_cn,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
    PRECISION: tl.constexpr,  # "ieee" or "tf32" (matters for fp32 inputs only)
    UPCAST: tl.constexpr,  # convert tiles to fp32 before tl.dot (bf16/fp8 under the interpreter)
    HAS_SCALE: tl.constexpr,  # multiply the accumulator by scale_a * scale_b (fp8)
    INT64: tl.constexpr,  # compute row/column offsets in int64 (tensors past 2**31 elements)
    RNE_BF16: tl.constexpr,  # round to nearest bf16 before the store (the interpreter's cast truncates)
):
    pid = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    # Grouped ordering: GROUP_M tile-rows are walked column by column, so B tiles stay in L2.
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    if INT64:
        offs_m = offs_m.to(tl.int64)
        offs_n = offs_n.to(tl.int64)
    mask_m = offs_m < M
    mask_n = offs_n < N
    a_ptrs = a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        k_left = K - k * BLOCK_K  # the last step masks the K tail
        a = tl.load(a_ptrs, mask=mask_m[:, None] & (offs_k[None, :] < k_left), other=0.0)
        b = tl.load(b_ptrs, mask=(offs_k[:, None] < k_left) & mask_n[None, :], other=0.0)
        if UPCAST:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, b, acc, input_precision=PRECISION)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    if HAS_SCALE:
        acc = acc * (tl.load(scale_a_ptr) * tl.load(scale_b_ptr))
    if RNE_BF16:
        acc = rne_to_bf16(acc)
    c = acc.to(c_ptr.dtype.element_ty)
    c_ptrs = c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn
    tl.store(c_ptrs, c, mask=mask_m[:, None] & mask_n[None, :])


# ---------------------------------------------------------------------------------------------------------
# validation


def _check_ab(op: str, a, b, dtypes: tuple[torch.dtype, ...]) -> tuple[int, int, int]:
    """Ranks, dtypes (supported, equal), devices (same) and the inner dimension; returns (M, N, K)."""
    check_tensor("a", a, dims=2, dtypes=dtypes, op=op)
    check_tensor("b", b, dims=2, dtypes=dtypes, op=op)
    check_same(op, "dtype", a=a, b=b)
    check_same(op, "device", a=a, b=b)
    m, k = a.shape
    kb, n = b.shape
    if kb != k:
        raise ValueError(f"{op}: b has {kb} rows but a has {k} columns (K); b must be (K, N) for a (M, K)")
    return m, n, k


def _check_scale(op: str, name: str, s, device: torch.device) -> torch.Tensor:
    check_tensor(name, s, dtypes=(torch.float32,), device=device, op=op)
    if s.numel() != 1 or s.dim() > 1:
        raise ValueError(
            f"{op}: {name} must be a per-tensor scale (a 0-d or 1-element float32 tensor), "
            f"got shape {tuple(s.shape)}"
        )
    return s


def _check_no_alias(op: str, out: torch.Tensor, **inputs: torch.Tensor) -> None:
    for name, t in inputs.items():
        if out.untyped_storage().data_ptr() == t.untyped_storage().data_ptr():
            raise ValueError(f"{op}: out shares memory with {name}; pass a separate output buffer")


def _prepare_out(
    op: str, out, m: int, n: int, dtype: torch.dtype, device: torch.device, **inputs: torch.Tensor
) -> torch.Tensor:
    if out is None:
        return torch.empty((m, n), dtype=dtype, device=device)
    check_out(op, out, (m, n), dtype, device)
    _check_no_alias(op, out, **inputs)
    return out


def _needs_int64(*tensors: torch.Tensor) -> bool:
    """True when some element offset (sum of (size-1)*stride) does not fit in int32."""
    for t in tensors:
        span = sum((s - 1) * abs(st) for s, st in zip(t.shape, t.stride()) if s > 0)
        if span > _INT32_MAX:
            return True
    return False


def _launch(
    a, b, c, scale_a, scale_b, precision: str, upcast: bool, fast_accum: bool = FP8_FAST_ACCUM
) -> torch.Tensor:
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return c
    has_scale = scale_a is not None
    # Hopper: TMA + persistent grid (or split-K for M <= 16); IEEE fp32 stays on the portable kernel
    if precision != "ieee" and use_hopper_path(a.device) and gemm_sm90.supports(a, b, c):
        return gemm_sm90.matmul_sm90(
            a, b, c, scale_a=scale_a, scale_b=scale_b, precision=precision, fast_accum=fast_accum
        )

    def grid(meta):
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    _matmul_kernel[grid](
        a,
        b,
        c,
        scale_a if has_scale else c,  # dummy pointers, never read when HAS_SCALE is False
        scale_b if has_scale else c,
        m,
        n,
        k,
        a.stride(0),
        a.stride(1),
        b.stride(0),
        b.stride(1),
        c.stride(0),
        c.stride(1),
        PRECISION=precision,
        UPCAST=upcast,
        HAS_SCALE=has_scale,
        INT64=_needs_int64(a, b, c),
        RNE_BF16=round_bf16_in_kernel(c.dtype),
    )
    return c


# ---------------------------------------------------------------------------------------------------------
# Triton entry points


def matmul(
    a: torch.Tensor, b: torch.Tensor, *, allow_tf32: bool = False, out: torch.Tensor | None = None
) -> torch.Tensor:
    """C = A @ B with a Triton kernel; fp32 accumulation, output in the inputs' dtype.

    a (M, K), b (K, N), both fp32, fp16 or bf16 (same dtype, same device); any sizes and strides.
    ``allow_tf32``: fp32 inputs use tf32 tensor cores (10-bit mantissa inputs, fp32 accumulation);
    otherwise fp32 is computed in full ("ieee"). Ignored for fp16/bf16.
    ``out``: optional (M, N) buffer of the inputs' dtype, written completely and returned.
    """
    op = "matmul"
    m, n, _ = _check_ab(op, a, b, FLOAT_DTYPES)
    check_triton_device(op, "a", a)
    c = _prepare_out(op, out, m, n, a.dtype, a.device, a=a, b=b)
    upcast = upcast_bf16(a.dtype)
    # "tf32" is Triton's default and only changes fp32 inputs; "ieee" keeps fp32 (and upcast tiles) exact.
    full_fp32 = (a.dtype == torch.float32 and not allow_tf32) or upcast
    return _launch(a, b, c, None, None, "ieee" if full_fp32 else "tf32", upcast)


def matmul_fp8(
    a: torch.Tensor,
    b: torch.Tensor,
    scale_a: torch.Tensor,
    scale_b: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    out: torch.Tensor | None = None,
    fast_accum: bool = FP8_FAST_ACCUM,
) -> torch.Tensor:
    """C = (scale_a * A) @ (scale_b * B) for float8_e4m3fn inputs, fp32 accumulation, output ``out_dtype``.

    a (M, K), b (K, N) in float8_e4m3fn, any strides (b is typically column-major: ``w.t()`` of a
    row-major (N, K) weight); scale_a, scale_b: per-tensor float32 scales (0-d or 1-element) on the
    same device; out_dtype: bfloat16, float16 or float32.
    On the GPU this runs the fp8 tensor cores (cc >= 8.9); under the CPU interpreter the fp8 tiles are
    upcast to fp32 (exact) before the dot, so the result is checked but not fp8 hardware.
    """
    op = "matmul_fp8"
    if FP8 is None:
        raise ValueError(f"{op}: this torch build has no float8_e4m3fn dtype")
    m, n, _ = _check_ab(op, a, b, (FP8,))
    _check_scale(op, "scale_a", scale_a, a.device)
    _check_scale(op, "scale_b", scale_b, a.device)
    if out_dtype not in FP8_OUT_DTYPES:
        names = ", ".join(dtype_name(d) for d in FP8_OUT_DTYPES)
        raise ValueError(f"{op}: out_dtype {dtype_name(out_dtype)} is not supported; use one of {names}")
    check_triton_device(op, "a", a)
    if not interpreting():
        ok, reason = supports_fp8(a.device)
        if not ok:
            raise ValueError(f"{op}: {reason}")
    c = _prepare_out(op, out, m, n, out_dtype, a.device, a=a, b=b)
    upcast = interpreting()  # fp8 tiles become fp32 (exact) in the interpreter; native fp8 dot on the GPU
    return _launch(a, b, c, scale_a, scale_b, "ieee" if upcast else "tf32", upcast, bool(fast_accum))


# ---------------------------------------------------------------------------------------------------------
# PyTorch counterparts


REDUCED_PRECISION_REDUCTION = False
"""cuBLAS's reduced-precision reductions for fp16/bf16 (``torch.backends.cuda.matmul.
allow_{fp16,bf16}_reduced_precision_reduction``, on by default in torch): off, so both sides reduce in fp32
as the Triton kernels do (fp32 accumulators, fp32 split-K partials). Set per call by :func:`torch_matmul`
and recorded in each run's ``run.json`` (:func:`matmul_flags`)."""

_MATMUL_FLAGS = (
    "allow_tf32",
    "allow_fp16_reduced_precision_reduction",
    "allow_bf16_reduced_precision_reduction",
)


def matmul_flags(allow_tf32: bool = False) -> dict[str, bool]:
    """The ``torch.backends.cuda.matmul`` flags :func:`torch_matmul` runs under."""
    rpr = bool(REDUCED_PRECISION_REDUCTION)
    return {
        "allow_tf32": bool(allow_tf32),
        "allow_fp16_reduced_precision_reduction": rpr,
        "allow_bf16_reduced_precision_reduction": rpr,
    }


def torch_matmul(a: torch.Tensor, b: torch.Tensor, allow_tf32: bool = False) -> torch.Tensor:
    """C = A @ B through ``torch.matmul`` (cuBLAS on the GPU).

    Runs under :func:`matmul_flags` (``allow_tf32`` as asked, reduced-precision reductions as
    :data:`REDUCED_PRECISION_REDUCTION`), set for this call only and restored after, also on error; no
    effect on the CPU (and tf32 none for fp16/bf16).
    """
    _check_ab("torch_matmul", a, b, FLOAT_DTYPES)
    flags = torch.backends.cuda.matmul
    previous = {name: getattr(flags, name) for name in _MATMUL_FLAGS if hasattr(flags, name)}
    for name, value in matmul_flags(allow_tf32).items():
        if name in previous:
            setattr(flags, name, value)
    try:
        return torch.matmul(a, b)
    finally:
        for name, value in previous.items():
            setattr(flags, name, value)


def _check_scaled_mm_layout(op: str, a: torch.Tensor, b: torch.Tensor) -> None:
    """torch._scaled_mm wants a row-major, b column-major, K and N multiples of 16."""
    m, k = a.shape
    n = b.shape[1]
    if k % 16 or n % 16:
        raise ValueError(f"{op}: torch._scaled_mm needs K and N divisible by 16, got K={k}, N={n}")
    if not (a.stride(1) == 1 and (a.stride(0) == k or m <= 1)):
        raise ValueError(f"{op}: a must be row-major (contiguous), got strides {a.stride()}")
    if not (b.stride(0) == 1 and (b.stride(1) == k or n <= 1)):
        raise ValueError(
            f"{op}: b must be column-major (b = w.t() of a contiguous (N, K) weight), "
            f"got strides {b.stride()}"
        )


def torch_matmul_fp8(
    a: torch.Tensor,
    b: torch.Tensor,
    scale_a: torch.Tensor,
    scale_b: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    fast_accum: bool = FP8_FAST_ACCUM,
) -> torch.Tensor:
    """C = (scale_a * A) @ (scale_b * B) through ``torch._scaled_mm`` (cuBLASLt fp8 on the GPU).

    Requirements (checked here): float8_e4m3fn a (M, K) row-major and b (K, N) column-major, K and N
    multiples of 16, per-tensor float32 scales. ``fast_accum`` is ``use_fast_accum``: the default,
    ``FP8_FAST_ACCUM`` (False), is the same accumulation mode as :func:`matmul_fp8` on Hopper.
    """
    op = "torch_matmul_fp8"
    if FP8 is None:
        raise ValueError(f"{op}: this torch build has no float8_e4m3fn dtype")
    _check_ab(op, a, b, (FP8,))
    _check_scale(op, "scale_a", scale_a, a.device)
    _check_scale(op, "scale_b", scale_b, a.device)
    if out_dtype not in FP8_OUT_DTYPES:
        names = ", ".join(dtype_name(d) for d in FP8_OUT_DTYPES)
        raise ValueError(f"{op}: out_dtype {dtype_name(out_dtype)} is not supported; use one of {names}")
    _check_scaled_mm_layout(op, a, b)
    if a.device.type == "cuda":
        ok, reason = supports_fp8(a.device)
        if not ok:
            raise ValueError(f"{op}: {reason}")
    sa, sb = scale_a.reshape(()), scale_b.reshape(())
    return torch._scaled_mm(
        a, b, scale_a=sa, scale_b=sb, out_dtype=out_dtype, use_fast_accum=bool(fast_accum)
    )


# ---------------------------------------------------------------------------------------------------------
# availability, for the workloads registry: (dtype name, device) -> (ok, reason when not)


def triton_available(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Can the Triton GEMM run ``dtype`` on ``device``? tf32/fp8 need a GPU (tf32: cc >= 8.0, fp8: >= 8.9)."""
    check_dtype_name("gemm", dtype, DTYPE_NAMES)
    dev = torch.device(device)
    refusal = triton_device_refusal(dev)
    if refusal:
        return False, refusal
    if interpreting():
        if dtype == "tf32":
            return False, "tf32 needs GPU tensor cores; the CPU interpreter would compute plain fp32"
        if dtype == "fp8" and FP8 is None:
            return False, "this torch build has no float8_e4m3fn dtype"
        return True, ""
    return _gpu_dtype_ok(dtype, dev)


def torch_available(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Can the PyTorch GEMM run ``dtype`` on ``device``? (fp8: torch._scaled_mm; tf32: GPU only.)"""
    check_dtype_name("gemm", dtype, DTYPE_NAMES)
    dev = torch.device(device)
    if dev.type == "cuda":
        return _gpu_dtype_ok(dtype, dev)
    if dtype == "tf32":
        return False, "tf32 needs GPU tensor cores (cc >= 8.0)"
    if dtype == "fp8" and FP8 is None:
        return False, "this torch build has no float8_e4m3fn dtype"
    return True, ""


def _gpu_dtype_ok(dtype: str, dev: torch.device) -> tuple[bool, str]:
    if dtype == "fp8":
        return supports_fp8(dev)
    if dtype == "bf16":
        return supports_bf16(dev)
    if dtype == "tf32":
        cc = compute_capability(dev)
        if cc is None or cc < (8, 0):
            return False, f"tf32 needs compute capability >= 8.0, got {cc}"
    return True, ""
