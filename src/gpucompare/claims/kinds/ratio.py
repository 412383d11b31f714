"""``ratio``: "a is about ``factor`` times b". Reproduced on a basis when ``low <= a/b <= high``, the range the
wording allows (``accept``, documented in the claim's note).

Keys: ``a``, ``b``, ``factor``, ``accept = [low, high]``, optional ``wording``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims import pairs
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import by_group, held, overall, times
from gpucompare.specs import BASES as SPEC_BASES


@dataclass(frozen=True, kw_only=True)
class RatioRelation(Relation):
    kind: ClassVar[str] = "ratio"
    a: str
    b: str
    factor: float
    accept: tuple[float, float]
    wording: str | None = None

    def judge(self, r: float) -> tuple[str, str]:
        if r in (0.0, math.inf):
            return "context", "one chip lacks the dtype: no ratio to hold against the stated factor"
        lo, hi = self.accept
        inside = lo <= r <= hi
        msg = f"{'inside' if inside else 'outside'} the accepted {lo:g}–{hi:g}"
        if inside and r > self.factor * 1.02:
            msg += f"; above the stated ≈{self.factor:g}: the claim, if anything, understates it"
        elif inside and r < self.factor * 0.98:
            msg += f"; below the stated ≈{self.factor:g}"
        return held(inside), msg

    def judge_years(self, va: float, vb: float) -> tuple[str, str]:
        return pairs.newer(va, vb)


def parse(rd: RelationReader) -> dict[str, Any]:
    wording = rd.optional_text("wording")
    factor = rd.number("factor")
    acc = rd.raw["accept"]
    if (
        not isinstance(acc, list)
        or len(acc) != 2
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in acc)
        or not 0 < acc[0] < acc[1]
    ):
        raise rd.error("accept", f"must be [low, high] with 0 < low < high, got {acc!r}")
    return {"wording": wording, "factor": factor, "accept": (float(acc[0]), float(acc[1]))}


def _summary(rel: RatioRelation, group: str, items: list[BasisVerdict]) -> str | None:
    """``group: 6.69×`` (or a range), noting a claim that understates or is far off; None without ratios."""
    rs = [e.ratio for e in items if e.ratio is not None]
    if not rs:
        return None
    lo, hi = rel.accept
    span = times(min(rs)) if max(rs) - min(rs) < 0.05 else f"{times(min(rs))}–{times(max(rs))}"
    note = ""
    if all(lo <= x <= hi for x in rs) and min(rs) > rel.factor * 1.02:
        note = f" (above ≈{rel.factor:g}: the claim, if anything, understates it)"
    elif all(x < lo for x in rs):
        note = f" (far below ≈{rel.factor:g})"
    return f"{group}: {span}{note}"


def _caveats(rel: RatioRelation, context: list[BasisVerdict]) -> str:
    """The caveat bases in one clause: ``memory bandwidth ...: 1.20× (far below ≈6), so memory-bound work
    sees a far smaller gap``; empty without caveat."""
    parts = []
    for group, items in by_group(context).items():
        s = _summary(rel, group, items)
        if s is None:
            continue
        rs = [e.ratio for e in items if e.ratio is not None]
        if any(e.basis == "spec:bandwidth" for e in items) and max(rs) < rel.accept[0]:
            s += f", so memory-bound work (LLM decode) sees a far smaller gap than ≈{rel.factor:g}×"
        parts.append(s)
    return f"; caveat, not judged: {'; '.join(parts)}" if parts else ""


def check(rel: RatioRelation, ctx: Context) -> Outcome:
    a, b = ctx.db.get(rel.a), ctx.db.get(rel.b)
    entries = pairs.spec_entries(rel, a, b, rel.bases, multi=False)
    entries += pairs.workload_entries(rel, a.id, b.id, ctx.workload_ratios, multi=False)
    lo, hi = rel.accept
    head = f"{rel.wording or f'≈{rel.factor:g}×'}: stated ≈{rel.factor:g}×, accepted {lo:g}–{hi:g}×."
    parts = [s for group, items in by_group(entries).items() if (s := _summary(rel, group, items))]
    judged = [e for e in entries if e.verdict != "context"]
    context = [e for e in entries if e.verdict == "context" and e.ratio is not None]
    result = None
    if judged and context:
        status, text = overall(judged)
        result = (status, text + _caveats(rel, context))
    return Outcome(tuple(entries), head + " " + "; ".join(parts), result)


KIND = Kind(
    relation=RatioRelation,
    required=frozenset({"a", "b", "factor", "accept"}),
    parse=parse,
    check=check,
    chip_keys=("a", "b"),
    default_bases=SPEC_BASES,
    caveat=True,
)
