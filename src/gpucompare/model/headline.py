"""Workload ratios between two chips from the strongest evidence: measured before projected, spec last.

For a pair (A, B) and each workload class (:data:`~gpucompare.model.evidence.CLASSES`):

1. **measured-here**: both chips ran the same work here (GPU runs; cpu-fallback runs never count);
2. **published**: a same-script pair of ledger entries (same group, workload, dtype and shape);
3. **projected**: the calibrated model (:mod:`gpucompare.model.predict`) at the workload's first
   gpu-tier shape in bf16, with its evidence and expected error;
4. **spec**: the spec ratio (bf16 peak for compute classes, bandwidth for memory classes) when neither
   chip can be projected.

A ratio is a speed-up of A over B on the same work: ``t_B / t_A``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from gpucompare.model.calibration import Calibration, Target, fit
from gpucompare.model.evidence import CLASSES, Observation, roofline_terms, shape_text, workload_class
from gpucompare.model.predict import evidence_pool, parse_shape, predict_target
from gpucompare.specs import Chip, ChipDB, load_chips, spec_ratios

#: The workload each class is projected with (its first gpu-tier shape, bf16).
CLASS_WORKLOAD = {
    "compute-bound GEMM": "gemm",
    "attention": "attention_fwd",
    "memory-bound decode": "decode_attention",
    "bandwidth": "copy",
}
#: The spec basis each class falls back to.
CLASS_SPEC = {
    "compute-bound GEMM": "bf16",
    "attention": "bf16",
    "memory-bound decode": "bandwidth",
    "bandwidth": "bandwidth",
}
_DTYPE_ORDER = ("bf16", "fp16", "fp8", "tf32", "fp32", "fp64")


def _speed(o: Observation, chip: Chip) -> float:
    """1 / time on its own chip (GB/s for a figure the counts do not apply to): comparable within a pair."""
    if not o.flops and not o.bytes:
        return o.efficiency * (chip.bandwidth_tbps or 0.0)
    terms = roofline_terms(chip, o.flops, o.bytes, o.dtype)
    assert not isinstance(terms, str)  # an observation exists only where the roofline does
    return o.efficiency / max(terms)


def _pair_key(o: Observation) -> tuple:
    return (o.kind, o.group, o.workload, o.dtype, shape_text(o.shape))


def measured_ratios(a: Chip, b: Chip, pool: Sequence[Observation], db: ChipDB) -> list[dict[str, Any]]:
    """Every same-script pair of A and B (runs made here first), as ratio rows (``t_B / t_A``)."""
    keys: dict[tuple, dict[str, list[Observation]]] = {}
    for o in pool:
        if o.chip in (a.id, b.id):
            keys.setdefault(_pair_key(o), {}).setdefault(o.chip, []).append(o)
    rows = []
    for key, by_chip in keys.items():
        if len(by_chip) < 2:
            continue
        kind, group, workload, dtype, shape = key
        sa = statistics.median(_speed(o, a) for o in by_chip[a.id])
        sb = statistics.median(_speed(o, b) for o in by_chip[b.id])
        obs = by_chip[a.id] + by_chip[b.id]
        rows.append(
            {
                "klass": workload_class(workload),
                "workload": workload,
                "dtype": dtype,
                "shape": shape,
                "group": group,
                "ratio": sa / sb,
                "basis": kind,
                "efficiency_a": statistics.median(o.efficiency for o in by_chip[a.id]),
                "efficiency_b": statistics.median(o.efficiency for o in by_chip[b.id]),
                "bound_a": by_chip[a.id][0].bound,
                "bound_b": by_chip[b.id][0].bound,
                "evidence": f"{kind}, same script ({group}): " + "; ".join(sorted({o.id for o in obs})),
                "sources": sorted({o.label for o in obs}),
            }
        )
    order = {d: i for i, d in enumerate(_DTYPE_ORDER)}
    rows.sort(key=lambda r: (r["basis"] != "measured-here", order.get(r["dtype"], 9), r["group"], r["shape"]))
    return rows


def inversion(a: Chip, b: Chip, workload: str, ratio: float, p90s: Sequence[float | None]) -> str:
    """Why a projected ratio of compute-bound work reverses the chips' spec order (dense bf16 peak) beyond
    its error, or "" when it does not: the ratio stays on the wrong side of 1 even when each chip's time
    moves by its p90 error in the favourable direction (an unknown error cannot rule it out)."""
    if workload_class(workload) not in ("compute-bound GEMM", "attention"):
        return ""
    (spec,) = spec_ratios(a, b, ("bf16",))
    if spec.ratio is None or abs(spec.ratio - 1) < 0.05 or (spec.ratio > 1) == (ratio > 1):
        return ""
    errs = [e for e in p90s if e is not None]
    if len(errs) < len(p90s):
        band = "its error is not known"
    else:
        slack = 1 + sum(errs)
        favourable = ratio * slack if spec.ratio > 1 else ratio / slack
        if (favourable > 1) == (spec.ratio > 1):
            return ""
        band = f"beyond its p90 errors ({', '.join(f'{e:.0%}' for e in errs)})"
    return (
        f"inverted: projected {ratio:.3g}x against a spec bf16 ratio of {spec.ratio:.3g}x on compute-bound work, "
        f"{band}"
    )


def projected_ratio(
    a: Chip, b: Chip, workload: str, pool: Sequence[Observation], cal: Calibration, db: ChipDB
) -> dict[str, Any] | None:
    """The calibrated model's ``t_B / t_A`` at the workload's first gpu-tier shape in bf16, with its error
    band, whether it is indicative and whether it is inverted (:func:`inversion`); None when either chip
    cannot be predicted."""
    from gpucompare.model.predict import with_error

    shape = parse_shape(workload, None)
    pa, pb = (predict_target(Target(c.id, workload, shape, "bf16"), pool, cal, db) for c in (a, b))
    if pa.time_s is None or pb.time_s is None:
        return None
    pa, pb = with_error(pa), with_error(pb)
    errs = [p.expected_rel_error for p in (pa, pb)]
    err = None if any(e is None for e in errs) else max(e for e in errs if e is not None)
    ratio = pb.time_s / pa.time_s
    flag = inversion(a, b, workload, ratio, [pa.expected_p90, pb.expected_p90])
    weak = "; ".join(f"{p.chip}: {p.indicative_why}" for p in (pa, pb) if p.indicative)
    return {
        "klass": workload_class(workload),
        "workload": workload,
        "dtype": "bf16",
        "shape": shape_text(shape),
        "group": None,
        "ratio": ratio,
        "basis": "projected",
        "indicative": bool(weak),
        "indicative_why": weak,
        "inverted": flag,
        "bound_a": pa.bound,
        "bound_b": pb.bound,
        "evidence": f"projected (calibrated model): {a.id} from '{pa.level}', {b.id} from '{pb.level}'"
        + (
            f", expected error about {err:.0%} per chip"
            if err is not None
            else ", error not validated (no leave-one-chip-out figure of this class)"
        ),
        "sources": sorted(set(pa.evidence) | set(pb.evidence)),
        "rel_error": err,
    }


def _spec_row(a: Chip, b: Chip, klass: str) -> dict[str, Any]:
    basis = CLASS_SPEC[klass]
    (br,) = spec_ratios(a, b, (basis,))
    return {
        "klass": klass,
        "ratio": br.ratio,
        "basis": "spec",
        "evidence": f"spec {basis} ratio" + (f" ({br.reason})" if br.reason else ""),
        "sources": [],
    }


def stored_measured(measured: Sequence[Any] | None) -> Sequence[Any]:
    """The analysed GPU records of the stored runs (``results/runs``) when ``measured`` is None."""
    if measured is not None:
        return measured
    from gpucompare import results
    from gpucompare.model.projection import analyse

    if not results.DEFAULT_ROOT.is_dir():
        return []
    runs = results.load_runs([results.DEFAULT_ROOT], include_cpu=False)
    return analyse([rec for run in runs for rec in run.records]).measured


def headline_pair(
    a: Chip | str, b: Chip | str, db: ChipDB | None = None, measured: Sequence[Any] | None = None
) -> dict:
    """Per workload class, the ratio of A over B from the strongest evidence (module docstring).

    Returns ``{"a", "b", "spec": {basis: ratio}, "classes": {class: {"ratio", "basis", "evidence",
    "sources", "workload", "dtype", "shape", "group", "spec_ratio", "spec_basis"}}}``; ``basis`` is one of
    ``measured-here``, ``published``, ``projected``, ``spec``.
    """
    db = db or load_chips()
    a, b = (db.get(c.id if isinstance(c, Chip) else c) for c in (a, b))  # the ledger's own chip figures
    pool = evidence_pool(db, stored_measured(measured))
    cal = fit(pool, db)
    pairs = measured_ratios(a, b, pool, db)
    spec = {br.basis: br.ratio for br in spec_ratios(a, b, ("bf16", "bandwidth"))}
    classes = {}
    for klass in CLASSES:
        row = next((r for r in pairs if r["klass"] == klass), None)
        row = row or projected_ratio(a, b, CLASS_WORKLOAD[klass], pool, cal, db) or _spec_row(a, b, klass)
        classes[klass] = {**row, "spec_basis": CLASS_SPEC[klass], "spec_ratio": spec[CLASS_SPEC[klass]]}
    return {"a": a.id, "b": b.id, "spec": spec, "classes": classes}


def evidence_workload_ratios(db: ChipDB | None = None, measured: Sequence[Any] | None = None):
    """Provider for ``claims.check_all(workload_ratios=...)`` and ``gpucompare compare``: per workload,
    the measured ratios (runs made here, same-script published pairs) and, for a workload with none, the
    calibrated projection. Rows: ``basis`` ("workload:<workload>/<shape>/<dtype>"), ``ratio``,
    ``bound_a``, ``bound_b``, ``detail``, ``evidence`` (measured-here | published | projected)."""
    db = db or load_chips()
    pool = evidence_pool(db, stored_measured(measured))
    cal = fit(pool, db)

    def provider(chip_a: Chip | str, chip_b: Chip | str) -> list[dict]:
        a, b = (db.get(c.id if isinstance(c, Chip) else c) for c in (chip_a, chip_b))
        rows = [r for r in measured_ratios(a, b, pool, db) if r["workload"] in _registered()]
        seen = {r["workload"] for r in rows}
        for workload in _registered():
            if workload not in seen and workload_class(workload) is not None:
                p = projected_ratio(a, b, workload, pool, cal, db)
                rows += [p] if p and not p["inverted"] else []  # an inverted projection is no verdict's basis
        return [_provider_row(r) for r in rows]

    return provider


def _registered() -> tuple[str, ...]:
    from gpucompare.workloads import WORKLOADS

    return tuple(WORKLOADS)


def _provider_row(r: dict) -> dict:
    return {
        "basis": f"workload:{r['workload']}/{r['shape']}/{r['dtype']}",
        "ratio": r["ratio"],
        "bound_a": r["bound_a"],
        "bound_b": r["bound_b"],
        "detail": r["evidence"],
        "evidence": r["basis"],
        "rel_error": r.get("rel_error"),
        "indicative": bool(r.get("indicative")),
        "group": r.get("group"),
    }


def evidence_ratios(paths: Sequence[str] | None = None):
    """The provider ``gpucompare claims`` and ``compare`` judge: :func:`evidence_workload_ratios` over the
    ledger and the stored GPU runs (``paths``, default ``results/runs`` when present), plus the composed
    layer steps (``model:<step>``) projected from those runs when there are any. Explicit ``paths``
    without a GPU run are an error (:func:`gpucompare.model.ratios.stored_workload_ratios`)."""
    from gpucompare import results
    from gpucompare.model.projection import analyse
    from gpucompare.model.ratios import stored_workload_ratios

    runs_provider = stored_workload_ratios(paths)
    measured: Sequence[Any] = []
    if runs_provider is not None:
        where = [results.DEFAULT_ROOT] if paths is None else list(paths)
        runs = results.load_runs(where, include_cpu=False)
        measured = analyse([rec for run in runs for rec in run.records]).measured
    return with_layer_steps(evidence_workload_ratios(measured=measured), runs_provider)


def with_layer_steps(evidence, runs_provider):
    """``evidence``'s rows plus the composed layer steps (``model:<step>``) of ``runs_provider`` (when a GPU run
    exists): the one provider the claims judge, from the CLI and from the report alike."""

    def provider(chip_a: Chip | str, chip_b: Chip | str) -> list[dict]:
        rows = evidence(chip_a, chip_b)
        if runs_provider is not None:
            rows += [r for r in runs_provider(chip_a, chip_b) if r["basis"].startswith("model:")]
        return rows

    return provider
