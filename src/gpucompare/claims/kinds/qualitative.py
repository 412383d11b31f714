"""``qualitative``: "a is better suited to X than b". a is claimed relatively stronger on ``favours`` than on
``over``: reproduced against b when ``(a/b on favours) / (a/b on over) > 1``.

Keys: ``a``, ``than`` (chips, or ``"all"``), ``favours``, ``over`` (spec bases); optional ``serving`` (a
model of :data:`gpucompare.dims.MODELS`): also judged at serving level, a's 8-GPU server output tokens/s
over b's at TPOT <= 50 ms (:func:`gpucompare.model.serving.fleet.equivalence`) against the ``over`` ratio:
reproduced or refuted only beyond the serving validation's 90th-percentile error, context within it or
when either server is indicative.
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
    serving: str | None = None


def parse(rd: RelationReader) -> dict[str, Any]:
    return {
        "than": rd.than(),
        "favours": rd.basis("favours", SPEC_BASES),
        "over": rd.basis("over", SPEC_BASES),
        "serving": _serving_model(rd),
    }


def _serving_model(rd: RelationReader) -> str | None:
    from gpucompare.dims import MODELS

    name = rd.optional_text("serving")
    if name is not None and name not in MODELS:
        raise rd.error("serving", f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return name


def _serving_entry(rel: QualitativeRelation, a: Chip, b: Chip) -> BasisVerdict:
    from gpucompare.model.serving.fleet import equivalence
    from gpucompare.model.serving.validate import default_checks, summarise

    eq = equivalence(a, b, rel.serving)
    ro = B.ratios(a, b)[rel.over].ratio
    basis = f"serving:{rel.serving}/{rel.over}"
    if eq["k"] is None or ro is None:
        why = eq["detail"] if eq["k"] is None else f"{rel.over} unknown"
        return BasisVerdict(basis, None, "unknown", f"{a.id}/{b.id}: {why}", (a.id, b.id), group="serving")
    q, p90 = eq["k"] / ro, summarise(default_checks()).p90 or 0.0
    margin = (1 + p90) ** 2  # a ratio of two projections, each within the p90 error
    within = eq["status"] != "projected" or 1 / margin <= q <= margin
    verdict = "context" if within else held(q > 1)
    detail = (
        f"{a.id}/{b.id} serving {times(eq['k'])} against {rel.over} {times(ro)} ({q:.2f}; decided beyond "
        f"x{margin:.2f}, the serving p90 error {p90:.0%} on both): {eq['detail']}"
    )
    label = f"vs {b.id}: serving {rel.serving} {times(eq['k'])} against {rel.over} {times(ro)}"
    return BasisVerdict(basis, q, verdict, detail, (a.id, b.id), eq["k"], ro, group="serving", label=label)


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
    if rel.serving:
        entries += tuple(_serving_entry(rel, a, b) for b in others)
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
