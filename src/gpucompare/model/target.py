"""One prediction from a pool of evidence: the calibrated efficiency of :mod:`gpucompare.model.calibration` on
the roofline of the target chip (:func:`predict_target`), and the pool itself (:func:`evidence_pool`).

:mod:`gpucompare.model.loco` validates with it and :mod:`gpucompare.model.predict` adds the expected error
(the leave-one-chip-out error of the prediction's class and evidence level); this module imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from gpucompare.errors import GpucompareError
from gpucompare.model.calibration import Calibration, Estimate, Target, estimate
from gpucompare.model.evidence import (
    Observation,
    decode_bytes,
    observations,
    roofline_terms,
    shape_text,
    work,
)
from gpucompare.model.roofline import TERA
from gpucompare.specs import ChipDB, load_chips
from gpucompare.specs.published import PublishedEntry, load_published


class PredictionError(GpucompareError):
    """A prediction was asked for something the model cannot name (workload, shape, dtype or chip)."""


@dataclass(frozen=True)
class Prediction:
    """A predicted time (and TFLOP/s, GB/s) of one workload on one chip; ``time_s`` None unless ``ok``."""

    chip: str
    workload: str
    shape: Mapping[str, Any]
    dtype: str
    status: str  # ok | unsupported | unknown | no-evidence
    reason: str = ""
    time_s: float | None = None
    tflops: float | None = None
    gbps: float | None = None
    bound: str | None = None
    efficiency: float | None = None
    naive_efficiency: float | None = None
    naive_time_s: float | None = None
    level: str | None = None
    evidence_kind: str | None = None  # published | measured-here
    evidence: list[str] = field(default_factory=list)
    expected_rel_error: float | None = None  # median |error| of its class and level (leave-one-chip-out)
    expected_error_basis: str = ""
    expected_p90: float | None = None
    expected_n: int = 0
    implementations: list[str] = field(default_factory=list)  # the families the evidence comes from
    sources: list[str] = field(default_factory=list)  # the publications (or runs) it rests on
    factor: str = ""  # the fitted factor between two families, when one was used
    indicative: bool = False  # p90 error > 25 %, error not known, or one source: never a bold figure
    indicative_why: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = dict(self.shape)
        return {"kind": "projected", **d}


@lru_cache(maxsize=2)
def _packaged_observations(include_unrepresentative: bool) -> tuple[Observation, ...]:
    """The packaged ledger's observations on the packaged chip database: both are read once per process, so
    their observations are too (``claims`` asks for them about a hundred times)."""
    obs, _ = observations(load_published(), load_chips(), (), include_unrepresentative)
    return tuple(obs)


def evidence_pool(
    db: ChipDB | None = None,
    measured: Sequence[Any] = (),
    exclude_chip: str | None = None,
    entries: Sequence[PublishedEntry] | None = None,
    include_unrepresentative: bool = False,
) -> list[Observation]:
    """Observations from the ledger (``entries``, default the packaged one; its unrepresentative entries only
    with ``include_unrepresentative``) and the given analysed GPU records (``model.Measured``), without
    ``exclude_chip`` (any name the chip database resolves)."""
    db = db or load_chips()
    if entries is None and not measured and db is load_chips():
        obs = list(_packaged_observations(include_unrepresentative))
    else:
        entries = load_published() if entries is None else entries
        obs, _ = observations(entries, db, measured, include_unrepresentative)
    if exclude_chip is not None:
        chip_id = db.get(exclude_chip).id
        obs = [o for o in obs if o.chip != chip_id]
    return obs


def _label(o: Observation, est: Estimate, target: str) -> str:
    e_here = est.per_chip.get(o.chip)
    adj = f" (its chip's median -> {e_here:.1%} on {target})" if o.chip != target and e_here else ""
    return f"{o.kind} {o.chip} {o.workload} {shape_text(o.shape)} {o.dtype} ({o.group}): e={o.efficiency:.1%}{adj}; {o.label}"


def predict_target(
    target: Target, pool: Sequence[Observation], cal: Calibration, db: ChipDB, gbps_only: bool = False
) -> Prediction:
    """Predict ``target`` from ``pool`` with ``cal``. ``gbps_only``: the workload's counts do not apply
    (a memory-bound figure in a dtype the suite does not measure): GB/s = e × bandwidth, no time."""
    chip = db.get(target.chip)
    base = dict(chip=chip.id, workload=target.workload, shape=dict(target.shape), dtype=target.dtype)
    if gbps_only:
        terms: tuple[float, float] | str = (0.0, 1.0) if chip.bandwidth_tbps else f"{chip.id}: no bandwidth"
        flops, nbytes = 0.0, decode_bytes(target.workload, target.shape, target.dtype)  # size only
    else:
        flops, nbytes = work(target.workload, target.shape, target.dtype)
        terms = roofline_terms(chip, flops, nbytes, target.dtype)
    if isinstance(terms, str):
        status = "unsupported" if "unsupported" in terms else "unknown"
        return Prediction(**base, status=status, reason=terms)
    bound = "compute" if terms[0] >= terms[1] else "memory"
    est = estimate(target, bound, pool, cal, db, nbytes=nbytes or None)
    if est is None:
        return Prediction(**base, status="no-evidence", bound=bound, reason=f"no {bound}-bound evidence")
    evidence = [_label(o, est, chip.id) for o in est.evidence]
    common = dict(bound=bound, efficiency=est.e, naive_efficiency=est.naive, level=est.level)
    common.update(evidence_kind=est.kind, evidence=evidence, implementations=list(est.implementations))
    common.update(sources=list(est.sources), factor=est.factor.describe() if est.factor else "")
    if gbps_only:
        return Prediction(**base, status="ok", gbps=est.e * chip.bandwidth_tbps * 1e3, **common)
    t = max(terms) / est.e
    return Prediction(
        **base,
        status="ok",
        time_s=t,
        tflops=flops / t / TERA if flops else None,
        gbps=nbytes / t / 1e9 if nbytes else None,
        naive_time_s=max(terms) / est.naive,
        **common,
    )
