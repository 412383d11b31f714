"""Validation of malformed chip databases: one message naming the file, the chip and the field."""

from __future__ import annotations

import pytest

from gpucompare.errors import SpecError
from gpucompare.specs import load_chips

SOURCES = """
[meta]
schema_version = 1

[sources.s1]
title = "Source one"
url = "https://example.org/s1"
publisher = "Example"
date = "2024"
confidence = "official"
"""

CHIP = """
[[chips]]
id = "{cid}"
name = "Chip {cid}"
vendor = "ACME"
launch_year = 2024
aliases = ["{alias}"]
driver_names = []
source = "s1"
memory_gb = 80
bandwidth_tbps = 3.0
interconnect_gbps = "none"
pcie_gen = 4
tdp_w = 500
die_area_mm2 = 800
[chips.peaks]
fp64 = "unknown"
fp32 = 50
tf32 = "unknown"
bf16 = 300
fp16 = 300
fp8 = "unsupported"
fp4 = "unsupported"
int8 = {{ value = 600, note = "1,200 with sparsity, halved" }}
"""


def _write(tmp_path, text):
    path = tmp_path / "chips.toml"
    path.write_text(text)
    return path


def _valid(second_alias="X2"):
    return SOURCES + CHIP.format(cid="x1", alias="X1") + CHIP.format(cid="x2", alias=second_alias)


def test_minimal_valid_file_loads(tmp_path):
    db = load_chips(_write(tmp_path, _valid()))
    x1 = db.get("X1")
    assert x1.id == "x1" and x1.tpp == pytest.approx(4800.0) and x1.eccn_3a090 == "3A090.a"
    assert x1.peak_status("fp8") == "unsupported" and x1.peak_status("tf32") == "unknown"
    assert x1.interconnect == "none" and x1.interconnect_gbps is None
    assert x1.sources["peaks.int8"].note.endswith("halved")


@pytest.mark.parametrize(
    ("old", "new", "chip", "field", "words"),
    [
        ("bandwidth_tbps = 3.0\n", "", "x1", "bandwidth_tbps", "missing"),
        ("tdp_w = 500", "tdp_w = -5", "x1", "tdp_w", "positive"),
        ("fp32 = 50\n", "fp32 = 50\nfp6 = 10\n", "x1", "peaks.fp6", "unknown dtype"),
        ('fp4 = "unsupported"\n', "", "x1", "peaks.fp4", "missing"),
        (
            "bf16 = 300",
            'bf16 = { value = 300, source = "nope" }',
            "x1",
            "peaks.bf16",
            "unknown source 'nope'",
        ),
        ("bandwidth_tbps = 3.0", "bandwidth_tbps = 50.0", "x1", "bandwidth_tbps", "range"),
        ("bf16 = 300", "bf16 = 60000", "x1", "peaks.bf16", "range"),
        ("launch_year = 2024", "launch_year = 2040", "x1", "launch_year", "range"),
        ("launch_year = 2024", "launch_year = 2024.5", "x1", "launch_year", "integer"),
        ("bf16 = 300", 'bf16 = { value = 300, confidence = "rumour" }', "x1", "peaks.bf16", "confidence"),
        ("bf16 = 300", 'bf16 = "lots"', "x1", "peaks.bf16", "'lots'"),
        ("memory_gb = 80", 'memory_gb = "unsupported"', "x1", "memory_gb", "'unsupported'"),
        ("memory_gb = 80", "memory_gb = true", "x1", "memory_gb", "number"),
        ('source = "s1"', 'source = "s9"', "x1", "source", "unknown source"),
        ("tdp_w = 500", 'tdp_w = 500\ncolour = "red"', "x1", "colour", "unknown key"),
    ],
)
def test_malformed_field_names_chip_and_field(tmp_path, old, new, chip, field, words):
    text = _valid()
    head, _, tail = text.partition("[[chips]]")  # change only the first chip
    assert old in tail
    path = _write(tmp_path, head + "[[chips]]" + tail.replace(old, new, 1))
    with pytest.raises(SpecError) as exc:
        load_chips(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert f"chip {chip!r}" in msg and f"field {field!r}" in msg and words in msg


def test_duplicate_alias_across_chips(tmp_path):
    path = _write(tmp_path, _valid(second_alias="x-1"))  # same as X1 ignoring case and dashes
    with pytest.raises(SpecError) as exc:
        load_chips(path)
    msg = str(exc.value)
    assert "chip 'x2'" in msg and "field 'aliases'" in msg and "x1" in msg


def test_duplicate_id(tmp_path):
    text = SOURCES + CHIP.format(cid="x1", alias="A") + CHIP.format(cid="x1", alias="B")
    with pytest.raises(SpecError, match=r"chip 'x1', field 'id': duplicate id"):
        load_chips(_write(tmp_path, text))


def test_bad_source_table_and_syntax(tmp_path):
    bad = _valid().replace('confidence = "official"', 'confidence = "sure"', 1)
    with pytest.raises(SpecError, match="source 's1': confidence 'sure'"):
        load_chips(_write(tmp_path, bad))
    with pytest.raises(SpecError, match="not valid TOML"):
        load_chips(_write(tmp_path, _valid() + "\n[[chips]\n"))
    with pytest.raises(SpecError, match="schema_version 2 is not supported"):
        load_chips(_write(tmp_path, _valid().replace("schema_version = 1", "schema_version = 2")))
    with pytest.raises(SpecError, match="schema_version missing"):
        load_chips(_write(tmp_path, _valid().replace("schema_version = 1", "")))
    with pytest.raises(SpecError, match="cannot read"):
        load_chips(tmp_path / "absent.toml")


def test_non_utf8_file_is_a_spec_error_naming_the_file(tmp_path):
    path = tmp_path / "chips.toml"
    path.write_bytes(_valid().replace("Source one", "Source \xe9").encode("latin-1"))
    with pytest.raises(SpecError, match=r"chips\.toml: not UTF-8"):
        load_chips(path)


def _assert_first_chip_edit_refused(tmp_path, old: str, new: str, field: str, words: str) -> None:
    """Edit the first chip of the valid file (``old`` -> ``new``): the loader names chip, field and problem."""
    text = _valid()
    head, _, tail = text.partition("[[chips]]")
    path = _write(tmp_path, head + "[[chips]]" + tail.replace(old, new, 1))
    with pytest.raises(SpecError) as exc:
        load_chips(path)
    msg = str(exc.value)
    assert "chip 'x1'" in msg and f"field {field!r}" in msg and words in msg


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("tdp_w = 500", 'tdp_w = 500\nmarket = "gaming"', "market", "'gaming'"),
        ("tdp_w = 500", "tdp_w = 500\nmarket = 3", "market", "expected one of"),
        ('fp64 = "unknown"', "fp64 = { value = 10, at_most = 20 }", "peaks.fp64", "'at_most' only bounds"),
        ("tdp_w = 500", 'tdp_w = { value = "unknown", at_most = 600 }', "tdp_w", "'at_most' only bounds"),
        ('fp64 = "unknown"', 'fp64 = { value = "unknown", at_most = -1 }', "peaks.fp64", "positive"),
    ],
)
def test_market_and_at_most_are_validated(tmp_path, old, new, field, words):
    _assert_first_chip_edit_refused(tmp_path, old, new, field, words)


def test_market_and_at_most_load(tmp_path):
    text = _valid().replace("tdp_w = 500", 'tdp_w = 500\nmarket = "non-datacenter"', 1)
    text = text.replace('fp64 = "unknown"', 'fp64 = { value = "unknown", at_most = 20, note = "bound" }', 1)
    db = load_chips(_write(tmp_path, text))
    x1, x2 = db.get("x1"), db.get("x2")
    assert x1.market == "non-datacenter" and x1.peak_bounds == {"fp64": 20.0}
    assert x1.sources["market"].source_id == "s1" and x2.market is None
    assert x1.tpp_upper is None  # tf32 still unknown without a bound


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            'interconnect_gbps = "none"\npcie_gen = 4',
            'interconnect_gbps = "none"',
            "pcie_gen",
            "PCIe generation",
        ),
        ("pcie_gen = 4", "pcie_gen = 9", "pcie_gen", "outside the plausible range"),
        ("pcie_gen = 4", 'pcie_gen = 4\nlink_kind = "nvlink4"', "link_kind", "use 'pcie'"),
        ('interconnect_gbps = "none"', 'interconnect_gbps = 900\nlink_kind = "pcie"', "link_kind", "needs"),
        ("pcie_gen = 4", 'pcie_gen = 4\nlink_kind = "ethernet"', "link_kind", "'ethernet'"),
    ],
)
def test_link_kind_and_pcie_generation_are_validated(tmp_path, old, new, field, words):
    _assert_first_chip_edit_refused(tmp_path, old, new, field, words)


def test_interconnect_is_stated_per_direction_and_aggregate():
    db = load_chips()
    h200, h20, l20 = db.get("h200-sxm"), db.get("h20"), db.get("l20")
    assert h200.interconnect_gbps == 900 and h200.interconnect_per_direction_gbps == 450
    assert (
        h200.link_kind == h20.link_kind == "nvlink4"
        and db.get("a800-sxm4").interconnect_per_direction_gbps == 200
    )
    assert l20.interconnect == "none" and l20.link_kind == "pcie" and l20.pcie_gen == 4
    assert all(
        c.pcie_gen is not None or "pcie_gen" in c.sources for c in db.chips if c.interconnect == "none"
    )
