"""Correctness of flash-decoding (Triton) and of the PyTorch decode path, on tiny CPU problems.

Cache lengths are odd (131, 67, 1) so the tail block and uneven splits are exercised; outputs are
NaN-poisoned, so a head or element the kernels never write fails the check.
"""

from __future__ import annotations

import math

import pytest
import torch
from support import FLOAT_DTYPES

from gpucompare.dtypes import torch_dtype
from gpucompare.kernels.decode import MAX_SPLITS, choose_splits, decode_attention, torch_decode_attention
from gpucompare.reference import check, decode_attention_ref, poison_

pytestmark = [
    pytest.mark.filterwarnings("ignore:Conversion of an array with ndim:DeprecationWarning"),
    pytest.mark.usefixtures("seeded"),
]

DTYPES = {n: torch_dtype(n) for n in FLOAT_DTYPES}


def _inputs(b, hq, hkv, length, d, dtype, device="cpu"):
    dt = DTYPES[dtype]
    q = torch.randn(b, hq, d, device=device, dtype=dt)
    k = torch.randn(b, hkv, length, d, device=device, dtype=dt)
    v = torch.randn(b, hkv, length, d, device=device, dtype=dt)
    return q, k, v


def _poisoned_out(q):
    return poison_(torch.empty_like(q))


# (B, Hq, Hkv, L, D, num_splits)
CASES = [
    pytest.param(2, 8, 2, 131, 64, None, id="gqa4-131-auto"),
    pytest.param(1, 4, 4, 1, 64, None, id="mha-L1"),
    pytest.param(2, 4, 1, 131, 128, 2, id="mqa-131-d128-2splits"),
    pytest.param(1, 6, 2, 67, 32, 256, id="gqa3-67-maxsplits"),
    pytest.param(1, 2, 2, 131, 64, 1, id="mha-131-1split"),
    pytest.param(1, 2, 1, 2113, 16, 40, id="mqa-2113-34splits-chunked-reduce"),
]


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize(("b", "hq", "hkv", "length", "d", "splits"), CASES)
def test_decode_matches_reference(b, hq, hkv, length, d, splits, dtype):
    q, k, v = _inputs(b, hq, hkv, length, d, dtype)
    out = _poisoned_out(q)
    got = decode_attention(q, k, v, out=out, num_splits=splits)
    assert got is out
    res = check(out, decode_attention_ref(q, k, v), dtype)
    assert res.ok, res.message


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize(("b", "hq", "hkv", "length", "d", "splits"), CASES[:3] + CASES[-1:])
def test_torch_decode_matches_reference(b, hq, hkv, length, d, splits, dtype):
    q, k, v = _inputs(b, hq, hkv, length, d, dtype)
    res = check(torch_decode_attention(q, k, v), decode_attention_ref(q, k, v), dtype)
    assert res.ok, res.message


def test_decode_bf16_interpreter_upcast():
    q, k, v = _inputs(2, 8, 2, 131, 64, "bf16")
    out = decode_attention(q, k, v, out=_poisoned_out(q))
    res = check(out, decode_attention_ref(q, k, v), "bf16")
    assert res.ok, res.message


def test_decode_strided_cache_prefix_and_scale():
    """A cache allocated for 200 tokens of which 131 are used: non-contiguous (B, Hkv, L, D) views."""
    b, hq, hkv, d = 2, 4, 2, 64
    k_all = torch.randn(b, hkv, 200, d)
    v_all = torch.randn(b, 200, hkv, d).transpose(1, 2)  # a (B, L, H, D) layout too
    k, v = k_all[:, :, :131], v_all[:, :, :131]
    q = torch.randn(b, d, hq).transpose(1, 2)
    assert not (k.is_contiguous() or v.is_contiguous() or q.is_contiguous())
    out = decode_attention(q, k, v, sm_scale=0.2)
    res = check(out, decode_attention_ref(q, k, v, sm_scale=0.2), "fp32")
    assert res.ok, res.message
    res = check(
        torch_decode_attention(q, k, v, sm_scale=0.2), decode_attention_ref(q, k, v, sm_scale=0.2), "fp32"
    )
    assert res.ok, res.message


def test_decode_split_count_does_not_change_the_result():
    q, k, v = _inputs(1, 4, 2, 131, 64, "fp32")
    one = decode_attention(q, k, v, num_splits=1)
    three = decode_attention(q, k, v, num_splits=3)
    assert (one - three).abs().max().item() < 1e-5 * one.abs().max().item()


def test_decode_nan_is_not_hidden():
    q, k, v = _inputs(1, 4, 2, 67, 32, "fp32")
    v[0, 1, 66, 3] = float("nan")  # last token of the tail block
    res = check(decode_attention(q, k, v), decode_attention_ref(q, k, torch.nan_to_num(v)), "fp32")
    assert not res.ok and not math.isfinite(res.rel_error)


@pytest.mark.parametrize(
    ("length", "programs", "sm_count", "block_n"),
    [
        (131072, 8, 132, 64),
        (131, 8, 132, 64),
        (1, 1, 132, 64),
        (8192, 256, 132, 64),
        (1_000_003, 1, 132, 64),
        (131, 8, None, 64),
        (5000, 4, 78, 128),
    ],
)
def test_choose_splits_covers_the_cache_without_empty_splits(length, programs, sm_count, block_n):
    splits, split_len = choose_splits(length, programs, sm_count, block_n)
    assert 1 <= splits <= MAX_SPLITS
    assert split_len % block_n == 0
    assert splits * split_len >= length > (splits - 1) * split_len  # covered, and the last split is not empty
    if sm_count is not None and programs < sm_count and length >= 64 * block_n:
        assert splits * programs >= sm_count  # one long sequence still fills the GPU


def _bad(**over):
    base = {
        "q": torch.randn(1, 4, 64),
        "k_cache": torch.randn(1, 2, 9, 64),
        "v_cache": torch.randn(1, 2, 9, 64),
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (_bad(q=torch.randn(1, 4, 1, 64)), "q must have 3 dimensions"),
        (
            _bad(q=torch.randn(1, 6, 64), k_cache=torch.randn(1, 4, 9, 64), v_cache=torch.randn(1, 4, 9, 64)),
            "q has 6 heads, not a multiple of k_cache's 4 KV heads",
        ),
        (_bad(k_cache=torch.randn(1, 2, 9, 32), v_cache=torch.randn(1, 2, 9, 32)), "head dim"),
        (_bad(v_cache=torch.randn(1, 2, 8, 64)), "but v_cache has"),
        (_bad(k_cache=torch.randn(2, 2, 9, 64), v_cache=torch.randn(2, 2, 9, 64)), "batch"),
        (_bad(k_cache=torch.randn(1, 2, 0, 64), v_cache=torch.randn(1, 2, 0, 64)), "empty input"),
        (_bad(v_cache=torch.randn(1, 2, 9, 64, dtype=torch.float16)), "dtype"),
        ({**_bad(), "out": torch.empty(1, 4, 64, dtype=torch.float16)}, "out has dtype"),
        ({**_bad(), "out": torch.empty(1, 2, 64)}, "out has shape"),
        ({**_bad(), "num_splits": 0}, "num_splits"),
        ({**_bad(), "sm_scale": float("inf")}, "sm_scale"),
    ],
)
def test_decode_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        decode_attention(**kwargs)


def test_torch_decode_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="not a multiple"):
        torch_decode_attention(torch.randn(1, 3, 64), torch.randn(1, 2, 9, 64), torch.randn(1, 2, 9, 64))


# ---------------------------------------------------------------- GPU, real sizes


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("b", "hq", "hkv", "length", "d"),
    [(4, 32, 8, 8192, 128), (1, 64, 8, 32771, 128), (16, 32, 32, 4099, 64)],
)
def test_gpu_bf16_real_sizes(b, hq, hkv, length, d):
    q, k, v = _inputs(b, hq, hkv, length, d, "bf16", device="cuda")
    out = decode_attention(q, k, v, out=_poisoned_out(q))
    ref = decode_attention_ref(q, k, v, upcast="fp32")
    res = check(out, ref, "bf16", baseline=torch_decode_attention(q, k, v))
    assert res.ok, res.message
