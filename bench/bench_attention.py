"""Attention benchmarks: ``attention_fwd`` and ``attention_bwd`` (Triton kernel and the SDPA backends).

Cases come from ``gpucompare.measure.runner.plan`` for the chosen tier (see bench/conftest.py).
"""

from __future__ import annotations

BENCH_WORKLOADS = ("attention_fwd", "attention_bwd")


def test_attention(case, measure_case):
    measure_case(case)
