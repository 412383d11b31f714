"""Collective communication on ``torch.distributed``: all-reduce, all-gather, reduce-scatter, all-to-all,
broadcast and a point-to-point send/recv between ranks 0 and 1.

Math (``n`` ranks, rank ``r`` holding ``x_r``; chunks ``x_r[j]`` are the ``n`` equal slices of ``x_r``):

- all-reduce: every rank ends with ``Σ_r x_r`` (in place, as NCCL and gloo do);
- all-gather: every rank ends with ``concat_r x_r``;
- reduce-scatter: rank ``r`` ends with ``Σ_j x_j[r]``;
- all-to-all: rank ``r`` ends with ``concat_j x_j[r]``;
- broadcast: every rank ends with ``x_0`` (in place);
- send/recv: rank 1 receives ``x_0`` (ranks past 1 take no part).

There is no Triton implementation: a collective is the communication library's (NCCL on CUDA GPUs, gloo
on the CPU) and torch.distributed is the one way in. Each function takes its buffers ready-made (the
timed call allocates nothing) and returns the output buffer. ``torch_available(dtype, device)`` says
whether a collective can run here: a process group must be initialised (a launch by ``torchrun``).
The byte counts and bus-bandwidth factors are defined in ``gpucompare.workloads.collective``, not here.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpucompare.dtypes import STORAGE_FLOATS

DTYPE_NAMES = tuple(d for d in STORAGE_FLOATS if d in ("fp32", "bf16"))
#: The one line every non-distributed run shows for a skipped collective.
NOT_LAUNCHED = (
    "collectives need a distributed launch: torchrun --nproc-per-node N -m gpucompare run --only collective "
    "(or gpucompare run --nproc N --only collective)"
)


def _gather_fn():
    # torch >= 2.13 names it all_gather_single; older releases (the GPU machines' 2.11) all_gather_into_tensor
    return getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor


def _scatter_fn():
    return getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor


def all_reduce(x: torch.Tensor) -> torch.Tensor:
    """``x ← Σ_r x_r`` over every rank (in place); returns ``x``."""
    dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x


def all_gather(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``out ← concat_r x_r`` (``out`` has ``n × x.numel()`` elements); returns ``out``."""
    _gather_fn()(out, x)
    return out


def reduce_scatter(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``out ← Σ_j x_j[rank]`` (``x`` has ``n × out.numel()`` elements); returns ``out``."""
    _scatter_fn()(out, x, op=dist.ReduceOp.SUM)
    return out


def all_to_all(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``out[j] ← x_j[rank]`` for every rank ``j`` (equal chunks); returns ``out``."""
    dist.all_to_all_single(out, x)
    return out


def broadcast(x: torch.Tensor) -> torch.Tensor:
    """``x ← x_0`` on every rank (in place); returns ``x``."""
    dist.broadcast(x, src=0)
    return x


def send_recv(x: torch.Tensor) -> torch.Tensor:
    """Rank 0 sends ``x`` to rank 1, which receives it into its ``x``; other ranks do nothing."""
    rank = dist.get_rank()
    if rank == 0:
        dist.send(x, dst=1)
    elif rank == 1:
        dist.recv(x, src=0)
    return x


def torch_available(dtype: str, device: torch.device | str) -> tuple[bool, str]:
    """Can a collective run ``dtype`` on ``device`` in this process? Needs an initialised process group
    (``torchrun``), a backend for the device (NCCL for CUDA, gloo for the CPU) and fp32 or bf16."""
    if dtype not in DTYPE_NAMES:
        return False, f"collectives are measured in {' and '.join(DTYPE_NAMES)}, not {dtype}"
    if not (dist.is_available() and dist.is_initialized()):
        return False, NOT_LAUNCHED
    dev = torch.device(device)
    backend = str(dist.get_backend()).lower()
    if dev.type == "cuda" and "nccl" not in backend:
        return False, f"process group backend {backend} cannot run collectives on {dev}; NCCL is needed"
    if dev.type == "cpu" and "gloo" not in backend:
        return False, f"process group backend {backend} cannot run collectives on the CPU; gloo is needed"
    return True, ""
