"""Correctness of gpucompare.kernels.bandwidth (copy, triad) against gpucompare.reference.

Outputs are poisoned with NaN first, so an element the kernel never writes fails the check.
"""

from __future__ import annotations

import pytest
import torch
from support import FLOAT_DTYPES

from gpucompare.dtypes import torch_dtype
from gpucompare.hw import default_device, has_gpu
from gpucompare.kernels import bandwidth as bw
from gpucompare.reference import check, copy_ref, poison_, triad_ref

pytestmark = pytest.mark.usefixtures("seeded")
DTYPES = {n: torch_dtype(n) for n in FLOAT_DTYPES}
LENGTHS = [1, 1000, 4099, 8193]  # 8193: one past a whole interpreter block
DEVICE = default_device()


def _randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, device=DEVICE).to(dtype)


def _poisoned_like(x):
    return poison_(torch.empty_like(x))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("n", LENGTHS)
def test_copy_is_exact(n, dtype):
    x = _randn(n, dtype=DTYPES[dtype])
    out = _poisoned_like(x)
    y = bw.copy(x, out=out)
    assert y is out
    assert torch.equal(y, x)  # a copy is bit-exact
    assert check(y, copy_ref(x), dtype).ok


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("n", LENGTHS)
def test_triad_matches_reference(n, dtype):
    dt = DTYPES[dtype]
    a, b = _randn(n, dtype=dt), _randn(n, dtype=dt)
    out = _poisoned_like(a)
    y = bw.triad(a, b, 2.5, out=out)
    assert y is out and y.dtype == dt
    ref = triad_ref(a, b, 2.5)
    res = check(y, ref, dtype)
    assert res.ok, res.message
    if dt != torch.float32:
        # computed in fp32, rounded once to nearest (also under the interpreter): the rounded reference,
        # but for rare double-rounding ties
        assert (y != ref.to(dt)).sum().item() <= max(1, n // 1000)


def test_copy_and_triad_keep_shape_and_allocate():
    x = _randn(3, 5, 7)
    y = bw.copy(x)
    assert y.shape == x.shape and y.data_ptr() != x.data_ptr() and torch.equal(y, x)
    t = bw.triad(x, y, -1)
    assert t.shape == x.shape and t.abs().max().item() == 0.0
    assert bw.copy(_randn(0)).shape == (0,)


def test_torch_counterparts():
    a, b = _randn(1000, dtype=torch.float16), _randn(1000, dtype=torch.float16)
    assert torch.equal(bw.torch_copy(a), a)
    out = _poisoned_like(a)
    assert bw.torch_copy(a, out=out) is out and torch.equal(out, a)
    assert check(bw.torch_triad(a, b, 3.0), triad_ref(a, b, 3.0), "fp16").ok


def test_wrong_output_is_caught():
    """The checks used above fail a triad that drops the scalar or skips the tail."""
    a, b = _randn(4099), _randn(4099)
    ref = triad_ref(a, b, 2.5)
    assert not check(bw.triad(a, b, 1.0), ref, "fp32").ok
    partial = bw.triad(a, b, 2.5)
    partial[-1] = float("nan")
    assert not check(partial, ref, "fp32").ok


def _raises(fn, *words):
    with pytest.raises(ValueError) as exc:
        fn()
    for w in words:
        assert w in str(exc.value), f"{w!r} not in {exc.value}"


def test_bad_input():
    a, b = _randn(100), _randn(100)
    _raises(lambda: bw.copy(a.double()), "copy", "x has dtype float64")
    _raises(lambda: bw.copy([1.0]), "x must be a torch.Tensor")
    _raises(lambda: bw.copy(_randn(10, 10).t()), "x must be contiguous")
    _raises(lambda: bw.copy(a, out=_randn(99)), "out has shape (99,)")
    _raises(lambda: bw.copy(a, out=a), "out shares memory with x")
    _raises(lambda: bw.triad(a, _randn(101), 2.0), "triad", "b has shape (101,)")
    _raises(lambda: bw.triad(a, b.half(), 2.0), "b has dtype float16")
    _raises(lambda: bw.triad(a, b.to("meta"), 2.0), "b has device meta")
    _raises(lambda: bw.triad(a, b, torch.tensor(2.0)), "scalar must be a Python int or float")
    _raises(lambda: bw.triad(a, b, 2.0, out=_randn(100, dtype=torch.bfloat16)), "out has dtype bfloat16")
    _raises(lambda: bw.torch_triad(a, _randn(7), 2.0), "torch_triad", "b has shape (7,)")
    with pytest.raises(ValueError, match="unknown dtype 'fp8'"):
        bw.triton_available("fp8", DEVICE)
    assert bw.triton_available("bf16", DEVICE) == (True, "")
    assert bw.torch_available("fp16", DEVICE) == (True, "")


@pytest.mark.gpu
@pytest.mark.skipif(not has_gpu(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_gpu_real_sizes(dtype):
    dt = DTYPES[dtype]
    n = 256 * 2**20 + 3  # ~1 GB in fp32, not a multiple of the block
    a, b = _randn(n, dtype=dt), _randn(n, dtype=dt)
    assert torch.equal(bw.copy(a, out=_poisoned_like(a)), a)
    y = bw.triad(a, b, 0.5, out=_poisoned_like(a))
    res = check(y, triad_ref(a, b, 0.5, upcast="fp32"), dtype, baseline=bw.torch_triad(a, b, 0.5))
    assert res.ok, res.message
