"""Export-control metrics: bit lengths, TPP, performance density and the ECCN 3A090 tier."""

from __future__ import annotations

import pytest

from gpucompare.specs import BITS, eccn_3a090, get_chip


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
