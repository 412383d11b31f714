"""Read and validate a claims file (default: the packaged ``gpucompare.seeds/claims.toml``).

Anything malformed raises :class:`ClaimsError` naming the claim and the field, including a chip the spec
database does not know. The relation's kind decides its keys and how they are read (``claims/kinds/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from gpucompare import files, specs
from gpucompare.claims import kinds
from gpucompare.claims.bases import ALL_BASES
from gpucompare.claims.reader import RelationReader, err, optional_text, resolve, strings, text
from gpucompare.claims.types import Claim, Relation, Source
from gpucompare.errors import ClaimsError
from gpucompare.specs import ChipDB

SCHEMA_VERSION = 1
_CLAIM_KEYS = {"id", "quote", "quote_en", "source", "also_in", "chips", "note", "relation"}
_SOURCE_KEYS = {"publication", "date", "seed"}


def load_claims(path: str | Path | None = None, db: ChipDB | None = None) -> list[Claim]:
    """The claims of a file (default: the packaged one), in file order, chips resolved in ``db``
    (default: the packaged spec database)."""
    if path is None:
        res = resources.files("gpucompare.seeds").joinpath("claims.toml")
        data, where = files.read_toml(
            None, ClaimsError, "claims file", text=res.read_text(encoding="utf-8"), where=str(res)
        )
    else:
        data, where = files.read_toml(path, ClaimsError, "claims file")
    return parse_claims(data, where, db)


def parse_claims(data: Mapping[str, Any], where: str, db: ChipDB | None = None) -> list[Claim]:
    """Validate parsed claims-file data (``where`` names the file in messages) into claims, in file order."""
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ClaimsError(f"{where}: schema_version must be 1, got {data.get('schema_version')!r}")
    raw = data.get("claim")
    if not isinstance(raw, list) or not raw:
        raise ClaimsError(f"{where}: no [[claim]] tables")
    db = specs.load_chips() if db is None else db
    claims: list[Claim] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        cid = item.get("id") if isinstance(item, dict) else None
        label = cid if isinstance(cid, str) and cid else f"#{i + 1}"
        try:
            claim = _claim(item, label, db)
        except ClaimsError as exc:  # the claim's own message, prefixed with the file it is in
            raise ClaimsError(f"{where}, {exc}") from None
        if claim.id in seen:
            raise ClaimsError(f"{where}, claim {claim.id!r}: duplicate id")
        seen.add(claim.id)
        claims.append(claim)
    return claims


def _unknown_key(d: Mapping, allowed: set[str] | frozenset[str]) -> str | None:
    extra = set(d) - allowed
    return sorted(extra)[0] if extra else None


def _source(d: Any, cid: str, fld: str, with_quote: bool = False) -> Source:
    if not isinstance(d, dict):
        raise err(cid, fld, f"must be a table with {', '.join(sorted(_SOURCE_KEYS))}")
    allowed = _SOURCE_KEYS | ({"quote"} if with_quote else set())
    extra = _unknown_key(d, allowed)
    if extra:
        raise err(cid, f"{fld}.{extra}", f"unknown field (allowed: {', '.join(sorted(allowed))})")
    pub = text(d, "publication", cid, f"{fld}.")
    date = text(d, "date", cid, f"{fld}.")
    seed = text(d, "seed", cid, f"{fld}.")
    if date != "unknown" and not (len(date) == 10 and date[4] == "-" and date[7] == "-"):
        raise err(cid, f"{fld}.date", f"must be YYYY-MM-DD or 'unknown', got {date!r}")
    quote = text(d, "quote", cid, f"{fld}.") if with_quote else None
    return Source(pub, date, seed, quote)


def _claim(item: Any, label: str, db: ChipDB) -> Claim:
    if not isinstance(item, dict):
        raise ClaimsError(f"claim {label}: must be a table")
    cid = text(item, "id", label)
    extra = _unknown_key(item, _CLAIM_KEYS)
    if extra:
        raise err(cid, extra, f"unknown field (allowed: {', '.join(sorted(_CLAIM_KEYS))})")
    quote = text(item, "quote", cid)
    quote_en = text(item, "quote_en", cid)
    note = optional_text(item, "note", cid) or ""
    if "source" not in item:
        raise err(cid, "source", "missing")
    source = _source(item["source"], cid, "source")
    also = item.get("also_in", [])
    if not isinstance(also, list):
        raise err(cid, "also_in", "must be a list of tables")
    also_in = tuple(_source(s, cid, f"also_in[{j}]", with_quote=True) for j, s in enumerate(also))
    if "chips" not in item:
        raise err(cid, "chips", "missing")
    chips = tuple(resolve(db, c, cid, "chips") for c in strings(item, "chips", cid, where=""))
    if not isinstance(item.get("relation"), dict):
        raise err(cid, "relation", "missing or not a table")
    relation = _relation(RelationReader(item["relation"], cid, db, chips))
    return Claim(cid, quote, quote_en, source, chips, relation, note, also_in)


def _relation(rd: RelationReader) -> Relation:
    """The relation of the kind ``relation.kind`` names: common keys first, then the kind's own."""
    name = rd.raw.get("kind")
    if not isinstance(name, str) or name not in kinds.REGISTRY:
        raise rd.error("kind", f"must be one of {', '.join(kinds.REGISTRY)}, got {name!r}")
    kind = kinds.REGISTRY[name]
    extra = _unknown_key(rd.raw, kind.keys)
    if extra:
        raise rd.error(extra, f"unknown field for kind {name!r} (allowed: {', '.join(sorted(kind.keys))})")
    missing = kind.required - set(rd.raw)
    if missing:
        raise rd.error(sorted(missing)[0], f"missing (required for kind {name!r})")
    if "caveat" in rd and not kind.caveat:
        raise rd.error("caveat", f"kind {name!r} does not show caveat bases")
    chips = {key: rd.chip(key) for key in kind.chip_keys}
    common = {
        "bases": rd.bases("bases", ALL_BASES) or kind.default_bases,
        "workloads": rd.strings("workloads"),
        "caveat": rd.bases("caveat", ALL_BASES),
        "not_checked": rd.optional_text("not_checked"),
        "set_aside": rd.set_aside("set_aside"),
    }
    if "capability" in rd:
        common["capability"] = rd.flag("capability", False)
        if common["capability"] and not common["not_checked"]:
            raise rd.error("not_checked", "required with capability = true (what peak figures cannot decide)")
    return kind.relation(**common, **chips, **kind.parse(rd))
