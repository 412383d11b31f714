"""Calibrated predictions: one workload at one shape on one chip, from the evidence the project has.

``t = max(F / P_X(d), B / BW_X) / e`` with ``e`` from :func:`gpucompare.model.calibration.estimate` (the
closest evidence, adjusted per chip); the naive baseline divides by the evidence's efficiency unchanged.
Evidence is the packaged ledger of published measurements plus the GPU runs stored here
(:func:`evidence_pool`); a chip can be left out (``exclude_chip``) to see what the model says without
that chip's own figures. Each prediction names its evidence and an expected error: the median and 90th
percentile |error| of leave-one-chip-out projections of the same class made from the same level of evidence,
with their number (:func:`gpucompare.model.bands.expected_error`); none where that is not known. A
projection whose p90 error exceeds 25 %, whose error is not known or that rests on one source is
``indicative``: labelled, never a bold figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gpucompare.model.bands import INDICATIVE_P90, default_projection_rows, expected_error
from gpucompare.model.calibration import Target, fit
from gpucompare.model.evidence import shape_text
from gpucompare.model.target import Prediction, PredictionError, evidence_pool, predict_target
from gpucompare.specs import ChipDB, load_chips

__all__ = [
    "Prediction",
    "PredictionError",
    "evidence_pool",
    "parse_shape",
    "predict",
    "predict_target",
    "with_error",
]


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
    include_unrepresentative: bool = False,
) -> Prediction:
    """Predict ``workload`` (default shape: its first gpu-tier shape) on ``chip`` from the ledger and the
    given GPU records, with the evidence used and the expected error (see the module docstring)."""
    db = db or load_chips()
    chip_id = db.get(chip).id
    shape = dict(shape) if shape is not None else parse_shape(workload, None)
    from gpucompare.workloads import get_workload

    wl = get_workload(workload)
    if dtype not in wl.dtypes:
        raise PredictionError(
            f"workload {workload!r} has no dtype {dtype!r}; supported: {', '.join(wl.dtypes)}"
        )
    pool = evidence_pool(db, measured, exclude_chip, include_unrepresentative=include_unrepresentative)
    cal = fit(pool, db)
    p = predict_target(Target(chip_id, workload, shape, dtype), pool, cal, db)
    if p.status != "ok":
        return p
    return with_error(p, include_unrepresentative)


def with_error(p: Prediction, include_unrepresentative: bool = False) -> Prediction:
    """``p`` with the error band of its class and level (:func:`gpucompare.model.bands.expected_error`) and
    whether it is only indicative: p90 above 25 %, error not known, or evidence from one source. A prediction
    made with the unrepresentative entries as evidence quotes the band validated with them too."""
    rows = default_projection_rows(include_unrepresentative)
    band = expected_error(p.workload, p.level or "", p.dtype, rows)
    if include_unrepresentative:
        band = replace(band, basis=f"{band.basis} (unrepresentative entries included)")
    why = []
    if band.p90 is None:
        why.append(band.basis)
    elif band.p90 > INDICATIVE_P90:
        why.append(f"p90 error {band.p90:.0%} > {INDICATIVE_P90:.0%}")
    if len(p.sources) < 2:
        why.append("rests on one source")
    return replace(
        p,
        expected_rel_error=band.median,
        expected_p90=band.p90,
        expected_n=band.n,
        expected_error_basis=band.basis,
        indicative=bool(why),
        indicative_why="; ".join(why),
    )
