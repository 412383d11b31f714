"""The projection rule onto other chips: hand-computed times, flipping bounds, statuses that are never numbers."""

from __future__ import annotations

import pytest
from model_helpers import A100, COPY, GEMM, H20, H200, NOBW, one, rec

from gpucompare.model import project, project_work, ratio


def test_compute_bound_projection_hand_computed():
    _a, m, eff = one([GEMM, COPY], "gemm")
    assert m.bound == "compute" and m.efficiency == pytest.approx(0.5)
    assert eff.e_c == pytest.approx(0.5) and eff.basis_c == "own"
    assert eff.e_m == pytest.approx(0.8) and eff.basis_m == "median-memory-bf16"
    p = project(m, H20, eff)
    assert p.status == "ok" and p.bound == "compute"
    assert p.time_s == pytest.approx(989e12 * 1e-3 / (0.5 * 148e12))  # 13.36 ms
    assert p.tflops == pytest.approx(0.5 * 148)


def test_memory_bound_projection_hand_computed():
    _, m, eff = one([GEMM, COPY], "copy")
    assert m.bound == "memory" and m.efficiency == pytest.approx(0.8)
    p = project(m, H20, eff)
    assert p.status == "ok" and p.bound == "memory"
    assert p.time_s == pytest.approx(4.8e9 / (0.8 * 4.0e12))  # 1.5 ms
    assert p.gbps == pytest.approx(0.8 * 4000)


def test_bound_flips_between_chips():
    # AI = 100 FLOP/B in bf16: ridge H200 = 989/4.8 = 206 (memory-bound), H20 = 148/4 = 37 (compute-bound).
    b = 1e9
    t = (b / 4.8e12) / 0.8
    mid = rec("attention_fwd", "ai100", 100 * b, b, t)
    _a, m, eff = one([GEMM, COPY, mid], "attention_fwd")
    assert m.intensity == pytest.approx(100) and m.bound == "memory"
    assert eff.e_m == pytest.approx(0.8) and eff.basis_m == "own"
    assert eff.e_c == pytest.approx(0.5) and eff.basis_c == "median-compute-bf16"  # from the GEMM
    p20 = project(m, H20, eff)
    assert p20.bound == "compute"
    assert p20.time_s == pytest.approx(max(1e11 / (0.5 * 148e12), b / (0.8 * 4e12)))  # 1.351 ms
    p200 = project(m, H200, eff)
    assert p200.bound == "memory" and p200.time_s == pytest.approx(t)  # own chip: measured time back
    assert ratio(p200.time_s, p20.time_s) == pytest.approx(1.3514e-3 / 2.6042e-4, rel=1e-3)


def test_unsupported_and_unknown_are_never_numbers():
    fp8 = rec("gemm", "f8", 1979e12 * 1e-3, 1e8, 2e-3, dtype="fp8")
    _a, m, eff = one([fp8], "gemm")
    p = project(m, A100, eff)
    assert p.status == "unsupported" and p.time_s is None and "fp8" in p.reason
    _, m2, eff2 = one([COPY], "copy")
    p2 = project(m2, NOBW, eff2)
    assert p2.status == "unknown" and p2.time_s is None and "bandwidth" in p2.reason
    assert project(m, NOBW, eff).status == "unknown"  # no fp8 peak on this chip
    assert project_work(1e9, 1e6, "bf16", H20, None, 0.5)[0] == "unmeasured"
