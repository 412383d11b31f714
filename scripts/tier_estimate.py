"""Estimate (not a measurement) the device time of the whole GPU tier, with and without the prebuilt Triton cache.

    python scripts/tier_estimate.py [--chip h200] [--compile-s 1.2] [--budget 1.0] [--json OUT]

Counted exactly, from the code (no GPU): the cases of ``runner.plan("gpu")``, the distinct Triton compiles
and the autotuner benchmarks each Triton case triggers (``cache_build.compile_tier(count_only=True)``: the
runtime's own keys, nothing compiled). Assumed, and printed with the result:

- kernel time = the two-number floor ``max(F/P, B/BW)`` on ``--chip``'s spec peaks / an efficiency
  (``EFF_COMPUTE``, ``EFF_MEMORY``): a guess until a GPU run measures it;
- one autotuner benchmark = Triton ``do_bench`` as ``_common.autotune_bench`` calls it (5 estimate runs, then
  5 ms of warm-up and 25 ms of repetitions, each run after a 256 MB cache clear of ``CLEAR_S``);
- one compile = ``--compile-s`` seconds (measured on the 2-core CPU machine: ~1.2 s per kernel, 485 in ~570 s;
  the issue puts the GPU host at 4-9 minutes for the same 485); with the cache, ``LOAD_S`` per kernel;
- the timing rule (``gpucompare.measure.timing``, GPU defaults): cold call, warm-up (25 reps or 0.1 s), then
  10 samples when the median is stable ("low") or the 1 s budget per implementation ("high"); each repetition
  also writes the 2 x L2 flush buffer and sleeps ~2 x its host time (``REP_OVERHEAD_S``);
- references in float64 at ``REF_FLOPS`` FLOP/s, inputs at ``INPUT_BPS`` bytes/s; process start ``START_S``.

The machine's own start (a minute or two of the 15-minute lease) is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EFF_COMPUTE, EFF_MEMORY = 0.6, 0.8
CLEAR_S = 0.12e-3  # do_bench zeroes 256 MB before each run: ~0.11 ms at ~4.5 TB/s
REP_OVERHEAD_S = 0.15e-3  # flush (2 x 60 MB written) + the sleep before the start event + launch
LOAD_S = 0.01
REF_FLOPS = 30e12  # float64 on an H100/H200 (67 TFLOP/s fp64 tensor peak; the references are not tuned)
INPUT_BPS = 1e12
START_S = 20.0


def bench_s(t: float) -> float:
    """One ``do_bench(warmup=5 ms, rep=25 ms)`` of a kernel of ``t`` seconds."""
    run = t + CLEAR_S
    n_warm, n_rep = max(1, int(5e-3 / run)), max(1, int(25e-3 / run))
    return (5 + n_warm + n_rep) * run


def timing_s(t: float, budget: float = 1.0, min_reps: int = 10) -> tuple[float, float]:
    """(stable, budget-bound) seconds of the warm-up and the samples of one implementation."""
    rep = t + REP_OVERHEAD_S
    warm = t + min(24 * rep, 0.1 + rep)
    return warm + min_reps * rep, warm + max(min_reps * rep, min(budget, 1000 * rep))


def estimate(chip_name: str, compile_s: float, budget: float = 1.0) -> dict:
    from gpucompare import hw
    from gpucompare.commands.workloads import floor
    from gpucompare.measure import cache_build, runner
    from gpucompare.specs import get_chip

    counted = {c["case"]: c for c in cache_build.compile_tier(count_only=True)["cases"]}
    chip = get_chip(chip_name)
    with hw.compile_only(hw.CompileTarget(**cache_build.SM90)):
        groups = runner.group_cases(runner.plan("gpu", device="cuda"))
    tot = dict.fromkeys(
        ("compiles", "benchmarks", "autotune_s", "timing_low_s", "timing_high_s", "ref_s"), 0.0
    )
    tot["cases"] = sum(len(g) for g in groups)
    for group in groups:
        w, shape, dtype = group[0][:3]
        fl = floor(w, shape, dtype, chip)
        t = (fl["floor_s"] or 0.0) / (EFF_MEMORY if fl["bound"] == "memory" else EFF_COMPUTE)
        f = w.flops(shape)
        tot["ref_s"] += f / REF_FLOPS + w.bytes(shape, dtype) / INPUT_BPS + 2 * t  # + check, baseline output
        for case in group:
            c = counted.get(f"{w.name}-{shape.label}-{dtype}-{case[3].name}", {})
            tot["compiles"] += c.get("compiles", 0)
            tot["benchmarks"] += c.get("benchmarks", 0)
            tot["autotune_s"] += c.get("benchmarks", 0) * bench_s(t)
            low, high = timing_s(t, budget)
            tot["timing_low_s"] += low
            tot["timing_high_s"] += high
    rest = tot["autotune_s"] + tot["ref_s"] + START_S
    tot["with_cache_s"] = [
        rest + tot["compiles"] * LOAD_S + tot[k] for k in ("timing_low_s", "timing_high_s")
    ]
    tot["without_cache_s"] = [
        rest + tot["compiles"] * compile_s + tot[k] for k in ("timing_low_s", "timing_high_s")
    ]
    tot["assumptions"] = {"chip": chip.id, "eff_compute": EFF_COMPUTE, "eff_memory": EFF_MEMORY,
                          "compile_s": compile_s, "load_s": LOAD_S, "budget_s": budget, "ref_flops": REF_FLOPS, "start_s": START_S}  # fmt: skip
    return tot


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chip", default="h200")
    p.add_argument("--compile-s", type=float, default=1.2, help="seconds per Triton compile (no cache)")
    p.add_argument(
        "--budget", type=float, default=1.0, help="timing budget per implementation (gpucompare run --budget)"
    )
    p.add_argument("--json", default=None)
    ns = p.parse_args()
    os.environ["TRITON_INTERPRET"] = "0"  # before gpucompare.kernels is imported: real JITFunctions
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    tot = estimate(ns.chip, ns.compile_s, ns.budget)
    for key, value in tot.items():
        print(f"{key:16s} {json.dumps(value) if not isinstance(value, float) else f'{value:.1f}'}")
    if ns.json:
        Path(ns.json).write_text(json.dumps(tot, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
