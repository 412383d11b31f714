"""Collective benchmarks: all-reduce, all-gather, reduce-scatter, all-to-all, broadcast, send/recv.

Cases come from ``gpucompare.measure.runner.plan`` for the chosen tier (see bench/conftest.py). A pytest
process is not a distributed launch, so every case is skipped with the reason; the collectives are
measured by ``torchrun --nproc-per-node N -m gpucompare run --only collective``.
"""

from __future__ import annotations

BENCH_WORKLOADS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast", "send_recv")


def test_collective(case, measure_case):
    measure_case(case)
