"""Helpers shared by the claims tests (``from claims_helpers import ...``)."""

from __future__ import annotations

#: The Reuters "almost six times" claim, the one most tests look at.
SIX = "h200-almost-six-times-h20"

#: A minimal claims file with one ratio claim (chips named by alias).
GOOD = """schema_version = 1
[[claim]]
id = "c1"
quote = "Le H200 est presque six fois plus puissant que le H20."
quote_en = "The H200 is almost six times more powerful than the H20."
source = { publication = "Reuters", date = "2025-12-10", seed = "001_891a4df72a7e2968.txt" }
chips = ["H200", "h20"]
[claim.relation]
kind = "ratio"
a = "h200-sxm"
b = "h20"
factor = 6.0
accept = [5.0, 7.0]
"""


def one_claim(chips: str, relation: str) -> str:
    """A claims file holding one claim ``t`` over ``chips`` (a TOML list) with the ``relation`` lines."""
    return f"""schema_version = 1
[[claim]]
id = "t"
quote = "q"
quote_en = "q"
source = {{ publication = "p", date = "unknown", seed = "s.txt" }}
chips = {chips}
[claim.relation]
{relation}"""


def by_basis(result, pair=None):
    """A result's verdicts by basis (only those of ``pair`` when given)."""
    return {v.basis: v for v in result.verdicts if pair is None or v.pair == pair}
