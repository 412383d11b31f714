"""Ratios of a chip pair from the strongest evidence: a same-script published pair before a projection."""

from __future__ import annotations

import statistics

import pytest

from gpucompare.model.headline import headline_pair, measured_ratios
from gpucompare.model.predict import evidence_pool, predict
from gpucompare.specs import load_chips
from gpucompare.specs.published import entries_for


def test_h200_over_h20_gemm_is_the_published_same_script_pair():
    h = headline_pair("H200", "H20", measured=[])
    gemm = h["classes"]["compute-bound GEMM"]
    h200 = [e.value for e in entries_for("h200", "gemm", "torch-mm-database") if e.dtype == "bf16"]
    h20 = [e.value for e in entries_for("h20", "gemm", "torch-mm-database") if e.dtype == "bf16"]
    assert gemm["basis"] == "published" and gemm["group"] == "torch-mm-database"
    assert gemm["ratio"] == pytest.approx(statistics.median(h200) / statistics.median(h20))
    assert gemm["spec_ratio"] == pytest.approx(989.4 / 148, rel=1e-3)
    assert set(h["classes"]) == {"compute-bound GEMM", "attention", "memory-bound decode", "bandwidth"}
    for row in h["classes"].values():
        assert row["basis"] in ("measured-here", "published", "projected", "spec") and row["evidence"]


def test_without_a_pair_the_class_is_projected_from_predictions():
    h = headline_pair("H200", "H20", measured=[])
    bw = h["classes"]["bandwidth"]  # no H20 bandwidth figure is published
    assert bw["basis"] == "projected"
    pa, pb = predict("h200", "copy", None, "bf16"), predict("h20", "copy", None, "bf16")
    assert bw["ratio"] == pytest.approx(pb.time_s / pa.time_s)


def test_measured_ratios_only_within_one_script():
    db = load_chips()
    rows = measured_ratios(db.get("a100"), db.get("h200"), evidence_pool(db), db)
    assert rows and all(r["group"] for r in rows)
    # Azure measured A100 in fp16 and H200 in fp8: no GEMM pair of that script
    assert not [r for r in rows if r["group"] == "azure-ai-benchmarking-guide" and r["workload"] == "gemm"]


def test_predict_names_evidence_and_expected_error():
    p = predict("h20", "gemm", {"M": 8192, "N": 8192, "K": 8192}, "bf16", exclude_chip="h20")
    assert p.status == "ok" and p.evidence and p.expected_rel_error is not None
    assert all("h20 gemm" not in e.split(":")[0] for e in p.evidence)  # no H20 figure when excluded
    assert p.tflops == pytest.approx(2 * 8192**3 / p.time_s / 1e12)
