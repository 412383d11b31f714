"""``gpucompare diff RUN_A RUN_B``: per-case changes with noise-aware flags (issue 12: a regression check
between two of the user's own runs)."""

from __future__ import annotations

import json

import pytest
from test_results_store import CPU_MACHINE, make_record

from gpucompare import cli
from gpucompare.results import RunWriter
from gpucompare.results.diff import band, compare_case


def rec(median, p20=None, p80=None, status="ok", **over):
    if status != "ok":
        return make_record("r", status=status, reason="x", median_s=None, p20_s=None, p80_s=None, **over)
    p20 = median * 0.99 if p20 is None else p20
    p80 = median * 1.01 if p80 is None else p80
    return make_record("r", median_s=median, p20_s=p20, p80_s=p80, min_s=p20, **over)


@pytest.mark.parametrize(
    ("a", "b", "flag"),
    [
        (rec(1.0), rec(1.2), "slower"),  # +20 %, bands apart
        (rec(1.0), rec(0.8), "faster"),
        (rec(1.0), rec(1.03), "same"),  # bands apart but under the 5 % threshold
        (rec(1.0, 0.7, 1.4), rec(1.2), "same"),  # +20 % but inside A's noise: not flagged
        (rec(1.0), rec(1.2, 0.9, 1.5), "same"),  # ... or inside B's
        (rec(1.0), rec(None, status="failed"), "broke"),
        (rec(None, status="failed"), rec(1.0), "fixed"),
        (rec(1.0), rec(None, status="skipped"), "skipped"),
    ],
)
def test_flags_are_noise_aware(a, b, flag):
    d = compare_case(a, b, threshold=0.05)
    assert d.flag == flag
    assert d.regression == (flag in ("slower", "broke"))
    if flag in ("slower", "faster", "same") and a["status"] == b["status"] == "ok":
        assert d.change == pytest.approx(b["median_s"] / a["median_s"] - 1)


def test_band_falls_back_to_rel_iqr_then_the_median():
    assert band(rec(2.0, 1.5, 3.0)) == (1.5, 3.0)
    assert band({**rec(2.0), "p20_s": None, "p80_s": None, "rel_iqr": 0.1}) == pytest.approx((1.9, 2.1))
    assert band({**rec(2.0), "p20_s": None, "p80_s": None, "rel_iqr": None}) == (2.0, 2.0)


def test_missing_cases():
    assert compare_case(rec(1.0), None, 0.05).flag == "only in A"
    assert compare_case(None, rec(1.0), 0.05).flag == "only in B"


GPU_MACHINE = {**CPU_MACHINE, "mode": "gpu", "chip_id": "h100-sxm", "device_name": "NVIDIA H100 80GB HBM3"}


def _run(tmp_path, medians: dict[str, float | None], machine=GPU_MACHINE):
    w = RunWriter(tmp_path, machine)
    for impl, median in medians.items():
        r = rec(median, impl=impl) if median else rec(None, status="failed", impl=impl)
        w.append({**r, "run_id": w.run_id})
    return str(w.path)


def test_cli_diff_table_json_and_exit_status(tmp_path, capsys):
    a = _run(tmp_path, {"torch": 1e-3, "triton": 2e-3, "cuda": 1e-3})
    b = _run(tmp_path, {"torch": 1.5e-3, "triton": 2e-3, "cuda": None})
    assert cli.main(["diff", a, b]) == 0
    out = capsys.readouterr().out
    assert "+50.0%" in out and "slower" in out and "broke" in out
    assert "3 cases: 1 slower, 1 broke, 0 faster, 0 fixed, 1 same" in out
    assert cli.main(["diff", a, b, "--fail-on-regression"]) == 1
    capsys.readouterr()
    assert cli.main(["diff", a, b, "--json", "--threshold", "0.6"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {c["impl"]: c["flag"] for c in data["cases"]} == {
        "torch": "same",
        "triton": "same",
        "cuda": "broke",
    }


def test_cpu_runs_are_never_called_slower_or_faster(tmp_path, capsys):
    # CPU timings quantise at the OS timer and share the cores: +99 % between two CPU runs is noise
    a = _run(tmp_path, {"torch": 8e-3, "triton": 16e-3, "cuda": 1e-3}, CPU_MACHINE)
    b = _run(tmp_path, {"torch": 16e-3, "triton": 8e-3, "cuda": None}, CPU_MACHINE)
    assert cli.main(["diff", a, b]) == 0
    out = capsys.readouterr().out
    assert "slower" not in out and "faster" not in out and "pipeline check" in out and "+100.0%" in out
    assert "3 cases: 1 broke, 0 fixed, 2 pipeline check" in out
    assert cli.main(["diff", a, b, "--fail-on-regression"]) == 1  # broke still counts
    capsys.readouterr()
    ok = _run(tmp_path, {"torch": 16e-3, "triton": 8e-3, "cuda": 3e-3}, CPU_MACHINE)
    assert cli.main(["diff", a, ok, "--fail-on-regression"]) == 0  # no time change beyond a CPU floor
    gpu = _run(tmp_path, {"torch": 16e-3, "triton": 8e-3, "cuda": 3e-3})
    capsys.readouterr()
    assert cli.main(["diff", a, gpu, "--json"]) == 0  # one CPU run is enough to judge no time
    assert {c["flag"] for c in json.loads(capsys.readouterr().out)["cases"]} == {"pipeline check"}


def test_cli_diff_bad_run_is_one_line(tmp_path, capsys):
    a = _run(tmp_path, {"torch": 1e-3})
    assert cli.main(["diff", a, str(tmp_path / "nope")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("gpucompare: error: ") and "nope: not a run folder" in line


def test_cli_diff_skips_a_killed_runs_cut_record_with_a_warning(tmp_path, capsys):
    a = _run(tmp_path, {"torch": 1e-3, "triton": 2e-3})
    b = _run(tmp_path, {"torch": 1e-3})
    with open(f"{b}/records.jsonl", "a") as fh:
        fh.write('{"schema_version": 2, "run_id"')  # killed mid-record
    assert cli.main(["diff", a, b]) == 0
    captured = capsys.readouterr()
    (warning,) = captured.err.strip().splitlines()
    assert warning.startswith("gpucompare: warning: ") and "truncated last line" in warning
    assert "only in A" in captured.out
