"""``cache build --jobs N``: the builder's cases over N fresh processes, and the per-kernel compile times.

Each worker (a ``spawn``-ed interpreter: no kernels imported, no CUDA state) compiles one case at a time into
the shared ``TRITON_CACHE_DIR``; Triton writes each kernel's files under a temporary name and renames them, so a
worker never sees half a kernel. The heaviest families go first, so the slowest case never starts last.
"""

from __future__ import annotations

import os
from typing import Any

from gpucompare.measure.cache_build import _TARGET, _compile_only_runtime, compile_tier, tier_cases


def _work(args: tuple) -> dict[str, Any]:
    """One worker's share (``--jobs``): compile the cases at ``pick`` into the shared ``TRITON_CACHE_DIR``
    (Triton writes each kernel's files under a temporary name and renames them: workers never see half a
    kernel)."""
    only, shapes, dtypes, pick, target, count_only = args
    os.environ["TRITON_INTERPRET"] = "0"
    _TARGET[0] = target
    return compile_tier(only, shapes, count_only=count_only, dtypes=dtypes, pick=pick)


def compile_parallel(
    jobs: int, only=None, shapes=None, dtypes=None, count_only: bool = False
) -> dict[str, Any]:
    """:func:`compile_tier` over ``jobs`` fresh processes, one case at a time each, the cases with the most
    kernels first; the reports merged (cases back in the tier's order). ``jobs`` 1: in this process."""
    os.environ["TRITON_INTERPRET"] = "0"
    if jobs <= 1:
        return compile_tier(only, shapes, count_only=count_only, dtypes=dtypes)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ids = tier_cases_outside(only, shapes, dtypes)
    count = len(ids)
    order = sorted(range(count), key=lambda i: (_WEIGHT.get(ids[i].split("-")[0], 9), i))
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no kernels imported, no CUDA state
    with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
        shares = [(only, shapes, dtypes, [i], _TARGET[0], count_only) for i in order]
        parts = list(pool.map(_work, shares))
    merged: dict[str, Any] = {"cases": [None] * count, "compiles": 0, "hits": 0}
    for key in ("compiled_names", "hit_names", "compile_seconds"):
        merged[key] = [x for part in parts for x in part[key]]
    for i, part in zip(order, parts):
        merged["cases"][i] = part["cases"][0]
    merged["compiles"] = len(merged["compiled_names"])
    merged["hits"] = len(merged["hit_names"])
    return merged


def tier_cases_outside(only=None, shapes=None, dtypes=None) -> list[str]:
    """The ids of :func:`tier_cases` (for the parent of ``--jobs``, which never builds a case)."""
    with _compile_only_runtime():
        return [f"{w.name}-{s.label}-{d}-{i.name}" for w, s, d, i in tier_cases(only, shapes, dtypes)]


#: Heavier families first, so the slowest case never starts last (the autotuned attention and GEMM cases
#: compile 4-9 configs each; copy/triad one kernel).
_WEIGHT = {"attention_bwd": 0, "attention_fwd": 1, "gemm": 2, "gemm_decode": 3, "decode_attention": 4}


def family_times(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Compile count, total and largest seconds per kernel name (what NOTES.md reports per family)."""
    out: dict[str, dict[str, float]] = {}
    for name, sec in report.get("compile_seconds", []):
        row = out.setdefault(name, {"compiles": 0, "seconds": 0.0, "max_s": 0.0})
        row["compiles"] += 1
        row["seconds"] = round(row["seconds"] + sec, 2)
        row["max_s"] = max(row["max_s"], sec)
    return out
