"""``classification``: "a is a cut-down b", "a was made in 2022".

``less_on`` bases need ``a/of < 1``; ``same`` bases equality within 1 %; ``expect`` chip attributes the
stated value. A ``launch_year`` in ``less_on`` reads "older": a launched before ``of``.

With ``cause`` (one of ``less_on``: "fewer cores, making it less performant"), the stated cause must
account for the rest: no other ``less_on`` ratio below the cause's by more than the tie band.

Keys: ``a``, optional ``of`` (required with ``less_on`` or ``same``), ``less_on``, ``same``, ``expect``,
``cause``, ``caveat`` (bases of a/of shown beside the verdict, not judged: the H20's memory, larger than the H100's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gpucompare.claims import bases as B
from gpucompare.claims import pairs
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import TIE_BAND, fmt, held, tie, times
from gpucompare.specs import Chip

SAME_TOLERANCE = 0.01


@dataclass(frozen=True, kw_only=True)
class ClassificationRelation(Relation):
    kind: ClassVar[str] = "classification"
    a: str
    of: str | None = None
    less_on: tuple[str, ...] = ()
    same: tuple[str, ...] = ()
    expect: Mapping[str, Any] = field(default_factory=dict)
    cause: str | None = None

    def judge(self, r: float) -> tuple[str, str]:
        if tie(r, 1.0):
            return "refuted", f"a tie (within ±{TIE_BAND:.0%} of 1×): needs < 1× (less)"
        return held(r < 1), "needs < 1× (less)"

    def judge_years(self, va: float, vb: float) -> tuple[str, str]:
        return held(va < vb), f"{va:.0f} vs {vb:.0f}"


def parse(rd: RelationReader) -> dict[str, Any]:
    less_on = rd.bases("less_on", B.ALL_BASES)
    same = rd.bases("same", B.ALL_BASES)
    expect = rd.raw.get("expect", {})
    if not isinstance(expect, dict) or any(k not in B.ATTR_BASES for k in expect):
        raise rd.error("expect", f"must map chip attributes ({', '.join(B.ATTR_BASES)}) to values")
    if (less_on or same) and "of" not in rd:
        raise rd.error("of", "required with less_on or same")
    if not (less_on or same or expect):
        raise rd.error("less_on", "classification needs less_on, same or expect")
    cause = rd.optional_text("cause")
    if cause is not None and (cause not in less_on or not set(less_on) - {cause}):
        raise rd.error("cause", f"must be one of less_on with other bases to explain, got {cause!r}")
    return {"less_on": less_on, "same": same, "expect": dict(expect), "cause": cause}


def _cause_entry(a: Chip, b: Chip, rel: ClassificationRelation, spec: dict) -> BasisVerdict:
    """The stated cause ("fewer X, making it less performant", ``rel.cause``) must account for the effect:
    every other ``less_on`` ratio no smaller than the cause's (within the tie band). A chip capped beyond
    its cut (H20: 0.59× the SMs, 0.15× the compute) refutes the causal part."""
    cause = rel.cause or ""
    _, _, rc, _ = B.pair_values(a, b, cause, spec)
    effects = {x: B.pair_values(a, b, x, spec)[2] for x in rel.less_on if x != cause}
    known = {x: r for x, r in effects.items() if r is not None}
    unit = B.UNIT[cause]
    va, vb = B.value(a, cause), B.value(b, cause)
    head = f"{a.id} {fmt(va, unit)} vs {b.id} {fmt(vb, unit)} is {times(rc)}"
    if rc is None or not known:
        verdict, why = "unknown", f"{head}; no ratio to compare"
    else:
        beyond = {x: r for x, r in known.items() if r < rc * (1 - TIE_BAND)}
        listing = ", ".join(f"{x} {times(r)}" for x, r in known.items())
        if beyond:
            verdict = "refuted"
            why = f"{head} while {listing}: {a.id} is capped beyond its {cause}, which does not explain it"
        else:
            verdict, why = "reproduced", f"{head}, in line with {listing}: the {cause} explains it"
    return BasisVerdict(
        f"cause:{cause}",
        rc,
        verdict,
        why,
        (a.id, b.id),
        va,
        vb,
        unit=unit,
        group="the stated cause",
        label=why,
    )


def _same_entry(a: Chip, b: Chip, basis: str, spec: dict) -> BasisVerdict:
    va, vb, r, reason = B.pair_values(a, b, basis, spec)
    if r is None:
        verdict, why = "unknown", reason or "no ratio"
    else:
        verdict, why = held(abs(r - 1) <= SAME_TOLERANCE), f"needs equal (±{SAME_TOLERANCE:.0%})"
    unit = B.UNIT[basis]
    return BasisVerdict(
        f"{B.prefix(basis)}:{basis}",
        r,
        verdict,
        f"{a.id} {fmt(va, unit)} / {b.id} {fmt(vb, unit)} = {times(r)}: {why}",
        (a.id, b.id),
        va,
        vb,
        unit=unit,
        group="same family",
        label=f"{basis} {times(r)} (same)",
    )


def _expect_entry(a: Chip, attr: str, want: Any) -> BasisVerdict:
    got = B.value(a, attr)
    unit = B.UNIT[attr]
    if got is None:
        verdict, why = "unknown", f"{attr} unknown in the database"
    else:
        ok = isinstance(want, (int, float)) and float(want) == got
        verdict, why = held(ok), f"claimed {want}, database {fmt(got, unit)}"
    return BasisVerdict(
        f"attr:{attr}",
        None,
        verdict,
        f"{a.id}: {why}",
        (a.id,),
        a_value=got,
        value=got,
        group=B.GROUP[attr],
        label=f"{attr} {fmt(got, unit)}",
    )


def check(rel: ClassificationRelation, ctx: Context) -> Outcome:
    a = ctx.db.get(rel.a)
    entries: list[BasisVerdict] = []
    if rel.of:
        b = ctx.db.get(rel.of)
        entries += pairs.spec_entries(rel, a, b, rel.less_on, multi=False)
        spec = B.ratios(a, b)
        entries += [_same_entry(a, b, basis, spec) for basis in rel.same]
        if rel.cause:
            entries.append(_cause_entry(a, b, rel, spec))
        if rel.less_on:
            entries += pairs.workload_entries(rel, a.id, b.id, ctx.workload_ratios, multi=False)
    entries += [_expect_entry(a, attr, want) for attr, want in rel.expect.items()]
    return Outcome(tuple(entries), "; ".join(f"{e.label}: {e.verdict}" for e in entries))


KIND = Kind(
    relation=ClassificationRelation,
    required=frozenset({"a"}),
    parse=parse,
    check=check,
    chip_keys=("a", "of"),
    caveat=True,
)
