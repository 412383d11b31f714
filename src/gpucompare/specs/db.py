"""Load ``chips.toml`` (validated by :mod:`gpucompare.specs.validate`); look chips up by id, alias or driver
device name.

A malformed file (unreadable, not UTF-8, not TOML, or failing the schema) raises :class:`~gpucompare.errors.SpecError` with ONE message naming the file, the chip
and the field (``chips.toml: chip 'h100-sxm', field 'peaks.bf16': ...``). Lookup never guesses: a name
is normalised (case-folded, spaces, dashes and underscores removed) and must equal the normalised id,
name, an alias or a driver name of exactly one chip; otherwise :class:`UnknownChipError` lists close
candidates. ``"NVIDIA H100 PCIe"`` therefore never resolves to the SXM part, and ``"NVIDIA H100 NVL"``
(not in the database) resolves to nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from gpucompare.errors import SpecError, UnknownChipError
from gpucompare.files import read_toml
from gpucompare.specs.chip import Chip
from gpucompare.specs.validate import Validator

DEFAULT_PATH = Path(__file__).with_name("chips.toml")

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


def _read(path: Path) -> ChipDB:
    data, where = read_toml(path, SpecError, "chip database", where=path.name)
    chips, sources, meta = Validator(data, where).run()
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
