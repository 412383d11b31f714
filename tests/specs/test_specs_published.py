"""The ledger of published measurements (``published.toml``): every entry loads, is sourced, resolves its chip
and workload; malformed entries fail with one message naming the entry and the field; the CLI labels every
row as published."""

from __future__ import annotations

import json
import re

import pytest

from gpucompare import cli
from gpucompare.errors import SpecError
from gpucompare.specs import load_chips
from gpucompare.specs.published import (
    CONFIDENCES,
    METRICS,
    PENDING_WORKLOADS,
    LedgerError,
    PublishedEntry,
    entries_for,
    load_published,
)
from gpucompare.workloads import WORKLOADS, Shape

LEDGER = load_published()

GOOD_ENTRY = """
[[entries]]
id = "e1"
chip = "H100 SXM"
workload = "gemm"
shape = { M = 4096, N = 4096, K = 4096 }
dtype = "bf16"
metric = "tflops"
value = 700.5
counts = "2MNK per GEMM"
group = "g"
method = "m"
source = "s"
where = "table 1, row H100"
confidence = "measured-published"
implementation = "cublas"
implementation_version = "unstated"
source_kind = "benchmark-folder"
representative = true
representative_why = "an ordinary result of the table"
"""
HEAD = """
[meta]
schema_version = 1

[sources.s]
title = "A source"
url = "https://example.org/a"
date = "2025-01-01"
"""


def _ledger(tmp_path, entry: str = GOOD_ENTRY, head: str = HEAD):
    path = tmp_path / "published.toml"
    path.write_text(head + entry, encoding="utf-8")
    return load_published(path)


def _with(field: str, line: str | None) -> str:
    """GOOD_ENTRY with ``field`` replaced by ``line`` (removed when None)."""
    out = []
    for row in GOOD_ENTRY.splitlines():
        if row.startswith(f"{field} ="):
            if line is not None:
                out.append(line)
        else:
            out.append(row)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------- the ledger


def test_ledger_size_and_coverage():
    assert len(LEDGER) >= 40
    chips = {e.chip for e in LEDGER}
    for chip in ("h20", "h100-sxm", "h200-sxm", "a100-sxm4-80gb", "l20", "b200"):
        assert chip in chips, chip
    db = load_chips()
    assert any(db.get(c).vendor != "NVIDIA" for c in chips), "no non-NVIDIA chip"
    workloads = {e.workload for e in LEDGER}
    assert "gemm" in workloads
    assert workloads & {"attention_fwd", "attention_bwd"}
    assert workloads & {"copy", "triad"}


def test_every_entry_is_sourced_and_resolves():
    db = load_chips()
    ids = [e.id for e in LEDGER]
    assert len(ids) == len(set(ids))
    for e in LEDGER:
        assert isinstance(e, PublishedEntry)
        assert db.get(e.chip).id == e.chip, e.id
        for key in ("title", "url", "date", "where"):
            assert e.source.get(key), (e.id, key)
        assert re.match(r"https?://", e.source["url"]), e.id
        assert e.metric in METRICS and e.confidence in CONFIDENCES
        assert e.value > 0
        assert e.counts and e.group and e.method
        assert e.evidence.startswith("published: ")


def test_every_entry_names_its_implementation_source_kind_and_representativeness():
    from gpucompare.specs.published import IMPLEMENTATIONS, SOURCE_KINDS, evidence_entries

    for e in LEDGER:
        assert e.implementation in IMPLEMENTATIONS and e.source_kind in SOURCE_KINDS, e.id
        assert e.implementation_version.strip() and e.representative_why.strip(), e.id
        assert ("UNREPRESENTATIVE" in e.evidence) == (not e.representative), e.id
    by_id = {e.id: e for e in LEDGER}
    # the sources that report their own figure as a regression or as low
    for eid in ("fa3-issue1438-h200-fwd", "fa3-issue1438-h100-fwd", "fa2-b200-fwd-hd64-s8192"):
        assert not by_id[eid].representative, eid
    used = {e.id for e in evidence_entries(LEDGER)}
    assert used == {e.id for e in LEDGER if e.representative}
    assert {e.id for e in evidence_entries(LEDGER, include_unrepresentative=True)} == set(by_id)


def test_every_entry_maps_onto_the_registry():
    for e in LEDGER:
        if e.workload in PENDING_WORKLOADS and e.workload not in WORKLOADS:
            continue
        wl = WORKLOADS[e.workload]
        shape = Shape(e.id, e.shape)
        assert wl.flops(shape) >= 0
        if e.metric == "tflops":
            assert wl.flops(shape) > 0, e.id
        if e.registered:
            assert wl.bytes(shape, e.dtype) > 0
        else:  # only a memory-bound workload takes a dtype the suite does not measure (STREAM's fp64)
            assert wl.intent == "memory" and e.metric == "gbps", e.id


def test_same_group_pairs_exist_across_chips():
    by_group: dict[tuple[str, str, str], set[str]] = {}
    for e in LEDGER:
        by_group.setdefault((e.group, e.workload, e.dtype), set()).add(e.chip)
    assert any({"h20", "h200-sxm"} <= chips for chips in by_group.values())


def test_entries_for_filters_and_resolves_names():
    h20 = entries_for(chip="NVIDIA H20")
    assert h20 and all(e.chip == "h20" for e in h20)
    gemm = entries_for(workload="gemm", group="torch-mm-database")
    assert gemm and all(e.workload == "gemm" and e.group == "torch-mm-database" for e in gemm)
    assert entries_for(chip="h20", workload="no-such-workload") == []
    with pytest.raises(SpecError, match="unknown chip"):
        entries_for(chip="H2O")


def test_default_ledger_is_cached_and_returned_as_a_fresh_list():
    a, b = load_published(), load_published()
    assert a == b and a is not b
    assert a[0] is b[0]


# ------------------------------------------------------------------------------------------- validation


def test_a_good_entry_loads(tmp_path):
    (e,) = _ledger(tmp_path)
    assert e.chip == "h100-sxm"
    assert e.shape == {"M": 4096, "N": 4096, "K": 4096}
    assert e.source == {
        "title": "A source",
        "url": "https://example.org/a",
        "date": "2025-01-01",
        "where": "table 1, row H100",
    }
    assert e.derived is None and e.software is None and e.sweep is None
    assert e.to_dict()["kind"] == "published"


@pytest.mark.parametrize(
    ("field", "line", "message"),
    [
        ("chip", 'chip = "H2O"', "unknown chip 'H2O'"),
        ("chip", None, "missing"),
        ("workload", 'workload = "gemmm"', "unknown workload 'gemmm'"),
        ("shape", "shape = { M = 4096, N = 4096 }", "missing"),
        ("shape", "shape = { M = 4096, N = 4096, K = 0 }", "positive"),
        ("shape", "shape = { M = 4096, N = 4096, K = 1.5 }", "integer"),
        ("dtype", 'dtype = "bf17"', "'bf17' is not one of"),
        ("dtype", 'dtype = "int8"', "workload 'gemm' has no dtype 'int8'"),
        ("metric", 'metric = "tflop"', "not one of"),
        ("value", "value = -3", "positive number"),
        ("value", 'value = "700"', "positive number"),
        ("source", 'source = "nowhere"', "not a source"),
        ("source", None, "missing"),
        ("where", 'where = ""', "non-empty string"),
        ("confidence", 'confidence = "official"', "not one of"),
        ("counts", None, "missing"),
        ("group", "group = 3", "non-empty string"),
        ("implementation", None, "missing"),
        ("implementation", 'implementation = "cuBLAS 12"', "not one of"),
        ("implementation_version", None, "missing"),
        ("implementation_version", 'implementation_version = ""', "non-empty string"),
        ("source_kind", None, "missing"),
        ("source_kind", 'source_kind = "tweet"', "not one of"),
        ("representative", None, "missing"),
        ("representative", 'representative = "yes"', "true or false"),
        ("representative_why", None, "missing"),
        ("representative_why", 'representative_why = " "', "non-empty string"),
    ],
)
def test_malformed_entry_names_entry_and_field(tmp_path, field, line, message):
    with pytest.raises(LedgerError) as info:
        _ledger(tmp_path, _with(field, line))
    text = str(info.value)
    assert "entry 'e1'" in text and f"field {field!r}" in text, text
    assert message in text, text
    assert "\n" not in text


def test_unknown_field_and_duplicate_id(tmp_path):
    with pytest.raises(LedgerError, match=r"entry 'e1', field 'colour': unknown field"):
        _ledger(tmp_path, GOOD_ENTRY + 'colour = "red"\n')
    with pytest.raises(LedgerError, match=r"entry 'e1', field 'id': duplicate id"):
        _ledger(tmp_path, GOOD_ENTRY + GOOD_ENTRY)


def test_entry_without_id_is_named_by_position(tmp_path):
    with pytest.raises(LedgerError, match=r"entry '#1', field 'id'"):
        _ledger(tmp_path, _with("id", None))


def test_copy_has_no_tflops(tmp_path):
    entry = _with("workload", 'workload = "copy"').replace("{ M = 4096, N = 4096, K = 4096 }", "{ N = 1024 }")
    entry = entry.replace('dtype = "bf16"', 'dtype = "fp32"')
    with pytest.raises(LedgerError, match=r"field 'metric'.*no TFLOP/s"):
        _ledger(tmp_path, entry)
    (e,) = _ledger(tmp_path, entry.replace('metric = "tflops"', 'metric = "gbps"'))
    assert e.workload == "copy"


def test_memory_bound_entry_may_use_a_dtype_the_suite_does_not_measure(tmp_path):
    entry = GOOD_ENTRY.replace('workload = "gemm"', 'workload = "triad"')
    entry = entry.replace("{ M = 4096, N = 4096, K = 4096 }", "{ N = 33554432 }").replace('"bf16"', '"fp64"')
    (e,) = _ledger(tmp_path, entry.replace('metric = "tflops"', 'metric = "gbps"'))
    assert e.dtype == "fp64" and not e.registered
    gemm = _with("dtype", 'dtype = "fp64"')
    with pytest.raises(LedgerError, match=r"field 'dtype': workload 'gemm' has no dtype 'fp64'"):
        _ledger(tmp_path, gemm)


def test_collective_is_accepted_before_it_is_registered(tmp_path):
    entry = _with("workload", 'workload = "collective"').replace(
        "{ M = 4096, N = 4096, K = 4096 }", '{ op = "all_reduce", bytes = 8589934592, gpus = 8 }'
    )
    entry = entry.replace('metric = "tflops"', 'metric = "gbps"')
    (e,) = _ledger(tmp_path, entry)
    assert e.workload == "collective" and e.shape["op"] == "all_reduce"


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (HEAD.replace("schema_version = 1", "schema_version = 2"), "meta.schema_version"),
        (HEAD.replace('url = "https://example.org/a"', 'url = "example.org"'), "source 's', field 'url'"),
        (HEAD.replace('date = "2025-01-01"', ""), "source 's', field 'date'"),
    ],
)
def test_malformed_header(tmp_path, head, message):
    with pytest.raises(LedgerError, match=re.escape(message)):
        _ledger(tmp_path, head=head)


def test_invalid_toml_is_one_line(tmp_path):
    with pytest.raises(LedgerError, match="not valid TOML"):
        _ledger(tmp_path, GOOD_ENTRY + "value = = 3\n")


# ------------------------------------------------------------------------------------------- the CLI


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_lists_every_row_as_published_with_its_source(capsys):
    rc, out, _ = _run(capsys, "published", "--chip", "H20")
    assert rc == 0
    h20 = entries_for(chip="h20")
    for e in h20:
        assert e.id in out
        assert e.source["url"] in out
    assert out.count("    published: ") == len(h20)
    assert "NOT measured by gpucompare" in out


def test_cli_json(capsys):
    rc, out, _ = _run(capsys, "published", "--workload", "gemm", "--json")
    assert rc == 0
    rows = json.loads(out)
    assert rows and all(r["kind"] == "published" and r["workload"] == "gemm" for r in rows)
    keys = {"id", "chip", "shape", "dtype", "metric", "value", "group", "source", "confidence"}
    assert keys <= set(rows[0])
    assert rows[0]["source"]["where"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--chip", "H2O"], "unknown chip 'H2O'"),
        (["--workload", "gemmm"], "unknown workload 'gemmm'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(capsys, argv, message):
    rc, out, err = _run(capsys, "published", *argv)
    assert rc == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_cli_bad_file_is_one_line_exit_2(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + _with("chip", 'chip = "H2O"'), encoding="utf-8")
    rc, _, err = _run(capsys, "published", "--file", str(path))
    assert rc == 2
    assert "entry 'e1', field 'chip'" in err and err.count("\n") == 1


def test_a_serving_entry_is_accepted_before_the_workload_is_registered(tmp_path):
    """serving24 appends ``workload = "serving"`` tokens/s entries: the reader must not block them."""
    entry = GOOD_ENTRY.replace('workload = "gemm"', 'workload = "serving"')
    entry = entry.replace('metric = "tflops"', 'metric = "tokens_per_s"').replace(
        "shape = { M = 4096, N = 4096, K = 4096 }", 'shape = { model = "llama3-70b", batch = 64 }'
    )
    (e,) = _ledger(tmp_path, entry)
    assert e.workload == "serving" and e.metric == "tokens_per_s" and e.representative
