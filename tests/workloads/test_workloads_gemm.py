"""GEMM workloads: the cost model by hand and against torch's FlopCounterMode, fp8 inputs, model shapes."""

from __future__ import annotations

import math

import pytest
import torch
from workloads_support import all_shapes, count_flops

from gpucompare.dims import DEEPSEEK_V3, LLAMA3_70B
from gpucompare.workloads import WORKLOADS
from gpucompare.workloads.gemm import E4M3_MAX


def test_gemm_counts_by_hand():
    g = WORKLOADS["gemm"]
    s = g.shape("67x45x129")
    assert g.flops(s) == 2 * 67 * 45 * 129 == 777_870
    assert g.bytes(s, "fp32") == (67 * 129 + 129 * 45 + 67 * 45) * 4 == 69_852
    assert g.bytes(s, "tf32") == g.bytes(s, "fp32")
    assert g.bytes(s, "bf16") == 69_852 // 2
    assert g.bytes(s, "fp8") == (67 * 129 + 129 * 45) * 1 + 67 * 45 * 2 == 20_478
    up = g.shape("llama3-70b-mlp-up-4096tok")
    assert dict(up.params) == {"M": 4096, "N": 28672, "K": 8192}
    assert g.flops(up) == 1_924_145_348_608
    assert dict(g.shape("llama3-70b-qkv-4096tok").params) == {"M": 4096, "N": 8192 + 2 * 8 * 128, "K": 8192}
    d = WORKLOADS["gemm_decode"]
    m1 = d.shape("llama3-70b-out-m1")
    assert d.bytes(m1, "bf16") == (8192 + 8192 * 8192 + 8192) * 2
    assert d.flops(m1) / d.bytes(m1, "bf16") < 1  # weight-read bound


@pytest.mark.parametrize("name", ["gemm", "gemm_decode"])
def test_gemm_flops_match_flop_counter_all_shapes(name):
    w = WORKLOADS[name]
    for s in all_shapes(w):  # meta tensors: shapes only, no memory
        a = torch.empty(s["M"], s["K"], device="meta")
        b = torch.empty(s["K"], s["N"], device="meta")
        assert count_flops(lambda a=a, b=b: torch.matmul(a, b)) == w.flops(s), s.label


@pytest.mark.skipif(not hasattr(torch, "float8_e4m3fn"), reason="no float8 in this torch build")
def test_fp8_inputs_are_quantised_with_amax_scales():
    g = WORKLOADS["gemm"]
    s = g.shape("128x128x128")
    inp = g.make_inputs(s, "fp8", "cpu", seed=3)
    ref32 = g.make_inputs(s, "fp32", "cpu", seed=3)  # same normal draws before quantisation
    for name, scale in (("a", "scale_a"), ("b", "scale_b")):
        q, sc = inp[name], inp[scale]
        assert q.dtype == torch.float8_e4m3fn and sc.dtype == torch.float32 and sc.dim() == 0
        assert q.float().abs().max() == E4M3_MAX  # amax maps to the largest e4m3 value
        x = ref32[name]
        assert torch.allclose(sc * q.float(), x, rtol=2**-3, atol=float(sc) * 2**-6)
        assert math.isclose(float(sc), float(x.abs().max()) / E4M3_MAX, rel_tol=1e-6)
    assert inp["b"].stride() == (1, 128)  # column-major, as torch._scaled_mm requires
    c = g.reference(inp)
    assert c.shape == (128, 128) and c.dtype == torch.float64
    expected = (inp["scale_a"] * inp["a"].double()) @ (inp["scale_b"] * inp["b"].double())
    assert torch.allclose(c, expected, rtol=1e-6)


def test_model_shapes_are_the_layer_gemms_of_dims():
    """The labelled model shapes are exactly the (M, N, K) of dims' per-layer GEMMs (gate = up)."""
    g, d = WORKLOADS["gemm"], WORKLOADS["gemm_decode"]
    words = {"qkv": "qkv", "out": "out", "gate": "mlp-up", "up": "mlp-up", "down": "mlp-down"}
    for model, shapes, m, suffix in (
        (LLAMA3_70B, g, 4096, "4096tok"),
        (DEEPSEEK_V3, g, 4096, "4096tok"),
        (LLAMA3_70B, d, 1, "m1"),
        (LLAMA3_70B, d, 16, "m16"),
    ):
        for name, mm, n, k in model.gemms(m):
            label = f"{model.key}-{words[name]}-{suffix}"
            if any(s.label == label for s in all_shapes(shapes)):
                assert dict(shapes.shape(label).params) == {"M": mm, "N": n, "K": k}, label
    h = DEEPSEEK_V3.hidden
    assert dict(g.shape(f"deepseek-v3-{h}x{h}-4096tok").params) == {"M": 4096, "N": h, "K": h}
    model_labels = [
        s.label for s in all_shapes(g) + all_shapes(d) if s.label.startswith(("llama", "deepseek"))
    ]
    assert len(model_labels) == 7 + 6
