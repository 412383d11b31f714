"""The chip spec database: known figures, unknown vs unsupported, export-control metrics, lookup that never
confuses SXM / PCIe / NVL parts, device matching, spec ratios, and validation of malformed files."""

from __future__ import annotations

import pytest

from gpucompare.errors import SpecError, UnknownChipError
from gpucompare.specs import (
    BITS,
    CONFIDENCES,
    DTYPES,
    all_chips,
    eccn_3a090,
    get_chip,
    load_chips,
    match_device,
    spec_ratios,
)

# --------------------------------------------------------------------------------------------- known figures


@pytest.mark.parametrize(
    ("chip", "dtype", "value"),
    [
        ("h100-sxm", "bf16", 989.4),
        ("h100-sxm", "fp8", 1978.9),
        ("h100-sxm", "tf32", 494.7),
        ("h100-pcie", "bf16", 756.5),
        ("h20", "bf16", 148.0),
        ("h20", "fp8", 296.0),
        ("a100-sxm4-80gb", "bf16", 312.0),
        ("a100-sxm4-80gb", "int8", 624.0),
        ("h200-sxm", "bf16", 989.4),
        ("h200-nvl", "bf16", 835.5),
        ("b200", "fp4", 9000.0),
        ("b200", "bf16", 2250.0),
        ("l40s", "fp8", 733.0),
        ("l20", "bf16", 119.5),
    ],
)
def test_dense_peaks(chip, dtype, value):
    c = get_chip(chip)
    assert c.peak_status(dtype) == "known"
    assert c.peak_tflops[dtype] == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize(
    ("chip", "memory_gb", "bandwidth_tbps", "interconnect_gbps"),
    [
        ("h100-sxm", 80, 3.35, 900),
        ("h200-sxm", 141, 4.8, 900),
        ("h20", 96, 4.0, 900),
        ("a800-sxm4", 80, 2.039, 400),
        ("h800-sxm", 80, 3.35, 400),
        ("b200", 180, 7.7, 1800),
    ],
)
def test_memory_and_links(chip, memory_gb, bandwidth_tbps, interconnect_gbps):
    c = get_chip(chip)
    assert (c.memory_gb, c.bandwidth_tbps, c.interconnect_gbps) == (
        memory_gb,
        bandwidth_tbps,
        interconnect_gbps,
    )


def test_sparse_datasheet_figures_are_halved_and_say_so():
    note = get_chip("h100-sxm").sources["peaks.bf16"].note
    assert "sparsity" in note and "halved" in note


def test_unsupported_is_distinct_from_unknown():
    a100 = get_chip("a100-sxm4-80gb")
    assert a100.peak_status("fp8") == "unsupported" and a100.peak_status("fp4") == "unsupported"
    assert a100.peak("fp8") is None and "fp8" in a100.unsupported
    h100 = get_chip("h100-sxm")
    assert h100.peak_status("fp4") == "unsupported"
    assert get_chip("h800-sxm").peak_status("fp64") == "unknown"  # disputed, not guessed
    b20 = get_chip("b20")
    assert all(b20.peak_status(d) == "unknown" for d in DTYPES)
    assert get_chip("b200").peak_status("fp4") == "known"
    with pytest.raises(ValueError, match="fp6"):
        h100.peak_status("fp6")


def test_every_figure_has_a_source_and_confidence():
    db = load_chips()
    assert len(db) >= 20
    for chip in db:
        assert chip.sources, chip.id
        for fld, src in chip.sources.items():
            assert src.source_id in db.sources, (chip.id, fld)
            assert src.confidence in CONFIDENCES, (chip.id, fld)
            assert src.url and src.title, (chip.id, fld)
        for d in DTYPES:  # every dtype is written out, so every peak has a source entry
            assert f"peaks.{d}" in chip.sources, (chip.id, d)


def test_required_chips_present_in_file_order():
    ids = [c.id for c in all_chips()]
    for cid in (
        "a100-sxm4-80gb",
        "a800-sxm4",
        "h100-sxm",
        "h100-pcie",
        "h800-sxm",
        "h20",
        "h200-sxm",
        "h200-nvl",
        "b200",
        "b300",
        "gb200",
        "rtx-pro-6000-server",
        "rtx-pro-6000d",
        "l20",
        "l40s",
        "ascend-910b",
        "ascend-910c",
        "mlu590",
        "b20",
        "b30a",
    ):
        assert cid in ids
    assert ids[0] == "a100-sxm4-80gb"
    assert load_chips() is load_chips()  # default file cached


def test_confidence_levels():
    assert get_chip("h100-sxm").confidence == "official"
    assert get_chip("h20").confidence == "reported"
    assert get_chip("rtx-pro-6000-server").confidence == "estimated"  # bf16 estimated from FP4
    assert get_chip("b20").confidence is None  # nothing known


# ------------------------------------------------------------------------------------------ export controls


def test_bits():
    assert dict(BITS) == {
        "fp64": 64,
        "fp32": 32,
        "tf32": 32,
        "bf16": 16,
        "fp16": 16,
        "fp8": 8,
        "fp4": 4,
        "int8": 8,
    }


@pytest.mark.parametrize(
    ("chip", "tpp", "pd", "tier"),
    [
        ("a100-sxm4-80gb", 4992.0, 6.04, "3A090.a"),
        ("h100-sxm", 15831.2, 19.45, "3A090.a"),
        ("h200-sxm", 15831.2, 19.45, "3A090.a"),
        ("h20", 2368.0, 2.91, "none"),
        ("l20", 1913.6, 3.14, "none"),
        ("l40s", 5864.0, 9.63, "3A090.a"),
    ],
)
def test_tpp_pd_tier(chip, tpp, pd, tier):
    c = get_chip(chip)
    assert c.tpp == pytest.approx(tpp, rel=1e-6)
    assert c.performance_density == pytest.approx(pd, abs=0.006)
    assert c.eccn_3a090 == tier


def test_tpp_without_die_area():
    b200 = get_chip("b200")
    assert b200.tpp == pytest.approx(36000.0)
    assert b200.performance_density is None
    assert b200.eccn_3a090 == "3A090.a"  # TPP >= 4800 decides without PD
    mlu = get_chip("mlu590")
    assert mlu.tpp == pytest.approx(281 * 16)
    assert mlu.tpp_is_lower_bound and mlu.eccn_3a090 is None  # 1600 <= TPP < 4800, PD unknown
    assert get_chip("b20").tpp is None and get_chip("b20").eccn_3a090 is None


@pytest.mark.parametrize(
    ("tpp", "pd", "tier"),
    [
        (None, None, None),
        (4800.0, None, "3A090.a"),
        (4799.0, 1.0, "none"),
        (1599.0, None, "none"),
        (2000.0, None, None),
        (1600.0, 5.92, "3A090.a"),
        (1600.0, 5.91, "3A090.b"),
        (1600.0, 3.2, "3A090.b"),
        (1600.0, 3.19, "none"),
        (2400.0, 1.6, "3A090.b"),
        (2399.0, 1.6, "none"),
        (2400.0, 1.59, "none"),
        (2368.0, 2.91, "none"),
    ],
)
def test_eccn_thresholds(tpp, pd, tier):
    assert eccn_3a090(tpp, pd) == tier


# -------------------------------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("name", "chip_id"),
    [
        ("h200-sxm", "h200-sxm"),
        ("H200", "h200-sxm"),
        ("h200 sxm", "h200-sxm"),
        ("NVIDIA H200", "h200-sxm"),
        ("NVIDIA H200 NVL", "h200-nvl"),
        ("H200 NVL", "h200-nvl"),
        ("NVIDIA H100 80GB HBM3", "h100-sxm"),
        ("NVIDIA H100 PCIe", "h100-pcie"),
        ("h100-pcie", "h100-pcie"),
        ("NVIDIA A100-SXM4-80GB", "a100-sxm4-80gb"),
        ("NVIDIA H20", "h20"),
        ("NVIDIA B200", "b200"),
        ("NVIDIA L20", "l20"),
        ("ascend 910b", "ascend-910b"),
    ],
)
def test_lookup(name, chip_id):
    assert get_chip(name).id == chip_id


@pytest.mark.parametrize(
    "name",
    [
        "NVIDIA H100 NVL",
        "H100 NVL",
        "NVIDIA A100-PCIE-40GB",
        "NVIDIA A100-SXM4-40GB",
        "NVIDIA H800 PCIe",
        "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
        "H9000",
        "",
    ],
)
def test_unknown_or_other_sku_never_matches(name):
    with pytest.raises(UnknownChipError) as exc:
        get_chip(name)
    assert exc.value.name == name
    assert "unknown chip" in str(exc.value)


def test_candidates_are_close():
    with pytest.raises(UnknownChipError) as exc:
        get_chip("NVIDIA H100 NVL")
    assert {"h100-pcie", "h100-sxm", "h200-nvl"} <= set(exc.value.candidates)
    with pytest.raises(UnknownChipError) as exc:
        get_chip("b200x")
    assert exc.value.candidates[0] == "b200"


def test_names_unique_across_chips():
    db = load_chips()
    for chip in db:
        for label in (chip.id, chip.name, *chip.aliases, *chip.driver_names):
            assert db.get(label) is chip


# ------------------------------------------------------------------------------------------- match_device


def test_match_device_accepts_consistent_device():
    m = match_device("NVIDIA H100 80GB HBM3", sm_count=132, memory_gb=85.0)  # 79.6 GiB as torch reports
    assert m.ok and m.chip.id == "h100-sxm"
    assert "132 SMs agree" in m.reason


def test_match_device_rejects_pcie_sm_count_under_sxm_name():
    m = match_device("NVIDIA H100 80GB HBM3", sm_count=114)
    assert m.chip is None and "114" in m.reason and "132" in m.reason


def test_match_device_rejects_memory_of_another_sku():
    m = match_device("NVIDIA H100 80GB HBM3", memory_gb=100.5)  # an H100 NVL has 94 GB
    assert m.chip is None and "100.5 GB" in m.reason


def test_match_device_unknown_name_and_unknown_figures():
    m = match_device("NVIDIA H100 NVL", sm_count=132, memory_gb=100.0)
    assert m.chip is None and "closest" in m.reason
    m = match_device("NVIDIA H200 NVL", sm_count=132, memory_gb=150.0)
    assert m.ok and m.chip.id == "h200-nvl" and "not checked" in m.reason
    with pytest.raises(ValueError):
        match_device("NVIDIA H20", memory_gb=-1)


# --------------------------------------------------------------------------------------------- spec ratios


def test_spec_ratios_h200_over_h20():
    r = {x.basis: x for x in spec_ratios("h200-sxm", "h20")}
    assert list(r) == ["bf16", "fp8", "tpp", "bandwidth", "memory", "interconnect"]
    assert r["bf16"].ratio == pytest.approx(989.4 / 148)
    assert r["fp8"].ratio == pytest.approx(1978.9 / 296)
    assert r["tpp"].ratio == pytest.approx(15831.2 / 2368)
    assert r["bandwidth"].ratio == pytest.approx(1.2)
    assert r["memory"].ratio == pytest.approx(141 / 96)
    assert r["interconnect"].ratio == pytest.approx(1.0)
    assert all(x.reason is None for x in r.values())


def test_spec_ratios_reasons():
    r = {x.basis: x for x in spec_ratios(get_chip("a100-sxm4-80gb"), "l20")}
    assert r["fp8"].ratio is None and r["fp8"].reason == "fp8 unsupported on a100-sxm4-80gb"
    assert r["fp8"].b_value == 239.0
    assert r["interconnect"].ratio is None and "l20" in r["interconnect"].reason
    assert r["bf16"].ratio == pytest.approx(312 / 119.5)
    r = {x.basis: x for x in spec_ratios("b20", "h20")}
    assert r["bf16"].reason == "bf16 unknown on b20"
    assert r["interconnect"].reason == "interconnect unknown on b20"
    with pytest.raises(ValueError, match="basis"):
        spec_ratios("h20", "h20", bases=("fp6",))
    with pytest.raises(UnknownChipError):
        spec_ratios("h20", "H9000")


# -------------------------------------------------------------------------------------- malformed files

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


def test_peak_clock_is_the_clock_behind_the_tensor_peak():
    """H100/H200 tensor peaks are computed at 1830 MHz, not the 1980 MHz boost: clock-aware efficiency needs it."""
    from gpucompare.specs import get_chip

    h100 = get_chip("h100-sxm")
    assert h100.boost_clock_mhz == 1980 and h100.peak_clock_mhz == 1830
    # the tensor peak is SMs x 4096 dense bf16 FLOP/clk x peak clock (to 0.1 %)
    assert abs(h100.sm_count * 4096 * h100.peak_clock_mhz * 1e6 / 1e12 - h100.peak_tflops["bf16"]) < 1.0
    assert get_chip("h20").peak_clock_mhz is None  # capped peaks: no clock implied, never guessed
