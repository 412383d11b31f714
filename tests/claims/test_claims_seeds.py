"""The five articles ship in ``gpucompare.seeds``, and every quote is their text byte for byte."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from gpucompare.claims import load_claims

SEEDS = resources.files("gpucompare.seeds")
#: How a quote joins two passages of one paragraph.
JOIN = " [...] "


def _article(seed: str) -> bytes:
    return SEEDS.joinpath(seed).read_bytes()


def _quotes(claim):
    yield claim.source.seed, claim.quote
    for s in claim.also_in:
        yield s.seed, s.quote


def test_the_five_articles_ship_with_the_claims():
    names = sorted(p.name for p in SEEDS.iterdir() if p.name.endswith(".txt"))
    assert len(names) == 5 and all(re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", n) for n in names)
    readme = SEEDS.joinpath("README.md").read_text(encoding="utf-8")
    for n in names:
        assert n in readme
        assert _article(n).decode("utf-8")  # UTF-8 text, as published
    assert {c.source.seed for c in load_claims()} == set(names)


@pytest.mark.parametrize("claim", load_claims(), ids=lambda c: c.id)
def test_every_quote_is_the_article_text(claim):
    for seed, quote in _quotes(claim):
        data = _article(seed)
        for part in quote.split(JOIN):
            assert part.strip() == part and part, f"{claim.id}: empty or padded passage {part!r}"
            assert part.encode("utf-8") in data, f"{claim.id}: {part!r} is not in {seed} byte for byte"


def test_the_comparison_is_strict_about_apostrophes_and_spaces():
    """’ against ' and a no-break space against a space are different bytes: such a quote fails."""
    data = _article("003_be614fd6bd419c62.txt")
    exact = "la puce d’IA H20 de Nvidia – la seule que l’entreprise"
    assert exact.encode() in data
    assert exact.replace("’", "'").encode() not in data
    assert "30.000\u00a0H20".encode() in data and b"30.000 H20" not in data
