"""The calibrated efficiency: the fitted exponent, the evidence ladder, the chip term, runs made here first."""

from __future__ import annotations

import math

import pytest
from support import make_chip, make_db

from gpucompare.model.calibration import Calibration, Target, estimate, fit, power_per_tflops
from gpucompare.model.evidence import Observation

# Three chips of equal TDP and different peaks: w = TDP / peak = 4, 2, 1 W per TFLOP/s.
A = make_chip("chip-a", {"bf16": 100.0, "fp16": 100.0}, 1.0, tdp_w=400)
B = make_chip("chip-b", {"bf16": 200.0, "fp16": 200.0}, 2.0, tdp_w=400)
C = make_chip("chip-c", {"bf16": 400.0, "fp16": 400.0}, 4.0, tdp_w=400)
DB = make_db(A, B, C)
SHAPE = {"M": 4096, "N": 4096, "K": 4096}


def obs(
    chip: str, e: float, group: str = "g1", dtype: str = "bf16", kind: str = "published", **kw
) -> Observation:
    return Observation(
        id=f"{chip}-{group}-{dtype}-{kind}", kind=kind, chip=chip, workload=kw.get("workload", "gemm"),
        shape=kw.get("shape", SHAPE), dtype=dtype, group=group, efficiency=e, bound=kw.get("bound", "compute"),
        flops=1.0, bytes=1.0, label="test",
    )  # fmt: skip


def test_power_per_tflops_needs_tdp_and_peak():
    assert power_per_tflops(A, "bf16") == pytest.approx(4.0)
    assert power_per_tflops(make_chip("x", {"bf16": 10.0}, 1.0), "bf16") is None
    assert power_per_tflops(A, "fp8") is None


def test_fit_recovers_the_exponent_within_groups():
    # e = k_group * w^0.2, with a different k per group: only within-group differences may count
    pool = [
        obs(c.id, k * (400 / c.peak_tflops["bf16"]) ** 0.2, group=g)
        for g, k in (("g1", 0.7), ("g2", 0.5))
        for c in (A, B, C)
    ]
    cal = fit(pool, DB)
    assert cal.beta == pytest.approx(0.2, abs=1e-9)
    assert cal.points == 6 and cal.keys == 2


def test_fit_without_two_chips_in_a_group_is_zero():
    assert fit([obs("chip-a", 0.9), obs("chip-b", 0.5, group="g2")], DB).beta == 0.0


def test_estimate_uses_the_closest_level_and_the_chip_term():
    pool = [obs("chip-b", 0.8), obs("chip-c", 0.5, group="other")]
    est = estimate(Target("chip-a", "gemm", SHAPE, "bf16", "g1"), "compute", pool, Calibration(0.5), DB)
    assert est.level == "same script and shape"
    assert [o.chip for o in est.evidence] == ["chip-b"]
    assert est.naive == pytest.approx(0.8)
    assert est.e == pytest.approx(min(1.0, 0.8 * (4 / 2) ** 0.5))  # capped at 1


def test_estimate_never_uses_the_target_chip_outside_own_level():
    pool = [obs("chip-a", 0.3, group="g1"), obs("chip-b", 0.6, group="g1")]
    target = Target("chip-a", "gemm", SHAPE, "bf16", "g1")
    est = estimate(target, "compute", [o for o in pool if o.chip != "chip-a"], Calibration(0.0), DB)
    assert est.e == pytest.approx(0.6)
    own = estimate(target, "compute", pool, Calibration(0.0), DB)
    assert own.level == "own chip" and own.e == pytest.approx(0.3)


def test_runs_made_here_come_before_published_figures():
    pool = [obs("chip-b", 0.8), obs("chip-b", 0.4, group="measured-here:torch", kind="measured-here")]
    est = estimate(Target("chip-a", "gemm", SHAPE, "bf16"), "compute", pool, Calibration(0.0), DB)
    assert est.e == pytest.approx(0.4) and est.kind == "measured-here"


def test_memory_efficiency_is_copied_unchanged():
    pool = [obs("chip-b", 0.85, bound="memory", workload="copy", shape={"N": 1 << 20})]
    est = estimate(Target("chip-a", "copy", {"N": 1 << 20}, "bf16"), "memory", pool, Calibration(0.9), DB)
    assert est.e == pytest.approx(0.85) == est.naive


def test_no_evidence_of_the_bound_gives_none():
    pool = [obs("chip-b", 0.8)]
    assert estimate(Target("chip-a", "copy", {"N": 8}, "bf16"), "memory", pool, Calibration(0.2), DB) is None


def test_fp16_and_bf16_share_a_precision_across_scripts():
    pool = [obs("chip-b", 0.7, group="g2", dtype="fp16")]
    est = estimate(Target("chip-a", "gemm", SHAPE, "bf16", "g1"), "compute", pool, Calibration(0.0), DB)
    assert est.level == "same workload and precision" and math.isclose(est.e, 0.7)
