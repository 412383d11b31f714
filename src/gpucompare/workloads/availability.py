"""Can an implementation run here? The dtype check, the lazy kernel-module import and the Triton/torch
device checks every :class:`~gpucompare.workloads.base.Impl` of the families is built from.

Kernel modules (``gpucompare.kernels.<family>``) are imported only when an implementation is asked whether
it is available or is built, so the registry imports, lists and counts even while a kernel module is missing
or broken; the availability answer then says why. Every check here answers ``(ok, reason when not)`` and
never raises for a known dtype.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

from gpucompare import dtypes, hw
from gpucompare.lazy import torch
from gpucompare.workloads.shape import Shape

#: ``extra(kernel module, dtype, device, shape or None) -> (ok, reason)``: a family's shape-dependent limits.
Extra = Callable[[ModuleType, str, "torch.device", Shape | None], tuple[bool, str]]
#: ``available(dtype, device, shape=None) -> (ok, reason)``, the signature of ``Impl.available``.
Available = Callable[..., tuple[bool, str]]


#: What the checks below read of the CPU device (``.type``), without importing torch.
_CPU = SimpleNamespace(type="cpu")


def dtype_supported(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Whether ``device`` can compute in ``dtype`` at all (before any implementation is asked)."""
    # "cpu" answers without importing torch (the registry checks its CPU dtypes on import).
    dev = _CPU if isinstance(device, str) and device == "cpu" else torch.device(device)
    if dtype in ("fp32", "fp16"):
        return True, ""
    if dtype == "bf16":
        return hw.supports_bf16(dev) if dev.type == "cuda" else (True, "")
    if dtype == "tf32":
        return _tf32_supported(dev)
    if dtype == "fp8":
        if dev.type != "cuda":
            return False, "fp8 e4m3 GEMM needs a CUDA GPU with compute capability >= 8.9 (CPU device)"
        return hw.supports_fp8(dev)
    return False, f"unknown dtype {dtype!r}; known: {', '.join(dtypes.MEASURED_DTYPES)}"


def _tf32_supported(dev: torch.device) -> tuple[bool, str]:
    cc = hw.compute_capability(dev) if dev.type == "cuda" else None
    if cc is None:
        return False, "tf32 is a tensor-core mode of NVIDIA GPUs with compute capability >= 8.0 (no GPU here)"
    if cc < (8, 0):
        return False, f"tf32 needs compute capability >= 8.0, this GPU is {cc[0]}.{cc[1]}"
    return True, ""


def kernel(module: str) -> ModuleType:
    """``gpucompare.kernels.<module>``, imported on first use."""
    return importlib.import_module(f"gpucompare.kernels.{module}")


def kernel_status(module: str, *functions: str) -> tuple[ModuleType | None, str]:
    """Import ``gpucompare.kernels.<module>`` and check it has ``functions``; (module, "") or (None, why)."""
    try:
        mod = kernel(module)
    except Exception as exc:  # a missing or broken kernel module makes the impl unavailable, with the reason
        return None, f"gpucompare.kernels.{module} cannot be imported ({type(exc).__name__}: {exc})"
    missing = [f for f in functions if not hasattr(mod, f)]
    if missing:
        return None, f"gpucompare.kernels.{module} has no {', '.join(missing)}"
    return mod, ""


def ask(what: str, fn: Callable[..., tuple[bool, str]], *args: Any, **kwargs: Any) -> tuple[bool, str]:
    """Call an availability probe; a probe that raises makes the impl unavailable, with the reason."""
    try:
        ok, why = fn(*args, **kwargs)
    except Exception as exc:  # an availability probe must answer, not crash a listing or a run
        return False, f"{what} failed: {type(exc).__name__}: {exc}"
    return bool(ok), str(why or "")


def triton_language_interpreted() -> bool:
    """True when triton.language's own jit helpers (tl.cdiv, ...) were built for the interpreter."""
    import triton.language as tl

    return type(tl.cdiv).__name__ == "InterpretedFunction"


def device_ok(device: torch.device, triton: bool) -> tuple[bool, str]:
    """Whether a Triton (``triton=True``) or a PyTorch implementation can run on ``device`` in this process."""
    if device.type == "cuda":
        if not hw.has_gpu():
            return False, "no CUDA GPU here"
        if triton and hw.interpreting():
            return False, "Triton runs in the CPU interpreter here (TRITON_INTERPRET=1)"
        return True, ""
    if device.type != "cpu":
        return False, f"unsupported device type {device.type!r}"
    if triton and hw.interpreting() and not triton_language_interpreted():
        return False, (
            "triton was imported before TRITON_INTERPRET=1 was set, so its language functions are compiled-mode "
            "and the interpreter fails; import gpucompare.kernels (or call gpucompare.hw.configure_triton()) "
            "before anything imports triton (torch.utils.flop_counter does)"
        )
    if triton and not hw.interpreting():
        return (
            False,
            "Triton on the CPU needs its interpreter (TRITON_INTERPRET=1), and this process compiles for a GPU",
        )
    return True, ""


def kernel_available(
    name: str,
    module: str,
    functions: tuple[str, ...],
    *,
    triton: bool,
    extra: Extra | None = None,
    probe: str | None = None,
) -> Available:
    """The ``available`` function of implementation ``name`` of ``gpucompare.kernels.<module>``.

    It imports the kernel module lazily, checks the device and the dtype, asks the module's own
    ``probe(dtype, device)`` when it has one, then ``extra`` (shape-dependent limits).
    """

    def available(dtype: str, device: torch.device | str, shape: Shape | None = None) -> tuple[bool, str]:
        dev = torch.device(device)
        if triton:  # importing the kernels package puts Triton in interpreter mode when there is no GPU
            importlib.import_module("gpucompare.kernels")
        ok, why = device_ok(dev, triton)
        if not ok:
            return False, f"{name}: {why}"
        ok, why = dtype_supported(dtype, dev)
        if not ok:
            return False, why
        mod, why = kernel_status(module, *functions)
        if mod is None:
            return False, why
        if probe is not None and hasattr(mod, probe):
            ok, why = ask(f"gpucompare.kernels.{module}.{probe}", getattr(mod, probe), dtype, dev)
            if not ok:
                return False, why
        if extra is not None:
            return extra(mod, dtype, dev, shape)
        return True, ""

    return available
