"""Shared pytest set-up for tests/ and bench/: GPU-only tests skip, with the reason, on a CPU machine; the
benchmark options (``--tier``, ``--workloads``, ``--dtypes``, ``--results-dir``, used by ``bench/conftest.py``)
are registered here, at the repository root, so ``pytest --tier cpu`` works from the root as the README says.
"""

from __future__ import annotations

import pytest

from gpucompare.hw import TIERS, configure_triton, has_gpu
from gpucompare.results import DEFAULT_ROOT

# Before anything imports triton (torch.utils.flop_counter does): no GPU -> Triton's interpreter.
configure_triton()


def pytest_addoption(parser):
    group = parser.getgroup("gpucompare", "gpucompare benchmarks (bench/)")
    group.addoption(
        "--tier",
        choices=TIERS,
        default=None,
        help="shape tier: cpu (tiny) or gpu (real sizes, needs a GPU); default gpu if a GPU is present",
    )
    group.addoption(
        "--workloads",
        default=None,
        metavar="W1,W2",
        help="only these workloads or families (comma-separated)",
    )
    group.addoption("--dtypes", default=None, metavar="D1,D2", help="only these dtypes (comma-separated)")
    group.addoption(
        "--results-dir",
        default=str(DEFAULT_ROOT),
        metavar="DIR",
        help=f"where the run folder is written (default: {DEFAULT_ROOT})",
    )


def pytest_configure(config):
    if config.getoption("tier", None) == "gpu" and not has_gpu():
        raise pytest.UsageError("--tier gpu needs a CUDA GPU and this machine has none; use --tier cpu")


def pytest_collection_modifyitems(config, items):
    if has_gpu():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; this machine has none (CPU fallback)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
