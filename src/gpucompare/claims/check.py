"""Checking claims: each claim's kind judges it basis by basis, and the verdicts combine into one.

Everything is deterministic: the order is the file's, the chips' and the workload provider's.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpucompare import specs
from gpucompare.claims import kinds
from gpucompare.claims.loading import load_claims
from gpucompare.claims.types import Claim, ClaimResult, Context, WorkloadRatios
from gpucompare.claims.verdicts import not_checkable, overall
from gpucompare.specs import ChipDB


def check_all(
    workload_ratios: WorkloadRatios | None = None,
    claims: Sequence[Claim] | None = None,
    db: ChipDB | None = None,
) -> list[ClaimResult]:
    """Check every claim (default: the packaged claims file) in file order."""
    claims = load_claims(db=db) if claims is None else claims
    return [check_claim(c, workload_ratios, db=db) for c in claims]


def check_claim(
    claim: Claim, workload_ratios: WorkloadRatios | None = None, db: ChipDB | None = None
) -> ClaimResult:
    """Verdicts per basis and overall for one claim.

    ``workload_ratios(chip_a_id, chip_b_id)``, when given, supplies projected per-workload ratios (dicts or
    objects with ``basis, ratio, bound_a, bound_b, detail``); they are judged by the same rule as spec
    bases. ``db``: the chip database (default: the packaged one, ``specs.load_chips()``).
    """
    if not isinstance(claim, Claim):
        raise ValueError(f"check_claim needs a Claim, got {type(claim).__name__}")
    if workload_ratios is not None and not callable(workload_ratios):
        raise ValueError("workload_ratios must be a callable (chip_a, chip_b) -> list of ratios")
    ctx = Context(specs.load_chips() if db is None else db, workload_ratios)
    out = kinds.REGISTRY[claim.relation.kind].check(claim.relation, ctx)
    entries = out.entries
    if claim.relation.capability:  # one rule for every claim about a capability (verdicts.not_checkable)
        entries, listing = not_checkable(entries)
        status, verdict = "not-checkable", out.overall[1] if out.overall else listing
    else:
        status, verdict = out.overall or overall(entries)
    return ClaimResult(claim, status, _with_not_checked(claim, status, verdict), out.detail, entries)


def _with_not_checked(claim: Claim, status: str, verdict: str) -> str:
    """The verdict sentence with what specs cannot check: first for a "not-checkable" claim, after the
    verdict otherwise."""
    nc = claim.relation.not_checked
    if not nc:
        return verdict
    if status == "not-checkable":
        return f"not checkable from specs: {nc}; {verdict}"
    return f"{verdict}; not checkable from specs: {nc}"
