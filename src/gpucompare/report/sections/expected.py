"""Measured against expected: every kernel a GPU run measured, set against what a healthy chip of that kind
should reach (:mod:`gpucompare.expect`: the calibrated model from the published ledger, with its band from
validation), flagged when it falls below the band, with the run's clocks, power and temperature beside it.
cpu-fallback runs never appear (a pipeline check says nothing about a GPU)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gpucompare import fmt
from gpucompare.errors import GpucompareError
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section

COLUMNS = [
    "run", "chip", "workload", "shape", "dtype", "impl", "measured", "expected", "band_low", "band_high",
    "unit", "verdict", "telemetry", "band_from",
]  # fmt: skip


def _median(telemetry: Mapping[str, Any], name: str) -> float | None:
    during = (telemetry.get("during") or {}).get(name)
    if isinstance(during, Mapping) and during.get("median") is not None:
        return during["median"]
    for when in ("after", "before"):
        value = (telemetry.get(when) or {}).get(name)
        if value is not None:
            return value
    return None


def telemetry_text(record: Mapping[str, Any]) -> str:
    """The run's clocks, power and temperature while (or right after) the kernel ran, in a few words."""
    t = record.get("telemetry") or {}
    after = t.get("after") or t.get("before") or {}
    parts = []
    for name, top, unit in (
        ("sm_clock_mhz", "sm_clock_max_mhz", "MHz SM"),
        ("power_w", "power_limit_w", "W"),
    ):
        value = _median(t, name)
        if value is not None:
            cap = after.get(top)
            parts.append(f"{fmt.number(value, 4)}{f' of {fmt.number(cap, 4)}' if cap else ''} {unit}")
    temp = _median(t, "temperature_c")
    if temp is not None:
        parts.append(f"{fmt.number(temp, 3)} °C")
    reasons = after.get("clock_event_reasons") or []
    if reasons:
        parts.append("clock events: " + ", ".join(map(str, reasons)))
    return "; ".join(parts) or "no telemetry"


def _key(r: Mapping[str, Any]) -> tuple:
    return (r.get("run_id"), r.get("workload"), r.get("shape_label"), r.get("dtype"), r.get("impl"))


def measured_vs_expected(inp: ReportInputs) -> Section:
    """One row per measured GPU kernel whose chip the model knows: measured rate, expected rate and band."""
    gpu = [m for m in inp.analysis.measured if not m.pipeline_check and m.chip_id]
    rows = []
    if gpu:
        from gpucompare.expect import Model
        from gpucompare.specs import load_chips

        db = load_chips()
        model = Model(db)
        records = {_key(r): r for r in inp.records}
        for m in gpu:
            chip = db.find(m.chip_id)
            if chip is None:
                continue
            try:
                e = model.kernel(chip, m.workload, m.shape, m.dtype)
            except (GpucompareError, ValueError, KeyError):  # a shape or dtype the model cannot name: no row
                continue
            if e.value is None:
                continue
            rate = (m.flops / m.median_s / 1e12) if e.unit == "TFLOP/s" else (m.bytes / m.median_s / 1e9)
            rec = records.get((m.run_id, m.workload, m.shape_label, m.dtype, m.impl), {})
            rows.append(
                [m.run_id, chip.id, m.workload, m.shape_label, m.dtype, m.impl, rate, e.value, e.low, e.high,
                 e.unit, e.verdict(rate), telemetry_text(rec), e.band]
            )  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    below = int((table["verdict"] == "below its band").sum()) if len(table) else 0
    return Section(
        "measured_vs_expected",
        "Measured against expected (is this chip healthy?)",
        "Every kernel measured on a GPU here, against what a healthy chip of its kind should reach "
        "(`gpucompare expect CHIP`: the calibrated model from the published ledger, band from its "
        f"leave-one-chip-out error), with the run's SM clock, power and temperature. {below} kernel(s) below "
        "their band: a low clock, a power cap or a hot chip is the first thing to check.",
        table,
        empty_hint="a GPU run (`gpucompare run`): each kernel measured is set against what a healthy chip "
        "should reach (`gpucompare expect CHIP`) and flagged below its band.",
    )
