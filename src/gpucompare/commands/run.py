"""``gpucompare run``: measure a tier of workloads here and write a run folder under ``--out``.

    gpucompare run [--tier cpu|gpu] [--only gemm,attention_fwd] [--dtypes fp16,bf16]
                   [--budget SECONDS] [--out DIR] [--triton-cache FILE] [--no-progress] [--nproc N] [--timeout SECONDS]

Collectives (``--only collective``) run under a distributed launch: ``torchrun --nproc-per-node N -m
gpucompare run --only collective`` (multi-node: torchrun's rendezvous flags, or Slurm's ``srun``), or
``gpucompare run --nproc N ...``, which starts the N ranks on this node itself
(:mod:`gpucompare.commands.distributed`). Rank 0 writes the run folder.

Default tier: ``gpu`` when a CUDA GPU is present, else ``cpu`` (Triton in interpreter mode, the measured
CPU peak as the roof). Progress on stderr: a bar with the ETA in a terminal, else (or with ``--no-progress``)
one line per case; the summary table on stdout (``gpucompare.console``). Unknown workloads or dtypes, ``--tier
gpu`` without a GPU and an ``--out`` that cannot be written are a one-line error with exit status 2, before
anything is measured. Exit status 1 when a case failed (a wrong output, an error), so ``run && report`` stops.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from gpucompare.commands import bounded_int, out_dir, positive_number, seconds_at_most
from gpucompare.errors import GpucompareError
from gpucompare.results import DEFAULT_ROOT

#: Ranks one node may start (8 GPUs is the common node; 64 leaves room, and bounds a typo's damage).
MAX_NPROC = 64
#: A collective waits at most a day for the other ranks.
MAX_TIMEOUT_S = 86400.0


def _csv(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="measure the workloads on this machine",
        description="Measure a tier of workloads here and write a run folder.",
    )
    p.add_argument(
        "--tier",
        choices=("cpu", "gpu"),
        default=None,
        help="shape tier (default: gpu if a GPU is present, else cpu)",
    )
    p.add_argument(
        "--only",
        type=_csv,
        default=None,
        metavar="W1,W2",
        help="workloads or families (attention, gemm, bandwidth) to run (default: all)",
    )
    p.add_argument(
        "--dtypes",
        type=_csv,
        default=None,
        metavar="D1,D2",
        help="dtypes to run (default: all runnable here)",
    )
    p.add_argument(
        "--out",
        type=out_dir,
        default=str(DEFAULT_ROOT),
        metavar="DIR",
        help=f"runs folder (default: {DEFAULT_ROOT})",
    )
    p.add_argument(
        "--budget",
        type=positive_number,
        default=None,
        metavar="S",
        help="timing budget per case in seconds (default: 1.0 on a GPU, 0.2 on the CPU); a case whose median "
        "is stable to 1 %% stops earlier",
    )
    p.add_argument(
        "--triton-cache",
        default=None,
        metavar="FILE",
        help="prebuilt Triton cache (gpucompare cache build; default .triton-cache/sm90.tgz), used on a GPU when its "
        "Triton build hash matches",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar: one plain line per case on stderr (the default when stderr is not a terminal)",
    )
    p.add_argument(
        "--nproc",
        type=bounded_int(1, MAX_NPROC),
        default=None,
        metavar="N",
        help="start N ranks on this node (torchrun --standalone) and run the collectives in them",
    )
    p.add_argument(
        "--timeout",
        type=seconds_at_most(MAX_TIMEOUT_S),
        default=None,
        metavar="S",
        help="distributed runs: seconds a collective may wait for the other ranks before the run stops and "
        "names the ranks behind (default: 300 on GPUs, 60 on the CPU)",
    )
    p.set_defaults(func=main)


def _forwarded(args: argparse.Namespace, budget: float | None) -> list[str]:
    """The arguments a rank started by ``--nproc`` gets: these, without ``--nproc``."""
    argv = ["run", "--out", args.out]
    for flag, value in (("--tier", args.tier), ("--only", args.only), ("--dtypes", args.dtypes)):
        if value:
            argv += [flag, value if isinstance(value, str) else ",".join(value)]
    if budget is not None:
        argv += ["--budget", f"{budget:g}"]
    if args.timeout is not None:
        argv += ["--timeout", f"{args.timeout:g}"]
    if args.no_progress:
        argv.append("--no-progress")
    return argv


def _distributed(args: argparse.Namespace, command: str) -> int | None:
    """Run as a rank of a launched job, or launch ``--nproc`` ranks; None when neither applies."""
    from gpucompare.commands import distributed
    from gpucompare.measure.distributed import launch_from_env

    launch = launch_from_env()
    nproc = getattr(args, "nproc", None)
    if launch is not None and nproc is not None:
        raise GpucompareError("--nproc starts its own ranks: do not combine it with torchrun or srun")
    if args.timeout is not None and not args.timeout > 0:
        raise GpucompareError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if nproc is not None:
        argv = _forwarded(args, getattr(args, "budget", None))
        return distributed.spawn(nproc, argv, args.out, args.timeout)
    if launch is None:
        return None
    if args.timeout is None:
        import torch

        args.timeout = 300.0 if torch.cuda.is_available() else 60.0
    return distributed.run_ranks(args, launch, command)


def main(args: argparse.Namespace) -> int:
    from gpucompare.measure import runner

    # The command as parsed (not sys.argv, which is the caller's when main() is called in-process).
    parts = ["gpucompare", "run"]
    budget = getattr(args, "budget", None)
    for flag, value in (
        ("--tier", args.tier),
        ("--only", args.only),
        ("--dtypes", args.dtypes),
        ("--budget", None if budget is None else f"{budget:g}"),
    ):
        if value:
            parts += [flag, value if isinstance(value, str) else ",".join(value)]
    command = shlex.join([*parts, "--out", args.out])
    args.timeout = getattr(args, "timeout", None)
    args.no_progress = getattr(args, "no_progress", False)
    status = _distributed(args, command)
    if status is not None:
        return status
    from gpucompare.results import load_run

    try:
        folder = runner.run_suite(
            args.tier,
            args.only,
            args.dtypes,
            args.out,
            progress=not args.no_progress,
            command=command,
            budget_s=budget,
            triton_cache_dir=getattr(args, "triton_cache", None),
        )
    except ValueError as exc:  # unknown workload / dtype / tier, or nothing to run
        raise GpucompareError(str(exc).splitlines()[0]) from None
    records = load_run(folder).records
    failed = sum(r["status"] == "failed" for r in records)
    if failed:
        print(
            f"gpucompare run: {failed} of {len(records)} cases failed (see the table): exit status 1",
            file=sys.stderr,
        )
        return 1
    return 0
