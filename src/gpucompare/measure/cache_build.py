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


def local_target() -> dict[str, Any] | None:
    """This machine's GPU as a compile target (capability, SMs, opt-in shared memory), None without one: the
    campaign's precompile step compiles for the device's own target into its local Triton cache."""
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    shared = int(getattr(props, "shared_memory_per_block_optin", 0) or SM90["shared_bytes"])
    return {
        "capability": (props.major, props.minor),
        "sm_count": props.multi_processor_count,
        "shared_bytes": shared,
    }


_TARGET: list[dict[str, Any]] = [SM90]  # the target being compiled for (the stand-in driver answers it)


def target_name(target: dict[str, Any]) -> str:
    """``cuda:90`` for capability (9, 0): the name ``triton_cache.check`` compares."""
    major, minor = target["capability"]
    return f"cuda:{major}{minor}"


class _StandInDriver:
    """Triton's active driver while building: the target GPU (sm_90 unless ``--target local``), device 0,
    stream 0; nothing is launched."""

    def get_current_target(self):
        from triton.backends.compiler import GPUTarget

        major, minor = _TARGET[0]["capability"]
        return GPUTarget("cuda", major * 10 + minor, 32)

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
LAUNCHED: set[str] = (
    set()
)  # names of the Triton kernels the current case launches (filled by the runtime patch)


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
        LAUNCHED.add(self.__name__)
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
        with hw.compile_only(hw.CompileTarget(**_TARGET[0])):
            yield
    finally:
        jit.JITFunction.run = run
        for name, value in saved.items():
            setattr(autotuner.Autotuner, name, value)
        driver._active = None  # the next use creates the real one (or says there is none)


def tier_cases(
    only: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
) -> list[tuple]:
    """The GPU tier's (workload, shape, dtype, impl) with a Triton implementation, in the runner's order
    (call inside :func:`_compile_only_runtime`, which makes the sm_90 dtypes runnable)."""
    from gpucompare.measure import runner

    cases = runner.plan("gpu", only, device="cuda")
    return [
        c
        for c in cases
        if c[3].triton and (not shapes or c[1].label in shapes) and (not dtypes or c[2] in dtypes)
    ]


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (ptxas runs as one): a compile's cost that a
    shared, loaded machine does not inflate the way it inflates wall time."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Listener:
    """Triton's compilation listener: every compile (cache miss) and every disk-cache hit."""

    def __init__(self) -> None:
        self.compiled: list[str] = []
        self.hit_names: list[str] = []
        self.seconds: list[tuple[str, float]] = []  # (kernel name, compile time) per compile

    @property
    def hits(self) -> int:
        return len(self.hit_names)

    def __call__(self, *, src, metadata, metadata_group, times, cache_hit) -> None:
        name = str(metadata.get("name"))
        (self.hit_names if cache_hit else self.compiled).append(name)
        if not cache_hit and times is not None:
            self.seconds.append((name, round(times.total / 1e6, 3)))


def compile_tier(
    only: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
    count_only: bool = False,
    dtypes: Sequence[str] | None = None,
    pick: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Build and call every Triton case of the GPU tier on meta tensors; return what was compiled and how
    many autotuner benchmarks the GPU will run. ``count_only``: compile nothing, count the distinct
    compiles (Triton's ``jit_cache_hook`` declines each one) -- seconds instead of minutes. ``pick``: only
    the cases at these indices of :func:`tier_cases` (one worker's share, ``--jobs``)."""
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
            cases = tier_cases(only, shapes, dtypes)
            for w, shape, dtype, impl in (cases[i] for i in pick) if pick is not None else cases:
                before, benches, t0, cpu0 = len(listener.compiled), BENCHES[0], time.perf_counter(), _cpu_s()
                LAUNCHED.clear()
                inputs = w.make_inputs(shape, dtype, "meta")
                impl.build(inputs, dtype)()
                cases_out.append(
                    {
                        "case": f"{w.name}-{shape.label}-{dtype}-{impl.name}",
                        "kernels": sorted(LAUNCHED),
                        "compiles": len(listener.compiled) - before,
                        "benchmarks": BENCHES[0] - benches,
                        "seconds": round(time.perf_counter() - t0, 3),
                        "cpu_s": round(_cpu_s() - cpu0, 3),
                    }
                )
    finally:
        knobs.compilation.listener = None
        knobs.runtime.jit_cache_hook = None
    return {
        "cases": cases_out,
        "compiles": len(listener.compiled),
        "hits": listener.hits,
        "compiled_names": listener.compiled,
        "hit_names": listener.hit_names,
        "compile_seconds": listener.seconds,
    }


def _manifest(report: dict[str, Any], only, shapes) -> dict[str, Any]:
    import triton

    from gpucompare.measure import cache_jobs, triton_cache
    from gpucompare.measure.machine import git_commit, utc_now

    return {
        "target": target_name(_TARGET[0]),
        "triton_version": triton.__version__,
        "triton_hash": triton_cache.triton_build_hash(),
        **triton_cache.build_identity(),
        "ptxas": triton_cache.ptxas_version(90),
        "built": utc_now(),
        "git_commit": git_commit(),
        "only": list(only or []),
        "shapes": list(shapes or []),
        "compiles": report["compiles"],
        "compile_seconds": round(sum(c["seconds"] for c in report["cases"]), 1),
        "families": cache_jobs.family_times(report),
        "cases": report["cases"],
    }


def missing_kernels(manifest: dict[str, Any], packed_names: set[str], report: dict[str, Any]) -> list[str]:
    """What ``--verify`` refuses besides a compile: a case whose launched kernels differ from those the
    build recorded for it, or a launched kernel with no cubin in the packed cache ('case: kernel')."""
    built = {c["case"]: c.get("kernels") for c in manifest.get("cases", []) if isinstance(c, dict)}
    problems = []
    for case in report["cases"]:
        for name in case["kernels"]:
            if name not in packed_names:
                problems.append(f"{case['case']}: {name} not in the packed cache")
        if built.get(case["case"]) != case["kernels"]:
            problems.append(
                f"{case['case']}: launches {case['kernels']}, the build recorded {built.get(case['case'])}"
            )
    return problems


def verify(packed: Path, only, shapes, dtypes=None) -> int:
    """Install ``packed`` into a fresh folder, pass over the cases again; exit 0 when nothing compiled and
    every kernel each case launches is in the cache under the build's own record of that case."""
    from gpucompare.measure import triton_cache

    os.environ["TRITON_INTERPRET"] = "0"
    with tempfile.TemporaryDirectory(prefix="gpucompare-triton-") as folder:
        status = triton_cache.install(packed, Path(folder), target_name(_TARGET[0]))
        if not status.used:
            print(status.message, flush=True)
            return 2
        os.environ["TRITON_CACHE_DIR"] = folder
        report = compile_tier(only, shapes, dtypes=dtypes)
    missed = sorted({c["case"] for c in report["cases"] if c["compiles"]})
    problems = missing_kernels(dict(status.manifest or {}), triton_cache.packed_kernel_names(packed), report)
    for line in problems:
        print(f"cache_build --verify: {line}", flush=True)
    print(json.dumps({"compiles": report["compiles"], "hits": report["hits"], "missed": missed}), flush=True)
    return 0 if report["compiles"] == 0 and not problems else 1


def _parser():
    from gpucompare.measure import triton_cache

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out", default=str(triton_cache.DEFAULT_PATH), help="the packed cache file, .tgz (replaced)"
    )
    p.add_argument("--only", default="", help="workloads or families, comma-separated (default: all)")
    p.add_argument("--shapes", default="", help="only these shape labels, comma-separated")
    p.add_argument("--dtypes", default="", help="only these dtypes, comma-separated")
    p.add_argument("--work", default=None, help="Triton cache folder to compile into (default: <out>.work)")
    p.add_argument(
        "--verify", action="store_true", help="install the packed cache at --out, pass again: 0 compiles?"
    )
    p.add_argument(
        "--count", action="store_true", help="count compiles and autotune benchmarks, compile nothing"
    )
    p.add_argument("--jobs", type=int, default=1, help="compile in this many processes (default 1)")
    p.add_argument(
        "--local",
        action="store_true",
        help="compile for this machine's GPU into its own Triton cache (TRITON_CACHE_DIR or ~/.triton/cache), "
        "no pack: the campaign's precompile step",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); prints one line per case and the summary."""
    from gpucompare.measure import triton_cache
    from gpucompare.measure.cache_jobs import compile_parallel, family_times

    ns = _parser().parse_args(argv)
    if "gpucompare.kernels" in sys.modules:
        raise SystemExit("cache_build: gpucompare.kernels is already imported; run in a fresh process")
    if ns.jobs < 1 or ns.jobs > 256:
        raise SystemExit(f"cache_build: --jobs must be 1 to 256, got {ns.jobs}")
    only, shapes, dtypes = ([x for x in v.split(",") if x] or None for v in (ns.only, ns.shapes, ns.dtypes))
    if ns.local:
        target = local_target()
        if target is None:
            raise SystemExit("cache_build --local: no CUDA GPU here; build for sm_90 with --out instead")
        from gpucompare.measure import cache_build as canonical  # ``python -m`` runs this file as __main__

        _TARGET[0] = canonical._TARGET[0] = (
            target  # both copies: cache_jobs compiles through the canonical one
        )
    if ns.verify:
        return verify(Path(ns.out), only, shapes, dtypes)
    t0 = time.perf_counter()
    if ns.count:
        report = compile_parallel(ns.jobs, only, shapes, dtypes, count_only=True)
        for c in report["cases"]:
            print(f"{c['case']}: {c['compiles']} compiles, {c['benchmarks']} autotune benchmarks", flush=True)
        total = {"cases": len(report["cases"]), "compiles": report["compiles"]}
        print(json.dumps({**total, "benchmarks": sum(c["benchmarks"] for c in report["cases"])}), flush=True)
        return 0
    local = Path(os.environ.get("TRITON_CACHE_DIR") or Path.home() / ".triton" / "cache")
    work = local if ns.local else Path(ns.work or f"{ns.out.removesuffix('.tgz')}.work")
    os.environ["TRITON_CACHE_DIR"] = str(work.resolve())
    report = compile_parallel(ns.jobs, only, shapes, dtypes)
    for c in report["cases"]:
        print(f"{c['case']}: {c['compiles']} compiles, {c['seconds']:.1f} s", flush=True)
    summary = {"compiles": report["compiles"], "hits": report["hits"], "cases": len(report["cases"])}
    summary.update(jobs=ns.jobs, wall_s=round(time.perf_counter() - t0, 1), target=target_name(_TARGET[0]))
    summary["families"] = family_times(report)
    summary["cpu_s"] = round(sum(c["cpu_s"] for c in report["cases"]), 1)
    if ns.local:
        summary["cache_dir"] = str(work.resolve())
        print(json.dumps(summary), flush=True)
        return 0
    manifest = triton_cache.pack(work, Path(ns.out), _manifest(report, only, shapes))
    summary.update(kernels=manifest["kernels"], size_bytes=manifest["size_bytes"], out=ns.out)
    summary["packed_bytes"] = Path(ns.out).stat().st_size
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
