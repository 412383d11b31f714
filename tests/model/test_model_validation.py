"""Validation between measured chips and run-to-run noise."""

from __future__ import annotations

import math

import pytest
from model_helpers import CHIPS, H100, H200, rec

from gpucompare import model
from gpucompare.model import analyse


def test_validation_error_maths():
    assert model.validation_error(1.1, 1.0) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        model.validation_error(1.0, 0.0)
    # copy at e = 0.8 on H100, measured on H200 at 1.1 × the projected time
    b = 3.35e9
    c100 = rec("copy", "big", 0.0, b, 1e-3 / 0.8, chip=H100, run="r100")
    t_proj = b / (0.8 * 4.8e12)
    c200 = rec("copy", "big", 0.0, b, t_proj * 1.1, chip=H200, run="r200")
    a = analyse([c100, c200], CHIPS)
    rows = model.validate(a, CHIPS)
    fwd = next(r for r in rows if r.from_chip == "h100-sxm")
    assert fwd.projected_s == pytest.approx(t_proj)
    assert fwd.error == pytest.approx(1 / 1.1 - 1)
    back = next(r for r in rows if r.from_chip == "h200-sxm")
    assert back.error == pytest.approx(1.1 - 1)  # e_H200 = 0.8/1.1: projected H100 time is 1.1 × measured
    assert "validated" in model.validation_status(rows)
    assert model.validation_status(model.validate(analyse([c100], CHIPS), CHIPS)).startswith("unvalidated")
    assert math.isfinite(fwd.measured_s)


def test_run_to_run_spread_of_medians():
    """Three runs of one kernel on one chip: spread = (max - min) / median of the run medians."""

    def m(run, t, impl="torch"):
        return model.Measured(
            run_id=run, pipeline_check=False, chip_id="h100-sxm", device_name="NVIDIA H100 80GB HBM3",
            workload="gemm", shape_label="8192", shape={}, dtype="bf16", impl=impl, flops=1.0, bytes=1.0,
            median_s=t, peak_tflops=1.0, peak_bw_tbps=1.0, peak_source="spec", intensity=1.0, ridge=1.0,
            bound="compute", t_roof_s=t, efficiency=1.0, compute_util=1.0, memory_util=1.0,
            run_clock_mhz=None, spec_clock_mhz=None, efficiency_clock_norm=None, clock_note="",
        )  # fmt: skip

    analysis = model.Analysis(
        [m("r1", 1.00e-3), m("r2", 1.02e-3), m("r3", 0.99e-3), m("r1", 5e-5, "triton")], []
    )
    rows = model.run_to_run_spread(analysis)
    assert len(rows) == 1  # the triton kernel was measured in one run only: no spread
    row = rows[0]
    assert row["runs"] == 3 and row["median_of_medians_s"] == pytest.approx(1.00e-3)
    assert row["spread"] == pytest.approx((1.02e-3 - 0.99e-3) / 1.00e-3)
    assert row["goal_applies"] is True
