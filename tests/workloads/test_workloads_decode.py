"""Decode attention: the cost model against FlopCounterMode and its reference against decode_attention_ref."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from workloads_support import all_shapes, count_flops

from gpucompare import reference
from gpucompare.workloads import WORKLOADS


def test_decode_flops_match_flop_counter_all_shapes():
    w = WORKLOADS["decode_attention"]
    for s in all_shapes(w):
        p = s.params
        q = torch.empty(p["batch"], p["hq"], 1, p["d"], device="meta")
        k = torch.empty(p["batch"], p["hq"], p["L"], p["d"], device="meta")
        with sdpa_kernel(SDPBackend.MATH):
            counted = count_flops(lambda q=q, k=k: F.scaled_dot_product_attention(q, k, k))
        assert counted == w.flops(s), s.label


def test_decode_reference_equals_decode_attention_ref():
    w = WORKLOADS["decode_attention"]
    inp = w.make_inputs(w.shapes("cpu")[0], "fp32", "cpu")
    ours = w.reference(inp)
    theirs = reference.decode_attention_ref(
        inp["q"], inp["k_cache"], inp["v_cache"], sm_scale=inp["sm_scale"]
    )
    assert ours.shape == (2, 4, 64) and torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12)
