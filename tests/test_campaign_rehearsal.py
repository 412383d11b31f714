"""The CI rehearsal of the GPU campaign (issue 18): ``scripts/gpu_campaign.sh all``, unchanged but for the tier
(``GPUCOMPARE_TIER=cpu``, one workload), runs end to end into a temporary ``$OUT`` -- machine, precompile (a
one-kernel case set built for sm_90 here), smoke, tier, pack -- and what comes back is what the device tool
would return: at most 8 files, at most two folders down, plain names, every finished record in
``records.jsonl`` and the whole run folder in ``runs.tgz``. About 30 s on 2 cores."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_campaign_runs_end_to_end_into_out(tmp_path):
    from kernels._sm90_compile import ptxas_problem

    out, work = tmp_path / "OUT", tmp_path / "work"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRITON_", "GPUCOMPARE_"))}
    bindir = str(Path(sys.executable).parent)  # the script's `python` is this one
    env.update(
        OUT=str(out), GPUCOMPARE_TIER="cpu", GPUCOMPARE_ONLY="copy", GPUCOMPARE_JOBS="1",
        GPUCOMPARE_WORK=str(work), PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
    )  # fmt: skip
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_campaign.sh"), "all"],
        env=env, capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 0 < len(files) <= 8
    for p in files:  # the device tool's rules for what comes back
        rel = p.relative_to(out)
        assert len(rel.parts) <= 3 and all(re.fullmatch(r"[A-Za-z0-9._-]+", x) for x in rel.parts), rel
    assert {p.name for p in files} == {
        "machine.json", "campaign.log", "smoke.jsonl", "records.jsonl", "runs.jsonl", "runs.tgz"
    }  # fmt: skip
    machine = json.loads((out / "machine.json").read_text())
    assert machine["kind"] == "cpu" and machine["triton"] and machine["libtriton_sha256"]
    log = (out / "campaign.log").read_text()
    for step in ("precompile", "smoke", "tier: copy", "pack:", "campaign done"):
        assert step in log
    if not ptxas_problem():  # the builder compiled the one kernel for sm_90
        built = next(json.loads(x) for x in log.splitlines() if x.startswith('{"compiles"'))
        assert built["compiles"] == 1 and built["target"] == "cuda:90" and "_copy_kernel" in built["families"]
    smoke = [json.loads(x) for x in (out / "smoke.jsonl").read_text().splitlines()]
    assert smoke and all(r["status"] == "ok" for r in smoke)
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    runs = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 1 and runs[0]["finished"] is True and runs[0]["planned_cases"] == len(records) > 0
    assert {r["workload"] for r in records} == {"copy"} and all(r["status"] == "ok" for r in records)
    assert {s["case"] for s in smoke} == {
        f"copy-{r['shape_label']}-{r['dtype']}-triton" for r in records if r["impl"] == "triton"
    }
    with tarfile.open(out / "runs.tgz") as tar:
        names = {Path(n).name for n in tar.getnames()}
    assert {"run.json", "records.jsonl", "records.csv"} <= names
