"""The gpucompare CLI: run, specs, published, compare, claims, workloads, project, validate, predict, report,
diff, cache.

Thin over the library: each subcommand lives in ``gpucompare.commands.<name>`` with a
``register(subparsers)`` function that adds its parser and sets ``func(args) -> int``.
Bad arguments, user errors, malformed files and OS errors (a read-only or full disk, a missing file) print one
line on stderr and exit with status 2, never a traceback; warnings (a killed run's truncated last record,
skipped) print as one ``gpucompare: warning:`` line each. Exit statuses (``gpucompare.errors``): 0 ok, 1 a case
failed or a regression, 2 usage or bad input, 3 environment (no GPU, an unusable cache or launcher), 70 an
unexpected exception (a bug: one line naming where, ``GPUCOMPARE_DEBUG=1`` for the traceback), 130
interrupted (one line; records written so far are kept).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

from gpucompare import __version__
from gpucompare.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, GpucompareError

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
    "serve",
    "report",
    "cache",
    "diff",
)
#: The commands that run kernels (and so import torch and Triton): Triton is set up before them. Every other
#: command reads files only and never imports torch (tests/test_cli_imports.py).
TORCH_COMMANDS = ("run", "cache")


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
    # The command modules import nothing heavy at module level: --help and --version answer without torch.
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command in TORCH_COMMANDS:
            # Before the command imports triton (through torch): with no GPU, kernels run in the interpreter.
            from gpucompare.hw import configure_triton

            configure_triton()
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return int(args.func(args) or 0)
    except GpucompareError as exc:
        print(f"gpucompare: error: {_one_line(str(exc))}", file=sys.stderr)
        return int(getattr(exc, "exit_status", EXIT_USAGE))
    except BrokenPipeError:
        return 0
    except OSError as exc:  # read-only or full disk, missing folder...: one line naming the file
        print(f"gpucompare: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        detail = _one_line(str(exc)) if str(exc) else "stopped; records written so far are kept"
        print(f"gpucompare: interrupted: {detail}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line naming where, not a traceback (status 70, never 1)
        print(f"gpucompare: internal error: {_one_line(_where(exc))}", file=sys.stderr)
        if os.environ.get("GPUCOMPARE_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL


def _where(exc: BaseException) -> str:
    from gpucompare.errors import first_line

    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"{first_line(exc)[:300]}{place} (a bug: please report it; GPUCOMPARE_DEBUG=1 shows the traceback)"


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    files = [f for f in (exc.filename, exc.filename2) if f is not None]
    return _one_line(f"{' -> '.join(map(str, files))}: {what}" if files else what)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"gpucompare: warning: {_one_line(str(message))}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
