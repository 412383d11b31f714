"""The claim kinds, one module each, and the registry ``kind name -> Kind`` (parser and checker).

Adding a kind: write its module (a ``Relation`` subclass, ``parse``, ``check`` and ``KIND``) and add it
to the tuple below (which also orders :data:`KINDS` in messages).
"""

from __future__ import annotations

from types import MappingProxyType

from gpucompare.claims.kinds import (
    balance,
    classification,
    count,
    equivalence,
    only,
    ordering,
    qualitative,
    ratio,
    regulatory,
    statement,
)
from gpucompare.claims.types import Kind

_MODULES = (
    ratio,
    ordering,
    classification,
    regulatory,
    only,
    qualitative,
    balance,
    count,
    equivalence,
    statement,
)
REGISTRY: MappingProxyType[str, Kind] = MappingProxyType({m.KIND.name: m.KIND for m in _MODULES})
#: The kind names, in registry order.
KINDS: tuple[str, ...] = tuple(REGISTRY)
