"""Serving sections (:mod:`gpucompare.model.serving`): the serving model against published serving results
(leave one chip out), and the 8-GPU serving table of the articles' chips with the fleet equivalences."""

from __future__ import annotations

import dataclasses

import pandas as pd

from gpucompare.report.inputs import ReportInputs
from gpucompare.report.section import Section

#: The articles' chips, 8-GPU servers.
SERVING_CHIPS = ("h20", "h200-sxm", "h100-sxm", "b200", "ascend-910c")
#: (model, input, output, TPOT target in ms) of the serving table.
SERVING_LOADS = (
    ("deepseek-r1", 1024, 1024, 50.0),
    ("llama3-70b", 1024, 1024, 50.0),
    ("qwen2.5-32b", 1024, 1024, 50.0),
)
GPUS = 8
#: Fleet equivalences the claims need: (chip a, chip b): one server of a is worth k servers of b.
FLEET_PAIRS = (("h200-sxm", "h20"), ("b200", "h20"), ("h20", "ascend-910c"))


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


def _row(chip, model: str, gpus: int, inp: int, out: int, tpot: float) -> dict:
    from gpucompare.model.serving import Load, Server, ServingConfigError, serve
    from gpucompare.model.serving.kernels import NoEvidenceError
    from gpucompare.model.serving.validate import engine_factor

    precision = "fp8" if chip.peak_tflops.get("fp8") else "bf16"
    base = {"chip": chip.id, "model": model, "gpus": gpus, "precision": precision, "tpot_target_ms": tpot}
    try:
        ep = gpus if model.startswith("deepseek") else None
        server = Server.make(
            chip, model, gpus, None, ep, None, precision, overhead=engine_factor("all") or 1.0
        )
        r = serve(server, Load(inp, out, tpot_ms=tpot))
    except (ServingConfigError, NoEvidenceError) as exc:
        return {**base, "status": "not projected", "reason": str(exc)}
    notes = list(r.notes)
    if chip.vendor not in _validated_vendors():
        notes.append(f"no published serving figure of a {chip.vendor} chip: kernel efficiencies transferred")
    return {
        **base, "tp": r.tp, "ep": r.ep, "max_concurrency": r.max_concurrency, "concurrency": r.concurrency,
        "ttft_ms": r.ttft_s * 1e3, "tpot_ms": r.tpot_s * 1e3, "output_tokens_per_s": r.output_tokens_per_s,
        "output_tokens_per_s_per_gpu": r.per_gpu_output, "prefill_bound": r.prefill_bound,
        "decode_bound": r.decode_bound, "status": "indicative" if notes else "projected",
        "reason": "; ".join(notes),
    }  # fmt: skip


def _validated_vendors() -> set[str]:
    from gpucompare.model.serving.validate import serving_entries
    from gpucompare.specs import load_chips

    db = load_chips()
    return {db.get(e.chip).vendor for e in serving_entries()}


def serving_rows(chips) -> list[dict]:
    """One row per chip × model of :data:`SERVING_LOADS` on 8 GPUs; a model that does not fit 8 GPUs gets
    its 8-GPU refusal and a 16-GPU projection (indicative: the links between the two nodes are not modelled)."""
    rows = []
    for model, inp, out, tpot in SERVING_LOADS:
        for chip in chips:
            row = _row(chip, model, GPUS, inp, out, tpot)
            rows.append(row)
            if row["status"] == "not projected" and "does not fit" in row["reason"]:
                rows.append(_row(chip, model, 2 * GPUS, inp, out, tpot))
    return rows


def fleet(rows: list[dict]) -> list[dict]:
    """One 8-GPU server of chip a ≈ k servers of chip b, per model, from output tokens/s per GPU × 8."""
    out = []
    for model, _, _, tpot in SERVING_LOADS:
        per = {}
        for r in rows:
            if r["model"] == model and r.get("output_tokens_per_s_per_gpu") and r["chip"] not in per:
                per[r["chip"]] = (r["output_tokens_per_s_per_gpu"] * GPUS, r["gpus"], r["status"])
        for a, b in FLEET_PAIRS:
            if a in per and b in per:
                note = "indicative" if "indicative" in (per[a][2], per[b][2]) else "projected"
                out.append({"model": model, "tpot_target_ms": tpot, "server_a": f"8x {a}", "server_b": f"8x {b}",
                            "k": per[a][0] / per[b][0], "status": note,
                            "gpus_needed": f"{a}: {per[a][1]}, {b}: {per[b][1]}"})  # fmt: skip
    return out


def serving_table(inp: ReportInputs) -> Section:
    """The articles' chips as 8-GPU servers: concurrency at TPOT ≤ 50 ms, TTFT, tokens/s, bound; and the
    fleet equivalences (one server of a ≈ k servers of b)."""
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
