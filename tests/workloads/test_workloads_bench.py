"""Every registered workload is benchmarked: it appears in exactly one ``bench/bench_*.py`` file's
``BENCH_WORKLOADS``, each name there is registered, and bench/conftest.py makes an unknown name an error."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from gpucompare.workloads import WORKLOADS

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def _bench_workloads() -> dict[str, tuple[str, ...]]:
    files = sorted(BENCH.glob("bench_*.py"))
    assert files, f"no bench files in {BENCH}"
    return {f.name: tuple(_load(f, f"_wl_{f.stem}").BENCH_WORKLOADS) for f in files}


def test_every_registered_workload_is_in_exactly_one_bench_file():
    benched = _bench_workloads()
    for name in WORKLOADS:
        where = [f for f, names in benched.items() if name in names]
        assert len(where) == 1, f"workload {name!r} is in {where or 'no'} bench file(s); it needs exactly one"
    for f, names in benched.items():
        assert names, f"bench/{f} benchmarks nothing"
        unknown = [n for n in names if n not in WORKLOADS]
        assert not unknown, f"bench/{f}: BENCH_WORKLOADS names unregistered workloads {unknown}"
        assert len(set(names)) == len(names), f"bench/{f} lists a workload twice"


def test_bench_conftest_rejects_an_unknown_workload():
    conftest = _load(BENCH / "conftest.py", "_wl_bench_conftest")
    metafunc = SimpleNamespace(
        fixturenames=["case"],
        config=SimpleNamespace(getoption=lambda name, default=None: default),
        module=SimpleNamespace(__name__="bench_typo", BENCH_WORKLOADS=("gemm", "gemmm")),
    )
    with pytest.raises(pytest.UsageError, match=r"bench_typo\.BENCH_WORKLOADS: unknown workload 'gemmm'"):
        conftest.pytest_generate_tests(metafunc)
