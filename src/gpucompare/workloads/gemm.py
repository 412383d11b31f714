"""GEMM workloads (kernels: ``gpucompare.kernels.gemm``): ``gemm``, training/prefill sizes, compute bound, and
``gemm_decode``, skinny decode GEMMs, weight-read (memory) bound.

Cost model, ``M×N×K`` (A ``M×K`` @ B ``K×N``): ``F = 2·M·N·K``; ``B = (M·K + K·N)·elt_in + M·N·elt_out``, where
``elt`` is the storage size of one element of the dtype (tf32 is stored as fp32: 4 B) and ``elt_out = elt_in``
except fp8: inputs 1 B, bf16 output 2 B.

The model shapes are one layer's projections of :mod:`gpucompare.dims` (Llama-3-70B, DeepSeek-V3's dense layers).

fp8 accumulation: on sm_90 the fp8 tensor cores can accumulate in a reduced-precision accumulator ("fast
accumulation") or promote to fp32 every few k-steps. ``gpucompare.kernels.gemm.FP8_FAST_ACCUM`` says which the
Triton kernel does; the baseline ``torch`` (``torch._scaled_mm``) is called in the same mode, and
``torch-fp8-altacc`` (fp8 only) in the other, so both modes are published. Each fp8 record's ``notes`` names
its mode.
"""

from __future__ import annotations

from gpucompare import dtypes, hw, reference
from gpucompare.dims import DEEPSEEK_V3, LLAMA3_70B, TransformerDims
from gpucompare.lazy import torch
from gpucompare.workloads.availability import kernel
from gpucompare.workloads.base import Builder, Params, Shape, Workload, element_bytes, kernel_impl, randn

FP8_OUT_DTYPE = "bf16"  # the output dtype of the fp8 GEMM (per-tensor scaled e4m3 inputs)
E4M3_MAX = 448.0  # largest finite float8_e4m3fn value


def quantize_fp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor e4m3 quantisation: ``scale = amax(|x|) / 448``, ``q = fp8(x / scale)``; ``x ≈ scale·q``.

    Returns ``(q, scale)`` with ``scale`` a 0-dim float32 tensor on ``x``'s device (the dequantisation
    factor that ``matmul_fp8`` and :func:`gpucompare.reference.gemm_ref` multiply by).
    """
    if not hasattr(torch, "float8_e4m3fn"):
        raise ValueError("this torch build has no float8_e4m3fn dtype")
    amax = x.detach().abs().max().to(torch.float32).clamp_min(1e-12)
    scale = amax / E4M3_MAX
    q = (x.to(torch.float32) / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)
    return q, scale


# ------------------------------------------------------------------------------------ counts, inputs


def _flops(p: Params) -> int:
    return 2 * p["M"] * p["N"] * p["K"]


def _bytes(p: Params, dtype: str) -> int:
    e_in = element_bytes(dtype)
    e_out = element_bytes(FP8_OUT_DTYPE) if dtype == "fp8" else e_in
    return (p["M"] * p["K"] + p["K"] * p["N"]) * e_in + p["M"] * p["N"] * e_out


def _inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    """A (M, K) and B (K, N), row-major; fp8: quantised e4m3 with B column-major (the K-major 'TN' layout
    cuBLASLt's fp8 GEMM requires), plus the per-tensor dequantisation scales."""
    a = randn((p["M"], p["K"]), gen, device, dtype)
    b = randn((p["K"], p["N"]), gen, device, dtype)
    if dtype != "fp8":
        return {"a": a, "b": b}
    qa, sa = quantize_fp8(a)
    qb, sb = quantize_fp8(b)
    return {"a": qa, "b": qb.t().contiguous().t(), "scale_a": sa, "scale_b": sb}


def _reference(inputs: dict) -> torch.Tensor:
    return reference.gemm_ref(inputs["a"], inputs["b"], inputs.get("scale_a"), inputs.get("scale_b"))


# ------------------------------------------------------------------------------------ implementations


def _builder(fn: str, fp8_fn: str, fp8_accum: str | None = None) -> Builder:
    """``fp8_accum``: for the torch fp8 path, ``"same"`` as the Triton kernel's accumulation or ``"other"``."""

    def build(inputs: dict, dtype: str):
        mod = kernel("gemm")
        a, b = inputs["a"], inputs["b"]
        if dtype == "fp8":
            f8 = getattr(mod, fp8_fn)
            sa, sb, out_dtype = inputs["scale_a"], inputs["scale_b"], dtypes.torch_dtype(FP8_OUT_DTYPE)
            if fp8_accum is None:
                return lambda: f8(a, b, sa, sb, out_dtype=out_dtype)
            fast = triton_fp8_fast_accum(a.device) == (fp8_accum == "same")
            return lambda: f8(a, b, sa, sb, out_dtype=out_dtype, fast_accum=fast)
        f = getattr(mod, fn)
        tf32 = dtype == "tf32"
        return lambda: f(a, b, allow_tf32=tf32)

    return build


def triton_fp8_fast_accum(device: torch.device | str) -> bool:
    """Does the Triton fp8 kernel accumulate fast on ``device``? ``FP8_FAST_ACCUM`` and an sm_90 GPU: Triton's
    imprecise fp8 accumulation (``max_num_imprecise_acc``) exists on sm_90 only; elsewhere it sums in fp32."""
    return bool(kernel("gemm").FP8_FAST_ACCUM) and hw.compute_capability(device) == (9, 0)


def _fp8_notes(side: str):
    """``notes`` of an fp8 record: the accumulation mode of the Triton kernel (``side="triton"``) or of the
    torch call made in the ``"same"`` / ``"other"`` mode, on ``device``."""

    def notes(shape: Shape, dtype: str, device: torch.device) -> str | None:
        if dtype != "fp8":
            return None
        try:
            fast = triton_fp8_fast_accum(device)
        except Exception:  # the kernel module cannot be imported: its availability check says why
            return None
        if side == "triton":
            return f"fp8 accumulation: {'fast (not promoted to fp32)' if fast else 'promoted fp32'} (tl.dot)"
        fast = fast if side == "same" else not fast
        mode = "fast (use_fast_accum=True)" if fast else "promoted fp32 (use_fast_accum=False)"
        return f"fp8 accumulation: {mode}, {'as' if side == 'same' else 'unlike'} the Triton kernel"

    return notes


def _scaled_mm_fits(mod, dtype: str, device: torch.device, shape: Shape | None) -> tuple[bool, str]:
    """torch._scaled_mm (the fp8 baseline) needs K and N multiples of 16."""
    if dtype == "fp8" and shape is not None and (shape["K"] % 16 or shape["N"] % 16):
        return False, f"torch._scaled_mm needs K and N divisible by 16, got K={shape['K']}, N={shape['N']}"
    return True, ""


_IMPLS = (
    kernel_impl(
        "triton",
        "gemm",
        ("matmul", "matmul_fp8"),
        _builder("matmul", "matmul_fp8"),
        triton=True,
        probe="triton_available",
        notes=_fp8_notes("triton"),
    ),
    kernel_impl(
        "torch",
        "gemm",
        ("torch_matmul", "torch_matmul_fp8"),
        _builder("torch_matmul", "torch_matmul_fp8", "same"),
        triton=False,
        baseline=True,
        extra=_scaled_mm_fits,
        probe="torch_available",
        notes=_fp8_notes("same"),
    ),
    kernel_impl(
        "torch-fp8-altacc",
        "gemm",
        ("torch_matmul_fp8", "FP8_FAST_ACCUM"),
        _builder("torch_matmul", "torch_matmul_fp8", "other"),
        triton=False,
        extra=_scaled_mm_fits,
        probe="torch_available",
        only_dtypes=("fp8",),
        notes=_fp8_notes("other"),
    ),
)


# ------------------------------------------------------------------------------------ shapes


def _mnk(m: int, n: int, k: int, label: str | None = None) -> Shape:
    return Shape(label or f"{m}x{n}x{k}", {"M": m, "N": n, "K": k})


# TransformerDims.gemms names -> the word in shape labels ("up" and "gate" share a shape: "mlp-up" covers both)
_LABEL = {"qkv": "qkv", "out": "out", "up": "mlp-up", "down": "mlp-down"}


def _layer_gemm(model: TransformerDims, which: str, m: int, suffix: str) -> Shape:
    """One of ``model``'s per-layer projections for ``m`` tokens, labelled ``<model>-<projection>-<suffix>``."""
    _, mm, n, k = next(g for g in model.gemms(m) if g[0] == which)
    return _mnk(mm, n, k, f"{model.key}-{_LABEL[which]}-{suffix}")


PREFILL_TOKENS = 4096
DECODE_TOKENS = (1, 8, 16)

_GPU = (
    _mnk(4096, 4096, 4096),
    _mnk(8192, 8192, 8192),
    _mnk(16384, 16384, 16384),
    *(
        _layer_gemm(LLAMA3_70B, w, PREFILL_TOKENS, f"{PREFILL_TOKENS}tok")
        for w in ("qkv", "out", "up", "down")
    ),
    _mnk(
        PREFILL_TOKENS,
        DEEPSEEK_V3.hidden,
        DEEPSEEK_V3.hidden,
        f"{DEEPSEEK_V3.key}-{DEEPSEEK_V3.hidden}x{DEEPSEEK_V3.hidden}-{PREFILL_TOKENS}tok",
    ),
    *(_layer_gemm(DEEPSEEK_V3, w, PREFILL_TOKENS, f"{PREFILL_TOKENS}tok") for w in ("up", "down")),
)
_CPU = (_mnk(67, 45, 129), _mnk(128, 128, 128))

_DECODE_GPU = tuple(_layer_gemm(LLAMA3_70B, w, m, f"m{m}") for w in ("out", "up") for m in DECODE_TOKENS)
_DECODE_CPU = (_mnk(1, 67, 129, "m1-67x129"),)


# ------------------------------------------------------------------------------------ workloads

_COMMON = dict(
    family="gemm",
    dtypes=("fp32", "tf32", "fp16", "bf16", "fp8"),
    params=("M", "N", "K"),
    impls=_IMPLS,
    flops_fn=_flops,
    bytes_fn=_bytes,
    inputs_fn=_inputs,
    reference_fn=_reference,
)

WORKLOADS = (
    Workload(
        name="gemm",
        intent="compute",
        description=f"C = A @ B, training/prefill-sized (squares; {LLAMA3_70B.name} and {DEEPSEEK_V3.name} projections)",
        tiers={"cpu": _CPU, "gpu": _GPU},
        **_COMMON,
    ),
    Workload(
        name="gemm_decode",
        intent="memory",
        description=(
            f"skinny decode GEMMs: M = {', '.join(map(str, DECODE_TOKENS))} tokens against {LLAMA3_70B.name}"
            " weights (weight-read bound)"
        ),
        tiers={"cpu": _DECODE_CPU, "gpu": _DECODE_GPU},
        cpu_dtypes=("fp16",),  # decode weights are half precision; keeps `pytest bench/` on the CPU short
        **_COMMON,
    ),
)
