"""The distributed path end to end on gloo (CPU loopback): ranks spawned in subprocesses, bounded in time.

``gpucompare run --nproc 2`` (torch's launcher API), and ``torchrun ... gpucompare run`` with a rank that
exits or hangs mid-run: the error names the rank, and the records already written stay whole.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gpucompare.measure import distributed as dd
from gpucompare.results import load_run

SRC = Path(__file__).resolve().parents[2] / "src"
LIMIT_S = 120  # a hard bound on each spawned job (a loaded 2-core machine; typically 15-40 s)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["MASTER_ADDR"] = "127.0.0.1"  # loopback only
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=LIMIT_S)


def _only_run(out: Path) -> Path:
    runs = [p for p in out.iterdir() if (p / "run.json").is_file()]
    assert len(runs) == 1, runs
    return runs[0]


def test_nproc_runs_every_collective_on_gloo_and_rank0_writes_every_rank(tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "gpucompare", "run", "--nproc", "2", "--only", "collective"]
    proc = _run([*cmd, "--dtypes", "fp32", "--out", str(out), "--no-progress"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = load_run(_only_run(out))
    ranks = run.machine["distributed"]["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1] and {r["backend"] for r in ranks} == {"gloo"}
    assert all(r["hostname"] and r["pid"] and r["backend_version"] for r in ranks)
    names = {r["workload"] for r in run.records}
    assert names == {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast", "send_recv"}
    for r in run.records:
        assert r["status"] == "ok", r["reason"]
        assert r["rel_error"] == 0.0  # exact sums of quarters in fp32
        c = r["collective"]
        assert c["world_size"] == 2 and c["backend"] == "gloo"
        # nccl-tests: algbw = S / t, busbw = algbw * factor(n=2)
        assert c["algbw_gbps"] == pytest.approx(c["size_bytes"] / r["median_s"] / 1e9, rel=1e-12)
        factor = {"all_reduce": 1.0, "broadcast": 1.0, "send_recv": 1.0}.get(r["workload"], 0.5)
        assert c["busbw_gbps"] == pytest.approx(c["algbw_gbps"] * factor, rel=1e-12)
        assert r["count"] == 10 and r["method"]["rank_reduction"].startswith("max over ranks")


FAULT = textwrap.dedent(
    """
    import os, sys, time
    from gpucompare import cli
    from gpucompare.measure import collective_run

    real = collective_run.measure_collective_one
    KIND, RANK, CASE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    def faulty(ctx, index, *args):
        if ctx.launch.rank == RANK and index == CASE:
            if KIND == "exit":
                os._exit(3)
            time.sleep(600)  # hang: the others' collective times out
        return real(ctx, index, *args)

    collective_run.measure_collective_one = faulty
    sys.exit(cli.main(sys.argv[4:]))
    """
)


@pytest.mark.parametrize("kind", ["exit", "hang"])
def test_a_rank_that_dies_or_hangs_is_named_and_records_stay_whole(tmp_path, kind):
    script = tmp_path / "fault.py"
    script.write_text(FAULT)
    out = tmp_path / "runs"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    args = ["run", "--only", "all_reduce", "--dtypes", "fp32", "--out", str(out), "--no-progress"]
    proc = _run([*launcher, str(script), kind, "1", "1", *args, "--timeout", "6"], tmp_path)
    assert proc.returncode != 0
    folder = _only_run(out)
    run = load_run(folder)  # every line whole: no truncated tail
    assert run.records[0]["status"] == "ok" and run.records[0]["shape_label"] == "4KiB"
    text = (folder / "records.jsonl").read_text()
    assert text.endswith("\n") and all(json.loads(line) for line in text.splitlines())
    if kind == "hang":  # rank 0 waited out the timeout, then named the rank that never arrived
        assert len(run.records) == 2 and run.records[1]["status"] == "failed"
        assert "behind: rank 1 (last at case 0, done)" in run.records[1]["reason"]
        assert "behind: rank 1" in proc.stderr
    else:  # torchrun's report names the rank that exited and its exit code
        # Anywhere in its failure list. torchrun calls the earliest-timestamped failure the "Root Cause", and
        # rank 0 fails too, within the same second, when its collective breaks: the section is a race (the
        # Root-Cause form failed in 2 of 3 full CI runs on 2026-12-07, never in 30 runs alone), so the rank and
        # its exit code are asserted, not the section.
        assert re.search(r"rank\s+:\s+1 \(local_rank: 1\)\s+exitcode\s+:\s+3 ", proc.stderr), proc.stderr[-2000:]
        assert all(r["status"] in ("ok", "failed") for r in run.records)


def test_nproc_reports_a_failed_job_in_one_line_with_the_rank(tmp_path):
    cmd = [sys.executable, "-m", "gpucompare", "run", "--nproc", "2", "--only", "copy"]
    proc = _run([*cmd, "--out", str(tmp_path / "runs"), "--no-progress"], tmp_path)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert re.match(
        r"gpucompare: error: distributed run failed: rank [01] exited with code 2: under a distributed", last
    )
    assert "Traceback" not in proc.stderr


def test_launch_is_read_from_torchrun_or_slurm_variables():
    assert dd.launch_from_env({}) is None
    got = dd.launch_from_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert got == dd.Launch(1, 4, 1, "torchrun")
    slurm = {"SLURM_PROCID": "9", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1", "MASTER_ADDR": "n0"}
    assert dd.launch_from_env(slurm) == dd.Launch(9, 16, 1, "slurm")
    with pytest.raises(dd.DistributedError, match="RANK='x'"):
        dd.launch_from_env({"RANK": "x", "WORLD_SIZE": "2"})
    with pytest.raises(dd.DistributedError, match="outside a world of size 2"):
        dd.launch_from_env({"RANK": "2", "WORLD_SIZE": "2"})


def test_ranks_behind_are_named_from_their_progress_marks():
    order = ("start", "build", "first call", "check", "timing", "done")
    marks = {0: "3:timing", 1: "2:done", 2: None, 3: "3:timing"}
    assert dd.behind(marks, 3, "timing", order) == [
        "rank 1 (last at case 2, done)",
        "rank 2 (no progress recorded)",
    ]
    assert dd.behind({0: "3:timing", 1: "3:timing"}, 3, "timing", order) == []


def test_single_process_run_skips_collectives_with_the_reason():
    from gpucompare.workloads import get_workload

    w = get_workload("all_reduce")
    ok, why = w.availability("torch", "fp32", "cpu", w.shapes("cpu")[0])
    assert not ok and "torchrun --nproc-per-node N -m gpucompare run --only collective" in why


# ---------------------------------------------------------------- --nproc: every rank watched (issue 22 item 7)

SITECUSTOMIZE = textwrap.dedent(
    """
    import os, signal
    KIND, RANK, CASE = os.environ["GPUCOMPARE_TEST_FAULT"].split(":")
    if os.environ.get("RANK") == RANK:
        from gpucompare.measure import collective_run

        real = collective_run.measure_collective_one

        def faulty(ctx, index, *args):
            if index == int(CASE):
                os.kill(os.getpid(), signal.SIGKILL if KIND == "kill" else signal.SIGSTOP)
            return real(ctx, index, *args)

        collective_run.measure_collective_one = faulty
    """
)


def _nproc_with_fault(tmp_path: Path, kind: str, timeout: str) -> tuple[subprocess.CompletedProcess, float]:
    import time

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    env["GPUCOMPARE_TEST_FAULT"] = f"{kind}:1:1"
    cmd = [
        sys.executable,
        "-m",
        "gpucompare",
        "run",
        "--nproc",
        "2",
        "--only",
        "all_reduce",
        "--dtypes",
        "fp32",
    ]
    start = time.monotonic()
    proc = subprocess.run(
        [*cmd, "--out", str(tmp_path / "runs"), "--no-progress", "--timeout", timeout],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT_S,
    )
    return proc, time.monotonic() - start


def test_nproc_names_a_rank_killed_by_sigkill(tmp_path):
    """Issue 22 item 7: kill -9 of rank 1 said "rank 0 exited ... no rank is behind", rank 1 never named."""
    proc, _ = _nproc_with_fault(tmp_path, "kill", "10")
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gpucompare: error: distributed run failed: rank 1 was killed by SIGKILL"), last
    assert "Traceback" not in proc.stderr
    run = load_run(_only_run(tmp_path / "runs"))  # the records written before stay whole
    assert run.records and run.records[0]["status"] == "ok"


def test_nproc_names_a_stopped_rank_and_ends_within_the_timeout(tmp_path):
    """Issue 22 item 7: SIGSTOP of a rank with --timeout 5 ran 36 s to 400 s+ until killed by hand."""
    proc, elapsed = _nproc_with_fault(tmp_path, "stop", "5")
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "distributed run failed: rank 1 stalled" in last, last
    assert "Traceback" not in proc.stderr
    # rank startup (import torch, rendezvous) comes first: the bound is loose, the hang it replaces was not
    assert elapsed < 90, elapsed
    run = load_run(_only_run(tmp_path / "runs"))
    assert run.records[0]["status"] == "ok"


def test_nproc_refuses_an_unwritable_out_before_any_rank_starts(tmp_path):
    """Issue 22 item 7: an unwritable --out with --nproc 2 was a 30-line traceback from rank 1."""
    (tmp_path / "file").write_text("in the way\n")
    cmd = [sys.executable, "-m", "gpucompare", "run", "--nproc", "2", "--only", "all_reduce"]
    proc = _run([*cmd, "--out", str(tmp_path / "file" / "runs")], tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "file/runs: cannot write results there" in err[0], err


def test_no_loopback_is_an_environment_problem(monkeypatch):
    import socket

    from gpucompare.errors import EnvironmentProblem
    from gpucompare.measure import launcher

    def refuse(*args, **kwargs):
        raise OSError(99, "Cannot assign requested address")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(EnvironmentProblem, match="loopback interface"):
        launcher.check_loopback()
