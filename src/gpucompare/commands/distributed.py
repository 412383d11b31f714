"""``gpucompare run`` under a distributed launch, and ``gpucompare run --nproc N`` (torchrun for one node).

Under ``torchrun`` (or Slurm's ``srun``; see :mod:`gpucompare.measure.distributed`) every rank runs
:func:`gpucompare.measure.collective_run.run_distributed`; a failure is one line on that rank's stderr and
in the launcher's error file. ``--nproc N`` starts N ranks on this node and watches each (:mod:`gpucompare.measure.launcher`): a failed
job is one line naming the rank that died (its exit code or signal) or stalled, and its message.
"""

from __future__ import annotations

from gpucompare.errors import GpucompareError


def run_ranks(args, launch, command: str) -> int:
    """This process is one rank of a launched job: run the collectives; a failure is a GpucompareError."""
    from gpucompare.measure import collective_run
    from gpucompare.measure import distributed as dd

    try:
        collective_run.run_distributed(
            launch,
            tier=args.tier,
            only=args.only,
            dtypes=args.dtypes,
            out_dir=args.out,
            timeout_s=args.timeout,
            command=command,
            progress=not args.no_progress,
        )
    except ValueError as exc:  # bad names: every rank says the same
        message = str(exc).splitlines()[0]
        dd.report_to_launcher(message)
        raise GpucompareError(message) from None
    except GpucompareError as exc:
        dd.report_to_launcher(str(exc))
        raise
    return 0


def spawn(nproc: int, argv: list[str], out_dir: str, timeout_s: float | None = None) -> int:
    """Run ``python -m gpucompare <argv>`` as ``nproc`` ranks on this node, every rank watched
    (:mod:`gpucompare.measure.launcher`); 0, or a GpucompareError naming the ranks that died or stalled."""
    from gpucompare.measure import launcher

    if timeout_s is None:
        import torch

        timeout_s = 300.0 if torch.cuda.is_available() else 60.0
    return launcher.spawn(nproc, argv, out_dir, timeout_s)
