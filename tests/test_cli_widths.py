"""Every command a person reads in an 80-column terminal fits it (``COLUMNS=80``: tables hide their
low-priority columns, then wrap; ``--wide`` shows everything) and writes no number in scientific notation."""

from __future__ import annotations

import re

import pytest

from gpucompare.cli import main as cli

SCIENTIFIC = re.compile(r"\d(\.\d+)?e[+-]?\d", re.IGNORECASE)
COMMANDS = [
    ["specs"],
    ["published"],
    ["compare", "H200", "H20"],
    ["claims"],
    ["workloads"],
    ["workloads", "--floor", "H200"],
    ["validate"],
    ["predict", "H200", "decode_attention"],
    ["predict", "H20", "gemm"],
    ["expect", "A100"],
]


def _out(capsys, argv: list[str]) -> str:
    rc = cli(argv)
    out = capsys.readouterr().out
    assert rc == 0, out[-500:]
    return out


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_every_line_fits_80_columns_and_no_scientific_notation(argv, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = _out(capsys, argv)
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert wide == [], f"{' '.join(argv)}: {len(wide)} lines wider than 80, e.g. {wide[0]!r}"
    # URLs and ids may hold an "e" between digits (a commit hash); numbers a person reads may not
    # a ledger entry's derivation is its source's formula, quoted (e.g. "bytes / t / 1e9"), not a figure
    quoted = re.sub(r"derived: [^\n]*(\n {6,}[^\n]*)*", "", out)
    joined = re.sub(r"\n\s*", "", quoted)  # a URL broken over lines made whole again
    # sources are quoted as written ('theoretical: 4800e9'): a transcription, not a figure of ours
    text = re.sub(r"<https?://[^>]*>|https?://\S+|[\w.-]*[0-9a-f]{12,}[\w.-]*|'[^']*'", "", joined)
    assert not SCIENTIFIC.search(text), SCIENTIFIC.search(text).group(0)


def test_wide_shows_the_hidden_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    narrow = _out(capsys, ["specs"])
    assert "hidden to fit 80 characters" in narrow and "confidence" not in narrow.splitlines()[0]
    wide = _out(capsys, ["specs", "--wide"])
    assert "confidence" in wide.splitlines()[0] and max(map(len, wide.splitlines())) > 80


def test_help_lists_every_command_and_ends_in_a_full_stop(capsys):
    with pytest.raises(SystemExit):
        cli(["--help"])
    out = capsys.readouterr().out
    described = " ".join(out.split("\n\n")[1].split())
    assert described.endswith("diff, cache.") and "cache" in described and "diff" in described


def test_validate_summary_at_80_columns_hides_a_column_rather_than_folding_class_names(capsys, monkeypatch):
    """The class summary was 83 characters at its narrowest: the class names were folded to 4-6 characters
    ('atte'/'ntio'/'n'). The better/worse count is the column it hides (``--wide`` shows it)."""
    monkeypatch.setenv("COLUMNS", "80")
    out = _out(capsys, ["validate"])
    lines = out.splitlines()
    assert any(line.startswith("attention ") for line in lines), "class names folded mid-word"
    assert "better/worse; --wide shows them" in out
    assert "better/worse" in _out(capsys, ["validate", "--wide"])
