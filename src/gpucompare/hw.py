"""Hardware capability checks, in one place.

Everything that asks "is there a GPU?", "can this device run fp8?" or "is Triton interpreting?"
calls this module, so the answer cannot drift between the kernels, the benchmarks and the tests.
torch is imported when a question needs it, not with this module: the CLI's ``--help`` and ``--version``
and the commands that only read files never load it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Shape tiers: ``cpu`` (tiny shapes, Triton's interpreter) and ``gpu`` (real sizes).
TIERS = ("cpu", "gpu")


@functools.cache
def has_gpu() -> bool:
    """True when a CUDA GPU is usable by torch."""
    import torch

    return torch.cuda.is_available()


def configure_triton() -> bool:
    """The one place that sets up Triton for this process; return True when interpreting. Idempotent.

    * No GPU: interpreter mode (``TRITON_INTERPRET=1``). Triton reads it when ``@triton.jit`` decorates a
      kernel and when ``triton.language`` is first imported, so this runs before either: the
      ``gpucompare.kernels`` package calls it on import (every kernel module is inside it), and the two entry
      points that may import triton earlier through torch (``cli.main``, the root ``conftest.py``) call it
      first. An explicit ``TRITON_INTERPRET`` (``0`` to compile for a GPU target without one, as
      ``kernels/_sm90_compile.py`` does) is left as it is.
    * Autotuning results cached on disk (``TRITON_CACHE_AUTOTUNING=1``, read when a kernel is decorated): a
      second run on the same machine (``pytest bench/`` after ``gpucompare run``, or a suite split into
      several processes) neither re-benchmarks the configs of each kernel nor compiles the losers. Ignored
      by the interpreter. An explicit setting in the environment wins.
    """
    if not has_gpu() and "TRITON_INTERPRET" not in os.environ:
        os.environ["TRITON_INTERPRET"] = "1"
    os.environ.setdefault("TRITON_CACHE_AUTOTUNING", "1")
    return interpreting()


def interpreting() -> bool:
    """True when Triton kernels run in the CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def default_device() -> torch.device:
    import torch

    return torch.device("cuda") if has_gpu() else torch.device("cpu")


@dataclass(frozen=True)
class CompileTarget:
    """A GPU that is not here, compiled for by the Triton cache builder (``gpucompare cache build``): its
    compute capability, multiprocessor count and per-block shared memory."""

    capability: tuple[int, int]
    sm_count: int
    shared_bytes: int


_COMPILE_TARGET: list[CompileTarget] = []


@contextlib.contextmanager
def compile_only(target: CompileTarget) -> Iterator[CompileTarget]:
    """While active, ``meta`` tensors stand for tensors on ``target`` (``compute_capability`` answers for it,
    :func:`on_gpu` is True for them), so the kernel wrappers run their GPU path and Triton compiles without a
    GPU. Used only by the cache builder, in a process with the interpreter off."""
    _COMPILE_TARGET.append(target)
    try:
        yield target
    finally:
        _COMPILE_TARGET.pop()


def compile_target() -> CompileTarget | None:
    """The target of an active :func:`compile_only`, else None."""
    return _COMPILE_TARGET[-1] if _COMPILE_TARGET else None


def on_gpu(t: torch.Tensor) -> bool:
    """True for a CUDA tensor, and for a ``meta`` tensor while :func:`compile_only` is active: the one test
    the kernel wrappers use to choose their GPU path."""
    return t.device.type == "cuda" or (t.device.type == "meta" and compile_target() is not None)


def compute_capability(device: torch.device | str | None = None) -> tuple[int, int] | None:
    """(major, minor) of a CUDA device, or None on the CPU (the compile-only target's for ``cuda`` and
    ``meta`` devices while :func:`compile_only` is active)."""
    import torch

    target = compile_target()
    if target is not None and torch.device(device or "cuda").type in ("cuda", "meta"):
        return target.capability
    if not has_gpu():
        return None
    dev = torch.device(device) if device is not None else torch.device("cuda")
    if dev.type != "cuda":
        return None
    return torch.cuda.get_device_capability(dev)


def supports_fp8(device: torch.device | str | None = None) -> tuple[bool, str]:
    """Whether fp8 e4m3 matmuls can run on ``device``; the reason when not."""
    cc = compute_capability(device)
    if cc is None:
        return False, "fp8 e4m3 GEMM needs a CUDA GPU with compute capability >= 8.9 (no GPU here)"
    if cc < (8, 9):
        return False, f"fp8 e4m3 GEMM needs compute capability >= 8.9, this GPU is {cc[0]}.{cc[1]}"
    import torch

    if not hasattr(torch, "float8_e4m3fn"):
        return False, "this torch build has no float8_e4m3fn dtype"
    return True, ""


def supports_bf16(device: torch.device | str | None = None) -> tuple[bool, str]:
    """Whether bf16 tensor-core math is available (Ampere and newer), with the reason when not."""
    cc = compute_capability(device)
    if cc is None:
        return True, ""  # torch computes bf16 on the CPU; Triton's interpreter needs care (see kernels)
    if cc < (8, 0):
        return False, f"bf16 needs compute capability >= 8.0, this GPU is {cc[0]}.{cc[1]}"
    return True, ""
