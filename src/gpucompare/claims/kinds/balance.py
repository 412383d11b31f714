"""``balance``: "domestic chips are better suited to inference". What the article means (software maturity,
training stability, fp8 support) is not in peak specs; what specs give is each chip's balance, its compute
over its memory bandwidth (FLOP per byte: the higher, the more compute-heavy), and whether it has an fp8
path. Context only: a balance claim is a claim about a capability, so the one rule of
:func:`gpucompare.claims.verdicts.not_checkable` applies (status "not-checkable"); the balance is shown,
never judged.

Keys: ``chips`` (the chips to show, of the claim's chips); ``not_checked`` (what the claim means that specs
cannot check) is required.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims.reader import RelationReader
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import fmt
from gpucompare.specs import Chip

#: The compute peak the balance is taken on, then the one standing in when it is unknown (said so).
COMPUTE = ("bf16", "fp16")


@dataclass(frozen=True, kw_only=True)
class BalanceRelation(Relation):
    kind: ClassVar[str] = "balance"
    chips: tuple[str, ...]
    capability: bool = True  # always: a balance claim is about suitability (verdicts.not_checkable)


def parse(rd: RelationReader) -> dict[str, Any]:
    if "not_checked" not in rd:
        raise rd.error("not_checked", "required for kind 'balance' (what specs cannot check)")
    if rd.raw.get("capability", True) is not True:
        raise rd.error("capability", "a balance claim is always about a capability (true)")
    names = rd.strings("chips")
    if not names:
        raise rd.error("chips", "must name at least one chip")
    return {"chips": tuple(rd.listed(n, "relation.chips") for n in names)}


def _entry(c: Chip) -> BasisVerdict:
    dtype = next((d for d in COMPUTE if c.peak(d) is not None), None)
    bw = c.bandwidth_tbps
    fp8 = {"known": "fp8", "unsupported": "no fp8", "unknown": "fp8 unknown"}[c.peak_status("fp8")]
    if dtype is None or bw is None:
        missing = "compute (bf16, fp16)" if dtype is None else "bandwidth"
        return BasisVerdict(
            "spec:balance",
            None,
            "context",
            f"{c.id}: {missing} unknown; {fp8}",
            (c.id,),
            group="balance",
            label=f"{c.id} unknown ({missing}), {fp8}",
        )
    peak = c.peak(dtype)
    flop_per_byte = peak / bw  # TFLOP/s over TB/s
    stand_in = " (bf16 unknown)" if dtype != COMPUTE[0] else ""
    return BasisVerdict(
        "spec:balance",
        None,
        "context",
        f"{c.id}: {dtype} {fmt(peak, 'TFLOP/s')} / {fmt(bw, 'TB/s')} = {fmt(flop_per_byte)} FLOP/B{stand_in}; {fp8}",
        (c.id,),
        a_value=peak,
        b_value=bw,
        value=flop_per_byte,
        unit="FLOP/B",
        group="balance",
        label=f"{c.id} {fmt(flop_per_byte)} FLOP/B on {dtype}{stand_in}, {fp8}",
    )


def check(rel: BalanceRelation, ctx: Context) -> Outcome:
    entries = tuple(_entry(ctx.db.get(cid)) for cid in rel.chips)
    text = "spec balance, compute over memory bandwidth (context): " + "; ".join(e.label for e in entries)
    return Outcome(entries, "; ".join(e.detail for e in entries), ("not-checkable", text))


KIND = Kind(relation=BalanceRelation, required=frozenset({"chips"}), parse=parse, check=check)
