"""Figures of the packaged chip database: dense peaks, memory and links, unknown vs unsupported, a source and
a confidence for every figure, the clock behind the tensor peaks."""

from __future__ import annotations

import pytest

from gpucompare.specs import CONFIDENCES, DTYPES, all_chips, get_chip, load_chips


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


def test_peak_clock_is_the_clock_behind_the_tensor_peak():
    """H100/H200 tensor peaks are computed at 1830 MHz, not the 1980 MHz boost: clock-aware efficiency needs it."""
    h100 = get_chip("h100-sxm")
    assert h100.boost_clock_mhz == 1980 and h100.peak_clock_mhz == 1830
    # the tensor peak is SMs x 4096 dense bf16 FLOP/clk x peak clock (to 0.1 %)
    assert abs(h100.sm_count * 4096 * h100.peak_clock_mhz * 1e6 / 1e12 - h100.peak_tflops["bf16"]) < 1.0
    assert get_chip("h20").peak_clock_mhz is None  # capped peaks: no clock implied, never guessed
