"""Attention workloads (kernels: ``gpucompare.kernels.attention``): ``attention_fwd`` and ``attention_bwd``,
causal and not, with grouped-query attention; a Triton kernel against the SDPA backends.

Cost model (batch ``b``, query heads ``hq``, KV heads ``hkv``, lengths ``sq``, ``sk``, head dim ``d``; ``elt`` the
storage bytes of one element):

- forward: ``F = 4·b·hq·d·P`` where ``P`` is the number of (query, key) pairs computed: ``sq·sk`` without a mask,
  exactly counted with the causal mask aligned bottom-right as in :func:`gpucompare.reference.attention_ref`
  (query ``i`` sees keys ``j <= i + sk - sq``; ``P = sq(sq+1)/2`` when ``sq = sk``). Two matmuls of
  ``2·d`` FLOP per pair: ``S = Q Kᵀ`` and ``O = P V``. ``B = (2·b·hq·sq·d + 2·b·hkv·sk·d)·elt`` (Q, O; K, V).
- backward: ``F = 2.5 × forward = 10·b·hq·d·P`` (five matmuls against the forward's two: S is recomputed,
  then dV, dP, dQ, dK; flash-attention's convention and torch's ``sdpa_backward_flop_count``).
  ``B = (4·b·hq·sq·d + 4·b·hkv·sk·d)·elt``: Q, O, dO read and dQ written; K, V read and dK, dV written
  (the fp32 log-sum-exp, ``4·b·hq·sq`` bytes, is left out).

``Impl.available`` with a shape also refuses sizes that cannot fit (``sdpa-math`` materialises the full score
matrix).

Baselines: the SDPA backends form a pool (``Impl.baseline_pool``); per case, the fastest backend that passed its
check is the baseline (the record's ``best_baseline``). ``sdpa-flash`` stays the workload's fixed baseline for
the low-precision error rule. GQA: a backend that does not take grouped-query attention itself
(``enable_gqa``, asked of torch on the device: ``kernels.attention.gqa_native``) gets K/V expanded to the
query heads; in the forward that copy is made in setup, not timed (noted in the
record: it then reads ``hq/hkv`` times the K/V bytes a native kernel reads); in the backward the expansion is
part of the graph, so its backward (the sum of dK/dV over each group) is timed, as in real use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

from gpucompare import hw, reference
from gpucompare.dims import LLAMA3_70B, TransformerDims
from gpucompare.dtypes import torch_dtype
from gpucompare.lazy import torch
from gpucompare.workloads.availability import Extra, ask, kernel
from gpucompare.workloads.base import Builder, Params, Shape, Workload, element_bytes, kernel_impl, randn

ATTENTION_IMPLS = ("triton", "sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math")
ATTENTION_BASELINE = "sdpa-flash"

# References at GPU sizes: attention_ref materialises the (sq, sk) scores in float64. Above this many score
# bytes the reference is computed one (batch, query head) at a time (same function, same math).
REF_CHUNK_BYTES = 1 << 28
# sdpa-math materialises the scores too: refuse it when its estimate exceeds this share of device memory.
MATH_MEMORY_FRACTION = 0.5
CPU_MATH_MEMORY_BYTES = 2 << 30


# ------------------------------------------------------------------------------------ counts


def attention_pairs(sq: int, sk: int, causal: bool) -> int:
    """(query, key) pairs computed: ``sq·sk``, or with the bottom-right causal mask of
    :func:`gpucompare.reference.attention_ref` (query ``i`` sees keys ``0 <= j <= i + sk - sq``)
    ``Σ_i clamp(i + sk - sq + 1, 0, sk)``, which is ``sq(sq+1)/2 + sq·(sk - sq)`` when ``sq <= sk``."""
    if not causal:
        return sq * sk
    off = sk - sq
    if sq <= sk:
        return sq * (sq + 1) // 2 + sq * off
    return sum(min(max(i + off + 1, 0), sk) for i in range(sq))


def check_gqa(p: Params) -> None:
    """Grouped-query attention: every KV head serves the same number of query heads."""
    if p["hq"] % p["hkv"]:
        raise ValueError(f"hq={p['hq']} must be a multiple of hkv={p['hkv']} (grouped-query attention)")


def _validate(p: Params) -> None:
    check_gqa(p)
    if p["causal"] and p["sq"] > p["sk"]:
        raise ValueError(
            f"causal attention needs sq <= sk (got sq={p['sq']}, sk={p['sk']}): rows with no key"
        )


def _fwd_flops(p: Params) -> int:
    return 4 * p["batch"] * p["hq"] * p["d"] * attention_pairs(p["sq"], p["sk"], bool(p["causal"]))


def _bwd_flops(p: Params) -> int:
    return (
        10 * p["batch"] * p["hq"] * p["d"] * attention_pairs(p["sq"], p["sk"], bool(p["causal"]))
    )  # 2.5 × fwd


def _fwd_bytes(p: Params, dtype: str) -> int:
    return (
        2 * p["batch"] * p["hq"] * p["sq"] * p["d"] + 2 * p["batch"] * p["hkv"] * p["sk"] * p["d"]
    ) * element_bytes(dtype)


def _bwd_bytes(p: Params, dtype: str) -> int:
    return 2 * _fwd_bytes(p, dtype)  # each of Q, O, dO, dQ and K, V, dK, dV once


# ------------------------------------------------------------------------------------ inputs, references


def _inputs(backward: bool) -> Callable[[Params, str, torch.device, torch.Generator], dict]:
    def make(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
        b, hq, hkv, sq, sk, d = (p[k] for k in ("batch", "hq", "hkv", "sq", "sk", "d"))
        out = {
            "q": randn((b, hq, sq, d), gen, device, dtype),
            "k": randn((b, hkv, sk, d), gen, device, dtype),
            "v": randn((b, hkv, sk, d), gen, device, dtype),
            "causal": bool(p["causal"]),
            "sm_scale": 1.0 / math.sqrt(d),
        }
        if backward:
            out["do"] = randn((b, hq, sq, d), gen, device, dtype)
        return out

    return make


def _ref_chunked(q: torch.Tensor, k: torch.Tensor) -> bool:
    b, hq, sq, _ = q.shape
    return b * hq * sq * k.shape[2] * 8 > REF_CHUNK_BYTES


def _fwd_reference(inputs: dict) -> torch.Tensor:
    """attention_ref in float64; one (batch, query head) at a time when the scores would be large."""
    q, k, v, causal, scale = (inputs[n] for n in ("q", "k", "v", "causal", "sm_scale"))
    if not _ref_chunked(q, k):
        return reference.attention_ref(q, k, v, causal=causal, sm_scale=scale)
    b, hq = q.shape[:2]
    group = hq // k.shape[1]
    out = torch.empty(q.shape, dtype=torch.float64, device=q.device)
    for i in range(b):
        for h in range(hq):
            g = h // group
            sl = (slice(i, i + 1), slice(g, g + 1))
            out[i, h] = reference.attention_ref(
                q[i : i + 1, h : h + 1], k[sl], v[sl], causal=causal, sm_scale=scale
            )[0, 0]
    return out


def _bwd_reference(inputs: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """attention_bwd_ref (dq, dk, dv) in float64; chunked like the forward, dk/dv summed over each group."""
    q, k, v, do, causal, scale = (inputs[n] for n in ("q", "k", "v", "do", "causal", "sm_scale"))
    if not _ref_chunked(q, k):
        return tuple(reference.attention_bwd_ref(q, k, v, do, causal=causal, sm_scale=scale))
    b, hq = q.shape[:2]
    group = hq // k.shape[1]
    dq = torch.empty(q.shape, dtype=torch.float64, device=q.device)
    dk = torch.zeros(k.shape, dtype=torch.float64, device=q.device)
    dv = torch.zeros(v.shape, dtype=torch.float64, device=q.device)
    for i in range(b):
        for h in range(hq):
            g = h // group
            qs, ks = (slice(i, i + 1), slice(h, h + 1)), (slice(i, i + 1), slice(g, g + 1))
            gq, gk, gv = reference.attention_bwd_ref(
                q[qs], k[ks], v[ks], do[qs], causal=causal, sm_scale=scale
            )
            dq[i, h] = gq[0, 0]
            dk[i, g] += gk[0, 0]
            dv[i, g] += gv[0, 0]
    return dq, dk, dv


# ------------------------------------------------------------------------------------ implementations


def _forward_fn(impl: str) -> Callable[[ModuleType, dict], Callable[..., torch.Tensor]]:
    """(kernel module, inputs) -> f(q, k, v) for the triton kernel or one sdpa backend."""

    def get(mod: ModuleType, inputs: dict) -> Callable[..., torch.Tensor]:
        causal, scale = inputs["causal"], inputs["sm_scale"]
        if impl == "triton":
            return lambda q, k, v: mod.attention(q, k, v, causal=causal, sm_scale=scale)
        backend = impl.removeprefix("sdpa-")
        return lambda q, k, v: mod.sdpa(q, k, v, causal=causal, sm_scale=scale, backend=backend)

    return get


def _expands_gqa(
    impl: str, hq: int, hkv: int, dtype: torch.dtype, device: torch.device, head_dim: int
) -> bool:
    """An SDPA backend that does not take GQA itself here (``kernels.attention.gqa_native``; ``sdpa`` repeats
    K/V for it) at hq != hkv."""
    if impl == "triton" or hq == hkv:
        return False
    return not kernel("attention").gqa_native(impl.removeprefix("sdpa-"), dtype, device, head_dim)


def _builder(impl: str, backward: bool) -> Builder:
    get = _forward_fn(impl)

    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        f = get(kernel("attention"), inputs)
        if impl == "sdpa-math":
            ok, why = _math_fits(inputs["q"].shape, inputs["k"].shape[2], dtype, inputs["q"].device, backward)
            if not ok:
                raise ValueError(why)
        if not backward:
            q, k, v = inputs["q"], inputs["k"], inputs["v"]
            group = q.shape[1] // k.shape[1]
            if _expands_gqa(impl, q.shape[1], k.shape[1], q.dtype, q.device, q.shape[-1]):  # setup, not timed
                k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
            return lambda: f(q, k, v)
        # Forward once here (never timed); the closure runs only the backward over the stored graph.
        q, k, v = (inputs[n].detach().requires_grad_(True) for n in ("q", "k", "v"))
        do = inputs["do"]
        with torch.enable_grad():
            out = f(q, k, v)
        return lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True)

    return build


def _math_fits(
    q_shape: tuple[int, ...], sk: int, dtype: str, device: torch.device, backward: bool
) -> tuple[bool, str]:
    """sdpa-math materialises the (b, hq, sq, sk) scores and probabilities: estimate ``pairs·(2·elt + 4)``
    bytes forward (scores, probabilities, an fp32 softmax temporary), twice that with the backward."""
    b, hq, sq = q_shape[0], q_shape[1], q_shape[2]
    need = b * hq * sq * sk * (2 * element_bytes(dtype) + 4) * (2 if backward else 1)
    if device.type == "cuda" and hw.has_gpu():
        total = torch.cuda.get_device_properties(device).total_memory
        limit, what = (
            MATH_MEMORY_FRACTION * total,
            f"{MATH_MEMORY_FRACTION:.0%} of this GPU's {total / 2**30:.0f} GiB",
        )
    else:
        limit, what = CPU_MATH_MEMORY_BYTES, f"the CPU limit of {CPU_MATH_MEMORY_BYTES / 2**30:.0f} GiB"
    if need > limit:
        return False, (
            f"sdpa-math materialises the full b·hq·sq·sk = {b}·{hq}·{sq}·{sk} score matrix: "
            f"~{need / 2**30:.1f} GiB needed, more than {what}"
        )
    return True, ""


def _probe_kwargs(shape: Shape | None) -> dict[str, Any]:
    """A tiny probe with this shape's mask and GQA; sq != sk exercises the explicit-mask path."""
    if shape is None:
        return {}
    p = shape.params
    kwargs: dict[str, Any] = {"causal": bool(p["causal"]), "gqa": p["hq"] != p["hkv"], "seq_q": 16}
    kwargs["seq_k"] = 16 if p["sq"] == p["sk"] else 16 + min(int(p["sk"]) - int(p["sq"]), 16)
    return kwargs


def _sdpa_extra(impl: str, backward: bool) -> Extra:
    backend = impl.removeprefix("sdpa-")

    def extra(mod: ModuleType, dtype: str, device: torch.device, shape: Shape | None) -> tuple[bool, str]:
        head_dim = int(shape["d"]) if shape is not None else 128
        ok, why = ask(
            f"sdpa_available({backend!r})",
            mod.sdpa_available,
            backend,
            dtype,
            device,
            head_dim,
            **_probe_kwargs(shape),
        )
        if not ok:
            return False, why
        if impl == "sdpa-math" and shape is not None:
            p = shape.params
            return _math_fits((p["batch"], p["hq"], p["sq"], p["d"]), int(p["sk"]), dtype, device, backward)
        return True, ""

    return extra


def head_dim_ok(mod: ModuleType, dtype: str, device: torch.device, shape: Shape | None) -> tuple[bool, str]:
    """The Triton attention kernels take the head dims in ``attention.SUPPORTED_HEAD_DIMS``."""
    dims = getattr(kernel("attention"), "SUPPORTED_HEAD_DIMS", None)
    if shape is not None and dims is not None and shape["d"] not in dims:
        return False, f"the Triton attention kernels support head dims {dims}, not d={shape['d']}"
    return True, ""


def _gqa_notes(impl: str, backward: bool):
    def notes(shape: Shape, dtype: str, device: torch.device) -> str | None:
        try:
            hq, hkv, d = int(shape["hq"]), int(shape["hkv"]), int(shape["d"])
            expands = _expands_gqa(impl, hq, hkv, torch_dtype(dtype), device, d)
        except Exception:  # the kernel module cannot be imported: its availability check says why
            return None
        if not expands:
            return None
        g = int(shape["hq"]) // int(shape["hkv"])
        if backward:
            return (
                f"GQA: K/V repeated {g}x to the query heads inside the graph; the backward sums dK/dV over each "
                "group (timed, as in real use)"
            )
        return f"GQA: K/V repeated {g}x to the query heads in setup (not timed); reads {g}x the K/V bytes"

    return notes


def _impl(name: str, backward: bool):
    """The Triton kernel or one SDPA backend (``sdpa-<backend>``) of ``gpucompare.kernels.attention``."""
    build = _builder(name, backward)
    if name == "triton":
        return kernel_impl(name, "attention", ("attention",), build, triton=True, extra=head_dim_ok)
    return kernel_impl(
        name,
        "attention",
        ("sdpa", "sdpa_available"),
        build,
        triton=False,
        baseline=name == ATTENTION_BASELINE,
        extra=_sdpa_extra(name, backward),
        baseline_pool=True,
        notes=_gqa_notes(name, backward),
    )


# ------------------------------------------------------------------------------------ shapes


def _attn(b: int, hq: int, hkv: int, s: int, d: int, causal: bool, prefix: str = "") -> Shape:
    kv = f"-kv{hkv}" if hkv != hq else ""
    label = prefix + f"b{b}-h{hq}{kv}-s{s}-d{d}" + ("-causal" if causal else "")
    return Shape(label, {"batch": b, "hq": hq, "hkv": hkv, "sq": s, "sk": s, "d": d, "causal": causal})


def _model_attn(model: TransformerDims, b: int, s: int, causal: bool = True) -> Shape:
    """``model``'s attention (its heads and head dim), labelled ``<model>-b..-h..-kv..``."""
    return _attn(b, model.q_heads, model.kv_heads, s, model.head_dim, causal, prefix=f"{model.key}-")


_GPU = (
    _attn(4, 32, 32, 8192, 128, True),  # the tuning target
    _attn(4, 32, 32, 8192, 128, False),
    _attn(8, 32, 32, 4096, 64, True),
    _attn(8, 32, 32, 4096, 64, False),
    _attn(1, 32, 32, 16384, 128, True),
    _model_attn(LLAMA3_70B, 1, 4096),
    _model_attn(LLAMA3_70B, 1, 8192),
)
_CPU = (_attn(1, 4, 2, 67, 64, False), _attn(1, 4, 2, 67, 64, True))


# ------------------------------------------------------------------------------------ workloads


def _workload(name: str, description: str, backward: bool, **fields: Any) -> Workload:
    """The forward or the backward workload: same shapes, dtypes and implementations."""
    return Workload(
        name=name,
        family="attention",
        intent="compute",
        description=description,
        dtypes=("fp16", "bf16", "fp32"),
        gpu_dtypes=("fp16", "bf16"),
        params=("batch", "hq", "hkv", "sq", "sk", "d", "causal"),
        tiers={"cpu": _CPU, "gpu": _GPU},
        impls=tuple(_impl(impl, backward) for impl in ATTENTION_IMPLS),
        flops_fn=_bwd_flops if backward else _fwd_flops,
        bytes_fn=_bwd_bytes if backward else _fwd_bytes,
        inputs_fn=_inputs(backward),
        reference_fn=_bwd_reference if backward else _fwd_reference,
        validate_fn=_validate,
        **fields,
    )


WORKLOADS = (
    _workload("attention_fwd", "softmax(Q Kᵀ / √d) V forward, causal and not, GQA", backward=False),
    _workload(
        "attention_bwd",
        "attention backward only (dQ, dK, dV); the forward runs in setup",
        backward=True,
        cpu_dtypes=("fp32",),
    ),
)
