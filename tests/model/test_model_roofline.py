"""The roofline of one record: efficiencies split by bound, the median rule, clocks, bad records."""

from __future__ import annotations

import pytest
from model_helpers import CHIPS, COPY, GEMM, H20, H200, one, rec

from gpucompare import model
from gpucompare.model import analyse, project


def test_other_bound_never_below_own_utilisation_and_fallback():
    # Alone in its run: no memory-bound record, so e_m is the GEMM's own measured memory utilisation.
    _a, m, eff = one([GEMM], "gemm")
    assert eff.basis_m == "own-utilisation"
    assert eff.e_m == pytest.approx((1e8 / 4.8e12) / 2e-3)
    assert project(m, H200, eff).time_s == pytest.approx(2e-3)  # projection onto itself = measurement
    # a memory record of another dtype feeds e_m (bytes are bytes); compute is never borrowed across dtypes
    copy32 = rec("copy", "big", 0.0, 4.8e9, 1.25e-3, dtype="fp32")
    _, _, eff2 = one([GEMM, copy32], "gemm")
    assert eff2.e_m == pytest.approx(0.8) and eff2.basis_m == "median-memory-any-dtype"
    mid32 = rec("triad", "x", 1e9, 1e9, 1e-3, dtype="fp32")
    _, _, eff3 = one([GEMM, mid32], "triad")
    assert eff3.basis_c == "own-utilisation"


def test_median_over_best_impls_of_the_run_only():
    slow = rec(
        "gemm", "big", 989e12 * 1e-3, 1e8, 10e-3, impl="triton"
    )  # slower impl of the same shape: ignored
    g2 = rec("gemm", "small", 989e12 * 1e-4, 1e7, 1e-3 / 4 * 1)  # e = 0.4
    g3 = rec("gemm", "mid", 989e12 * 1e-4, 1e7, 1e-4 / 0.9)  # e = 0.9
    other_run = rec("gemm", "x", 989e12 * 1e-3, 1e8, 1e-2, run="other")  # e = 0.1, another run: ignored
    mid = rec("attention_fwd", "ai100", 1e11, 1e9, 1e9 / 4.8e12 / 0.8)
    _, _, eff = one([GEMM, slow, g2, g3, other_run, mid, COPY], "attention_fwd")
    assert eff.e_c == pytest.approx(0.5)  # median of 0.5, 0.4, 0.9


def test_clock_normalised_efficiency():
    g = rec("gemm", "big", 989e12 * 1e-3, 1e8, 2e-3, sm_clock=1500)
    _, m, _ = one([g], "gemm")
    assert m.run_clock_mhz == 1500 and m.spec_clock_mhz == 1830  # the "after" (loaded) sample, not idle 345
    assert m.efficiency == pytest.approx(0.5)
    assert m.efficiency_clock_norm == pytest.approx(0.5 * 1830 / 1500)
    assert m.clock_note == "ran below spec clock"
    # no published clock (H20): no normalisation; memory-bound: none either
    _, m20, _ = one(
        [rec("gemm", "big", 148e12 * 1e-3, 1e8, 2e-3, chip=H20, run="r20", sm_clock=1500)], "gemm"
    )
    assert m20.efficiency_clock_norm is None and "clock" in m20.clock_note
    _, mc, _ = one([rec("copy", "big", 0.0, 4.8e9, 1.25e-3, sm_clock=1500)], "copy")
    assert mc.efficiency_clock_norm is None


def test_bad_records_are_reported_not_modelled():
    bad = dict(GEMM, local_peak_tflops=None)
    failed = dict(COPY, status="failed", reason="wrong result")
    a = analyse([bad, failed, COPY], CHIPS)
    assert len(a.measured) == 1
    assert any("local_peak_tflops" in r for _, r in a.skipped)
    assert any("wrong result" in r for _, r in a.skipped)
    with pytest.raises(ValueError, match="median_s"):
        model.analyse_record(dict(GEMM, median_s=0.0))
