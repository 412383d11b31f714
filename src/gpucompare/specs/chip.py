"""The ``Chip`` record and the export-control metrics derived from its peaks.

Export control (ECCN 3A090, 15 CFR 774, rule released 2023-10-17, effective 2023-11-17):

* Total processing performance ``TPP = 2 · MacTOPS · bit length = TOPS · bit length``, dense, taken as
  the largest over the precisions the chip has: ``TPP = max_d peak_d [TOPS] · BITS[d]`` with
  fp64 → 64, fp32 and tf32 → 32 (tf32 is counted as a 32-bit operation), bf16/fp16 → 16,
  fp8/int8 → 8, fp4 → 4. Example: 300 dense fp16 TFLOP/s · 16 = 4,800.
* Performance density ``PD = TPP / die area [mm²]``.
* 3A090.a: ``TPP ≥ 4800``, or ``TPP ≥ 1600`` and ``PD ≥ 5.92``.
* 3A090.b: ``2400 ≤ TPP < 4800`` and ``1.6 ≤ PD < 5.92``, or ``TPP ≥ 1600`` and ``3.2 ≤ PD < 5.92``.
* otherwise outside 3A090 (``"none"``).
* Note 2 to 3A090: "3A090 does not apply to items that are not designed or marketed for use in datacenters
  and do not have a 'total processing performance' of 4800 or more." It is applied where the chip's
  ``market`` is known; where it is not, a tier that Note 2 could lift (TPP < 4800) is left undecided.

A chip with unknown peaks has only a lower bound on its TPP. The tier is decided only when it is the same
at that lower bound and at the upper bound the unknown peaks allow (an unknown peak with no ``at_most``
bound makes the upper bound infinite): a TPP that could still cross a threshold never decides a tier.
The tier is monotonic in TPP (PD grows with it), so the two ends are enough.

These are derived here from the peaks in ``chips.toml``, never typed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gpucompare.dtypes import BITS, DTYPES  # the one dtype table

CONFIDENCES: tuple[str, ...] = ("official", "reported", "estimated")  # strongest first

# The October 2023 thresholds (TPP in TOPS·bit, PD in TOPS·bit / mm²).
TPP_A = 4800.0
TPP_FLOOR = 1600.0
TPP_B_LOW = 2400.0
PD_A = 5.92
PD_B_LOW = 1.6
PD_B_HIGH_ALT = 3.2

HEADLINE_FIELDS: frozenset[str] = frozenset(
    {f"peaks.{d}" for d in ("fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8")}
    | {"memory_gb", "bandwidth_tbps", "interconnect_gbps"}
)

PeakStatus = Literal["known", "unknown", "unsupported"]
ECCN = Literal["3A090.a", "3A090.b", "none"]
#: What a chip is designed or marketed for (Note 2 to 3A090); None in a Chip = not known.
MARKETS: tuple[str, ...] = ("datacenter", "non-datacenter")
#: The kind of the GPU-to-GPU link ``interconnect_gbps`` describes: NVLink generations (through NVSwitch on
#: SXM boards), an NVLink bridge between 2-4 PCIe cards, Huawei's HCCS, AMD's Infinity Fabric, or PCIe
#: only (``interconnect_gbps = "none"``; ``pcie_gen`` then says which PCIe).
LINK_KINDS: tuple[str, ...] = (
    "nvlink3",
    "nvlink4",
    "nvlink5",
    "nvlink-bridge",
    "hccs",
    "infinity-fabric",
    "pcie",
)


@dataclass(frozen=True)
class FieldSource:
    """Where one figure comes from: the source id and its title/url/publisher, the confidence, a note."""

    source_id: str
    title: str
    url: str
    publisher: str
    confidence: str
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "source": self.source_id,
            "title": self.title,
            "url": self.url,
            "publisher": self.publisher,
            "confidence": self.confidence,
            "note": self.note,
        }


def tpp_from_peaks(peaks: Mapping[str, float | None]) -> float | None:
    """``max_d peak_d · BITS[d]`` over the dtypes with a known dense peak; None when none is known."""
    values = [v * BITS[d] for d, v in peaks.items() if v is not None]
    return max(values) if values else None


def eccn_3a090(tpp: float | None, pd: float | None) -> ECCN | None:
    """The October 2023 ECCN 3A090 tier for a TPP and a performance density.

    Returns None when the answer depends on a figure that is unknown (no TPP; or a TPP between 1,600
    and 4,800 without a die area). Thresholds are inclusive at the lower bound, as in the rule.
    """
    if tpp is None:
        return None
    if tpp >= TPP_A:
        return "3A090.a"
    if tpp < TPP_FLOOR:
        return "none"
    if pd is None:
        return None
    if pd >= PD_A:
        return "3A090.a"
    if (tpp >= TPP_B_LOW and pd >= PD_B_LOW) or pd >= PD_B_HIGH_ALT:
        return "3A090.b"
    return "none"


def eccn_3a090_between(
    tpp_low: float | None,
    tpp_high: float | None,
    die_area_mm2: float | None,
    market: str | None = "datacenter",
) -> ECCN | None:
    """The tier when it is the same for every TPP in ``[tpp_low, tpp_high]``; None otherwise.

    ``tpp_high`` None means unbounded (an unknown peak with no upper bound). ``market`` applies Note 2:
    ``"non-datacenter"`` with TPP < 4800 is outside 3A090; None (market unknown) leaves undecided a tier
    that Note 2 could lift.
    """
    if tpp_low is None:
        return None
    low = _tier_at(tpp_low, die_area_mm2, market)
    high = _tier_at(math.inf if tpp_high is None else tpp_high, die_area_mm2, market)
    return low if low == high else None


def _tier_at(tpp: float, die_area_mm2: float | None, market: str | None) -> ECCN | None:
    if tpp < TPP_A and market == "non-datacenter":
        return "none"  # Note 2
    pd = None if die_area_mm2 is None or math.isinf(tpp) else tpp / die_area_mm2
    tier = eccn_3a090(tpp, pd)
    if tpp < TPP_A and market is None and tier not in (None, "none"):
        return None  # Note 2 would lift it for a part not designed or marketed for datacenters
    return tier


@dataclass(frozen=True, eq=False)
class Chip:
    """One chip of the database. Figures are None when unknown (or, for peaks, unsupported).

    ``peak_tflops[d]`` is the dense peak in TFLOP/s (TOPS for int8); ``unsupported`` names the dtypes
    the hardware lacks, so ``peak_status`` can tell "unknown" from "unsupported". ``sources`` maps a
    field name (``"peaks.bf16"``, ``"bandwidth_tbps"``, ...) to its :class:`FieldSource`.
    ``interconnect`` is ``"known"``, ``"unknown"`` or ``"none"`` (no NVLink-class link).
    ``interconnect_gbps`` is the aggregate of both directions per GPU (NVLink 4: 900 = 450 each way;
    :attr:`interconnect_per_direction_gbps`); ``link_kind`` one of :data:`LINK_KINDS` (None: not known);
    ``pcie_gen`` the PCIe generation of the card's host link, where the database has it.
    ``peak_bounds[d]`` is a sourced upper bound on an unknown peak (``at_most`` in ``chips.toml``);
    ``market`` is ``"datacenter"``, ``"non-datacenter"`` or None (unknown), for Note 2 to 3A090.
    """

    id: str
    name: str
    vendor: str
    architecture: str | None
    launch_year: int | None
    peak_tflops: Mapping[str, float | None]
    unsupported: frozenset[str]
    memory_gb: float | None
    memory_type: str | None
    bandwidth_tbps: float | None
    interconnect_gbps: float | None
    interconnect: Literal["known", "unknown", "none"]
    tdp_w: float | None
    die_area_mm2: float | None
    sm_count: int | None
    boost_clock_mhz: float | None
    # The clock at which the vendor's tensor-core peaks are computed (H100 SXM: 1830 MHz, below its 1980 boost);
    # None when not published. Clock-aware efficiency divides by this, not by the boost clock.
    peak_clock_mhz: float | None
    aliases: tuple[str, ...] = ()
    driver_names: tuple[str, ...] = ()
    sources: Mapping[str, FieldSource] = field(default_factory=dict, repr=False)
    notes: str | None = field(default=None, repr=False)
    peak_bounds: Mapping[str, float] = field(default_factory=dict, repr=False)
    market: str | None = None
    link_kind: str | None = None
    pcie_gen: int | None = None

    @property
    def interconnect_per_direction_gbps(self) -> float | None:
        """GB/s one way per GPU: half the aggregate ``interconnect_gbps`` (None when unknown or none)."""
        return None if self.interconnect_gbps is None else self.interconnect_gbps / 2

    def peak_status(self, dtype: str) -> PeakStatus:
        """``"known"``, ``"unknown"`` or ``"unsupported"`` for one dtype of :data:`DTYPES`."""
        if dtype not in BITS:
            raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
        if dtype in self.unsupported:
            return "unsupported"
        return "known" if self.peak_tflops.get(dtype) is not None else "unknown"

    def peak(self, dtype: str) -> float | None:
        """Dense peak for ``dtype`` (TFLOP/s, TOPS for int8), None when unknown or unsupported."""
        self.peak_status(dtype)  # validates the name
        return self.peak_tflops.get(dtype)

    def is_known(self, field_name: str) -> bool:
        """Whether a field (``"peaks.bf16"``, ``"memory_gb"``, ...) holds a known figure."""
        if field_name.startswith("peaks."):
            return self.peak_status(field_name.removeprefix("peaks.")) == "known"
        return getattr(self, field_name, None) is not None

    @property
    def tpp(self) -> float | None:
        """Total processing performance: max over known dense peaks of TOPS × bit length.

        A lower bound when some supported dtype's peak is unknown (see :attr:`tpp_is_lower_bound`).
        """
        return tpp_from_peaks(self.peak_tflops)

    @property
    def tpp_upper(self) -> float | None:
        """The largest TPP the unknown peaks allow: max over known peaks and ``at_most`` bounds × bits.

        None when some supported dtype's peak is unknown with no bound (the TPP is then unbounded above).
        """
        values = []
        for d in DTYPES:
            status = self.peak_status(d)
            if status == "unknown":
                bound = self.peak_bounds.get(d)
                if bound is None:
                    return None
                values.append(bound * BITS[d])
            elif status == "known":
                values.append(self.peak_tflops[d] * BITS[d])
        return max(values) if values else None

    @property
    def tpp_is_lower_bound(self) -> bool:
        """True when an unknown peak could make the true TPP larger than :attr:`tpp`.

        False when every unknown peak has an ``at_most`` bound that cannot change the maximum.
        """
        upper = self.tpp_upper
        if upper is None:
            return any(self.peak_status(d) == "unknown" for d in DTYPES)
        tpp = self.tpp
        return tpp is None or upper > tpp

    @property
    def performance_density(self) -> float | None:
        """TPP / die area (mm²); None when either is unknown."""
        tpp = self.tpp
        if tpp is None or self.die_area_mm2 is None:
            return None
        return tpp / self.die_area_mm2

    @property
    def eccn_3a090(self) -> ECCN | None:
        """ECCN 3A090 tier under the October 2023 rule, None when it cannot be decided.

        Decided only when the unknown peaks cannot move the TPP across a threshold, and applying Note 2
        where the chip's market is known (see :func:`eccn_3a090_between`).
        """
        return eccn_3a090_between(self.tpp, self.tpp_upper, self.die_area_mm2, self.market)

    @property
    def confidence(self) -> str | None:
        """The chip's overall confidence: the weakest over its known headline figures.

        Headline figures (:data:`HEADLINE_FIELDS`) are those the roofline and the claims use: the tensor
        and fp32 peaks, memory capacity and bandwidth, interconnect. fp64, SM count, clocks, die area and
        year carry their own confidence in ``sources`` but do not lower the chip's overall one.
        """
        levels = [s.confidence for k, s in self.sources.items() if k in HEADLINE_FIELDS and self.is_known(k)]
        if not levels:
            return None
        return max(levels, key=CONFIDENCES.index)

    def to_dict(self) -> dict:
        """A JSON-ready dict (the ``gpucompare specs --json`` object)."""
        pd = self.performance_density
        return {
            "id": self.id,
            "name": self.name,
            "vendor": self.vendor,
            "architecture": self.architecture,
            "launch_year": self.launch_year,
            "aliases": list(self.aliases),
            "driver_names": list(self.driver_names),
            "peak_tflops": {d: self.peak_tflops.get(d) for d in DTYPES},
            "peak_status": {d: self.peak_status(d) for d in DTYPES},
            "unsupported": [d for d in DTYPES if d in self.unsupported],
            "memory_gb": self.memory_gb,
            "memory_type": self.memory_type,
            "bandwidth_tbps": self.bandwidth_tbps,
            "interconnect_gbps": self.interconnect_gbps,
            "interconnect": self.interconnect,
            "interconnect_per_direction_gbps": self.interconnect_per_direction_gbps,
            "link_kind": self.link_kind,
            "pcie_gen": self.pcie_gen,
            "tdp_w": self.tdp_w,
            "die_area_mm2": self.die_area_mm2,
            "sm_count": self.sm_count,
            "boost_clock_mhz": self.boost_clock_mhz,
            "peak_clock_mhz": self.peak_clock_mhz,
            "tpp": self.tpp,
            "tpp_is_lower_bound": self.tpp_is_lower_bound,
            "tpp_upper": self.tpp_upper,
            "peak_bounds": {d: self.peak_bounds[d] for d in DTYPES if d in self.peak_bounds},
            "market": self.market,
            "performance_density": None if pd is None else round(pd, 4),
            "eccn_3a090": self.eccn_3a090,
            "confidence": self.confidence,
            "sources": {k: v.to_dict() for k, v in self.sources.items()},
            "notes": self.notes,
        }
