"""Pair comparisons shared by the kinds that judge ``a / b`` (ratio, ordering, classification).

A kind's relation is the :class:`PairRule`: it judges one ratio, and one pair of launch years. The entries
for spec bases and chip attributes come from the spec database; the workload entries from the model's
``workload_ratios(chip_a_id, chip_b_id)`` (dicts or objects with ``basis, ratio, bound_a, bound_b,
detail``), judged by the same rule.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from gpucompare.claims import bases as B
from gpucompare.claims.types import BasisVerdict, WorkloadRatios
from gpucompare.claims.verdicts import fmt, held, times
from gpucompare.dtypes import DTYPES
from gpucompare.specs import Chip, ChipDB
from gpucompare.values import is_number


class PairRule(Protocol):
    @property
    def bases(self) -> tuple[str, ...]: ...

    @property
    def workloads(self) -> tuple[str, ...]: ...

    @property
    def caveat(self) -> tuple[str, ...]: ...

    @property
    def set_aside(self) -> Mapping[str, str]: ...

    def judge(self, r: float) -> tuple[str, str]:
        """(verdict, reason) for the ratio a/b (``inf``: only b lacks the dtype; ``0``: only a does)."""
        ...

    def judge_years(self, va: float, vb: float) -> tuple[str, str]:
        """(verdict, reason) for the launch years of a and b."""
        ...


def newer(va: float, vb: float, strict: bool = True) -> tuple[str, str]:
    """a launched after b (or the same year, when not strict)."""
    ok = va > vb if strict else va >= vb
    return held(ok), f"{va:.0f} vs {vb:.0f} ({'newer' if va > vb else 'not newer'})"


def judge(rule: PairRule, r: float | None, basis: str, va: float | None, vb: float | None) -> tuple[str, str]:
    """(verdict, reason) of one a/b comparison under the rule; "unknown" when a figure is missing."""
    if basis == "launch_year":
        if va is None or vb is None:
            return "unknown", "launch year unknown"
        return rule.judge_years(va, vb)
    if r is None:
        return "unknown", "no ratio"
    return rule.judge(r)


def _caveats(a: Chip, b: Chip, basis: str) -> str:
    """What a pair's figure rests on when it is weaker than a figure: `` (ascend-910b: TPP a lower bound;
    mlu590: bf16 estimated)``, else nothing. A lower-bound TPP on b makes a/b an upper bound, and on a a
    lower bound."""
    words = []
    for c in (a, b):
        if basis == "tpp" and c.tpp_is_lower_bound:
            words.append(f"{c.id}'s TPP is a lower bound")
        src = c.sources.get(f"peaks.{basis}")
        if (
            basis in DTYPES
            and src is not None
            and src.confidence == "estimated"
            and c.peak(basis) is not None
        ):
            words.append(f"{c.id}'s {basis} is estimated")
    return f" ({'; '.join(words)})" if words else ""


def _tie_word(why: str) -> str:
    """`` (tie)`` when the rule judged the ratio a tie (equal within the tie band), else nothing."""
    return " (tie)" if why.startswith("a tie") else ""


def lacking(a: Chip, b: Chip, basis: str) -> float | None:
    """A dtype only one chip has is a win for that chip: ``inf`` when only b lacks it ("unsupported"),
    ``0.0`` when only a does; None otherwise (both have it, or a figure is unknown)."""
    if basis not in DTYPES:
        return None
    sa, sb = a.peak_status(basis), b.peak_status(basis)
    if sa == "known" and sb == "unsupported":
        return math.inf
    if sa == "unsupported" and sb == "known":
        return 0.0
    return None


def others(db: ChipDB, a: Chip, than: tuple[str, ...] | str) -> list[Chip]:
    """The chips a is compared with: every other chip of the database for ``"all"``, else those named."""
    return [c for c in db if c.id != a.id] if than == "all" else [db.get(t) for t in than]


def _pair_entry(rule: PairRule, a: Chip, b: Chip, basis: str, spec: dict, judged: bool) -> BasisVerdict:
    """One spec basis or chip attribute of the pair; ``judged`` False: context (a caveat basis)."""
    va, vb, r, reason = B.pair_values(a, b, basis, spec)
    unit = B.UNIT[basis]
    win = lacking(a, b, basis) if r is None else None
    if win is not None:
        loser = b.id if win else a.id
        verdict, why = rule.judge(win)
        why = f"{loser} has no {basis} path (unsupported): a win for the other chip; {why}"
        short = f"{'win' if win else 'loss'} ({loser} has no {basis})"
    else:
        verdict, why = judge(rule, r, basis, va, vb)
        if verdict == "unknown" and reason:
            why = reason
        tie_word = _tie_word(why) if judged else ""  # a caveat basis is shown, never judged a tie
        short = times(r) + tie_word + _caveats(a, b, basis) if r is not None else why
    if not judged:
        verdict, why = "context", "shown beside the verdict, not judged"
    detail = f"{a.id} {fmt(va, unit)} / {b.id} {fmt(vb, unit)}" + (f" = {times(r)}" if r is not None else "")
    return BasisVerdict(
        f"{B.prefix(basis)}:{basis}",
        r,
        verdict,
        f"{detail}: {why}",
        (a.id, b.id),
        va,
        vb,
        unit=unit,
        group=B.GROUP[basis],
        label=short,
    )


def spec_entries(
    rule: PairRule, a: Chip, b: Chip, bases: Sequence[str], multi: bool, reading: str | None = None
) -> list[BasisVerdict]:
    """One entry per spec basis or chip attribute, then one per ``rule.caveat`` basis (context).

    ``multi``: a is compared with several chips (labels name b); ``reading``: the reading of the claim
    this comparison belongs to (prefixes the group, so the verdict sentence keeps readings apart).
    """
    spec = B.ratios(a, b)
    out = []
    for basis, judged in [(x, True) for x in bases] + [(x, False) for x in rule.caveat if x not in bases]:
        e = _pair_entry(rule, a, b, basis, spec, judged)
        group = f"{reading}: {e.group}" if reading else e.group
        short = e.label.replace(f"({b.id} has no {basis})", f"(no {basis} there)") if multi else e.label
        label = f"{basis}{f' vs {b.id}' if multi else ''} {short}"
        out.append(dataclasses.replace(e, group=group, label=label))
    return out


# -- workload bases ----------------------------------------------------------------------------------------
def _field(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)


def _workload_group(ba: str | None, bb: str | None) -> str:
    if ba == bb == "compute":
        return "compute-bound workloads"
    if ba == bb == "memory":
        return "memory-bound workloads"
    if ba is None or bb is None:
        return "workloads (bound unknown)"
    return "workloads bound differently on the two chips"


#: How a workload ratio's evidence reads in a verdict (the provider's optional ``evidence`` field).
EVIDENCE_WORDS = {
    "measured-here": "measured here",
    "published": "published, same script",
    "projected": "projected",
}


def _evidence(row: Any) -> str:
    """`` (measured here)``, `` (published, same script)``, `` (projected)`` or nothing."""
    kind = _field(row, "evidence")
    return f" ({EVIDENCE_WORDS.get(kind, kind)})" if kind else ""


def _wanted(workloads: tuple[str, ...], basis: str) -> bool:
    """Whether the claim names this workload basis (it names none: every one)."""
    if not workloads:
        return True
    return any(basis in (w, f"workload:{w}") or basis.startswith(f"workload:{w}/") for w in workloads)


def _ratio(row: Any, basis: str) -> float | None:
    r = _field(row, "ratio")
    if r is not None and not is_number(r):
        raise ValueError(f"workload_ratios: {basis}: ratio must be a finite number or None, got {r!r}")
    return None if r is None else float(r)


def _judge_uncertain(rule: PairRule, r: float | None, basis: str, rel_error: Any) -> tuple[str, str]:
    """``judge`` on a ratio, unless its error band would change the verdict: then context, not a verdict.

    ``rel_error`` is the expected relative error of each chip's projected time (the leave-one-chip-out figure
    of the model, when the provider gives one). The ratio of two such times may be off by about twice that,
    so the verdict must hold at both ends of ``r·(1 ± 2·rel_error)`` to count."""
    verdict, why = judge(rule, r, basis, None, None)
    if r is None or not isinstance(rel_error, (int, float)) or isinstance(rel_error, bool) or rel_error <= 0:
        return verdict, why
    band = 2.0 * float(rel_error)
    lo, hi = r * max(1.0 - band, 0.0), r * (1.0 + band)
    if judge(rule, lo, basis, None, None)[0] == judge(rule, hi, basis, None, None)[0] == verdict:
        return verdict, why
    return "context", (
        f"not judged: the projection's expected error (about {rel_error:.0%} per chip) puts the ratio "
        f"between {times(lo)} and {times(hi)}, which the verdict depends on"
    )


def _unrepresentative(rule: PairRule, row: Any) -> str | None:
    """Why a workload ratio is not judged as evidence, or None: the provider flags it
    (``representative = false``), the ledger flags an entry of its group, or the claim sets the group aside."""
    if _field(row, "representative") is False:
        return _field(row, "representative_why") or "flagged unrepresentative by its provider"
    group = _field(row, "group")
    if not group:
        return None
    if group in rule.set_aside:
        return rule.set_aside[group]
    from gpucompare.specs.published import load_published

    for e in load_published():
        if e.group == group and getattr(e, "representative", True) is False:
            return (
                getattr(e, "representative_why", None) or f"ledger entry {e.id} is flagged unrepresentative"
            )
    return None


def memory_bound_not_judged(rule: PairRule, bound_a: str | None, bound_b: str | None) -> bool:
    """THE rule for memory-bound work, one for every claim: work memory-bound on both chips is judged only by
    a claim that judges memory bandwidth; for a compute claim ("more powerful", "less performant") it is the
    bandwidth caveat, shown beside the verdict, never judged."""
    return bound_a == bound_b == "memory" and "bandwidth" not in rule.bases


def workload_entries(
    rule: PairRule, a: str, b: str, provider: WorkloadRatios | None, multi: bool
) -> list[BasisVerdict]:
    """One entry per workload basis the provider reports for (a, b) and the claim names; a workload
    memory-bound on both chips is context unless the claim judges bandwidth (:func:`memory_bound_not_judged`),
    and so is a ratio resting on unrepresentative evidence (:func:`_unrepresentative`)."""
    if provider is None:
        return []
    out = []
    for row in provider(a, b):
        basis = _field(row, "basis")
        if not isinstance(basis, str) or not basis:
            raise ValueError(f"workload_ratios({a!r}, {b!r}) returned an entry without a basis: {row!r}")
        if not _wanted(rule.workloads, basis):
            continue
        r = _ratio(row, basis)
        ba, bb = _field(row, "bound_a"), _field(row, "bound_b")
        verdict, why = _judge_uncertain(rule, r, basis, _field(row, "rel_error"))
        if memory_bound_not_judged(rule, ba, bb):
            verdict, why = (
                "context",
                "memory-bound on both chips: the bandwidth caveat of a compute claim, not judged",
            )
        aside = _unrepresentative(rule, row)
        if aside:
            verdict, why = "context", f"not representative evidence, not judged: {aside}"
        kind = "not representative evidence" if aside else _workload_group(ba, bb) + _evidence(row)
        extra = _field(row, "detail") or ""
        detail = f"{a}/{b} {times(r)} (bound: {ba} / {bb}): {why}" + (f"; {extra}" if extra else "")
        name = basis.split(":", 1)[1]
        out.append(
            BasisVerdict(
                basis,
                r,
                verdict,
                detail,
                (a, b),
                group=kind,
                bound_a=ba,
                bound_b=bb,
                label=f"{name}{f' vs {b}' if multi else ''} {times(r)}{_tie_word(why)}",
            )
        )
    return out
