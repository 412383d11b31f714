"""Decode attention (kernels: ``gpucompare.kernels.decode``): ``decode_attention``, one query token per sequence
over a KV cache (grouped-query attention), the memory-bound decode step.

Cost model (batch ``b``, query heads ``hq``, KV heads ``hkv``, cache length ``L``, head dim ``d``; ``elt`` the
storage bytes of one element): ``F = 4·b·hq·L·d``; ``B = (2·b·hkv·L·d + 2·b·hq·d)·elt``: the K and V caches plus
q and the output (both tiny, included).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gpucompare import reference
from gpucompare.dims import LLAMA3_8B, LLAMA3_70B, TransformerDims
from gpucompare.lazy import torch
from gpucompare.workloads.attention import check_gqa, head_dim_ok
from gpucompare.workloads.availability import kernel
from gpucompare.workloads.base import Builder, Params, Shape, Workload, element_bytes, kernel_impl, randn


def _flops(p: Params) -> int:
    return 4 * p["batch"] * p["hq"] * p["L"] * p["d"]


def _bytes(p: Params, dtype: str) -> int:
    cache = 2 * p["batch"] * p["hkv"] * p["L"] * p["d"]
    q_and_out = 2 * p["batch"] * p["hq"] * p["d"]
    return (cache + q_and_out) * element_bytes(dtype)


def _inputs(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
    b, hq, hkv, length, d = (p[k] for k in ("batch", "hq", "hkv", "L", "d"))
    return {
        "q": randn((b, hq, d), gen, device, dtype),
        "k_cache": randn((b, hkv, length, d), gen, device, dtype),
        "v_cache": randn((b, hkv, length, d), gen, device, dtype),
        "sm_scale": 1.0 / math.sqrt(d),
    }


def _reference(inputs: dict) -> torch.Tensor:
    """decode_attention_ref without repeating the KV heads: a KV head's ``group`` query heads attend,
    unmasked, to the same keys, so they are folded into the query-length axis of one attention_ref call
    (head ``h`` reads KV head ``h // group``, as in the reference). Same float64 math, ``group``× less memory."""
    q, k, v, scale = inputs["q"], inputs["k_cache"], inputs["v_cache"], inputs["sm_scale"]
    b, hq, d = q.shape
    hkv = k.shape[1]
    out = reference.attention_ref(q.reshape(b, hkv, hq // hkv, d), k, v, causal=False, sm_scale=scale)
    return out.reshape(b, hq, d)


def _builder(fn: str) -> Builder:
    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        f = getattr(kernel("decode"), fn)
        q, k, v, scale = inputs["q"], inputs["k_cache"], inputs["v_cache"], inputs["sm_scale"]
        return lambda: f(q, k, v, sm_scale=scale)

    return build


_IMPLS = (
    kernel_impl(
        "triton",
        "decode",
        ("decode_attention",),
        _builder("decode_attention"),
        triton=True,
        extra=head_dim_ok,
    ),
    kernel_impl(
        "torch",
        "decode",
        ("torch_decode_attention",),
        _builder("torch_decode_attention"),
        triton=False,
        baseline=True,
    ),
)


# ------------------------------------------------------------------------------------ shapes


def _decode(b: int, hq: int, hkv: int, length: int, d: int, label: str) -> Shape:
    return Shape(label, {"batch": b, "hq": hq, "hkv": hkv, "L": length, "d": d})


def _ctx(length: int) -> str:
    return f"{length // 1024}k" if length % 1024 == 0 else str(length)


def _model_decode(model: TransformerDims, b: int, length: int, label: str) -> Shape:
    return _decode(b, model.q_heads, model.kv_heads, length, model.head_dim, label)


def _named(model: TransformerDims, b: int, length: int) -> Shape:
    """``model``'s attention, labelled by the model: ``llama3-70b-b8-ctx32k``."""
    return _model_decode(model, b, length, f"{model.key}-b{b}-ctx{_ctx(length)}")


def _geometry(model: TransformerDims, b: int, length: int) -> Shape:
    """``model``'s attention, labelled by its geometry, which other models share: ``h32-kv8-d128-b8-ctx32k``."""
    geometry = f"h{model.q_heads}-kv{model.kv_heads}-d{model.head_dim}"
    return _model_decode(model, b, length, f"{geometry}-b{b}-ctx{_ctx(length)}")


_GPU = (
    *(_named(LLAMA3_70B, b, n) for b, n in ((8, 32768), (1, 131072), (64, 4096), (16, 16384))),
    *(_geometry(LLAMA3_8B, b, n) for b, n in ((8, 32768), (1, 131072))),
)
_CPU = (_decode(2, 4, 2, 131, 64, "b2-h4-kv2-ctx131-d64"),)


WORKLOADS = (
    Workload(
        name="decode_attention",
        family="attention",
        intent="memory",
        description="one query token per sequence over a KV cache (GQA), the decode step",
        dtypes=("fp16", "bf16", "fp32"),
        gpu_dtypes=("fp16", "bf16"),
        params=("batch", "hq", "hkv", "L", "d"),
        tiers={"cpu": _CPU, "gpu": _GPU},
        impls=_IMPLS,
        flops_fn=_flops,
        bytes_fn=_bytes,
        inputs_fn=_inputs,
        reference_fn=_reference,
        validate_fn=check_gqa,
    ),
)
