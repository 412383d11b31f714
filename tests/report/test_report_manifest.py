"""What the report may delete or replace: only what its own previous generation wrote (``report-files.txt``).

Issue 12: ``gpucompare report`` deleted every ``*.csv/png/svg`` under ``<out>/tables`` and ``<out>/plots`` and
overwrote ``<out>/README.md``; ``--no-plots`` deleted the committed plots.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_samples import KW, runs

from gpucompare import report
from gpucompare.cli import main
from gpucompare.report.generate import MANIFEST, ReportOutputError, read_manifest


def _listed(out) -> set[str]:
    return read_manifest(out)


def test_manifest_lists_exactly_the_written_files(tmp_path):
    written = report.generate(tmp_path, runs(), plots=False, **KW)
    assert _listed(tmp_path) == {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"README.md", "report.html"} <= _listed(tmp_path)


def test_users_files_in_the_output_folder_are_kept(tmp_path):
    for rel in ("tables/mine.csv", "plots/mine.png", "plots/mine.svg", "notes.txt"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text("mine\n")
    report.generate(tmp_path, runs(), plots=False, **KW)
    report.generate(tmp_path, [], plots=False, **KW)  # a second generation, with fewer tables
    for rel in ("tables/mine.csv", "plots/mine.png", "plots/mine.svg", "notes.txt"):
        assert (tmp_path / rel).read_text() == "mine\n", rel
        assert rel not in _listed(tmp_path)


def test_stale_files_of_the_previous_generation_are_removed(tmp_path):
    report.generate(tmp_path, runs(), plots=False, **KW)
    (tmp_path / "tables" / "old.csv").write_text("x\n")  # as if an older version had written it
    manifest = tmp_path / MANIFEST
    manifest.write_text(manifest.read_text() + "tables/old.csv\n../outside.csv\n/etc/passwd\n")
    (tmp_path.parent / "outside.csv").write_text("not ours\n")
    report.generate(tmp_path, runs(), plots=False, **KW)
    assert not (tmp_path / "tables" / "old.csv").exists()
    assert (tmp_path.parent / "outside.csv").exists()  # a path outside --out is never followed
    assert "tables/old.csv" not in _listed(tmp_path)


@pytest.mark.parametrize("name", ["README.md", "report.html"])
def test_a_users_readme_is_not_overwritten(tmp_path, name):
    (tmp_path / name).write_text("my own notes\n")
    with pytest.raises(ReportOutputError, match=f"{name}: exists and was not written by"):
        report.generate(tmp_path, runs(), plots=False, **KW)
    assert (tmp_path / name).read_text() == "my own notes\n"
    assert not (tmp_path / "tables").exists()  # refused before writing anything


def test_own_readme_is_regenerated(tmp_path):
    report.generate(tmp_path, runs(), plots=False, **KW)
    (tmp_path / "README.md").write_text("edited\n")
    report.generate(tmp_path, runs(), plots=False, **KW)
    assert (tmp_path / "README.md").read_text() != "edited\n"


def test_no_plots_leaves_the_plots_alone(tmp_path):
    report.generate(tmp_path, runs(), **KW)
    plots = sorted((tmp_path / "plots").iterdir())
    assert plots
    before = {p: p.read_bytes() for p in plots}
    report.generate(tmp_path, runs(), plots=False, **KW)
    assert {p: p.read_bytes() for p in sorted((tmp_path / "plots").iterdir())} == before
    assert {p.relative_to(tmp_path).as_posix() for p in plots} <= _listed(tmp_path)


def test_cli_refuses_with_one_line(tmp_path, capsys):
    (tmp_path / "README.md").write_text("mine\n")
    assert main(["report", "--out", str(tmp_path), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "README.md: exists and was not written by" in err
    assert (tmp_path / "README.md").read_text() == "mine\n"


def test_committed_manifest_lists_the_committed_report():
    """A fresh clone's `gpucompare report` recognises results/README.md as its own (else it would refuse)."""
    results = Path(__file__).resolve().parents[2] / "results"
    if not (results / "README.md").is_file():
        pytest.skip("no published results/ in this checkout")
    files = {
        p.relative_to(results).as_posix()
        for p in results.rglob("*")
        if p.is_file() and p.name != MANIFEST and "runs" not in p.relative_to(results).parts
    }
    assert read_manifest(results) == files, "run `gpucompare report` and commit results/report-files.txt"
