"""The ``claims`` fixture: the packaged claims by id (helpers are in ``claims_helpers.py``)."""

from __future__ import annotations

import pytest

from gpucompare.claims import Claim, load_claims


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    return {c.id: c for c in load_claims()}
