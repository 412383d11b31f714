"""Load ``chips.toml`` (validated by :mod:`gpucompare.specs.validate`); look chips up by id, alias or driver
device name.

A malformed file (unreadable, not UTF-8, not TOML, or failing the schema) raises :class:`~gpucompare.errors.SpecError` with ONE message naming the file, the chip
and the field (``chips.toml: chip 'h100-sxm', field 'peaks.bf16': ...``). Lookup never guesses: a name
is normalised (case-folded, spaces, dashes and underscores removed) and must equal the normalised id,
name, an alias or a driver name of exactly one chip; otherwise :class:`UnknownChipError` lists close
candidates, ranked within the same family first. ``"NVIDIA H100 PCIe"`` therefore never resolves to the SXM
part, and ``"NVIDIA H100 NVL"`` (not in the database) resolves to nothing.

At run time (:meth:`ChipDB.match_device`) a device is resolved by its driver name, or by another name only
with an SM count and a memory size that agree: a bare alias ("H100", "A800") names a family of SKUs. A MIG
instance ("NVIDIA H100 80GB HBM3 MIG 1g.10gb") is never matched: a slice is not the chip.
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
        self._via: dict[str, str] = {}  # normalised name -> the field it comes from (driver_names last, wins)
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
                self._via[key] = fld
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
        return self._lookup(name)[0]

    def _lookup(self, name: str) -> tuple[Chip | None, str | None]:
        """``(chip, field)``: the chip a name resolves to and the field it matched (``"driver_names"``, ...)."""
        if not isinstance(name, str):
            raise ValueError(f"chip name must be a string, got {type(name).__name__}")
        key = normalize(name)
        if key in self._index:
            return self._by_id[self._index[key]], self._via[key]
        # "NVIDIA H200 SXM" -> "H200 SXM": a vendor prefix is not part of the identity.
        for chip_vendor in {c.vendor for c in self.chips}:
            prefix = normalize(chip_vendor)
            rest = key[len(prefix) :]
            if key.startswith(prefix) and rest in self._index:
                chip = self._by_id[self._index[rest]]
                if chip.vendor == chip_vendor:
                    return chip, self._via[rest]
        return None, None

    def candidates(self, name: str, n: int = 5) -> list[str]:
        """Ids of up to ``n`` chips closest to ``name``, best first.

        Chips of the same family come first: the same model ("H100 NVL" -> the H100 parts), then the same
        product line ("RTX 4090" -> the RTX parts, not a data-centre H100); within a rank, by score: the best
        difflib ratio between the normalised name and any of the chip's names, plus 0.25 per word shared
        with them. Chips outside the family need a score of at least 0.6.
        """
        key = normalize(name)
        tokens = {t for t in re.split(r"[\s\-_]+", name.casefold()) if len(t) >= 2 and t != "nvidia"}
        model, line = family(name)
        scored: list[tuple[int, float, int, str]] = []
        for pos, chip in enumerate(self.chips):
            labels = (chip.id, chip.name, *chip.aliases, *chip.driver_names)
            ratio = max(difflib.SequenceMatcher(None, key, normalize(lbl)).ratio() for lbl in labels)
            words = {w for lbl in labels for w in re.split(r"[\s\-_]+", lbl.casefold())}
            score = ratio + 0.25 * len(tokens & words)
            families = [family(lbl) for lbl in labels]
            if model and any(m == model for m, _ in families):
                rank = 0
            elif line and any(ln == line for _, ln in families):
                rank = 1
            elif score >= 0.6:
                rank = 2
            else:
                continue
            scored.append((rank, -score, pos, chip.id))
        return [cid for *_, cid in sorted(scored)[:n]]

    def get(self, name: str) -> Chip:
        """The chip named ``name``; raises :class:`UnknownChipError` with close candidates otherwise, or
        :class:`MigInstanceError` (one) for a MIG instance name, with the reason :meth:`match_device` gives."""
        chip = self.find(name)
        if chip is None:
            mig = MIG_RE.search(name)
            if mig is not None:
                raise MigInstanceError(name, self._mig_reason(name, mig))
            raise UnknownChipError(name, self.candidates(name))
        return chip

    def why(self, name: str) -> str | None:
        """Which chip a name resolves to and why, when other parts' names extend it ("NVIDIA H200" -> the SXM
        part, whose driver name it is, while the NVL part reports "NVIDIA H200 NVL"); None when the name
        leaves no doubt (or resolves to nothing)."""
        chip, via = self._lookup(name)
        if chip is None or via is None:
            return None
        words = _words(name)
        longer = []
        for other in self.chips:
            if other.id == chip.id:
                continue
            labels = (other.name, *other.aliases, *other.driver_names)
            hit = next(
                (
                    lbl
                    for lbl in labels
                    if len(_words(lbl)) > len(words) and _words(lbl)[: len(words)] == words
                ),
                None,
            )
            if hit is not None:
                longer.append(f"{other.id} ({hit!r})")
        if not longer:
            return None
        return (
            f"{name!r} is the {FIELD_WORDS[via]} of {chip.id} ({chip.name})"
            + (" (the name such a device reports)" if via == "driver_names" else "")
            + f", so it resolves to {chip.id}; "
            f"other parts' names begin with it: {', '.join(longer)}. Name the part, or check it with "
            f"--sm-count and --memory-gb"
        )

    def match_device(
        self, name: str, sm_count: int | None = None, memory_gb: float | None = None
    ) -> DeviceMatch:
        """Resolve a driver device name and cross-check what the device reports.

        ``memory_gb`` is the device's total memory in GB (bytes / 1e9); it must be within
        ``MEMORY_TOLERANCE`` (12 %) of the chip's capacity. ``sm_count`` must equal the chip's SM count
        exactly. A check is skipped when the database does not know the figure (the reason says so).

        A device is resolved by its driver name; any other name (a bare alias such as "H100", shared by
        the SXM, PCIe and NVL parts) resolves only when the SM count and the memory are both given, known
        for the chip, and agree. A MIG instance ("... MIG 1g.10gb") is never matched: a slice is not the chip.
        """
        if memory_gb is not None and memory_gb <= 0:
            raise ValueError(f"memory_gb must be positive, got {memory_gb!r}")
        mig = MIG_RE.search(name)
        if mig is not None:
            return DeviceMatch(None, self._mig_reason(name, mig))
        chip, via = self._lookup(name)
        if chip is None:
            cands = self.candidates(name)
            hint = f"; closest: {', '.join(cands)}" if cands else ""
            return DeviceMatch(None, f"no chip in the database is named {name!r}{hint}")
        if via != "driver_names":
            missing = _missing_properties(chip, sm_count, memory_gb)
            if missing:
                return DeviceMatch(
                    None,
                    f"{name!r} is not a driver device name but the {FIELD_WORDS[via]} of {chip.id}, which "
                    f"other parts may share; a device is resolved by its driver name or with its SM count "
                    f"and memory, and {missing}: not matched",
                )
        notes = [f"{name!r} is {chip.id}"]
        for check in (_check_sm_count, _check_memory):
            ok, note = check(name, chip, sm_count, memory_gb)
            if not ok:
                return DeviceMatch(None, note)
            if note:
                notes.append(note)
        return DeviceMatch(chip, "; ".join(notes))

    def _mig_reason(self, name: str, mig: re.Match) -> str:
        base = name[: mig.start()].strip()
        parent = self.find(base)
        of = f"of {parent.id}" if parent is not None else f"of {base!r} (not in the database)"
        return (
            f"{name!r} is a MIG instance ({mig.group(1)}) {of}: a MIG slice has a fraction of the chip's SMs "
            f"and memory, and its peaks are not the chip's; not matched (measure on the whole GPU)"
        )


# A MIG instance as the driver names it: "NVIDIA H100 80GB HBM3 MIG 1g.10gb", "... MIG 3g.40gb".
MIG_RE = re.compile(r"\bMIG\s+(\d+g\.\d+gb(?:\+me)?)\b", re.IGNORECASE)
FIELD_WORDS = {"id": "id", "name": "name", "aliases": "alias", "driver_names": "driver name"}
_VENDOR_WORDS = frozenset({"nvidia", "amd", "huawei", "cambricon", "geforce", "instinct", "tesla"})
_MODEL_RE = re.compile(r"^([a-z]*)(\d+)")


class MigInstanceError(UnknownChipError):
    """A MIG instance name ("... MIG 1g.10gb"): never a chip of the database; the message says why."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.candidates = []
        SpecError.__init__(self, reason)


def _words(label: str) -> list[str]:
    """The words of a name without vendor words (``"NVIDIA H200 NVL"`` -> ``["h200", "nvl"]``)."""
    return [w for w in re.split(r"[\s\-_]+", label.casefold()) if w and w not in _VENDOR_WORDS]


def family(label: str) -> tuple[str | None, str | None]:
    """``(model, line)`` of a chip name: ``"NVIDIA H100 NVL"`` -> ``("h100", "h")``, ``"RTX 4090"`` ->
    ``("4090", "rtx")``, ``"Ascend 910B"`` -> ``("910", "ascend")``; None where the name has none."""
    words = [w for w in re.split(r"[\s\-_]+", label.casefold()) if w and w not in _VENDOR_WORDS]
    model = line = None
    for w in words:
        m = _MODEL_RE.match(w)
        if m is not None:
            model = m.group(0)
            break
    if words:
        line = re.match(r"^[a-z]*", words[0]).group(0) or None
    return model, line


def _missing_properties(chip: Chip, sm_count: int | None, memory_gb: float | None) -> str | None:
    """Why SM count and memory cannot tell ``chip`` from a sibling part (None when both can be checked)."""
    if sm_count is None or memory_gb is None:
        given = [w for w, v in (("SM count", sm_count), ("memory", memory_gb)) if v is None]
        return f"the device's {' and '.join(given)} {'is' if len(given) == 1 else 'are'} missing"
    if chip.sm_count is None or chip.memory_gb is None:
        return f"the database does not know {chip.id}'s SM count and memory"
    return None


def _check_sm_count(
    name: str, chip: Chip, sm_count: int | None, _memory_gb: float | None
) -> tuple[bool, str]:
    if sm_count is None:
        return True, ""
    if chip.sm_count is None:
        return True, "SM count not checked (unknown in the database)"
    if int(sm_count) != chip.sm_count:
        return False, (
            f"{name!r} names {chip.id}, but the device has {sm_count} SMs and "
            f"{chip.id} has {chip.sm_count}: a different SKU, not matched"
        )
    return True, f"{sm_count} SMs agree"


def _check_memory(name: str, chip: Chip, _sm_count: int | None, memory_gb: float | None) -> tuple[bool, str]:
    if memory_gb is None:
        return True, ""
    if chip.memory_gb is None:
        return True, "memory not checked (unknown in the database)"
    rel = abs(memory_gb - chip.memory_gb) / chip.memory_gb
    if rel > MEMORY_TOLERANCE:
        return False, (
            f"{name!r} names {chip.id}, but the device has {memory_gb:.1f} GB and "
            f"{chip.id} has {chip.memory_gb:g} GB ({rel:.0%} apart, more than "
            f"{MEMORY_TOLERANCE:.0%}): a different SKU, not matched"
        )
    return True, f"{memory_gb:.1f} GB agrees with {chip.memory_gb:g} GB"


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
