"""gpucompare report: regenerate results/README.md, report.html, tables/*.csv and plots/ from stored runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpucompare.commands import out_dir


def pair_list(text: str) -> list[tuple[str, str]]:
    """``"H200:H20,B200:H200"`` -> [("H200", "H20"), ("B200", "H200")] (argparse type: one line on error)."""
    pairs = []
    for item in text.split(","):
        a, sep, b = item.strip().partition(":")
        if not sep or not a.strip() or not b.strip() or ":" in b:
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not CHIP_A:CHIP_B (e.g. H200:H20)")
        pairs.append((a.strip(), b.strip()))
    return pairs


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
    p.add_argument(
        "--out", type=out_dir, default="results", metavar="DIR", help="output folder (default: results)"
    )
    p.add_argument(
        "--include-cpu",
        action="store_true",
        help="show cpu-fallback runs in the chip tables, labelled as pipeline checks",
    )
    p.add_argument("--no-plots", action="store_true", help="tables only (faster)")
    p.add_argument(
        "--pairs",
        type=pair_list,
        default=None,
        metavar="A:B,C:D",
        help="chip pairs the answer compares, first one as the headline "
        "(default: H200:H20,H20:H100,B200:H200,H200:Ascend 910C,A100:H200,H100:H200)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from gpucompare import report
    from gpucompare.errors import GpucompareError
    from gpucompare.report.generate import MANIFEST
    from gpucompare.results import is_pipeline_check, load_runs

    root = Path(args.out) / "runs"
    paths = args.runs if args.runs is not None else ([root] if root.exists() else [])
    runs = load_runs(paths, include_cpu=True, allow_truncated_tail=True) if paths else []
    if not args.include_cpu:
        # cpu-fallback runs are pipeline checks, not chip measurements: the published results/ must not
        # depend on which of them happen to lie on this machine (they are git-ignored).
        cpu = [r for r in runs if is_pipeline_check(r)]
        runs = [r for r in runs if not is_pipeline_check(r)]
        if cpu and not runs and not (Path(args.out) / MANIFEST).exists():
            # A new report with none of the runs asked for in it: say so rather than write an empty one.
            raise GpucompareError(
                f"no publishable run: the {len(cpu)} run(s) found are cpu-fallback pipeline checks "
                f"({', '.join(Path(r.path).name for r in cpu)}); --include-cpu reports them, labelled as such"
            )
        if cpu:
            names = ", ".join(Path(r.path).name for r in cpu)
            print(
                f"gpucompare report: left out {len(cpu)} cpu-fallback run(s) ({names}); "
                "--include-cpu shows them, labelled as pipeline checks",
                file=sys.stderr,
            )
    kwargs = {}
    if args.pairs is not None:
        from gpucompare.specs import load_chips

        db = load_chips()
        kwargs["pairs"] = [(db.get(a).id, db.get(b).id) for a, b in args.pairs]  # unknown chip: one line
        for a, b in kwargs["pairs"]:
            if a == b:
                raise GpucompareError(f"--pairs: {a} is paired with itself; a pair compares two chips")
    written = report.generate(
        Path(args.out), runs, include_cpu=args.include_cpu, plots=not args.no_plots, **kwargs
    )
    print(f"wrote {len(written)} files under {args.out} (README.md, report.html, tables/, plots/)")
    return 0
