"""Sections of the calibrated projection (``gpucompare.model``: evidence, calibration, loco): the ledger of
published measurements with sources and the leave-one-chip-out validation (model against naive, per class,
with the predicted-vs-published plot). The answer per chip pair is :mod:`~gpucompare.report.sections.answer`
(numbers from :mod:`gpucompare.report.headline`), the efficiency per chip and class
:mod:`~gpucompare.report.sections.classes`."""

from __future__ import annotations

from functools import partial

import pandas as pd

from gpucompare.model.calibration import EXPLANATION
from gpucompare.model.evidence import VALIDATION_CLASSES, observations, shape_text
from gpucompare.model.loco import default_rows, summarise
from gpucompare.report import plots_calibration
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Plot, Section
from gpucompare.specs import load_chips
from gpucompare.specs.published import load_published

UNITS = {"tflops": "TFLOP/s", "gbps": "GB/s", "time_s": "s", "tokens_per_s": "tokens/s"}


def ledger(inp: ReportInputs) -> Section:
    """The ledger of published measurements, every entry with its source and the place in it."""
    rows = [
        {
            "id": e.id,
            "chip": e.chip,
            "workload": e.workload,
            "shape": shape_text(e.shape),
            "dtype": e.dtype,
            "value": e.value,
            "unit": UNITS[e.metric],
            "derived": e.derived or "",
            "group": e.group,
            "confidence": e.confidence,
            "source": f"{e.source['title']} ({e.source['date']}), {e.source['where']}",
            "url": e.source["url"],
        }
        for e in load_published()
    ]
    df = pd.DataFrame(rows)
    shown = df[["id", "chip", "workload", "dtype", "value", "unit", "group", "url"]] if len(df) else None
    chips = df.chip.nunique() if len(df) else 0
    return Section(
        "published_ledger",
        "Published measurements (the ledger, not measured here)",
        f"{len(df)} figures on {chips} chips, each read in the source named, at the place named "
        "(`src/gpucompare/specs/published.toml`; `gpucompare published`). They are PUBLISHED figures, never "
        "runs made here; ratios are taken only within one group (same script or harness). Full sources and "
        "places in `tables/published_ledger.csv`.",
        df,
        shown=shown,
    )


def _points(rows: list) -> pd.DataFrame:
    """Validation rows with a prediction, as rates: a published time becomes TFLOP/s = F / t."""
    db = load_chips()
    flops = {o.id: o.flops for o in observations(load_published(), db)[0]}
    pts = []
    for r in rows:
        if r.predicted is None:
            continue
        if r.metric == "time_s":
            f = flops[r.id]
            pts.append({"chip": r.chip, "unit": "TFLOP/s", "measured": f / r.measured / 1e12,
                        "predicted": f / r.predicted / 1e12})  # fmt: skip
        else:
            pts.append(
                {"chip": r.chip, "unit": UNITS[r.metric], "measured": r.measured, "predicted": r.predicted}
            )
    return pd.DataFrame(pts, columns=["chip", "unit", "measured", "predicted"])


def _goal_note(summary: list) -> str:
    by = {s.klass: s for s in summary}
    out = []
    for klass in VALIDATION_CLASSES:
        s = by.get(klass)
        if s is not None and s.median_abs is not None and s.p90_abs is not None:
            met = "meets" if s.median_abs <= 0.10 and s.p90_abs <= 0.25 else "misses"
            out.append(
                f"{klass}: median |error| {s.median_abs:.1%}, p90 {s.p90_abs:.1%}, n={s.n} ({met} the "
                "10 % / 25 % goal)"
            )
    for s in summary:
        if s.verdict != "better than naive" and s.klass != "overall":
            out.append(f"{s.klass} is {s.verdict}")
    return "; ".join(out) + "." if out else ""


def _misses(rows: list) -> str:
    """The predictions off by more than 20 %, and the reading of why (bandwidth: no chip term)."""
    far = [r for r in rows if r.rel_error is not None and abs(r.rel_error) > 0.20]
    if not far:
        return ""
    listed = ", ".join(f"{r.id} {r.rel_error:+.0%}" for r in far)
    return (
        f" Off by more than 20 %: {listed}. Our reading: a figure whose family was published on no other chip "
        "is predicted through a fitted factor between families, and a memory-bound call's efficiency depends "
        "on its size and kernel more than on the chip. Memory efficiency has no per-chip term: no chip "
        "figure was found that predicts it (bandwidth equals the naive transfer, and so does decode except "
        "where a family published on one chip only goes through the fitted memory-bound factor)."
    )


def validation_loco(inp: ReportInputs) -> Section:
    """Leave-one-chip-out over the ledger: summary per class shown, every row as CSV, the scatter plot."""
    rows = default_rows()
    summary = summarise(rows)
    table = pd.DataFrame([r.to_dict() for r in rows])
    shown = pd.DataFrame([s.to_dict() for s in summary])
    five = " ".join(f"({i}) {line}" for i, line in enumerate(EXPLANATION, 1))
    return Section(
        "validation_loco",
        "Validation, chip by chip: the calibrated projection against published figures",
        "Every published figure is predicted with all of its chip's figures removed (leave-one-chip-out; "
        "`gpucompare validate`), by the calibrated model and by the naive one. The model: " + five,
        table,
        shown=shown,
        readme_note=_goal_note(summary) + _misses(rows) + " Every row, with the source of each published "
        "figure, is in `tables/validation_loco.csv`.",
        plots=[Plot("validation_loco", partial(plots_calibration.predicted_vs_measured, _points(rows)))],
    )
