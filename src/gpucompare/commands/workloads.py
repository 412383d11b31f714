"""``gpucompare workloads [--json] [--tier cpu|gpu]``: the registry, with each shape's FLOP and byte counts.

The table shows, per shape, GFLOP, the minimum MB moved in the workload's first dtype and the arithmetic
intensity (FLOP per byte). ``--json`` prints every workload with its implementations and, per tier and
shape, the parameters, ``flops``, ``bytes`` (first dtype) and ``bytes_by_dtype``. Nothing is run.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from gpucompare.workloads import TIERS, WORKLOADS, Workload


def describe(workload: Workload, tiers: tuple[str, ...] = TIERS) -> dict[str, Any]:
    """A JSON-ready description of ``workload`` for the given tiers (counts from the workload itself)."""
    out: dict[str, Any] = {
        "name": workload.name,
        "family": workload.family,
        "intent": workload.intent,
        "description": workload.description,
        "dtypes": list(workload.dtypes),
        "cpu_dtypes": list(workload.cpu_dtypes),
        "gpu_dtypes": list(workload.gpu_dtypes if workload.gpu_dtypes is not None else workload.dtypes),
        "impls": [{"name": i.name, "baseline": i.baseline} for i in workload.impls],
        "tiers": {},
    }
    for tier in tiers:
        out["tiers"][tier] = [
            {
                "label": s.label,
                "params": dict(s.params),
                "flops": workload.flops(s),
                "bytes": workload.bytes(s, workload.dtypes[0]),
                "bytes_by_dtype": {d: workload.bytes(s, d) for d in workload.dtypes},
            }
            for s in workload.shapes(tier)
        ]
    return out


def _table(workloads: list[Workload], tiers: tuple[str, ...]) -> str:
    lines: list[str] = []
    for w in workloads:
        impls = ", ".join(f"{i.name}{' (baseline)' if i.baseline else ''}" for i in w.impls)
        lines.append(f"{w.name}  [{w.family}, {w.intent}-bound]  {w.description}")
        lines.append(f"  dtypes: {', '.join(w.dtypes)} (cpu: {', '.join(w.cpu_dtypes)})   impls: {impls}")
        first = w.dtypes[0]
        header = f"  {'tier':4}  {'shape':42} {'GFLOP':>12} {f'MB ({first})':>12} {'FLOP/B':>9}"
        lines.append(header)
        for tier in tiers:
            for s in w.shapes(tier):
                f, b = w.flops(s), w.bytes(s, first)
                lines.append(f"  {tier:4}  {s.label:42} {f / 1e9:12.4g} {b / 1e6:12.4g} {f / b:9.3g}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    tiers = (args.tier,) if args.tier else TIERS
    workloads = list(WORKLOADS.values())
    if args.json:
        print(json.dumps({"workloads": [describe(w, tiers) for w in workloads]}, indent=2))
    else:
        print(_table(workloads, tiers), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "workloads",
        help="list the workloads: shapes per tier, FLOP and byte counts, implementations",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--tier", choices=TIERS, help="only this tier's shapes (default: all)")
    parser.set_defaults(func=run)
