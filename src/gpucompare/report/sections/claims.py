"""The claims section: every claim's verdict (``gpucompare.claims``), on spec bases always and on the
projected workload ratios when GPU runs were measured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section

CLAIM_COLUMNS = [
    "claim",
    "chips",
    "relation",
    "status",
    "verdict",
    "basis",
    "ratio",
    "basis_verdict",
    "detail",
    "quote_en",
    "source",
]
#: Statuses of claims that are not about what the chips can do (sales, orders, policy): listed after the rest.
CONTEXT = ("context", "policy")
SHOWN = ["chips", "status", "verdict", "quote_en", "source", "claim"]


def _text(value: Any, keys: Sequence[str]) -> str | None:
    """A nested dict shown by a few of its fields ("Reuters, 2025-12-10"), a plain value as is."""
    if isinstance(value, Mapping):
        return ", ".join(str(value[k]) for k in keys if value.get(k)) or None
    return None if value is None else str(value)


def _rows(claim: Mapping[str, Any]) -> list[dict]:
    """One row per basis verdict of a claim (one row when it has none)."""
    return [
        {
            "claim": claim.get("id"),
            "chips": " vs ".join(map(str, claim.get("chips") or [])),
            "relation": _text(claim.get("relation"), ("kind",)),
            "status": claim.get("status"),
            "verdict": claim.get("verdict"),
            "basis": v.get("basis"),
            "ratio": v.get("ratio"),
            "basis_verdict": v.get("verdict"),
            "detail": v.get("detail"),
            "quote_en": claim.get("quote_en") or claim.get("quote"),
            "source": _text(claim.get("source"), ("publication", "date", "title")),
        }
        for v in claim.get("verdicts") or [{}]
    ]


def claims(inp: ReportInputs) -> Section:
    """The verdicts, one row per claim in the documents and one per basis in ``tables/claims.csv``."""
    table = pd.DataFrame([row for c in inp.claims for row in _rows(c)], columns=CLAIM_COLUMNS)
    context = table["status"].isin(CONTEXT)
    order = sorted(
        range(len(table)), key=lambda i: (bool(context[i]), table["chips"][i] == "", table["chips"][i])
    )
    table = table.iloc[order].reset_index(drop=True)
    return Section(
        "claims",
        "Claims and verdicts",
        "What the articles said (`seeds/claims.toml`) judged by `gpucompare.claims`: on spec bases always, on "
        "published and projected workload bases where the model has them. Claims about the chips come first, "
        "grouped by the chips they compare; claims of context (sales, orders, policy) after them. One row per "
        "claim here (open a long verdict to read it whole); every basis with its ratio and verdict in "
        "`tables/claims.csv`.",
        table,
        shown=None if table.empty else table.drop_duplicates("claim")[SHOWN],
        boxed=False,
        empty_hint="a claims file with claims (`seeds/claims.toml`).",
    )
