"""``gpucompare compare A B``: ratios of chip A over chip B per spec basis (bf16, fp8, tpp, bandwidth,
memory, interconnect). ``--json`` prints ``{"a": ..., "b": ..., "spec": [...]}``; a ``workloads`` list
(projected per-workload ratios) is meant to sit beside ``spec``.
"""

from __future__ import annotations

import argparse
import json

from gpucompare.specs import BasisRatio, Chip, get_chip, spec_ratios


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="ratios of chip A over chip B per spec basis",
        description="Compare two chips of the spec database: A/B on bf16, fp8, TPP, bandwidth, memory, "
        "interconnect. A basis with an unknown or unsupported value gives no ratio and says why.",
    )
    p.add_argument("a", metavar="A", help="chip id, alias or driver device name (numerator)")
    p.add_argument("b", metavar="B", help="chip id, alias or driver device name (denominator)")
    p.add_argument("--json", action="store_true", help="print a JSON object with a 'spec' list")
    p.set_defaults(func=run)


def _chip_ref(chip: Chip) -> dict:
    return {"id": chip.id, "name": chip.name, "confidence": chip.confidence}


def _num(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def format_ratios(a: Chip, b: Chip, ratios: list[BasisRatio]) -> str:
    lines = [f"{a.id} / {b.id}  (A over B; dense peaks)", ""]
    head = ("basis", "unit", "A", "B", "A/B")
    rows = [head] + [
        (r.basis, r.unit, _num(r.a_value), _num(r.b_value), "n/a" if r.ratio is None else f"{r.ratio:.2f}x")
        for r in ratios
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for k, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i]) for i in range(len(head))]
        line = "  ".join(cells)
        if k > 0 and ratios[k - 1].reason:
            line += f"  ({ratios[k - 1].reason})"
        lines.append(line.rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    a, b = get_chip(args.a), get_chip(args.b)
    ratios = spec_ratios(a, b)
    if args.json:
        print(
            json.dumps(
                {"a": _chip_ref(a), "b": _chip_ref(b), "spec": [r.to_dict() for r in ratios]}, indent=2
            )
        )
    else:
        print(format_ratios(a, b, ratios))
    return 0
