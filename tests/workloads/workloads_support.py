"""Helpers for the tests of ``gpucompare.workloads`` (``from workloads_support import ...``)."""

from __future__ import annotations

import importlib

import pytest
from torch.utils.flop_counter import FlopCounterMode

REQUIRED = (
    "gemm",
    "gemm_decode",
    "attention_fwd",
    "attention_bwd",
    "decode_attention",
    "copy",
    "triad",
    "all_reduce",
    "all_gather",
    "reduce_scatter",
    "all_to_all",
    "broadcast",
    "send_recv",
)


def kernel_or_skip(name: str):
    try:
        return importlib.import_module(f"gpucompare.kernels.{name}")
    except Exception as exc:  # report, don't fail: the kernel is another module's job
        pytest.skip(f"gpucompare.kernels.{name} not importable: {type(exc).__name__}: {exc}")


def all_shapes(w):
    return [s for shapes in w.tiers.values() for s in shapes]


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()
