"""The verdict card the report opens with: for one chip pair, one line per kind of work (training compute,
prefill, decode, bandwidth, 8-GPU link) with the speed-up, what it rests on, and a plain verdict on the
articles' ratio claim about that pair ("≈6× holds for training compute, not for decode").

The numbers are the headline's (:func:`gpucompare.report.headline.pair_figures`); the verdict is the claim's
own rule (``RatioRelation.judge``, the accepted range of ``seeds/claims.toml``). Per line the strongest
basis wins: measured here, then published (same script), then a projection the model calls firm (not
indicative, not inverting the spec order: :func:`firm`), then spec. A projection that is not firm is named
beside the line, never shown as the line's number.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gpucompare.fmt import times
from gpucompare.report.headline import PairFigure

#: The card's lines: (class key of ``headline.CLASSES``, what a reader calls that work).
WORK = (
    ("gemm", "training compute"),
    ("attention", "prefill (attention)"),
    ("decode", "decode"),
    ("bandwidth", "memory bandwidth"),
    ("multi_gpu", "8-GPU link"),
)
ORDER = ("measured here", "published", "projected", "spec")


@dataclass(frozen=True)
class CardLine:
    """One kind of work: the speed-up of A over B, its basis, what it rests on (Markdown), the verdict on the
    claim ("holds", "does not hold", "" without a claim) and why, and a projection not shown as the number."""

    work: str
    ratio: float | None
    basis: str
    rests_on: str
    verdict: str = ""
    why: str = ""
    aside: str = ""


@dataclass(frozen=True)
class VerdictCard:
    """The card for one pair: its title, the claim judged (Markdown, "" when none), the lines, one summary
    sentence and whether anything on it was measured by this suite."""

    title: str
    claim: str
    lines: Sequence[CardLine]
    summary: str
    measured_here: bool


def firm(f: PairFigure) -> bool:
    """Whether a projected figure may stand as a firm number (the one place the card asks the model): the
    calibrated model's, neither indicative (weak evidence) nor flagged (inverting the spec order)."""
    calibrated = f.source.startswith("model: calibrated")
    return f.basis == "projected" and f.ratio is not None and calibrated and not f.indicative and not f.flag


def ratio_claim(claims: Sequence[Mapping[str, Any]], a: str, b: str) -> tuple[Mapping[str, Any], bool] | None:
    """The first ratio claim about exactly this pair, and whether it states B over A (then ratios invert)."""
    for c in claims:
        rel = c.get("relation") or {}
        if rel.get("kind") == "ratio" and {rel.get("a"), rel.get("b")} == {a, b} and a != b:
            return c, rel.get("a") == b
    return None


def _judge(relation: Mapping[str, Any], r: float) -> tuple[str, str]:
    from gpucompare.claims.kinds.ratio import RatioRelation

    rule = RatioRelation(
        a=relation["a"], b=relation["b"], factor=relation["factor"], accept=tuple(relation["accept"])
    )
    verdict, why = rule.judge(r)
    return {"reproduced": "holds", "refuted": "does not hold"}.get(verdict, "not judged"), why


def _rests_on(f: PairFigure) -> str:
    if f.basis == "published":
        group = f.tag.split(":", 1)[0] or "published"
        link = f"[{group}]({f.url})" if f.url else group
        return f"published ({link}, same script): {f.detail.split(': ', 1)[-1]}"
    if f.basis == "projected":
        return f"projected ({f.detail})"
    if f.basis == "spec":
        return f"spec: {f.detail}"
    return f"measured here: {f.detail}"


def _aside(proj: PairFigure | None, chosen: PairFigure | None) -> str:
    if proj is None or proj.ratio is None or proj is chosen:
        return ""
    if firm(proj):
        return f"projected {times(proj.ratio)}"
    if proj.flag:
        why = f"flagged: {proj.flag}"
    elif proj.indicative:
        why = f"indicative: {proj.indicative}"
    else:
        why = "not calibrated"
    return f"projected {times(proj.ratio)} ({why})"


def _line(
    key: str, work: str, figs: Sequence[PairFigure], claim: Mapping[str, Any] | None, flip: bool
) -> CardLine:
    mine = [f for f in figs if f.wclass == key and f.ratio is not None]
    proj = next((f for f in mine if f.basis == "projected"), None)
    ok = [f for f in mine if f.basis != "projected" or firm(f)]
    chosen = min(ok, key=lambda f: ORDER.index(f.basis), default=None)
    if chosen is None:
        reason = next((f.detail for f in figs if f.wclass == key), "no figure")
        return CardLine(work, None, "none", reason, aside=_aside(proj, None))
    verdict = why = ""
    if claim is not None and chosen.ratio:
        r = 1 / chosen.ratio if flip else chosen.ratio
        verdict, why = _judge(claim["relation"], r)
    return CardLine(work, chosen.ratio, chosen.basis, _rests_on(chosen), verdict, why, _aside(proj, chosen))


def _summary(lines: Sequence[CardLine], claim: Mapping[str, Any] | None, a: str, b: str) -> str:
    if claim is None:
        return (
            f"No ratio claim of the articles compares the {a} and the {b}: the lines give the speed-ups only."
        )
    rel = claim["relation"]
    said = f"≈{rel['factor']:g}×"

    def each(v: str) -> str:
        return ", ".join(f"{ln.work} ({times(ln.ratio)} {ln.basis})" for ln in lines if ln.verdict == v)

    parts = [f"holds for {each('holds')}" if each("holds") else "holds for no kind of work"]
    if each("does not hold"):
        parts.append(f"not for {each('does not hold')}")
    return f"{said} {'; '.join(parts)}."


def verdict_card(
    a_label: str, b_label: str, a_id: str, b_id: str, figures: Sequence[PairFigure], claims: Sequence[Mapping]
) -> VerdictCard:
    """The card for the pair A vs B from its headline figures and the checked claims (``to_dict`` dicts)."""
    found = ratio_claim(claims, a_id, b_id)
    claim, flip = found if found else (None, False)
    lines = [_line(k, w, figures, claim, flip) for k, w in WORK]
    text = ""
    if claim is not None:
        src = claim.get("source") or {}
        where = ", ".join(str(src[k]) for k in ("publication", "date") if src.get(k))
        lo, hi = claim["relation"]["accept"]
        text = f"“{claim.get('quote_en') or claim.get('quote')}” ({where}; accepted {lo:g}–{hi:g}×)"
    return VerdictCard(
        f"Verdict: {a_label} vs {b_label}",
        text,
        lines,
        _summary(lines, claim, a_label, b_label),
        any(ln.basis == "measured here" for ln in lines),
    )


# ------------------------------------------------------------------------------------------- rendering
MEASURED_NOTE = "Nothing on this card was measured by this suite: no run on either chip yet."


def _cells(ln: CardLine) -> list[str]:
    ratio = f"**{times(ln.ratio)}**" if ln.ratio is not None else "no figure"
    verdict = f"**{ln.verdict}**" + (f" ({ln.why})" if ln.why else "") if ln.verdict else "–"
    rests = ln.rests_on + (f"; {ln.aside}" if ln.aside else "")
    return [ln.work, ratio, ln.basis, verdict, rests]


HEAD = ("work", "speed-up", "basis", "verdict on the claim", "rests on")


def card_markdown(card: VerdictCard) -> str:
    """The card as Markdown: the claim, the summary, a five-line table."""
    out = [f"## {card.title}\n"]
    if card.claim:
        out.append(f"Claim: {card.claim}.\n")
    out.append(f"**{card.summary}**" + ("" if card.measured_here else f" {MEASURED_NOTE}") + "\n")
    rows = ["| " + " | ".join(HEAD) + " |", "| --- | ---: | --- | --- | --- |"]
    rows += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(ln)) + " |" for ln in card.lines]
    return "\n".join(out) + "\n" + "\n".join(rows) + "\n"


def card_html(card: VerdictCard, inline) -> str:
    """The card as HTML (``inline``: Markdown to inline HTML, raw HTML escaped): one block per line that
    wraps on a narrow screen; no scroll box."""
    parts = [f'<section class="card" id="verdict"><h2>{html.escape(card.title)}</h2>']
    if card.claim:
        parts.append(f'<p class="claim">Claim: {inline(card.claim)}.</p>')
    note = "" if card.measured_here else f' <span class="warn">{html.escape(MEASURED_NOTE)}</span>'
    parts.append(f'<p class="summary"><strong>{inline(card.summary)}</strong>{note}</p><dl>')
    for ln in card.lines:
        work, ratio, basis, verdict, rests = (inline(c) for c in _cells(ln))
        tone = {"holds": "ok", "does not hold": "no"}.get(ln.verdict, "na")
        parts.append(
            f'<div class="line {tone}"><dt>{work}</dt><dd class="r">{ratio}</dd>'
            f'<dd class="b">{basis}</dd><dd class="v">{verdict}</dd><dd class="w">{rests}</dd></div>'
        )
    parts.append("</dl></section>")
    return "".join(parts)
