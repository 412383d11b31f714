"""``gpucompare run`` under a distributed launch, and ``gpucompare run --nproc N`` (torchrun for one node).

Under ``torchrun`` (or Slurm's ``srun``; see :mod:`gpucompare.measure.distributed`) every rank runs
:func:`gpucompare.measure.collective_run.run_distributed`; a failure is one line on that rank's stderr and
in the launcher's error file. ``--nproc N`` starts N ranks on this node through torch's own launcher API
(``torch.distributed.launcher.api.elastic_launch``, what ``torchrun --standalone`` runs) and turns a failed
job into one line naming the rank that failed first, its exit code and its message.
"""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

from gpucompare.errors import GpucompareError

#: How long ``--nproc`` waits for a stopped job's ranks to exit before it kills them (seconds).
MONITOR_INTERVAL_S = 0.1


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


def _new_runs(out: Path, before: set[str]) -> list[str]:
    if not out.is_dir():
        return []
    return sorted(str(p) for p in out.iterdir() if p.is_dir() and p.name not in before)


def spawn(nproc: int, argv: list[str], out_dir: str) -> int:
    """Run ``python -m gpucompare <argv>`` as ``nproc`` ranks on this node; 0, or a GpucompareError naming
    the rank that failed first."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if nproc < 1:
        raise GpucompareError(f"--nproc must be at least 1, got {nproc}")
    out = Path(out_dir)
    before = {p.name for p in out.iterdir()} if out.is_dir() else set()
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",  # loopback, a free port: torchrun --standalone
        max_restarts=0,
        monitor_interval=MONITOR_INTERVAL_S,
    )
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # we say it in one line
    try:
        elastic_launch(config, sys.executable)("-m", "gpucompare", *argv)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        message = failure.message if isinstance(failure.message, str) else ""
        detail = f": {message}" if message and not message.startswith("To enable traceback") else ""
        runs = _new_runs(out, before)
        where = f"; records so far in {runs[-1]}" if runs and "records so far" not in detail else ""
        raise GpucompareError(
            f"distributed run failed: rank {rank} exited with code {failure.exitcode}{detail}{where}"
        ) from None
    return 0
