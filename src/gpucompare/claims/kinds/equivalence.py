"""``equivalence``: "enough H20s make a supercomputer". How many ``a`` match one ``b`` on each basis
(``value_b / value_a``): the fleet-level figure, per basis, behind a claim that a weaker chip scales to a
stronger one's work. Context, never a verdict: whether "enough" chips are ever assembled is not in specs.
An interconnect equal to b's says the fleet links like b's; a dtype a lacks cannot be matched at any count.

Keys: ``a``, ``b``; ``bases`` (default bf16, fp8, bandwidth, memory, interconnect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims import bases as B
from gpucompare.claims.pairs import lacking
from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import fmt
from gpucompare.specs import Chip

DEFAULT_BASES = ("bf16", "fp8", "bandwidth", "memory", "interconnect")


@dataclass(frozen=True, kw_only=True)
class EquivalenceRelation(Relation):
    kind: ClassVar[str] = "equivalence"
    a: str
    b: str


def parse(rd: RelationReader) -> dict[str, Any]:
    return {}


def _entry(a: Chip, b: Chip, basis: str, spec: dict) -> BasisVerdict:
    of_b, of_a, r, reason = B.pair_values(b, a, basis, spec)  # r = b / a: how many a per b
    unit = B.UNIT[basis]
    head = f"{b.id} {fmt(of_b, unit)} / {a.id} {fmt(of_a, unit)}"
    if r is None:
        lack = lacking(a, b, basis)
        why = f"{a.id} has no {basis} path: no number of {a.id} matches it" if lack == 0.0 else reason
        return BasisVerdict(
            f"equivalent:{basis}",
            None,
            "context",
            f"{head}: {why}",
            (a.id, b.id),
            group="equivalence",
            label=f"{basis}: {why}",
        )
    return BasisVerdict(
        f"equivalent:{basis}",
        r,
        "context",
        f"{head}: one {b.id} = {r:.2f} {a.id} on {basis}",
        (a.id, b.id),
        of_a,
        of_b,
        value=r,
        unit=f"{a.id} per {b.id}",
        group="equivalence",
        label=f"{basis} {r:.2f}",
    )


def check(rel: EquivalenceRelation, ctx: Context) -> Outcome:
    a, b = ctx.db.get(rel.a), ctx.db.get(rel.b)
    spec = B.ratios(b, a)
    entries = tuple(_entry(a, b, basis, spec) for basis in rel.bases)
    text = f"context: {rel.a} per {rel.b}, by basis: " + ", ".join(e.label for e in entries)
    return Outcome(entries, "; ".join(e.detail for e in entries), ("context", text))


KIND = Kind(
    relation=EquivalenceRelation,
    required=frozenset({"a", "b"}),
    parse=parse,
    check=check,
    chip_keys=("a", "b"),
    default_bases=DEFAULT_BASES,
)
