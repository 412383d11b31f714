"""The report sets every kernel measured on a GPU against what a healthy chip should reach (``gpucompare
expect``) and flags one below its band, with the run's telemetry beside it; a CPU run never appears."""

from __future__ import annotations

from pathlib import Path

from report_samples import rec

from gpucompare import report
from gpucompare.expect import Model
from gpucompare.results import Run
from gpucompare.specs import load_chips

SHAPE = {"M": 4096, "N": 4096, "K": 4096}
FLOPS = 2.0 * 4096**3
TELEMETRY = {
    "during": {"sm_clock_mhz": {"min": 1100, "median": 1200, "max": 1300}, "power_w": {"median": 690.0}},
    "after": {"sm_clock_max_mhz": 1980, "power_limit_w": 700, "clock_event_reasons": ["sw_power_cap"]},
}


def _run(run_id: str, tflops: float, mode: str = "gpu") -> Run:
    chip = load_chips().get("H200")
    r = rec(
        run_id, chip, "gemm", "4096x4096x4096", FLOPS, 3 * 4096 * 4096 * 2, FLOPS / (tflops * 1e12), mode=mode
    )
    r.update(shape=SHAPE, telemetry=TELEMETRY)
    return Run(Path(run_id), {"run_id": run_id, "mode": mode, "chip_id": r["chip_id"]}, [r])


def test_a_slow_chip_is_flagged_below_its_band_with_its_telemetry():
    expected = Model().kernel(load_chips().get("H200"), "gemm", SHAPE, "bf16")
    data = report.build([_run("r-slow", expected.low * 0.6), _run("r-ok", expected.value)])
    table = data.tables["measured_vs_expected"].set_index("run")
    assert (
        table.loc["r-slow", "verdict"] == "below its band"
        and table.loc["r-ok", "verdict"] == "within its band"
    )
    assert table.loc["r-ok", "expected"] == expected.value and table.loc["r-ok", "unit"] == "TFLOP/s"
    assert "1,200 of 1,980 MHz SM" in table.loc["r-slow", "telemetry"]
    assert (
        "690 of 700 W" in table.loc["r-slow", "telemetry"]
        and "sw_power_cap" in table.loc["r-slow", "telemetry"]
    )
    md = report.render_markdown(data, {})
    assert "Measured against expected" in md and "1 kernel(s) below their band" in md


def test_a_cpu_run_is_never_set_against_a_gpu_expectation():
    data = report.build([_run("r-cpu", 0.2, mode="cpu-fallback")], include_cpu=True)
    assert data.tables["measured_vs_expected"].empty
