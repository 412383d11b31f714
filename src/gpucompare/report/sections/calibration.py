"""Sections of the calibrated projection (``gpucompare.model``: evidence, calibration, loco, headline): the
answer per chip pair from the strongest evidence, the ledger of published measurements with sources, the
leave-one-chip-out validation (model against naive, per class) and the achieved efficiency per chip."""

from __future__ import annotations

import statistics
from functools import partial

import pandas as pd

from gpucompare.model.calibration import EXPLANATION
from gpucompare.model.evidence import CLASSES, observations, shape_text
from gpucompare.model.headline import headline_pair
from gpucompare.model.loco import default_rows, summarise
from gpucompare.report import plots_calibration
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Plot, Section
from gpucompare.specs import load_chips
from gpucompare.specs.published import load_published

UNITS = {"tflops": "TFLOP/s", "gbps": "GB/s", "time_s": "s", "tokens_per_s": "tokens/s"}
PAIR_COLUMNS = ["chip_a", "chip_b", "class", "ratio", "basis", "spec_ratio", "spec_basis", "evidence"]
BASIS_WORDS = {
    "measured-here": "measured here",
    "published": "published measurement, same script",
    "projected": "projected",
    "spec": "spec only",
}


def _gpu_measured(inp: ReportInputs) -> list:
    return [m for m in inp.analysis.measured if not m.pipeline_check]


def headline_sentences(h: dict) -> str:
    """Two sentences for a pair: the ratio per class with its basis, then the spec ratio it is set against."""
    parts = []
    for klass, row in h["classes"].items():
        if row["ratio"] is not None:
            parts.append(f"{klass} {row['ratio']:.2f}× ({BASIS_WORDS[row['basis']]})")
    first = f"{h['a']} over {h['b']}: " + "; ".join(parts) + "."
    return f"{first} {_spec_sentence(h)}"


def _spec_sentence(h: dict) -> str:
    """The spec ratios, and (with a measured GEMM pair) how far each chip got of its own peak."""
    spec = h["spec"]
    text = ", ".join(f"{v:.2f}× in {k}" for k, v in spec.items() if v is not None)
    gemm = h["classes"].get("compute-bound GEMM", {})
    if gemm.get("efficiency_a") is None or not spec.get("bf16"):
        return f"The spec ratios are {text}." if text else "No spec ratio is known for this pair."
    side = "below" if gemm["ratio"] < spec["bf16"] else "above"
    return (
        f"The spec ratios are {text}; the measured GEMM ratio is {side} the bf16 one because, in the same "
        f"script, {h['b']} reaches {gemm['efficiency_b']:.0%} of its peak and {h['a']} {gemm['efficiency_a']:.0%}."
    )


def answer(inp: ReportInputs) -> Section:
    """Per report pair and workload class: the ratio from the strongest evidence, beside the spec ratio."""
    measured = _gpu_measured(inp)
    rows, sentences = [], []
    db = load_chips()
    for a, b in inp.pairs:
        if db.find(a.id) is None or db.find(b.id) is None:
            continue  # the ledger resolves its chips in the packaged database only
        h = headline_pair(a.id, b.id, db, measured=measured)
        sentences.append(headline_sentences(h))
        for klass, r in h["classes"].items():
            rows.append(
                {"chip_a": a.id, "chip_b": b.id, "class": klass, **{k: r.get(k) for k in PAIR_COLUMNS[3:]}}
            )
    return Section(
        "answer",
        "The answer per chip pair: measured before projected",
        "Per workload class, the speed-up of A over B (t_B / t_A) from the strongest evidence: runs made here, "
        "then a same-script pair of published figures, then the calibrated projection (with its expected "
        "error), then the spec ratio. " + (sentences[0] if sentences else ""),
        pd.DataFrame(rows, columns=PAIR_COLUMNS),
    )


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
    for klass in ("compute-bound GEMM", "bandwidth"):
        s = by.get(klass)
        if s is not None and s.median_abs is not None:
            met = "meets" if s.median_abs <= 0.10 else "misses"
            out.append(f"{klass}: median |error| {s.median_abs:.1%} ({met} the 10 % goal)")
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
        f" Off by more than 20 %: {listed}. Our reading: another vendor's software stack (MI300X) and an "
        "older kernel on a newer chip (FlashAttention-2 on the B200) are invisible to a power term, and an "
        "attention figure with no same-script figure on another chip is predicted from other scripts' "
        "kernels. Bandwidth equals the naive transfer: no chip figure was found that predicts memory "
        "efficiency."
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


def achieved_efficiency(inp: ReportInputs) -> Section:
    """Median achieved fraction of the spec peak per chip and class (published figures and GPU runs here)."""
    db = load_chips()
    obs, _ = observations(load_published(), db, _gpu_measured(inp))
    cells: dict[str, dict[str, list[float]]] = {}
    for o in obs:
        cells.setdefault(o.chip, {}).setdefault(o.klass or "", []).append(o.efficiency)
    rows = []
    for chip, by in cells.items():
        row = {"chip": chip, **{k: statistics.median(by[k]) if k in by else None for k in CLASSES}}
        row["figures"] = sum(len(v) for v in by.values())
        row["kinds"] = ", ".join(sorted({o.kind for o in obs if o.chip == chip}))
        rows.append(row)
    df = pd.DataFrame(rows, columns=["chip", *CLASSES, "figures", "kinds"])
    df = df.sort_values(["compute-bound GEMM", "chip"], ascending=[False, True], na_position="last")
    df = df.reset_index(drop=True)
    return Section(
        "achieved_efficiency",
        "Achieved efficiency per chip and workload class",
        "Median fraction of the spec peak (compute-bound) or bandwidth (memory-bound) reached by the figures "
        "of each chip: published figures (all scripts) and GPU runs made here. Compute-bound GEMM: "
        + ", ".join(
            f"{r.chip} {r['compute-bound GEMM']:.0%}"
            for _, r in df.iterrows()
            if pd.notna(r["compute-bound GEMM"])
        )
        + ". Efficiency differs by chip, which is why the projection does not copy it across chips.",
        df,
        plots=[Plot("achieved_efficiency", partial(plots_calibration.efficiency_by_chip, df, CLASSES))],
    )
