"""Sections about the runs themselves: machines (and every record), efficiency against spec, run-to-run
noise, records not modelled, provenance. They list every run, pipeline checks included (labelled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gpucompare import model
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section
from gpucompare.results import is_pipeline_check
from gpucompare.specs import Chip

MACHINE_COLUMNS = ["run_id", "mode", "chip_id", "device_name", "pipeline_check"]
RECORD_COUNTS = ("ok", "failed", "skipped")
VERSION_COLUMNS = ("torch", "triton", "cuda", "driver")
MEASURED_COLUMNS = [
    "run_id",
    "mode",
    "chip_id",
    "device_name",
    "workload",
    "shape_label",
    "dtype",
    "impl",
    "baseline",
    "status",
    "reason",
    "flops",
    "bytes",
    "median_s",
    "p20_s",
    "p80_s",
    "cv",
    "tflops",
    "gbps",
    "rel_error",
    "error_bound",
    "throttled",
]
EFFICIENCY_COLUMNS = {  # column -> attribute of model.Measured
    "run_id": "run_id",
    "source": "source",
    "workload": "workload",
    "shape_label": "shape_label",
    "dtype": "dtype",
    "impl": "impl",
    "intensity_flop_per_byte": "intensity",
    "ridge_flop_per_byte": "ridge",
    "bound": "bound",
    "peak_tflops": "peak_tflops",
    "peak_bw_tbps": "peak_bw_tbps",
    "peak_source": "peak_source",
    "roofline_s": "t_roof_s",
    "median_s": "median_s",
    "efficiency": "efficiency",
    "efficiency_clock_norm": "efficiency_clock_norm",
    "run_clock_mhz": "run_clock_mhz",
    "spec_clock_mhz": "spec_clock_mhz",
    "clock_note": "clock_note",
    "pipeline_check": "pipeline_check",
}
NOISE_COLUMNS = [
    "source",
    "workload",
    "shape_label",
    "dtype",
    "impl",
    "runs",
    "median_of_medians_s",
    "min_median_s",
    "max_median_s",
    "spread",
    "goal_applies",
    "pipeline_check",
]
PROVENANCE_COLUMNS = ["kind", "subject", "figure", "value", "run_id", "source_id", "confidence"]


def _finished(machine: Mapping[str, Any]) -> str:
    """ "yes", "no (interrupted)", or "unknown" for a run stored before run.json said so."""
    if "finished" not in machine:
        return "unknown"
    return "yes" if machine["finished"] is True else "no (interrupted)"


def _machine_row(machine: Mapping[str, Any], records: list[dict]) -> dict:
    versions = machine.get("versions") or {}
    return {
        **{c: machine.get(c) for c in MACHINE_COLUMNS[:4]},
        "pipeline_check": is_pipeline_check(machine),
        **{f"records_{s}": sum(x.get("status") == s for x in records) for s in RECORD_COUNTS},
        "planned_cases": machine.get("planned_cases"),
        "finished": _finished(machine),
        **{v: versions.get(v) for v in VERSION_COLUMNS},
        "git_commit": machine.get("git_commit"),
        "timestamp": machine.get("timestamp"),
    }


def machines(inp: ReportInputs) -> Section:
    """One row per run; every record of every run in ``tables/measured.csv``."""
    cols = [*MACHINE_COLUMNS, *(f"records_{s}" for s in RECORD_COUNTS), "planned_cases", "finished"]
    cols += VERSION_COLUMNS
    cols += ["git_commit", "timestamp"]
    rows = [_machine_row(r.machine, r.records) for r in inp.runs]
    table = pd.DataFrame(rows, columns=cols).sort_values("run_id", kind="stable").reset_index(drop=True)
    measured = pd.DataFrame(
        [{c: r.get(c) for c in MEASURED_COLUMNS} for r in inp.records], columns=MEASURED_COLUMNS
    )
    measured = measured.sort_values(["run_id", "workload", "shape_label", "dtype", "impl"], kind="stable")
    return Section(
        "machines",
        "Machines measured",
        "One row per run folder under `results/runs/`; `finished` says whether the run wrote its last planned "
        "case (an interrupted run keeps its whole records, and says so here).",
        table,
        more_csvs={"measured": measured.reset_index(drop=True)},
        empty_hint="a run folder under `results/runs/` (`gpucompare run`).",
    )


def efficiency(inp: ReportInputs) -> Section:
    rows = [{c: getattr(m, a) for c, a in EFFICIENCY_COLUMNS.items()} for m in inp.analysis.measured]
    table = pd.DataFrame(rows, columns=list(EFFICIENCY_COLUMNS))
    return Section(
        "efficiency",
        "Efficiency against spec",
        "Roofline time `t* = max(F/P, B/BW)` at the measured chip's own peaks, efficiency `e = t*/t`, "
        "bound from the arithmetic intensity against the ridge `P/BW`. For compute-bound work "
        "`efficiency_clock_norm = e × spec_clock / run_clock` (run clock: the SM clock sampled after the "
        "timed loop); projections use the as-run `efficiency`. The spec clock is the clock the chip's "
        "tensor peaks are computed at (`peak_clock_mhz` in the spec database: H100/H200 1830 MHz, below "
        "their 1980 MHz boost), else its boost clock. Chips with neither (H20: peaks capped "
        "independently of clock) get no normalisation.",
        table,
        shown=None if table.empty else table.drop(columns=["peak_source", "roofline_s", "clock_note"]),
        empty_hint="a run (`gpucompare run`): each record's efficiency against its chip's spec roofline.",
    )


PIPELINE_COLUMNS = ["run_id", "workload", "shape_label", "dtype", "impl", "status", "median_ms", "reason"]


def pipeline_checks(inp: ReportInputs) -> Section:
    """The cpu-fallback records, with ``include_cpu`` only: their own section, times only (no efficiency, no
    ratio: a CPU time says nothing about a GPU)."""
    rows = [
        {
            **{c: r.get(c) for c in PIPELINE_COLUMNS},
            "median_ms": None if r.get("median_s") is None else r["median_s"] * 1e3,
        }
        for r in inp.records
        if inp.include_cpu and is_pipeline_check(r)
    ]
    return Section(
        "pipeline_checks",
        "Pipeline checks (cpu-fallback runs: not chip measurements)",
        "**PIPELINE CHECK.** Triton's interpreter and PyTorch on the CPU run every kernel to test the suite "
        "end to end (the kernels run, their outputs match the reference, records are written). Their times "
        "are quantised by the OS timer and shared with other processes: they are listed here only, never "
        "used for an efficiency, a projection, a ratio or a verdict.",
        pd.DataFrame(rows, columns=PIPELINE_COLUMNS),
        empty_hint="`gpucompare report --include-cpu` with a cpu-fallback run: its records as pipeline checks.",
    )


def noise(inp: ReportInputs) -> Section:
    return Section(
        "noise",
        "Run-to-run noise",
        "Kernels measured in two or more runs on the same chip: `spread = (max - min) / median` of the "
        "per-run medians. Goal: ≤ 1 % for kernels longer than 100 µs (`goal_applies`).",
        pd.DataFrame(model.run_to_run_spread(inp.analysis), columns=NOISE_COLUMNS),
        empty_hint="two or more runs of the same kernel on the same chip.",
    )


def skipped(inp: ReportInputs) -> Section:
    return Section(
        "skipped",
        "Records not modelled",
        "Failed or skipped records and records without local peaks, with the reason.",
        pd.DataFrame(inp.all_analysis.skipped, columns=["record", "reason"]),
        empty_hint="a record that failed its check, was skipped, or has no local peaks (none so far).",
    )


def _spec_value(chip: Chip, fname: str) -> Any:
    if fname.startswith("peaks."):
        return chip.peak_tflops.get(fname.removeprefix("peaks."))
    v = getattr(chip, fname, None)
    return v if isinstance(v, int | float | str) or v is None else str(v)


def _measured_provenance(r: Mapping[str, Any]) -> dict:
    return {
        "kind": "measured",
        "subject": r.get("chip_id") or r.get("device_name"),
        "figure": f"{r.get('workload')}/{r.get('shape_label')}/{r.get('dtype')}/{r.get('impl')}",
        "value": r.get("median_s"),
        "run_id": r.get("run_id"),
        "source_id": r.get("git_commit"),
        "confidence": r.get("status"),
    }


def provenance(inp: ReportInputs) -> Section:
    rows = [_measured_provenance(r) for r in inp.records]
    rows += [
        {
            "kind": "spec",
            "subject": c.id,
            "figure": fname,
            "value": _spec_value(c, fname),
            "run_id": "",
            "source_id": src.source_id,
            "confidence": src.confidence,
        }
        for c in inp.chips
        for fname, src in sorted(c.sources.items())
    ]
    return Section(
        "provenance",
        "Provenance",
        "Every measured figure with its run id; every spec figure with its source id (a long table: CSV only).",
        pd.DataFrame(rows, columns=PROVENANCE_COLUMNS),
        readme_table=False,
    )
