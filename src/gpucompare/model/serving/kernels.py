"""The efficiencies a serving step runs at on one chip, from the calibrated kernel projections
(:func:`gpucompare.model.predict.predict`), and the time of one step from them and the communication model.

Each piece of a step (:mod:`gpucompare.model.serving.work`) takes ``max(F / (e_c · P), B / (e_m · BW))``:

- GEMM pieces: ``e_c`` of the ``gemm`` workload in the serving precision (fp4 has no GEMM evidence: fp8's
  efficiency at the chip's fp4 peak, said so), ``e_m`` of ``gemm_decode`` (weights streamed by skinny GEMMs);
- attention pieces: ``e_c`` of ``attention_fwd`` in bf16 (prefill), ``e_m`` of ``decode_attention`` (KV
  reads), at the chip's bf16 peak;
- collectives: :func:`gpucompare.model.comm.predict` fitted on the ledger's collective results.

Pieces run one after another (no overlap). The step's bound is the largest of its compute-bound,
memory-bound and link time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from gpucompare.errors import GpucompareError
from gpucompare.model import comm
from gpucompare.model.roofline import TERA
from gpucompare.model.serving.work import Collective, Piece
from gpucompare.specs import Chip, ChipDB, load_chips
from gpucompare.specs.published import load_published

GEMM_DTYPES = ("fp8", "bf16", "fp16")


class NoEvidenceError(GpucompareError, ValueError):
    """No kernel evidence gives an efficiency this chip needs (the message says which)."""


@dataclass(frozen=True)
class Efficiency:
    gemm_compute: float
    gemm_memory: float
    attn_compute: float
    attn_memory: float
    gemm_peak_tflops: float
    attn_peak_tflops: float
    basis: tuple[str, ...] = field(default_factory=tuple)


def _eff(chip_id: str, workload: str, dtype: str, exclude: str | None) -> tuple[float, str]:
    from gpucompare.model.predict import predict

    p = predict(chip_id, workload, None, dtype, exclude_chip=exclude)
    if p.status != "ok" or p.efficiency is None:
        raise NoEvidenceError(f"{chip_id}: no {workload} {dtype} projection ({p.status}: {p.reason})")
    return p.efficiency, f"{workload} {dtype} e={p.efficiency:.0%} ({p.level})"


@lru_cache(maxsize=256)
def efficiencies(chip_id: str, precision: str, exclude: str | None = None) -> Efficiency:
    """The four efficiencies of ``chip_id`` in ``precision`` (evidence of chip ``exclude`` left out)."""
    chip = load_chips().get(chip_id)
    gemm_dtype = precision if precision in GEMM_DTYPES else "fp8"
    peak = chip.peak_tflops.get(precision)
    if not peak:
        raise NoEvidenceError(f"{chip.id} has no {precision} peak (unsupported or unknown)")
    bf16 = chip.peak_tflops.get("bf16")
    if not bf16 or not chip.bandwidth_tbps:
        raise NoEvidenceError(f"{chip.id}: bf16 peak or memory bandwidth unknown")
    gc, b1 = _eff(chip.id, "gemm", gemm_dtype, exclude)
    gm, b2 = _eff(chip.id, "gemm_decode", gemm_dtype, exclude)
    ac, b3 = _eff(chip.id, "attention_fwd", "bf16", exclude)
    am, b4 = _eff(chip.id, "decode_attention", "bf16", exclude)
    basis = [b1, b2, b3, b4]
    if gemm_dtype != precision:
        basis.append(
            f"{precision} GEMMs: {gemm_dtype} efficiency at the {precision} peak (no {precision} evidence)"
        )
    return Efficiency(gc, gm, ac, am, peak, bf16, tuple(basis))


@dataclass(frozen=True)
class StepTime:
    """One step's time on one GPU (the server's GPUs run in lockstep) and where it goes."""

    total_s: float
    compute_s: float
    memory_s: float
    link_s: float
    bound: str  # compute | memory | link
    link_basis: str

    def scaled(self, factor: float) -> StepTime:
        return StepTime(
            self.total_s * factor, self.compute_s * factor, self.memory_s * factor, self.link_s * factor,
            self.bound, self.link_basis,
        )  # fmt: skip


def _piece_time(p: Piece, chip: Chip, e: Efficiency) -> tuple[float, str]:
    if p.kind == "gemm":
        tc = p.flops / (e.gemm_compute * e.gemm_peak_tflops * TERA)
        tm = p.bytes / (e.gemm_memory * chip.bandwidth_tbps * 1e12)
    else:
        tc = p.flops / (e.attn_compute * e.attn_peak_tflops * TERA)
        tm = p.bytes / (e.attn_memory * chip.bandwidth_tbps * 1e12)
    return (tc, "compute") if tc >= tm else (tm, "memory")


@lru_cache(maxsize=1)
def _points() -> tuple[comm.Point, ...]:
    return tuple(comm.published_points(load_published()))


def _chips() -> Mapping[str, Chip]:
    db: ChipDB = load_chips()
    return {c.id: c for c in db.chips}


def link_time(chip: Chip, comms: Sequence[Collective], exclude: str | None = None) -> tuple[float, str]:
    total, hows = 0.0, []
    for c in comms:
        if c.size <= 0:
            continue
        f = comm.class_fit(_points(), _chips(), chip, c.op, c.ranks, exclude=exclude)
        if f is None:
            raise NoEvidenceError(f"{chip.id}: no collective evidence for {c.op}")
        t, how = comm.predict(c.op, c.size, c.ranks, chip, f)
        if t is None:
            raise NoEvidenceError(f"{chip.id}: {c.name}: {how}")
        total += t * c.layers
        hows.append(f"{c.op}: {how}")
    return total, "; ".join(dict.fromkeys(hows)) or "no collective (one GPU per replica)"


def step_time(
    chip: Chip,
    pieces: Sequence[Piece],
    comms: Sequence[Collective],
    e: Efficiency,
    exclude: str | None = None,
) -> StepTime:
    t = {"compute": 0.0, "memory": 0.0}
    for p in pieces:
        dt, bound = _piece_time(p, chip, e)
        t[bound] += dt * p.layers
    link, how = link_time(chip, comms, exclude)
    total = t["compute"] + t["memory"] + link
    bound = max((("compute", t["compute"]), ("memory", t["memory"]), ("link", link)), key=lambda kv: kv[1])[0]
    return StepTime(total, t["compute"], t["memory"], link, bound, how)
