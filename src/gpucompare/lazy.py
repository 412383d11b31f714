"""``torch``, imported on first use: the registry modules that name torch (workloads/, reference.py) import
this stand-in instead, so the commands that only read files (specs, claims, compare, published, workloads,
validate, predict, report) never pay the ~1.2 s of ``import torch`` (issue 22 item 9).

Each attribute is fetched from the real module once, then kept on the stand-in: later lookups cost what a
module's attribute does (the kernels' timed loops see no difference).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """A module imported when one of its attributes is first read."""

    def __init__(self, name: str):
        super().__init__(name)

    def __getattr__(self, attr: str) -> Any:  # only called for attributes not yet kept
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self.__name__), attr)
        setattr(self, attr, value)
        return value


torch: Any = LazyModule("torch")
