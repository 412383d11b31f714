"""Reproducible bytes: regenerating ``results/`` as ``gpucompare report`` does gives, file for file (images
included), what is committed, so a fresh clone in the README's environment keeps a clean ``git status``.

The bytes depend on the plotting stack: the test runs where the installed versions are the ones pinned in
``requirements-cpu.txt`` and is skipped, with the versions found, elsewhere.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from gpucompare import report
from gpucompare.results import is_pipeline_check, load_runs

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
PINNED = ("matplotlib", "pillow", "kiwisolver", "markdown-it-py")


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements-cpu.txt").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.M))


def test_the_plotting_stack_is_pinned():
    assert set(PINNED) <= set(_pins()), "pin the packages the report's bytes depend on"


def test_committed_results_are_what_report_writes(tmp_path):
    pins = _pins()
    found = {p: version(p) for p in PINNED}
    if any(found[p] != pins.get(p) for p in PINNED):
        pytest.skip(f"not the pinned plotting stack (found {found}, pinned {pins}): bytes may differ")
    root = RESULTS / "runs"
    runs = (
        [r for r in load_runs([root], include_cpu=True) if not is_pipeline_check(r)] if root.exists() else []
    )
    written = report.generate(tmp_path, runs)  # what `gpucompare report` does (cpu-fallback runs left out)
    names = sorted(p.relative_to(tmp_path) for p in written)
    assert names, "the report wrote nothing"
    for rel in names:
        committed = RESULTS / rel
        assert committed.exists(), f"results/{rel} is generated but not committed: run `gpucompare report`"
        assert committed.read_bytes() == (tmp_path / rel).read_bytes(), (
            f"results/{rel} differs from what `gpucompare report` writes: regenerate and commit it"
        )
    for folder in ("tables", "plots"):  # nothing stale beside them
        extra = sorted(
            p.relative_to(RESULTS)
            for p in (RESULTS / folder).glob("*")
            if p.relative_to(RESULTS) not in names
        )
        assert not extra, f"stale generated files under results/: {extra}"
