"""Honest error: the band of a projection comes from the leave-one-chip-out cells of its own class, level and
precision, or there is none; weak evidence makes a projection indicative; an inverted one is flagged."""

from __future__ import annotations

import statistics

import pytest

from gpucompare.model.bands import CellRow, default_projection_rows, expected_error
from gpucompare.model.evidence import Observation
from gpucompare.model.families import best_family, fit_factor
from gpucompare.model.headline import inversion
from gpucompare.model.predict import predict
from gpucompare.specs import load_chips


def cell(
    err: float, level: str = "same workload and precision", bits: int = 16, klass: str = "GEMM"
) -> CellRow:
    return CellRow("x", "gemm", klass, bits, "bf16", level, "cublas", 0.5, 0.5 * (1 + err), 0.5, err, 0.0, 1)


def test_band_is_median_and_p90_of_the_same_class_and_level():
    rows = [cell(e) for e in (0.01, -0.02, 0.03, 0.2)] + [cell(0.9, level="own chip")]
    band = expected_error("gemm", "same workload and precision", "bf16", rows)
    assert band.median == pytest.approx(statistics.median([0.01, 0.02, 0.03, 0.2]))
    assert band.n == 4 and 0.03 < band.p90 <= 0.2
    assert "±" in band.text() and "n=4" in band.text()


def test_no_band_without_cells_of_the_class_level_or_dtype():
    rows = [cell(0.01), cell(0.02), cell(0.03)]
    fp8 = expected_error("gemm", "same workload and precision", "fp8", rows)  # only 16-bit cells validated
    assert fp8.median is None and fp8.p90 is None and "fp8" in fp8.basis
    assert "±" not in fp8.text()
    assert expected_error("decode_attention", "own chip", "bf16", rows).median is None
    few = expected_error("gemm", "same workload and precision", "bf16", rows[:2])
    assert few.median is None and "only 2" in few.basis


def test_a_copy_is_banded_by_bandwidth_evidence_of_any_dtype_a_gemm_is_not():
    """A streaming copy's rate is a byte rate: 64-bit BabelStream cells band a bf16 copy projection, while a
    compute class still needs cells of its own precision (the line above the rule in model/bands.py)."""
    rows = [cell(e, level="same workload", bits=64, klass="bandwidth") for e in (0.01, -0.04, 0.06)]
    copy = expected_error("copy", "same workload", "bf16", rows)
    assert copy.n == 3 and copy.median == pytest.approx(0.04) and "±" in copy.text()
    gemm_rows = [cell(e, level="same workload", bits=64) for e in (0.01, -0.04, 0.06)]
    assert expected_error("gemm", "same workload", "bf16", gemm_rows).median is None


def test_cells_never_use_the_chip_they_predict():
    rows = default_projection_rows()
    assert rows and all(r.level is None or r.level == "own chip" or r.evidence > 0 for r in rows)
    # own-chip rows compare a figure with the chip's other figures; the other cells leave the chip out
    assert {r.level for r in rows} - {None} >= {"own chip", "same workload and precision"}


def test_h20_fp8_gemm_does_not_borrow_the_own_chip_bf16_band():
    p = predict("h20", "gemm", dtype="fp8")
    assert p.level != "own chip"  # the H20 has no published fp8 GEMM
    assert p.level in p.expected_error_basis
    bf16 = predict("h20", "gemm", dtype="bf16")
    assert bf16.level == "own chip" and bf16.expected_error_basis != p.expected_error_basis


def test_weak_evidence_makes_a_projection_indicative():
    p = predict("b200", "attention_fwd")
    if len(p.sources) < 2:
        assert p.indicative and "one source" in p.indicative_why
    assert p.indicative == bool(p.indicative_why)


def test_an_inverted_projection_is_flagged():
    db = load_chips()
    b200, h200 = db.get("b200"), db.get("h200")
    assert inversion(b200, h200, "attention_fwd", 0.705, [0.1, 0.1]).startswith("inverted")
    assert inversion(b200, h200, "attention_fwd", 0.705, [None, 0.1]).startswith("inverted")  # error unknown
    assert inversion(b200, h200, "attention_fwd", 0.705, [0.5, 0.5]) == ""  # within its error
    assert inversion(b200, h200, "attention_fwd", 2.1, [0.1, 0.1]) == ""  # spec order kept
    assert inversion(b200, h200, "decode_attention", 0.705, [0.1, 0.1]) == ""  # not compute-bound work
    assert inversion(h200, b200, "gemm", 1.4, [0.1, 0.1]).startswith("inverted")


def _o(chip: str, impl: str, e: float) -> Observation:
    return Observation(
        id=f"{chip}-{impl}-{e}", kind="published", chip=chip, workload="attention_fwd", shape={}, dtype="bf16",
        group="g", efficiency=e, bound="compute", flops=1.0, bytes=1.0, label="t", implementation=impl,
    )  # fmt: skip


def test_factor_between_families_and_its_leave_one_out_error():
    pool = [
        _o("a", "fa2", 0.4),
        _o("a", "fa3", 0.6),
        _o("b", "fa2", 0.5),
        _o("b", "fa3", 0.8),
        _o("c", "fa2", 0.3),
    ]
    f = fit_factor(pool, "fa2", "fa3")
    assert f is not None and f.chips == ("a", "b")
    assert f.factor == pytest.approx(statistics.median([1.5, 1.6]))
    assert f.loo == pytest.approx(statistics.median([abs(1.6 / 1.5 - 1), abs(1.5 / 1.6 - 1)]))
    assert fit_factor(pool[:2], "fa2", "fa3").loo is None  # one chip: error unknown
    assert fit_factor(pool, "fa2", "cudnn") is None
    assert {o.implementation for o in best_family(pool) if o.chip == "a"} == {"fa3"}


def test_memory_bound_evidence_is_of_comparable_size():
    from gpucompare.model.calibration import comparable_size
    from gpucompare.model.evidence import decode_bytes

    big = _o("a", "fa3", 0.8)
    big = Observation(**{**big.__dict__, "bytes": 8e9, "bound": "memory"})
    assert comparable_size(big, 2e9) and not comparable_size(big, 4e6)
    assert comparable_size(Observation(**{**big.__dict__, "bytes": 0.0}), 4e6)  # STREAM GB/s: no count
    # an fp8 KV cache moves half the bytes of an fp16 one (the size comparison of GB/s-only figures)
    shape = {"batch": 1, "hq": 32, "hkv": 4, "L": 4096, "d": 128}
    assert decode_bytes("decode_attention", shape, "fp8") * 2 == decode_bytes(
        "decode_attention", shape, "fp16"
    )
    assert decode_bytes("copy", {"N": 8}, "fp64") == 0.0


def test_unrepresentative_collectives_are_not_communication_evidence():
    from gpucompare.model import comm
    from gpucompare.specs.published import load_published

    entries = [e for e in load_published() if e.workload == "collective"]
    points = comm.published_points(entries)
    assert len(points) == sum(e.representative for e in entries) < len(entries)
    assert all("nccl-issue-h800" not in p.evidence for p in points)
