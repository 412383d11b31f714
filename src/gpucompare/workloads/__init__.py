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

Importing this package does no work beyond building the records: kernel modules are imported when an
implementation is asked or built, and Triton's interpreter is switched on by
:func:`gpucompare.hw.configure_triton` (called by the ``gpucompare.kernels`` package and the entry points).
"""

from gpucompare.workloads.availability import dtype_supported
from gpucompare.workloads.base import INTENTS, TIERS, Impl, Params, Shape, Workload, element_bytes
from gpucompare.workloads.registry import FAMILIES, WORKLOADS, get_workload, select_workloads

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
