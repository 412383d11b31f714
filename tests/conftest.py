"""Shared fixtures for tests/: the seeded RNG, the device, the dtype parameters.

Helpers that build objects (``make_chip``, ``make_db``) are in ``tests/support.py``: ``from support import ...``
(this file's folder is on ``sys.path`` under pytest).
"""

from __future__ import annotations

import pytest
from support import FLOAT_DTYPES


@pytest.fixture
def seeded():
    """Seed torch's RNG (tests that draw random inputs use it, or it autouse in their module)."""
    import torch

    torch.manual_seed(0)


@pytest.fixture(scope="session")
def device():
    """The device tests run on: the GPU when there is one, else the CPU (Triton's interpreter)."""
    import torch

    from gpucompare.hw import has_gpu

    return torch.device("cuda") if has_gpu() else torch.device("cpu")


@pytest.fixture(params=FLOAT_DTYPES)
def float_dtype(request):
    """Each float dtype name the kernels run everywhere, as a parameter."""
    return request.param
