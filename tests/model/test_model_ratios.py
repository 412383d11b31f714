"""Ratios between chips: direction, the claims provider, cpu-fallback runs kept out of verdicts."""

from __future__ import annotations

import pytest
from model_helpers import CHIPS, COPY, GEMM, H20, H200, counts, rec
from support import make_chip

from gpucompare import model
from gpucompare.model import analyse, ratio


def test_ratio_direction_and_provider():
    assert ratio(1.0, 6.0) == 6.0 and ratio(None, 1.0) is None
    provider = model.workload_ratios([GEMM, COPY], chips=CHIPS, counts=counts)
    rows = {r["basis"]: r for r in provider("h200-sxm", "h20")}
    assert rows["workload:gemm/big/bf16"]["ratio"] == pytest.approx(989 / 148)
    assert rows["workload:copy/big/bf16"]["ratio"] == pytest.approx(4.8 / 4.0)
    assert rows["workload:gemm/big/bf16"]["bound_a"] == "compute"
    assert set(rows) >= {"model:train", "model:prefill", "model:decode"}
    assert rows["model:decode"]["ratio"] is None  # no decode-attention measurement: unmeasured, no number
    assert all(set(r) == {"basis", "ratio", "bound_a", "bound_b", "detail"} for r in rows.values())


def test_cpu_fallback_is_labelled_pipeline_check():
    cpu = make_chip("cpu", {"bf16": 0.2}, 0.02)
    g = rec("gemm", "big", 0.2e12 * 1e-3, 1e5, 2e-3, chip=cpu, run="cpu", mode="cpu-fallback")
    a = analyse([g], CHIPS)
    assert a.measured[0].pipeline_check
    ps = model.project_all(a, [H20])
    assert ps and all(p.pipeline_check for p in ps)
    assert model.workload_ratio_rows(a, H200, H20) == []  # excluded unless asked
    rows = model.workload_ratio_rows(a, H200, H20, include_cpu=True)
    assert "PIPELINE CHECK" in rows[0]["detail"]
    provided = model.workload_ratios([g], chips=CHIPS, counts=counts)("h200-sxm", "h20")
    assert [r["basis"] for r in provided] == ["model:train", "model:prefill", "model:decode"]
    assert all(r["ratio"] is None for r in provided)  # claims never judged on CPU efficiencies
