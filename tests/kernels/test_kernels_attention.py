"""Correctness of the Triton flash-attention forward/backward and of the SDPA counterparts.

On the CPU the Triton kernels run in the interpreter, so problems are tiny but odd (67, 37 are not
tile multiples) and some cases force small tiles (``_blocks``) so that several query and key blocks,
the causal diagonal split and the tail masks are all exercised. Every buffer the wrapper allocates
is NaN-poisoned, so an element the kernels never write fails the check.
"""

from __future__ import annotations

import math

import pytest
import torch
from support import FLOAT_DTYPES

from gpucompare.dtypes import torch_dtype
from gpucompare.kernels import attention as attn_mod
from gpucompare.kernels.attention import SDPA_BACKENDS, attention, sdpa, sdpa_available
from gpucompare.reference import attention_bwd_ref, attention_ref, check, poison_

pytestmark = [
    pytest.mark.filterwarnings("ignore:Conversion of an array with ndim:DeprecationWarning"),
    pytest.mark.usefixtures("seeded"),
]

DTYPES = {n: torch_dtype(n) for n in FLOAT_DTYPES}


@pytest.fixture
def poisoned(monkeypatch):
    """Every buffer attention() allocates (O, LSE, delta, dQ, dK, dV) starts as NaN."""
    monkeypatch.setattr(
        attn_mod,
        "_empty_like",
        lambda t, dtype=None: poison_(
            torch.empty_like(t, dtype=dtype, memory_format=torch.contiguous_format)
        ),
    )


def _qkv(b, hq, hkv, sq, sk, d, dtype, device="cpu", grad=False):
    dt = DTYPES[dtype]
    mk = lambda *s: torch.randn(*s, device=device, dtype=dt).requires_grad_(grad)  # noqa: E731
    return mk(b, hq, sq, d), mk(b, hkv, sk, d), mk(b, hkv, sk, d)


# (B, Hq, Hkv, Sq, Sk, D, causal, _blocks): odd lengths, GQA and MHA, Sq < Sk and Sq > Sk
CASES = [
    pytest.param(1, 4, 2, 67, 67, 64, False, None, id="gqa-67-noncausal"),
    pytest.param(1, 4, 2, 67, 67, 64, True, None, id="gqa-67-causal"),
    pytest.param(2, 2, 2, 37, 67, 64, True, (32, 16), id="mha-37x67-causal-smalltiles"),
    pytest.param(1, 4, 2, 67, 37, 64, True, (16, 32), id="gqa-67x37-causal-emptyrows"),
    pytest.param(1, 4, 1, 37, 67, 64, False, (32, 16), id="mqa-37x67-noncausal-smalltiles"),
    pytest.param(1, 2, 2, 17, 33, 128, True, None, id="d128-17x33-causal"),
    pytest.param(1, 2, 1, 20, 45, 32, True, (16, 16), id="d32-20x45-causal"),
    pytest.param(1, 1, 1, 9, 9, 16, False, None, id="d16-9-noncausal"),
]


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize(("b", "hq", "hkv", "sq", "sk", "d", "causal", "blocks"), CASES)
def test_forward_backward_match_reference(poisoned, b, hq, hkv, sq, sk, d, causal, blocks, dtype):
    q, k, v = _qkv(b, hq, hkv, sq, sk, d, dtype, grad=True)
    out = attention(q, k, v, causal=causal, _blocks=blocks)
    res = check(out, attention_ref(q, k, v, causal=causal), dtype)
    assert res.ok, f"forward: {res.message}"
    do = torch.randn_like(out)
    out.backward(do)
    grads = (q.grad, k.grad, v.grad)
    res = check(grads, attention_bwd_ref(q, k, v, do, causal=causal), dtype)
    assert res.ok, f"backward (dq, dk, dv): {res.message}"


@pytest.mark.parametrize(("b", "hq", "hkv", "sq", "sk", "d", "causal", "blocks"), [CASES[1], CASES[3]])
def test_bf16_forward_backward_interpreter_upcast(poisoned, b, hq, hkv, sq, sk, d, causal, blocks):
    q, k, v = _qkv(b, hq, hkv, sq, sk, d, "bf16", grad=True)
    out = attention(q, k, v, causal=causal, _blocks=blocks)
    assert out.dtype == torch.bfloat16
    res = check(out, attention_ref(q, k, v, causal=causal), "bf16")
    assert res.ok, f"forward: {res.message}"
    do = torch.randn_like(out)
    out.backward(do)
    res = check((q.grad, k.grad, v.grad), attention_bwd_ref(q, k, v, do, causal=causal), "bf16")
    assert res.ok, f"backward: {res.message}"


def test_fp16_error_not_worse_than_sdpa_math():
    """flash-attention's rule: the kernel's fp16 error is bounded by twice SDPA-math's own fp16 error."""
    q, k, v = _qkv(1, 4, 2, 67, 67, 64, "fp16")
    ref = attention_ref(q, k, v, causal=True)
    base = sdpa(q, k, v, causal=True, backend="math")
    res = check(attention(q, k, v, causal=True), ref, "fp16", baseline=base, bound=0.0)
    assert res.ok, res.message


def test_custom_scale_and_strided_inputs(poisoned):
    """(B, S, H, D) storage viewed as (B, H, S, D): non-contiguous strides, and a non-default scale."""
    b, s, hq, hkv, d = 1, 45, 4, 2, 64
    q = torch.randn(b, s, hq, d).transpose(1, 2).requires_grad_(True)
    k = torch.randn(b, s, hkv, d).transpose(1, 2).requires_grad_(True)
    v = torch.randn(b, s, hkv, d).transpose(1, 2).requires_grad_(True)
    assert not q.is_contiguous()
    out = attention(q, k, v, causal=True, sm_scale=0.3, _blocks=(16, 32))
    res = check(out, attention_ref(q, k, v, causal=True, sm_scale=0.3), "fp32")
    assert res.ok, res.message
    do = torch.randn(b, s, hq, d).transpose(1, 2)  # a non-contiguous output gradient too
    out.backward(do)
    res = check((q.grad, k.grad, v.grad), attention_bwd_ref(q, k, v, do, causal=True, sm_scale=0.3), "fp32")
    assert res.ok, res.message


def test_rows_without_keys_are_zero_and_finite():
    q, k, v = _qkv(1, 2, 2, 40, 20, 32, "fp32", grad=True)
    out = attention(q, k, v, causal=True, _blocks=(16, 16))
    assert torch.equal(out[:, :, :20], torch.zeros_like(out[:, :, :20]))  # rows i < Sq - Sk see nothing
    out.sum().backward()
    assert all(torch.isfinite(g).all() for g in (q.grad, k.grad, v.grad))
    assert torch.equal(q.grad[:, :, :20], torch.zeros_like(q.grad[:, :, :20]))


def test_out_buffer_is_written_entirely():
    q, k, v = _qkv(2, 4, 2, 37, 67, 64, "fp16")
    out = poison_(torch.empty_like(q))
    got = attention(q, k, v, causal=True, out=out)
    assert got is out
    res = check(out, attention_ref(q, k, v, causal=True), "fp16")
    assert res.ok, res.message


def test_nan_input_is_not_hidden():
    q, k, v = _qkv(1, 2, 2, 20, 20, 32, "fp32")
    q[0, 1, 3, 5] = float("nan")
    res = check(attention(q, k, v), attention_ref(torch.nan_to_num(q), k, v), "fp32")
    assert not res.ok and not math.isfinite(res.rel_error)


def _bad(**over):
    base = {
        "q": torch.randn(1, 4, 8, 64),
        "k": torch.randn(1, 2, 8, 64),
        "v": torch.randn(1, 2, 8, 64),
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (_bad(q=torch.randn(4, 8, 64)), "q must have 4 dimensions"),
        (
            _bad(q=torch.randn(1, 6, 8, 64), k=torch.randn(1, 4, 8, 64), v=torch.randn(1, 4, 8, 64)),
            "q has 6 heads, not a multiple of k's 4 KV heads",
        ),
        (
            _bad(q=torch.randn(1, 4, 8, 48), k=torch.randn(1, 2, 8, 48), v=torch.randn(1, 2, 8, 48)),
            "head dim 48",
        ),
        (
            _bad(k=torch.randn(1, 2, 8, 32), v=torch.randn(1, 2, 8, 32)),
            "q has head dim 64 but k has head dim 32",
        ),
        (_bad(k=torch.randn(2, 2, 8, 64), v=torch.randn(2, 2, 8, 64)), "batch"),
        (_bad(v=torch.randn(1, 2, 9, 64)), "but v has"),
        (_bad(k=torch.randn(1, 2, 8, 64, dtype=torch.float16)), "dtype"),
        (_bad(q=torch.randn(1, 4, 8, 64, dtype=torch.float64)), "q has dtype float64"),
        (_bad(q=[[1.0]]), "q must be a torch.Tensor"),
        (_bad(k=torch.randn(1, 2, 0, 64), v=torch.randn(1, 2, 0, 64)), "empty input"),
        ({**_bad(), "sm_scale": float("nan")}, "sm_scale"),
        ({**_bad(), "out": torch.empty(1, 4, 8, 32)}, "out has shape"),
        ({**_bad(), "_blocks": (24, 16)}, "_blocks"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        attention(**kwargs)


def test_out_with_autograd_is_refused():
    q, k, v = _qkv(1, 2, 2, 8, 8, 32, "fp32", grad=True)
    with pytest.raises(ValueError, match="out= is not supported"):
        attention(q, k, v, out=torch.empty(1, 2, 8, 32))


# ---------------------------------------------------------------- SDPA counterparts


def test_sdpa_math_is_available_on_cpu():
    assert sdpa_available("math", "fp32", "cpu") == (True, "")
    ok, reason = sdpa_available("cudnn", "fp16", "cpu")
    assert not ok and reason  # cuDNN never runs on the CPU, and the reason says why


@pytest.mark.parametrize("backend", SDPA_BACKENDS)
@pytest.mark.parametrize(
    ("hq", "hkv", "sq", "sk", "causal"),
    [(4, 2, 67, 67, True), (4, 2, 37, 67, True), (2, 2, 67, 37, True), (4, 1, 37, 67, False)],
)
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_sdpa_backends_available_on_cpu_match_reference(backend, hq, hkv, sq, sk, causal, dtype):
    ok, reason = sdpa_available(backend, dtype, "cpu", 64, causal=causal, gqa=hq != hkv, seq_q=sq, seq_k=sk)
    if not ok:
        pytest.skip(reason)
    q, k, v = _qkv(1, hq, hkv, sq, sk, 64, dtype)
    out = sdpa(q, k, v, causal=causal, backend=backend)
    res = check(out, attention_ref(q, k, v, causal=causal), dtype)
    assert res.ok, f"sdpa {backend}: {res.message}"


def test_sdpa_flash_refuses_bottom_right_causal_it_cannot_do():
    q, k, v = _qkv(1, 2, 2, 5, 9, 32, "fp32")
    with pytest.raises(ValueError, match="top-left"):
        sdpa(q, k, v, causal=True, backend="flash")


def test_sdpa_unknown_backend():
    q, k, v = _qkv(1, 2, 2, 5, 9, 32, "fp32")
    with pytest.raises(ValueError, match="unknown backend 'fast'"):
        sdpa(q, k, v, backend="fast")
    with pytest.raises(ValueError, match="unknown backend"):
        sdpa_available("fast", "fp16", "cpu")


# ---------------------------------------------------------------- GPU, real sizes


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("b", "hq", "hkv", "sq", "sk", "d", "causal"),
    [(2, 16, 4, 2048, 2048, 128, True), (2, 16, 16, 1024, 1024, 64, False), (1, 8, 2, 1000, 1537, 128, True)],
)
def test_gpu_bf16_real_sizes(b, hq, hkv, sq, sk, d, causal):
    q, k, v = _qkv(b, hq, hkv, sq, sk, d, "bf16", device="cuda", grad=True)
    out = attention(q, k, v, causal=causal)
    do = torch.randn_like(out)
    out.backward(do)
    ref = attention_ref(q, k, v, causal=causal, upcast="fp32")
    base_backend = (
        "math" if sq != sk else ("flash" if sdpa_available("flash", "bf16", "cuda", d)[0] else "math")
    )
    qb, kb, vb = (t.detach().clone().requires_grad_(True) for t in (q, k, v))
    base = sdpa(qb, kb, vb, causal=causal, backend=base_backend)
    base.backward(do)
    res = check(out, ref, "bf16", baseline=base)
    assert res.ok, f"forward: {res.message}"
    gref = attention_bwd_ref(q, k, v, do, causal=causal, upcast="fp32")
    res = check((q.grad, k.grad, v.grad), gref, "bf16", baseline=(qb.grad, kb.grad, vb.grad))
    assert res.ok, f"backward: {res.message}"


@pytest.mark.gpu
def test_gpu_fp32_is_ieee_not_tf32():
    q, k, v = _qkv(1, 8, 8, 512, 512, 64, "fp32", device="cuda")
    res = check(attention(q, k, v, causal=True), attention_ref(q, k, v, causal=True), "fp32")
    assert res.ok, res.message
