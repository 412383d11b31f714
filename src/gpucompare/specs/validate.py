"""Validation of the parsed ``chips.toml``: the schema, the plausible ranges, and the figure syntax.

:class:`Validator` turns the parsed TOML into :class:`~gpucompare.specs.chip.Chip` records and fails on the
first problem with ONE message naming the file, the chip and the field
(``chips.toml, chip 'h100-sxm', field 'peaks.bf16': ...``). Each group of fields has its own small reader
(:class:`_ChipReader`): identity, names, peaks, numeric figures, strings.

A figure is a number, a sentinel string (``"unknown"``; ``"unsupported"`` for peaks; ``"none"`` for the
interconnect) or a table ``{value, source, confidence, note}`` overriding the chip's default source. An
unknown peak may carry ``at_most``, a sourced upper bound (it decides whether the unknown peak can change the
TPP). ``market`` is ``"datacenter"``, ``"non-datacenter"`` or ``"unknown"`` (Note 2 to 3A090).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gpucompare.errors import SpecError
from gpucompare.specs.chip import CONFIDENCES, DTYPES, LINK_KINDS, MARKETS, Chip, FieldSource
from gpucompare.values import is_number

SCHEMA_VERSION = 1

UNKNOWN = "unknown"
UNSUPPORTED = "unsupported"
NONE = "none"

# field -> (low, high, unit) plausible range, bounds inclusive; value must also be > 0.
RANGES: Mapping[str, tuple[float, float, str]] = MappingProxyType(
    {
        "peaks": (0.0, 50_000.0, "TFLOP/s"),
        "memory_gb": (1.0, 1_000.0, "GB"),
        "bandwidth_tbps": (0.1, 20.0, "TB/s"),
        "interconnect_gbps": (1.0, 20_000.0, "GB/s"),
        "tdp_w": (10.0, 3_000.0, "W"),
        "die_area_mm2": (20.0, 2_500.0, "mm^2"),
        "sm_count": (1, 1_000, "SMs"),
        "boost_clock_mhz": (100.0, 5_000.0, "MHz"),
        "peak_clock_mhz": (100.0, 5_000.0, "MHz"),
        "launch_year": (2015, 2030, "year"),
        "pcie_gen": (1, 7, "PCIe generation"),
    }
)
NUMERIC_FIELDS = (
    "memory_gb",
    "bandwidth_tbps",
    "interconnect_gbps",
    "tdp_w",
    "die_area_mm2",
    "sm_count",
    "boost_clock_mhz",
    "peak_clock_mhz",
    "launch_year",
    "pcie_gen",
)
INT_FIELDS = ("sm_count", "launch_year", "pcie_gen")
REQUIRED = (
    "id",
    "name",
    "vendor",
    "source",
    "launch_year",
    "peaks",
    "memory_gb",
    "bandwidth_tbps",
    "interconnect_gbps",
    "tdp_w",
    "die_area_mm2",
)
OPTIONAL = (
    "architecture",
    "aliases",
    "driver_names",
    "memory_type",
    "sm_count",
    "boost_clock_mhz",
    "peak_clock_mhz",
    "market",
    "notes",
    "link_kind",
    "pcie_gen",
)
SOURCE_KEYS = ("title", "url", "publisher", "date", "confidence")
OVERRIDE_KEYS = ("value", "source", "confidence", "note", "at_most")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class Validator:
    """Turns the parsed TOML into Chip records, failing on the first problem with one message."""

    def __init__(self, data: Mapping[str, Any], where: str):
        self.data = data
        self.where = where

    def fail(self, msg: str, chip: str | None = None, fld: str | None = None) -> SpecError:
        parts = [self.where]
        if chip is not None:
            parts.append(f"chip {chip!r}")
        if fld is not None:
            parts.append(f"field {fld!r}")
        return SpecError(f"{', '.join(parts)}: {msg}")

    # -- the file --------------------------------------------------------------------------------------
    def run(self) -> tuple[list[Chip], dict[str, dict[str, str]], dict]:
        meta = self.meta()
        sources = self.sources()
        raw_chips = self.data.get("chips")
        if not isinstance(raw_chips, list) or not raw_chips:
            raise self.fail("no [[chips]] entries")
        chips = [self.chip(raw, i, sources) for i, raw in enumerate(raw_chips)]
        return chips, sources, meta

    def meta(self) -> dict:
        meta = self.data.get("meta", {})
        if not isinstance(meta, dict):
            raise self.fail("[meta] must be a table")
        if "schema_version" not in meta:
            raise self.fail(f"[meta] schema_version missing (expected {SCHEMA_VERSION})")
        version = meta["schema_version"]
        if version != SCHEMA_VERSION:
            raise self.fail(f"schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
        extra = set(self.data) - {"meta", "sources", "chips"}
        if extra:
            raise self.fail(f"unknown top-level key(s) {sorted(extra)}")
        return meta

    def sources(self) -> dict[str, dict[str, str]]:
        raw = self.data.get("sources")
        if not isinstance(raw, dict) or not raw:
            raise self.fail("missing [sources] table (source id -> title, url, publisher, date, confidence)")
        return {sid: self.source(sid, entry) for sid, entry in raw.items()}

    def source(self, sid: str, entry: Any) -> dict[str, str]:
        if not isinstance(entry, dict):
            raise self.fail(f"source {sid!r} must be a table")
        for key in SOURCE_KEYS:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise self.fail(f"source {sid!r}: missing or empty {key!r}")
        extra = set(entry) - set(SOURCE_KEYS)
        if extra:
            raise self.fail(f"source {sid!r}: unknown key(s) {sorted(extra)}")
        if entry["confidence"] not in CONFIDENCES:
            raise self.fail(
                f"source {sid!r}: confidence {entry['confidence']!r} is not one of {', '.join(CONFIDENCES)}"
            )
        return dict(entry)

    # -- one chip --------------------------------------------------------------------------------------
    def chip(self, raw: Any, index: int, sources: Mapping[str, dict]) -> Chip:
        if not isinstance(raw, dict):
            raise self.fail(f"chips[{index}] must be a table")
        r = _ChipReader(self, raw, self.identity(raw, index, sources), sources)
        aliases, driver_names = r.names("aliases"), r.names("driver_names")
        peaks, unsupported, bounds = r.peaks()
        scalars, interconnect = r.scalars()
        memory_type = r.strings()
        market = r.market()
        link_kind = r.link(interconnect, scalars["pcie_gen"])
        return Chip(
            id=r.cid,
            name=raw["name"],
            vendor=raw["vendor"],
            architecture=raw.get("architecture"),
            launch_year=scalars["launch_year"],
            peak_tflops=MappingProxyType(peaks),
            unsupported=frozenset(unsupported),
            memory_gb=_float(scalars["memory_gb"]),
            memory_type=memory_type,
            bandwidth_tbps=_float(scalars["bandwidth_tbps"]),
            interconnect_gbps=_float(scalars["interconnect_gbps"]),
            interconnect=interconnect,
            tdp_w=_float(scalars["tdp_w"]),
            die_area_mm2=_float(scalars["die_area_mm2"]),
            sm_count=scalars["sm_count"],
            boost_clock_mhz=_float(scalars["boost_clock_mhz"]),
            peak_clock_mhz=_float(scalars["peak_clock_mhz"]),
            aliases=aliases,
            driver_names=driver_names,
            sources=MappingProxyType(r.fsrc),
            notes=raw.get("notes"),
            peak_bounds=MappingProxyType(bounds),
            market=market,
            link_kind=link_kind,
            pcie_gen=scalars["pcie_gen"],
        )

    def identity(self, raw: Mapping[str, Any], index: int, sources: Mapping[str, dict]) -> str:
        """The chip id, after checking the keys present and the name, vendor and default source."""
        cid = raw.get("id")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            raise self.fail(f"chips[{index}]: 'id' must be a lowercase slug like 'h100-sxm', got {cid!r}")
        for key in REQUIRED:
            if key not in raw:
                raise self.fail('missing (write a value or "unknown")', cid, key)
        extra = set(raw) - set(REQUIRED) - set(OPTIONAL)
        if extra:
            raise self.fail(f"unknown key; allowed: {', '.join(REQUIRED + OPTIONAL)}", cid, sorted(extra)[0])
        for key in ("name", "vendor"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise self.fail("must be a non-empty string", cid, key)
        default_src = raw["source"]
        if not isinstance(default_src, str) or default_src not in sources:
            raise self.fail(f"unknown source {default_src!r} (not in [sources])", cid, "source")
        return cid

    # -- one figure ------------------------------------------------------------------------------------
    def figure(
        self,
        raw: Any,
        cid: str,
        fld: str,
        default_src: str,
        sources: Mapping[str, dict],
        sentinels: tuple[str, ...],
        numeric: bool = True,
    ) -> tuple[Any, FieldSource]:
        """Parse a figure: number (when ``numeric``), sentinel string, or {value, source, confidence, note}."""
        value, src_id, conf, note = self.override(raw, cid, fld, default_src)
        if not isinstance(src_id, str) or src_id not in sources:
            raise self.fail(f"unknown source {src_id!r} (not in [sources])", cid, fld)
        if conf is None:
            conf = sources[src_id]["confidence"]
        elif not isinstance(conf, str) or conf not in CONFIDENCES:
            raise self.fail(f"confidence {conf!r} is not one of {', '.join(CONFIDENCES)}", cid, fld)
        s = sources[src_id]
        fs = FieldSource(src_id, s["title"], s["url"], s["publisher"], conf, note)
        if isinstance(value, str):
            if value not in sentinels:
                allowed = " or ".join(repr(x) for x in sentinels)
                raise self.fail(f"got the string {value!r}; expected a number or {allowed}", cid, fld)
            return value, fs
        if not numeric:
            raise self.fail(
                f"expected one of {', '.join(repr(x) for x in sentinels)}, got {value!r}", cid, fld
            )
        return self.number(value, cid, fld), fs

    def override(self, raw: Any, cid: str, fld: str, default_src: str) -> tuple[Any, Any, Any, Any]:
        """``(value, source id, confidence or None, note or None)`` of a bare figure or an override table."""
        if not isinstance(raw, dict):
            return raw, default_src, None, None
        extra = set(raw) - set(OVERRIDE_KEYS)
        if extra:
            raise self.fail(f"unknown key(s) {sorted(extra)}; allowed: {', '.join(OVERRIDE_KEYS)}", cid, fld)
        if "value" not in raw:
            raise self.fail("table without 'value'", cid, fld)
        note = raw.get("note")
        if note is not None and not isinstance(note, str):
            raise self.fail("'note' must be a string", cid, fld)
        if "at_most" in raw and (not fld.startswith("peaks.") or raw["value"] != UNKNOWN):
            raise self.fail("'at_most' only bounds an unknown peak", cid, fld)
        return raw["value"], raw.get("source", default_src), raw.get("confidence"), note

    def number(self, value: Any, cid: str, fld: str) -> float | int:
        key = "peaks" if fld.startswith("peaks.") else fld
        lo, hi, unit = RANGES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"expected a number ({unit}), got {value!r}", cid, fld)
        if key in INT_FIELDS and not isinstance(value, int):
            raise self.fail(f"expected an integer, got {value!r}", cid, fld)
        if not is_number(value) or value <= 0:
            raise self.fail(f"must be a positive number ({unit}), got {value!r}", cid, fld)
        if not lo <= value <= hi:
            raise self.fail(f"{value!r} {unit} is outside the plausible range {lo:g}-{hi:g} {unit}", cid, fld)
        return value


class _ChipReader:
    """The field groups of one ``[[chips]]`` entry; every figure read records its source in ``fsrc``."""

    def __init__(self, v: Validator, raw: Mapping[str, Any], cid: str, sources: Mapping[str, dict]):
        self.v = v
        self.raw = raw
        self.cid = cid
        self.sources = sources
        self.default_src: str = raw["source"]
        self.fsrc: dict[str, FieldSource] = {}

    def figure(self, raw: Any, fld: str, sentinels: tuple[str, ...], numeric: bool = True) -> Any:
        val, fs = self.v.figure(raw, self.cid, fld, self.default_src, self.sources, sentinels, numeric)
        self.fsrc[fld] = fs
        return val

    def names(self, key: str) -> tuple[str, ...]:
        """``aliases`` or ``driver_names``: a list of non-empty strings (empty when absent)."""
        val = self.raw.get(key, [])
        if not isinstance(val, list) or not all(isinstance(v, str) and v.strip() for v in val):
            raise self.v.fail("must be a list of non-empty strings", self.cid, key)
        return tuple(val)

    def peaks(self) -> tuple[dict[str, float | None], set[str], dict[str, float]]:
        """Every dtype written out, nothing else: ``(dtype -> dense peak or None, unsupported, bounds)``."""
        peaks_raw = self.raw["peaks"]
        if not isinstance(peaks_raw, dict):
            raise self.v.fail("must be a table of dtype -> figure", self.cid, "peaks")
        for d in peaks_raw:
            if d not in DTYPES:
                raise self.v.fail(f"unknown dtype {d!r}; known: {', '.join(DTYPES)}", self.cid, f"peaks.{d}")
        peaks: dict[str, float | None] = {}
        unsupported: set[str] = set()
        bounds: dict[str, float] = {}
        for d in DTYPES:
            fld = f"peaks.{d}"
            if d not in peaks_raw:
                raise self.v.fail('missing (write a number, "unknown" or "unsupported")', self.cid, fld)
            val = self.figure(peaks_raw[d], fld, (UNKNOWN, UNSUPPORTED))
            if val == UNSUPPORTED:
                unsupported.add(d)
            peaks[d] = None if isinstance(val, str) else float(val)
            bound = peaks_raw[d].get("at_most") if isinstance(peaks_raw[d], dict) else None
            if bound is not None:
                bounds[d] = float(self.v.number(bound, self.cid, fld))
        return peaks, unsupported, bounds

    def scalars(self) -> tuple[dict[str, Any], str]:
        """The numeric fields (None when unknown or absent) and the interconnect status."""
        scalars: dict[str, Any] = {}
        interconnect = "known"
        for key in NUMERIC_FIELDS:
            if key not in self.raw:  # optional numeric fields absent = unknown
                scalars[key] = None
                continue
            sentinels = (UNKNOWN, NONE) if key == "interconnect_gbps" else (UNKNOWN,)
            val = self.figure(self.raw[key], key, sentinels)
            if key == "interconnect_gbps" and isinstance(val, str):
                interconnect = val
            scalars[key] = None if isinstance(val, str) else val
        return scalars, interconnect

    def market(self) -> str | None:
        """``market`` (Note 2 to 3A090): ``"datacenter"``, ``"non-datacenter"``, or None when unknown/absent."""
        if "market" not in self.raw:
            return None
        val = self.figure(self.raw["market"], "market", (*MARKETS, UNKNOWN), numeric=False)
        return None if val == UNKNOWN else val

    def link(self, interconnect: str, pcie_gen: int | None) -> str | None:
        """``link_kind`` (None when absent or unknown): ``"pcie"`` exactly when ``interconnect_gbps`` is
        ``"none"``; a PCIe-only card must state its ``pcie_gen`` (a number or ``"unknown"``)."""
        val = None
        if "link_kind" in self.raw:
            val = self.figure(self.raw["link_kind"], "link_kind", (*LINK_KINDS, UNKNOWN), numeric=False)
            val = None if val == UNKNOWN else val
        if interconnect == NONE and val not in (None, "pcie"):
            raise self.v.fail(
                f"{val!r} with interconnect_gbps = 'none' (PCIe only): use 'pcie'", self.cid, "link_kind"
            )
        if interconnect != NONE and val == "pcie":
            raise self.v.fail("'pcie' needs interconnect_gbps = 'none'", self.cid, "link_kind")
        if interconnect == NONE and "pcie_gen" not in self.raw:
            raise self.v.fail(
                'a PCIe-only card needs its PCIe generation (a number or "unknown")', self.cid, "pcie_gen"
            )
        return val

    def strings(self) -> str | None:
        """Checks ``memory_type``, ``architecture`` and ``notes``; returns the memory type (None if unknown)."""
        mem_type = self.raw.get("memory_type")
        if mem_type is not None and (not isinstance(mem_type, str) or not mem_type.strip()):
            raise self.v.fail("must be a non-empty string", self.cid, "memory_type")
        for key in ("architecture", "notes"):
            if key in self.raw and not isinstance(self.raw[key], str):
                raise self.v.fail("must be a string", self.cid, key)
        return None if mem_type in (None, UNKNOWN) else mem_type


def _float(v: float | int | None) -> float | None:
    return None if v is None else float(v)
