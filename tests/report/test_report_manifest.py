"""What the report may delete or replace: only what its own previous generation wrote (its manifest).

Issue 12: ``gpucompare report`` deleted every ``*.csv/png/svg`` under ``<out>/tables`` and ``<out>/plots`` and
overwrote ``<out>/README.md``; ``--no-plots`` deleted the committed plots. Issue 22 item 5: it overwrote a user's
``tables/answer.csv`` and ``plots/roofline_h20.svg``, overwrote a user's own ``report-files.txt`` and deleted a
file listed there, and with ``tables`` a symlink wrote through it and deleted a file outside the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from report_samples import KW, runs

from gpucompare import report
from gpucompare.cli import main
from gpucompare.report.generate import MANIFEST, ReportOutputError, read_manifest


def _listed(out) -> set[str]:
    return set(read_manifest(out))


def _add_to_manifest(out, *names, digest=None) -> None:
    data = json.loads((out / MANIFEST).read_text())
    data["files"].update(dict.fromkeys(names, digest))
    (out / MANIFEST).write_text(json.dumps(data))


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
    (tmp_path / "tables" / "old.csv").write_text("x\n")  # as if an older generation had written it
    (tmp_path / "tables" / "edited.csv").write_text("edited since\n")
    (tmp_path.parent / "outside.csv").write_text("not ours\n")
    _add_to_manifest(tmp_path, "tables/old.csv", digest=hashlib.sha256(b"x\n").hexdigest())
    _add_to_manifest(tmp_path, "tables/edited.csv", "../outside.csv", "/etc/passwd", digest="0" * 64)
    report.generate(tmp_path, runs(), plots=False, **KW)
    assert not (tmp_path / "tables" / "old.csv").exists()
    assert (tmp_path / "tables" / "edited.csv").read_text() == "edited since\n"  # changed since: kept
    assert (tmp_path.parent / "outside.csv").exists()  # a path outside --out is never followed
    assert {"tables/old.csv", "tables/edited.csv"}.isdisjoint(_listed(tmp_path))


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


@pytest.mark.parametrize("rel", ["tables/answer.csv", "plots/roofline_h20.svg"])
def test_a_users_file_where_the_report_writes_is_refused(tmp_path, rel, capsys):
    """Issue 22 item 5: a user's tables/answer.csv and plots/roofline_h20.svg were overwritten."""
    (tmp_path / rel).parent.mkdir()
    (tmp_path / rel).write_text("mine\n")
    assert main(["report", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{rel}: exists and was not written by" in err
    assert (tmp_path / rel).read_text() == "mine\n"
    assert not (tmp_path / "README.md").exists() and not (tmp_path / MANIFEST).exists()


def test_a_users_report_files_txt_is_neither_overwritten_nor_obeyed(tmp_path):
    """Issue 22 item 5: the user's own report-files.txt was overwritten and a file it listed deleted."""
    (tmp_path / "keep.csv").write_text("mine\n")
    (tmp_path / "report-files.txt").write_text("keep.csv\nREADME.md\n")
    report.generate(tmp_path, runs(), plots=False, **KW)
    assert (tmp_path / "report-files.txt").read_text() == "keep.csv\nREADME.md\n"
    assert (tmp_path / "keep.csv").read_text() == "mine\n"
    report.generate(tmp_path, [], plots=False, **KW)
    assert (tmp_path / "keep.csv").read_text() == "mine\n"


@pytest.mark.parametrize("text", ["keep.csv\n", "{}", '{"written_by": "me", "files": {}}', "[" * 100_000])
def test_a_manifest_not_written_by_the_report_is_refused(tmp_path, text, capsys):
    (tmp_path / "keep.csv").write_text("mine\n")
    (tmp_path / MANIFEST).write_text(text)
    assert main(["report", "--out", str(tmp_path), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{MANIFEST}: not a manifest written by" in err
    assert (tmp_path / MANIFEST).read_text() == text and (tmp_path / "keep.csv").exists()


def test_a_symlinked_tables_folder_is_never_followed(tmp_path, capsys):
    """Issue 22 item 5: with DIR/tables a symlink it wrote 21 files and deleted one outside DIR."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "answer.csv").write_text("outside\n")
    report.generate(out, runs(), plots=False, **KW)
    listed = sorted(_listed(out))
    for p in (out / "tables").iterdir():
        p.unlink()
    (out / "tables").rmdir()
    (out / "tables").symlink_to(elsewhere)
    assert main(["report", "--out", str(out), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tables: a symlink" in err
    assert sorted(os.listdir(elsewhere)) == ["answer.csv"]
    assert (elsewhere / "answer.csv").read_text() == "outside\n"
    assert sorted(_listed(out)) == listed


def test_a_listed_path_through_a_symlink_is_not_deleted(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.csv").write_text("outside\n")
    report.generate(out, runs(), plots=False, **KW)
    (out / "link").symlink_to(elsewhere)
    _add_to_manifest(out, "link/x.csv", digest=hashlib.sha256(b"outside\n").hexdigest())
    report.generate(out, runs(), plots=False, **KW)
    assert (elsewhere / "x.csv").read_text() == "outside\n"


def test_a_fifo_where_the_report_writes_is_refused(tmp_path):
    report.generate(tmp_path, runs(), plots=False, **KW)
    (tmp_path / "README.md").unlink()
    os.mkfifo(tmp_path / "README.md")
    with pytest.raises(ReportOutputError, match=r"README\.md: not a regular file"):
        report.generate(tmp_path, runs(), plots=False, **KW)


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
    listed = read_manifest(results)
    assert set(listed) == files, f"run `gpucompare report` and commit results/{MANIFEST}"
    for rel in files:  # what a fresh clone checks out is what the report wrote (else it keeps stale files)
        digest = hashlib.sha256((results / rel).read_bytes()).hexdigest()
        assert listed[rel] == digest, f"results/{rel}: regenerate with `gpucompare report` and commit"
