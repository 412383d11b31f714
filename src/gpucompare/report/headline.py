"""The headline's numbers: per workload class, how much faster chip A is than chip B, on every basis there is.

One function, :func:`pair_figures`, gives them (it is the one place the report asks; a model-level
``headline_pair`` can replace it). Bases, weakest first (``BASES``):

- **spec**: the ratio of the resource that bounds the class (dense bf16 peak, HBM bandwidth, per-GPU
  NVLink-class bandwidth), from ``gpucompare.specs.spec_ratios``;
- **projected**: the class's article shape (``CLASSES``; FLOPs and bytes from ``gpucompare.workloads``) on
  each chip by the calibrated projection (``gpucompare.model.predict``: per-chip efficiency from the ledger
  and the GPU runs, with its expected error); for chips outside the packaged database, the roofline time
  ``t* = max(F/P, B/BW)`` at a GPU run's efficiencies (``gpucompare.model.workload_ratio_rows``) or at 100 %;
- **published**: two representative entries of the ledger of published measurements
  (``gpucompare.specs.published``) from the same group (one script or harness), same workload, shape and
  dtype: apples to apples (an entry its own source reports as a regression or low is never one);
- **measured here**: both chips measured on the same workload, shape and dtype by runs made with this suite.

A projected figure carries ``indicative`` (p90 error above 25 %, error not known, or one source: labelled,
never bold, never in the answer) and ``flag`` (it reverses the chips' spec order on compute-bound work beyond
its error: listed, kept out of the answer). Ratios are speed-ups of A over B (``t_B / t_A``, or ``value_A / value_B`` for a throughput). cpu-fallback
runs never appear (``results.is_pipeline_check``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gpucompare import model
from gpucompare.report.format import number
from gpucompare.specs import Chip, spec_ratios
from gpucompare.specs.published import PublishedEntry

BASES = ("spec", "projected", "published", "measured here")
THROUGHPUT_UNITS = {"tflops": "TFLOP/s", "gbps": "GB/s", "tokens_per_s": "tokens/s"}
DTYPE_ORDER = ("bf16", "fp16", "fp8", "tf32", "fp32", "fp64")


@dataclass(frozen=True)
class WorkloadClass:
    """A kind of work the articles talk about: the workloads in it, the spec resource that bounds it, and the
    shape the projection uses (a registered GPU shape of ``workload``; None: no workload measures it yet)."""

    key: str
    label: str
    workloads: tuple[str, ...]
    spec_basis: str
    workload: str | None = None
    shape_label: str | None = None
    dtype: str = "bf16"
    shape_text: str = ""


CLASSES: tuple[WorkloadClass, ...] = (
    WorkloadClass(
        "gemm",
        "compute-bound training GEMM",
        ("gemm",),
        "bf16",
        "gemm",
        "llama3-70b-mlp-up-4096tok",
        shape_text="Llama-3-70B MLP up-projection, 4,096 tokens",
    ),
    WorkloadClass(
        "attention",
        "attention",
        ("attention_fwd", "attention_bwd"),
        "bf16",
        "attention_fwd",
        "llama3-70b-b1-h64-kv8-s8192-d128-causal",
        shape_text="Llama-3-70B causal forward, 8,192 tokens",
    ),
    WorkloadClass(
        "decode",
        "memory-bound decode",
        ("decode_attention", "gemm_decode"),
        "bandwidth",
        "decode_attention",
        "llama3-70b-b8-ctx32k",
        shape_text="Llama-3-70B decode attention, batch 8, 32k-token KV cache",
    ),
    WorkloadClass(
        "bandwidth",
        "bandwidth",
        ("copy", "triad"),
        "bandwidth",
        "copy",
        "n2^30",
        shape_text="copy of 2^30 elements",
    ),
    WorkloadClass("multi_gpu", "8-GPU communication", ("collective",), "interconnect"),
)
CLASS_OF = {w: c for c in CLASSES for w in c.workloads}


@dataclass(frozen=True)
class PairFigure:
    """One number of the headline: speed-up of ``chip_a`` over ``chip_b`` on one class and one basis.

    ``ratio`` is None when the basis has no number for this pair (``detail`` says why); ``detail`` says what
    the number rests on, ``source`` where it comes from (a run id, a ledger source with its place, the spec
    database)."""

    chip_a: str
    chip_b: str
    wclass: str
    basis: str
    ratio: float | None
    detail: str
    source: str = ""
    a_value: float | None = None
    b_value: float | None = None
    unit: str = ""
    url: str = ""
    tag: str = ""  # a few words for a chart label (published: group and dtype)
    indicative: str = (
        ""  # why the number is only indicative (weak evidence): labelled, never bold or in the answer
    )
    flag: str = (
        ""  # why the number is flagged (a projection inverting the spec order): kept out of the answer
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "chip_a": self.chip_a,
            "chip_b": self.chip_b,
            "workload_class": self.wclass,
            "basis": self.basis,
            "ratio": self.ratio,
            "a_value": self.a_value,
            "b_value": self.b_value,
            "unit": self.unit,
            "detail": self.detail,
            "source": self.source,
            "url": self.url,
            "strength": self.flag or (f"indicative: {self.indicative}" if self.indicative else ""),
        }


def article_shape(wc: WorkloadClass) -> tuple[dict[str, Any], float, float] | None:
    """(params, FLOPs, bytes) of the class's article shape, from the workloads registry; None without one."""
    if wc.workload is None:
        return None
    from gpucompare.workloads import get_workload

    shape = next(s for s in get_workload(wc.workload).tiers["gpu"] if s.label == wc.shape_label)
    flops, nbytes = model.default_counts(wc.workload, shape.params, wc.dtype, shape.label)
    return dict(shape.params), flops, nbytes


def _fig(
    a: Chip, b: Chip, wc: WorkloadClass, basis: str, ratio: float | None, detail: str, **kw
) -> PairFigure:
    return PairFigure(a.id, b.id, wc.key, basis, ratio, detail, **kw)


def _spec(a: Chip, b: Chip, wc: WorkloadClass) -> PairFigure:
    (br,) = spec_ratios(a, b, (wc.spec_basis,))
    what = {"bf16": "dense bf16 peak", "bandwidth": "HBM bandwidth", "interconnect": "NVLink-class bandwidth"}
    detail = br.reason or f"{what[wc.spec_basis]} {number(br.a_value)} vs {number(br.b_value)} {br.unit}"
    return _fig(
        a,
        b,
        wc,
        "spec",
        br.ratio,
        detail,
        source="spec database (chips.toml)",
        a_value=br.a_value,
        b_value=br.b_value,
        unit=br.unit,
    )


def _roofline(a: Chip, b: Chip, wc: WorkloadClass) -> PairFigure | None:
    shape = article_shape(wc)
    if shape is None:
        return None
    _, flops, nbytes = shape
    ends = [model.project_work(flops, nbytes, wc.dtype, c, 1.0, 1.0) for c in (a, b)]
    (_, ra, ta, ba), (_, rb, tb, bb) = ends
    r = model.ratio(ta, tb)
    if r is None:
        return _fig(a, b, wc, "projected", None, "; ".join(x for x in (ra, rb) if x))
    bounds = f"{ba}-bound on both" if ba == bb else f"{ba}-bound on {a.id}, {bb}-bound on {b.id}"
    detail = f"roofline at spec peaks, {wc.shape_text}, {wc.dtype}, {number(flops / nbytes, 3)} FLOP/byte: {bounds}"
    return _fig(
        a,
        b,
        wc,
        "projected",
        r,
        detail,
        source="model: roofline at spec peaks",
        a_value=ta * 1e3,
        b_value=tb * 1e3,
        unit="ms",
    )


def _calibrated(a: Chip, b: Chip, wc: WorkloadClass, gpu: model.Analysis | None) -> PairFigure | None:
    """The class's article shape on both chips by the calibrated projection (:func:`gpucompare.model.predict`:
    ledger and GPU runs as evidence, per-chip efficiency, expected error); None for chips the packaged
    database does not hold as given (the ledger resolves its chips there) or a class it cannot predict."""
    from gpucompare.specs import load_chips

    shape = article_shape(wc)
    db = load_chips()
    if shape is None or any(db.find(c.id) != c for c in (a, b)):
        return None
    measured = gpu.measured if gpu else ()
    pa, pb = (model.predict(c.id, wc.workload, shape[0], wc.dtype, measured=measured) for c in (a, b))
    if pa.time_s is None or pb.time_s is None:
        return None
    from gpucompare.model.bands import ErrorBand
    from gpucompare.model.headline import inversion

    each = ", ".join(
        f"{p.chip} at {p.efficiency:.0%} of its roofline ({p.level}, {'/'.join(p.implementations)}; "
        f"{ErrorBand(p.expected_rel_error, p.expected_p90, p.expected_n, '').text()})"
        for p in (pa, pb)
    )
    r = model.ratio(pa.time_s, pb.time_s)
    weak = "; ".join(f"{p.chip}: {p.indicative_why}" for p in (pa, pb) if p.indicative)
    flag = inversion(a, b, wc.workload, r, [pa.expected_p90, pb.expected_p90]) if r else ""
    return _fig(
        a,
        b,
        wc,
        "projected",
        r,
        f"calibrated model, {wc.shape_text}, {wc.dtype}: {each}",
        indicative=weak,
        flag=flag,
        source="model: calibrated projection",
        a_value=pa.time_s * 1e3,
        b_value=pb.time_s * 1e3,
        unit="ms",
    )


def _measured_projection(a: Chip, b: Chip, wc: WorkloadClass, analysis: model.Analysis) -> PairFigure | None:
    """The class's projection at a GPU run's efficiencies: the article shape if measured, else the first."""
    rows = [
        r
        for r in model.workload_ratio_rows(analysis, a, b)
        if r["basis"].split(":", 1)[1].split("/", 1)[0] in wc.workloads and r["ratio"] is not None
    ]
    if not rows:
        return None
    rows.sort(key=lambda r: (f"/{wc.shape_label}/" not in r["basis"], r["basis"]))
    r = rows[0]
    detail = f"{r['basis'].removeprefix('workload:')} at run {r['source_run_id']}'s efficiencies"
    return _fig(a, b, wc, "projected", r["ratio"], detail, source=f"model: run {r['source_run_id']}")


def _measured_here(a: Chip, b: Chip, wc: WorkloadClass, analysis: model.Analysis) -> PairFigure | None:
    """Both chips measured on the same (workload, shape, dtype): the ratio of their best median times."""
    best: dict[tuple[str, tuple], model.Measured] = {}
    for m in analysis.best():
        if m.pipeline_check or m.workload not in wc.workloads or m.chip_id not in (a.id, b.id):
            continue
        k = (m.chip_id, m.key)
        if k not in best or m.median_s < best[k].median_s:
            best[k] = m
    common = sorted({k for c, k in best if c == a.id} & {k for c, k in best if c == b.id})
    if not common:
        return None
    key = min(
        common,
        key=lambda k: (k[1] != wc.shape_label, DTYPE_ORDER.index(k[2]) if k[2] in DTYPE_ORDER else 9, k),
    )
    ma, mb = best[(a.id, key)], best[(b.id, key)]
    detail = (
        f"{'/'.join(key)}: {number(ma.median_s * 1e3)} ms on {a.id}, {number(mb.median_s * 1e3)} ms on {b.id}"
    )
    return _fig(
        a,
        b,
        wc,
        "measured here",
        model.ratio(ma.median_s, mb.median_s),
        detail,
        source=f"runs {ma.run_id}, {mb.run_id}",
        a_value=ma.median_s * 1e3,
        b_value=mb.median_s * 1e3,
        unit="ms",
    )


def _entry_key(e: PublishedEntry) -> tuple:
    return (e.group, e.workload, tuple(sorted(e.shape.items())), e.dtype, e.metric)


def _published(a: Chip, b: Chip, wc: WorkloadClass, entries: Sequence[PublishedEntry]) -> list[PairFigure]:
    """Every same-group pair of ledger entries on this class (mean of a chip's repeated entries)."""
    by_key: dict[tuple, dict[str, list[PublishedEntry]]] = {}
    for e in entries:
        if e.workload in wc.workloads and e.chip in (a.id, b.id) and e.representative:
            by_key.setdefault(_entry_key(e), {}).setdefault(e.chip, []).append(e)
    order = {d: i for i, d in enumerate(DTYPE_ORDER)}
    out = []
    for key, chips in sorted(by_key.items(), key=lambda kv: (order.get(kv[0][3], 9), kv[0][0])):
        if len(chips) < 2:
            continue
        ea, eb = chips[a.id], chips[b.id]
        va, vb = (statistics.fmean(e.value for e in es) for es in (ea, eb))
        metric, dtype = key[4], key[3]
        ratio = vb / va if metric == "time_s" else va / vb
        unit = THROUGHPUT_UNITS.get(metric, "s")
        n = f"; mean of {len(ea)} and {len(eb)} entries" if len(ea) + len(eb) > 2 else ""
        params = dict(key[2])
        shape = (
            f"{params['M']}×{params['N']}×{params['K']}"
            if set(params) == {"M", "N", "K"}
            else " ".join(f"{k}={v}" for k, v in key[2])
        )
        detail = f"{key[0]}: {number(va)} vs {number(vb)} {unit}, {ea[0].workload} {shape} {dtype}{n}"
        srcs = dict.fromkeys(f"{e.source['title']} ({e.source['date']}) <{e.source['url']}>" for e in ea + eb)
        source = "; ".join(srcs)
        out.append(
            _fig(
                a,
                b,
                wc,
                "published",
                ratio,
                detail,
                source=source,
                a_value=va,
                b_value=vb,
                unit=unit,
                url=ea[0].source["url"],
                tag=f"{key[0]}: {ea[0].workload} {dtype}",
            )
        )
    return out


def pair_figures(
    a: Chip,
    b: Chip,
    analysis: model.Analysis | None = None,
    published: Sequence[PublishedEntry] = (),
) -> list[PairFigure]:
    """Every headline number for the pair, per class (``CLASSES`` order) and basis (``BASES`` order).

    ``analysis``: the GPU runs (pipeline checks are ignored); ``published``: the ledger's entries.
    """
    gpu = model.Analysis([m for m in analysis.measured if not m.pipeline_check]) if analysis else None
    out: list[PairFigure] = []
    for wc in CLASSES:
        out.append(_spec(a, b, wc))
        proj = _calibrated(a, b, wc, gpu)
        proj = proj or (_measured_projection(a, b, wc, gpu) if gpu and gpu.measured else None)
        proj = proj or _roofline(a, b, wc)
        if proj is not None:
            out.append(proj)
        out += _published(a, b, wc, published)
        here = _measured_here(a, b, wc, gpu) if gpu else None
        if here is not None:
            out.append(here)
    return out
