"""The report's sections beyond one GPU: the comm model's validation and the 8-GPU server table."""

from __future__ import annotations

from gpucompare.model import server
from gpucompare.report.sections import BUILDERS
from gpucompare.report.sections import server as sections


def test_server_sections_are_built_and_registered():
    from gpucompare.report.inputs import gather
    from gpucompare.specs import load_chips

    inp = gather([], load_chips(), include_cpu=False, pairs=(), counts=None, layer=None, claims_fn=None)
    val = sections.comm_validation(inp)
    assert "published" in val.intro and "projected" in val.intro
    assert (
        val.table["evidence"].str.startswith("published: ").all() and val.table["error"].notna().sum() >= 20
    )
    assert "median |error|" in val.readme_note
    table = sections.server_table(inp)
    assert set(table.table["chip_id"]) == set(server.SERVER_CHIPS)
    assert set(table.display["bound"]) <= {"compute", "memory", "link"}
    assert table.intro.startswith("**Projected**")
    assert sections.comm_validation in BUILDERS and sections.server_table in BUILDERS
