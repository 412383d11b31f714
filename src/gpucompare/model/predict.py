"""Calibrated predictions: one workload at one shape on one chip, from the evidence the project has.

``t = max(F / P_X(d), B / BW_X) / e`` with ``e`` from :func:`gpucompare.model.calibration.estimate` (the
closest evidence, adjusted per chip); the naive baseline divides by the evidence's efficiency unchanged.
Evidence is the packaged ledger of published measurements plus the GPU runs stored here
(:func:`evidence_pool`); a chip can be left out (``exclude_chip``) to see what the model says without
that chip's own figures. Each prediction names its evidence and an expected error: the median absolute
error of leave-one-chip-out predictions of the same class made from the same level of evidence
(:func:`gpucompare.model.loco.expected_error`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gpucompare.errors import GpucompareError
from gpucompare.model.calibration import Calibration, Estimate, Target, estimate, fit
from gpucompare.model.evidence import Observation, observations, roofline_terms, shape_text, work
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
    expected_rel_error: float | None = None
    expected_error_basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = dict(self.shape)
        return {"kind": "projected", **d}


def evidence_pool(
    db: ChipDB | None = None,
    measured: Sequence[Any] = (),
    exclude_chip: str | None = None,
    entries: Sequence[PublishedEntry] | None = None,
) -> list[Observation]:
    """Observations from the ledger (``entries``, default the packaged one) and the given analysed GPU
    records (``model.Measured``), without ``exclude_chip`` (any name the chip database resolves)."""
    db = db or load_chips()
    obs, _ = observations(load_published() if entries is None else entries, db, measured)
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
        flops = nbytes = 0.0
    else:
        flops, nbytes = work(target.workload, target.shape, target.dtype)
        terms = roofline_terms(chip, flops, nbytes, target.dtype)
    if isinstance(terms, str):
        status = "unsupported" if "unsupported" in terms else "unknown"
        return Prediction(**base, status=status, reason=terms)
    bound = "compute" if terms[0] >= terms[1] else "memory"
    est = estimate(target, bound, pool, cal, db)
    if est is None:
        return Prediction(**base, status="no-evidence", bound=bound, reason=f"no {bound}-bound evidence")
    evidence = [_label(o, est, chip.id) for o in est.evidence]
    common = dict(bound=bound, efficiency=est.e, naive_efficiency=est.naive, level=est.level)
    common.update(evidence_kind=est.kind, evidence=evidence)
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


def parse_shape(workload: str, text: str | None) -> dict[str, Any]:
    """``k=v,...`` over the workload's default (first gpu-tier) shape; PredictionError on a bad one."""
    from gpucompare.workloads import Shape, get_workload

    try:
        wl = get_workload(workload)
    except ValueError as exc:
        raise PredictionError(str(exc)) from None
    params = dict(wl.shapes("gpu")[0].params)
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in params:
            raise PredictionError(f"shape item {item!r}: expected k=v with k one of {', '.join(params)}")
        params[key] = _value(value.strip(), params[key], item)
    try:
        wl.flops(Shape("given", params))
    except ValueError as exc:
        raise PredictionError(f"shape {shape_text(params)}: {exc}") from None
    return params


def _value(text: str, like: Any, item: str) -> Any:
    if isinstance(like, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise PredictionError(f"shape item {item!r}: expected true or false")
        return text.lower() in ("true", "1")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise PredictionError(f"shape item {item!r}: expected an integer") from None
    return text


def predict(
    chip: str,
    workload: str,
    shape: Mapping[str, Any] | None = None,
    dtype: str = "bf16",
    *,
    db: ChipDB | None = None,
    exclude_chip: str | None = None,
    measured: Sequence[Any] = (),
) -> Prediction:
    """Predict ``workload`` (default shape: its first gpu-tier shape) on ``chip`` from the ledger and the
    given GPU records, with the evidence used and the expected error (see the module docstring)."""
    from gpucompare.model.loco import expected_error

    db = db or load_chips()
    chip_id = db.get(chip).id
    shape = dict(shape) if shape is not None else parse_shape(workload, None)
    from gpucompare.workloads import get_workload

    wl = get_workload(workload)
    if dtype not in wl.dtypes:
        raise PredictionError(
            f"workload {workload!r} has no dtype {dtype!r}; supported: {', '.join(wl.dtypes)}"
        )
    pool = evidence_pool(db, measured, exclude_chip)
    cal = fit(pool, db)
    p = predict_target(Target(chip_id, workload, shape, dtype), pool, cal, db)
    if p.status != "ok":
        return p
    err, basis = expected_error(workload, p.level or "")
    return Prediction(**{**asdict(p), "expected_rel_error": err, "expected_error_basis": basis})
