"""One reference per operator, and the one rule that says whether an output is correct.

Tests, benchmarks and the runner all import from here; nobody copies a reference.
References compute in float64 on the inputs' device (float32 when ``upcast="fp32"``, which is
the faster choice on the CPU for large problems) from the very tensors the kernel received.

Error measure: ``max|out - ref| / max|ref|`` (norm-wise relative error, robust to elements near
zero). An output passes when it has no NaN/Inf, has the reference's shape, and its error is at most
the dtype's bound, or, when a same-dtype PyTorch output is given as ``baseline``, at most
``BASELINE_FACTOR`` times that baseline's own error plus ``BASELINE_SLACK`` (flash-attention's rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpucompare.lazy import torch

# Relative error bounds per dtype (norm-wise, see module docstring).
TOLERANCES: dict[str, float] = {
    "fp64": 1e-12,
    "fp32": 1e-5,
    "tf32": 1e-3,
    "fp16": 1e-2,
    "bf16": 1e-2,
    # fp8 inputs are quantised before the reference sees them (same inputs), so only the bf16/fp16
    # output rounding and the fp32 accumulation remain.
    "fp8": 2e-2,
}
BASELINE_FACTOR = 2.0
BASELINE_SLACK = 1e-5


def _up(x: torch.Tensor, upcast: str) -> torch.Tensor:
    return x.to(torch.float64 if upcast == "fp64" else torch.float32)


def gemm_ref(
    a: torch.Tensor, b: torch.Tensor, scale_a=None, scale_b=None, upcast: str = "fp64"
) -> torch.Tensor:
    """C = (scale_a * A) @ (scale_b * B); A (M, K), B (K, N) -> (M, N) in the upcast dtype."""
    c = _up(a, upcast) @ _up(b, upcast)
    if scale_a is not None:
        c = c * _up(torch.as_tensor(scale_a), upcast).to(c.device)
    if scale_b is not None:
        c = c * _up(torch.as_tensor(scale_b), upcast).to(c.device)
    return c


def causal_mask(sq: int, sk: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The project's causal convention, bottom-right aligned as in flash-attention: a (sq, sk) boolean
    tensor, True where query i may see key j, i.e. ``j <= i + sk - sq``."""
    i = torch.arange(sq, device=device)[:, None]
    j = torch.arange(sk, device=device)[None, :]
    return j <= i + (sk - sq)


def attention_ref(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool = False,
    sm_scale: float | None = None,
    upcast: str = "fp64",
) -> torch.Tensor:
    """softmax(Q K^T * sm_scale [+ causal mask]) V.

    q (B, Hq, Sq, D); k, v (B, Hkv, Sk, D) with Hq a multiple of Hkv (GQA: query head h reads KV
    head h // (Hq // Hkv)). Causal masking aligns the last query with the last key (query i sees
    keys j <= i + Sk - Sq), as flash-attention does; a query row that sees no key outputs zeros.
    Differentiable, so the backward reference is ``torch.autograd.grad`` through it.
    """
    hq, sq, d = q.shape[1:]
    hkv, sk = k.shape[1], k.shape[2]
    group = hq // hkv
    qf, kf, vf = _up(q, upcast), _up(k, upcast), _up(v, upcast)
    if group > 1:
        kf = kf.repeat_interleave(group, dim=1)
        vf = vf.repeat_interleave(group, dim=1)
    scale = sm_scale if sm_scale is not None else 1.0 / math.sqrt(d)
    s = torch.matmul(qf, kf.transpose(-1, -2)) * scale
    if causal:
        s = s.masked_fill(~causal_mask(sq, sk, q.device), float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # fully masked rows
    return torch.matmul(p, vf)


def attention_bwd_ref(q, k, v, do, causal: bool = False, sm_scale: float | None = None, upcast: str = "fp64"):
    """(dq, dk, dv) of ``attention_ref`` for the output gradient ``do``, in the upcast dtype."""
    dt = torch.float64 if upcast == "fp64" else torch.float32
    qf, kf, vf = (t.detach().to(dt).requires_grad_(True) for t in (q, k, v))
    out = attention_ref(qf, kf, vf, causal=causal, sm_scale=sm_scale, upcast=upcast)
    return torch.autograd.grad(out, (qf, kf, vf), do.to(dt))


def decode_attention_ref(
    q, k_cache, v_cache, sm_scale: float | None = None, upcast: str = "fp64"
) -> torch.Tensor:
    """One query token per sequence over a KV cache: q (B, Hq, D), caches (B, Hkv, L, D) -> (B, Hq, D)."""
    return attention_ref(
        q.unsqueeze(2), k_cache, v_cache, causal=False, sm_scale=sm_scale, upcast=upcast
    ).squeeze(2)


def copy_ref(x: torch.Tensor, upcast: str = "fp64") -> torch.Tensor:
    return _up(x, upcast).clone()


def triad_ref(a: torch.Tensor, b: torch.Tensor, scalar: float, upcast: str = "fp64") -> torch.Tensor:
    """STREAM triad: a + scalar * b."""
    return _up(a, upcast) + scalar * _up(b, upcast)


@dataclass(frozen=True)
class Check:
    ok: bool
    rel_error: float
    bound: float
    message: str


def collective_ref(op: str, rank_input, rank: int, world: int, upcast: str = "fp64") -> torch.Tensor:
    """What rank ``rank`` of ``world`` holds after collective ``op`` (see ``gpucompare.kernels.collective``),
    from ``rank_input(j)``, rank ``j``'s input (1-D; chunked ops split it in ``world`` equal chunks).

    all_reduce Σ_j x_j; all_gather concat_j x_j; reduce_scatter Σ_j x_j[rank]; all_to_all concat_j x_j[rank];
    broadcast x_0; send_recv x_0 on rank 1, x_rank elsewhere.
    """
    if op in ("broadcast", "send_recv"):
        src = 0 if op == "broadcast" or rank == 1 else rank
        return _up(rank_input(src), upcast)
    if op == "all_gather":
        return torch.cat([_up(rank_input(j), upcast) for j in range(world)])
    chunk = (lambda t: t.chunk(world)[rank]) if op in ("reduce_scatter", "all_to_all") else (lambda t: t)
    if op == "all_to_all":
        return torch.cat([_up(chunk(rank_input(j)), upcast) for j in range(world)])
    if op not in ("all_reduce", "reduce_scatter"):
        raise ValueError(f"unknown collective {op!r}")
    total = _up(chunk(rank_input(0)), upcast)
    for j in range(1, world):
        total = total + _up(chunk(rank_input(j)), upcast)
    return total


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """max|out - ref| / max|ref| in float64; inf when out has NaN or Inf."""
    o = out.detach().to(torch.float64)
    r = ref.detach().to(torch.float64).to(o.device)
    if not torch.isfinite(o).all():
        return math.inf
    denom = r.abs().max().item() if r.numel() else 0.0
    num = (o - r).abs().max().item() if r.numel() else 0.0
    return num / denom if denom > 0 else num


def check(out, ref, dtype: str, baseline=None, bound: float | None = None) -> Check:
    """Is ``out`` correct against ``ref``? Tuples (e.g. dq, dk, dv) are checked element by element.

    ``baseline``: a same-dtype output of the PyTorch counterpart on the same inputs; when given, the
    bound is ``max(dtype bound, BASELINE_FACTOR * baseline error + BASELINE_SLACK)``.
    """
    if isinstance(out, (tuple, list)):
        if not isinstance(ref, (tuple, list)) or len(out) != len(ref):
            return Check(False, math.inf, 0.0, "output and reference differ in arity")
        bases = baseline if baseline is not None else [None] * len(out)
        checks = [check(o, r, dtype, b, bound) for o, r, b in zip(out, ref, bases)]
        worst = max(checks, key=lambda c: c.rel_error / c.bound if c.bound else math.inf)
        bad = [f"[{i}] {c.message}" for i, c in enumerate(checks) if not c.ok]
        return Check(all(c.ok for c in checks), worst.rel_error, worst.bound, "; ".join(bad) or worst.message)
    if dtype not in TOLERANCES:
        raise ValueError(f"no tolerance for dtype {dtype!r}; known: {', '.join(TOLERANCES)}")
    limit = TOLERANCES[dtype] if bound is None else bound
    if baseline is not None:
        limit = max(limit, BASELINE_FACTOR * relative_error(baseline, ref) + BASELINE_SLACK)
    if tuple(out.shape) != tuple(ref.shape):
        return Check(False, math.inf, limit, f"shape {tuple(out.shape)} != reference {tuple(ref.shape)}")
    err = relative_error(out, ref)
    if not math.isfinite(err):
        return Check(False, err, limit, "output has NaN or Inf")
    ok = err <= limit
    return Check(
        ok, err, limit, f"relative error {err:.3g} {'<=' if ok else '>'} bound {limit:.3g} ({dtype})"
    )


def poison_(t: torch.Tensor) -> torch.Tensor:
    """Fill a freshly allocated output with NaN (floats) so an element a kernel never writes fails the check."""
    if t.is_floating_point():
        if t.dtype in (getattr(torch, "float8_e4m3fn", None), getattr(torch, "float8_e5m2", None)):
            t.view(torch.uint8).fill_(0x7F)  # NaN in e4m3fn
        else:
            t.fill_(float("nan"))
    return t
