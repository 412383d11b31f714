"""Servers of the articles' chips side by side: one 8-GPU server's output tokens/s at a TPOT target, per
chip and model, and the fleet equivalence "one server of chip a ≈ k servers of chip b" the claims and the
report use (:func:`server_row`, :func:`serving_rows`, :func:`fleet`, :func:`equivalence`).

Each server: fp8 where the chip has it (else bf16), KV cache bf16, DeepSeek models expert parallel over all
GPUs, dense models tensor parallel, every engine's factor pooled. A model that does not fit 8 GPUs gets its
refusal and a 16-GPU projection, *indicative* (the links between two nodes are modelled as the board's); so
is a chip of a vendor with no published serving figure in the ledger (its efficiencies are transferred).
The ratio ``k`` compares output tokens/s per 8 GPUs.
"""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=1)
def _validated_vendors() -> frozenset[str]:
    from gpucompare.model.serving.validate import serving_entries
    from gpucompare.specs import load_chips

    db = load_chips()
    return frozenset(db.get(e.chip).vendor for e in serving_entries())


def server_row(chip, model: str, gpus: int, inp: int, out: int, tpot: float) -> dict:
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


def serving_rows(chips) -> list[dict]:
    """One row per chip × model of :data:`SERVING_LOADS` on 8 GPUs; a model that does not fit 8 GPUs gets
    its 8-GPU refusal and a 16-GPU projection (indicative: the links between the two nodes are not modelled)."""
    rows = []
    for model, inp, out, tpot in SERVING_LOADS:
        for chip in chips:
            row = server_row(chip, model, GPUS, inp, out, tpot)
            rows.append(row)
            if row["status"] == "not projected" and "does not fit" in row["reason"]:
                rows.append(server_row(chip, model, 2 * GPUS, inp, out, tpot))
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


def equivalence(a, b, model: str, inp: int = 1024, out: int = 1024, tpot: float = 50.0) -> dict:
    """One 8-GPU server of chip ``a`` ≈ ``k`` servers of chip ``b`` on ``model`` at TPOT ≤ ``tpot`` ms:
    ``{"k", "status", "detail"}``; ``k`` None (status "not projected") when either cannot be projected."""
    rows = {}
    for chip in (a, b):
        r = server_row(chip, model, GPUS, inp, out, tpot)
        if r["status"] == "not projected" and "does not fit" in r["reason"]:
            r = server_row(chip, model, 2 * GPUS, inp, out, tpot)
        rows[chip.id] = r
    ra, rb = rows[a.id], rows[b.id]
    if not ra.get("output_tokens_per_s_per_gpu") or not rb.get("output_tokens_per_s_per_gpu"):
        why = ra.get("reason") if not ra.get("output_tokens_per_s_per_gpu") else rb.get("reason")
        return {"k": None, "status": "not projected", "detail": f"{model}: {why}"}
    k = ra["output_tokens_per_s_per_gpu"] / rb["output_tokens_per_s_per_gpu"]
    status = "indicative" if "indicative" in (ra["status"], rb["status"]) else "projected"
    detail = (
        f"{model}, {inp} in / {out} out, TPOT <= {tpot:g} ms: {a.id} {ra['output_tokens_per_s_per_gpu']:,.0f} "
        f"and {b.id} {rb['output_tokens_per_s_per_gpu']:,.0f} output tokens/s per GPU ({ra['gpus']} and "
        f"{rb['gpus']} GPUs), {status}"
    )
    notes = list(dict.fromkeys(n for n in (ra.get("reason"), rb.get("reason")) if n))
    return {"k": k, "status": status, "detail": detail + (f" ({'; '.join(notes)})" if notes else "")}
