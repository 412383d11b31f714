"""Attention workloads: causal pair counts, the cost model by hand and against FlopCounterMode, inputs, chunked
references, sdpa-math's size limit and the backward closure."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils import flop_counter
from workloads_support import all_shapes, count_flops, kernel_or_skip

from gpucompare import reference
from gpucompare.workloads import WORKLOADS, Shape
from gpucompare.workloads import attention as attention_wl
from gpucompare.workloads.attention import attention_pairs


@pytest.mark.parametrize(
    ("sq", "sk", "expected"),
    [(67, 67, 67 * 68 // 2), (3, 5, 3 + 4 + 5), (1, 8, 8), (4, 4, 10), (5, 3, 0 + 0 + 1 + 2 + 3)],
)
def test_causal_pairs_by_hand_and_by_mask(sq, sk, expected):
    assert attention_pairs(sq, sk, True) == expected
    from gpucompare.reference import causal_mask

    assert int(causal_mask(sq, sk).sum()) == expected  # the mask attention_ref and sdpa apply
    assert attention_pairs(sq, sk, False) == sq * sk


def test_causal_pairs_match_the_reference_mask():
    """Perturbing a key a query must not see leaves attention_ref's output unchanged; counted pairs agree."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 1, n, 4, generator=g, dtype=torch.float64) for n in (3, 5, 5))
    out = reference.attention_ref(q, k, v, causal=True)
    k2 = k.clone()
    k2[..., 4, :] += 10.0  # key 4 is seen only by the last query (i = 2: j <= 2 + 2)
    out2 = reference.attention_ref(q, k2, v, causal=True)
    assert torch.equal(out[..., :2, :], out2[..., :2, :]) and not torch.equal(out[..., 2, :], out2[..., 2, :])


def test_attention_and_decode_counts_by_hand():
    fwd, bwd = WORKLOADS["attention_fwd"], WORKLOADS["attention_bwd"]
    s = fwd.shape("b1-h4-kv2-s67-d64-causal")
    assert fwd.flops(s) == 4 * 1 * 4 * 64 * 2278 == 2_332_672
    assert fwd.bytes(s, "fp16") == (2 * 4 * 67 * 64 + 2 * 2 * 67 * 64) * 2 == 102_912
    assert bwd.flops(s) == 2.5 * fwd.flops(s)
    assert bwd.bytes(s, "fp16") == (4 * 4 * 67 * 64 + 4 * 2 * 67 * 64) * 2
    target = fwd.shape("b4-h32-s8192-d128-causal")
    assert fwd.flops(target) == 4 * 4 * 32 * 128 * (8192 * 8193 // 2)
    nc = fwd.shape("b4-h32-s8192-d128")
    assert fwd.flops(nc) == 4 * 4 * 32 * 8192 * 8192 * 128
    assert abs(fwd.flops(target) / fwd.flops(nc) - 0.5) < 1e-3
    dec = WORKLOADS["decode_attention"]
    ds = dec.shape("b2-h4-kv2-ctx131-d64")
    assert dec.flops(ds) == 4 * 2 * 4 * 131 * 64 == 268_288
    assert dec.bytes(ds, "fp16") == (2 * 2 * 2 * 131 * 64 + 2 * 2 * 4 * 64) * 2 == 136_192
    big = dec.shape("llama3-70b-b8-ctx32k")
    assert dict(big.params) == {"batch": 8, "hq": 64, "hkv": 8, "L": 32768, "d": 128}
    assert dec.bytes(big, "bf16") == (2 * 8 * 8 * 32768 * 128 + 2 * 8 * 64 * 128) * 2


def _qkv_meta(s, sq=None):
    p = s.params
    sq = p["sq"] if sq is None else sq
    q = torch.empty(p["batch"], p["hq"], sq, p["d"], device="meta")
    k = torch.empty(p["batch"], p["hkv"], p["sk"], p["d"], device="meta")
    return q, k


def test_noncausal_attention_flops_match_flop_counter():
    fwd, bwd = WORKLOADS["attention_fwd"], WORKLOADS["attention_bwd"]
    checked = 0
    for s in all_shapes(fwd):
        if s["causal"]:
            continue  # FlopCounterMode ignores the mask; causal counts are checked by hand above
        q, k = _qkv_meta(s)
        group = s["hq"] // s["hkv"]
        kr = k.repeat_interleave(group, dim=1)
        with sdpa_kernel(SDPBackend.MATH):
            counted = count_flops(lambda q=q, kr=kr: F.scaled_dot_product_attention(q, kr, kr))
        assert counted == fwd.flops(s), s.label
        assert flop_counter.sdpa_flop_count(q.shape, k.shape, k.shape) == fwd.flops(s)
        # torch's backward formula for the fused kernels: five matmuls (S recomputed) = our 2.5 × forward
        assert flop_counter.sdpa_backward_flop_count(q.shape, q.shape, k.shape, k.shape) == bwd.flops(s)
        checked += 1
    assert checked >= 3


def test_math_backward_counts_four_matmuls_not_five():
    """Documented difference: autograd through the unfused math path stores P, so FlopCounterMode sees 2×
    the forward; the fused kernels recompute S (2.5×, the convention used by ``attention_bwd``)."""
    s = WORKLOADS["attention_bwd"].shape("b1-h4-kv2-s67-d64")
    q = torch.randn(1, 4, 67, 64, requires_grad=True)
    k = torch.randn(1, 4, 67, 64, requires_grad=True)
    with sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(q, k, k)
    counted = count_flops(lambda: torch.autograd.grad(out, (q, k), torch.ones_like(out)))
    assert counted == 2 * WORKLOADS["attention_fwd"].flops(s)
    assert WORKLOADS["attention_bwd"].flops(s) == 2.5 * WORKLOADS["attention_fwd"].flops(s)


def test_input_shapes_and_extras():
    s = WORKLOADS["attention_bwd"].shape("b1-h4-kv2-s67-d64-causal")
    inp = WORKLOADS["attention_bwd"].make_inputs(s, "fp32", "cpu")
    assert inp["q"].shape == inp["do"].shape == (1, 4, 67, 64) and inp["k"].shape == (1, 2, 67, 64)
    assert inp["causal"] is True and math.isclose(inp["sm_scale"], 64**-0.5)
    assert "do" not in WORKLOADS["attention_fwd"].make_inputs(s, "fp32", "cpu")
    dec = WORKLOADS["decode_attention"]
    di = dec.make_inputs(dec.shapes("cpu")[0], "fp16", "cpu")
    assert di["q"].shape == (2, 4, 64) and di["k_cache"].shape == di["v_cache"].shape == (2, 2, 131, 64)
    with pytest.raises(ValueError, match="no dtype 'fp8'"):
        dec.make_inputs(dec.shapes("cpu")[0], "fp8", "cpu")


def test_chunked_attention_references_equal_the_unchunked(monkeypatch):
    s = WORKLOADS["attention_bwd"].shape("b1-h4-kv2-s67-d64-causal")
    inp = WORKLOADS["attention_bwd"].make_inputs(s, "fp32", "cpu")
    whole_fwd = WORKLOADS["attention_fwd"].reference(inp)
    whole_bwd = WORKLOADS["attention_bwd"].reference(inp)
    monkeypatch.setattr(attention_wl, "REF_CHUNK_BYTES", 0)
    assert attention_wl._ref_chunked(inp["q"], inp["k"])
    chunk_fwd = WORKLOADS["attention_fwd"].reference(inp)
    chunk_bwd = WORKLOADS["attention_bwd"].reference(inp)
    assert torch.allclose(chunk_fwd, whole_fwd, rtol=1e-12, atol=1e-12)
    assert len(chunk_bwd) == len(whole_bwd) == 3
    for a, b in zip(chunk_bwd, whole_bwd):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_sdpa_math_refuses_sizes_that_would_not_fit():
    kernel_or_skip("attention")
    w = WORKLOADS["attention_fwd"]
    huge = Shape("b4-h32-s16384-d128", dict(w.shape("b4-h32-s8192-d128").params, sq=16384, sk=16384))
    ok, why = w.availability("sdpa-math", "fp32", "cpu", huge)
    assert not ok and "score matrix" in why and "GiB" in why
    ok, why = w.availability("sdpa-math", "fp32", "cpu", w.shapes("cpu")[0])
    assert ok, why


def test_backward_closure_runs_only_the_backward_and_repeats():
    """attention_bwd: the forward runs in build (even under no_grad); each call returns fresh (dq, dk, dv)."""
    kernel_or_skip("attention")
    w = WORKLOADS["attention_bwd"]
    s = w.shape("b1-h4-kv2-s67-d64-causal")
    inputs = w.make_inputs(s, "fp32", "cpu")
    with torch.no_grad():
        fn = w.impl("sdpa-math").build(inputs, "fp32")
    first, second = fn(), fn()
    assert len(first) == 3 and all(torch.equal(a, b) for a, b in zip(first, second))
    assert [tuple(g.shape) for g in first] == [(1, 4, 67, 64), (1, 2, 67, 64), (1, 2, 67, 64)]
    assert reference.check(first, w.reference(inputs), "fp32").ok
    assert not inputs["q"].requires_grad  # the shared inputs are left untouched
