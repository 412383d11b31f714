"""The benchmark options work from the repository root (issue 12: the README's ``pytest --tier cpu`` failed with
"unrecognized arguments", the options being registered only under bench/), and ``--tier gpu`` on a machine
without a GPU is refused with one usage error instead of running for minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gpucompare.hw import has_gpu

ROOT = Path(__file__).resolve().parents[1]


def _pytest(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_bench_options_are_known_from_the_root():
    proc = _pytest("--tier", "cpu", "--workloads", "copy", "--dtypes", "fp32", "tests/test_foundation.py")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "unrecognized arguments" not in proc.stderr


@pytest.mark.skipif(has_gpu(), reason="checks the refusal on a machine without a GPU")
def test_tier_gpu_without_a_gpu_is_a_usage_error():
    proc = _pytest("--tier", "gpu", "tests/test_foundation.py")
    assert proc.returncode == 4  # pytest's usage error
    assert "--tier gpu needs a CUDA GPU and this machine has none; use --tier cpu" in proc.stderr
