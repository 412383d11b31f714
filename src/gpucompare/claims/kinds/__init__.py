"""The claim kinds, one module each, and the registry ``kind name -> Kind`` (parser and checker).

Adding a kind: write its module (a ``Relation`` subclass, ``parse``, ``check`` and ``KIND``) and add it
to the tuple below (which also orders :data:`KINDS` in messages).
"""

from __future__ import annotations

from types import MappingProxyType

from gpucompare.claims.kinds import classification, count, ordering, qualitative, ratio, regulatory
from gpucompare.claims.types import Kind

REGISTRY: MappingProxyType[str, Kind] = MappingProxyType(
    {m.KIND.name: m.KIND for m in (ratio, ordering, classification, regulatory, qualitative, count)}
)
#: The kind names, in registry order.
KINDS: tuple[str, ...] = tuple(REGISTRY)
