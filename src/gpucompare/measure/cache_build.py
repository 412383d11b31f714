"""Build, on a machine without a GPU, the Triton cache of exactly the kernels the GPU tier compiles.

    python -m gpucompare.measure.cache_build [--out .triton-cache/sm90.tgz] [--only W1,W2] [--shapes L1,L2]
    (or ``gpucompare cache build``, which runs this in a fresh process)

The list is derived from the code, never frozen: every (workload, shape, dtype) of the GPU tier
(:func:`gpucompare.measure.runner.plan`) with a Triton implementation (``Impl.triton``) is *built and called*
as the runner does, on ``meta`` tensors of the real sizes, while

- :func:`gpucompare.hw.compile_only` makes the wrappers take their GPU path for an H100/H200 (cc 9.0, 132 SMs,
  227 KiB of shared memory per block): meta tensors stand for CUDA tensors;
- Triton's active driver is a stand-in that answers ``GPUTarget("cuda", 90, 32)``; every launch becomes a
  ``warmup`` (compile, no launch), so the runtime computes its own cache keys (specialisation, options);
- the autotuner "benchmarks" each config by compiling it (every config left after ``early_config_prune``,
  exactly those the GPU will try) and writes no autotuning result.

Then the cache is packed (:func:`gpucompare.measure.triton_cache.pack`) with the Triton build hash. The
process must not have imported ``gpucompare.kernels`` (the interpreter would be on): run it fresh.
A second pass over the same cases with ``TRITON_CACHE_DIR`` holding the installed cache compiles nothing
(``compiles`` in the report is 0): that is the completeness check (tests/measure/test_measure_cache_build.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

TARGET = "cuda:90"
#: H100 SXM and H200 share these: compute capability 9.0, 132 SMs, 227 KiB of opt-in shared memory.
SM90 = {"capability": (9, 0), "sm_count": 132, "shared_bytes": 232_448}


class _StandInDriver:
    """Triton's active driver while building: the sm_90 target, device 0, stream 0; nothing is launched."""

    def get_current_target(self):
        from triton.backends.compiler import GPUTarget

        return GPUTarget("cuda", 90, 32)

    def get_current_device(self) -> int:
        return 0

    def get_current_stream(self, device: int | None = None) -> int:
        return 0

    def get_active_torch_device(self):
        import torch

        return torch.device("meta")

    def get_benchmarker(self):
        return _compile_only_bench

    def is_active(self) -> bool:
        return True


BENCHES = [
    0
]  # autotuner benchmarks asked for (one per autotune key and config it keeps): the GPU's tuning work


def _compile_only_bench(kernel_call, quantiles=None, **_: Any) -> list[float]:
    """The autotuner's benchmark while building: one (warm-up, so compile-only) call; every config ties."""
    BENCHES[0] += 1
    kernel_call()
    return [1.0, 1.0, 1.0]


@contextlib.contextmanager
def _compile_only_runtime() -> Iterator[None]:
    """Triton's runtime compiling for sm_90 with no GPU (see the module docstring); restored afterwards."""
    from triton.runtime import autotuner, driver, jit

    from gpucompare import hw

    run = jit.JITFunction.run

    def warmup_run(self, *args, grid, warmup, **kwargs):
        return run(self, *args, grid=grid, warmup=True, **kwargs)

    def no_disk_cache(self, tuning_key, configs, bench_fn) -> bool:
        bench_fn()
        return False

    saved = {name: autotuner.Autotuner.__dict__.get(name) for name in ("do_bench", "check_disk_cache")}
    jit.JITFunction.run = warmup_run
    autotuner.Autotuner.do_bench = property(lambda self: _compile_only_bench)
    autotuner.Autotuner.check_disk_cache = no_disk_cache
    driver.set_active(_StandInDriver())
    try:
        with hw.compile_only(hw.CompileTarget(**SM90)):
            yield
    finally:
        jit.JITFunction.run = run
        for name, value in saved.items():
            setattr(autotuner.Autotuner, name, value)
        driver._active = None  # the next use creates the real one (or says there is none)


def tier_cases(only: Sequence[str] | None = None, shapes: Sequence[str] | None = None) -> list[tuple]:
    """The GPU tier's (workload, shape, dtype, impl) with a Triton implementation, in the runner's order
    (call inside :func:`_compile_only_runtime`, which makes the sm_90 dtypes runnable)."""
    from gpucompare.measure import runner

    cases = runner.plan("gpu", only, device="cuda")
    return [c for c in cases if c[3].triton and (not shapes or c[1].label in shapes)]


class _Listener:
    """Triton's compilation listener: every compile (cache miss) and every disk-cache hit."""

    def __init__(self) -> None:
        self.compiled: list[str] = []
        self.hits = 0

    def __call__(self, *, src, metadata, metadata_group, times, cache_hit) -> None:
        if cache_hit:
            self.hits += 1
        else:
            self.compiled.append(str(metadata.get("name")))


def compile_tier(
    only: Sequence[str] | None = None, shapes: Sequence[str] | None = None, count_only: bool = False
) -> dict[str, Any]:
    """Build and call every Triton case of the GPU tier on meta tensors; return what was compiled and how
    many autotuner benchmarks the GPU will run. ``count_only``: compile nothing, count the distinct
    compiles (Triton's ``jit_cache_hook`` declines each one) -- seconds instead of minutes."""
    from triton import knobs

    listener = _Listener()
    cases_out: list[dict[str, Any]] = []
    knobs.compilation.listener = listener
    if count_only:
        seen: set[tuple[str, str]] = set()

        def decline(*, key, repr, fn, **_: Any) -> bool:
            if (fn.name, str(key)) not in seen:  # never cached in memory when declined: count each key once
                seen.add((fn.name, str(key)))
                listener.compiled.append(fn.name)
            return True

        knobs.runtime.jit_cache_hook = decline
    try:
        with _compile_only_runtime():
            for w, shape, dtype, impl in tier_cases(only, shapes):
                before, benches, t0 = len(listener.compiled), BENCHES[0], time.perf_counter()
                inputs = w.make_inputs(shape, dtype, "meta")
                impl.build(inputs, dtype)()
                cases_out.append(
                    {
                        "case": f"{w.name}-{shape.label}-{dtype}-{impl.name}",
                        "compiles": len(listener.compiled) - before,
                        "benchmarks": BENCHES[0] - benches,
                        "seconds": round(time.perf_counter() - t0, 3),
                    }
                )
    finally:
        knobs.compilation.listener = None
        knobs.runtime.jit_cache_hook = None
    return {"cases": cases_out, "compiles": len(listener.compiled), "hits": listener.hits}


def _manifest(report: dict[str, Any], only, shapes) -> dict[str, Any]:
    import triton

    from gpucompare.measure import triton_cache
    from gpucompare.measure.machine import git_commit, utc_now

    return {
        "target": TARGET,
        "triton_version": triton.__version__,
        "triton_hash": triton_cache.triton_build_hash(),
        "ptxas": triton_cache.ptxas_version(90),
        "built": utc_now(),
        "git_commit": git_commit(),
        "only": list(only or []),
        "shapes": list(shapes or []),
        "compiles": report["compiles"],
        "compile_seconds": round(sum(c["seconds"] for c in report["cases"]), 1),
        "cases": report["cases"],
    }


def verify(packed: Path, only, shapes) -> int:
    """Install ``packed`` into a fresh folder, pass over the cases again; exit 0 when nothing compiled."""
    from gpucompare.measure import triton_cache

    os.environ["TRITON_INTERPRET"] = "0"
    with tempfile.TemporaryDirectory(prefix="gpucompare-triton-") as folder:
        status = triton_cache.install(packed, Path(folder), TARGET)
        if not status.used:
            print(status.message, flush=True)
            return 2
        os.environ["TRITON_CACHE_DIR"] = folder
        report = compile_tier(only, shapes)
    missed = sorted({c["case"] for c in report["cases"] if c["compiles"]})
    print(json.dumps({"compiles": report["compiles"], "hits": report["hits"], "missed": missed}), flush=True)
    return 0 if report["compiles"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); prints one line per case and the summary."""
    from gpucompare.measure import triton_cache

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out", default=str(triton_cache.DEFAULT_PATH), help="the packed cache file, .tgz (replaced)"
    )
    p.add_argument("--only", default="", help="workloads or families, comma-separated (default: all)")
    p.add_argument("--shapes", default="", help="only these shape labels, comma-separated")
    p.add_argument(
        "--work",
        default=None,
        help="Triton cache folder to compile into (default: <out> without .tgz, + .work)",
    )
    p.add_argument(
        "--verify", action="store_true", help="install the packed cache at --out and pass again: 0 compiles?"
    )
    p.add_argument(
        "--count", action="store_true", help="count compiles and autotune benchmarks, compile nothing"
    )
    ns = p.parse_args(argv)
    if "gpucompare.kernels" in sys.modules:
        raise SystemExit("cache_build: gpucompare.kernels is already imported; run in a fresh process")
    only = [x for x in ns.only.split(",") if x] or None
    shapes = [x for x in ns.shapes.split(",") if x] or None
    if ns.verify:
        return verify(Path(ns.out), only, shapes)
    if ns.count:
        os.environ["TRITON_INTERPRET"] = "0"
        report = compile_tier(only, shapes, count_only=True)
        for c in report["cases"]:
            print(f"{c['case']}: {c['compiles']} compiles, {c['benchmarks']} autotune benchmarks", flush=True)
        total = {"cases": len(report["cases"]), "compiles": report["compiles"]}
        print(json.dumps({**total, "benchmarks": sum(c["benchmarks"] for c in report["cases"])}), flush=True)
        return 0
    work = Path(ns.work or f"{ns.out.removesuffix('.tgz')}.work")
    os.environ["TRITON_INTERPRET"] = "0"
    os.environ["TRITON_CACHE_DIR"] = str(work.resolve())
    report = compile_tier(only, shapes)
    for c in report["cases"]:
        print(f"{c['case']}: {c['compiles']} compiles, {c['seconds']:.1f} s", flush=True)
    summary = {"compiles": report["compiles"], "hits": report["hits"], "cases": len(report["cases"])}
    manifest = triton_cache.pack(work, Path(ns.out), _manifest(report, only, shapes))
    summary.update(kernels=manifest["kernels"], size_bytes=manifest["size_bytes"], out=ns.out)
    summary["packed_bytes"] = Path(ns.out).stat().st_size
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
