"""The transformer-layer composition: Llama-3-70B shapes, steps summed from pieces, nearest shapes, counts."""

from __future__ import annotations

import pytest
from model_helpers import CHIPS, COPY, GEMM, H20, H200, counts, rec

from gpucompare import model
from gpucompare.model import LayerConfig, analyse


def test_layer_shapes_are_llama3_70b():
    cfg = LayerConfig()
    g = {n: (m, nn, k) for n, m, nn, k in cfg.dims.gemms(7)}
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
    steps = {(s.chip_id, s.step): s for s in model.compose_steps(a, [H20, H200], cfg, counts=counts)}
    train = steps[("h20", "train")]
    assert train.status == "ok" and len(train.pieces) == 7
    expect = 0.0
    for p in model.step_pieces("train", cfg):
        f, b = counts(p.workload, p.dims, "bf16", "")
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
    s2 = {s.step: s for s in model.compose_steps(a2, [H20], cfg, counts=counts)}
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
