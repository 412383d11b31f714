"""Helpers shared by the claims tests (``from claims_helpers import ...``)."""

from __future__ import annotations

import dataclasses

from support import make_db

from gpucompare.claims import check_claim, load_claims
from gpucompare.specs import load_chips

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


def patched_db(**peaks):
    """The packaged chips, with some chips' peaks replaced (``h200_sxm={"bf16": 1.0}``)."""
    chips = []
    for c in load_chips():
        new = peaks.get(c.id.replace("-", "_"))
        chips.append(dataclasses.replace(c, peak_tflops={**c.peak_tflops, **new}) if new else c)
    return make_db(*chips)


def check_id(cid: str, db=None, workload_ratios=None):
    """The packaged claim ``cid`` checked against ``db`` (default: the packaged chips)."""
    claims = {c.id: c for c in load_claims(db=db)}
    return check_claim(claims[cid], workload_ratios, db=db)
