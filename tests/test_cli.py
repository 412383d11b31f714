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
    proc = subprocess.run([sys.executable, "-m", "gpucompare", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.startswith("gpucompare ")
