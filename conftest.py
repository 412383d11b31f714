"""Shared pytest set-up for tests/ and bench/: GPU-only tests skip, with the reason, on a CPU machine."""

from __future__ import annotations

import pytest

from gpucompare.hw import configure_triton, has_gpu

# Before anything imports triton (torch.utils.flop_counter does): no GPU -> Triton's interpreter.
configure_triton()


def pytest_collection_modifyitems(config, items):
    if has_gpu():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; this machine has none (CPU fallback)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
