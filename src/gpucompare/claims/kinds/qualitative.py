"""``qualitative``: "a is better suited to X than b". a is claimed relatively stronger on ``favours`` than on
``over``: reproduced against b when ``(a/b on favours) / (a/b on over) > 1``.

Keys: ``a``, ``than`` (chips, or ``"all"``), ``favours``, ``over`` (spec bases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims import bases as B
from gpucompare.claims import pairs
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import held, times
from gpucompare.specs import BASES as SPEC_BASES
from gpucompare.specs import Chip


@dataclass(frozen=True, kw_only=True)
class QualitativeRelation(Relation):
    kind: ClassVar[str] = "qualitative"
    a: str
    than: tuple[str, ...] | str
    favours: str
    over: str


def parse(rd: RelationReader) -> dict[str, Any]:
    return {
        "than": rd.than(),
        "favours": rd.basis("favours", SPEC_BASES),
        "over": rd.basis("over", SPEC_BASES),
    }


def _entry(rel: QualitativeRelation, a: Chip, b: Chip) -> BasisVerdict:
    basis = f"spec:{rel.favours}/{rel.over}"
    spec = B.ratios(a, b)
    rf, ro = spec[rel.favours].ratio, spec[rel.over].ratio
    head = f"{a.id}/{b.id}: {rel.favours} {times(rf)}, {rel.over} {times(ro)}"
    if rf is None or ro is None:
        missing = rel.favours if rf is None else rel.over
        reason = spec[missing].reason or f"{missing} unknown"
        return BasisVerdict(
            basis,
            None,
            "unknown",
            f"{head}: {reason}",
            (a.id, b.id),
            group="balance",
            label=f"vs {b.id} unknown ({missing})",
        )
    q = rf / ro
    ok = q > 1
    lean = f"{a.id} is {'' if ok else 'not '}relatively stronger on {rel.favours} than on {rel.over}"
    return BasisVerdict(
        basis,
        q,
        held(ok),
        f"{head}: {lean} ({q:.2f})",
        (a.id, b.id),
        rf,
        ro,
        group=f"balance {rel.favours} vs {rel.over}",
        label=f"vs {b.id}: {rel.favours} {times(rf)} against {rel.over} {times(ro)} ({q:.2f})",
    )


def check(rel: QualitativeRelation, ctx: Context) -> Outcome:
    a = ctx.db.get(rel.a)
    others = pairs.others(ctx.db, a, rel.than)
    entries = tuple(_entry(rel, a, b) for b in others)
    detail = (
        f"claimed: {a.id}'s ratio on {rel.favours} exceeds its ratio on {rel.over} against "
        f"{', '.join(c.id for c in others)}; " + "; ".join(e.detail for e in entries)
    )
    return Outcome(entries, detail)


KIND = Kind(
    relation=QualitativeRelation,
    required=frozenset({"a", "than", "favours", "over"}),
    parse=parse,
    check=check,
    chip_keys=("a",),
)
