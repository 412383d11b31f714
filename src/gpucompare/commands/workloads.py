"""``gpucompare workloads [--json] [--tier cpu|gpu] [--floor CHIP [--dtype D]]``: the registry, with each shape's
FLOP and byte counts.

The table shows, per shape, GFLOP, the minimum MB moved in the workload's first dtype and the arithmetic
intensity (FLOP per byte). ``--json`` prints every workload with its implementations and, per tier and
shape, the parameters, ``flops``, ``bytes`` (first dtype) and ``bytes_by_dtype``. Nothing is run.

``--floor CHIP`` adds the two-number floor of every shape on that chip (the first step of any tuning): the
compute time ``F / P(dtype)``, the memory time ``B / BW`` and their maximum, from the spec database through
the model's one roofline (``model.project_work`` at efficiency 1), never re-derived here.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from gpucompare import console
from gpucompare.commands import name
from gpucompare.errors import GpucompareError
from gpucompare.hw import TIERS

if TYPE_CHECKING:  # the registry imports torch: loaded when the command runs, not for --help
    from gpucompare.workloads import Workload


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


def floor(workload: Workload, shape: Any, dtype: str, chip: Any) -> dict[str, Any]:
    """The two-number floor of one shape on ``chip``: compute time, memory time, their max and the bound."""
    from gpucompare.model import project_work

    if workload.intent == "communication":
        reason = "a collective: its floor is the link (gpucompare.model.comm), not F/P or B/BW"
        return {"status": "unknown", "reason": reason, "compute_s": None, "memory_s": None, "floor_s": None,
                "bound": None}  # fmt: skip
    f, b = workload.flops(shape), workload.bytes(shape, dtype)
    status, reason, t_floor, bound = project_work(f, b, dtype, chip, 1.0, 1.0)
    t_c = project_work(f, 0, dtype, chip, 1.0, 1.0)[2] if status == "ok" else None
    t_m = project_work(0, b, dtype, chip, 1.0, 1.0)[2] if status == "ok" else None
    return {"status": status, "reason": reason, "compute_s": t_c, "memory_s": t_m, "floor_s": t_floor,
            "bound": bound}  # fmt: skip


def _micro(seconds: float) -> str:
    return f"{seconds * 1e6:.4g}"


def _floor_table(
    workloads: list[Workload], tiers: tuple[str, ...], chip: Any, dtype: str | None
) -> list[console.Block]:
    times = [console.Column(h, "right", fmt=_micro) for h in ("F/P us", "B/BW us", "floor us")]
    bound = console.Column("bound", wrap=True)
    table = console.Table("workload", "tier", "shape", "dtype", *times, bound, indent=2)
    for w in workloads:
        for d in [dtype] if dtype else [w.dtypes[0]]:
            if d not in w.dtypes:
                continue
            for tier in tiers:
                for s in w.shapes(tier):
                    r = floor(w, s, d, chip)
                    times = [r["compute_s"], r["memory_s"], r["floor_s"]]
                    why = r["bound"] if r["status"] == "ok" else f"{r['status']}: {r['reason']}"
                    table.add_row(w.name, tier, s.label, d, *times, why)
    return [f"two-number floor on {chip.id} (spec peaks, efficiency 1): max(F / P, B / BW)", "", table]


def _table(workloads: list[Workload], tiers: tuple[str, ...]) -> list[console.Block]:
    blocks: list[console.Block] = []
    for w in workloads:
        impls = ", ".join(f"{i.name}{' (baseline)' if i.baseline else ''}" for i in w.impls)
        first = w.dtypes[0]
        table = console.Table(
            "tier",
            "shape",
            console.Column("GFLOP", "right", fmt=".4g"),
            console.Column(f"MB ({first})", "right", fmt=".4g"),
            console.Column("FLOP/B", "right", fmt=".3g"),
            indent=2,
        )
        for tier in tiers:
            for s in w.shapes(tier):
                f, b = w.flops(s), w.bytes(s, first)
                table.add_row(tier, s.label, f / 1e9, b / 1e6, f / b)
        blocks += [
            f"{w.name}  [{w.family}, {w.intent}-bound]  {w.description}",
            f"  dtypes: {', '.join(w.dtypes)} (cpu: {', '.join(w.cpu_dtypes)})   impls: {impls}",
            table,
            "",
        ]
    return blocks[:-1]


def run(args: argparse.Namespace) -> int:
    from gpucompare.workloads import WORKLOADS

    tiers = (args.tier,) if args.tier else TIERS
    workloads = list(WORKLOADS.values())
    chip = None
    if args.floor:
        from gpucompare.specs import get_chip

        chip = get_chip(args.floor)
        if args.dtype and not any(args.dtype in w.dtypes for w in workloads):
            raise GpucompareError(f"unknown dtype {args.dtype!r} for --floor")
    if args.json:
        out = {"workloads": [describe(w, tiers) for w in workloads]}
        if chip is not None:
            out["floor"] = {"chip": chip.id, "dtype": args.dtype, "rows": [
                {"workload": w.name, "tier": t, "shape": s.label, "dtype": d, **floor(w, s, d, chip)}
                for w in workloads for d in ([args.dtype] if args.dtype else [w.dtypes[0]]) if d in w.dtypes
                for t in tiers for s in w.shapes(t)
            ]}  # fmt: skip
        print(json.dumps(out, indent=2))
    elif chip is not None:
        console.echo(*_floor_table(workloads, tiers, chip, args.dtype))
    else:
        console.echo(*_table(workloads, tiers))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "workloads",
        help="list the workloads: shapes per tier, FLOP and byte counts, implementations",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--tier", choices=TIERS, help="only this tier's shapes (default: all)")
    parser.add_argument(
        "--floor", type=name, metavar="CHIP", help="add each shape's two-number floor on this chip"
    )
    parser.add_argument("--dtype", type=name, help="with --floor: the dtype (default: each workload's first)")
    parser.set_defaults(func=run)
