"""Load and validate ``chips.toml``; look chips up by id, alias or driver device name.

A malformed file raises :class:`~gpucompare.errors.SpecError` with ONE message naming the file, the chip
and the field (``chips.toml: chip 'h100-sxm', field 'peaks.bf16': ...``). Lookup never guesses: a name
is normalised (case-folded, spaces, dashes and underscores removed) and must equal the normalised id,
name, an alias or a driver name of exactly one chip; otherwise :class:`UnknownChipError` lists close
candidates. ``"NVIDIA H100 PCIe"`` therefore never resolves to the SXM part, and ``"NVIDIA H100 NVL"``
(not in the database) resolves to nothing.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gpucompare.errors import SpecError, UnknownChipError
from gpucompare.specs.chip import CONFIDENCES, DTYPES, Chip, FieldSource

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PATH = Path(__file__).with_name("chips.toml")
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
)
INT_FIELDS = ("sm_count", "launch_year")
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
OPTIONAL = ("architecture", "aliases", "driver_names", "memory_type", "sm_count", "boost_clock_mhz", "peak_clock_mhz", "notes")
SOURCE_KEYS = ("title", "url", "publisher", "date", "confidence")
OVERRIDE_KEYS = ("value", "source", "confidence", "note")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Memory reported at run time (total bytes / 1e9) vs the vendor capacity: ECC reservations and the
# GB/GiB ambiguity move it by up to ~10 %; a different SKU (H100 NVL 94 GB vs SXM 80 GB) moves it by more.
MEMORY_TOLERANCE = 0.12


def normalize(name: str) -> str:
    """Lookup key: case-folded; whitespace, dashes, underscores removed (``"H100-PCIe"`` → ``"h100pcie"``)."""
    return re.sub(r"[\s\-_]+", "", name).casefold()


@dataclass(frozen=True)
class DeviceMatch:
    """Result of :func:`match_device`: the chip (or None) and the reason, in words."""

    chip: Chip | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.chip is not None


class _Validator:
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

    # -- sources ---------------------------------------------------------------------------------------
    def sources(self) -> dict[str, dict[str, str]]:
        raw = self.data.get("sources")
        if not isinstance(raw, dict) or not raw:
            raise self.fail("missing [sources] table (source id -> title, url, publisher, date, confidence)")
        out: dict[str, dict[str, str]] = {}
        for sid, entry in raw.items():
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
                    f"source {sid!r}: confidence {entry['confidence']!r} is not one of "
                    f"{', '.join(CONFIDENCES)}"
                )
            out[sid] = dict(entry)
        return out

    # -- one figure ------------------------------------------------------------------------------------
    def figure(
        self,
        raw: Any,
        cid: str,
        fld: str,
        default_src: str,
        sources: Mapping[str, dict],
        sentinels: tuple[str, ...],
    ) -> tuple[Any, FieldSource]:
        """Parse a figure: number, sentinel string, or {value, source, confidence, note}."""
        src_id, conf, note = default_src, None, None
        value = raw
        if isinstance(raw, dict):
            extra = set(raw) - set(OVERRIDE_KEYS)
            if extra:
                raise self.fail(
                    f"unknown key(s) {sorted(extra)}; allowed: {', '.join(OVERRIDE_KEYS)}", cid, fld
                )
            if "value" not in raw:
                raise self.fail("table without 'value'", cid, fld)
            value = raw["value"]
            src_id = raw.get("source", default_src)
            conf = raw.get("confidence")
            note = raw.get("note")
            if note is not None and not isinstance(note, str):
                raise self.fail("'note' must be a string", cid, fld)
        if src_id not in sources:
            raise self.fail(f"unknown source {src_id!r} (not in [sources])", cid, fld)
        if conf is None:
            conf = sources[src_id]["confidence"]
        elif conf not in CONFIDENCES:
            raise self.fail(f"confidence {conf!r} is not one of {', '.join(CONFIDENCES)}", cid, fld)
        s = sources[src_id]
        fs = FieldSource(src_id, s["title"], s["url"], s["publisher"], conf, note)
        if isinstance(value, str):
            if value not in sentinels:
                allowed = " or ".join(repr(x) for x in sentinels)
                raise self.fail(f"got the string {value!r}; expected a number or {allowed}", cid, fld)
            return value, fs
        return self.number(value, cid, fld), fs

    def number(self, value: Any, cid: str, fld: str) -> float | int:
        key = "peaks" if fld.startswith("peaks.") else fld
        lo, hi, unit = RANGES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"expected a number ({unit}), got {value!r}", cid, fld)
        if key in INT_FIELDS and not isinstance(value, int):
            raise self.fail(f"expected an integer, got {value!r}", cid, fld)
        if not math.isfinite(value) or value <= 0:
            raise self.fail(f"must be a positive number ({unit}), got {value!r}", cid, fld)
        if not lo <= value <= hi:
            raise self.fail(f"{value!r} {unit} is outside the plausible range {lo:g}-{hi:g} {unit}", cid, fld)
        return value

    # -- one chip --------------------------------------------------------------------------------------
    def chip(self, raw: Any, index: int, sources: Mapping[str, dict]) -> Chip:
        if not isinstance(raw, dict):
            raise self.fail(f"chips[{index}] must be a table")
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
        names: dict[str, tuple[str, ...]] = {}
        for key in ("aliases", "driver_names"):
            val = raw.get(key, [])
            if not isinstance(val, list) or not all(isinstance(v, str) and v.strip() for v in val):
                raise self.fail("must be a list of non-empty strings", cid, key)
            names[key] = tuple(val)
        fsrc: dict[str, FieldSource] = {}

        # peaks: every dtype written out, nothing else
        peaks_raw = raw["peaks"]
        if not isinstance(peaks_raw, dict):
            raise self.fail("must be a table of dtype -> figure", cid, "peaks")
        for d in peaks_raw:
            if d not in DTYPES:
                raise self.fail(f"unknown dtype {d!r}; known: {', '.join(DTYPES)}", cid, f"peaks.{d}")
        peaks: dict[str, float | None] = {}
        unsupported: set[str] = set()
        for d in DTYPES:
            fld = f"peaks.{d}"
            if d not in peaks_raw:
                raise self.fail('missing (write a number, "unknown" or "unsupported")', cid, fld)
            val, fs = self.figure(peaks_raw[d], cid, fld, default_src, sources, (UNKNOWN, UNSUPPORTED))
            fsrc[fld] = fs
            if val == UNSUPPORTED:
                unsupported.add(d)
                peaks[d] = None
            else:
                peaks[d] = None if val == UNKNOWN else float(val)

        scalars: dict[str, Any] = {}
        interconnect = "known"
        for key in NUMERIC_FIELDS:
            if key not in raw:  # optional numeric fields absent = unknown
                scalars[key] = None
                continue
            sentinels = (UNKNOWN, NONE) if key == "interconnect_gbps" else (UNKNOWN,)
            val, fs = self.figure(raw[key], cid, key, default_src, sources, sentinels)
            fsrc[key] = fs
            if key == "interconnect_gbps" and isinstance(val, str):
                interconnect = val
            scalars[key] = None if isinstance(val, str) else val
        mem_type = raw.get("memory_type")
        if mem_type is not None and (not isinstance(mem_type, str) or not mem_type.strip()):
            raise self.fail("must be a non-empty string", cid, "memory_type")
        for key in ("architecture", "notes"):
            if key in raw and not isinstance(raw[key], str):
                raise self.fail("must be a string", cid, key)
        return Chip(
            id=cid,
            name=raw["name"],
            vendor=raw["vendor"],
            architecture=raw.get("architecture"),
            launch_year=scalars["launch_year"],
            peak_tflops=MappingProxyType(peaks),
            unsupported=frozenset(unsupported),
            memory_gb=_float(scalars["memory_gb"]),
            memory_type=None if mem_type in (None, UNKNOWN) else mem_type,
            bandwidth_tbps=_float(scalars["bandwidth_tbps"]),
            interconnect_gbps=_float(scalars["interconnect_gbps"]),
            interconnect=interconnect,
            tdp_w=_float(scalars["tdp_w"]),
            die_area_mm2=_float(scalars["die_area_mm2"]),
            sm_count=scalars["sm_count"],
            boost_clock_mhz=_float(scalars["boost_clock_mhz"]),
            peak_clock_mhz=_float(scalars["peak_clock_mhz"]),
            aliases=names["aliases"],
            driver_names=names["driver_names"],
            sources=MappingProxyType(fsrc),
            notes=raw.get("notes"),
        )

    def run(self) -> tuple[list[Chip], dict[str, dict[str, str]], dict]:
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
        sources = self.sources()
        raw_chips = self.data.get("chips")
        if not isinstance(raw_chips, list) or not raw_chips:
            raise self.fail("no [[chips]] entries")
        chips = [self.chip(raw, i, sources) for i, raw in enumerate(raw_chips)]
        return chips, sources, meta


class ChipDB:
    """The validated database: chips in file order, the sources table, and the lookup index."""

    def __init__(
        self,
        chips: list[Chip],
        sources: Mapping[str, Mapping[str, str]],
        meta: Mapping,
        where: str = "chips.toml",
    ):
        self.chips: tuple[Chip, ...] = tuple(chips)
        self.sources = MappingProxyType(dict(sources))
        self.meta = MappingProxyType(dict(meta))
        self._by_id: dict[str, Chip] = {}
        self._index: dict[str, str] = {}  # normalised name -> chip id
        self._labels: dict[str, str] = {}  # normalised name -> how it is written (for candidates)
        for chip in self.chips:
            if chip.id in self._by_id:
                raise SpecError(f"{where}, chip {chip.id!r}, field 'id': duplicate id")
            self._by_id[chip.id] = chip
        for chip in self.chips:
            entries = [("id", chip.id), ("name", chip.name)]
            entries += [("aliases", a) for a in chip.aliases]
            entries += [("driver_names", n) for n in chip.driver_names]
            for fld, label in entries:
                key = normalize(label)
                owner = self._index.get(key)
                if owner is not None and owner != chip.id:
                    raise SpecError(
                        f"{where}, chip {chip.id!r}, field {fld!r}: {label!r} is already a name "
                        f"of chip {owner!r} (names must be unique, ignoring case, spaces, dashes)"
                    )
                self._index[key] = chip.id
                self._labels.setdefault(key, label)

    def __iter__(self) -> Iterator[Chip]:
        return iter(self.chips)

    def __len__(self) -> int:
        return len(self.chips)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.chips]

    def find(self, name: str) -> Chip | None:
        """Exact lookup by id, name, alias or driver name (normalised); None when nothing matches."""
        if not isinstance(name, str):
            raise ValueError(f"chip name must be a string, got {type(name).__name__}")
        key = normalize(name)
        cid = self._index.get(key)
        if cid is None:
            # "NVIDIA H200 SXM" -> "H200 SXM": a vendor prefix is not part of the identity.
            for chip_vendor in {c.vendor for c in self.chips}:
                prefix = normalize(chip_vendor)
                if key.startswith(prefix) and len(key) > len(prefix):
                    cid = self._index.get(key[len(prefix) :])
                    if cid is not None and self._by_id[cid].vendor == chip_vendor:
                        break
                    cid = None
        return None if cid is None else self._by_id[cid]

    def candidates(self, name: str, n: int = 5) -> list[str]:
        """Ids of up to ``n`` chips closest to ``name``, best first.

        Score per chip: the best difflib ratio between the normalised name and any of the chip's names,
        plus 0.25 per word shared with them (so "NVIDIA H100 NVL" lists the H100 parts and the H200 NVL).
        """
        key = normalize(name)
        tokens = {t for t in re.split(r"[\s\-_]+", name.casefold()) if len(t) >= 2 and t != "nvidia"}
        scored: list[tuple[float, int, str]] = []
        for pos, chip in enumerate(self.chips):
            labels = (chip.id, chip.name, *chip.aliases, *chip.driver_names)
            ratio = max(difflib.SequenceMatcher(None, key, normalize(lbl)).ratio() for lbl in labels)
            words = {w for lbl in labels for w in re.split(r"[\s\-_]+", lbl.casefold())}
            score = ratio + 0.25 * len(tokens & words)
            if score >= 0.6:
                scored.append((-score, pos, chip.id))
        return [cid for _, _, cid in sorted(scored)[:n]]

    def get(self, name: str) -> Chip:
        """The chip named ``name``; raises :class:`UnknownChipError` with close candidates otherwise."""
        chip = self.find(name)
        if chip is None:
            raise UnknownChipError(name, self.candidates(name))
        return chip

    def match_device(
        self, name: str, sm_count: int | None = None, memory_gb: float | None = None
    ) -> DeviceMatch:
        """Resolve a driver device name and cross-check what the device reports.

        ``memory_gb`` is the device's total memory in GB (bytes / 1e9); it must be within
        ``MEMORY_TOLERANCE`` (12 %) of the chip's capacity. ``sm_count`` must equal the chip's SM count
        exactly. A check is skipped when the database does not know the figure (the reason says so).
        """
        chip = self.find(name)
        if chip is None:
            cands = self.candidates(name)
            hint = f"; closest: {', '.join(cands)}" if cands else ""
            return DeviceMatch(None, f"no chip in the database is named {name!r}{hint}")
        notes = [f"{name!r} is {chip.id}"]
        if sm_count is not None:
            if chip.sm_count is None:
                notes.append("SM count not checked (unknown in the database)")
            elif int(sm_count) != chip.sm_count:
                return DeviceMatch(
                    None,
                    f"{name!r} names {chip.id}, but the device has {sm_count} SMs and "
                    f"{chip.id} has {chip.sm_count}: a different SKU, not matched",
                )
            else:
                notes.append(f"{sm_count} SMs agree")
        if memory_gb is not None:
            if memory_gb <= 0:
                raise ValueError(f"memory_gb must be positive, got {memory_gb!r}")
            if chip.memory_gb is None:
                notes.append("memory not checked (unknown in the database)")
            else:
                rel = abs(memory_gb - chip.memory_gb) / chip.memory_gb
                if rel > MEMORY_TOLERANCE:
                    return DeviceMatch(
                        None,
                        f"{name!r} names {chip.id}, but the device has {memory_gb:.1f} GB and "
                        f"{chip.id} has {chip.memory_gb:g} GB ({rel:.0%} apart, more than "
                        f"{MEMORY_TOLERANCE:.0%}): a different SKU, not matched",
                    )
                notes.append(f"{memory_gb:.1f} GB agrees with {chip.memory_gb:g} GB")
        return DeviceMatch(chip, "; ".join(notes))


def _float(v: float | int | None) -> float | None:
    return None if v is None else float(v)


def _read(path: Path) -> ChipDB:
    where = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read chip database {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML: {exc}") from None
    chips, sources, meta = _Validator(data, where).run()
    return ChipDB(chips, sources, meta, where)


@lru_cache(maxsize=1)
def _default_db() -> ChipDB:
    return _read(DEFAULT_PATH)


def load_chips(path: str | Path | None = None) -> ChipDB:
    """Load and validate a chip database; the packaged ``chips.toml`` (cached) when ``path`` is None."""
    if path is None:
        return _default_db()
    return _read(Path(path))


def all_chips() -> list[Chip]:
    """Every chip of the packaged database, in file order."""
    return list(load_chips().chips)


def get_chip(name: str) -> Chip:
    """Chip by id, alias (case/space/dash-insensitive) or driver device name; UnknownChipError otherwise."""
    return load_chips().get(name)


def match_device(name: str, sm_count: int | None = None, memory_gb: float | None = None) -> DeviceMatch:
    """:meth:`ChipDB.match_device` on the packaged database."""
    return load_chips().match_device(name, sm_count=sm_count, memory_gb=memory_gb)
