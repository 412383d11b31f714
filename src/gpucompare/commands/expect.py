"""gpucompare expect: what a healthy chip should reach on each workload (GEMM per dtype, attention, decode,
copy, all-reduce bus bandwidth per size), with the band from validation and the evidence behind each figure.

The question users of nccl-tests, nvbandwidth and MAMF ask: "what number should I see?". The figures are
PROJECTIONS of the calibrated model (``gpucompare.expect``), never measurements."""

from __future__ import annotations

import argparse
import json

from gpucompare import console, fmt


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "expect",
        help="what a healthy chip should reach per workload, with its band and evidence",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
    )
    p.add_argument("chip", metavar="CHIP", help="chip id, alias or driver device name (e.g. H200, h100-sxm)")
    p.add_argument("--json", action="store_true", help="print the expectations as JSON")
    p.set_defaults(func=run)


def _band(e) -> str:
    if e.low is None or e.high is None:
        return "-"
    return f"{fmt.number(e.low, 3)}–{fmt.number(e.high, 3)}"


def table(rows: list) -> console.Table:
    """The expectations as a terminal table: value and band in the row's unit."""
    t = console.Table(
        "workload",
        console.Column("shape", wrap=True),
        "dtype",
        console.Column("expected", "right"),
        console.Column("band", "right"),
        "unit",
    )
    for e in rows:
        value = "-" if e.value is None else fmt.number(e.value, 4)
        t.add_row(e.workload, e.shape, e.dtype, value, _band(e), e.unit or "-")
    return t


def notes(rows: list) -> list[console.Block]:
    """Under the table: where each band comes from (once per kind) and the evidence of each figure."""
    bands: dict[str, list[str]] = {}
    for e in rows:
        bands.setdefault(e.band, []).append(f"{e.workload} {e.dtype}")
    out: list[console.Block] = ["", "Band from:"]
    out += [console.Wrapped(f"- {', '.join(dict.fromkeys(w))}: {b}", 2) for b, w in bands.items()]
    out += ["", "Evidence:"]
    out += [
        console.Wrapped(f"- {e.workload} {e.dtype} {e.shape}: {e.evidence}", 2) for e in rows if e.evidence
    ]
    return out


def run(args: argparse.Namespace) -> int:
    from gpucompare.expect import expectations
    from gpucompare.specs import load_chips

    db = load_chips()
    chip = db.get(args.chip)
    rows = expectations(chip.id, db)
    if args.json:
        print(
            json.dumps({"chip": chip.id, "kind": "projected", "rows": [e.to_dict() for e in rows]}, indent=2)
        )
        return 0
    console.echo(
        console.Wrapped(
            f"{chip.id}: what a healthy chip should reach (PROJECTED by the calibrated model from published "
            "figures; band: the model's leave-one-chip-out error). A run below the band: check clocks, power "
            "and temperature (`gpucompare report` sets every stored run against these bands)."
        ),
        "",
        table(rows),
        *notes(rows),
    )
    return 0
