"""The workloads: what is measured, at which sizes, and how much work each size is.

A :class:`Workload` is a frozen record: a name, an operator family (``gemm``, ``attention``, ``bandwidth``),
an intent (``compute`` or ``memory`` bound by design), the dtypes it supports, shape tiers (``cpu``: tiny,
odd sizes that run in seconds in Triton's interpreter; ``gpu``: real model sizes), its implementations
(zero-argument closures built from prepared inputs, so setup is never timed; exactly one PyTorch/vendor
``baseline``), a seeded input builder and a reference from :mod:`gpucompare.reference`.

Layout: :mod:`.base` (the records and their validation), :mod:`.availability` (the dtype and device checks,
the lazy kernel-module import), one module per kernel family, each with its cost model in its docstring
(:mod:`.gemm`, :mod:`.attention`, :mod:`.decode`, :mod:`.bandwidth`), and :mod:`.registry`, which lists the
family modules. ``Impl.available`` is called as ``available(dtype, device)`` or, better,
``available(dtype, device, shape)``: with the shape it also refuses sizes that cannot fit.
"""

from gpucompare import hw

# Triton reads TRITON_INTERPRET when it is imported (triton.language's helpers are jitted then): set it now,
# before a caller imports something that imports triton (torch.utils.flop_counter does). No-op with a GPU.
hw.configure_triton()

from gpucompare.workloads.availability import dtype_supported  # noqa: E402
from gpucompare.workloads.base import INTENTS, TIERS, Impl, Params, Shape, Workload, element_bytes  # noqa: E402
from gpucompare.workloads.registry import FAMILIES, WORKLOADS, get_workload, select_workloads  # noqa: E402

__all__ = [
    "FAMILIES",
    "INTENTS",
    "TIERS",
    "WORKLOADS",
    "Impl",
    "Params",
    "Shape",
    "Workload",
    "dtype_supported",
    "element_bytes",
    "get_workload",
    "select_workloads",
]
