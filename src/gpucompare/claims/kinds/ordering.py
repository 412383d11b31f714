"""``ordering``: "a is more powerful than b" or "a is the n-th most powerful".

With ``than`` (chips, or ``"all"``): reproduced on a basis when ``a/b > min_ratio`` (``>=`` when not
``strict``); a ratio within the tie band of ``min_ratio`` (:data:`~gpucompare.claims.verdicts.TIE_BAND`) is
equal: it fails a strict claim and holds a non-strict one; a dtype only a has is a win. ``than`` may also be a table of readings (``{ "reading" = [chips]
}``): the claim read against each group, each group's verdicts apart in the sentence. With ``rank``: a's
rank among the vendor's (or all, ``among``) chips, read per ``chip``, ``generation`` or ``family`` (see
:mod:`gpucompare.claims.ranks`); the other readings are given as context.

Keys: ``a``, one of ``than`` and ``rank``, optional ``min_ratio`` (default 1), ``strict`` (default true),
``among`` (``vendor`` or ``all``) and ``per`` (``chip``, ``generation``, ``family``) with ``rank``,
``caveat`` (bases shown, not judged) with ``than``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims import pairs, ranks
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import TIE_BAND, held, tie
from gpucompare.specs import BASES as SPEC_BASES
from gpucompare.specs import Chip


@dataclass(frozen=True, kw_only=True)
class OrderingRelation(Relation):
    kind: ClassVar[str] = "ordering"
    a: str
    than: tuple[str, ...] | str | None = None  # chip ids, or "all"
    min_ratio: float = 1.0
    strict: bool = True
    rank: int | None = None
    among: str | None = None
    per: str | None = None
    readings: Mapping[str, tuple[str, ...]] | None = None

    @property
    def op(self) -> str:
        return ">" if self.strict else "≥"

    def judge(self, r: float) -> tuple[str, str]:
        if tie(r, self.min_ratio):  # equal within the tie band: a strict claim fails, a non-strict one holds
            return held(not self.strict), (
                f"a tie (within ±{TIE_BAND:.0%} of {self.min_ratio:g}×): needs {self.op} {self.min_ratio:g}×"
            )
        ok = r > self.min_ratio if self.strict else r >= self.min_ratio
        return held(ok), f"needs {self.op} {self.min_ratio:g}×"

    def judge_years(self, va: float, vb: float) -> tuple[str, str]:
        return pairs.newer(va, vb, self.strict)


def _readings(rd: RelationReader) -> dict[str, tuple[str, ...]]:
    """``than = { "reading" = [chips], ... }``: the claim read against each group of chips in turn."""
    out = {}
    for label, names in rd.raw["than"].items():
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise rd.error(f"than.{label}", f"must be a non-empty list of chips, got {names!r}")
        out[label] = tuple(rd.listed(n, f"relation.than.{label}") for n in names)
    if not out:
        raise rd.error("than", "a table of readings needs at least one")
    return out


def parse(rd: RelationReader) -> dict[str, Any]:
    if ("than" in rd) == ("rank" in rd):
        raise rd.error("than", "give exactly one of 'than' (chips or \"all\") and 'rank'")
    kw: dict[str, Any] = {}
    if isinstance(rd.raw.get("than"), dict):
        kw["readings"] = _readings(rd)
        kw["than"] = tuple(c for chips in kw["readings"].values() for c in chips)
    elif "than" in rd:
        kw["than"] = rd.than()
    else:
        kw["rank"] = rd.count("rank")
        kw["among"] = rd.optional_text("among") or "vendor"
        if kw["among"] not in ("vendor", "all"):
            raise rd.error("among", f"must be 'vendor' or 'all', got {kw['among']!r}")
        kw["per"] = rd.optional_text("per") or "chip"
        if kw["per"] not in ranks.PER:
            raise rd.error("per", f"must be one of {', '.join(ranks.PER)}, got {kw['per']!r}")
    if "per" in rd and "rank" not in rd:
        raise rd.error("per", "only with 'rank'")
    if rd.raw.get("caveat") and "rank" in rd:
        raise rd.error("caveat", "not with 'rank' (per-chip ranks are the context there)")
    kw["min_ratio"] = rd.number("min_ratio") or 1.0
    kw["strict"] = rd.flag("strict", True)
    return kw


def check(rel: OrderingRelation, ctx: Context) -> Outcome:
    a = ctx.db.get(rel.a)
    if rel.rank is not None:
        return _check_rank(rel, ctx, a, rel.rank)
    assert rel.than is not None  # parse gives exactly one of than and rank
    others = pairs.others(ctx.db, a, rel.than)
    multi = len(others) > 1
    reading = {c: label for label, chips in (rel.readings or {}).items() for c in chips}
    entries: list[BasisVerdict] = []
    for b in others:
        entries += pairs.spec_entries(rel, a, b, rel.bases, multi, reading.get(b.id))
    for b in others:
        entries += pairs.workload_entries(rel, a.id, b.id, ctx.workload_ratios, multi)
    who = "every chip in the database" if rel.than == "all" else ", ".join(c.id for c in others)
    detail = f"{a.id} {rel.op} {rel.min_ratio:g}× {who} on {', '.join(rel.bases)}"
    fails = [e for e in entries if e.verdict == "refuted"]
    if fails:
        detail += "; fails: " + ", ".join(e.label for e in fails)
    return Outcome(tuple(entries), detail)


def _check_rank(rel: OrderingRelation, ctx: Context, a: Chip, claimed: int) -> Outcome:
    pool = [c for c in ctx.db if rel.among == "all" or c.vendor == a.vendor]
    per = rel.per or "chip"
    entries = [ranks.family_rank(a, pool, basis, claimed, per) for basis in rel.bases]
    entries += [ranks.chip_rank(a, pool, basis, claimed, judged=per == "chip") for basis in rel.bases]
    if per == "chip":  # the per-chip verdicts first
        entries = entries[len(rel.bases) :] + entries[: len(rel.bases)]
    who = "every chip" if rel.among == "all" else f"{a.vendor}'s chips"
    detail = f"claimed rank {claimed} per {per} among {len(pool)} of {who}; " + "; ".join(
        e.detail for e in entries
    )
    return Outcome(tuple(entries), detail)


KIND = Kind(
    relation=OrderingRelation,
    required=frozenset({"a"}),
    parse=parse,
    check=check,
    chip_keys=("a",),
    default_bases=SPEC_BASES,
    caveat=True,
)
