"""The commands that only read files never import torch (issue 22 item 9: every command paid ~1.2 s of
``import torch`` through ``cli.main`` -> ``configure_triton()`` and the workloads registry)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import contextlib, io, json, sys
from gpucompare.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
    status = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "triton") if m in sys.modules)
print(json.dumps({"status": status, "heavy": heavy, "err": err.getvalue()[-300:]}))
"""

FILE_ONLY = [
    ["specs"],
    ["specs", "--match", "NVIDIA H100 PCIe"],
    ["published"],
    ["compare", "h200", "h20"],
    ["claims"],
    ["workloads"],
    ["workloads", "--floor", "h20"],
    ["validate"],
    ["predict", "h20", "gemm"],
    ["report", "--no-plots", "--out", "{tmp}"],
]


@pytest.mark.parametrize("argv", FILE_ONLY, ids=lambda a: " ".join(a[:2]))
def test_file_only_commands_do_not_import_torch(argv, tmp_path):
    argv = [a.format(tmp=tmp_path / "report") for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == 0, result["err"]
    assert result["heavy"] == [], f"`gpucompare {' '.join(argv)}` imported {result['heavy']}"
