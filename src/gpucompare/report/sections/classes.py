"""Sections per workload class and per chip roof: efficiency (achieved / spec peak) per chip and workload class,
from the runs made here and from the ledger of published measurements; the chips' rooflines as a table,
with a roofline figure per chip as SVG files."""

from __future__ import annotations

from functools import partial

import pandas as pd

from gpucompare import model
from gpucompare.files import slug
from gpucompare.model import comm
from gpucompare.report import charts, plots
from gpucompare.report.headline import CLASS_OF
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Plot, Section
from gpucompare.specs import Chip
from gpucompare.specs.published import PublishedEntry

EFFICIENCY_COLUMNS = [
    "chip_id",
    "workload_class",
    "basis",
    "efficiency",
    "achieved",
    "spec_peak",
    "unit",
    "workload",
    "dtype",
    "source",
]
ROOF_COLUMNS = ["chip_id", "name", "bf16_tflops", "fp8_tflops", "bandwidth_tbps", "ridge_bf16_flop_per_byte"]


def _published_row(e: PublishedEntry, chip: Chip) -> dict | None:
    """Achieved against spec for one ledger entry: TFLOP/s over the dtype's peak, GB/s over the bandwidth
    (a collective's busbw over the link's per-direction bandwidth)."""
    if e.workload not in CLASS_OF:
        return None
    if e.metric == "gbps" and e.workload == "collective":  # busbw against the link, per direction
        achieved, peak, unit = e.value, comm.link_gbps(chip)[0] or 0, "GB/s"
    elif e.metric == "gbps":
        achieved, peak, unit = e.value, (chip.bandwidth_tbps or 0) * 1000, "GB/s"
    elif e.metric in ("tflops", "time_s") and chip.peak_tflops.get(e.dtype):
        achieved, peak, unit = e.value, chip.peak_tflops[e.dtype], "TFLOP/s"
        if e.metric == "time_s":
            if not e.registered:
                return None
            flops, _ = model.default_counts(e.workload, e.shape, e.dtype, e.id)
            achieved = flops / e.value / model.TERA
    else:
        return None
    if not peak:
        return None
    return _row(chip.id, e.workload, e.dtype, "published", achieved, peak, unit, f"{e.group} ({e.id})")


def _row(chip, workload, dtype, basis, achieved, peak, unit, source) -> dict:
    return {
        "chip_id": chip,
        "workload_class": CLASS_OF[workload].key,
        "basis": basis,
        "efficiency": achieved / peak,
        "achieved": achieved,
        "spec_peak": peak,
        "unit": unit,
        "workload": workload,
        "dtype": dtype,
        "source": source,
    }


def _measured_row(m: model.Measured) -> dict | None:
    if m.pipeline_check or m.workload not in CLASS_OF or not m.chip_id:
        return None
    if m.bound == "compute":
        achieved, peak, unit = m.flops / m.median_s / model.TERA, m.peak_tflops, "TFLOP/s"
    else:
        achieved, peak, unit = m.bytes / m.median_s / 1e9, m.peak_bw_tbps * 1000, "GB/s"
    return _row(m.chip_id, m.workload, m.dtype, "measured here", achieved, peak, unit, f"run {m.run_id}")


def efficiency_table(inp: ReportInputs) -> pd.DataFrame:
    rows = [_measured_row(m) for m in inp.analysis.best()]
    chips = {c.id: c for c in inp.chips}
    rows += [_published_row(e, chips[e.chip]) for e in inp.published if e.chip in chips]
    table = pd.DataFrame([r for r in rows if r], columns=EFFICIENCY_COLUMNS)
    order = {c.id: i for i, c in enumerate(inp.chips)}
    table["_o"] = table.chip_id.map(order)
    table = table.sort_values(
        ["_o", "workload_class", "basis", "efficiency"], ascending=[1, 1, 1, 0], kind="stable"
    )
    return table.drop(columns="_o").reset_index(drop=True)


def _bars(table: pd.DataFrame, inp: ReportInputs) -> list[charts.EfficiencyBar]:
    """The best figure per chip, class and basis (measured here preferred over published)."""
    best = table.sort_values(["basis", "efficiency"], ascending=[0, 0], kind="stable")
    best = best.drop_duplicates(["chip_id", "workload_class"])
    names = {c.id: charts.label(c) for c in inp.chips}
    rows = table.drop_duplicates(["chip_id"])  # chips in database order
    out = []
    for chip in rows.chip_id:
        for r in best[best.chip_id == chip].itertuples(index=False):
            out.append(
                charts.EfficiencyBar(
                    names[chip], r.workload_class, r.efficiency, r.basis, r.source.split(" ")[0]
                )
            )
    return out


def efficiency_by_class(inp: ReportInputs) -> Section:
    table = efficiency_table(inp)
    bars = _bars(table, inp) if not table.empty else []
    figure = Plot(
        "efficiency_by_class",
        partial(charts.efficiency, bars),
        caption="Achieved throughput over the chip's spec peak (dense peak of the dtype for compute-bound work, "
        "HBM bandwidth for memory-bound work, the link's per-direction bandwidth for 8-GPU collectives), the "
        "best figure per chip and class: a mark per class, hollow for published measurements, filled for "
        "runs made here. Marks right of the dashed 100 % line exceed the spec figure (an all-reduce with "
        "NVLink SHARP reduces in the switch, so its bus bandwidth can pass the wire's); none is cut off.",
    )
    return Section(
        "efficiency_by_class",
        "Efficiency per chip and workload class",
        "How close real kernels come to the spec sheet: `efficiency = achieved / spec peak`, from the runs made "
        "here (`measured here`) and from the ledger of published measurements (`published`, "
        "`specs/published.toml`: the entry's group and id in `source`).",
        table,
        plots=[figure] if bars else [],
        empty_hint="a GPU run (`gpucompare run`) or a ledger entry (`specs/published.toml`) on a chip of the "
        "database.",
    )


def rooflines(inp: ReportInputs) -> Section:
    """Each chip's roofs as a table; a roofline figure per chip (measured and projected points) as SVG."""
    rows = [
        {
            "chip_id": c.id,
            "name": c.name,
            "bf16_tflops": c.peak_tflops.get("bf16"),
            "fp8_tflops": c.peak_tflops.get("fp8"),
            "bandwidth_tbps": c.bandwidth_tbps,
            "ridge_bf16_flop_per_byte": c.peak_tflops["bf16"] / c.bandwidth_tbps
            if c.peak_tflops.get("bf16") and c.bandwidth_tbps
            else None,
        }
        for c in inp.chips
    ]
    # a chip's figure only when it has a point to show (measured on it or projected onto it from a GPU run):
    # the roofs alone are the table and the overlay at the top
    with_points = {m.chip_id for m in inp.analysis.measured if m.flops > 0}
    with_points |= {p.chip_id for p in inp.projections if p.status == "ok" and p.flops > 0}
    figures = [
        Plot(
            f"roofline_{slug(c.id)}",
            partial(plots.roofline, c, inp.analysis.measured, inp.projections),
            inline=False,
            formats=("svg",),
        )
        for c in inp.chips
        if c.bandwidth_tbps and c.peak_tflops.get("bf16") and c.id in with_points
    ]
    points = (
        f"One roofline figure per chip with points ({len(figures)}), measured here and projected from the "
        "GPU runs, as SVG files."
        if figures
        else "No GPU run yet, so no chip has a measured or projected point: no per-chip figure is drawn (the "
        "roofs of the articles' chips are on the overlay at the top)."
    )
    return Section(
        "rooflines",
        "Rooflines per chip",
        "Spec roofs of every chip (`specs/chips.toml`): dense peaks, HBM bandwidth and the bf16 ridge point "
        "`P/BW` (left of it a kernel is bandwidth-bound). " + points,
        pd.DataFrame(rows, columns=ROOF_COLUMNS),
        plots=figures,
    )
