"""Verdict names, how per-basis verdicts combine into the overall one, and how numbers are written.

Overall: "reproduced" when every checked basis holds (and none lacks a figure: then "unknown", holding
where figures exist), "refuted" when none does, else "holds only on some
bases: holds on ...; not on ..." grouped by what the basis stands for (compute-bound work, memory-bound
work, ...); context entries beside judged ones follow as "not judged (context): ...".
``ClaimResult.status`` is the machine-readable form (:data:`STATUSES`): "not-checkable" is a claim about
chips that peak specs cannot decide (the spec figures are then context).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from gpucompare.claims.types import BasisVerdict

#: The verdict on one basis.
VERDICTS = ("reproduced", "refuted", "unknown", "context")
#: The overall status of a claim.
STATUSES = ("reproduced", "refuted", "partial", "policy", "context", "not-checkable", "unknown")

#: Ratios within ±5 % of the threshold a claim is judged against (1 for "more / less powerful") are a tie:
#: the two figures are equal within what separates them. Spec peaks of parts sharing a die are equal (H100
#: SXM and H200: 1.00×), and published same-script figures of such parts spread by a few percent from run
#: to run and card to card (clocks, power, cooling: the ledger's H200/H100 fp8 GEMM pairs give 0.99×–1.03×),
#: so a ratio this close to the threshold says "equal", never "more" or "less". A strict claim ("more
#: powerful") fails on a tie; a non-strict one ("the most advanced", ties allowed) holds.
TIE_BAND = 0.05


def tie(r: float, threshold: float) -> bool:
    """Whether the ratio ``r`` equals ``threshold`` within :data:`TIE_BAND` (relative)."""
    return abs(r - threshold) <= TIE_BAND * threshold * (1 + 1e-9)  # the edge is inside


def held(ok: bool) -> str:
    """The verdict of a rule that holds (``reproduced``) or not (``refuted``)."""
    return "reproduced" if ok else "refuted"


# -- numbers -----------------------------------------------------------------------------------------------
def fmt(v: float | None, unit: str = "") -> str:
    """A figure with its unit: thousands separated from 100 up, three significant digits below."""
    if v is None:
        return "unknown"
    if unit == "year":
        return f"{v:.0f}"
    s = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return f"{s} {unit}".strip()


def times(r: float | None) -> str:
    """A ratio as ``6.69×`` (``n/a`` when there is none)."""
    return "n/a" if r is None else f"{r:.2f}×"


# -- combining ---------------------------------------------------------------------------------------------
def by_group(entries: Iterable[BasisVerdict]) -> dict[str, list[BasisVerdict]]:
    """Entries by what their basis stands for, in first-seen order."""
    groups: dict[str, list[BasisVerdict]] = {}
    for e in entries:
        groups.setdefault(e.group or e.basis, []).append(e)
    return groups


def _words(entries: Sequence[BasisVerdict]) -> list[str]:
    """Labels of one group's entries; a basis compared with more than four chips becomes a count and range."""
    by_basis: dict[str, list[BasisVerdict]] = {}
    for e in entries:
        by_basis.setdefault(e.basis, []).append(e)
    words = []
    for basis, es in by_basis.items():
        rs = [e.ratio for e in es if e.ratio is not None]
        if len(es) > 4 and rs:
            words.append(f"{basis.split(':', 1)[-1]} vs {len(es)} chips ({times(min(rs))}–{times(max(rs))})")
        else:
            words += [e.label for e in es]
    return words


def _listing(entries: Sequence[BasisVerdict]) -> str:
    return "; ".join(f"{group}: {', '.join(_words(items))}" for group, items in by_group(entries).items())


def _unknown_tail(unknown: Sequence[BasisVerdict]) -> str:
    if not unknown:
        return ""
    if len(unknown) <= 4:
        return f" (unknown: {', '.join(e.label for e in unknown)})"
    chips = sorted({c for e in unknown for c in e.pair[1:] or e.pair})
    return f" (unknown: {len(unknown)} comparisons lack a figure, involving {', '.join(chips)})"


def overall(entries: Sequence[BasisVerdict]) -> tuple[str, str]:
    """(status, verdict sentence) from the per-basis verdicts; sentences start with the status words."""
    holds = [e for e in entries if e.verdict == "reproduced"]
    fails = [e for e in entries if e.verdict == "refuted"]
    unknown = [e for e in entries if e.verdict == "unknown"]
    context = [e for e in entries if e.verdict == "context"]
    tail = _unknown_tail(unknown)
    if not holds and not fails:
        if context:
            return "context", "context: " + ", ".join(e.label for e in context) + tail
        return "unknown", "unknown: no figure to check" + tail
    shown = [e for e in context if e.ratio is not None or e.value is not None]
    aside = f"; not judged (context): {_listing(shown)}" if shown else ""
    if not fails and any(not e.basis.startswith(("workload:", "model:")) for e in unknown):
        # never "reproduced" while a chip comparison of the claim has no figure (a workload the model cannot
        # project is an evidence gap, said in the tail)
        return "unknown", "holds where figures exist: " + _listing(holds) + aside + tail
    if not fails:
        return "reproduced", "reproduced: " + _listing(holds) + aside + tail
    if not holds:
        return "refuted", "refuted: " + _listing(fails) + aside + tail
    text = f"holds only on some bases: holds on {_listing(holds)}; not on {_listing(fails)}"
    return "partial", text + aside + tail


def not_checkable(entries: Sequence[BasisVerdict]) -> tuple[tuple[BasisVerdict, ...], str]:
    """THE rule for a claim about a capability (the ability to train, suitability for inference): what the
    sources mean rests on more than peak figures (software maturity, stability at scale), so no peak margin
    decides it. Every judged entry becomes context; the sentence gives the figures and what lacks one."""
    shown = tuple(
        dataclasses.replace(e, verdict="context") if e.verdict in VERDICTS[:2] else e for e in entries
    )
    figures = [
        e for e in shown if e.verdict == "context" and (e.ratio is not None or e.value is not None or e.label)
    ]
    unknown = [e for e in shown if e.verdict == "unknown"]
    return shown, "peak figures (context, not judged): " + _listing(figures) + _unknown_tail(unknown)
