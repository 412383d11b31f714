"""``only``: "the H20, the only chip Nvidia offered in China without a licence". Two parts, both judged
from the ECCN 3A090 tier the peaks give: a has the stated status (``controlled`` or ``uncontrolled``), and
no other chip of ``among`` (the vendor's chips in the database, or the chips named) has it. One other chip
with the same status refutes "the only one", whatever a's own part says.

Keys: ``a``, ``status`` (``controlled`` | ``uncontrolled``), ``among`` (``"vendor"`` or chips), optional
``rule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims.kinds.regulatory import judge_status, tier_facts
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.specs import Chip

STATUSES = ("controlled", "uncontrolled")


@dataclass(frozen=True, kw_only=True)
class OnlyRelation(Relation):
    kind: ClassVar[str] = "only"
    a: str
    status: str
    among: tuple[str, ...] | str
    rule: str | None = None


def parse(rd: RelationReader) -> dict[str, Any]:
    status = rd.raw["status"]
    if status not in STATUSES:
        raise rd.error("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
    among = rd.raw["among"]
    if among != "vendor":
        names = rd.strings("among")
        if not names:
            raise rd.error("among", 'must name chips, or be "vendor"')
        among = tuple(rd.listed(n, "relation.among") for n in names)
    return {"status": status, "among": among, "rule": rd.optional_text("rule")}


def _own(c: Chip, status: str) -> BasisVerdict:
    verdict, why = judge_status(c, status)
    return BasisVerdict(
        "eccn:3a090",
        None,
        verdict,
        f"{c.id}: {tier_facts(c)}: {why}",
        (c.id,),
        a_value=c.tpp,
        value=c.tpp,
        unit="TPP",
        group=f"{c.id} itself",
        label=f"{c.id} ({tier_facts(c)})",
    )


def _other(a: Chip, c: Chip, status: str) -> BasisVerdict:
    """Another chip of the line-up: refutes "the only one" when the metrics give it a's stated status."""
    verdict, why = judge_status(c, status)
    if verdict != "unknown":  # the same status as claimed for a: a counter-example
        verdict = "refuted" if verdict == "reproduced" else "reproduced"
        why = f"also {status}: not only {a.id}" if verdict == "refuted" else f"not {status}"
    return BasisVerdict(
        "eccn:only",
        None,
        verdict,
        f"{c.id}: {tier_facts(c)}: {why}",
        (a.id, c.id),
        a_value=c.tpp,
        value=c.tpp,
        unit="TPP",
        group="the other chips",
        label=f"{c.id} ({tier_facts(c)})",
    )


def _overall(rel: OnlyRelation, own: BasisVerdict, rest: list[BasisVerdict]) -> tuple[str, str]:
    also = [e for e in rest if e.verdict == "refuted"]
    unknown = [e.pair[1] for e in rest if e.verdict == "unknown"]
    tail = f" (tier unknown: {', '.join(unknown)})" if unknown else ""
    part = f"the {rel.a} part {'holds' if own.verdict == 'reproduced' else 'fails'}: {own.label}"
    if also:
        who = "; ".join(e.label for e in also)
        return "refuted", f'refuted: "the only one" fails: also {rel.status}: {who}; {part}{tail}'
    if own.verdict != "reproduced":
        return own.verdict if own.verdict == "unknown" else "refuted", f"{own.verdict}: {part}{tail}"
    if unknown:  # never "reproduced" while some chip's tier is unknown (verdicts.overall's rule)
        return "unknown", f"holds where tiers are known: no other chip is {rel.status}; {part}{tail}"
    return "reproduced", f"reproduced: no other chip is {rel.status}; {part}{tail}"


def check(rel: OnlyRelation, ctx: Context) -> Outcome:
    a = ctx.db.get(rel.a)
    pool = (
        [c for c in ctx.db if c.vendor == a.vendor]
        if rel.among == "vendor"
        else list(map(ctx.db.get, rel.among))
    )
    own = _own(a, rel.status)
    rest = [_other(a, c, rel.status) for c in pool if c.id != a.id]
    detail = f"rule: {rel.rule or 'unspecified'}; " + "; ".join(e.detail for e in [own, *rest])
    return Outcome((own, *rest), detail, _overall(rel, own, rest))


KIND = Kind(
    relation=OnlyRelation,
    required=frozenset({"a", "status", "among"}),
    parse=parse,
    check=check,
    chip_keys=("a",),
)
