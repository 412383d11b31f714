"""``gpucompare predict CHIP WORKLOAD [--shape k=v,...] [--dtype bf16] [--exclude-chip ID] [--json]``.

The calibrated projection of one workload at one shape on one chip (:func:`gpucompare.model.predict.predict`):
time, TFLOP/s or GB/s, the bound, the evidence it used (published ledger entries with their sources, GPU
runs made here) and its expected error (leave-one-chip-out). ``--json`` prints ``chip, workload, shape,
dtype, time_s, tflops, gbps, bound, evidence, expected_rel_error`` (and the naive projection beside it).
"""

from __future__ import annotations

import argparse
import json

from gpucompare import console, fmt


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict one workload's time on one chip from the published and stored evidence",
        description="Predict a workload's time, TFLOP/s or GB/s on a chip with the calibrated projection: "
        "roofline time over an efficiency taken from the closest evidence and adjusted to the chip.",
    )
    p.add_argument("chip", metavar="CHIP", help="chip id, alias or driver device name")
    p.add_argument(
        "workload", metavar="WORKLOAD", help="a registered workload (gemm, attention_fwd, copy, ...)"
    )
    p.add_argument("--shape", metavar="k=v,...", help="shape parameters over the workload's first gpu shape")
    p.add_argument("--dtype", default="bf16", help="data type (default bf16)")
    p.add_argument("--exclude-chip", metavar="ID", help="leave this chip's own figures out of the evidence")
    p.add_argument("--json", action="store_true", help="print the prediction as JSON")
    p.set_defaults(func=run)


def _line(p) -> str:
    if p.status != "ok":
        return f"{p.chip} {p.workload}: {p.status} ({p.reason})"
    # a memory-bound workload is read in GB/s, a compute-bound one in TFLOP/s
    rate = fmt.rate(p.gbps, "GB/s") if p.bound == "memory" and p.gbps else fmt.rate(p.tflops, "TFLOP/s")
    err = (
        f"expected error ±{p.expected_rel_error:.0%}" if p.expected_rel_error is not None else "error unknown"
    )
    return (
        f"{p.chip} {p.workload} {p.dtype}: PROJECTED {fmt.seconds(p.time_s)} ({rate}), {p.bound}-bound, "
        f"efficiency {fmt.percent(p.efficiency)} from '{p.level}' ({p.evidence_kind}); {err}"
    )


SHOWN_EVIDENCE = 3  # evidence lines printed; --json has them all


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
    p = predict(chip, args.workload, shape, args.dtype, db=db, exclude_chip=args.exclude_chip)
    if args.json:
        print(json.dumps(p.to_dict(), indent=2, ensure_ascii=False))
        return 0
    shape_text = ", ".join(f"{k}={v}" for k, v in shape.items())
    blocks: list[console.Block] = [console.Wrapped(_line(p)), console.Wrapped(f"shape: {shape_text}", 2)]
    if p.status == "ok":
        naive = p.naive_time_s
        blocks.append(console.Wrapped(f"naive (efficiency copied unchanged): {fmt.seconds(naive)}", 2))
        blocks.append(console.Wrapped(f"expected error: {p.expected_error_basis}", 2))
        shown = [e.split(" <http", 1)[0] for e in p.evidence[:SHOWN_EVIDENCE]]  # sources: --json
        more = len(p.evidence) - len(shown)
        blocks += [f"  evidence ({len(p.evidence)}; sources and URLs in --json):"]
        blocks += [console.Wrapped(f"- {e}", 4) for e in shown]
        blocks += [f"    ... {more} more (--json)"] if more > 0 else []
    console.echo(*blocks)
    return 0
