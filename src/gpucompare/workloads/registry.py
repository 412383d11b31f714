"""The registry: every workload of every family module, in the order they are listed and run.

A family module (``gpucompare.workloads.<module>``, matching ``gpucompare.kernels.<module>``) defines its
shapes, counts, inputs, reference and implementations, and exports them as ``WORKLOADS``, a tuple of
:class:`~gpucompare.workloads.base.Workload`. Adding a workload in a new family is that module plus its name
in :data:`FAMILY_MODULES`. A workload's ``family`` (the operator family one can select by name) is the
workload's own field, so ``decode_attention`` (module ``decode``) belongs to the ``attention`` family.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from gpucompare.workloads.base import Workload

#: The family modules, in registry order.
FAMILY_MODULES = ("gemm", "attention", "decode", "bandwidth", "collective")


def build_registry(modules: Iterable[str]) -> dict[str, Workload]:
    """``{name: workload}`` of the ``WORKLOADS`` of ``gpucompare.workloads.<module>`` for each module, in
    order; ValueError for a name registered twice."""
    registry: dict[str, Workload] = {}
    for module in modules:
        for w in importlib.import_module(f"gpucompare.workloads.{module}").WORKLOADS:
            if w.name in registry:
                raise ValueError(f"workload {w.name!r} is registered twice (again in module {module!r})")
            registry[w.name] = w
    return registry


WORKLOADS: dict[str, Workload] = build_registry(FAMILY_MODULES)
#: The operator families, in registry order: a name ``select_workloads`` accepts besides a workload's.
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(w.family for w in WORKLOADS.values()))


def get_workload(name: str) -> Workload:
    """The registered workload ``name``; ValueError naming it and the known ones otherwise."""
    try:
        return WORKLOADS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None


def select_workloads(names: Iterable[str]) -> list[Workload]:
    """Workloads named by ``names`` (registry order, no repeats). A name is a workload (``attention_fwd``) or,
    when no workload has it, an operator family (``attention``: attention_fwd, attention_bwd,
    decode_attention); a workload name wins, so ``gemm`` is the workload, not the family.
    ValueError naming the first name that is neither."""
    wanted: set[str] = set()
    for name in names:
        if name in WORKLOADS:
            wanted.add(name)
        elif name in FAMILIES:
            wanted.update(w.name for w in WORKLOADS.values() if w.family == name)
        else:
            raise ValueError(
                f"unknown workload {name!r}; known: {', '.join(WORKLOADS)} "
                f"(or a family: {', '.join(sorted(FAMILIES))})"
            )
    return [w for w in WORKLOADS.values() if w.name in wanted]
