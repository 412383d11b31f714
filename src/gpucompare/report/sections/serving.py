"""Serving sections (:mod:`gpucompare.model.serving`): the serving model against published serving results
(leave one chip out), and the 8-GPU serving table of the articles' chips with the fleet equivalences."""

from __future__ import annotations

import dataclasses

import pandas as pd

from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section


def _error_text() -> str:
    from gpucompare.model.serving.validate import default_checks, summarise

    s = summarise(default_checks())
    return f"±{s.median:.0%} median, ±{s.p90:.0%} p90 (n={s.n})" if s.median is not None else "unvalidated"


def serving_validation(inp: ReportInputs) -> Section:
    """Each published serving figure projected with its chip left out, beside the naive peak ratio."""
    from gpucompare.model.serving.validate import default_checks, engine_factors, summarise

    checks = default_checks()
    rows = [
        {**dataclasses.asdict(c), "rel_error": c.rel_error, "naive_rel_error": c.naive_rel_error}
        for c in checks
    ]
    table = pd.DataFrame(rows)
    s = summarise(checks)
    factors = ", ".join(f"{k} {v:.2f} (n={n})" for k, (v, n) in engine_factors().items())
    summary = (
        f"serving model: median |error| {s.median:.1%}, 90th percentile {s.p90:.1%} over {s.n} published "
        f"serving figures (naive peak ratio: {s.naive_median:.1%} and {s.naive_p90:.1%} over the {s.naive_n} "
        f"it covers, where the model's median is {s.naive_same_n_median:.1%}); engine factors {factors}"
        if s.median is not None and s.naive_median is not None
        else "serving model: no published serving figure could be projected"
    )
    intro = (
        "Each **published** serving figure (ledger workload `serving`: tokens/s of an engine, model, "
        "parallelism, precision and load) is **projected** with its chip's own kernel and collective evidence "
        "left out: step times from the calibrated kernel efficiencies (GEMM, skinny GEMM, attention, decode "
        "attention) and the communication model, then divided by the engine factor (modelled over published "
        "throughput, the median over the engine's entries on the *other* chips). The naive baseline scales "
        "the same source's figure on another chip by the ratio of the chips' peaks in the serving precision. "
        "The engine factor is the engine *and* the model together here: the SGLang entries are all "
        "DeepSeek-R1 or Qwen3, the TensorRT-LLM ones Llama-3."
    )
    shown = table[["id", "chip", "engine", "published", "predicted", "rel_error", "naive", "naive_rel_error"]]
    return Section(
        "serving_validation",
        "Serving model vs published serving results",
        intro,
        table,
        shown=shown,
        readme_note=summary + ".",
        notes={"serving": f"{summary}."},
    )


def serving_table(inp: ReportInputs) -> Section:
    """The articles' chips as 8-GPU servers: concurrency at TPOT ≤ 50 ms, TTFT, tokens/s, bound; and the
    fleet equivalences (one server of a ≈ k servers of b)."""
    from gpucompare.model.serving.fleet import SERVING_CHIPS, SERVING_LOADS, fleet, serving_rows

    chips = {c.id: c for c in inp.chips}
    rows = serving_rows([chips[c] for c in SERVING_CHIPS if c in chips])
    table = pd.DataFrame(rows)
    eq = pd.DataFrame(fleet(rows))
    lines = [
        f"one {r['server_a']} server ≈ {r['k']:.2g} servers of {r['server_b']} on {r['model']} at TPOT ≤ "
        f"{r['tpot_target_ms']:g} ms ({r['status']})"
        for r in fleet(rows)
    ]
    intro = (
        f"**Projected** (serving model; expected error {_error_text()} from the validation above): each chip as "
        f"an 8-GPU server, fp8 where the chip has it (else bf16), KV cache bf16, {SERVING_LOADS[0][1]} input / "
        f"{SERVING_LOADS[0][2]} output tokens, at the largest concurrency whose mean TPOT stays within "
        f"{SERVING_LOADS[0][3]:g} ms (continuous batching, prefill interleaved), with every engine's factor "
        "pooled. DeepSeek-R1 runs expert parallel (EP 8), the dense models tensor parallel (TP 8). A model whose "
        "weights do not fit 8 GPUs says so and is projected on 16 (indicative: the links between two nodes are "
        "modelled as the board's). `decode_bound` `capacity`: the KV cache, not the TPOT, limits the batch. "
        "Fleet equivalences (output tokens/s per 8 GPUs): " + "; ".join(lines) + "."
    )
    shown_cols = ["chip", "model", "gpus", "precision", "concurrency", "ttft_ms", "tpot_ms",
                  "output_tokens_per_s", "decode_bound", "status", "reason"]  # fmt: skip
    shown = table[[c for c in shown_cols if c in table.columns]]
    return Section(
        "serving",
        "8-GPU serving table and fleet equivalences",
        intro,
        table,
        shown=shown,
        more_csvs={"serving_fleet": eq},
    )
