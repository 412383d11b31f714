"""Leave-one-chip-out validation of the calibrated projection over the ledger of published measurements.

For each chip X of the ledger: every figure of X is removed, ``beta`` is refitted on the other chips'
figures, and each of X's figures is predicted from the rest (:func:`gpucompare.model.target.predict_target`,
the entry's own script as its group and its own implementation family, :func:`~gpucompare.model.evidence.family_key`). The naive baseline is the same
evidence with the efficiency copied unchanged. Errors are on the figure as published: ``predicted /
measured - 1`` (a time or a rate). Nothing of X is used to predict X. An unrepresentative entry (its source
reports a regression, a bug or a low figure) is neither evidence nor predicted, unless asked.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from gpucompare.model.calibration import Calibration, Target, fit
from gpucompare.model.evidence import (
    VALIDATION_CLASSES,
    Observation,
    decode_regime,
    observations,
    shape_text,
    validation_class,
)
from gpucompare.model.target import predict_target
from gpucompare.specs import ChipDB, load_chips
from gpucompare.specs.published import PublishedEntry, load_published


@dataclass(frozen=True)
class LocoRow:
    """One ledger entry predicted with its chip left out. ``status``: ok, or why there is no prediction."""

    id: str
    chip: str
    workload: str
    klass: str | None  # the validation class (:data:`~gpucompare.model.evidence.VALIDATION_CLASSES`)
    shape: str
    dtype: str
    group: str
    metric: str
    measured: float
    predicted: float | None
    naive: float | None
    rel_error: float | None
    naive_rel_error: float | None
    level: str | None
    beta: float | None
    evidence: int
    status: str
    reason: str = ""
    source: str = ""
    implementation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _figure(metric: str, time_s: float | None, tflops: float | None, gbps: float | None) -> float | None:
    return {"time_s": time_s, "tflops": tflops, "gbps": gbps}.get(metric)


def _row(
    e: PublishedEntry,
    obs: Observation | None,
    train: Sequence[Observation],
    cal: Calibration,
    db: ChipDB,
    why: str,
) -> LocoRow:
    klass = validation_class(e.workload)
    if obs is not None:
        klass = decode_regime(klass, obs.bytes, db.get(e.chip).bandwidth_tbps)
    base = dict(id=e.id, chip=e.chip, workload=e.workload, klass=klass)
    base.update(shape=shape_text(e.shape), dtype=e.dtype, group=e.group, metric=e.metric, measured=e.value)
    base.update(source=e.evidence, implementation=e.implementation)
    empty = dict(predicted=None, naive=None, rel_error=None, naive_rel_error=None, level=None)
    if obs is None:
        status = "unrepresentative" if why.startswith("unrepresentative") else "not modelled"
        return LocoRow(**base, **empty, beta=None, evidence=0, status=status, reason=why)
    target = Target(e.chip, e.workload, e.shape, e.dtype, e.group, obs.implementation)  # its family key
    p = predict_target(target, train, cal, db, gbps_only=not e.registered)
    if p.status != "ok":
        return LocoRow(**base, **empty, beta=cal.beta, evidence=0, status=p.status, reason=p.reason)
    if e.metric == "gbps" and not e.registered:
        pred, naive = p.gbps, p.gbps * p.naive_efficiency / p.efficiency
    else:
        pred = _figure(e.metric, p.time_s, p.tflops, p.gbps)
        ratio = p.naive_time_s / p.time_s  # naive time over calibrated time
        naive = pred * ratio if e.metric == "time_s" else pred / ratio
    return LocoRow(
        **base,
        predicted=pred,
        naive=naive,
        rel_error=pred / e.value - 1,
        naive_rel_error=naive / e.value - 1,
        level=p.level,
        beta=cal.beta,
        evidence=len(p.evidence),
        status="ok",
    )


def validate_ledger(
    entries: Sequence[PublishedEntry] | None = None,
    db: ChipDB | None = None,
    include_unrepresentative: bool = False,
) -> list[LocoRow]:
    """Every entry predicted with its own chip's figures removed (see the module docstring), ledger order."""
    db = db or load_chips()
    entries = load_published() if entries is None else list(entries)
    obs, skipped = observations(entries, db, include_unrepresentative=include_unrepresentative)
    by_id = {o.id: o for o in obs}
    why = dict(skipped)
    rows = []
    fits: dict[str, Calibration] = {}
    for e in entries:
        train = [o for o in obs if o.chip != e.chip]
        if e.chip not in fits:
            fits[e.chip] = fit(train, db, excluded=(e.chip,))
        rows.append(_row(e, by_id.get(e.id), train, fits[e.chip], db, why.get(e.id, "")))
    return rows


@lru_cache(maxsize=1)
def _default_rows() -> tuple[LocoRow, ...]:
    return tuple(validate_ledger())


def default_rows() -> list[LocoRow]:
    """:func:`validate_ledger` of the packaged ledger (computed once)."""
    return list(_default_rows())


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile (linear between order statistics); None for no value."""
    v = sorted(values)
    if not v:
        return None
    if len(v) == 1:
        return v[0]
    return statistics.quantiles(v, n=10, method="inclusive")[8]


@dataclass(frozen=True)
class ClassSummary:
    """Errors of one validation class (or ``overall``): model and naive, median, p90 and max of |error|."""

    klass: str
    n: int
    median_abs: float | None
    p90_abs: float | None
    max_abs: float | None
    naive_median_abs: float | None
    naive_p90_abs: float | None
    naive_max_abs: float | None
    better: int  # entries where the model's |error| is below the naive one's
    worse: int
    not_predicted: int
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _verdict(med: float | None, naive: float | None) -> str:
    if med is None or naive is None:
        return "no prediction"
    if abs(med - naive) < 0.0005:
        return "same as naive"
    return "better than naive" if med < naive else "worse than naive"


def _summary(klass: str, rows: Sequence[LocoRow]) -> ClassSummary:
    ok = [r for r in rows if r.rel_error is not None]
    errs = [abs(r.rel_error) for r in ok]
    naive = [abs(r.naive_rel_error) for r in ok if r.naive_rel_error is not None]
    med = statistics.median(errs) if errs else None
    nmed = statistics.median(naive) if naive else None
    return ClassSummary(
        klass=klass,
        n=len(ok),
        median_abs=med,
        p90_abs=p90(errs),
        max_abs=max(errs) if errs else None,
        naive_median_abs=nmed,
        naive_p90_abs=p90(naive),
        naive_max_abs=max(naive) if naive else None,
        better=sum(abs(r.rel_error) < abs(r.naive_rel_error) - 1e-9 for r in ok),
        worse=sum(abs(r.rel_error) > abs(r.naive_rel_error) + 1e-9 for r in ok),
        not_predicted=sum(r.status not in ("ok", "unrepresentative") for r in rows),
        verdict=_verdict(med, nmed),
    )


def summarise(rows: Sequence[LocoRow]) -> list[ClassSummary]:
    """One summary per validation class with rows (:data:`VALIDATION_CLASSES` order), then ``overall``."""
    out = [
        _summary(k, [r for r in rows if r.klass == k])
        for k in VALIDATION_CLASSES
        if any(r.klass == k for r in rows)
    ]
    modelled = [r for r in rows if r.klass is not None]
    return [*out, _summary("overall", modelled)]
