"""Correctness of gpucompare.kernels.gemm against gpucompare.reference (CPU: Triton's interpreter).

Every output buffer is poisoned with NaN first, so an element the kernel never writes fails the check.
"""

from __future__ import annotations

import pytest
import torch

# Triton 3.6's interpreter converts the runtime K-loop bound with int(ndarray) (numpy >= 1.25 warns).
from support import FLOAT_DTYPES

from gpucompare.dtypes import torch_dtype
from gpucompare.hw import default_device, has_gpu, supports_fp8
from gpucompare.kernels import gemm
from gpucompare.reference import check, gemm_ref, poison_, relative_error

pytestmark = [
    pytest.mark.filterwarnings("ignore:Conversion of an array with ndim:DeprecationWarning"),
    pytest.mark.usefixtures("seeded"),
]

FP8 = getattr(torch, "float8_e4m3fn", None)
DTYPES = {n: torch_dtype(n) for n in FLOAT_DTYPES}
# (M, N, K): odd sizes off the tile grid, a single row, a single column, an exact tile, K < BLOCK_K.
SHAPES = [(67, 45, 129), (1, 37, 64), (130, 1, 17), (128, 128, 128), (129, 130, 200)]
DEVICE = default_device()


def _label(shape) -> str:
    return "x".join(map(str, shape))


def _randn(*shape, dtype=torch.float32, device=DEVICE):
    return torch.randn(*shape, device=device).to(dtype)


def _poisoned(m, n, dtype, device=DEVICE):
    return poison_(torch.empty((m, n), dtype=dtype, device=device))


def _fp8_inputs(m, n, k, device=DEVICE):
    """a (M, K) row-major and b = w.t() (K, N) column-major, in e4m3, with per-tensor scales."""
    a = (torch.randn(m, k, device=device) * 2).to(FP8)
    w = (torch.randn(n, k, device=device) * 2).to(FP8)
    sa = torch.tensor(0.37, device=device)
    sb = torch.tensor(1.9, device=device)
    return a, w.t(), sa, sb


# --------------------------------------------------------------------------------------------- correctness


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("shape", SHAPES, ids=_label)
def test_matmul_matches_reference(shape, dtype):
    m, n, k = shape
    dt = DTYPES[dtype]
    a, b = _randn(m, k, dtype=dt), _randn(k, n, dtype=dt)
    out = _poisoned(m, n, dt)
    c = gemm.matmul(a, b, out=out)
    assert c is out and c.dtype == dt and c.shape == (m, n)
    res = check(c, gemm_ref(a, b), dtype)
    assert res.ok, res.message


def test_matmul_allocates_output():
    a, b = _randn(33, 70), _randn(70, 21)
    c = gemm.matmul(a, b)
    assert c.shape == (33, 21) and c.dtype == torch.float32
    assert check(c, gemm_ref(a, b), "fp32").ok


def test_matmul_bf16_rounds_to_nearest():
    """bf16 output equals the fp64 reference rounded to bf16 in all but rare near-tie elements
    (the interpreter's own bf16 cast truncates; the kernel rounds to nearest like the GPU)."""
    a, b = _randn(64, 96, dtype=torch.bfloat16), _randn(96, 40, dtype=torch.bfloat16)
    c = gemm.matmul(a, b)
    expected = gemm_ref(a, b).to(torch.bfloat16)
    assert (c != expected).float().mean().item() < 0.01


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_matmul_non_contiguous_inputs(dtype):
    dt = DTYPES[dtype]
    m, n, k = 50, 36, 70
    a = _randn(k, m, dtype=dt).t()  # (M, K) column-major
    b = _randn(k, 2 * n, dtype=dt)[:, ::2]  # (K, N) with column stride 2
    assert not a.is_contiguous() and not b.is_contiguous()
    c = gemm.matmul(a, b, out=_poisoned(m, n, dt))
    res = check(c, gemm_ref(a, b), dtype)
    assert res.ok, res.message


def test_matmul_non_contiguous_out():
    a, b = _randn(20, 30), _randn(30, 24)
    out = poison_(torch.empty(24, 20, device=DEVICE)).t()  # (20, 24) column-major view
    c = gemm.matmul(a, b, out=out)
    assert c.data_ptr() == out.data_ptr()
    assert check(c, gemm_ref(a, b), "fp32").ok


def test_matmul_k_zero_gives_zeros_and_empty_m():
    c = gemm.matmul(_randn(5, 0), _randn(0, 7), out=_poisoned(5, 7, torch.float32))
    assert torch.equal(c, torch.zeros(5, 7, device=DEVICE))
    assert gemm.matmul(_randn(0, 8), _randn(8, 3)).shape == (0, 3)


def test_matmul_error_is_not_hidden_by_tolerance():
    """A wrong result (one element off, or a NaN) must fail the check used above."""
    a, b = _randn(40, 50), _randn(50, 30)
    c = gemm.matmul(a, b)
    ref = gemm_ref(a, b)
    bad = c.clone()
    bad[39, 29] += 1e-2 * ref.abs().max().item()
    assert not check(bad, ref, "fp32").ok
    bad[39, 29] = float("nan")
    assert not check(bad, ref, "fp32").ok


def test_matmul_nan_input_propagates():
    a, b = _randn(16, 16), _randn(16, 16)
    a[3, 5] = float("nan")
    c = gemm.matmul(a, b)
    assert torch.isnan(c[3]).all() and not torch.isnan(c[4]).any()
    assert not check(c, gemm_ref(a, b), "fp32").ok


def test_torch_matmul_matches_reference_and_restores_tf32_flag():
    flags = torch.backends.cuda.matmul
    before = flags.allow_tf32
    a, b = _randn(31, 17), _randn(17, 9)
    c = gemm.torch_matmul(a, b, allow_tf32=not before)
    assert flags.allow_tf32 == before
    assert check(c, gemm_ref(a, b), "tf32").ok
    with pytest.raises(ValueError):
        gemm.torch_matmul(a, a, allow_tf32=not before)
    assert flags.allow_tf32 == before


# --------------------------------------------------------------------------------------------- fp8


@pytest.mark.skipif(FP8 is None, reason="this torch build has no float8_e4m3fn")
@pytest.mark.parametrize("shape", [(67, 45, 129), (16, 48, 32)], ids=_label)
@pytest.mark.parametrize("out_dtype", [torch.bfloat16, torch.float16, torch.float32], ids=str)
def test_matmul_fp8_matches_reference(shape, out_dtype):
    if DEVICE.type == "cuda" and not supports_fp8(DEVICE)[0]:
        pytest.skip(supports_fp8(DEVICE)[1])
    m, n, k = shape
    a, b, sa, sb = _fp8_inputs(m, n, k)
    assert b.stride(0) == 1  # column-major, as cuBLAS wants it
    c = gemm.matmul_fp8(a, b, sa, sb, out_dtype=out_dtype, out=_poisoned(m, n, out_dtype))
    assert c.dtype == out_dtype
    res = check(c, gemm_ref(a, b, sa, sb), "fp8")
    assert res.ok, res.message
    # row-major b gives the same result (strides are honoured)
    c2 = gemm.matmul_fp8(a, b.contiguous(), sa, sb, out_dtype=out_dtype)
    assert check(c2, gemm_ref(a, b, sa, sb), "fp8").ok


@pytest.mark.skipif(FP8 is None, reason="this torch build has no float8_e4m3fn")
def test_matmul_fp8_applies_both_scales():
    a, b, sa, sb = _fp8_inputs(32, 32, 32)
    c = gemm.matmul_fp8(a, b, sa, sb, out_dtype=torch.float32)
    unscaled = gemm_ref(a, b)
    assert not check(c, unscaled, "fp8").ok  # a kernel that ignored the scales would pass this
    assert relative_error(c, unscaled * 0.37 * 1.9) < 1e-5


@pytest.mark.skipif(FP8 is None, reason="this torch build has no float8_e4m3fn")
def test_torch_matmul_fp8_matches_reference():
    ok, reason = gemm.torch_available("fp8", DEVICE)
    if not ok:
        pytest.skip(reason)
    a, b, sa, sb = _fp8_inputs(32, 48, 64)
    try:
        c = gemm.torch_matmul_fp8(a, b, sa, sb, torch.bfloat16)
    except (RuntimeError, NotImplementedError) as e:  # a torch build without a CPU _scaled_mm
        pytest.skip(f"torch._scaled_mm unavailable here: {e}")
    res = check(c, gemm_ref(a, b, sa, sb), "fp8")
    assert res.ok, res.message


# --------------------------------------------------------------------------------------------- bad input


def _raises(fn, *words):
    with pytest.raises(ValueError) as exc:
        fn()
    for w in words:
        assert w in str(exc.value), f"{w!r} not in {exc.value}"


def test_matmul_rejects_bad_input():
    a, b = _randn(67, 129), _randn(129, 45)
    _raises(lambda: gemm.matmul(a, _randn(45, 129)), "matmul", "b has 45 rows but a has 129 columns")
    _raises(lambda: gemm.matmul(a[0], b), "a must have 2 dimensions")
    _raises(lambda: gemm.matmul(a, b[None]), "b must have 2 dimensions")
    _raises(lambda: gemm.matmul(a, b.half()), "b has dtype float16", "a has dtype float32")
    _raises(lambda: gemm.matmul(a.double(), b.double()), "a has dtype float64", "supported")
    _raises(lambda: gemm.matmul(a.int(), b.int()), "a has dtype")
    _raises(lambda: gemm.matmul(a.tolist(), b), "a must be a torch.Tensor")
    _raises(lambda: gemm.matmul(a, b.to("meta")), "b", "device")
    _raises(lambda: gemm.matmul(a, b, out=_randn(45, 67)), "out has shape (45, 67)", "(67, 45)")
    _raises(lambda: gemm.matmul(a, b, out=_randn(67, 45, dtype=torch.float16)), "out has dtype float16")
    square = _randn(8, 8)
    _raises(lambda: gemm.matmul(square, _randn(8, 8), out=square), "out shares memory with a")


@pytest.mark.skipif(FP8 is None, reason="this torch build has no float8_e4m3fn")
def test_matmul_fp8_rejects_bad_input():
    a, b, sa, sb = _fp8_inputs(16, 32, 32)
    _raises(lambda: gemm.matmul_fp8(a.float(), b, sa, sb), "matmul_fp8", "a has dtype float32")
    _raises(lambda: gemm.matmul(a, b), "matmul", "a has dtype")
    _raises(lambda: gemm.matmul_fp8(a, b, torch.ones(2, device=DEVICE), sb), "scale_a", "per-tensor")
    _raises(lambda: gemm.matmul_fp8(a, b, sa, sb.double()), "scale_b has dtype float64")
    _raises(lambda: gemm.matmul_fp8(a, b, sa, 2.0), "scale_b must be a torch.Tensor")
    _raises(lambda: gemm.matmul_fp8(a, b, sa, sb, out_dtype=torch.int32), "out_dtype")
    _raises(lambda: gemm.matmul_fp8(a, b[:16], sa, sb), "b has 16 rows but a has 32 columns")
    # torch._scaled_mm's own requirements, checked before the call
    _raises(lambda: gemm.torch_matmul_fp8(a, b.contiguous(), sa, sb), "b must be column-major")
    a2, b2, _, _ = _fp8_inputs(16, 24, 32)
    _raises(lambda: gemm.torch_matmul_fp8(a2, b2, sa, sb), "divisible by 16", "N=24")


def test_availability():
    assert gemm.triton_available("fp32", DEVICE) == (True, "")
    assert gemm.torch_available("fp16", DEVICE) == (True, "")
    ok, reason = gemm.triton_available("tf32", "cpu")
    assert not ok and reason
    with pytest.raises(ValueError, match="unknown dtype 'fp12'"):
        gemm.triton_available("fp12", DEVICE)


# ------------------------------------------------------------------------------------- GPU, real sizes

GPU_SHAPES = [(4096, 4096, 4096), (1000, 3000, 1500), (8192, 1024, 2048)]


@pytest.mark.gpu
@pytest.mark.skipif(not has_gpu(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", ["fp16", "bf16", "tf32", "fp32"])
@pytest.mark.parametrize("shape", GPU_SHAPES, ids=_label)
def test_gpu_matmul_real_sizes(shape, dtype):
    ok, reason = gemm.triton_available(dtype, DEVICE)
    if not ok:
        pytest.skip(reason)
    m, n, k = shape
    dt = torch.float32 if dtype in ("tf32", "fp32") else DTYPES[dtype]
    a, b = _randn(m, k, dtype=dt), _randn(k, n, dtype=dt)
    c = gemm.matmul(a, b, allow_tf32=dtype == "tf32", out=_poisoned(m, n, dt))
    ref = gemm_ref(a, b, upcast="fp64")
    base = gemm.torch_matmul(a, b, allow_tf32=dtype == "tf32")
    res = check(c, ref, dtype, baseline=base)
    assert res.ok, res.message


@pytest.mark.gpu
@pytest.mark.skipif(not has_gpu() or FP8 is None, reason="needs a CUDA GPU")
@pytest.mark.parametrize("shape", [(4096, 4096, 4096), (1024, 3072, 2048)], ids=_label)
def test_gpu_matmul_fp8_real_sizes(shape):
    ok, reason = supports_fp8(DEVICE)
    if not ok:
        pytest.skip(reason)
    m, n, k = shape
    a, b, sa, sb = _fp8_inputs(m, n, k)
    ref = gemm_ref(a, b, sa, sb)
    c = gemm.matmul_fp8(a, b, sa, sb, out=_poisoned(m, n, torch.bfloat16))
    base = gemm.torch_matmul_fp8(a, b, sa, sb)
    assert check(base, ref, "fp8").ok
    res = check(c, ref, "fp8", baseline=base)
    assert res.ok, res.message
