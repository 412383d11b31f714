"""The Hopper (sm_90) kernels, run in Triton's CPU interpreter, and the one switch that chooses them.

Triton 3.6's interpreter runs tensor descriptors (as masked loads and stores, with TMA's alignment rules
checked), so the TMA kernels of ``gemm_sm90`` and ``attention_sm90`` run here at odd shapes against the
float64 reference: the persistent tile loop over a grid of 3 "SMs" (several tiles per program), the
split-K partials and their reduction, the warp-specialised forward's single masked loop, the one-pass
backward's dQ accumulation (pointer atomics here; TMA reduce-add on the GPU, where ``TMA_REDUCE`` is the
only difference). What the interpreter cannot show (wgmma, TMA, warp specialisation, registers) is
checked at compile level in ``test_kernels_sm90_compile.py``. Outputs are NaN-poisoned first.
"""

from __future__ import annotations

import inspect

import pytest
import torch

from gpucompare.hw import has_gpu
from gpucompare.kernels import _common, attention, attention_sm90, gemm, gemm_sm90
from gpucompare.reference import attention_ref, check, gemm_ref, poison_

pytestmark = [
    pytest.mark.filterwarnings("ignore:Conversion of an array with ndim:DeprecationWarning"),
    pytest.mark.usefixtures("seeded"),
    pytest.mark.skipif(has_gpu(), reason="interpreter tests of the Hopper kernels (CPU only)"),
    pytest.mark.skipif(not _common.triton_has_tma_api(), reason="this Triton has no tensor descriptors"),
]

FP8 = getattr(torch, "float8_e4m3fn", None)
DT = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _poisoned(*shape, dtype):
    return poison_(torch.empty(shape, dtype=dtype))


def _ok(out, ref, dtype: str) -> None:
    res = check(out, ref, dtype)
    assert res.ok, res.message


# ------------------------------------------------------------------------------------------------ GEMM

# (M, N, K, dtype, B column-major): off every tile grid (interpreter tiles 64 x 64 x 64); N and K keep rows
# 16-byte aligned (TMA); both dtypes and both B layouts, without the full product (CI time)
GEMM_CASES = [(67, 72, 136, "fp16", False), (67, 72, 136, "bf16", True), (130, 136, 200, "fp16", True),
              (129, 8, 72, "bf16", False)]  # fmt: skip


@pytest.mark.parametrize(
    "gemm_case", GEMM_CASES, ids=lambda c: f"{c[0]}x{c[1]}x{c[2]}-{c[3]}-{'Bcol' if c[4] else 'Brow'}"
)
def test_persistent_gemm_matches_reference(gemm_case):
    m, n, k, dtype, b_col = gemm_case
    dt = DT[dtype]
    a = torch.randn(m, k).to(dt)
    b = torch.randn(n, k).to(dt).t() if b_col else torch.randn(k, n).to(dt)
    c = _poisoned(m, n, dtype=dt)
    assert gemm_sm90.supports(a, b, c)
    gemm_sm90.matmul_sm90(a, b, c, num_sms=3, skinny=False)
    _ok(c, gemm_ref(a, b), dtype)


@pytest.mark.parametrize("split_k", [None, 1, 3], ids=["auto", "split1", "split3"])
@pytest.mark.parametrize("m", [1, 5, 16])
def test_skinny_splitk_gemm_matches_reference(m, split_k):
    n, k = 136, 520  # 3 N tiles, 9 K tiles: with 3 "SMs", choose_split_k asks for 2 splits
    a, b = torch.randn(m, k).half(), torch.randn(k, n).half()
    c = _poisoned(m, n, dtype=torch.float16)
    gemm_sm90.matmul_sm90(a, b, c, num_sms=3, skinny=True, split_k=split_k)
    _ok(c, gemm_ref(a, b), "fp16")


@pytest.mark.skipif(FP8 is None, reason="no float8_e4m3fn in this torch")
@pytest.mark.parametrize("m", [16, 67])
def test_fp8_hopper_gemm_matches_reference(m):
    n, k = 72, 160
    a = (torch.randn(m, k) * 2).to(FP8)
    w = (torch.randn(n, k) * 2).to(FP8)
    sa, sb = torch.tensor(0.37), torch.tensor(1.9)
    c = _poisoned(m, n, dtype=torch.bfloat16)
    gemm_sm90.matmul_sm90(a, w.t(), c, scale_a=sa, scale_b=sb, num_sms=3)
    _ok(c, gemm_ref(a, w.t(), sa, sb), "fp8")


def test_gemm_supports_only_tma_addressable_operands():
    a, b, c = torch.empty(8, 64).half(), torch.empty(64, 40).half(), torch.empty(8, 40).half()
    assert gemm_sm90.supports(a, b, c)
    assert not gemm_sm90.supports(torch.empty(8, 45).half(), torch.empty(45, 40).half(), c)  # 90 B rows
    assert not gemm_sm90.supports(a.float(), b.float(), c.float())  # fp32 / tf32: portable kernel
    assert not gemm_sm90.supports(a.t().contiguous().t(), b, c)  # A column-major
    if FP8 is not None:  # fp8 needs the 'TN' layout (B column-major)
        assert not gemm_sm90.supports(a.to(FP8), b.to(FP8), c)
        assert gemm_sm90.supports(a.to(FP8), b.t().contiguous().t().to(FP8), c)


def test_choose_split_k_fills_the_sms():
    # Llama-3-70B out projection at decode: N = 8192 (64 tiles of 128), K = 8192 (32 tiles of 256)
    assert gemm_sm90.choose_split_k(64, 32, 132) == 5  # 320 programs >= 2 per SM
    assert gemm_sm90.choose_split_k(224, 32, 132) == 2  # mlp-up, N = 28672
    assert gemm_sm90.choose_split_k(400, 32, 132) == 1  # already enough tiles
    assert gemm_sm90.choose_split_k(1, 3, 132) == 1  # too short a K to split
    with pytest.raises(ValueError):
        gemm_sm90.choose_split_k(0, 1, 1)


def test_fp8_accumulation_mode_is_one_constant_on_both_sides():
    assert gemm.FP8_FAST_ACCUM is gemm_sm90.FP8_FAST_ACCUM is False
    for fn in (gemm.matmul_fp8, gemm.torch_matmul_fp8, gemm_sm90.matmul_sm90):
        assert inspect.signature(fn).parameters["fast_accum"].default is gemm_sm90.FP8_FAST_ACCUM


# ------------------------------------------------------------------------------------------- attention

ATTN_CASES = {
    # (B, Hq, Hkv, Sq, Sk, D, causal, blocks, dtype); 67 > 64 and 37 < 64 make blocks cross the head
    # boundary of the forward's 2-D views
    "gqa-67x37-causal-emptyrows-fp16": (1, 4, 2, 67, 37, 64, True, None, "fp16"),
    "mqa-37x67-causal-smalltiles-bf16": (2, 2, 1, 37, 67, 64, True, (32, 32), "bf16"),
    "mha-67-noncausal-bf16": (2, 2, 2, 67, 67, 64, False, None, "bf16"),
    "d128-45x130-causal-fp16": (1, 2, 2, 45, 130, 128, True, (32, 64), "fp16"),
}


@pytest.mark.parametrize("attn_case", list(ATTN_CASES))
def test_hopper_attention_forward_backward_match_reference(attn_case):
    b, hq, hkv, sq, sk, d, causal, blocks, dtype = ATTN_CASES[attn_case]
    dt = DT[dtype]
    q, k, v = (torch.randn(b, h, s, d).to(dt) for h, s in ((hq, sq), (hkv, sk), (hkv, sk)))
    assert attention_sm90.supports(q, k, v)
    scale = d**-0.5
    out = _poisoned(b, hq, sq, d, dtype=dt)
    o, lse = attention_sm90.forward(q, k, v, causal, scale, attention.LOG2E, out=out, blocks=blocks, ws=True)
    ref_in = [x.double().requires_grad_() for x in (q, k, v)]
    ref = attention_ref(*ref_in, causal=causal)
    _ok(o, ref, dtype)
    do = torch.randn_like(q)
    ref.backward(do.double())
    delta = (o.float() * do.float()).sum(-1)
    grads = attention_sm90.backward(q, k, v, do, lse, delta, causal, scale, attention.LOG2E, blocks=blocks)
    for got, want in zip(grads, ref_in):
        _ok(got, want.grad, dtype)


def test_hopper_attention_two_phase_forward_matches_reference():
    """The non-warp-specialised configs split unmasked and masked key blocks (the autotuned interpreter
    config is such a one); the warp-specialised one above masks every block."""
    q, k, v = (torch.randn(1, 2, s, 64).half() for s in (130, 130, 130))
    o, _ = attention_sm90.forward(q, k, v, True, 0.125, attention.LOG2E)
    _ok(o, attention_ref(q.double(), k.double(), v.double(), causal=True, sm_scale=0.125), "fp16")


def test_hopper_attention_takes_one_layout():
    q = torch.empty(1, 2, 32, 64).half()
    assert attention_sm90.supports(q)
    assert not attention_sm90.supports(torch.empty(1, 32, 2, 64).half().transpose(1, 2))  # (B, S, H, D)
    assert not attention_sm90.supports(q.float())  # fp32: portable kernels
    assert not attention_sm90.supports(torch.empty(1, 2, 32, 32).half())  # D = 32 not tuned here


# ---------------------------------------------------------------------------------- the one switch


def _pretend_hopper(monkeypatch, cc=(9, 0)):
    monkeypatch.setattr(_common, "interpreting", lambda: False)
    monkeypatch.setattr(_common, "compute_capability", lambda dev: cc)
    monkeypatch.delenv(_common.KERNEL_PATH_ENV, raising=False)


def test_use_hopper_path_is_true_only_on_sm90(monkeypatch):
    assert not _common.use_hopper_path(torch.device("cpu"))  # the interpreter, here
    _pretend_hopper(monkeypatch)
    assert _common.use_hopper_path("cuda:0")
    assert not _common.use_hopper_path("cpu")
    monkeypatch.setenv(_common.KERNEL_PATH_ENV, "portable")
    assert not _common.use_hopper_path("cuda:0")
    monkeypatch.setenv(_common.KERNEL_PATH_ENV, "fast")
    with pytest.raises(ValueError, match=_common.KERNEL_PATH_ENV):
        _common.use_hopper_path("cuda:0")
    for cc in ((8, 0), (8, 9), (10, 0)):
        _pretend_hopper(monkeypatch, cc)
        assert not _common.use_hopper_path("cuda:0")


def test_wrappers_dispatch_through_the_switch(monkeypatch):
    """gemm.matmul and attention.attention take the Hopper kernels when ``use_hopper_path`` says so (and
    the operands fit), the portable ones otherwise; results are right either way."""
    calls = []
    for mod in (gemm, attention):
        monkeypatch.setattr(mod, "use_hopper_path", lambda dev: True)
    real_mm, real_fwd = gemm_sm90.matmul_sm90, attention_sm90.forward
    monkeypatch.setattr(gemm_sm90, "matmul_sm90", lambda *a, **kw: calls.append("gemm") or real_mm(*a, **kw))
    monkeypatch.setattr(
        attention_sm90, "forward", lambda *a, **kw: calls.append("attn") or real_fwd(*a, **kw)
    )
    a, b = torch.randn(67, 72).half(), torch.randn(72, 40).half()
    _ok(gemm.matmul(a, b), gemm_ref(a, b), "fp16")
    _ok(gemm.matmul(a[:, :45], b[:45]), gemm_ref(a[:, :45], b[:45]), "fp16")  # a slice: rows still aligned
    a2, b2 = torch.randn(67, 45).half(), torch.randn(45, 40).half()
    _ok(gemm.matmul(a2, b2), gemm_ref(a2, b2), "fp16")  # 90-byte rows: no TMA, portable kernel
    q = torch.randn(1, 2, 40, 64).half()
    _ok(attention.attention(q, q, q), attention_ref(q.double(), q.double(), q.double()), "fp16")
    assert calls == ["gemm", "gemm", "attn"]
