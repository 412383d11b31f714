"""Spec ratios between two chips: ``ratio = value(a) / value(b)`` per basis, or None with the reason.

Bases (``BASES``): ``bf16`` and ``fp8`` dense peaks (TFLOP/s), ``tpp`` (TOPS·bit, see
:mod:`gpucompare.specs.chip`), ``bandwidth`` (TB/s), ``memory`` (GB), ``interconnect`` (GB/s).
A ratio is only given when both values are known; "unsupported" (fp8 on an A100), "unknown" and
"none" (no NVLink-class link) are reported as reasons, never as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpucompare.specs.chip import Chip
from gpucompare.specs.db import get_chip

BASES: tuple[str, ...] = ("bf16", "fp8", "tpp", "bandwidth", "memory", "interconnect")
UNITS = {
    "bf16": "TFLOP/s",
    "fp8": "TFLOP/s",
    "tpp": "TOPS*bit",
    "bandwidth": "TB/s",
    "memory": "GB",
    "interconnect": "GB/s",
}


@dataclass(frozen=True)
class BasisRatio:
    """One basis of a chip-to-chip comparison: the two values and ``a/b``, or None and the reason."""

    basis: str
    a_value: float | None
    b_value: float | None
    ratio: float | None
    reason: str | None = None
    unit: str = ""

    def to_dict(self) -> dict:
        return {
            "basis": self.basis,
            "a_value": self.a_value,
            "b_value": self.b_value,
            "ratio": self.ratio,
            "reason": self.reason,
            "unit": self.unit,
        }


def _value(chip: Chip, basis: str) -> tuple[float | None, str | None]:
    """The chip's value on one basis, or None with the reason it has none."""
    if basis in ("bf16", "fp8"):
        status = chip.peak_status(basis)
        if status != "known":
            return None, f"{basis} {status} on {chip.id}"
        return chip.peak_tflops[basis], None
    if basis == "tpp":
        tpp = chip.tpp
        if tpp is None:
            return None, f"tpp unknown on {chip.id} (no known peak)"
        return tpp, None
    if basis == "interconnect":
        if chip.interconnect == "none":
            return None, f"no NVLink-class interconnect on {chip.id} (PCIe only)"
        if chip.interconnect_gbps is None:
            return None, f"interconnect unknown on {chip.id}"
        return chip.interconnect_gbps, None
    attr = {"bandwidth": "bandwidth_tbps", "memory": "memory_gb"}[basis]
    value = getattr(chip, attr)
    if value is None:
        return None, f"{basis} unknown on {chip.id}"
    return value, None


def spec_ratios(a: Chip | str, b: Chip | str, bases: tuple[str, ...] = BASES) -> list[BasisRatio]:
    """Ratios of chip ``a`` over chip ``b`` on each basis (chips or names accepted by ``get_chip``).

    ``spec_ratios("h200-sxm", "h20")[0].ratio == 989.4 / 148``. A basis where either side has no
    value gives ``ratio=None`` and the reasons joined by ``"; "``.
    """
    ca = a if isinstance(a, Chip) else get_chip(a)
    cb = b if isinstance(b, Chip) else get_chip(b)
    out: list[BasisRatio] = []
    for basis in bases:
        if basis not in UNITS:
            raise ValueError(f"unknown basis {basis!r}; known: {', '.join(BASES)}")
        va, ra = _value(ca, basis)
        vb, rb = _value(cb, basis)
        reasons = [r for r in (ra, rb) if r]
        ratio = None if reasons else va / vb
        out.append(BasisRatio(basis, va, vb, ratio, "; ".join(reasons) or None, UNITS[basis]))
    return out
