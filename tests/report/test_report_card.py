"""The verdict card: one line per kind of work with the speed-up, its basis and the verdict on the articles'
ratio claim, first in both documents; a projection the model calls indicative (or that inverts the spec
order) is never the card's number; ``report --pair A,B`` picks the card's pair."""

from __future__ import annotations

import pytest

from gpucompare import report
from gpucompare.cli import main as cli
from gpucompare.report.card import WORK, card_html, card_markdown, verdict_card
from gpucompare.report.format import md_inline
from gpucompare.report.headline import PairFigure

CLAIM = {
    "id": "a-six-times-b",
    "quote_en": "A is almost six times B.",
    "source": {"publication": "Wire", "date": "2025-12-10"},
    "relation": {"kind": "ratio", "a": "a", "b": "b", "factor": 6.0, "accept": [5.0, 7.0]},
}


def _fig(wclass: str, basis: str, ratio: float | None, **kw) -> PairFigure:
    return PairFigure("a", "b", wclass, basis, ratio, kw.pop("detail", f"{basis} detail"), **kw)


def _line(card, work: str):
    return next(ln for ln in card.lines if ln.work == work)


@pytest.fixture(scope="module")
def packaged():
    data = report.build([])  # the packaged chips, ledger and claims; no run
    return data, report.render_markdown(data, {}), report.render_html(data, {})


def test_card_for_h200_vs_h20_judges_the_six_times_claim_per_kind_of_work(packaged):
    data, _, _ = packaged
    card = data.headline.card
    assert card.title == "Verdict: H200 vs H20" and "almost six times" in card.claim and "5–7×" in card.claim
    assert [ln.work for ln in card.lines] == [w for _, w in WORK]
    gemm, decode, link = _line(card, "training compute"), _line(card, "decode"), _line(card, "8-GPU link")
    # dense compute: a published same-script pair (torch-mm-database, 790.3 vs 142.1 TFLOP/s) inside 5-7
    assert gemm.basis == "published" and gemm.ratio == pytest.approx(790.3 / 142.1, rel=0.01)
    assert gemm.verdict == "holds" and "torch-mm-database" in gemm.rests_on
    # decode is bandwidth-bound: about 1.2x, outside the accepted range
    assert decode.verdict == "does not hold" and decode.ratio == pytest.approx(1.2, abs=0.05)
    assert link.basis == "spec" and link.ratio == pytest.approx(1.0)
    assert card.summary.startswith("≈6× holds for training compute (5.56× published)")
    assert "not for" in card.summary and "decode (1.20× spec)" in card.summary
    assert not card.measured_here


def test_card_comes_first_in_both_documents(packaged):
    _, md, page = packaged
    assert md.index("## Verdict: H200 vs H20") < md.index("## The answer") < md.index("## Status")
    assert "| training compute | **5.56×** | published | **holds**" in md
    assert "Nothing on this card was measured by this suite" in md
    assert page.index('id="verdict"') < page.index('id="answer"') < page.index('id="status"')
    assert page.count('<div class="line ') == len(WORK)


def test_an_indicative_or_inverting_projection_is_never_the_cards_number():
    cal = "model: calibrated projection"
    figs = [
        _fig("gemm", "spec", 6.69),
        _fig("gemm", "projected", 5.9, source=cal, indicative="h20: p90 error 31 % above 25 %"),
        _fig("attention", "spec", 6.69),
        _fig("attention", "projected", 0.7, source=cal, flag="reverses the spec order beyond its error"),
        _fig("decode", "spec", 1.2),
        _fig("decode", "projected", 1.19, source=cal, detail="calibrated model, decode shape: ±5% (p90 9%, n=6)"),
        _fig("bandwidth", "spec", 1.2),
        _fig("bandwidth", "projected", 1.19, source="model: roofline at spec peaks"),  # not calibrated
    ]
    card = verdict_card("A", "B", "a", "b", figs, [CLAIM])
    gemm, attn, decode = (_line(card, w) for w in ("training compute", "prefill (attention)", "decode"))
    assert (gemm.basis, gemm.ratio, gemm.verdict) == ("spec", 6.69, "holds")
    assert "projected 5.90× (indicative: h20: p90 error 31 % above 25 %)" in gemm.aside
    assert attn.basis == "spec" and "flagged: reverses the spec order" in attn.aside
    # a firm projection is the number; its shape and expected error are said
    assert decode.basis == "projected" and decode.ratio == 1.19 and decode.verdict == "does not hold"
    assert "decode shape" in decode.rests_on and "±5% (p90 9%, n=6)" in decode.rests_on
    assert _line(card, "memory bandwidth").basis == "spec"  # the roofline at spec peaks is no calibration
    # a class without a figure says so, with no verdict
    link = _line(card, "8-GPU link")
    assert link.ratio is None and link.verdict == "" and "no figure" in card_markdown(card)


def test_a_claim_stated_the_other_way_round_is_judged_on_the_inverse():
    claim = {**CLAIM, "relation": {**CLAIM["relation"], "a": "b", "b": "a"}}  # "B is 6x A"
    card = verdict_card("A", "B", "a", "b", [_fig("gemm", "spec", 1 / 6)], [claim])
    assert _line(card, "training compute").verdict == "holds"


def test_without_a_ratio_claim_the_card_gives_speedups_only():
    card = verdict_card("A", "B", "a", "b", [_fig("gemm", "spec", 2.0)], [])
    assert card.claim == "" and "No ratio claim" in card.summary
    assert all(ln.verdict == "" for ln in card.lines)
    assert '<section class="card" id="verdict">' in card_html(card, md_inline)


def test_report_pair_option_picks_the_cards_pair(tmp_path, capsys):
    assert cli(["report", "--out", str(tmp_path), "--no-plots", "--pair", "H100,H200"]) == 0
    md = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert md.index("## Verdict: H100 vs H200") < md.index("## The answer: H100 vs H200")
    assert "No ratio claim of the articles compares the H100 and the H200" in md
    with pytest.raises(SystemExit):
        cli(["report", "--out", str(tmp_path), "--pair", "H100"])
    assert "is not CHIP_A,CHIP_B" in capsys.readouterr().err


def test_no_table_a_person_reads_has_scientific_notation_or_raw_seconds(packaged):
    import re

    from gpucompare.report.format import for_people

    _, md, _ = packaged
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    text = re.sub(r"\(?https?://\S+|[\w.-]*[0-9a-f]{12,}[\w.-]*", "", "\n".join(rows))
    assert not re.search(r"\d(\.\d+)?e[+-]?\d", text)
    assert "klass" not in md and "| 0.0009203 |" not in md
    import pandas as pd

    shown, numeric = for_people(pd.DataFrame({"efficiency": [0.8337], "median_s": [0.00427728], "n": ["x"]}))
    assert list(shown.iloc[0]) == ["83.4%", "4.28 ms", "x"] and list(shown.columns) == [
        "efficiency",
        "median",
        "n",
    ]
    assert numeric == [True, True, False]
