"""Numbers for people, in one place: ratios, percentages, times, rates and plain numbers, as the report's
tables, its plots and the commands' terminal tables write them. No scientific notation: a value is scaled to
a unit (µs/ms/s, k/M/G) or written with enough decimals. Nothing here imports the rest of the package.
"""

from __future__ import annotations

import math

#: Time units, largest first: a duration is written in the first one it reaches.
TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
#: Prefixes of a rate or a count, largest first.
PREFIXES = (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))


def number(v: float, digits: int = 4) -> str:
    """A number for people: ``digits`` significant digits (all digits of the integer part from 1,000 up),
    thousands separators, trailing zeros dropped; never in scientific notation (below 1e-6: "<0.000001")."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    if a < 1e-6:
        return "<0.000001" if v > 0 else ">-0.000001"
    decimals = max(0, digits - 1 - math.floor(math.log10(a)))
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def times(r: float | None) -> str:
    """A speed-up with 3 significant digits, trailing zeros kept: 6.69×, 1.20×, 0.150×; "n/a" for None."""
    if r is None or not math.isfinite(r):
        return "n/a"
    if r >= 1000:
        return f"{r:,.0f}×"
    return f"{r:#.3g}×"


def percent(fraction: float | None, digits: int = 3) -> str:
    """A fraction as a percentage: 0.8337 -> "83.4%", 1.05 -> "105%"; "-" for None."""
    if fraction is None or not math.isfinite(fraction):
        return "-"
    return f"{number(fraction * 100, digits)}%"


def seconds(s: float | None, digits: int = 3) -> str:
    """A duration in the unit that reads best: 0.00427728 -> "4.28 ms", 1.2e-5 -> "12 µs"; "-" for None."""
    if s is None or not math.isfinite(s):
        return "-"
    if s == 0:
        return "0 s"
    for unit, scale in TIME_UNITS:
        if abs(s) >= scale:
            return f"{number(s / scale, digits)} {unit}"
    return f"{number(s / 1e-9, digits)} ns"


def scaled(v: float | None, unit: str = "", digits: int = 3) -> str:
    """A rate or count with a prefix: (11110, "tokens/s") -> "11.1 k tokens/s"; small values as they are."""
    if v is None or not math.isfinite(v):
        return "-"
    for prefix, scale in PREFIXES:
        if abs(v) >= scale * 10:
            return f"{number(v / scale, digits)} {prefix}{' ' if len(unit) > 4 else ''}{unit}".rstrip()
    return f"{number(v, digits)} {unit}".rstrip()


def rate(v: float | None, unit: str, digits: int = 4) -> str:
    """A rate in its own unit (TFLOP/s, GB/s), no prefix games: 989.4 -> "989.4 TFLOP/s", 1.2e-5 -> "0.000012
    TFLOP/s" (never scientific)."""
    if v is None or not math.isfinite(v):
        return "-"
    return f"{number(v, digits)} {unit}"
