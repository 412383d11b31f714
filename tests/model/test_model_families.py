"""Implementation families: a library native to one architecture is another family on a chip of another one
(FlashAttention-3's Ampere build is not its Hopper kernel), in the evidence and in validation; memory-bound
work of a family published on one chip only is predicted through a fitted factor from the other chips' best."""

from __future__ import annotations

import dataclasses
import statistics

import pytest

from gpucompare.model.calibration import MEMORY_FACTOR_LEVEL
from gpucompare.model.evidence import LATENCY_BOUND_S, Observation, decode_regime, family_key, from_entry
from gpucompare.model.families import BEST_ELSEWHERE, memory_factor
from gpucompare.model.loco import summarise, validate_ledger
from gpucompare.specs import load_chips
from gpucompare.specs.published import load_published


def test_family_key_splits_a_native_library_by_architecture():
    assert family_key("flashattention-3", "Hopper") == "flashattention-3"
    assert family_key("flashattention-3", "Ampere") == "flashattention-3 (Ampere path)"
    assert family_key("flashattention-4", "Blackwell Ultra") == "flashattention-4"
    assert family_key("flashattention-4", "Hopper") == "flashattention-4 (Hopper path)"
    # a portable library, or a chip of unknown architecture, keeps its name
    assert family_key("flashinfer", "Ampere") == "flashinfer"
    assert family_key("flashattention-3", None) == "flashattention-3"


def test_an_a800_fa3_figure_is_its_own_family():
    db = load_chips()
    by_id = {e.id: e for e in load_published()}
    a800 = from_entry(by_id["attntests-a800-sxm4-fa3-mha-b16-L32000"], db)
    h100 = from_entry(by_id["attntests-h100-pcie-fa3-mha-b16-L32000"], db)
    assert a800.implementation == "flashattention-3 (Ampere path)"
    assert h100.implementation == "flashattention-3"


def test_the_ampere_path_never_predicts_the_hopper_kernel():
    """Make every A800 FlashAttention-3 figure tenfold: no prediction of a Hopper FA3 figure from its own
    family moves (before the rule, the H100 PCIe FA3 decode figures were predicted from the A800's "same
    script and shape", 56-58 % off); they are now predicted only across families, through the fitted
    memory-bound factor, where the A800 figure is one family among others."""
    entries = load_published()
    rows = {r.id: r for r in validate_ledger(entries)}
    changed = [
        dataclasses.replace(e, value=e.value * 10)
        if e.chip == "a800-sxm4" and e.implementation == "flashattention-3"
        else e
        for e in entries
    ]
    again = {r.id: r for r in validate_ledger(changed)}
    hopper_fa3 = [
        r for r in rows.values() if r.implementation == "flashattention-3" and r.chip != "a800-sxm4"
    ]
    assert hopper_fa3
    pcie = [r for r in hopper_fa3 if r.chip == "h100-pcie" and r.status == "ok"]
    assert pcie and all(r.level == MEMORY_FACTOR_LEVEL for r in pcie)
    for r in hopper_fa3:
        if r.level != MEMORY_FACTOR_LEVEL:
            assert again[r.id].predicted == r.predicted, r.id


def _m(chip: str, impl: str, e: float) -> Observation:
    return Observation(
        id=f"{chip}-{impl}", kind="published", chip=chip, workload="decode_attention", shape={}, dtype="fp16",
        group="g", efficiency=e, bound="memory", flops=0.0, bytes=1e9, label="t", implementation=impl,
    )  # fmt: skip


def test_memory_factor_against_a_hand_computation():
    """a: fi 0.9, fa3 0.6; b: fi 0.8; c: x 0.7. Each family over the median of the other chips' best:
    a: 0.9/0.75, 0.6/0.75; b: 0.8/0.8; c: 0.7/0.85."""
    pool = [_m("a", "fi", 0.9), _m("a", "fa3", 0.6), _m("b", "fi", 0.8), _m("c", "x", 0.7)]
    f = memory_factor(pool, "trt")
    ratios = {"a": [0.9 / 0.75, 0.6 / 0.75], "b": [1.0], "c": [0.7 / 0.85]}
    assert f is not None and f.src == BEST_ELSEWHERE and f.dst == "trt" and f.chips == ("a", "b", "c")
    assert f.factor == pytest.approx(statistics.median([r for v in ratios.values() for r in v]))
    # leave-one-chip-out: chip a removed everywhere (b over c, c over b), then a's ratios predicted
    f_a = statistics.median([0.8 / 0.7, 0.7 / 0.8])
    f_b = statistics.median([0.9 / 0.7, 0.6 / 0.7, 0.7 / 0.9])
    f_c = statistics.median([0.9 / 0.8, 0.6 / 0.8, 0.8 / 0.9])
    errs = [abs(f_a / r - 1) for r in ratios["a"]] + [abs(f_b / 1.0 - 1), abs(f_c / ratios["c"][0] - 1)]
    assert f.loo == pytest.approx(statistics.median(errs))
    assert memory_factor(pool[:2], "trt") is None  # one chip: nothing to compare it with


def test_a_memory_bound_family_on_one_chip_is_predicted_through_the_factor():
    """B200 TensorRT-LLM decode is published on no other chip: it is predicted at the memory-bound factor
    level, from the other chips only (its own figures tenfold move no prediction of it)."""
    entries = load_published()
    rows = {r.id: r for r in validate_ledger(entries)}
    trt = [
        r
        for r in rows.values()
        if r.chip == "b200" and r.implementation == "tensorrt-llm" and r.status == "ok"
    ]
    assert trt and all(r.level == MEMORY_FACTOR_LEVEL for r in trt)
    changed = [dataclasses.replace(e, value=e.value * 10) if e.chip == "b200" else e for e in entries]
    again = {r.id: r for r in validate_ledger(changed)}
    for r in trt:
        assert again[r.id].predicted == pytest.approx(r.predicted)
    # a compute-bound target never takes this level
    assert all(
        r.level != MEMORY_FACTOR_LEVEL for r in rows.values() if not (r.klass or "").startswith("decode")
    )


def test_a_small_decode_call_is_latency_bound():
    """B / BW under 20 us: its own class; at or above, memory-bound decode; other classes never move."""
    bw = 4.8  # TB/s: 20 us moves 96 MB
    assert decode_regime("decode", 95e6, bw) == "decode, latency-bound"
    assert decode_regime("decode", 97e6, bw) == "decode"
    assert decode_regime("decode", 0.0, bw) == "decode"  # no byte count: not judged
    assert decode_regime("bandwidth", 1e3, bw) == "bandwidth"
    assert decode_regime("decode", 95e6, None) == "decode"
    assert LATENCY_BOUND_S * bw * 1e12 == pytest.approx(96e6)


def test_validation_puts_small_decode_figures_in_their_own_class():
    rows = {r.id: r for r in validate_ledger()}
    assert rows["fi1415-b200-trtllmgen-b4-L1024"].klass == "decode, latency-bound"  # 8.5 MB at 8 TB/s
    assert rows["fi1415-b200-trtllmgen-b128-L4096"].klass == "decode"  # 1.1 GB
    assert rows["ort21414-h100-fa2-gqa8-b64-L256"].klass == "decode"  # 69 MB at 3.35 TB/s: 20.7 us
    summary = {s.klass: s for s in summarise(list(rows.values()))}
    assert "decode, latency-bound" in summary
