"""Test helpers importable from every test module (``from support import make_chip``).

Tests build chips with :func:`make_chip` (a real :class:`gpucompare.specs.Chip`, not a stand-in), so a
change to the chip record is seen by every test at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gpucompare import dtypes
from gpucompare.specs import Chip, FieldSource

#: Float dtypes the kernels accept on every device (fp8/tf32 need a capable GPU).
FLOAT_DTYPES = dtypes.STORAGE_FLOATS


def make_chip(
    id: str,
    peaks: Mapping[str, float | None],
    bandwidth_tbps: float | None,
    peak_clock_mhz: float | None = None,
    *,
    unsupported: Iterable[str] = (),
    name: str | None = None,
    aliases: Iterable[str] = (),
    vendor: str = "NVIDIA",
    memory_gb: float | None = None,
    interconnect_gbps: float | None = None,
    die_area_mm2: float | None = None,
    sm_count: int | None = None,
    boost_clock_mhz: float | None = None,
    sources: Mapping[str, Mapping[str, str] | FieldSource] | None = None,
    **fields,
) -> Chip:
    """A real ``Chip`` with the given figures; every other figure unknown.

    ``peaks`` may name any dtype of the table; the others are unknown, or unsupported when listed in
    ``unsupported``. ``sources`` maps a field to a ``FieldSource`` or a dict with ``source`` and
    ``confidence`` (title/url/publisher default to the source id).
    """
    srcs = {}
    for key, s in (sources or {}).items():
        if isinstance(s, FieldSource):
            srcs[key] = s
        else:
            sid = s.get("source", "test")
            srcs[key] = FieldSource(
                sid,
                s.get("title", sid),
                s.get("url", ""),
                s.get("publisher", ""),
                s.get("confidence", "official"),
            )
    return Chip(
        id=id,
        name=name or id,
        vendor=vendor,
        architecture=fields.pop("architecture", None),
        launch_year=fields.pop("launch_year", None),
        peak_tflops={d: peaks.get(d) for d in dtypes.DTYPES},
        unsupported=frozenset(unsupported),
        memory_gb=memory_gb,
        memory_type=fields.pop("memory_type", None),
        bandwidth_tbps=bandwidth_tbps,
        interconnect_gbps=interconnect_gbps,
        interconnect=fields.pop("interconnect", "known" if interconnect_gbps is not None else "unknown"),
        tdp_w=fields.pop("tdp_w", None),
        die_area_mm2=die_area_mm2,
        sm_count=sm_count,
        boost_clock_mhz=boost_clock_mhz,
        peak_clock_mhz=peak_clock_mhz,
        aliases=tuple(aliases),
        driver_names=tuple(fields.pop("driver_names", ())),
        sources=srcs,
        notes=fields.pop("notes", None),
        **fields,
    )


def make_db(*chips: Chip):
    """A ``ChipDB`` over the given chips (the one resolver: ``db.find`` / ``db.get``)."""
    from gpucompare.specs import ChipDB

    return ChipDB(list(chips), {}, {}, "test chips")
