"""Export-control metrics: bit lengths, TPP, performance density and the ECCN 3A090 tier."""

from __future__ import annotations

import pytest
from support import make_chip

from gpucompare.specs import BITS, eccn_3a090, eccn_3a090_between, get_chip


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


# ------------------------------------------------- lower-bound TPP, "≥", Note 2 (issue 10, matcher and tiers)


def _chip(peaks, *, unsupported=(), bounds=None, area=None, market="datacenter"):
    """A chip whose undeclared dtypes are unknown (unbounded unless ``bounds`` names them)."""
    return make_chip(
        "x", peaks, None, unsupported=unsupported, die_area_mm2=area, peak_bounds=bounds or {}, market=market
    )


ALL_BUT = ("fp64", "fp32", "tf32", "fp16", "fp8", "fp4", "int8")


def test_lower_bound_tpp_below_a_threshold_does_not_decide_none():
    # bf16 90 -> TPP >= 1,440 < 1,600, but the unknown peaks could push it over: undecided, not "none"
    assert _chip({"bf16": 90}).eccn_3a090 is None
    # every other dtype unsupported: the TPP is exact and the tier is decided
    assert _chip({"bf16": 90}, unsupported=ALL_BUT).eccn_3a090 == "none"


def test_lower_bound_pd_does_not_decide_b_when_a_is_reachable():
    # TPP >= 2,560 on 500 mm^2: PD 5.12 -> "3A090.b" at the lower bound, but could reach PD >= 5.92
    assert eccn_3a090(2560, 2560 / 500) == "3A090.b"
    assert _chip({"bf16": 160}, area=500).eccn_3a090 is None
    # bounded so that TPP <= 2,880 (PD 5.76): every TPP in the range is "3A090.b"
    bounds = {"fp64": 40, "fp32": 90, "tf32": 90, "fp16": 160, "fp8": 360, "int8": 360, "fp4": 720}
    chip = _chip({"bf16": 160}, bounds=bounds, area=500)
    assert chip.tpp_upper == pytest.approx(2880) and chip.eccn_3a090 == "3A090.b"


def test_lower_bound_at_or_above_4800_decides_a():
    assert _chip({"fp8": 700}).eccn_3a090 == "3A090.a"  # 5,600 with unknown peaks: only higher
    assert get_chip("ascend-910c").tpp_is_lower_bound and get_chip("ascend-910c").eccn_3a090 == "3A090.a"


def test_ge_sign_dropped_only_when_unknown_peaks_cannot_change_the_maximum():
    from gpucompare import console
    from gpucompare.commands.specs import table as specs_table

    bounded = _chip(
        {"bf16": 300, "fp8": 600}, bounds={d: 10 for d in ("fp64", "fp32", "tf32", "fp16", "int8", "fp4")}
    )
    assert bounded.tpp == 4800 and not bounded.tpp_is_lower_bound  # 10 x 64 = 640 < 4,800
    assert _chip({"bf16": 300, "fp8": 600}, bounds={"fp64": 100}).tpp_is_lower_bound  # others unbounded
    assert _chip({"bf16": 300}, bounds={d: 100 for d in ALL_BUT}).tpp_is_lower_bound  # 100 x 64 > 4,800
    table = console.render(*specs_table([get_chip("h800-sxm"), get_chip("ascend-910c")]))
    assert "≥15,831" not in table and "15,831" in table and "≥12,800" in table


@pytest.mark.parametrize(
    ("market", "peaks", "area", "tier"),
    [
        ("non-datacenter", {"bf16": 160}, 400, "none"),  # TPP 2,560, PD 6.4: Note 2 lifts "3A090.a"
        ("datacenter", {"bf16": 160}, 400, "3A090.a"),
        (None, {"bf16": 160}, 400, None),  # market unknown: Note 2 could apply
        (None, {"bf16": 90}, 400, "none"),  # below 1,600: outside 3A090 whatever the market
        ("non-datacenter", {"bf16": 330}, 400, "3A090.a"),  # TPP >= 4,800: Note 2 does not apply
    ],
)
def test_note_2_applies_where_the_market_is_known(market, peaks, area, tier):
    assert _chip(peaks, unsupported=ALL_BUT, area=area, market=market).eccn_3a090 == tier


def test_eccn_3a090_between_is_monotonic_in_tpp():
    assert eccn_3a090_between(2000, 2300, None) is None  # PD unknown in 1,600-4,800
    assert eccn_3a090_between(5000, None, None) == "3A090.a"
    assert eccn_3a090_between(1000, 1500, None) == "none"
    assert eccn_3a090_between(1000, None, None) is None
    assert eccn_3a090_between(None, None, 800) is None
