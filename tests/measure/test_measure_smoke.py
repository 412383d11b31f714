"""The smoke step's watchdog (issue 18): a config that hangs or faults is recorded and pruned, the step goes on
in a fresh child after it, every result is in the file as it comes; the tier's autotuners then skip exactly
the pruned configs. The child here is a stand-in speaking the same protocol (no GPU needed to hang)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from gpucompare.measure import smoke

FAKE_CHILD = r"""
import json, os, sys, time
state = json.load(open(sys.argv[-1])) if os.path.exists(sys.argv[-1]) else {}
done, pruned = set(state.get("done", [])), set(state.get("pruned", []))
def emit(**e): print(json.dumps(e), flush=True)
for case in ("c1", "c2"):
    if case in done: continue
    emit(event="case_start", case=case)
    for cfg in ("k A", "k B", "k C", "k D"):
        if cfg in pruned: continue
        emit(event="start", config=cfg)
        if case == "c1" and cfg == "k B": time.sleep(1000)      # a deadlock
        if case == "c1" and cfg == "k C": os._exit(9)           # a fault kills the process
        if case == "c2" and cfg == "k D":
            emit(event="error", config=cfg, error="RuntimeError: CUDA error"); sys.exit(3)
        emit(event="ok", config=cfg, seconds=0.001)
    emit(event="case", case=case, status="ok", seconds=0.01)
"""


def test_a_hung_or_faulting_config_is_recorded_pruned_and_the_step_goes_on(tmp_path):
    child = tmp_path / "child.py"
    child.write_text(FAKE_CHILD)
    out = tmp_path / "OUT" / "smoke.jsonl"
    summary = smoke.smoke(
        [sys.executable, str(child)], out, config_timeout=2.0, case_timeout=20.0, total_timeout=60
    )
    assert summary["ending"] == "finished" and summary["restarts"] == 3
    assert summary["pruned"] == ["k B", "k C", "k D"] and summary["cases"] == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    status = [(r["case"], r["config"], r["status"]) for r in rows]
    assert status == [
        ("c1", "k A", "ok"),
        ("c1", "k B", "hung"),
        ("c1", "k A", "ok"),
        ("c1", "k C", "fault"),
        ("c1", "k A", "ok"),
        ("c1", "k D", "ok"),
        ("c1", None, "ok"),
        ("c2", "k A", "ok"),
        ("c2", "k D", "error"),
        ("c2", "k A", "ok"),
        ("c2", None, "ok"),
    ]
    assert smoke.read_pruned(out) == {"k B", "k C", "k D"}


def test_the_step_stops_at_its_total_time_with_what_it_has(tmp_path):
    child = tmp_path / "child.py"
    child.write_text(
        "import json,time\nprint(json.dumps({'event':'case_start','case':'c'}),flush=True)\ntime.sleep(99)"
    )
    out = tmp_path / "smoke.jsonl"
    summary = smoke.smoke(
        [sys.executable, str(child)], out, config_timeout=1, case_timeout=30, total_timeout=1.5
    )
    assert summary["ending"] == "timeout"
    assert json.loads(out.read_text())["status"] == "timeout"


def test_the_autotuners_skip_the_pruned_configs():
    import triton
    from triton.runtime import autotuner

    from gpucompare.kernels import _common

    configs = [triton.Config({"BLOCK": b}, num_warps=4) for b in (32, 64, 128)]
    tuner = types.SimpleNamespace(
        configs=configs,
        early_config_prune=None,
        perf_model=None,
        base_fn=types.SimpleNamespace(__name__="_k"),
    )
    real = autotuner.Autotuner.prune_configs
    try:
        _common.skip_pruned_configs({_common.config_label("_k", configs[1])})
        assert autotuner.Autotuner.prune_configs(tuner, {}) == [configs[0], configs[2]]
        _common.skip_pruned_configs({_common.config_label("_k", c) for c in configs})  # idempotent: replaces
        with pytest.raises(RuntimeError, match="every autotune config of _k was pruned by the smoke step"):
            autotuner.Autotuner.prune_configs(tuner, {})
    finally:
        autotuner.Autotuner.prune_configs = real


def test_read_pruned_skips_what_it_cannot_read(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text('{"config": "k A", "status": "hung"}\nnot json\n[1]\n{"config": "k B", "status": "ok"}\n')
    assert smoke.read_pruned(f) == {"k A"} and smoke.read_pruned(Path(tmp_path / "none")) == set()
