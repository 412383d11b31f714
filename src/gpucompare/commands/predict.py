"""``gpucompare predict CHIP WORKLOAD [--shape k=v,...] [--dtype bf16] [--exclude-chip ID] [--json]``.

The calibrated projection of one workload at one shape on one chip (:func:`gpucompare.model.predict.predict`):
time, TFLOP/s or GB/s, the bound, the evidence it used (published ledger entries with their sources, GPU
runs made here) and its expected error (leave-one-chip-out). ``--json`` prints ``chip, workload, shape,
dtype, time_s, tflops, gbps, bound, evidence, expected_rel_error, expected_p90, expected_n, indicative``
(and the naive projection beside it). An expected error that is not known is printed as such, with no ±.
"""

from __future__ import annotations

import argparse
import json

from gpucompare import console
from gpucompare.commands import name, shape_items


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict one workload's time on one chip from the published and stored evidence",
        description="Predict a workload's time, TFLOP/s or GB/s on a chip with the calibrated projection: "
        "roofline time over an efficiency taken from the closest evidence and adjusted to the chip.",
    )
    p.add_argument("chip", type=name, metavar="CHIP", help="chip id, alias or driver device name")
    p.add_argument(
        "workload",
        type=name,
        metavar="WORKLOAD",
        help="a registered workload (gemm, attention_fwd, copy, ...)",
    )
    p.add_argument(
        "--shape",
        type=shape_items,
        metavar="k=v,...",
        help="shape parameters over the workload's first gpu shape",
    )
    p.add_argument("--dtype", type=name, default="bf16", help="data type (default bf16)")
    p.add_argument(
        "--exclude-chip", type=name, metavar="ID", help="leave this chip's own figures out of the evidence"
    )
    p.add_argument(
        "--include-unrepresentative",
        action="store_true",
        help="also take ledger entries whose source reports a regression, a bug or a low figure as evidence",
    )
    p.add_argument("--json", action="store_true", help="print the prediction as JSON")
    p.set_defaults(func=run)


def _line(p) -> str:
    if p.status != "ok":
        return f"{p.chip} {p.workload}: {p.status} ({p.reason})"
    rate = f"{p.tflops:,.1f} TFLOP/s" if p.tflops else f"{p.gbps:,.0f} GB/s"
    if p.expected_rel_error is not None and p.expected_p90 is not None:
        err = f"±{p.expected_rel_error:.0%} (p90 {p.expected_p90:.0%}, n={p.expected_n})"
    else:
        err = "not known"
    label = "INDICATIVE projection" if p.indicative else "PROJECTED"
    return (
        f"{p.chip} {p.workload} {p.dtype}: {label} {p.time_s * 1e3:.4g} ms ({rate}), {p.bound}-bound, "
        f"efficiency {p.efficiency:.1%} from '{p.level}' ({p.evidence_kind}); expected error {err}"
    )


def run(args: argparse.Namespace) -> int:
    from gpucompare.model.predict import PredictionError, parse_shape, predict
    from gpucompare.specs import load_chips

    db = load_chips()
    chip = db.get(args.chip).id
    if args.exclude_chip is not None:
        db.get(args.exclude_chip)
    shape = parse_shape(args.workload, args.shape)
    from gpucompare.dtypes import DTYPES

    if args.dtype not in DTYPES:
        raise PredictionError(f"unknown dtype {args.dtype!r}; known: {', '.join(DTYPES)}")
    p = predict(
        chip, args.workload, shape, args.dtype, db=db, exclude_chip=args.exclude_chip,
        include_unrepresentative=args.include_unrepresentative,
    )  # fmt: skip
    if args.json:
        print(json.dumps(p.to_dict(), indent=2, ensure_ascii=False))
        return 0
    blocks: list[console.Block] = [_line(p)]
    if p.status == "ok":
        naive = p.naive_time_s
        blocks.append(console.Wrapped(f"naive (efficiency copied unchanged): {naive * 1e3:.4g} ms", 2))
        blocks.append(console.Wrapped(f"expected error: {p.expected_error_basis}", 2))
        if p.indicative:
            blocks.append(console.Wrapped(f"indicative only: {p.indicative_why}", 2))
        blocks.append(console.Wrapped(f"implementations: {', '.join(p.implementations)}", 2))
        if p.factor:
            blocks.append(console.Wrapped(f"across families: {p.factor}", 2))
        blocks += ["  evidence:", *(console.Wrapped(f"- {e}", 4) for e in p.evidence)]
    console.echo(*blocks)
    return 0
