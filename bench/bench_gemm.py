"""GEMM benchmarks: ``gemm`` (compute-bound training/prefill shapes) and ``gemm_decode``
(skinny, memory-bound).

Cases come from ``gpucompare.measure.runner.plan`` for the chosen tier (see bench/conftest.py).
"""

from __future__ import annotations

BENCH_WORKLOADS = ("gemm", "gemm_decode")


def test_gemm(case, measure_case):
    measure_case(case)
