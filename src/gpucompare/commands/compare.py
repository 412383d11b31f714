"""``gpucompare compare A B``: ratios of chip A over chip B per spec basis (bf16, fp8, tpp, bandwidth,
memory, interconnect) and per workload: measured ratios first (GPU runs made here, same-script pairs of
published figures), then the calibrated projection (``gpucompare.model.headline``), plus the composed
Llama-3-70B-layer steps when GPU runs are stored. ``--json`` prints ``{"a": ..., "b": ..., "spec": [...], "workloads": [...]}``.
"""

from __future__ import annotations

import argparse
import json

from gpucompare import console, fmt
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
    p.add_argument(
        "--json", action="store_true", help="print a JSON object with 'spec' and 'workloads' lists"
    )
    p.add_argument(
        "--runs",
        nargs="+",
        metavar="PATH",
        help="runs whose projections give the per-workload ratios (default: results/runs when present)",
    )
    p.set_defaults(func=run)


def _chip_ref(chip: Chip) -> dict:
    return {"id": chip.id, "name": chip.name, "confidence": chip.confidence}


def _num(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


_times = fmt.times  # 6.69×: the one ratio format (gpucompare.fmt)


def format_ratios(a: Chip, b: Chip, ratios: list[BasisRatio]) -> list[console.Block]:
    table = console.Table(
        "basis",
        "unit",
        *(console.Column(head, "right", fmt=_num, missing="n/a") for head in ("A", "B")),
        console.Column("A/B", "right", fmt=_times, missing="n/a"),
        console.Column("note", wrap=True, drop=1),
    )
    for r in ratios:
        table.add_row(r.basis, r.unit, r.a_value, r.b_value, r.ratio, r.reason or "")
    return [f"{a.id} / {b.id}  (A over B; dense peaks)", "", table]


def format_workload_ratios(a: Chip, b: Chip, rows: list[dict]) -> list[console.Block]:
    if not any(r["basis"].startswith("workload:") for r in rows):
        return ["per-workload ratios: no published pair, stored run or projection for this pair"]
    ratio = console.Column("A/B", "right", fmt=_times, missing="n/a")
    table = console.Table(
        console.Column("workload", wrap=True),
        ratio,
        "evidence",
        console.Column("bound A / B", drop=2),
        console.Column("from", wrap=True, drop=1),
    )
    for r in rows:
        bounds = f"{r.get('bound_a') or '-'} / {r.get('bound_b') or '-'}"
        what = r["basis"].removeprefix("workload:").replace("/", " ").replace(",", ", ")
        table.add_row(what, r["ratio"], r.get("evidence") or "projected", bounds, r.get("detail", ""))
    return [
        f"per workload: speed-up of {a.id} over {b.id} (A/B = t_{b.id} / t_{a.id}); measured (runs made "
        "here, same-script published pairs) before projected (calibrated model)",
        "",
        table,
    ]


def run(args: argparse.Namespace) -> int:
    from gpucompare.model.headline import evidence_ratios

    a, b = get_chip(args.a), get_chip(args.b)
    ratios = spec_ratios(a, b)
    provider = evidence_ratios(args.runs)
    workloads = provider(a, b) if provider else []
    if args.json:
        out = {
            "a": _chip_ref(a),
            "b": _chip_ref(b),
            "spec": [r.to_dict() for r in ratios],
            "workloads": workloads,
        }
        print(json.dumps(out, indent=2))
    else:
        console.echo(*format_ratios(a, b, ratios), "", *format_workload_ratios(a, b, workloads))
    return 0
