"""``gpucompare validate [--json]``: the calibrated projection against every published figure, chip by chip.

Leave-one-chip-out (:mod:`gpucompare.model.loco`): each ledger entry is predicted with every figure of its
chip removed; beside it the naive projection (the same evidence, efficiency copied unchanged). The summary
gives per validation class (GEMM, attention fwd, attention bwd, decode, decode latency-bound, bandwidth) and
overall the median, 90th percentile and max |error| of both, with n; a second summary validates the best-kernel projection
:mod:`gpucompare.model.bands` (what ``predict`` and the report quote). ``--json`` prints
``{"summary": [...], "rows": [...], "projection_summary": [...], "projections": [...]}``; every row carries ``chip, workload, dtype, group, measured,
predicted, naive, rel_error, naive_rel_error`` (``measured`` is the published figure, with its source).
"""

from __future__ import annotations

import argparse
import json

from gpucompare import console
from gpucompare.model.calibration import EXPLANATION


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="leave-one-chip-out validation of the calibrated projection over the published ledger",
        description="Predict every published figure of the ledger with its chip's own figures left out, "
        "and compare with the figure; the naive projection (efficiency copied across chips) beside it.",
    )
    p.add_argument(
        "--include-unrepresentative",
        action="store_true",
        help="also use (and predict) ledger entries whose source reports a regression, a bug or a low figure",
    )
    p.add_argument("--json", action="store_true", help="print {summary, rows, projections} as JSON")
    p.set_defaults(func=run)


UNITS = {"tflops": "TFLOP/s", "gbps": "GB/s", "time_s": "ms", "tokens_per_s": "tokens/s"}


def _pct(x: float) -> str:
    return f"{x:+.1%}"


def _abs_pct(x: float) -> str:
    return f"{x:.1%}"


def summary_table(summary: list) -> console.Table:
    table = console.Table(
        console.Column("class", wrap=True),
        console.Column("n", "right"),
        console.Column("median |err|", "right", fmt=_abs_pct),
        console.Column("p90 |err|", "right", fmt=_abs_pct),
        console.Column("naive median", "right", fmt=_abs_pct),
        console.Column("naive p90", "right", fmt=_abs_pct),
        console.Column("better/worse", "right", drop=1),
        console.Column("verdict", wrap=True),
    )
    for s in summary:
        table.add_row(
            s.klass, s.n, s.median_abs, s.p90_abs, s.naive_median_abs, s.naive_p90_abs,
            f"{s.better}/{s.worse}", s.verdict,
        )  # fmt: skip
    return table


def cells_table(cells: list[dict]) -> console.Table:
    table = console.Table(
        "class",
        console.Column("n", "right"),
        console.Column("median |err|", "right", fmt=_abs_pct),
        console.Column("p90 |err|", "right", fmt=_abs_pct),
        console.Column("naive median", "right", fmt=_abs_pct, missing=""),
        console.Column("naive p90", "right", fmt=_abs_pct, missing=""),
    )
    for c in cells:
        table.add_row(
            c["klass"], c["n"], c["median_abs"], c["p90_abs"], c["naive_median_abs"], c["naive_p90_abs"]
        )
    return table


def serving_table(serving: dict) -> console.Table:
    """The ``serving`` row: published serving tokens/s, leave one chip out, model against the naive."""
    s = serving["summary"]
    table = console.Table(
        "class", console.Column("n", "right"),
        console.Column("median |err|", "right", fmt=_abs_pct, missing="-"),
        console.Column("p90 |err|", "right", fmt=_abs_pct, missing="-"),
        console.Column("naive n", "right"),
        console.Column("naive median", "right", fmt=_abs_pct, missing="-"),
        console.Column("naive p90", "right", fmt=_abs_pct, missing="-"),
        console.Column("engine factors (modelled / published)", wrap=True),
    )  # fmt: skip
    factors = ", ".join(f"{k} {v:.2f} (n={n})" for k, (v, n) in serving["engine_factors"].items())
    table.add_row(
        "serving", s["n"], s["median"], s["p90"], s["naive_n"], s["naive_median"], s["naive_p90"], factors
    )
    return table


def run(args: argparse.Namespace) -> int:
    from gpucompare.model.bands import projection_rows, summarise_cells
    from gpucompare.model.loco import summarise, validate_ledger
    from gpucompare.model.serving.validate import serving_block

    rows = validate_ledger(include_unrepresentative=args.include_unrepresentative)
    summary = summarise(rows)
    cells = projection_rows(include_unrepresentative=args.include_unrepresentative)
    cell_summary = summarise_cells(cells)
    serving = serving_block()
    if args.json:
        out = {
            "summary": [s.to_dict() for s in summary],
            "rows": [r.to_dict() for r in rows],
            "projection_summary": cell_summary,
            "projections": [c.to_dict() for c in cells],
            "serving": serving,
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    table = console.Table(
        "entry", console.Column("chip", drop=4), console.Column("class", drop=3), "unit",
        console.Column("published", "right", fmt=".4g"),
        console.Column("predicted", "right", fmt=".4g", missing=""),
        console.Column("error", "right", fmt=_pct, missing=""),
        console.Column("naive error", "right", fmt=_pct, missing="", drop=2),
        console.Column("evidence level / why none", wrap=True, drop=1),
    )  # fmt: skip
    for r in rows:
        scale = 1e3 if r.metric == "time_s" else 1.0  # a time in ms, never raw seconds
        predicted = None if r.predicted is None else r.predicted * scale
        table.add_row(
            r.id, r.chip, r.klass or "-", UNITS.get(r.metric, r.metric), r.measured * scale, predicted,
            r.rel_error, r.naive_rel_error, r.level or f"{r.status}: {r.reason}",
        )  # fmt: skip
    console.echo(
        "Leave-one-chip-out: each PUBLISHED figure predicted with its chip's own figures removed",
        "",
        table,
        "",
        "Per class, each published figure predicted from its own implementation family (another family only "
        "through a fitted factor); unrepresentative entries neither used nor predicted unless "
        "--include-unrepresentative:",
        summary_table(summary),
        "",
        "Per class, each chip's best published kernel projected from the other chips (what `predict` and the "
        "report do; the error bands they quote come from these and from the own-chip spread):",
        cells_table(cell_summary),
        "",
        "Serving: each published serving figure (tokens/s) projected with its chip left out (serving model; "
        "naive: the same source's figure on another chip scaled by the peak ratio):",
        serving_table(serving),
        "",
        "The model, in five lines:",
        *(console.Wrapped(f"{i}. {line}", 2) for i, line in enumerate(EXPLANATION, 1)),
    )
    return 0
