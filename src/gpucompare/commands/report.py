"""gpucompare report: regenerate results/README.md, report.html, tables/*.csv and plots/ from stored runs."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="regenerate the published report", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--runs",
        nargs="+",
        default=None,
        metavar="PATH",
        help="run folders or folders of runs (default: <out>/runs)",
    )
    p.add_argument("--out", default="results", metavar="DIR", help="output folder (default: results)")
    p.add_argument(
        "--include-cpu",
        action="store_true",
        help="show cpu-fallback runs in the chip tables, labelled as pipeline checks",
    )
    p.add_argument("--no-plots", action="store_true", help="tables only (faster)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from gpucompare import report
    from gpucompare.results import is_pipeline_check, load_runs

    root = Path(args.out) / "runs"
    paths = args.runs if args.runs is not None else ([root] if root.exists() else [])
    runs = load_runs(paths, include_cpu=True, allow_truncated_tail=True) if paths else []
    if not args.include_cpu:
        # cpu-fallback runs are pipeline checks, not chip measurements: the published results/ must not
        # depend on which of them happen to lie on this machine (they are git-ignored).
        cpu = [r for r in runs if is_pipeline_check(r)]
        runs = [r for r in runs if not is_pipeline_check(r)]
        if cpu:
            names = ", ".join(Path(r.path).name for r in cpu)
            print(
                f"gpucompare report: left out {len(cpu)} cpu-fallback run(s) ({names}); "
                "--include-cpu shows them, labelled as pipeline checks",
                file=sys.stderr,
            )
    written = report.generate(Path(args.out), runs, include_cpu=args.include_cpu, plots=not args.no_plots)
    print(f"wrote {len(written)} files under {args.out} (README.md, report.html, tables/, plots/)")
    return 0
