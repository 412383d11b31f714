"""The CLI dispatcher: help, bad arguments and user errors are one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gpucompare import cli
from gpucompare.errors import GpucompareError


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_unknown_command_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpucompare: error:")


def test_user_error_is_one_line_no_traceback(monkeypatch, capsys):
    parser = cli.build_parser()

    def boom(args):
        raise GpucompareError("unknown chip 'H9000'")

    real = cli.build_parser

    def patched():
        p = real()
        p.set_defaults(func=boom)
        return p

    monkeypatch.setattr(cli, "build_parser", patched)
    assert parser is not None
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err == "gpucompare: error: unknown chip 'H9000'\n"


def test_python_dash_m_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "gpucompare", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("gpucompare ")


def test_source_checkout_runs_without_install(tmp_path):
    """PYTHONPATH=src (as on a GPU machine with no package index) finds gpucompare.kernels and .seeds."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for part in ("src", "kernels", "seeds"):
        shutil.copytree(root / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import gpucompare.kernels.bandwidth as b, gpucompare.seeds as s, gpucompare.claims as c;"
        "print(b.__file__); print(s.__file__); print(len(c.load_claims()))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "src"), "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    kernels_file, seeds_file, n_claims = proc.stdout.split()
    assert kernels_file == str(tmp_path / "kernels" / "bandwidth.py")
    assert seeds_file == str(tmp_path / "seeds" / "__init__.py")
    assert int(n_claims) > 0
