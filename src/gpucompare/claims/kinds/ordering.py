"""``ordering``: "a is more powerful than b" or "a is the n-th most powerful".

With ``than`` (chips, or ``"all"``): reproduced on a basis when ``a/b > min_ratio`` (``>=`` when not
``strict``). With ``rank``: the rank ``1 + #{chips of the vendor (or all, ``among``) with value > value_a}``
must equal the claimed rank, and (the per-generation reading) so must the rank of a's architecture family
by its best bf16 peak.

Keys: ``a``, one of ``than`` and ``rank``, optional ``min_ratio`` (default 1), ``strict`` (default true),
``among`` (``vendor`` or ``all``, with ``rank``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims import bases as B
from gpucompare.claims import pairs
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import fmt, held
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

    @property
    def op(self) -> str:
        return ">" if self.strict else "≥"

    def judge(self, r: float) -> tuple[str, str]:
        ok = r > self.min_ratio if self.strict else r >= self.min_ratio
        return held(ok), f"needs {self.op} {self.min_ratio:g}×"

    def judge_years(self, va: float, vb: float) -> tuple[str, str]:
        return pairs.newer(va, vb, self.strict)


def parse(rd: RelationReader) -> dict[str, Any]:
    if ("than" in rd) == ("rank" in rd):
        raise rd.error("than", "give exactly one of 'than' (chips or \"all\") and 'rank'")
    kw: dict[str, Any] = {}
    if "than" in rd:
        kw["than"] = rd.than()
    else:
        kw["rank"] = rd.count("rank")
        kw["among"] = rd.optional_text("among") or "vendor"
        if kw["among"] not in ("vendor", "all"):
            raise rd.error("among", f"must be 'vendor' or 'all', got {kw['among']!r}")
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
    entries: list[BasisVerdict] = []
    for b in others:
        entries += pairs.spec_entries(rel, a, b, rel.bases, multi)
    for b in others:
        entries += pairs.workload_entries(rel, a.id, b.id, ctx.workload_ratios, multi)
    who = "every chip in the database" if rel.than == "all" else ", ".join(c.id for c in others)
    detail = f"{a.id} {rel.op} {rel.min_ratio:g}× {who} on {', '.join(rel.bases)}"
    fails = [e for e in entries if e.verdict == "refuted"]
    if fails:
        detail += "; fails: " + ", ".join(e.label for e in fails)
    return Outcome(tuple(entries), detail)


# -- rank ----------------------------------------------------------------------------------------------------
def _rank_entry(rel: OrderingRelation, a: Chip, pool: Sequence[Chip], basis: str) -> BasisVerdict:
    """a's rank on one basis among ``pool``, against the claimed one."""
    va = B.value(a, basis)
    unit = B.UNIT[basis]
    if va is None:
        return BasisVerdict(
            f"rank:{basis}",
            None,
            "unknown",
            f"{a.id}: {basis} unknown",
            (a.id,),
            unit=unit,
            group=B.GROUP[basis],
            label=f"{basis} unknown",
        )
    above = []
    for c in pool:
        v = B.value(c, basis)
        if c.id != a.id and v is not None and v > va:
            above.append((v, c.id))
    above.sort(key=lambda t: (-t[0], t[1]))
    rank = 1 + len(above)
    ahead = ", ".join(f"{cid} {fmt(v, unit)}" for v, cid in above) or "none"
    detail = (
        f"{a.id} {fmt(va, unit)} ranks {rank} among {len(pool)} {rel.among} chips "
        f"(claimed {rel.rank}); above it: {ahead}"
    )
    return BasisVerdict(
        f"rank:{basis}",
        None,
        held(rank == rel.rank),
        detail,
        (a.id,),
        a_value=va,
        value=float(rank),
        unit="rank",
        group=B.GROUP[basis],
        label=f"{basis} rank {rank}",
    )


def _family(chip: Chip) -> str | None:
    """The architecture family: the first word of ``architecture`` ("Blackwell Ultra" -> "Blackwell")."""
    arch = chip.architecture
    return arch.split()[0] if arch and arch.strip() else None


def _generation_rank(a: Chip, pool: Sequence[Chip], claimed: int) -> BasisVerdict | None:
    """Rank of a's architecture family by the best bf16 peak of its chips (the per-generation reading)."""
    best: dict[str, float] = {}
    for c in pool:
        fam, v = _family(c), B.value(c, "bf16")
        if fam and v is not None:
            best[fam] = max(best.get(fam, 0.0), v)
    mine = _family(a)
    if mine not in best:
        return None
    order = sorted(best, key=lambda k: (-best[k], k))
    rank = order.index(mine) + 1
    listing = ", ".join(f"{i + 1}. {k} ({fmt(best[k], 'TFLOP/s')} bf16)" for i, k in enumerate(order))
    detail = (
        f"{a.id} is a {mine} chip; by generation (best bf16 per architecture family) {mine} ranks "
        f"{rank} (claimed {claimed}): {listing}"
    )
    return BasisVerdict(
        "rank:generation-bf16",
        None,
        held(rank == claimed),
        detail,
        (a.id,),
        value=float(rank),
        unit="rank",
        group="generation",
        label=f"{mine} generation rank {rank}",
    )


def _check_rank(rel: OrderingRelation, ctx: Context, a: Chip, claimed: int) -> Outcome:
    pool = [c for c in ctx.db if rel.among == "all" or c.vendor == a.vendor]
    entries = [_rank_entry(rel, a, pool, basis) for basis in rel.bases]
    gen = _generation_rank(a, pool, claimed)
    if gen is not None:
        entries.append(gen)
    detail = f"claimed rank {claimed} among {len(pool)} {a.vendor} chips; " + "; ".join(
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
)
