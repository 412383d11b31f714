"""Implementation families: a library native to one architecture is another family on a chip of another one
(FlashAttention-3's Ampere build is not its Hopper kernel), in the evidence and in validation."""

from __future__ import annotations

import dataclasses

from gpucompare.model.evidence import family_key, from_entry
from gpucompare.model.loco import validate_ledger
from gpucompare.specs import load_chips
from gpucompare.specs.published import load_published


def test_family_key_splits_a_native_library_by_architecture():
    assert family_key("flashattention-3", "Hopper") == "flashattention-3"
    assert family_key("flashattention-3", "Ampere") == "flashattention-3 (Ampere path)"
    assert family_key("flashattention-4", "Blackwell Ultra") == "flashattention-4"
    assert family_key("flashattention-4", "Hopper") == "flashattention-4 (Hopper path)"
    # a portable library, or a chip of unknown architecture, keeps its name
    assert family_key("flashinfer", "Ampere") == "flashinfer"
    assert family_key("flashattention-3", None) == "flashattention-3"


def test_an_a800_fa3_figure_is_its_own_family():
    db = load_chips()
    by_id = {e.id: e for e in load_published()}
    a800 = from_entry(by_id["attntests-a800-sxm4-fa3-mha-b16-L32000"], db)
    h100 = from_entry(by_id["attntests-h100-pcie-fa3-mha-b16-L32000"], db)
    assert a800.implementation == "flashattention-3 (Ampere path)"
    assert h100.implementation == "flashattention-3"


def test_the_ampere_path_never_predicts_the_hopper_kernel():
    """Make every A800 FlashAttention-3 figure tenfold: no prediction of a Hopper FA3 figure moves (before the
    rule, the H100 PCIe FA3 decode figures were predicted from the A800's, 56-58 % off)."""
    entries = load_published()
    rows = {r.id: r for r in validate_ledger(entries)}
    changed = [
        dataclasses.replace(e, value=e.value * 10)
        if e.chip == "a800-sxm4" and e.implementation == "flashattention-3"
        else e
        for e in entries
    ]
    again = {r.id: r for r in validate_ledger(changed)}
    hopper_fa3 = [
        r for r in rows.values() if r.implementation == "flashattention-3" and r.chip != "a800-sxm4"
    ]
    assert hopper_fa3
    for r in hopper_fa3:
        assert again[r.id].predicted == r.predicted, r.id
