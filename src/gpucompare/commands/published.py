"""``gpucompare published``: the ledger of published measurements (what others measured, with sources).

Every row is labelled *published* and carries its source and the exact place in it: these figures were read
in the sources, never measured here. Exit status: 0; 2 for an unknown chip or workload, or a malformed ledger.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gpucompare.errors import GpucompareError
from gpucompare.specs.db import load_chips
from gpucompare.specs.published import PublishedEntry, load_published

UNITS = {"tflops": "TFLOP/s", "gbps": "GB/s", "time_s": "s", "tokens_per_s": "tokens/s"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "published",
        help="list the ledger of published measurements (figures others measured, with their sources)",
        description="List the ledger of published measurements: achieved GEMM, attention, bandwidth and "
        "collective figures others published, each with its source, the exact place in it and a confidence. "
        "None of these was measured by gpucompare.",
    )
    p.add_argument("--chip", metavar="CHIP", help="only this chip (id, alias or driver device name)")
    p.add_argument("--workload", metavar="W", help="only this workload (gemm, attention_fwd, copy, ...)")
    p.add_argument("--group", metavar="G", help="only this group (one script or harness)")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per entry")
    p.add_argument("--file", type=Path, metavar="TOML", help="validate and list another ledger file")
    p.set_defaults(func=run)


def _shape(e: PublishedEntry) -> str:
    return ",".join(f"{k}={v}" for k, v in e.shape.items())


def _value(e: PublishedEntry) -> str:
    return f"{e.value:g} {UNITS[e.metric]}"  # as published (up to 6 significant digits)


def _use(e: PublishedEntry) -> str:
    return "yes" if e.representative else "UNREPRESENTATIVE"


def format_table(entries: list[PublishedEntry]) -> str:
    """A plain-text listing: one line of figures per entry, then its source and place (published)."""
    head = [
        "id",
        "chip",
        "workload",
        "dtype",
        "shape",
        "published value",
        "group",
        "implementation",
        "evidence",
    ]
    rows = [head] + [
        [e.id, e.chip, e.workload, e.dtype, _shape(e), _value(e), e.group, e.implementation, _use(e)]
        for e in entries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for k, r in enumerate(rows):
        cells = [c.rjust(w) if i == 5 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
        else:
            e = entries[k - 1]
            extra = f"; derived: {e.derived}" if e.derived else ""
            lines.append(f"    {e.evidence}{extra}")
    lines.append("")
    lines.append(
        f"{len(entries)} published figure(s): read in the sources named, NOT measured by gpucompare. "
        "Compare figures within one group (same script or harness)."
    )
    bad = sum(not e.representative for e in entries)
    if bad:
        lines.append(
            f"{bad} of them UNREPRESENTATIVE (their source reports a regression, a bug or a low figure): listed, "
            "never efficiency evidence unless --include-unrepresentative is given to predict/validate."
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    entries = load_published(args.file)
    if args.chip is not None:
        chip_id = load_chips().get(args.chip).id
        entries = [e for e in entries if e.chip == chip_id]
    if args.workload is not None:
        known = sorted({e.workload for e in load_published(args.file)})
        from gpucompare.workloads import WORKLOADS

        if args.workload not in WORKLOADS and args.workload not in known:
            raise GpucompareError(
                f"unknown workload {args.workload!r}; known: {', '.join(sorted(set(WORKLOADS) | set(known)))}"
            )
        entries = [e for e in entries if e.workload == args.workload]
    if args.group is not None:
        entries = [e for e in entries if e.group == args.group]
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
    else:
        print(format_table(entries))
    return 0
