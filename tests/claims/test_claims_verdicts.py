"""Verdicts on spec bases: the packaged claims, verdicts that flip when the specs change, each kind."""

from __future__ import annotations

import dataclasses
import json

import pytest
from claims_helpers import SIX, by_basis, one_claim
from support import make_chip, make_db

from gpucompare.claims import STATUSES, VERDICTS, check_all, check_claim, load_claims
from gpucompare.dtypes import DTYPES
from gpucompare.specs import load_chips


def test_every_claim_checks_with_valid_statuses():
    results = check_all()
    assert len(results) == len(load_claims())
    for r in results:
        assert r.status in STATUSES
        assert all(v.verdict in VERDICTS for v in r.verdicts)
        json.dumps(r.to_dict())  # JSON-ready
    assert [r.id for r in results] == [r.id for r in check_all()]  # deterministic order


# ---------------------------------------------------------------------------------------------------------
# "Almost six times": holds for compute, not for memory-bound work
# ---------------------------------------------------------------------------------------------------------
def test_h200_vs_h20_spec_verdicts(claims):
    """Judged on compute (6.7×, reproduced); bandwidth, memory, interconnect are the caveat, in the same
    sentence, never a failure."""
    res = check_claim(claims[SIX])
    v = by_basis(res)
    for basis in ("spec:bf16", "spec:fp8", "spec:tpp"):
        assert v[basis].ratio == pytest.approx(6.7, abs=0.05)
        assert v[basis].verdict == "reproduced"
        assert "understates" in v[basis].detail
    assert v["spec:bandwidth"].ratio == pytest.approx(1.2, abs=0.01)
    assert v["spec:memory"].ratio == pytest.approx(1.47, abs=0.01)
    assert v["spec:interconnect"].ratio == pytest.approx(1.0, abs=1e-9)
    for basis in ("spec:bandwidth", "spec:memory", "spec:interconnect"):
        assert v[basis].verdict == "context"
    assert res.status == "reproduced"
    judged, _, caveat = res.verdict.partition("; caveat, not judged: ")
    assert judged.startswith("reproduced: compute") and "bf16 6.69×" in judged
    assert caveat.startswith("memory bandwidth (memory-bound work): 1.20×")
    assert "memory-bound work (LLM decode) sees a far smaller gap" in caveat
    assert "6.69" in res.detail and "understates" in res.detail


def _db_with_h20_bf16(bf16: float):
    """The packaged chips, except that the H20's bf16 (and fp16) peak is ``bf16``."""
    chips = []
    for c in load_chips():
        if c.id == "h20":
            c = dataclasses.replace(c, peak_tflops={**c.peak_tflops, "bf16": bf16, "fp16": bf16})
        chips.append(c)
    return make_db(*chips)


def test_verdict_flips_when_h20_bf16_changes():
    db = _db_with_h20_bf16(400)
    claims = {c.id: c for c in load_claims(db=db)}
    res = check_claim(claims[SIX], db=db)
    v = by_basis(res)
    assert v["spec:bf16"].ratio == pytest.approx(989.4 / 400, rel=0.01)
    assert v["spec:bf16"].verdict == "refuted"
    assert v["spec:tpp"].verdict == "refuted"  # TPP = 400 × 16 now
    assert v["spec:fp8"].verdict == "reproduced"  # unchanged
    assert res.status == "partial"
    # 400 × 16 = 6,400 TPP is in 3A090.a: the H20's own part of "the only one without a licence" fails too.
    only = check_claim(claims["h20-only-chip-without-licence"], db=db)
    assert only.status == "refuted" and "the h20 part fails" in only.verdict


# ---------------------------------------------------------------------------------------------------------
# Other kinds, on the packaged claims
# ---------------------------------------------------------------------------------------------------------
def test_cut_down_h100_holds_on_compute_only(claims):
    """Same GH100 die, compute cut to 0.15×: reproduced; the upgraded memory is the caveat, not a failure."""
    res = check_claim(claims["h20-cut-down-h100"])
    v = by_basis(res)
    assert (
        v["spec:bf16"].ratio == pytest.approx(148 / 989.4, rel=0.01)
        and v["spec:bf16"].verdict == "reproduced"
    )
    assert v["spec:bandwidth"].ratio > 1 and v["spec:bandwidth"].verdict == "context"
    assert v["spec:memory"].ratio > 1 and v["spec:memory"].verdict == "context"
    assert v["attr:die_area_mm2"].verdict == "reproduced"
    assert res.status == "reproduced"
    assert "bf16 0.15×" in res.verdict and "not judged (context): memory bandwidth" in res.verdict


def test_regulatory_claims_say_policy_not_specs(claims):
    res = check_claim(claims["a100-h100-controlled-but-not-h200"])
    assert res.status == "policy"
    assert res.verdict.startswith("policy, not specs")
    assert "3A090.a" in res.verdict and "h100-sxm" in res.verdict
    assert check_claim(claims["h200-above-performance-threshold"]).status == "reproduced"
    band = {
        v.pair[0]: v
        for v in check_claim(claims["blackwell-barred-h200-allowed"]).verdicts
        if v.basis == "eccn:case-by-case"
    }
    assert band["h200-sxm"].verdict == "reproduced" and band["b200"].verdict == "reproduced"


def test_rank_and_ordering(claims):
    """Per generation: Blackwell first, Hopper second with the H200 its top part; per-chip ranks are
    context (the Blackwell parts sit above the H200), never a failure."""
    res = check_claim(claims["h200-second-most-powerful-nvidia"])
    v = by_basis(res)
    assert v["rank:bf16"].value > 2 and v["rank:bf16"].verdict == "context"
    assert "b200" in v["rank:bf16"].detail
    for basis in ("bf16", "fp8", "tpp"):
        gen = v[f"rank:generation-{basis}"]
        assert gen.value == 2 and gen.verdict == "reproduced" and "1. Blackwell" in gen.detail
        assert "h200-sxm" in gen.detail and "tops Hopper" in gen.detail
    assert res.status == "reproduced" and "per chip: bf16 rank 4" in res.verdict
    older = check_claim(claims["a100-h100-older-less-powerful-than-h200"])
    vs_h100 = by_basis(older, ("h200-sxm", "h100-sxm"))
    assert vs_h100["spec:bf16"].verdict == "refuted"  # same compute as the H100
    assert vs_h100["spec:bandwidth"].verdict == "context"  # ahead on bandwidth: the caveat
    assert vs_h100["attr:launch_year"].verdict == "reproduced"
    vs_a100 = by_basis(older, ("h200-sxm", "a100-sxm4-80gb"))
    assert vs_a100["spec:fp8"].verdict == "reproduced" and vs_a100["spec:fp8"].ratio is None  # A100: no fp8
    assert older.status == "partial"


def test_qualitative_and_count(claims):
    assert check_claim(claims["h20-capable-at-inference"]).status == "reproduced"
    fleet = check_claim(claims["deepseek-30000-h20"])
    f = by_basis(fleet)
    assert fleet.status == "context"
    assert f["fleet:bf16"].value == pytest.approx(30000 * 148)
    assert f["fleet:bandwidth"].value == pytest.approx(30000 * 4.0)
    assert f["fleet:bf16-in-h100-sxm"].value == pytest.approx(30000 * 148 / 989.4, rel=0.01)
    assert f["fleet:memory-in-h100-sxm"].value == pytest.approx(30000 * 96 / 80, rel=0.01)
    assert check_claim(claims["disclosure-over-500-chips"]).status == "context"


def test_launch_year_claim_is_refuted(claims):
    res = check_claim(claims["h20-created-2022"])
    assert res.status == "refuted" and "2024" in res.verdict


# ---------------------------------------------------------------------------------------------------------
# Synthetic chips: the rules on figures chosen here
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def toy_db():
    return make_db(
        make_chip("big", {"bf16": 600.0}, 6.0, architecture="Nova", launch_year=2025),
        make_chip("mid", {"bf16": 200.0}, 3.0, architecture="Nova Lite", launch_year=2024),
        make_chip("old", {"bf16": 100.0}, 2.0, architecture="Orion", launch_year=2020),
        make_chip("other", {"bf16": 900.0}, 8.0, vendor="Acme", launch_year=2025),
    )


def _one(tmp_path, db, chips: str, relation: str):
    p = tmp_path / "claims.toml"
    p.write_text(one_claim(chips, relation), encoding="utf-8")
    (c,) = load_claims(p, db=db)
    return check_claim(c, db=db)


def test_ordering_than_all_iterates_the_database(tmp_path, toy_db):
    res = _one(
        tmp_path,
        toy_db,
        '["big"]',
        'kind = "ordering"\na = "big"\nthan = "all"\nmin_ratio = 2.0\nbases = ["bf16", "launch_year"]\n',
    )
    v = {(e.basis, e.pair[1]): e for e in res.verdicts}
    assert {b for _, b in v} == {"mid", "old", "other"}
    assert v["spec:bf16", "mid"].ratio == pytest.approx(3.0) and v["spec:bf16", "mid"].verdict == "reproduced"
    assert v["spec:bf16", "other"].verdict == "refuted"
    assert v["attr:launch_year", "other"].verdict == "refuted"  # same year, strict
    assert res.status == "partial"


def test_rank_counts_the_vendors_chips_and_generations(tmp_path, toy_db):
    res = _one(tmp_path, toy_db, '["mid"]', 'kind = "ordering"\na = "mid"\nrank = 2\nbases = ["bf16"]\n')
    v = by_basis(res)
    assert v["rank:bf16"].value == 2 and v["rank:bf16"].verdict == "reproduced"  # Acme's chip not counted
    assert v["rank:generation-bf16"].value == 1 and v["rank:generation-bf16"].verdict == "context"
    assert res.status == "reproduced"
    # Per generation: Nova ranks 1 (not 2), and "mid" is not Nova's top part anyway.
    gen = _one(tmp_path, toy_db, '["mid"]', 'kind = "ordering"\na = "mid"\nrank = 1\nper = "generation"\n')
    g = by_basis(gen)
    assert (
        g["rank:generation-bf16"].verdict == "refuted"
        and "does not top Nova" in g["rank:generation-bf16"].detail
    )
    assert g["rank:bf16"].verdict == "context"
    # Per family: Nova ranks 1, "mid" a member of it: holds.
    rel = 'kind = "ordering"\na = "mid"\nrank = 1\nper = "family"\n'
    fam = _one(tmp_path, toy_db, '["mid"]', rel + 'bases = ["bf16"]\n')
    assert by_basis(fam)["rank:generation-bf16"].verdict == "reproduced" and fam.status == "reproduced"
    # Every basis (fp8, TPP, interconnect unknown on the toy chips): holding where known is not "reproduced".
    every = _one(tmp_path, toy_db, '["mid"]', rel)
    assert every.status == "unknown" and every.verdict.startswith("holds where figures exist: ")


def test_classification_less_on_same_and_expect(tmp_path, toy_db):
    res = _one(
        tmp_path,
        toy_db,
        '["old", "mid"]',
        'kind = "classification"\na = "old"\nof = "mid"\nless_on = ["bf16", "launch_year"]\n'
        'same = ["bandwidth"]\nexpect = { launch_year = 2020 }\n',
    )
    v = by_basis(res)
    assert v["spec:bf16"].verdict == "reproduced" and v["attr:launch_year"].verdict == "reproduced"
    assert v["spec:bandwidth"].verdict == "refuted"  # 2 vs 3 TB/s is not "the same"
    assert res.status == "partial"


def test_regulatory_tier_from_the_peaks(tmp_path):
    db = make_db(
        make_chip("hot", {"fp16": 300.0}, 3.0, die_area_mm2=800.0),  # TPP 4,800: 3A090.a
        # TPP 800: outside (its other dtypes unsupported, so no unknown peak could lift the tier)
        make_chip("cool", {"fp16": 50.0}, 1.0, die_area_mm2=800.0, unsupported=set(DTYPES) - {"fp16"}),
    )
    res = _one(
        tmp_path,
        db,
        '["hot", "cool"]',
        'kind = "regulatory"\nstatus = { hot = "uncontrolled", cool = "uncontrolled" }\n',
    )
    v = {e.pair[0]: e for e in res.verdicts}
    assert v["hot"].verdict == "refuted" and "3A090.a" in v["hot"].detail
    assert v["cool"].verdict == "reproduced"
    assert res.status == "partial"
