"""``regulatory``: "the H20 can be sold without a licence". The ECCN 3A090 tier derived from the peaks must
agree with the stated status (controlled ⇔ in a tier). A stated "licensable" / "licence-required" is
policy: the claim's status is then "policy" and the verdict says which chips the metrics put in the same
tier. An optional ``case_by_case`` band (``tpp_lt``, ``bandwidth_gbps_lt``) must hold exactly the chips
stated licensable.

Keys: ``status = { chip = "controlled" | "uncontrolled" | "licensable" | "licence-required" }``, optional
``rule``, ``case_by_case = { rule, tpp_lt, bandwidth_gbps_lt }``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gpucompare.claims.reader import RelationReader, number
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import fmt
from gpucompare.specs import Chip

REG_STATUSES = ("controlled", "uncontrolled", "licensable", "licence-required")
_BAND_KEYS = {"rule", "tpp_lt", "bandwidth_gbps_lt"}


@dataclass(frozen=True, kw_only=True)
class RegulatoryRelation(Relation):
    kind: ClassVar[str] = "regulatory"
    status: Mapping[str, str] = field(default_factory=dict)
    rule: str | None = None
    case_by_case: Mapping[str, Any] | None = None


def parse(rd: RelationReader) -> dict[str, Any]:
    rule = rd.optional_text("rule")
    st = rd.raw["status"]
    if not isinstance(st, dict) or not st:
        raise rd.error("status", "must be a non-empty table chip = status")
    status = {}
    for name, s in st.items():
        if s not in REG_STATUSES:
            raise rd.error(f"status.{name}", f"must be one of {', '.join(REG_STATUSES)}, got {s!r}")
        status[rd.listed(name, f"relation.status.{name}")] = s
    cbc = rd.raw.get("case_by_case")
    if cbc is not None:
        if not isinstance(cbc, dict) or set(cbc) != _BAND_KEYS:
            raise rd.error("case_by_case", "must be a table with rule, tpp_lt, bandwidth_gbps_lt")
        number(cbc, "tpp_lt", rd.cid, "relation.case_by_case.")
        number(cbc, "bandwidth_gbps_lt", rd.cid, "relation.case_by_case.")
        cbc = dict(cbc)
    return {"rule": rule, "status": status, "case_by_case": cbc}


def tier_words(tier: str | None) -> str:
    return {None: "tier unknown", "none": "outside 3A090"}.get(tier, f"in {tier}")


def judge_status(c: Chip, status: str) -> tuple[str, str]:
    """(verdict, reason) of a stated status against the tier the chip's metrics give."""
    tier = c.eccn_3a090
    if tier is None:
        cause = "TPP unknown (peaks not published)" if c.tpp is None else "die area unknown"
        return "unknown", f"{cause}: the tier cannot be derived"
    controlled = tier != "none"
    if status == "controlled":
        verdict = "reproduced" if controlled else "refuted"
        return verdict, "stated controlled; " + (
            "the metrics put it in a 3A090 tier" if controlled else "the metrics do not"
        )
    if status == "uncontrolled":
        verdict = "refuted" if controlled else "reproduced"
        return verdict, "stated uncontrolled; " + (
            "yet the metrics put it in a 3A090 tier" if controlled else "the metrics put it outside 3A090"
        )
    return "context", f"stated {status}: a policy decision; by the metrics it is {tier_words(tier)}"


def tier_facts(c: Chip) -> str:
    """``TPP 2,368, PD 2.91, outside 3A090``: the export-control metrics of one chip."""
    lower = " (lower bound: some peaks unknown)" if c.tpp_is_lower_bound else ""
    note2 = ""
    if c.eccn_3a090 == "none" and c.market == "non-datacenter" and c.tpp is not None and c.tpp >= 1600:
        note2 = " by Note 2 (not a data-centre part, TPP under 4,800)"
    return f"TPP {fmt(c.tpp)}{lower}, PD {fmt(c.performance_density)}, {tier_words(c.eccn_3a090)}{note2}"


def _tier_entry(c: Chip, status: str) -> BasisVerdict:
    tpp = c.tpp
    facts = tier_facts(c)
    verdict, why = judge_status(c, status)
    return BasisVerdict(
        "eccn:3a090",
        None,
        verdict,
        f"{c.id}: {facts}: {why}",
        (c.id,),
        a_value=tpp,
        value=tpp,
        unit="TPP",
        group="export-control metrics",
        label=f"{c.id} {tier_words(c.eccn_3a090)}",
    )


def _band_entry(c: Chip, status: str, cbc: Mapping[str, Any]) -> BasisVerdict:
    group = f"case-by-case band {cbc['rule']}"
    tpp, bw = c.tpp, c.bandwidth_tbps
    if tpp is None or bw is None:
        return BasisVerdict(
            "eccn:case-by-case",
            None,
            "unknown",
            f"{c.id}: TPP or bandwidth unknown",
            (c.id,),
            group=group,
            label=f"{c.id} unknown",
        )
    inside = tpp < cbc["tpp_lt"] and bw * 1000 < cbc["bandwidth_gbps_lt"]
    licensable = status in ("licensable", "licence-required")
    where = "inside" if inside else "outside"
    detail = (
        f"{c.id}: TPP {fmt(tpp)} (< {fmt(cbc['tpp_lt'])}?), bandwidth {fmt(bw * 1000)} GB/s "
        f"(< {fmt(cbc['bandwidth_gbps_lt'])}?) → {where} the {cbc['rule']} case-by-case band; stated {status}"
    )
    return BasisVerdict(
        "eccn:case-by-case",
        None,
        "reproduced" if inside == licensable else "refuted",
        detail,
        (c.id,),
        a_value=tpp,
        group=group,
        label=f"{c.id} {where} band",
    )


_POLICY_WORDS = {
    "licensable": "still needs a licence (stated licensable: exports allowed licence by licence, not free "
    "of control)",
    "licence-required": "needs a licence by policy",
}


def _band_words(rel: RegulatoryRelation, band: Sequence[BasisVerdict]) -> str:
    """``from 2026-01-15 licences are reviewed case by case below TPP ...: inside ...; outside ...``."""
    cbc = rel.case_by_case or {}
    inside = [e.pair[0] for e in band if e.label.endswith("inside band")]
    outside = [e.pair[0] for e in band if e.label.endswith("outside band")]
    text = (
        f"from {cbc['rule']} licence applications are reviewed case by case below TPP {fmt(cbc['tpp_lt'])} "
        f"and {fmt(cbc['bandwidth_gbps_lt'])} GB/s: inside {', '.join(inside) or 'none'}"
    )
    if outside:
        text += f"; outside {', '.join(outside)}"
    covered = [c for c in inside if rel.status[c] in ("controlled", "uncontrolled")]
    if covered:
        text += f" (the band covers chips stated {rel.status[covered[0]]} too: {', '.join(covered)})"
    return text


def _policy_verdict(
    rel: RegulatoryRelation, tiers: Mapping[str, str], entries: Sequence[BasisVerdict]
) -> tuple[str, str] | None:
    """For a stated policy status ("licensable", "licence-required"): "policy, not specs: ..." saying that
    such a chip still needs a licence, where the metrics put it and which chips they put in the same tier
    with another status. None when the claim states no such status (controlled / uncontrolled only: the
    metrics decide, reproduced or refuted)."""
    eccn = [e for e in entries if e.basis == "eccn:3a090"]
    if not any(e.verdict == "context" for e in eccn):
        return None
    words = []
    for e in eccn:
        if e.verdict not in ("context", "refuted"):
            continue
        cid = e.pair[0]
        peers = [
            c for c in rel.status if c != cid and tiers[c] == tiers[cid] and rel.status[c] != rel.status[cid]
        ]
        status = rel.status[cid]
        s = f"{cid} {_POLICY_WORDS.get(status, f'is stated {status}')}; the export-control metrics put it "
        s += f"{tiers[cid]} (TPP {fmt(e.value)})"
        if peers:
            s += f", like {', '.join(f'{p} (stated {rel.status[p]})' for p in peers)}"
        words.append(s)
    text = "policy, not specs: " + "; ".join(words)
    band = [e for e in entries if e.basis == "eccn:case-by-case"]
    if band:
        text += "; " + _band_words(rel, band)
    return "policy", text


def check(rel: RegulatoryRelation, ctx: Context) -> Outcome:
    chips = {cid: ctx.db.get(cid) for cid in rel.status}
    entries = [_tier_entry(chips[cid], status) for cid, status in rel.status.items()]
    if rel.case_by_case:
        entries += [_band_entry(chips[cid], s, rel.case_by_case) for cid, s in rel.status.items()]
    tiers = {cid: tier_words(c.eccn_3a090) for cid, c in chips.items()}
    detail = f"rule: {rel.rule or 'unspecified'}; " + "; ".join(e.detail for e in entries)
    return Outcome(tuple(entries), detail, _policy_verdict(rel, tiers, entries))


KIND = Kind(relation=RegulatoryRelation, required=frozenset({"status"}), parse=parse, check=check)
