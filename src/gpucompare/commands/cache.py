"""``gpucompare cache build | check``: the prebuilt Triton cache of the GPU tier.

    gpucompare cache build [--target sm90|local] [--jobs N] [--out .triton-cache/sm90.tgz] [--only W1,W2]
                           [--shapes L1,L2] [--dtypes D1,D2] [--verify] [--count]
    gpucompare cache check [--out .triton-cache/sm90.tgz]

``build`` compiles, on this machine (no GPU needed), every Triton kernel the GPU tier will compile on an
H100/H200, with the runtime's own cache keys, and packs the cubins and their metadata with the Triton build
hash (:mod:`gpucompare.measure.cache_build`; it runs in a fresh process, with Triton's interpreter off).
``--target local`` compiles for this machine's own GPU straight into its Triton cache (``TRITON_CACHE_DIR``),
nothing packed: the GPU campaign's precompile step, in ``--jobs`` processes. ``check`` says whether this machine's Triton would use the packed cache. ``gpucompare run`` installs it on
the GPU when the hash matches.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from gpucompare.errors import GpucompareError

TARGETS = {"sm90": "cuda:90"}


def register(subparsers) -> None:
    from gpucompare.measure.triton_cache import DEFAULT_PATH

    p = subparsers.add_parser(
        "cache", help="prebuild the GPU tier's Triton kernels here", description=__doc__.splitlines()[0]
    )
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", parser_class=type(p))
    b = sub.add_parser("build", help="compile the GPU tier's Triton kernels for a target and pack them")
    b.add_argument(
        "--target",
        choices=[*sorted(TARGETS), "local"],
        default="sm90",
        help="GPU target (default: sm90); local: this machine's GPU, into its own Triton cache, not packed",
    )
    b.add_argument("--jobs", type=_jobs, default=1, metavar="N", help="compile in N processes (default 1)")
    b.add_argument("--dtypes", default="", metavar="D1,D2", help="only these dtypes")
    b.add_argument(
        "--count", action="store_true", help="count compiles and autotune benchmarks, compile nothing"
    )
    b.add_argument(
        "--out", default=str(DEFAULT_PATH), metavar="FILE", help=f"packed cache (default: {DEFAULT_PATH})"
    )
    b.add_argument("--only", default="", metavar="W1,W2", help="workloads or families (default: all)")
    b.add_argument("--shapes", default="", metavar="L1,L2", help="only these shape labels")
    b.add_argument(
        "--verify", action="store_true", help="pass again over the packed cache: nothing compiles?"
    )
    b.set_defaults(func=build)
    c = sub.add_parser("check", help="would this machine's Triton use the packed cache?")
    c.add_argument(
        "--out", default=str(DEFAULT_PATH), metavar="FILE", help=f"packed cache (default: {DEFAULT_PATH})"
    )
    c.add_argument("--target", choices=sorted(TARGETS), default="sm90", help="GPU target (default: sm90)")
    c.set_defaults(func=check)
    p.set_defaults(func=lambda args: p.print_help(sys.stderr) or 2)


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= n <= 256:
        raise argparse.ArgumentTypeError(f"must be 1 to 256, got {n}")
    return n


def build(args: argparse.Namespace) -> int:
    """Run the builder in a fresh process (this one may have Triton in interpreter mode)."""
    cmd = [
        sys.executable,
        "-m",
        "gpucompare.measure.cache_build",
        "--out",
        args.out,
        "--jobs",
        str(args.jobs),
    ]
    for flag, value in (("--only", args.only), ("--shapes", args.shapes), ("--dtypes", args.dtypes)):
        if value:
            cmd += [flag, value]
    for flag, on in (("--verify", args.verify), ("--count", args.count), ("--local", args.target == "local")):
        if on:
            cmd.append(flag)
    drop = ("TRITON_INTERPRET",) if args.target == "local" else ("TRITON_INTERPRET", "TRITON_CACHE_DIR")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    src = str(Path(__file__).resolve().parents[2])  # a source checkout: src/ (and kernels/ beside it)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    try:
        return subprocess.run(cmd, env=env, check=False).returncode
    except OSError as exc:
        raise GpucompareError(f"cannot start the cache builder: {exc}") from None


def check(args: argparse.Namespace) -> int:
    from gpucompare.measure import triton_cache

    status = triton_cache.check(Path(args.out), TARGETS[args.target])
    print(status.message)
    return 0 if status.used else 1
