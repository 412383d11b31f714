"""Sections that carry measurements over to other chips (all from ``gpucompare.model``): projections per
chip, ratios per chip pair, the composed transformer layer, and the validation of projections against
measurements."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import pandas as pd

from gpucompare import model
from gpucompare.dims import LLAMA3_70B
from gpucompare.report import plots
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Plot, Section

PROJECTION_COLUMNS = [
    "source_run_id",
    "source",
    "workload",
    "shape_label",
    "dtype",
    "impl",
    "chip_id",
    "status",
    "reason",
    "time_s",
    "tflops",
    "gbps",
    "bound",
    "e_c",
    "e_m",
    "basis",
    "pipeline_check",
]
RATIO_COLUMNS = [
    "chip_a",
    "chip_b",
    "basis",
    "ratio",
    "bound_a",
    "bound_b",
    "source_run_id",
    "pipeline_check",
    "detail",
]
STEP_COLUMNS = {  # model field -> report column (tokens/s is for the full stack of layers)
    "chip_id": "chip_id",
    "step": "step",
    "status": "status",
    "reason": "reason",
    "time_s": "time_s",
    "tokens": "tokens",
    "tokens_per_s": f"tokens_per_s_{LLAMA3_70B.layers}_layers",
    "bound": "bound",
    "pipeline_check": "pipeline_check",
    "matched": "matched",
}


def projection_pivot(df: pd.DataFrame) -> pd.DataFrame:
    """Projections as one row per measured item and one column per chip: "<time ms> c|m" or the status."""

    def text(r: Any) -> str:
        if r.status != "ok":
            return str(r.status)
        return f"{r.time_s * 1e3:.4g} ms {str(r.bound)[0]}" + (
            " (pipeline check)" if r.pipeline_check else ""
        )

    keys = ["source_run_id", "workload", "shape_label", "dtype", "impl"]
    chips = list(dict.fromkeys(df.chip_id))
    rows: dict[tuple, dict] = {}
    for r in df.itertuples(index=False):
        k = tuple(getattr(r, c) for c in keys)
        rows.setdefault(k, dict(zip(keys, k)))[r.chip_id] = text(r)
    return pd.DataFrame(list(rows.values()), columns=keys + chips)


def projections(inp: ReportInputs) -> Section:
    """Every measured item projected onto every chip; a roofline plot per chip with known roofs."""
    table = pd.DataFrame(
        [{c: p.to_dict()[c] for c in PROJECTION_COLUMNS} for p in inp.projections], columns=PROJECTION_COLUMNS
    )
    return Section(
        "projections",
        "Projected time and throughput per chip",
        "`t_X = max(F/(e_c·P_X), B/(e_m·BW_X))`, best implementation per workload, shape and dtype. "
        "`e_c`, `e_m`: the record's own efficiency on its own bound; on the other bound the median of "
        "the run's records bound there (same dtype; memory: any dtype if none), never below the "
        "record's own utilisation of that resource. `unsupported`/`unknown`/`unmeasured` cells carry "
        "no number. Cells: projected time and the bound on that chip (c compute, m memory); "
        "throughput (TFLOP/s, GB/s) in `tables/projections.csv`.",
        table,
        shown=None if table.empty else projection_pivot(table),
        empty_hint="a GPU run (`gpucompare run` on a GPU): each measured kernel is projected onto every chip.",
    )


def _step_ratio(inp: ReportInputs, a_id: str, b_id: str, step: str) -> dict | None:
    sa = next((s for s in inp.steps if s.chip_id == a_id and s.step == step), None)
    sb = next((s for s in inp.steps if s.chip_id == b_id and s.step == step), None)
    if sa is None or sb is None:
        return None
    return {
        "chip_a": a_id,
        "chip_b": b_id,
        "basis": f"model:{step}",
        "ratio": model.ratio(sa.time_s, sb.time_s),
        "bound_a": sa.bound_summary,
        "bound_b": sb.bound_summary,
        "detail": f"{sa.status}/{sb.status} {sa.reason or sb.reason}".strip(),
        "source_run_id": "",
        "pipeline_check": sa.pipeline_check,
    }


def ratios(inp: ReportInputs) -> Section:
    """Projected speed-up per chosen pair, per workload and per composed step; a bar plot per pair."""
    rows = []
    for a, b in inp.pairs:
        for r in model.workload_ratio_rows(inp.analysis, a, b, include_cpu=inp.include_cpu):
            rows.append({"chip_a": a.id, "chip_b": b.id, **r})
        steps = (_step_ratio(inp, a.id, b.id, step) for step in model.STEPS)
        rows += [r for r in steps if r is not None]
    table = pd.DataFrame(rows, columns=RATIO_COLUMNS)
    return Section(
        "ratios",
        "Ratios per workload",
        "Speed-up of chip A over chip B, `t_B / t_A`, per measured workload and per composed step "
        "(`model:`); the charts per pair are at the top.",
        table,
        empty_hint="a GPU run: the projected speed-up of each chosen pair on every measured kernel.",
    )


def _layer_intro(layer: model.LayerConfig) -> str:
    train, prefill = model.step_tokens("train", layer), model.step_tokens("prefill", layer)
    batch = model.step_tokens("decode", layer)
    return (
        f"One layer: {LLAMA3_70B.describe()} (QKV, out, gate, up, down GEMMs + attention). "
        f"train: fwd + bwd over {train} tokens (GEMM bwd = 2 × fwd); prefill: {prefill} tokens; "
        f"decode: batch {batch} over a {layer.decode_context}-token KV cache. FLOPs/bytes from "
        "`gpucompare.workloads`; efficiencies from the nearest measured shape (`matched`). tokens/s "
        f"for {LLAMA3_70B.layers} such layers (no embedding, norms or communication)."
    )


def model_steps(inp: ReportInputs) -> Section:
    rows = [{STEP_COLUMNS[k]: v for k, v in s.to_dict().items()} for s in inp.steps]
    return Section(
        "model_steps",
        f"A {LLAMA3_70B.name}-sized layer (train, prefill, decode)",
        _layer_intro(inp.layer),
        pd.DataFrame(rows, columns=list(STEP_COLUMNS.values())),
        empty_hint="a GPU run with GEMM and attention (train, prefill) or decode attention (decode) kernels.",
    )


def validation(inp: ReportInputs) -> Section:
    """Projections between measured chips against their measurements; the scatter plot."""
    cols = [f.name for f in dataclasses.fields(model.ValidationRow)]
    return Section(
        "validation",
        "Validation: projection vs measurement",
        "",
        pd.DataFrame([dataclasses.asdict(r) for r in inp.validation], columns=cols),
        readme_note=inp.validation_summary + ".",
        plots=[Plot("validation", partial(plots.validation, inp.validation))] if inp.validation else [],
        empty_hint="runs on two different GPUs measuring the same kernel: each projected onto the other and "
        "compared with its measurement.",
    )
