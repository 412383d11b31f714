"""One problem size of a workload: :class:`Shape`. Its own module so that both
:mod:`gpucompare.workloads.base` and :mod:`gpucompare.workloads.availability` import it without importing
each other (``base`` re-exports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Shape:
    """One problem size: a stable label (unique within its workload) and its parameters."""

    label: str
    params: Mapping[str, int | bool | str]

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label or any(c.isspace() for c in self.label):
            raise ValueError(f"shape label must be a non-empty string without spaces, got {self.label!r}")
        if not isinstance(self.params, Mapping):
            raise ValueError(
                f"shape {self.label!r}: params must be a mapping, got {type(self.params).__name__}"
            )
        params = dict(self.params)
        for key, value in params.items():
            if not isinstance(key, str) or not isinstance(value, (int, bool, str)):
                raise ValueError(
                    f"shape {self.label!r}: parameter {key!r}={value!r} must be str -> int|bool|str"
                )
        object.__setattr__(self, "params", MappingProxyType(params))

    def __hash__(self) -> int:
        return hash((self.label, tuple(sorted(self.params.items()))))

    def __reduce__(self):  # MappingProxyType does not pickle; rebuild from a plain dict
        return (Shape, (self.label, dict(self.params)))

    def __getitem__(self, key: str) -> int | bool | str:
        return self.params[key]
