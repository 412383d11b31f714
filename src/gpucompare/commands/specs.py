"""``gpucompare specs``: the chip database as a table or JSON; ``--match NAME`` resolves a name to a chip id.

Exit status: 0 on success; 2 for an unknown chip (candidates on stderr) or a malformed database.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gpucompare import console
from gpucompare.commands import bounded_int, positive_number
from gpucompare.errors import SpecError
from gpucompare.specs import DTYPES, Chip, load_chips

TABLE_PEAKS = ("bf16", "fp8", "fp4")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "specs",
        help="show the chip spec database (table or --json), or resolve a name with --match",
        description="Show the sourced chip spec database: dense peaks, memory, bandwidth, interconnect, "
        "TDP and the derived export-control figures (TPP, performance density, ECCN 3A090).",
    )
    p.add_argument(
        "chips", nargs="*", metavar="CHIP", help="only these chips (id, alias or driver device name)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per chip")
    p.add_argument(
        "--match", metavar="NAME", help="print the id of the chip NAME resolves to (exit 2 if none)"
    )
    p.add_argument(
        "--sm-count",
        type=bounded_int(1, 100_000),
        metavar="N",
        help="with --match: the SM count the device reports",
    )
    p.add_argument(
        "--memory-gb",
        type=positive_number,
        metavar="GB",
        help="with --match: the device memory (bytes / 1e9)",
    )
    p.add_argument("--file", type=Path, metavar="TOML", help="validate and show another chips.toml")
    p.set_defaults(func=run)


def _fmt(value: float | None, status: str = "known") -> str:
    if status == "unsupported":
        return "-"
    if status == "none":
        return "none"
    if value is None:
        return "?"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _row(chip: Chip) -> list[str]:
    tpp = chip.tpp
    tpp_s = "?" if tpp is None else ("≥" if chip.tpp_is_lower_bound else "") + f"{tpp:,.0f}"
    pd = chip.performance_density
    return [
        chip.id,
        chip.vendor,
        "?" if chip.launch_year is None else str(chip.launch_year),
        *[_fmt(chip.peak_tflops[d], chip.peak_status(d)) for d in TABLE_PEAKS],
        _fmt(chip.memory_gb),
        _fmt(chip.bandwidth_tbps),
        _fmt(chip.interconnect_gbps, chip.interconnect),
        _fmt(chip.tdp_w),
        tpp_s,
        "?" if pd is None else f"{pd:.2f}",
        chip.eccn_3a090 or "?",
        chip.confidence or "-",
    ]


_HEADERS = ("id", "vendor", "year", *TABLE_PEAKS, "mem GB", "TB/s", "link GB/s", "TDP W", "TPP", "PD", "3A090",
            "confidence")  # fmt: skip


def table(chips: list[Chip]) -> list[console.Block]:
    """The chips as a table and its legend (peaks dense TFLOP/s; '?' unknown, '-' unsupported)."""
    rows = console.Table(*(console.Column(h, "left" if i < 2 else "right") for i, h in enumerate(_HEADERS)))
    for chip in chips:
        rows.add_row(*_row(chip))
    return [
        rows,
        "",
        "Peaks: dense TFLOP/s. '?' unknown, '-' unsupported, 'none' no NVLink-class link. "
        "TPP = max dense TOPS x bits ('≥': some peaks unknown); PD = TPP / die mm^2.",
        f"Dtypes in --json: {', '.join(DTYPES)}; every figure there carries its source and confidence.",
    ]


def run(args: argparse.Namespace) -> int:
    db = load_chips(args.file)
    if args.match is not None:
        if args.chips:
            raise SpecError("--match takes one NAME; do not also list chips")
        if args.sm_count is not None or args.memory_gb is not None:
            if args.memory_gb is not None and args.memory_gb <= 0:
                raise SpecError(f"--memory-gb must be positive, got {args.memory_gb}")
            m = db.match_device(args.match, sm_count=args.sm_count, memory_gb=args.memory_gb)
            if m.chip is None:
                raise SpecError(m.reason)
            chip = m.chip
        else:
            chip = db.get(args.match)
            why = db.why(args.match)
            if why:  # which part a name shared with other parts picks, and why (stderr: stdout stays the id)
                print(f"gpucompare: note: {why}", file=sys.stderr)
        print(json.dumps(chip.to_dict(), indent=2) if args.json else chip.id)
        return 0
    if args.sm_count is not None or args.memory_gb is not None:
        raise SpecError("--sm-count and --memory-gb only make sense with --match NAME")
    chips = [db.get(n) for n in args.chips] if args.chips else list(db.chips)
    if args.json:
        print(json.dumps([c.to_dict() for c in chips], indent=2))
    else:
        console.echo(*table(chips))
    return 0
