"""The claims section: every claim's verdict (``gpucompare.claims``), on spec bases always and on the
projected workload ratios when GPU runs were measured."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import pandas as pd

from gpucompare import model
from gpucompare.model.headline import evidence_workload_ratios, with_layer_steps
from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section
from gpucompare.specs import ChipDB

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


def checked_claims(db: ChipDB, workload_ratios: Callable | None) -> list[dict]:
    """Every claim of the packaged claims file, checked against ``db`` (``ClaimResult.to_dict()`` dicts)."""
    from gpucompare.claims import check_all

    return [r.to_dict() for r in check_all(workload_ratios=workload_ratios, db=db)]


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
    a = inp.analysis
    steps = model.workload_ratios(a, inp.chips, inp.layer, inp.counts) if a.measured else None
    gpu = [m for m in a.measured if not m.pipeline_check]  # CPU runs never feed a verdict
    provider = with_layer_steps(evidence_workload_ratios(inp.db, measured=gpu), steps)
    check = inp.claims_fn or partial(checked_claims, inp.db)
    notes = {}
    try:
        results = check(provider)
    except ImportError as exc:
        results = []
        notes["claims"] = f"claims unavailable: {exc}"
    table = pd.DataFrame([row for c in results for row in _rows(c)], columns=CLAIM_COLUMNS)
    table = table.sort_values(["claim", "basis"], kind="stable").reset_index(drop=True)
    return Section(
        "claims",
        "Claims and verdicts",
        "What the articles said (`seeds/claims.toml`) judged by `gpucompare.claims`: on spec bases always, on "
        "workload bases when measured. One row per claim here (open a verdict to read it whole); every "
        "basis with its ratio and verdict in `tables/claims.csv`.",
        table,
        shown=None
        if table.empty
        else table.drop_duplicates("claim")[["claim", "quote_en", "chips", "status", "verdict", "source"]],
        notes=notes,
        empty_hint="a claims file with claims (`seeds/claims.toml`).",
    )
