"""Lookup that never confuses SXM / PCIe / NVL parts, close candidates, and the runtime device matcher."""

from __future__ import annotations

import pytest

from gpucompare.errors import UnknownChipError
from gpucompare.specs import get_chip, load_chips, match_device


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


# ---------------------------------------------------------------- runtime matcher rules (issue 10)


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("NVIDIA H100 80GB HBM3 MIG 1g.10gb", "h100-sxm"),
        ("NVIDIA H100 80GB HBM3 MIG 3g.40gb", "h100-sxm"),
        ("NVIDIA A100-SXM4-80GB MIG 7g.80gb", "a100-sxm4-80gb"),
        ("NVIDIA H200 MIG 1g.18gb+me", "h200-sxm"),
        ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "'NVIDIA A100-SXM4-40GB' (not in the database)"),
    ],
)
def test_mig_instance_gets_its_own_message(name, parent):
    m = match_device(name, sm_count=14, memory_gb=10.0)
    assert m.chip is None
    assert "MIG instance" in m.reason and f"of {parent}" in m.reason and "not the chip's" in m.reason


@pytest.mark.parametrize(
    ("alias", "chip_id", "sms", "gb"),
    [
        ("A100", "a100-sxm4-80gb", 108, 85.0),
        ("H100", "h100-sxm", 132, 85.0),
        ("A800", "a800-sxm4", 108, 85.0),
        ("H800", "h800-sxm", 132, 85.0),
    ],
)
def test_bare_alias_needs_sm_count_and_memory_at_run_time(alias, chip_id, sms, gb):
    assert get_chip(alias).id == chip_id  # the static lookup keeps the alias
    for kwargs in ({}, {"sm_count": sms}, {"memory_gb": gb}):
        m = match_device(alias, **kwargs)
        assert m.chip is None and "driver name" in m.reason and "missing" in m.reason, kwargs
    assert match_device(alias, sm_count=sms, memory_gb=gb).chip.id == chip_id
    assert match_device(alias, sm_count=114, memory_gb=gb).chip is None  # a PCIe SM count


def test_bare_alias_of_a_chip_without_sm_count_is_not_resolved():
    m = match_device("H200 NVL", sm_count=132, memory_gb=150.0)
    assert m.chip is None and "does not know" in m.reason
    assert match_device("NVIDIA H200 NVL").chip.id == "h200-nvl"  # the driver name needs no properties


def test_driver_names_resolve_without_properties():
    for name, cid in (
        ("NVIDIA H100 80GB HBM3", "h100-sxm"),
        ("NVIDIA H20", "h20"),
        ("NVIDIA A800-SXM4-80GB", "a800-sxm4"),
    ):
        assert match_device(name).chip.id == cid


def test_candidates_rank_same_family_first():
    cands = load_chips().candidates("NVIDIA GeForce RTX 4090")
    assert cands and cands[0].startswith("rtx-")
    assert not {"h100-sxm", "h200-sxm", "b200"} & set(cands)
    assert set(load_chips().candidates("H100 NVL")[:2]) == {"h100-sxm", "h100-pcie"}
    assert set(load_chips().candidates("NVIDIA H100 NVL")[:2]) == {"h100-sxm", "h100-pcie"}
    assert load_chips().candidates("Ascend 910")[:2] == ["ascend-910b", "ascend-910c"]
    m = match_device("NVIDIA GeForce RTX 4090", sm_count=128, memory_gb=25.8)
    assert m.chip is None and "closest: rtx-" in m.reason


def test_get_of_a_mig_name_says_mig_and_why_names_shared_parts():
    db = load_chips()
    with pytest.raises(UnknownChipError, match=r"MIG instance \(3g\.40gb\) of h100-sxm"):
        db.get("NVIDIA H100 80GB HBM3 MIG 3g.40gb")
    assert db.why("H20") is None and db.why("NVIDIA H100 PCIe") is None and db.why("no such chip") is None
    why = db.why("H100")
    assert why is not None and "alias of h100-sxm" in why and "h100-pcie" in why
