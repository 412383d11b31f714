"""One module per CLI subcommand; each defines ``register(subparsers)``."""

import argparse


def positive_number(text: str) -> float:
    """argparse type: a finite number > 0 (``nan``, ``inf``, ``0`` and ``-1`` are usage errors, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value
