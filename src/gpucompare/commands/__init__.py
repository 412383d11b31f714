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


def out_dir(text: str) -> str:
    """argparse type: a folder to write (an empty path or a NUL byte is a usage error, exit 2)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a folder path, got {text!r}")
    return text


def bounded_int(low: int, high: int):
    """argparse type: a whole number in ``[low, high]`` (anything else is a usage error, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip()) if len(text) <= 20 else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}, got {text[:40]!r}"
            )
        return value

    return parse


def seconds_at_most(high: float):
    """argparse type: a finite number of seconds in ``(0, high]``."""

    def parse(text: str) -> float:
        value = positive_number(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"expected at most {high:g} seconds, got {text[:40]!r}")
        return value

    return parse


def name(text: str) -> str:
    """argparse type: a name (chip, workload, dtype): not empty, one line, printable, at most 200 characters."""
    text = text.strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise argparse.ArgumentTypeError(f"expected a name, got {text[:40]!r}")
    return text


#: Largest shape parameter an argument may give (the records' bound, ``results.record.SHAPE_INT_MAX``).
SHAPE_INT_MAX = 2**40


def shape_items(text: str) -> str:
    """argparse type: ``k=v,...`` whose integer values are in ``[0, 2**40]`` (a 400-digit M is refused here,
    before any arithmetic overflows or prints 2.4e36 ms)."""
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"shape item {item[:40]!r}: expected k=v")
        value = value.strip()
        if value.lstrip("+-").isdigit() and (len(value) > 16 or not 0 <= int(value) <= SHAPE_INT_MAX):
            raise argparse.ArgumentTypeError(
                f"shape item {key.strip()[:40]}: expected an integer in [0, 2**40], got {value[:40]!r}"
            )
    return text
