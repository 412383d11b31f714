"""``gpucompare serve MODEL --chip C [--gpus N] [--tp T --ep E --dp D] [--in L --out L] [--concurrency K |
--tpot-ms T] [--precision P] [--kv-dtype D] [--engine E] [--json]``.

One server of ``N`` GPUs of chip ``C`` serving ``MODEL`` (:mod:`gpucompare.model.serving`): prefill and
decode step times and their bounds, TTFT, TPOT, output and total tokens/s, the largest concurrency that
fits memory. PROJECTED, never measured: the model's kernel efficiencies come from the calibrated kernel
projections, its step time is divided by the engine factor fitted on the ledger's published serving
results (``--engine``: one engine's factor, default every engine pooled), and its error is the serving
validation's leave-one-chip-out median and 90th percentile. ``--json`` prints the result with that error.
"""

from __future__ import annotations

import argparse
import json

from gpucompare import console


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="project an LLM server's TTFT, TPOT and tokens/s on any chip (serving model)",
        description="Project one server (chip, GPUs, TP/EP/DP, precision) serving a model under a load, "
        "from the calibrated kernel projections, the communication model and the engine factor fitted on "
        "published serving results.",
    )
    p.add_argument("model", metavar="MODEL", help="llama3-8b, llama3-70b, qwen2.5-32b, qwen3-8b, "
                   "qwen3-30b-a3b, deepseek-v3, deepseek-r1")  # fmt: skip
    p.add_argument("--chip", required=True, help="chip id, alias or driver device name")
    p.add_argument("--gpus", type=int, default=8, help="GPUs in the server (default 8)")
    p.add_argument("--tp", type=int, help="tensor-parallel GPUs per attention replica (default gpus / dp)")
    p.add_argument("--ep", type=int, help="expert-parallel GPUs (mixture-of-experts models; default 1)")
    p.add_argument("--dp", type=int, help="data-parallel attention replicas (default 1)")
    p.add_argument("--in", dest="input_len", type=int, default=1024, help="input tokens (default 1024)")
    p.add_argument("--out", dest="output_len", type=int, default=1024, help="output tokens (default 1024)")
    load = p.add_mutually_exclusive_group()
    load.add_argument("--concurrency", type=int, help="sequences in flight (default: the most that fit)")
    load.add_argument("--tpot-ms", type=float, help="the largest concurrency meeting this mean TPOT")
    p.add_argument("--precision", help="weights and GEMMs: fp8 where the chip has it, else bf16 (default)")
    p.add_argument("--kv-dtype", default="bf16", help="KV cache dtype (default bf16)")
    p.add_argument("--engine", default="all", help="engine factor: tensorrt-llm, sglang, or all (default)")
    p.add_argument("--json", action="store_true", help="print the projection as JSON")
    p.set_defaults(func=run)


def _default_precision(chip) -> str:
    return "fp8" if chip.peak_tflops.get("fp8") else "bf16"


def lines(r, err: tuple[float | None, float | None, int]) -> list[str]:
    med, p90, n = err
    band = f"±{med:.0%} median, ±{p90:.0%} p90 (n={n}, leave one chip out)" if med is not None else "unknown"
    return [
        f"PROJECTED: {r.gpus}x {r.chip} serving {r.model} ({r.precision}, KV {r.kv_dtype}), TP {r.tp} "
        f"EP {r.ep} DP {r.dp}, {r.input_len} in / {r.output_len} out, concurrency {r.concurrency} "
        f"({r.concurrency_limit}; {r.max_concurrency} fit in memory)",
        f"  weights {r.weights_gb_per_gpu:.1f} GB per GPU",
        f"  prefill step {r.prefill_s_per_step * 1e3:.3g} ms ({r.prefill_bound}-bound), decode step "
        f"{r.decode_s_per_step * 1e3:.3g} ms ({r.decode_bound}-bound)",
        f"  TTFT {r.ttft_s * 1e3:.4g} ms, TPOT {r.tpot_s * 1e3:.3g} ms",
        f"  output {r.output_tokens_per_s:,.0f} tokens/s ({r.per_gpu_output:,.0f} per GPU), total "
        f"{r.total_tokens_per_s:,.0f} tokens/s",
        f"  engine factor {r.overhead:.2f} (measured over modelled step time, from published serving results); "
        f"expected error {band}",
        *(f"  note: {n}" for n in r.notes),
    ]


def run(args: argparse.Namespace) -> int:
    from gpucompare.model.serving import Load, Server, ServingConfigError, serve
    from gpucompare.model.serving.validate import default_checks, engine_factor, summarise
    from gpucompare.specs import load_chips

    chip = load_chips().get(args.chip)
    factor = engine_factor(args.engine)
    if factor is None:
        raise ServingConfigError(f"engine {args.engine!r}: no published serving result to fit its factor")
    precision = args.precision or _default_precision(chip)
    server = Server.make(chip, args.model, args.gpus, args.tp, args.ep, args.dp, precision, args.kv_dtype,
                         overhead=factor)  # fmt: skip
    r = serve(server, Load(args.input_len, args.output_len, args.concurrency, args.tpot_ms))
    s = summarise(default_checks())
    if args.json:
        out = {**r.to_dict(), "expected_rel_error": {"median": s.median, "p90": s.p90, "n": s.n}}
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    console.echo(*lines(r, (s.median, s.p90, s.n)))
    return 0
