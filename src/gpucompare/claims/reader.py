"""Typed reads of the claims file's fields; every problem is a :class:`ClaimsError` naming claim and field.

:class:`RelationReader` is what a claim kind's ``parse`` gets: reads of ``relation.<key>`` with chip names
resolved against the spec database and checked against the claim's ``chips``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gpucompare.errors import ClaimsError, UnknownChipError
from gpucompare.specs import ChipDB
from gpucompare.values import is_number


def err(cid: str, fld: str, msg: str) -> ClaimsError:
    return ClaimsError(f"claim {cid!r}: field {fld!r}: {msg}")


def text(d: Mapping, key: str, cid: str, where: str = "") -> str:
    """A non-empty string (required)."""
    if key not in d:
        raise err(cid, f"{where}{key}", "missing")
    return _text(d, key, cid, where)


def optional_text(d: Mapping, key: str, cid: str, where: str = "") -> str | None:
    """A non-empty string, or None when absent."""
    return _text(d, key, cid, where) if key in d else None


def _text(d: Mapping, key: str, cid: str, where: str) -> str:
    v = d[key]
    if not isinstance(v, str) or not v.strip():
        raise err(cid, f"{where}{key}", f"must be a non-empty string, got {v!r}")
    return v


def number(d: Mapping, key: str, cid: str, where: str = "relation.") -> float | None:
    """A finite number > 0; None when absent."""
    if key not in d:
        return None
    v = d[key]
    if not is_number(v):
        raise err(cid, f"{where}{key}", f"must be a number, got {v!r}")
    if v <= 0:
        raise err(cid, f"{where}{key}", f"must be > 0, got {v!r}")
    return float(v)


def strings(d: Mapping, key: str, cid: str, where: str = "relation.") -> tuple[str, ...]:
    """A list of non-empty strings; () when absent."""
    v = d.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise err(cid, f"{where}{key}", f"must be a list of strings, got {v!r}")
    return tuple(v)


def resolve(db: ChipDB, name: str, cid: str, fld: str) -> str:
    """The database id of a chip name (id, alias or driver name)."""
    try:
        return db.get(name).id
    except UnknownChipError as exc:
        raise err(cid, fld, f"{exc} (not in the spec database)") from exc


class RelationReader:
    """Reads of one claim's ``relation`` table (``raw``); ``chips`` are the claim's resolved chip ids."""

    def __init__(self, raw: Mapping[str, Any], cid: str, db: ChipDB, chips: tuple[str, ...]):
        self.raw = raw
        self.cid = cid
        self.db = db
        self.chips = chips

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def error(self, key: str, msg: str) -> ClaimsError:
        return err(self.cid, f"relation.{key}", msg)

    def text(self, key: str) -> str:
        """A non-empty string (required)."""
        return text(self.raw, key, self.cid, "relation.")

    def optional_text(self, key: str) -> str | None:
        return optional_text(self.raw, key, self.cid, "relation.")

    def number(self, key: str) -> float | None:
        return number(self.raw, key, self.cid)

    def strings(self, key: str) -> tuple[str, ...]:
        return strings(self.raw, key, self.cid)

    def flag(self, key: str, default: bool) -> bool:
        v = self.raw.get(key, default)
        if not isinstance(v, bool):
            raise self.error(key, f"must be true or false, got {v!r}")
        return v

    def count(self, key: str) -> int:
        """An integer >= 1 (required)."""
        v = self.raw[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise self.error(key, f"must be an integer >= 1, got {v!r}")
        return v

    def listed(self, name: str, fld: str) -> str:
        """The id of a chip name that must be one of the claim's chips."""
        rid = resolve(self.db, name, self.cid, fld)
        if rid not in self.chips:
            raise err(self.cid, fld, f"chip {rid!r} is not listed in the claim's chips")
        return rid

    def chip(self, key: str) -> str | None:
        """A chip of the claim named by ``relation.<key>``; None when absent."""
        name = self.optional_text(key)
        return None if name is None else self.listed(name, f"relation.{key}")

    def any_chip(self, key: str) -> str | None:
        """A chip of the database (not necessarily of the claim) named by ``relation.<key>``."""
        name = self.optional_text(key)
        return None if name is None else resolve(self.db, name, self.cid, f"relation.{key}")

    def bases(self, key: str, allowed: Sequence[str]) -> tuple[str, ...]:
        out = self.strings(key)
        for b in out:
            if b not in allowed:
                raise self.error(key, f"unknown basis {b!r} (known: {', '.join(allowed)})")
        return out

    def basis(self, key: str, allowed: Sequence[str]) -> str:
        """One basis (required)."""
        v = self.raw[key]
        if v not in allowed:
            raise self.error(key, f"unknown basis {v!r} (known: {', '.join(allowed)})")
        return v

    def than(self) -> tuple[str, ...] | str:
        """``relation.than``: ``"all"``, or chips of the claim (at least one)."""
        if self.raw.get("than") == "all":
            return "all"
        names = self.strings("than")
        if not names:
            raise self.error("than", 'must name at least one chip, or be "all"')
        return tuple(self.listed(n, "relation.than") for n in names)

    def set_aside(self, key: str) -> dict[str, str]:
        """``relation.<key>``: ``{ "<ledger group>" = "why" }``, each group one of the ledger's; {} when absent."""
        raw = self.raw.get(key, {})
        if not isinstance(raw, dict):
            raise self.error(key, 'must be a table { "<ledger group>" = "why its figures are not judged" }')
        if not raw:
            return {}
        from gpucompare.specs.published import load_published

        groups = {e.group for e in load_published()}
        for group, why in raw.items():
            if group not in groups:
                raise self.error(
                    f"{key}.{group}", "not a group of the published ledger (specs/published.toml)"
                )
            if not isinstance(why, str) or not why.strip():
                raise self.error(f"{key}.{group}", f"must be a non-empty reason, got {why!r}")
        return dict(raw)

    def reports(self, key: str) -> tuple[dict[str, str], ...]:
        """``relation.<key>``: other reports of the same figure, each ``{ publication, date, url, says }``
        with optional ``differs`` (true: the figure there differs from the article's); () when absent."""
        raw = self.raw.get(key, [])
        if not isinstance(raw, list):
            raise self.error(key, "must be a list of tables")
        out = []
        for i, d in enumerate(raw):
            fld = f"relation.{key}[{i}]."
            if not isinstance(d, dict) or set(d) - {*REPORT_KEYS, "differs"}:
                raise self.error(
                    f"{key}[{i}]", f"must be a table with {', '.join(REPORT_KEYS)} (and differs)"
                )
            rep = {k: text(d, k, self.cid, fld) for k in REPORT_KEYS}
            differs = d.get("differs", False)
            if not isinstance(differs, bool):
                raise err(self.cid, f"{fld}differs", f"must be true or false, got {differs!r}")
            out.append({**rep, "differs": differs})
        return tuple(out)


#: The fields of a report of the same figure elsewhere (``RelationReader.reports``).
REPORT_KEYS = ("publication", "date", "url", "says")


def report_words(reports: Sequence[Mapping[str, Any]]) -> str:
    """Other reports in one clause: ``; reported differently elsewhere: Reuters (2025-07-28): ...``."""
    parts = []
    for r in reports:
        lead = "reported differently elsewhere" if r["differs"] else "elsewhere"
        parts.append(f"{lead}: {r['publication']} ({r['date']}): {r['says']}")
    return "".join(f"; {p}" for p in parts)
