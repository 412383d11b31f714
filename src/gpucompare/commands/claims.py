"""``gpucompare claims [--json] [--id ID] [-v] [--file PATH] [--results DIR ...]``: claims and verdicts.

Human output: per claim its id, status, source, the English quote and the overall verdict; ``--verbose``
(or ``--id``) adds the per-basis table. ``--json`` prints a JSON array of ``ClaimResult.to_dict()`` objects
(``id, quote, quote_en, source, chips, relation, verdict, status, detail, verdicts[...]``).
Spec verdicts always; ``--results`` adds workload verdicts from the model's projections of stored runs.
"""

from __future__ import annotations

import argparse
import json

from gpucompare import console
from gpucompare.claims import ClaimResult, check_claim, load_claims
from gpucompare.errors import ClaimsError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "claims",
        help="check the press claims against the spec database",
        description="Check every claim of seeds/claims.toml (quotes from the French press) against spec "
        "ratios per basis (bf16, fp8, TPP, bandwidth, memory, interconnect) and print the verdicts.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per claim")
    p.add_argument("--id", dest="claim_id", metavar="ID", help="only this claim (shows its per-basis table)")
    p.add_argument("--verbose", "-v", action="store_true", help="add the per-basis verdicts of every claim")
    p.add_argument("--file", metavar="PATH", help="a claims file other than the packaged seeds/claims.toml")
    p.add_argument(
        "--results",
        metavar="DIR",
        nargs="+",
        help="run folders (or folders of runs) whose projected per-workload ratios are judged too "
        "(default: results/runs when present; cpu-fallback runs never feed a verdict)",
    )
    p.set_defaults(func=run)


def _ratio(r: float) -> str:
    return f"{r:.2f}x"


def format_result(res: ClaimResult, verbose: bool = False) -> list[console.Block]:
    """One claim: header, quote, verdict and (verbose) its per-basis table and detail."""
    c = res.claim
    src = c.source
    blocks: list[console.Block] = [
        f"{c.id}  [{res.status}]  {c.relation.kind}  ({src.publication}, {src.date}, {src.seed})",
        console.Wrapped(f"« {c.quote} »", 4),
        console.Wrapped(f"“{c.quote_en}”", 4),
        console.Wrapped(res.verdict, 4),
    ]
    if verbose:
        table = console.Table(
            "basis",
            "pair",
            console.Column("ratio", "right", fmt=_ratio, missing=""),
            console.Column("verdict", colored=True),
            console.Column("detail", wrap=True),
            indent=6,
        )
        for v in res.verdicts:
            table.add_row(v.basis, "/".join(v.pair), v.ratio, v.verdict, v.detail)
        blocks += [table, console.Wrapped(f"detail: {res.detail}", 4)]
    return blocks


def run(args: argparse.Namespace) -> int:
    claims = load_claims(args.file)
    if args.claim_id is not None:
        chosen = [c for c in claims if c.id == args.claim_id]
        if not chosen:
            raise ClaimsError(f"unknown claim id {args.claim_id!r}; known: {', '.join(c.id for c in claims)}")
        claims = chosen
    from gpucompare.model.headline import evidence_ratios

    provider = evidence_ratios(args.results)
    results = [check_claim(c, provider) for c in claims]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
        return 0
    verbose = args.verbose or args.claim_id is not None
    blocks: list[console.Block] = []
    for r in results:
        blocks += [*format_result(r, verbose), ""]
    console.echo(*blocks, console.counts_line((r.status for r in results), "claims"))
    return 0
