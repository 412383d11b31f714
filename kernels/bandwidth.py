"""Memory-bandwidth kernels: copy and STREAM triad, in Triton and PyTorch.

Math. copy: y[i] = x[i]. triad: y[i] = a[i] + s * b[i] (computed in fp32, rounded once to the dtype).
Over N elements of size e bytes they move at least 2Ne (copy) and 3Ne (triad) bytes; triad does 2N FLOPs
(counts defined in ``gpucompare.workloads``, not here).

Triton kernels: one program per BLOCK of the flattened tensor, the tail masked, offsets in int64 so
tensors past 2**31 elements work. Inputs must be contiguous (a bandwidth kernel streams memory; a strided
view would measure something else), of any shape; fp32, fp16 or bf16. Under Triton's CPU interpreter a
large block is used (the interpreter costs a few ms per program) and the arithmetic is done in fp32,
which also avoids the interpreter's wrong bf16 arithmetic.

``triton_available`` / ``torch_available`` say, for a dtype name ("fp32", "fp16", "bf16") and a device,
whether the implementation can run there, and why not.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpucompare.dtypes import STORAGE_FLOATS
from gpucompare.hw import interpreting, supports_bf16

from ._common import (
    FLOAT_DTYPES,
    check_dtype_name,
    check_out,
    check_same,
    check_tensor,
    check_triton_device,
    rne_to_bf16,
    round_bf16_in_kernel,
    triton_device_refusal,
)

DTYPE_NAMES = STORAGE_FLOATS
_GPU_BLOCK, _GPU_WARPS = 4096, 8
_INTERP_BLOCK = 8192


@triton.jit
def _copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask), mask=mask)


@triton.jit
def _triad_kernel(a_ptr, b_ptr, y_ptr, n, scalar, BLOCK: tl.constexpr, RNE_BF16: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    a = tl.load(a_ptr + offs, mask=mask).to(tl.float32)
    b = tl.load(b_ptr + offs, mask=mask).to(tl.float32)
    y = a + scalar * b
    if RNE_BF16:  # the interpreter's fp32 -> bf16 cast truncates; round to nearest first
        y = rne_to_bf16(y)
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)


def _block() -> tuple[int, int]:
    return (_INTERP_BLOCK, 4) if interpreting() else (_GPU_BLOCK, _GPU_WARPS)


def _check_input(op: str, name: str, t) -> torch.Tensor:
    check_tensor(name, t, dtypes=FLOAT_DTYPES, op=op)
    if not t.is_contiguous():
        raise ValueError(f"{op}: {name} must be contiguous (strides {t.stride()} for shape {tuple(t.shape)})")
    return t


def _check_pair(op: str, a, b) -> None:
    """Triad operands: contiguous, supported, same dtype, device and shape."""
    _check_input(op, "a", a)
    _check_input(op, "b", b)
    check_same(op, "dtype", a=a, b=b)
    check_same(op, "device", a=a, b=b)
    if a.shape != b.shape:
        raise ValueError(f"{op}: b has shape {tuple(b.shape)} but a has shape {tuple(a.shape)}; must match")


def _prepare_out(op: str, out, like: torch.Tensor, **inputs: torch.Tensor) -> torch.Tensor:
    if out is None:
        return torch.empty_like(like, memory_format=torch.contiguous_format)
    check_out(op, out, like.shape, like.dtype, like.device)
    if not out.is_contiguous():
        raise ValueError(f"{op}: out must be contiguous (strides {out.stride()})")
    for name, t in inputs.items():
        if t.numel() and out.untyped_storage().data_ptr() == t.untyped_storage().data_ptr():
            raise ValueError(f"{op}: out shares memory with {name}; pass a separate output buffer")
    return out


def _check_scalar(op: str, scalar) -> float:
    if isinstance(scalar, bool) or not isinstance(scalar, (int, float)):
        raise ValueError(f"{op}: scalar must be a Python int or float, got {type(scalar).__name__}")
    return float(scalar)


def copy(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """y = x (a new contiguous tensor, or ``out`` of x's shape/dtype/device) with a Triton kernel."""
    op = "copy"
    _check_input(op, "x", x)
    check_triton_device(op, "x", x)
    y = _prepare_out(op, out, x, x=x)
    n = x.numel()
    if n:
        block, warps = _block()
        _copy_kernel[(triton.cdiv(n, block),)](x, y, n, BLOCK=block, num_warps=warps)
    return y


def triad(a: torch.Tensor, b: torch.Tensor, scalar: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """y = a + scalar * b (STREAM triad) with a Triton kernel; fp32 arithmetic, output in a's dtype."""
    op = "triad"
    _check_pair(op, a, b)
    s = _check_scalar(op, scalar)
    check_triton_device(op, "a", a)
    y = _prepare_out(op, out, a, a=a, b=b)
    n = a.numel()
    if n:
        block, warps = _block()
        _triad_kernel[(triton.cdiv(n, block),)](
            a, b, y, n, s, BLOCK=block, RNE_BF16=round_bf16_in_kernel(y.dtype), num_warps=warps
        )
    return y


def torch_copy(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """y = x through ``Tensor.copy_`` into a new (or the given) contiguous tensor."""
    op = "torch_copy"
    _check_input(op, "x", x)
    y = _prepare_out(op, out, x, x=x)
    return y.copy_(x)


def torch_triad(a: torch.Tensor, b: torch.Tensor, scalar: float) -> torch.Tensor:
    """y = a + scalar * b through ``torch.add(a, b, alpha=scalar)``."""
    op = "torch_triad"
    _check_pair(op, a, b)
    return torch.add(a, b, alpha=_check_scalar(op, scalar))


def triton_available(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Can the Triton copy/triad run ``dtype`` on ``device``?"""
    check_dtype_name("bandwidth", dtype, DTYPE_NAMES)
    dev = torch.device(device)
    refusal = triton_device_refusal(dev)
    if refusal:
        return False, refusal
    if interpreting():
        return True, ""
    return supports_bf16(dev) if dtype == "bf16" else (True, "")


def torch_available(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Can the PyTorch copy/triad run ``dtype`` on ``device``? (Always, on the CPU or any CUDA GPU.)"""
    check_dtype_name("bandwidth", dtype, DTYPE_NAMES)
    return True, ""
