"""Checks of plain values read from files, shared by every loader (specs, ledger, claims, results)."""

from __future__ import annotations

import math
from typing import Any


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool, that fits a float: ``10**400`` is False (where ``math.isfinite``
    raises ``OverflowError``), as are NaN, the infinities, strings and ``True``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
