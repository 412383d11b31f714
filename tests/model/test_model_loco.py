"""Leave-one-chip-out validation over the packaged ledger: the held-out chip never feeds its own prediction,
the rows and summary carry what the CLI and the report publish, and the goals are checked as they stand."""

from __future__ import annotations

import dataclasses

import pytest

from gpucompare.model.loco import summarise, validate_ledger
from gpucompare.specs.published import load_published

ROW_KEYS = {
    "chip",
    "workload",
    "dtype",
    "group",
    "measured",
    "predicted",
    "naive",
    "rel_error",
    "naive_rel_error",
}


@pytest.fixture(scope="module")
def rows():
    return validate_ledger()


def test_every_entry_has_a_row_with_the_published_keys(rows):
    entries = load_published()
    assert [r.id for r in rows] == [e.id for e in entries]
    for r in rows:
        assert set(r.to_dict()) >= ROW_KEYS
        if r.status == "ok":
            assert r.rel_error == pytest.approx(r.predicted / r.measured - 1)
        else:
            assert r.predicted is None and r.reason


def test_the_held_out_chip_never_predicts_itself(rows):
    """Change every H20 figure tenfold: no H20 prediction moves (its figures are left out), only the errors."""
    entries = load_published()
    changed = [dataclasses.replace(e, value=e.value * 10) if e.chip == "h20" else e for e in entries]
    again = {r.id: r for r in validate_ledger(changed)}
    for r in rows:
        if r.chip == "h20" and r.status == "ok":
            assert again[r.id].predicted == pytest.approx(r.predicted)
            assert again[r.id].measured == pytest.approx(10 * r.measured)


def test_summary_per_class_and_overall(rows):
    summary = {s.klass: s for s in summarise(rows)}
    for klass in ("overall", "GEMM", "attention fwd", "attention bwd", "decode", "bandwidth"):
        assert klass in summary, klass
    ok = [r for r in rows if r.rel_error is not None]
    assert summary["overall"].n == len(ok)
    assert summary["overall"].max_abs == pytest.approx(max(abs(r.rel_error) for r in ok))
    errs = sorted(abs(r.rel_error) for r in ok)
    assert errs[0] <= summary["overall"].p90_abs <= errs[-1]
    assert summary["overall"].median_abs <= summary["overall"].p90_abs


def test_goals_on_gemm_and_bandwidth(rows):
    """The goal: median |error| <= 10 % on GEMM and on bandwidth; GEMM better than the naive transfer.
    (Bandwidth equals naive: the model has no chip term for memory.)"""
    summary = {s.klass: s for s in summarise(rows)}
    gemm, bw = summary["GEMM"], summary["bandwidth"]
    assert gemm.median_abs <= 0.10 and bw.median_abs <= 0.10
    assert gemm.median_abs < gemm.naive_median_abs
    assert bw.median_abs == pytest.approx(bw.naive_median_abs)


def test_an_unrepresentative_entry_never_becomes_evidence(rows):
    """One H200 attention figure made absurd and unrepresentative predicts exactly what the ledger without it
    predicts, and is not predicted itself; with include_unrepresentative it is used (and moves others)."""
    entries = load_published()
    target = next(
        e for e in entries if e.chip == "h200-sxm" and e.workload == "attention_fwd" and e.representative
    )
    bad = dataclasses.replace(
        target, value=target.value * 50, representative=False, representative_why="test"
    )
    changed = [bad if e.id == target.id else e for e in entries]
    without = {r.id: r for r in validate_ledger([e for e in entries if e.id != target.id])}
    again = {r.id: r for r in validate_ledger(changed)}
    assert again[target.id].status == "unrepresentative" and again[target.id].predicted is None
    for rid, r in without.items():
        assert again[rid].predicted == r.predicted, rid
    used = {r.id: r for r in validate_ledger(changed, include_unrepresentative=True)}
    assert used[target.id].status == "ok"
    assert any(used[rid].predicted != r.predicted for rid, r in without.items() if r.status == "ok")
    flagged = {e.id for e in entries if not e.representative}
    assert flagged and all(r.status == "unrepresentative" for r in rows if r.id in flagged)
