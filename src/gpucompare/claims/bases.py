"""The bases a claim is checked on, and one chip's (or a pair's) figures on them.

Spec bases come from :func:`gpucompare.specs.spec_ratios` (``bf16, fp8, tpp, bandwidth, memory,
interconnect``); a few chip attributes (``sm_count, die_area_mm2, launch_year``) are read from the ``Chip``.
For a pair (a, b) the ratio is ``r = value_a / value_b``.
"""

from __future__ import annotations

from gpucompare.specs import BASES as SPEC_BASES
from gpucompare.specs import BasisRatio, Chip, spec_ratios

ATTR_BASES: tuple[str, ...] = ("sm_count", "die_area_mm2", "launch_year")
ALL_BASES: tuple[str, ...] = SPEC_BASES + ATTR_BASES

#: What each basis stands for in a verdict.
GROUP = {
    "bf16": "compute (compute-bound work)",
    "fp8": "compute (compute-bound work)",
    "tpp": "compute (compute-bound work)",
    "sm_count": "compute (compute-bound work)",
    "bandwidth": "memory bandwidth (memory-bound work)",
    "memory": "memory capacity",
    "interconnect": "interconnect (multi-GPU communication)",
    "die_area_mm2": "silicon",
    "launch_year": "age",
}
#: The unit each basis is written in (fleet figures, details).
UNIT = {
    "bf16": "TFLOP/s",
    "fp8": "TFLOP/s",
    "tpp": "",
    "bandwidth": "TB/s",
    "memory": "GB",
    "interconnect": "GB/s",
    "sm_count": "SMs",
    "die_area_mm2": "mm²",
    "launch_year": "year",
}


def prefix(basis: str) -> str:
    """``attr`` for a chip attribute, ``spec`` for a spec basis (the ``BasisVerdict.basis`` prefix)."""
    return "attr" if basis in ATTR_BASES else "spec"


def ratios(a: Chip, b: Chip) -> dict[str, BasisRatio]:
    """The spec ratios a/b by basis."""
    return {r.basis: r for r in spec_ratios(a, b)}


def value(chip: Chip, basis: str) -> float | None:
    """One chip's figure on a basis, None when unknown."""
    if basis in ATTR_BASES:
        v = getattr(chip, basis)
        return None if v is None else float(v)
    (own,) = spec_ratios(chip, chip, (basis,))
    return None if own.a_value is None else float(own.a_value)


def pair_values(
    a: Chip, b: Chip, basis: str, spec: dict[str, BasisRatio]
) -> tuple[float | None, float | None, float | None, str | None]:
    """(a_value, b_value, ratio, reason) for a pair on one basis; ratio None when a figure is missing.

    ``spec`` is :func:`ratios` of the pair. ``launch_year`` has values but no ratio.
    """
    if basis not in ATTR_BASES:
        br = spec[basis]
        return br.a_value, br.b_value, br.ratio, br.reason
    va, vb = value(a, basis), value(b, basis)
    if va is None or vb is None:
        missing = [c.id for c, v in ((a, va), (b, vb)) if v is None]
        return va, vb, None, f"{basis} unknown for {', '.join(missing)}"
    r = None if basis == "launch_year" or not vb else va / vb
    return va, vb, r, None
