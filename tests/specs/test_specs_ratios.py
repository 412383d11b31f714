"""Spec ratios between two chips, with the reason when a basis has no value."""

from __future__ import annotations

import pytest

from gpucompare.errors import UnknownChipError
from gpucompare.specs import get_chip, spec_ratios


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
