"""Memory bandwidth benchmarks: STREAM-style ``copy`` and ``triad``.

Cases come from ``gpucompare.measure.runner.plan`` for the chosen tier (see bench/conftest.py).
"""

from __future__ import annotations

BENCH_WORKLOADS = ("copy", "triad")


def test_bandwidth(case, measure_case):
    measure_case(case)
