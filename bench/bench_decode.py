"""Decode attention benchmarks: one query token per sequence over a KV cache (memory-bound).

Cases come from ``gpucompare.measure.runner.plan`` for the chosen tier (see bench/conftest.py).
"""

from __future__ import annotations

BENCH_WORKLOADS = ("decode_attention",)


def test_decode_attention(case, measure_case):
    measure_case(case)
