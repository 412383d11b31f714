"""What the report opens with: per chip pair, the speed-up per workload class in a few sentences, each number
with what it rests on (measured here, published, projected, spec), a ratio chart per pair, and the roofline
of the articles' chips with the workloads at their arithmetic intensity. Then the table of every number
behind it (``tables/answer.csv``).

The numbers come from :func:`gpucompare.report.headline.pair_figures` (computed once in the inputs);
nothing is computed here but words and positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import pandas as pd

from gpucompare.files import slug
from gpucompare.report import charts
from gpucompare.report.charts import label, times
from gpucompare.report.format import number
from gpucompare.report.headline import CLASSES, PairFigure, WorkloadClass, article_shape
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Headline, PairAnswer, Plot, Section
from gpucompare.specs import Chip

#: The chips the articles compare, drawn on the overlay roofline (names as ``ChipDB.find`` resolves them).
ARTICLE_CHIPS = ("H20", "H100", "H200", "B200", "A100", "Ascend 910C")
#: Classes grouped into the sentences of a pair's answer.
GROUPS = (
    ("Compute-bound work", ("gemm", "attention")),
    ("Memory-bound work", ("decode", "bandwidth")),
    ("8-GPU communication", ("multi_gpu",)),
)
STRENGTH = ("measured here", "published", "projected", "spec")  # strongest evidence first
PHRASE = {
    "measured here": "measured here",
    "published": "in a published same-script measurement",
    "projected": "projected",
    "spec": "on spec",
}
SHORT = {
    "gemm": "training GEMM",
    "attention": "attention",
    "decode": "decode",
    "bandwidth": "bandwidth",
    "multi_gpu": "8-GPU",
}


def _rests_on(f: PairFigure) -> str:
    """What one number rests on, short: a published group links to its source."""
    if f.basis == "published" and f.url:
        group, rest = f.detail.split(":", 1)
        return f"[{group}]({f.url}):{rest}"
    if f.basis == "projected" and f.source.startswith("model: roofline"):
        return "roofline at spec peaks, " + f.detail.rsplit(": ", 1)[-1]
    return f.detail


def _firsts(figs: Sequence[PairFigure], basis: str) -> dict[str, PairFigure]:
    """The first figure with a number of ``basis`` per class (the preferred one: bf16 before fp16 ...)."""
    out: dict[str, PairFigure] = {}
    for f in figs:
        if f.basis == basis and f.ratio is not None and not (f.indicative or f.flag):
            out.setdefault(f.wclass, f)  # weak or inverted numbers stay out of the answer (table only)
    return out


def _weak(figures: Sequence[PairFigure]) -> list[str]:
    """One line per indicative or flagged number: the evidence strength, listed below the answer."""
    out = []
    for f in figures:
        if f.ratio is not None and (f.flag or f.indicative):
            what = f"FLAGGED ({f.flag})" if f.flag else f"indicative only ({f.indicative})"
            out.append(
                f"{f.chip_a} over {f.chip_b}, {SHORT.get(f.wclass, f.wclass)}, {f.basis} {times(f.ratio)}: {what}"
            )
    return out


def _same(x: dict[str, PairFigure], y: dict[str, PairFigure]) -> bool:
    return bool(x) and x.keys() == y.keys() and all(f"{x[k].ratio:.3g}" == f"{y[k].ratio:.3g}" for k in x)


def _basis_clause(basis: str, figs: Sequence[PairFigure], also: str = "") -> str | None:
    """One clause: the basis's number (one per class where they differ) and what it rests on."""
    firsts = _firsts(figs, basis)
    if not firsts:
        return None
    if len({f"{f.ratio:.3g}" for f in firsts.values()}) == 1:
        f = next(iter(firsts.values()))
        text = f"**{times(f.ratio)}** {PHRASE[basis]} ({_rests_on(f)}{also})"
    else:
        each = [f"{SHORT[k]} **{times(f.ratio)}** ({_rests_on(f)})" for k, f in firsts.items()]
        text = f"{PHRASE[basis]}: " + ", ".join(each)
    return text


def _group_sentence(name: str, keys: Sequence[str], a: Chip, b: Chip, figs: Sequence[PairFigure]) -> str:
    """The sentence for one group of classes, strongest evidence first; spec and projected merged when equal."""
    merged = _same(_firsts(figs, "projected"), _firsts(figs, "spec"))
    clauses = []
    for basis in STRENGTH:
        if basis == "projected" and merged:
            continue
        also = ""
        if basis == "spec" and merged:
            also = "; the roofline at the articles' shapes gives the same: " + _rests_on(
                next(iter(_firsts(figs, "projected").values()))
            ).removeprefix("roofline at spec peaks, ")
        clause = _basis_clause(basis, figs, also)
        if clause:
            clauses.append(clause)
    what = f"{name} ({', '.join(SHORT[k] for k in keys)})" if len(keys) > 1 else name
    if not clauses:
        reasons = "; ".join(dict.fromkeys(f.detail for f in figs)) or "no figure"
        return f"{what}: no number ({reasons})."
    return f"{what}, {label(a)} over {label(b)}: " + "; ".join(clauses) + "."


def pair_sentences(a: Chip, b: Chip, figures: Sequence[PairFigure]) -> list[str]:
    """The answer for one pair: a sentence per group of workload classes, strongest evidence first."""
    out = [
        _group_sentence(name, keys, a, b, [f for f in figures if f.wclass in keys]) for name, keys in GROUPS
    ]
    if not any(f.basis == "measured here" for f in figures):
        out.append(
            f"No run of this suite on the {label(a)} or the {label(b)} yet: nothing above is measured here."
        )
    return out


def _markers() -> list[charts.Marker]:
    out = []
    for wc in CLASSES:
        shape = article_shape(wc) if wc.key != "bandwidth" else _triad()
        if shape is not None and charts.intensity(shape[1], shape[2]):
            out.append(
                charts.Marker(
                    "triad" if wc.key == "bandwidth" else SHORT[wc.key], charts.intensity(shape[1], shape[2])
                )
            )
    return out


def _short(wc: WorkloadClass) -> str:
    return {"gemm": "GEMM", "attention": "attention", "decode": "decode", "bandwidth": "triad"}.get(
        wc.key, wc.key
    )


def _triad() -> tuple[dict, float, float] | None:
    """The bandwidth class sits on the chart as STREAM triad (a copy has no FLOP, so no place on a log axis)."""
    return article_shape(WorkloadClass("triad", "triad", ("triad",), "bandwidth", "triad", "n2^30"))


def _overlay(inp: ReportInputs) -> Plot | None:
    chips = [c for c in (inp.db.find(n) for n in ARTICLE_CHIPS) if c is not None]
    if not chips:
        return None
    pair = inp.pairs[0] if inp.pairs else None
    marks = _markers()
    where = ", ".join(f"{m.name} {number(m.intensity, 3)}" for m in marks)
    return Plot(
        "roofline_overlay",
        partial(charts.overlay_roofline, chips, marks, pair),
        caption="Spec rooflines (dense bf16 peak, HBM bandwidth; `specs/chips.toml`) of the articles' chips. "
        f"Dotted lines: the workloads at the articles' shapes, at their arithmetic intensity (FLOP/byte: "
        f"{where}); left of a chip's ridge it is bandwidth-bound, right of it compute-bound. The ratio under "
        "each workload is the roofline's (spec), not a measurement.",
    )


def headline(inp: ReportInputs) -> Headline:
    """The answer per pair (first pair first) and the overlay roofline."""
    answers = []
    for a, b in inp.pairs:
        figures = inp.figures.get((a.id, b.id), [])
        plot = Plot(
            f"ratios_{slug(a.id)}_vs_{slug(b.id)}",
            partial(charts.pair_ratios, a, b, figures),
            caption=f"Speed-up of the {label(a)} over the {label(b)} per workload class: bars for spec, "
            "projected and measured here; diamonds for published measurements, labelled with their group.",
        )
        answers.append(PairAnswer(f"{label(a)} vs {label(b)}", pair_sentences(a, b, figures), plot))
    lead = (
        "Speed-up of the first chip over the second, per workload class; each number says what it rests on: "
        "**measured here** (a run of this suite), **published** (a same-script pair of the ledger "
        "`specs/published.toml`, with its source), **projected** (the calibrated model, with its expected error: `gpucompare validate`; "
        "an indicative or flagged projection is left out here and listed under the table below) or **spec** "
        "(`specs/chips.toml`). Every number, other dtypes and shapes included, is in the table "
        "_Every number behind the answer_ below."
    )
    return Headline(lead, answers, _overlay(inp))


def evidence(inp: ReportInputs) -> Section:
    """Every number of the answer, one row per pair, class and basis."""
    rows = [f.to_dict() for figs in inp.figures.values() for f in figs]
    table = pd.DataFrame(rows, columns=list(PairFigure("", "", "", "", None, "").to_dict()))
    weak = [line for figs in inp.figures.values() for line in _weak(figs)]
    listed = (
        " Kept out of the answer above (`strength`): a projection that reverses the spec order on compute-bound "
        "work beyond its error is flagged; one whose p90 error exceeds 25 %, whose error is not known or that "
        "rests on one source is indicative only: " + "; ".join(weak) + "."
        if weak
        else ""
    )
    return Section(
        "answer",
        "Every number behind the answer",
        "Speed-up of chip A over chip B (`ratio`) per workload class and basis, with the values compared and "
        "what each rests on. `gpucompare report --pairs A:B,C:D` picks the pairs." + listed,
        table,
        shown=None if table.empty else table.drop(columns=["url"]),
        empty_hint="the chip pairs (`--pairs`) when both chips are in the spec database.",
    )
