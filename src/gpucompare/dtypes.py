"""The one dtype table: every module that names a dtype (specs, workloads, kernels, device, runner, tests)
reads it from here.

Columns:
* ``torch_name``: the torch storage dtype (``tf32`` is stored as ``float32``); None where torch has no
  storage dtype the suite uses (fp4, int8 are spec-only).
* ``bytes``: storage bytes per element (what the byte counts of the workloads use).
* ``bits``: the bit length the ECCN 3A090 TPP formula multiplies by (tf32 counts as a 32-bit operation).
* ``min_cc``: the lowest CUDA compute capability with tensor-core (or native) math for it; None = any.
* ``low_precision``: a result in this dtype is checked against the PyTorch baseline's own error too.
* ``measured``: the benchmark suite has kernels for it (the spec database knows every dtype).

No torch import here: the spec database and the CLI's fast paths use this table without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class DType:
    name: str
    torch_name: str | None
    bytes: float
    bits: int
    min_cc: tuple[int, int] | None
    low_precision: bool
    measured: bool


_TABLE: tuple[DType, ...] = (
    DType("fp64", "float64", 8, 64, None, False, False),
    DType("fp32", "float32", 4, 32, None, False, True),
    DType("tf32", "float32", 4, 32, (8, 0), False, True),
    DType("bf16", "bfloat16", 2, 16, (8, 0), True, True),
    DType("fp16", "float16", 2, 16, None, True, True),
    DType("fp8", "float8_e4m3fn", 1, 8, (8, 9), True, True),
    DType("fp4", None, 0.5, 4, (10, 0), True, False),
    DType("int8", None, 1, 8, (7, 5), True, False),
)

TABLE: MappingProxyType[str, DType] = MappingProxyType({d.name: d for d in _TABLE})
#: Every dtype the spec database knows, in its order.
DTYPES: tuple[str, ...] = tuple(TABLE)
#: Bit length per dtype for the TPP formula.
BITS: MappingProxyType[str, int] = MappingProxyType({d.name: d.bits for d in _TABLE})
#: The dtypes the benchmark suite measures (kernels exist for them).
MEASURED_DTYPES: tuple[str, ...] = tuple(d.name for d in _TABLE if d.measured)
#: The distinct float storage dtypes the elementwise, GEMM and attention kernels accept (tf32 is fp32 storage
#: with a compute mode; fp8 has entry points of its own).
STORAGE_FLOATS: tuple[str, ...] = tuple(
    d.name for d in _TABLE if d.measured and d.bytes >= 2 and d.name != "tf32"
)
#: Dtypes whose results are also held to the PyTorch baseline's own error.
LOW_PRECISION: tuple[str, ...] = tuple(d.name for d in _TABLE if d.low_precision and d.measured)


def get(name: str) -> DType:
    """The table row for ``name``; ``ValueError`` naming the known dtypes otherwise."""
    try:
        return TABLE[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dtype {name!r}; known: {', '.join(DTYPES)}") from None


def torch_dtype(name: str) -> torch.dtype:
    """The torch storage dtype for a dtype name (tf32 is stored as float32).

    ``ValueError`` for a name not in the table, or one torch (this build) cannot store.
    """
    import torch

    row = get(name)
    dt: Any = getattr(torch, row.torch_name, None) if row.torch_name else None
    if dt is None:
        storable = [d.name for d in _TABLE if d.torch_name and getattr(torch, d.torch_name, None) is not None]
        raise ValueError(f"unsupported dtype {name!r}; known: {', '.join(storable)}")
    return dt


def name_of(dtype: torch.dtype) -> str:
    """The table name of a torch storage dtype (float32 -> 'fp32', never 'tf32')."""
    text = str(dtype).removeprefix("torch.")
    for d in _TABLE:
        if d.torch_name == text:
            return d.name
    raise ValueError(f"torch dtype {dtype} is not in the dtype table")
