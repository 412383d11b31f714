"""One transformer layer composed from measured workloads: train, prefill and decode steps, tokens/s.

The layer's dimensions come from :mod:`gpucompare.dims` (Llama-3-70B by default); each piece's FLOPs and
bytes from ``gpucompare.workloads`` (the only cost model); its efficiencies from the nearest measured
shape of the same workload and dtype, projected onto each chip by the one rule
(:func:`gpucompare.model.projection.project_work`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gpucompare.dims import LLAMA3_70B, TransformerDims
from gpucompare.model.projection import Analysis, project_work
from gpucompare.model.roofline import Measured, efficiencies
from gpucompare.specs import Chip

STEPS = ("train", "prefill", "decode")

CountsFn = Callable[[str, Mapping[str, Any], str, str], tuple[float, float]]


@dataclass(frozen=True)
class LayerConfig:
    """One transformer layer of ``dims`` (default Llama-3-70B) and the three steps composed from it.

    train: fwd + bwd over ``train_batch × train_seq`` tokens (GEMM bwd = 2 × fwd GEMMs: dX and dW;
    attention bwd = the ``attention_bwd`` workload); prefill: fwd over ``prefill_batch × prefill_seq``
    tokens; decode: one new token per sequence for ``decode_batch`` sequences (skinny GEMMs, M = batch)
    plus decode attention over a KV cache of ``decode_context`` tokens. ``dims.layers`` only scales the
    tokens/s figure to a full model (GEMMs and attention only: no embedding, norms or communication).
    """

    dims: TransformerDims = LLAMA3_70B
    dtype: str = "bf16"
    train_batch: int = 1
    train_seq: int = 4096
    prefill_batch: int = 1
    prefill_seq: int = 4096
    decode_batch: int = 32
    decode_context: int = 4096


@dataclass(frozen=True)
class Piece:
    """One composed piece of a step: a workload at a shape, ``multiplier`` times."""

    name: str
    workload: str
    dims: Mapping[str, int | bool]
    multiplier: float = 1.0


def _full_pass(step: str, cfg: LayerConfig) -> list[Piece]:
    """Train or prefill: the layer's GEMMs over every token, causal attention (and its bwd for train)."""
    dims = cfg.dims
    b, s = (cfg.train_batch, cfg.train_seq) if step == "train" else (cfg.prefill_batch, cfg.prefill_seq)
    mult = 3.0 if step == "train" else 1.0  # fwd + bwd (dX, dW: 2 × fwd)
    pieces = [Piece(f"gemm-{n}", "gemm", {"M": M, "N": N, "K": K}, mult) for n, M, N, K in dims.gemms(b * s)]
    att = {"batch": b, "sq": s, "sk": s, "hq": dims.q_heads, "hkv": dims.kv_heads, "d": dims.head_dim}
    pieces.append(Piece("attention-fwd", "attention_fwd", {**att, "causal": True}))
    if step == "train":
        pieces.append(Piece("attention-bwd", "attention_bwd", {**att, "causal": True}))
    return pieces


def _decode(cfg: LayerConfig) -> list[Piece]:
    """Decode: skinny GEMMs (M = batch) and attention of one token over the KV cache."""
    dims, b = cfg.dims, cfg.decode_batch
    pieces = [Piece(f"gemm-{n}", "gemm", {"M": M, "N": N, "K": K}) for n, M, N, K in dims.gemms(b)]
    att = {"batch": b, "hq": dims.q_heads, "hkv": dims.kv_heads, "L": cfg.decode_context, "d": dims.head_dim}
    pieces.append(Piece("decode-attention", "decode_attention", att))
    return pieces


def step_pieces(step: str, cfg: LayerConfig) -> list[Piece]:
    """The pieces of ``step`` ("train" | "prefill" | "decode") for one layer."""
    if step in ("train", "prefill"):
        return _full_pass(step, cfg)
    if step == "decode":
        return _decode(cfg)
    raise ValueError(f"unknown step {step!r}; known: {', '.join(STEPS)}")


def step_tokens(step: str, cfg: LayerConfig) -> int:
    return {
        "train": cfg.train_batch * cfg.train_seq,
        "prefill": cfg.prefill_batch * cfg.prefill_seq,
        "decode": cfg.decode_batch,
    }[step]


def default_counts(workload: str, dims: Mapping[str, Any], dtype: str, label: str) -> tuple[float, float]:
    """(FLOPs, bytes) of a piece from ``gpucompare.workloads`` (the only cost model)."""
    from gpucompare.workloads import Shape, get_workload  # imports torch: only when composing

    w = get_workload(workload)
    shape = Shape(label=label, params=dict(dims))
    return float(w.flops(shape)), float(w.bytes(shape, dtype))


def _shape_distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Shape distance: Σ over shared numeric params of |log2 a - log2 b|, + 1 per other differing param."""
    dist = 0.0
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
        if numeric and x > 0 and y > 0:
            dist += abs(math.log2(x) - math.log2(y))
        else:
            dist += 0.0 if x == y else 1.0
    return dist


def nearest_measured(
    analysis: Analysis, workload: str, dtype: str, params: Mapping[str, Any]
) -> Measured | None:
    """Best-implementation record of ``workload``/``dtype`` with the shape nearest ``params`` (GPU first)."""
    cands = [m for m in analysis.best() if m.workload == workload and m.dtype == dtype]
    if not cands:
        return None
    return min(
        cands, key=lambda m: (m.pipeline_check, _shape_distance(m.shape, params), m.run_id, m.shape_label)
    )


@dataclass(frozen=True)
class PieceResult:
    name: str
    workload: str
    status: str
    reason: str
    time_s: float | None  # multiplier included
    bound: str | None
    matched: str  # "<run_id>:<shape_label>/<impl>" of the record whose efficiencies were used


@dataclass(frozen=True)
class StepResult:
    chip_id: str
    step: str
    status: str  # ok | unsupported | unknown | unmeasured
    reason: str
    time_s: float | None
    tokens: int
    tokens_per_s: float | None  # for the full ``dims.layers``-deep stack
    pieces: tuple[PieceResult, ...]
    pipeline_check: bool

    @property
    def bound_summary(self) -> str | None:
        if self.status != "ok":
            return None
        t = {"compute": 0.0, "memory": 0.0}
        for p in self.pieces:
            t[p.bound] += p.time_s or 0.0
        return "compute" if t["compute"] >= t["memory"] else "memory"

    def to_dict(self) -> dict[str, Any]:
        """The flat row the CLI's JSON and the report's table print (pieces summarised as ``matched``)."""
        return {
            "chip_id": self.chip_id,
            "step": self.step,
            "status": self.status,
            "reason": self.reason,
            "time_s": self.time_s,
            "tokens": self.tokens,
            "tokens_per_s": self.tokens_per_s,
            "bound": self.bound_summary,
            "pipeline_check": self.pipeline_check,
            "matched": "; ".join(f"{p.name}<-{p.matched}" for p in self.pieces if p.matched),
        }


def _compose_piece(
    analysis: Analysis, piece: Piece, step: str, chip: Chip, cfg: LayerConfig, counts: CountsFn
) -> tuple[PieceResult, Measured | None]:
    """One piece projected onto ``chip`` with the efficiencies of its nearest measured record."""
    F, B = counts(piece.workload, piece.dims, cfg.dtype, f"{step}-{piece.name}")
    m = nearest_measured(analysis, piece.workload, cfg.dtype, piece.dims)
    if m is None:
        reason = f"no {piece.workload} {cfg.dtype} measurement"
        return PieceResult(piece.name, piece.workload, "unmeasured", reason, None, None, ""), None
    eff = efficiencies(m, analysis.of_run(m.run_id))
    status, reason, t, bound = project_work(F, B, cfg.dtype, chip, eff.e_c, eff.e_m)
    time_s = None if t is None else t * piece.multiplier
    matched = f"{m.run_id}:{m.shape_label}/{m.impl}"
    return PieceResult(piece.name, piece.workload, status, reason, time_s, bound, matched), m


def compose_step(analysis: Analysis, chip: Chip, step: str, cfg: LayerConfig, counts: CountsFn) -> StepResult:
    """One step on one chip: Σ of its pieces' projected times (pieces run one after another)."""
    pieces, pipeline_check = [], False
    for piece in step_pieces(step, cfg):
        result, m = _compose_piece(analysis, piece, step, chip, cfg, counts)
        pieces.append(result)
        pipeline_check = pipeline_check or (m is not None and m.pipeline_check)
    worst = next((p for p in pieces if p.status != "ok"), None)
    status, reason = ("ok", "") if worst is None else (worst.status, f"{worst.name}: {worst.reason}")
    t = sum(p.time_s or 0.0 for p in pieces) if worst is None else None
    tokens = step_tokens(step, cfg)
    tps = tokens / (t * cfg.dims.layers) if t else None
    return StepResult(chip.id, step, status, reason, t, tokens, tps, tuple(pieces), pipeline_check)


def compose_steps(
    analysis: Analysis,
    chips: Iterable[Chip],
    cfg: LayerConfig | None = None,
    counts: CountsFn | None = None,
) -> list[StepResult]:
    """Time and tokens/s of train, prefill and decode steps of one layer on each chip.

    Each piece's FLOPs and bytes come from ``counts`` (default: ``gpucompare.workloads``); its
    efficiencies from the nearest measured shape of the same workload and dtype (``nearest_measured``,
    GPU runs first), chosen per :func:`gpucompare.model.roofline.efficiencies`. A step's status is that
    of its first piece that is not ok ("unmeasured" when no record of the piece's workload exists).
    Step time = Σ multiplier × projected piece time (pieces run one after another).
    """
    cfg = cfg or LayerConfig()
    counts = counts or default_counts
    return [compose_step(analysis, chip, step, cfg, counts) for chip in chips for step in STEPS]
