"""The roofline model: hand-computed projections, flipping bounds, statuses, clocks, ratios, composition,
validation.

Synthetic chips and records only (no dependency on the spec database or a measured run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from gpucompare import model
from gpucompare.model import LayerConfig, analyse, efficiencies, project, project_work, ratio


@dataclass(frozen=True)
class FakeChip:
    id: str
    peak_tflops: dict
    bandwidth_tbps: float | None
    boost_clock_mhz: float | None = None
    unsupported: frozenset = field(default_factory=frozenset)

    def peak_status(self, dtype: str) -> str:
        if dtype in self.unsupported:
            return "unsupported"
        return "known" if self.peak_tflops.get(dtype) is not None else "unknown"


H20 = FakeChip("h20", {"bf16": 148.0, "fp8": 296.0, "fp32": 44.0}, 4.0)
H200 = FakeChip("h200-sxm", {"bf16": 989.0, "fp8": 1979.0, "fp32": 67.0}, 4.8, 1830.0)
H100 = FakeChip("h100-sxm", {"bf16": 989.0, "fp8": 1979.0, "fp32": 67.0}, 3.35, 1830.0)
A100 = FakeChip("a100", {"bf16": 312.0, "fp8": None, "fp32": 19.5}, 2.04, 1410.0, frozenset({"fp8"}))
NOBW = FakeChip("nobw", {"bf16": 100.0}, None)
CHIPS = {c.id: c for c in (H20, H200, H100, A100, NOBW)}


def rec(
    workload,
    label,
    flops,
    nbytes,
    t,
    chip=H200,
    dtype="bf16",
    run="run-h200",
    impl="torch",
    sm_clock=None,
    shape=None,
    mode="gpu",
):
    """A schema-v1 record (only the fields the model reads), with the local peaks of ``chip``."""
    tel = {"before": {"sm_clock_mhz": 345}, "after": {"sm_clock_mhz": sm_clock, "sm_clock_max_mhz": 1980}}
    return {
        "schema_version": 1,
        "run_id": run,
        "workload": workload,
        "shape_label": label,
        "shape": shape or {},
        "dtype": dtype,
        "impl": impl,
        "status": "ok",
        "flops": flops,
        "bytes": nbytes,
        "median_s": t,
        "mode": mode,
        "chip_id": chip.id if mode == "gpu" else None,
        "device_name": chip.id,
        "local_peak_tflops": chip.peak_tflops.get(dtype),
        "local_peak_bw_tbps": chip.bandwidth_tbps,
        "local_peak_source": "spec",
        "telemetry": tel if sm_clock else {},
    }


# e = 0.5 compute-bound GEMM on H200: F = 989e12 · 1e-3, t = 2 ms (t* = 1 ms)
GEMM = rec("gemm", "big", 989e12 * 1e-3, 1e8, 2e-3)
# e = 0.8 memory-bound copy on H200: B = 4.8e9, t = 1.25 ms (t* = 1 ms)
COPY = rec("copy", "big", 0.0, 4.8e9, 1.25e-3)


def one(records, key):
    a = analyse(records, CHIPS)
    m = next(m for m in a.measured if m.workload == key)
    return a, m, efficiencies(m, a.of_run(m.run_id))


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


def test_ratio_direction_and_provider():
    assert ratio(1.0, 6.0) == 6.0 and ratio(None, 1.0) is None
    provider = model.workload_ratios([GEMM, COPY], chips=CHIPS.values(), counts=_counts)
    rows = {r["basis"]: r for r in provider("h200-sxm", "h20")}
    assert rows["workload:gemm/big/bf16"]["ratio"] == pytest.approx(989 / 148)
    assert rows["workload:copy/big/bf16"]["ratio"] == pytest.approx(4.8 / 4.0)
    assert rows["workload:gemm/big/bf16"]["bound_a"] == "compute"
    assert set(rows) >= {"model:train", "model:prefill", "model:decode"}
    assert rows["model:decode"]["ratio"] is None  # no decode-attention measurement: unmeasured, no number
    assert all(set(r) == {"basis", "ratio", "bound_a", "bound_b", "detail"} for r in rows.values())


def test_cpu_fallback_is_labelled_pipeline_check():
    cpu = FakeChip("cpu", {"bf16": 0.2}, 0.02)
    g = rec("gemm", "big", 0.2e12 * 1e-3, 1e5, 2e-3, chip=cpu, run="cpu", mode="cpu-fallback")
    a = analyse([g], CHIPS)
    assert a.measured[0].pipeline_check
    ps = model.project_all(a, [H20])
    assert ps and all(p.pipeline_check for p in ps)
    assert model.workload_ratio_rows(a, H200, H20) == []  # excluded unless asked
    rows = model.workload_ratio_rows(a, H200, H20, include_cpu=True)
    assert "PIPELINE CHECK" in rows[0]["detail"]
    provided = model.workload_ratios([g], chips=CHIPS.values(), counts=_counts)("h200-sxm", "h20")
    assert [r["basis"] for r in provided] == ["model:train", "model:prefill", "model:decode"]
    assert all(r["ratio"] is None for r in provided)  # claims never judged on CPU efficiencies


def _counts(workload, dims, dtype, label):
    """Stand-in cost model for the composition test (the real one lives in gpucompare.workloads)."""
    if workload == "gemm":
        m, n, k = dims["M"], dims["N"], dims["K"]
        return 2.0 * m * n * k, 2.0 * (m * k + k * n + m * n)
    b, hq, d = dims["batch"], dims["hq"], dims["d"]
    if workload in ("attention_fwd", "attention_bwd"):
        f = 2.0 * b * hq * dims["sq"] * dims["sk"] * d
        return (f * 2.5 if workload == "attention_bwd" else f), 8.0 * b * hq * dims["sq"] * d
    if workload == "decode_attention":
        return 4.0 * b * hq * dims["L"] * d, 4.0 * b * dims["hkv"] * dims["L"] * d
    raise AssertionError(workload)


def test_layer_shapes_are_llama3_70b():
    cfg = LayerConfig()
    g = {n: (m, nn, k) for n, m, nn, k in cfg.gemms(7)}
    assert g == {
        "qkv": (7, 10240, 8192),
        "out": (7, 8192, 8192),
        "gate": (7, 28672, 8192),
        "up": (7, 28672, 8192),
        "down": (7, 8192, 28672),
    }
    names = [p.name for p in model.step_pieces("train", cfg)]
    assert names[-2:] == ["attention-fwd", "attention-bwd"]
    with pytest.raises(ValueError, match="unknown step"):
        model.step_pieces("sample", cfg)


def test_composition_sums_pieces():
    cfg = LayerConfig()
    att = rec("attention_fwd", "a", 1e12, 1e9, 1e12 / 989e12 / 0.4, shape={"batch": 1, "sq": 4096})
    attb = rec("attention_bwd", "a", 2.5e12, 2e9, 2.5e12 / 989e12 / 0.3)
    dec = rec("decode_attention", "d", 1e9, 1e9, 1e9 / 4.8e12 / 0.7)
    records = [GEMM, COPY, att, attb, dec]
    a = analyse(records, CHIPS)
    steps = {(s.chip_id, s.step): s for s in model.compose_steps(a, [H20, H200], cfg, counts=_counts)}
    train = steps[("h20", "train")]
    assert train.status == "ok" and len(train.pieces) == 7
    expect = 0.0
    for p in model.step_pieces("train", cfg):
        f, b = _counts(p.workload, p.dims, "bf16", "")
        e_c = {"gemm": 0.5, "attention_fwd": 0.4, "attention_bwd": 0.3}[p.workload]
        expect += p.multiplier * max(f / (e_c * 148e12), b / (0.8 * 4e12))
    assert train.time_s == pytest.approx(expect)
    assert train.tokens_per_s == pytest.approx(4096 / (expect * 80))
    gemm_fwd = sum(p.time_s for p in steps[("h20", "prefill")].pieces if p.workload == "gemm")
    gemm_train = sum(p.time_s for p in train.pieces if p.workload == "gemm")
    assert gemm_train == pytest.approx(3 * gemm_fwd)  # bwd = 2 × fwd
    dec_step = steps[("h200-sxm", "decode")]
    assert dec_step.status == "ok" and dec_step.tokens == 32
    assert dec_step.pieces[-1].matched == "run-h200:d/torch"
    # missing measurement -> "unmeasured", no number
    a2 = analyse([GEMM, COPY], CHIPS)
    s2 = {s.step: s for s in model.compose_steps(a2, [H20], cfg, counts=_counts)}
    assert s2["decode"].status == "unmeasured" and s2["decode"].time_s is None


def test_nearest_measured_shape():
    small = rec("gemm", "skinny", 2 * 32 * 8192 * 8192, 1e8, 1e-3, shape={"M": 32, "N": 8192, "K": 8192})
    big = rec("gemm", "square", 2 * 8192**3, 1e9, 2e-3, shape={"M": 8192, "N": 8192, "K": 8192})
    a = analyse([small, big], CHIPS)
    assert model.nearest_measured(a, "gemm", "bf16", {"M": 16, "N": 10240, "K": 8192}).shape_label == "skinny"
    assert (
        model.nearest_measured(a, "gemm", "bf16", {"M": 4096, "N": 28672, "K": 8192}).shape_label == "square"
    )
    assert model.nearest_measured(a, "gemm", "fp8", {"M": 1}) is None


def test_real_workload_counts_used_when_available():
    wl = pytest.importorskip("gpucompare.workloads")
    f, b = model.default_counts("gemm", {"M": 32, "N": 8192, "K": 8192}, "bf16", "t")
    assert f == 2 * 32 * 8192 * 8192
    assert b == (32 * 8192 + 8192 * 8192 + 32 * 8192) * 2
    w = wl.get_workload("decode_attention")
    f2, _ = model.default_counts(
        "decode_attention", {"batch": 2, "hq": 64, "hkv": 8, "L": 1024, "d": 128}, "bf16", "t"
    )
    assert f2 == 4 * 2 * 64 * 1024 * 128 and w is not None


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
    from gpucompare import model

    def m(run, t, impl="torch"):
        return model.Measured(
            run_id=run, mode="gpu", chip_id="h100-sxm", device_name="NVIDIA H100 80GB HBM3",
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
