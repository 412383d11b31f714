"""Command-line interface: ``gpucompare run | specs | published | compare | claims | workloads | project | report | cache``.

Thin over the library: each subcommand lives in ``gpucompare.commands.<name>`` with a
``register(subparsers)`` function that adds its parser and sets ``func(args) -> int``.
Bad arguments and user errors print one line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gpucompare import __version__
from gpucompare.errors import GpucompareError

# Explicit list: no folder scan. A module missing here is not a command.
COMMANDS = (
    "specs",
    "published",
    "compare",
    "claims",
    "workloads",
    "run",
    "project",
    "validate",
    "predict",
    "report",
    "cache",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"gpucompare: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gpucompare", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gpucompare {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gpucompare.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gpucompare.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Before any command module imports triton: with no GPU, kernels run in Triton's interpreter.
    from gpucompare.hw import configure_triton

    configure_triton()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except GpucompareError as exc:
        print(f"gpucompare: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
