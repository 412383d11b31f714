"""The committed results/ is what `gpucompare report` makes of the committed runs: regenerating gives no diff.

Tables (Markdown and CSV) are compared byte for byte; plots and the HTML that embeds them depend on the
matplotlib build, so they are only checked to be regenerated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucompare import cli

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def _published_runs() -> list[str]:
    """Committed run folders: cpu-fallback runs are git-ignored pipeline checks and are left out."""
    runs = RESULTS / "runs"
    if not runs.is_dir():
        return []
    out = []
    for run_json in sorted(runs.rglob("run.json")):
        if '"cpu-fallback"' not in run_json.read_text(encoding="utf-8"):
            out.append(str(run_json.parent))
    return out


@pytest.mark.skipif(not (RESULTS / "README.md").is_file(), reason="no published results/ in this checkout")
def test_report_regenerates_published_tables_without_diff(tmp_path, capsys):
    runs = _published_runs()
    args = ["report", "--out", str(tmp_path), "--no-plots"]
    if runs:
        args += ["--runs", *runs]
    assert cli.main(args) == 0
    capsys.readouterr()
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    published = sorted(p.relative_to(RESULTS) for p in (RESULTS / "tables").rglob("*.csv"))
    assert fresh == published, "the set of tables differs: run `gpucompare report` and commit results/"
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (RESULTS / rel).read_bytes(), (
            f"results/{rel} is stale: run `gpucompare report` and commit results/"
        )
    # The Markdown tables too (the plot list at its end depends on --no-plots, so compare up to it).
    fresh_md = (tmp_path / "README.md").read_text(encoding="utf-8").split("## Plots")[0]
    published_md = (RESULTS / "README.md").read_text(encoding="utf-8").split("## Plots")[0]
    assert fresh_md == published_md, "results/README.md is stale: run `gpucompare report` and commit results/"
