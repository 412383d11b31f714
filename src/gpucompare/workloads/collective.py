"""Collective workloads (kernels: ``gpucompare.kernels.collective``, on ``torch.distributed``): all-reduce,
all-gather, reduce-scatter, all-to-all, broadcast and send/recv, measured only under a distributed launch
(``torchrun``; see :mod:`gpucompare.measure.distributed`). Not launched so, every case is a skip with the
reason.

Cost model, nccl-tests' own (``src/<op>.cu`` of NVIDIA/nccl-tests: ``*GetCollByteCount`` and ``*GetBw``;
``doc/PERFORMANCE.md``). A shape is the message size ``S`` in bytes, nccl-tests' ``size`` column: the
buffer of all-reduce, broadcast and send/recv, and the larger (whole) buffer of all-gather (output),
reduce-scatter (input) and all-to-all. ``F = 0`` (communication; the reduction's additions are not
counted) and ``B = S``. For ``n`` ranks the chunked collectives move ``c`` elements per rank, ``c`` =
``S / (elt · n)`` rounded down to a multiple of ``16 / elt`` (16-byte chunks, as nccl-tests), so the size
actually moved is ``c · n · elt`` (:func:`message_bytes`; equal to ``S`` for power-of-two ``n``). Then,
for the slowest rank's time ``t``::

    algbw = S / t
    busbw = algbw · factor(n)       all-reduce 2(n-1)/n; all-gather, reduce-scatter, all-to-all (n-1)/n;
                                    broadcast and send/recv 1

``busbw`` is the per-rank bandwidth a ring of point-to-point links would need, comparable across ``n``
with the link's per-direction speed. NVLink SHARP (NVLS, Hopper and Blackwell NVSwitch systems) reduces in
the switch, so an NVLS all-reduce's busbw can exceed the wire; the record keeps the NCCL version and the
algorithm where it is known (``NCCL_ALGO``).

Inputs: quarters ``k / 4`` with ``k`` a random integer in ±[1, 8], plus ``(rank mod 4) / 4`` (standard
deviation about 1, never zero; sums exact in fp32, and in bf16 up to 5 ranks); every rank draws the same
base from the shared seed, so each rank builds the reference of its own output from every rank's input
without communicating. The output buffers are allocated when the closure is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpucompare import dtypes, reference
from gpucompare.lazy import torch
from gpucompare.workloads.availability import kernel
from gpucompare.workloads.base import Params, Shape, Workload, element_bytes, kernel_impl

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
ALIGN_BYTES = 16  # nccl-tests rounds the per-rank chunk down to 16 bytes


@dataclass(frozen=True)
class Op:
    """One collective: its nccl-tests bus-bandwidth factor and whether its buffer is split in n chunks."""

    name: str
    description: str
    chunked: bool
    factor: Callable[[int], float]
    min_ranks: int = 1


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("all_reduce", "every rank gets Σ_r x_r (in place)", False, lambda n: 2 * (n - 1) / n),
        Op("all_gather", "every rank gets concat_r x_r", True, lambda n: (n - 1) / n),
        Op("reduce_scatter", "rank r gets Σ_j x_j[r]", True, lambda n: (n - 1) / n),
        Op("all_to_all", "rank r gets concat_j x_j[r]", True, lambda n: (n - 1) / n),
        Op("broadcast", "every rank gets x_0 (in place)", False, lambda n: 1.0),
        Op("send_recv", "rank 1 receives x_0 (point to point)", False, lambda n: 1.0, min_ranks=2),
    )
}


def _op(name: str) -> Op:
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"unknown collective {name!r}; known: {', '.join(OPS)}") from None


def _check_ranks(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of ranks must be a positive integer, got {n!r}")
    return n


def bus_factor(op: str, n: int) -> float:
    """nccl-tests' busbw / algbw for ``op`` on ``n`` ranks."""
    return float(_op(op).factor(_check_ranks(n)))


def chunk_elements(op: str, size_bytes: int, dtype: str, n: int) -> int:
    """Elements of one rank's chunk (chunked ops) or of the whole buffer, for a message of ``size_bytes``."""
    elt = element_bytes(dtype)
    if not _op(op).chunked:
        return size_bytes // elt
    align = max(1, ALIGN_BYTES // elt)
    return (size_bytes // elt // _check_ranks(n)) // align * align


def message_bytes(op: str, size_bytes: int, dtype: str, n: int) -> int:
    """The size actually moved (nccl-tests' ``size`` column) for a nominal ``size_bytes`` on ``n`` ranks."""
    c = chunk_elements(op, size_bytes, dtype, n)
    return c * element_bytes(dtype) * (_check_ranks(n) if _op(op).chunked else 1)


def bandwidths(op: str, size_bytes: int, seconds: float, n: int) -> tuple[float, float]:
    """(algbw, busbw) in GB/s (1e9 B/s) of moving ``size_bytes`` (:func:`message_bytes`) in ``seconds``."""
    from gpucompare.measure import (
        timing,  # imports torch: only when a rate is computed, not with the registry
    )

    _, algbw = timing.throughput(None, size_bytes, seconds)
    return float(algbw), float(algbw) * bus_factor(op, n)


# ------------------------------------------------------------------------------------------ inputs


def _rank_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _base(count: int, gen: torch.Generator, device: torch.device, dtype: str) -> torch.Tensor:
    """``k / 4`` for random integers ``k`` in ±[1, 8] (never zero, exact in every dtype); the same on every
    rank (shared seed)."""
    mag = torch.randint(1, 9, (count,), generator=gen, device=device)
    sign = torch.randint(0, 2, (count,), generator=gen, device=device) * 2 - 1
    return (mag * sign).to(torch.float32).div_(4).to(dtypes.torch_dtype(dtype))


def rank_input(base: torch.Tensor, rank: int, dtype: str) -> torch.Tensor:
    """Rank ``rank``'s input: ``base + (rank mod 4) / 4`` in the storage dtype."""
    return (base.float() + (rank % 4) / 4).to(dtypes.torch_dtype(dtype))


def _inputs(op: str) -> Callable[[Params, str, torch.device, torch.Generator], dict]:
    def make(p: Params, dtype: str, device: torch.device, gen: torch.Generator) -> dict:
        rank, n = _rank_world()
        c = max(chunk_elements(op, int(p["bytes"]), dtype, n), 1)
        whole = c * n if op in ("reduce_scatter", "all_to_all") else c
        base = _base(whole, gen, device, dtype)
        x = rank_input(base, rank, dtype)
        return {"op": op, "x": x, "base": base, "rank": rank, "world": n, "dtype": dtype}

    return make


def _reference(inputs: dict) -> torch.Tensor:
    return reference.collective_ref(
        inputs["op"],
        lambda j: rank_input(inputs["base"], j, inputs["dtype"]),
        inputs["rank"],
        inputs["world"],
    )


def _build(fn: str) -> Callable[[dict, str], Callable[[], Any]]:
    def build(inputs: dict, dtype: str) -> Callable[[], Any]:
        f = getattr(kernel("collective"), fn)
        work = inputs["x"].clone()  # in-place collectives change their buffer: the inputs stay as made
        n = inputs["world"]
        out_len = {"all_gather": work.numel() * n, "reduce_scatter": work.numel() // n}.get(fn, work.numel())
        if not OPS[fn].chunked:
            return lambda: f(work)
        out = torch.empty(out_len, dtype=work.dtype, device=work.device)
        return lambda: f(out, work)

    return build


def _shape_limits(op: str):
    def extra(mod: Any, dtype: str, device: torch.device, shape: Shape | None) -> tuple[bool, str]:
        _, n = _rank_world()
        if n < _op(op).min_ranks:
            return False, f"{op} needs at least {_op(op).min_ranks} ranks, the job has {n}"
        if shape is not None and chunk_elements(op, int(shape["bytes"]), dtype, n) == 0:
            return False, f"{shape.label} is too small to split into {n} chunks of {ALIGN_BYTES} bytes"
        return True, ""

    return extra


# ------------------------------------------------------------------------------------------ shapes


def _size(nbytes: int) -> Shape:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if nbytes >= scale and nbytes % scale == 0:
            return Shape(f"{nbytes // scale}{unit}", {"bytes": nbytes})
    return Shape(f"{nbytes}B", {"bytes": nbytes})


#: nccl-tests' sweep from 32 KiB to 4 GiB, every 8× (plus 4 GiB itself).
_GPU = tuple(_size(s) for s in (32 * KiB, 256 * KiB, 2 * MiB, 16 * MiB, 128 * MiB, 1 * GiB, 4 * GiB))
_CPU = (_size(4 * KiB), _size(64 * KiB))


def _bytes(p: Params, dtype: str) -> int:
    return int(p["bytes"])


def _flops(p: Params) -> int:
    return 0


def _validate(p: Params) -> None:
    if p["bytes"] % ALIGN_BYTES:
        raise ValueError(f"bytes={p['bytes']} must be a multiple of {ALIGN_BYTES}")


def _workload(op: Op) -> Workload:
    return Workload(
        name=op.name,
        family="collective",
        intent="communication",
        description=f"{op.description} (torch.distributed: NCCL on GPUs, gloo on the CPU)",
        dtypes=("fp32", "bf16"),
        cpu_dtypes=("fp32", "bf16"),
        params=("bytes",),
        tiers={"cpu": _CPU, "gpu": _GPU},
        impls=(
            kernel_impl(
                "torch",
                "collective",
                (op.name,),
                _build(op.name),
                triton=False,
                baseline=True,
                probe="torch_available",
                extra=_shape_limits(op.name),
            ),
        ),
        flops_fn=_flops,
        bytes_fn=_bytes,
        inputs_fn=_inputs(op.name),
        reference_fn=_reference,
        validate_fn=_validate,
    )


WORKLOADS = tuple(_workload(op) for op in OPS.values())
