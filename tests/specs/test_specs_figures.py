"""Figures of the packaged chip database: dense peaks, memory and links, unknown vs unsupported, a source and
a confidence for every figure, the clock behind the tensor peaks."""

from __future__ import annotations

import pytest

from gpucompare.specs import CONFIDENCES, DTYPES, all_chips, get_chip, load_chips, match_device


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


# ------------------------------------------------------------------------ figures corrected for issue 10
# One test per class of figure; each fails if the figure, its source or its kind regresses.


def test_derived_figure_l20_fp32_is_sm_times_lanes_times_clock():
    """Derived figure: L20 FP32 = 92 SMs x 128 lanes x 2 FLOP x 2.52 GHz; 59.8 is the TF32 tensor figure."""
    l20 = get_chip("l20")
    derived = l20.sm_count * 128 * 2 * l20.boost_clock_mhz * 1e6 / 1e12
    assert l20.peak("fp32") == pytest.approx(59.35) == pytest.approx(derived, abs=0.01)
    assert l20.peak("tf32") == pytest.approx(59.8)
    assert "92 SMs" in l20.sources["peaks.fp32"].note
    assert l20.tpp == pytest.approx(59.8 * 32)  # tf32 still gives the TPP: 1,913.6


def test_aggregate_figure_b200_tf32_is_hgx_total_over_eight_halved():
    """Per-GPU figure from a baseboard total: HGX B200 TF32 18 PF sparse / 8 / 2 = 1,125 (half of bf16)."""
    b200 = get_chip("b200")
    assert b200.peak("tf32") == pytest.approx(18_000 / 8 / 2) == pytest.approx(b200.peak("bf16") / 2)
    assert b200.sources["peaks.tf32"].source_id == "nvidia-hgx"
    assert b200.sources["peaks.tf32"].confidence == "official"


def test_conflicting_sources_b300_and_gb200_say_which_wins():
    b300 = get_chip("b300")
    assert b300.bandwidth_tbps == pytest.approx(7.7) and b300.memory_gb == 270
    assert "wins" in b300.sources["bandwidth_tbps"].note
    assert (b300.peak("fp64"), b300.peak("fp32"), b300.peak("int8"), b300.peak("fp4")) == (
        1.25,
        75,
        125,
        13500,
    )
    assert b300.sources["peaks.tf32"].source_id == "nvidia-hgx"
    gb200 = get_chip("gb200")
    assert (gb200.peak("fp64"), gb200.peak("fp32"), gb200.peak("fp4"), gb200.peak("int8")) == (
        40,
        80,
        10000,
        5000,
    )
    assert "wins" in gb200.sources["peaks.fp64"].note


def test_unsupported_by_vendor_statement_ascend_fp8_fp4():
    """Huawei: FP8/MXFP4 arrive with the Ascend 950, so the 910B/910C lack them (unsupported, not unknown)."""
    for cid in ("ascend-910b", "ascend-910c"):
        chip = get_chip(cid)
        for d in ("fp8", "fp4"):
            assert chip.peak_status(d) == "unsupported", (cid, d)
            assert chip.sources[f"peaks.{d}"].source_id == "huawei-connect-2025-keynote"
        assert chip.peak_status("int8") == "unknown"  # supported, rate not published


def test_vendor_figure_ascend_910c_fp16_and_link():
    c = get_chip("ascend-910c")
    assert c.peak("fp16") == pytest.approx(800) == pytest.approx(307_200 / 384)
    assert c.sources["peaks.fp16"].source_id == "huawei-connect-2025-keynote"
    assert c.sources["peaks.fp16"].confidence == "official"
    assert c.interconnect_gbps == 784 and c.sources["interconnect_gbps"].source_id == "huawei-atlas-900-a3"
    assert c.peak("bf16") == pytest.approx(780)  # SemiAnalysis; Huawei publishes FP16 only
    assert c.tpp == pytest.approx(800 * 16)


def test_ascend_910b_entry_states_which_part_it_is():
    c = get_chip("ascend-910b")
    assert "not one SKU" in c.notes and "910B4" in c.notes
    assert c.peak("fp16") == 320


def test_estimated_figure_says_how_mlu590():
    src = get_chip("mlu590").sources["peaks.bf16"]
    assert src.confidence == "estimated" and "4,493 / 16" in src.note


def test_bounded_unknown_h800_fp64():
    h800 = get_chip("h800-sxm")
    assert h800.peak_status("fp64") == "unknown" and h800.peak_bounds["fp64"] == 67
    assert h800.tpp_upper == pytest.approx(h800.tpp) and not h800.tpp_is_lower_bound


def test_driver_names_from_real_devices():
    assert match_device("NVIDIA B300 SXM6 AC").chip.id == "b300"
    assert get_chip("b300").sm_count is None  # 148 reported, no citable device report: not guessed
    assert get_chip("h20").sm_count == 78 and get_chip("h20").sources["sm_count"].confidence == "reported"


def test_amd_mi300x_and_mi308x():
    mi300x = get_chip("MI300X")
    assert (mi300x.peak("bf16"), mi300x.peak("fp8"), mi300x.memory_gb, mi300x.bandwidth_tbps) == (
        1307.4,
        2614.9,
        192,
        5.3,
    )
    assert mi300x.peak_status("fp4") == "unsupported" and mi300x.eccn_3a090 == "3A090.a"
    mi308 = get_chip("MI308")
    assert mi308.id == "mi308x" and mi308.vendor == "AMD" and mi308.market == "datacenter"
    assert all(mi308.peak_status(d) == "unknown" for d in DTYPES if d != "fp4")
    assert mi308.tpp is None and mi308.eccn_3a090 is None


def test_every_chip_states_its_market_with_a_source():
    for chip in all_chips():
        assert "market" in chip.sources, chip.id
        assert chip.market in ("datacenter", "non-datacenter", None)


def test_open_questions_list_what_stays_unknown():
    text = " ".join(load_chips().meta["open_questions"])
    for words in ("H800 SXM fp64", "MI308X", "MLU590", "910B", "B300", "GB200", "H20-3e", "GH200"):
        assert words in text, words
