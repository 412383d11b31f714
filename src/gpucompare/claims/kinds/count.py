"""``count``: "DeepSeek has 30,000 H20s". Context, not a verdict: the fleet aggregates ``count × value`` on
compute, bandwidth and memory, and (with ``equivalent_of``) the fleet expressed in another chip, per basis.
Other reports of the count (``elsewhere``) are said beside it, flagged where they differ.

Keys: ``count``, ``qualifier``, ``what``, optional ``chip`` (absent when the article names none),
``equivalent_of``, ``assumed`` (the chip model is inferred, not stated), ``elsewhere = [{ publication,
date, url, says, differs }]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims import bases as B
from gpucompare.claims.reader import RelationReader, report_words
from gpucompare.claims.types import BasisVerdict, Context, Kind, Outcome, Relation
from gpucompare.claims.verdicts import fmt, times
from gpucompare.specs import Chip

FLEET_BASES = ("bf16", "fp8", "bandwidth", "memory")
EQUIVALENT_BASES = ("bf16", "fp8", "bandwidth", "memory")
_SCALES = {
    "TFLOP/s": [(1e6, "EFLOP/s"), (1e3, "PFLOP/s"), (1, "TFLOP/s")],
    "TB/s": [(1e3, "PB/s"), (1, "TB/s")],
    "GB": [(1e6, "PB"), (1e3, "TB"), (1, "GB")],
    "GB/s": [(1e6, "PB/s"), (1e3, "TB/s"), (1, "GB/s")],
}


@dataclass(frozen=True, kw_only=True)
class CountRelation(Relation):
    kind: ClassVar[str] = "count"
    count: int
    qualifier: str
    what: str
    chip: str | None = None
    equivalent_of: str | None = None
    assumed: bool = False
    elsewhere: tuple[Mapping[str, Any], ...] = ()


def parse(rd: RelationReader) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "count": rd.count("count"),
        "qualifier": rd.text("qualifier"),
        "what": rd.text("what"),
        "equivalent_of": rd.any_chip("equivalent_of"),
        "assumed": rd.flag("assumed", False),
        "elsewhere": rd.reports("elsewhere"),
    }
    if kw["equivalent_of"] and "chip" not in rd:
        raise rd.error("equivalent_of", "needs relation.chip")
    return kw


def fleet(total: float, unit: str) -> str:
    """Fleet totals in readable units: TFLOP/s → PFLOP/s / EFLOP/s, TB/s → PB/s, GB → TB / PB."""
    for div, name in _SCALES.get(unit, [(1, unit)]):
        if total >= div:
            return fmt(total / div, name)
    return fmt(total, unit)


def _fleet_entry(rel: CountRelation, c: Chip, basis: str) -> BasisVerdict:
    v = B.value(c, basis)
    unit = B.UNIT[basis]
    if v is None:
        return BasisVerdict(
            f"fleet:{basis}",
            None,
            "unknown",
            f"{c.id} {basis} unknown",
            (c.id,),
            unit=unit,
            group="fleet",
            label=f"{basis} unknown",
        )
    total = v * rel.count
    return BasisVerdict(
        f"fleet:{basis}",
        None,
        "context",
        f"{rel.count:,} × {fmt(v, unit)} = {fleet(total, unit)}",
        (c.id,),
        a_value=v,
        value=total,
        unit=unit,
        group="fleet",
        label=f"{basis} {fleet(total, unit)}",
    )


def _equivalent_entry(rel: CountRelation, c: Chip, e: Chip, basis: str, r: float | None) -> BasisVerdict:
    """The fleet expressed as a number of chips ``e`` on one basis (three significant digits)."""
    n = None if r is None else float(f"{r * rel.count:.3g}")
    return BasisVerdict(
        f"fleet:{basis}-in-{e.id}",
        r,
        "context" if r is not None else "unknown",
        f"{c.id}/{e.id} on {basis} {times(r)}: the fleet equals about {fmt(n)} {e.id}"
        if n is not None
        else f"{basis} unknown",
        (c.id, e.id),
        value=n,
        unit=e.id,
        group="fleet",
        label=f"≈{fmt(n)} {e.id} on {basis}",
    )


#: Models the serving equivalence of a fleet is given on (:func:`gpucompare.model.serving.fleet.equivalence`).
SERVING_MODELS = ("llama3-70b", "deepseek-r1")


def _server_entries(rel: CountRelation, c: Chip, e: Chip) -> list[BasisVerdict]:
    """The fleet in chips ``e``: serving (8-GPU servers at TPOT <= 50 ms, :mod:`gpucompare.model.serving`,
    per model of :data:`SERVING_MODELS`) and training (``model.server``'s data-parallel step, link included)."""
    from gpucompare.model import comm
    from gpucompare.model.server import fleet_equivalence, server_rows
    from gpucompare.model.serving.fleet import equivalence
    from gpucompare.specs.published import load_published

    steps = {f"serving-{m}": equivalence(c, e, m) for m in SERVING_MODELS}
    train = fleet_equivalence(server_rows([c, e], comm.published_points(load_published())), c.id, e.id)
    steps["train-dp"] = {
        "k": train.get("train-dp"),
        "status": "projected",
        "detail": "8-GPU data-parallel Llama-3-70B training step at the spec roofline, link included",
    }
    out = []
    for step, eq in steps.items():
        r = eq["k"]
        n = None if r is None else float(f"{r * rel.count:.3g}")
        detail = (
            f"{c.id}/{e.id} per 8 GPUs, {step} {times(r)} ({eq['detail']}): the fleet equals about {fmt(n)} {e.id}"
            if n is not None
            else f"{step}: a server figure is unknown ({eq['detail']})"
        )
        out.append(
            BasisVerdict(
                f"fleet:server-{step}-in-{e.id}",
                r,
                "context" if r is not None else "unknown",
                detail,
                (c.id, e.id),
                value=n,
                unit=e.id,
                group="fleet",
                label=f"≈{fmt(n)} {e.id} on 8-GPU {step} ({eq['status']})",
            )
        )
    return out


def check(rel: CountRelation, ctx: Context) -> Outcome:
    head = f"{rel.qualifier} {rel.count:,} {rel.chip or 'chips (model unspecified)'}: {rel.what}"
    if rel.assumed:
        head += " [chip model assumed, not stated]"
    if not rel.chip:
        head += report_words(rel.elsewhere)
        return Outcome((), head + "; no chip model, so no fleet figures", ("context", f"context: {head}"))
    c = ctx.db.get(rel.chip)
    entries = [_fleet_entry(rel, c, basis) for basis in FLEET_BASES]
    if rel.equivalent_of:
        e = ctx.db.get(rel.equivalent_of)
        spec = B.ratios(c, e)
        entries += [_equivalent_entry(rel, c, e, basis, spec[basis].ratio) for basis in EQUIVALENT_BASES]
        entries += _server_entries(rel, c, e)
    figures = ", ".join(e.label for e in entries) + report_words(rel.elsewhere)
    return Outcome(tuple(entries), f"{head}; {figures}", ("context", f"context: {head}; {figures}"))


KIND = Kind(
    relation=CountRelation,
    required=frozenset({"count", "qualifier", "what"}),
    parse=parse,
    check=check,
    chip_keys=("chip",),
)
