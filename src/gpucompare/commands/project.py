"""gpucompare project: projected time and throughput per chip per measured workload (roofline model)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gpucompare.errors import ResultsError
from gpucompare.sanitize import terminal

DEFAULT_RUNS = Path("results") / "runs"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "project", help="project measured runs onto every chip", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--runs",
        nargs="+",
        default=None,
        metavar="PATH",
        help=f"run folders or folders of runs (default: {DEFAULT_RUNS})",
    )
    p.add_argument("--chips", default=None, metavar="C1,C2", help="chips to project onto (default: all)")
    p.add_argument(
        "--include-cpu",
        action="store_true",
        help="also project cpu-fallback runs (labelled: pipeline check, says nothing about GPUs)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=main)


def load(paths: list[str] | None) -> list:
    """Runs from ``paths`` (default ``results/runs``); a ResultsError when none exists."""
    from gpucompare.results import load_runs

    if paths is None and not DEFAULT_RUNS.exists():
        raise ResultsError(f"{DEFAULT_RUNS}: no runs yet; measure with `gpucompare run` first")
    runs = load_runs(
        paths if paths is not None else DEFAULT_RUNS, include_cpu=True, allow_truncated_tail=True
    )
    if not runs:
        raise ResultsError(f"no run found under {', '.join(paths or [str(DEFAULT_RUNS)])}")
    return runs


def main(args: argparse.Namespace) -> int:
    import pandas as pd

    from gpucompare import model
    from gpucompare.results import is_pipeline_check
    from gpucompare.specs import all_chips, get_chip

    chips = [get_chip(c.strip()) for c in args.chips.split(",") if c.strip()] if args.chips else all_chips()
    runs = load(args.runs)
    records = [r for run in runs for r in run.records if args.include_cpu or not is_pipeline_check(r)]
    analysis = model.analyse(records, model.chip_index(all_chips()))
    if not analysis.measured:
        cpu = any(is_pipeline_check(r) for run in runs for r in run.records)
        hint = " (only cpu-fallback runs: add --include-cpu for a labelled pipeline check)" if cpu else ""
        raise ResultsError(f"no ok measurement to project{hint}")
    projections = model.project_all(analysis, chips)
    try:
        steps = model.compose_steps(analysis, chips)
    except ImportError as exc:
        steps, print_note = [], f"layer composition unavailable: {exc}"
    else:
        print_note = ""
    if args.json:
        out = {
            "projections": [p.to_dict() for p in projections],
            "steps": [s.to_dict() for s in steps],
            "validation": model.validation_status(model.validate(analysis, model.chip_index(all_chips()))),
            "skipped": [{"record": n, "reason": r} for n, r in analysis.skipped],
        }
        json.dump(out, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    rows = [
        {
            "run": p.source_run_id,
            "workload": f"{p.workload}/{p.shape_label}",
            "dtype": p.dtype,
            "impl": p.impl,
            "chip": p.chip_id,
            "status": p.status,
            "time_ms": None if p.time_s is None else p.time_s * 1e3,
            "TFLOP/s": p.tflops,
            "GB/s": p.gbps,
            "bound": p.bound or "",
            "note": "PIPELINE CHECK" if p.pipeline_check else p.reason,
        }
        for p in projections
    ]
    with pd.option_context(
        "display.max_rows", None, "display.width", 200, "display.float_format", "{:.4g}".format
    ):
        print(terminal(pd.DataFrame(rows).fillna("").to_string(index=False)))
        if steps:
            print("\nOne Llama-3-70B-sized layer (tokens/s for 80 layers):")
            srows = [
                {
                    "chip": s.chip_id,
                    "step": s.step,
                    "status": s.status,
                    "time_ms": None if s.time_s is None else s.time_s * 1e3,
                    "tokens/s": s.tokens_per_s,
                    "note": "PIPELINE CHECK" if s.pipeline_check else s.reason,
                }
                for s in steps
            ]
            print(terminal(pd.DataFrame(srows).fillna("").to_string(index=False)))
    if print_note:
        print(print_note, file=sys.stderr)
    if any(p.pipeline_check for p in projections):
        print(
            "note: cpu-fallback rows are pipeline checks; CPU efficiencies say nothing about GPUs",
            file=sys.stderr,
        )
    return 0
