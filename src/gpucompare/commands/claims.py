"""``gpucompare claims [--json] [--id ID] [-v] [--file PATH] [--results DIR ...]``: claims and verdicts.

Human output: per claim its id, status, source, the English quote and the overall verdict; ``--verbose``
(or ``--id``) adds the per-basis table. ``--json`` prints a JSON array of ``ClaimResult.to_dict()`` objects
(``id, quote, quote_en, source, chips, relation, verdict, status, detail, verdicts[...]``).
Spec verdicts always; ``--results`` adds workload verdicts from the model's projections of stored runs.
"""

from __future__ import annotations

import argparse
import json
import textwrap

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


def _wrap(text: str, indent: str = "    ", width: int = 110) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def _ratio(r: float | None) -> str:
    return "" if r is None else f"{r:.2f}x"


def format_result(res: ClaimResult, verbose: bool = False) -> str:
    """One claim as text: header, quote, verdict and (verbose) one line per basis."""
    c = res.claim
    src = c.source
    lines = [
        f"{c.id}  [{res.status}]  {c.relation.kind}  ({src.publication}, {src.date}, {src.seed})",
        _wrap(f"« {c.quote} »"),
        _wrap(f"“{c.quote_en}”"),
        _wrap(res.verdict),
    ]
    if verbose:
        rows = [("basis", "pair", "ratio", "verdict", "detail")]
        rows += [(v.basis, "/".join(v.pair), _ratio(v.ratio), v.verdict, v.detail) for v in res.verdicts]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            cells = [
                row[0].ljust(widths[0]),
                row[1].ljust(widths[1]),
                row[2].rjust(widths[2]),
                row[3].ljust(widths[3]),
                row[4],
            ]
            lines.append("      " + "  ".join(cells).rstrip())
        lines.append(_wrap(f"detail: {res.detail}"))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    claims = load_claims(args.file)
    if args.claim_id is not None:
        chosen = [c for c in claims if c.id == args.claim_id]
        if not chosen:
            raise ClaimsError(f"unknown claim id {args.claim_id!r}; known: {', '.join(c.id for c in claims)}")
        claims = chosen
    from gpucompare.model import stored_workload_ratios

    provider = stored_workload_ratios(args.results)
    results = [check_claim(c, provider) for c in claims]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
        return 0
    verbose = args.verbose or args.claim_id is not None
    print("\n\n".join(format_result(r, verbose) for r in results))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    print(f"\n{len(results)} claims: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0
