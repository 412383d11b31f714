"""``gpucompare diff RUN_A RUN_B [--threshold 0.05] [--json] [--fail-on-regression]``: per-case changes
between two run folders, with noise-aware flags (``gpucompare.results.diff``), for regression checks.

The table lists each case's median in A and B, the change (B / A - 1: positive is slower), the wider of the
two runs' p20-p80 bands, and the flag; the last line counts the flags. ``--fail-on-regression``: exit status 1
when a case is ``slower`` or ``broke``. A killed run's truncated last record is skipped with a warning.
"""

from __future__ import annotations

import argparse
import json

from gpucompare.commands import positive_number


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diff",
        help="per-case changes between two runs (regression check)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("run_a", metavar="RUN_A", help="the baseline run folder")
    p.add_argument("run_b", metavar="RUN_B", help="the run folder compared with it")
    p.add_argument(
        "--threshold",
        type=positive_number,
        default=None,
        metavar="F",
        help="smallest relative change flagged, also when outside the noise (default 0.05 = 5 %%)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object: the runs and one entry per case")
    p.add_argument(
        "--fail-on-regression", action="store_true", help="exit status 1 when a case is slower or broke"
    )
    p.set_defaults(func=main)


def _pct(x: float) -> str:
    return f"{x:+.1%}"


def _band(x: float) -> str:
    return f"±{x / 2:.1%}"


def main(args: argparse.Namespace) -> int:
    from gpucompare import console
    from gpucompare.results import is_pipeline_check, load_run
    from gpucompare.results.diff import DEFAULT_THRESHOLD, FLAGS, diff_runs, machine_note

    run_a = load_run(args.run_a, allow_truncated_tail=True)
    run_b = load_run(args.run_b, allow_truncated_tail=True)
    threshold = args.threshold if args.threshold is not None else DEFAULT_THRESHOLD
    cases = diff_runs(run_a, run_b, threshold)
    note = machine_note(run_a, run_b)
    if args.json:
        out = {
            "a": run_a.machine["run_id"],
            "b": run_b.machine["run_id"],
            "threshold": threshold,
            "note": note,
            "cases": [c.to_dict() for c in cases],
        }
        print(json.dumps(out, indent=2))
    else:
        table = console.Table(
            "workload",
            console.Column("shape", drop=1),
            "dtype",
            console.Column("impl", drop=2),
            console.Column("A median", "right", fmt=console.format_seconds),
            console.Column("B median", "right", fmt=console.format_seconds),
            console.Column("B/A - 1", "right", fmt=_pct),
            console.Column("noise", "right", fmt=_band),
            console.Column("flag", colored=True),
        )
        for c in cases:
            table.add_row(c.workload, c.shape_label, c.dtype, c.impl, c.median_a, c.median_b, c.change, c.noise,
                          c.flag)  # fmt: skip
        header = f"A = {run_a.machine['run_id']}, B = {run_b.machine['run_id']}; "
        if is_pipeline_check(run_a) or is_pipeline_check(run_b):
            header += (
                "a cpu-fallback run is a pipeline check: its times are below its noise floor (ms timer, "
                "shared cores), so no time change is judged; only broke and fixed count"
            )
            shown = ("broke", "fixed", "pipeline check")
        else:
            header += f"flagged beyond {threshold:.0%} and outside both runs' p20-p80"
            shown = FLAGS[:5]
        lines = [console.Wrapped(header), *([f"note: {note}"] if note else []), table]
        console.echo(*lines, console.counts_line((c.flag for c in cases), "cases", shown))
    regressions = sum(c.regression for c in cases)
    return 1 if args.fail_on_regression and regressions else 0
