"""Issue 21's readings, one test each: the verdict scoped as an expert would scope it, with its numbers, and
a change of figures (or of rule) that would flip it, so a test fails if the reading drifts."""

from __future__ import annotations

import dataclasses

import pytest
from claims_helpers import SIX, by_basis, check_id, patched_db

from gpucompare.claims import check_claim, load_claims
from gpucompare.claims.verdicts import TIE_BAND, tie

DATA_CENTRE, CONSUMER = "data-centre parts", "consumer parts sold in China"


def _entries(res):
    return {(e.basis, e.pair[-1]): e for e in res.verdicts}


# -- 1. h20-most-advanced-legally-exportable -----------------------------------------------------------------
def test_most_advanced_exportable_holds_only_for_data_centre_parts():
    res = check_id("h20-most-advanced-legally-exportable")
    e = _entries(res)
    assert {x.pair[1] for x in res.verdicts} == {"l20", "rtx-pro-6000d", "mi308x", "rtx-4090d", "rtx-5090d"}
    assert e["spec:tpp", "l20"].verdict == "reproduced" and e["spec:tpp", "l20"].group.startswith(DATA_CENTRE)
    assert (
        e["spec:bf16", "mi308x"].verdict == "unknown" and e["spec:bf16", "rtx-pro-6000d"].verdict == "unknown"
    )
    # The RTX 4090 D: TPP 4,707 (int8 588.4 x 8), twice the H20's 2,368; bf16 equal within the tie band.
    tpp = e["spec:tpp", "rtx-4090d"]
    assert tpp.b_value == pytest.approx(4707, abs=1) and tpp.ratio == pytest.approx(2368 / 4707, rel=1e-3)
    assert tpp.verdict == "refuted" and tpp.group.startswith(CONSUMER)
    assert (
        e["spec:bf16", "rtx-4090d"].verdict == "reproduced" and "(tie)" in e["spec:bf16", "rtx-4090d"].label
    )
    assert (
        e["spec:tpp", "rtx-5090d"].verdict == "refuted"
        and "TPP is a lower bound" in e["spec:tpp", "rtx-5090d"].label
    )
    assert res.status == "partial"
    holds, _, fails = res.verdict.partition("; not on ")
    assert (
        f"holds on {DATA_CENTRE}" in holds
        and fails.startswith(CONSUMER)
        and "tpp vs rtx-4090d 0.50×" in fails
    )
    assert "mi308x" in res.verdict and "rtx-pro-6000d" in res.verdict  # unknown, said so


def test_most_advanced_exportable_is_never_reproduced_while_comparisons_lack_figures():
    # Consumer parts below the H20 on every basis: the claim holds wherever a figure exists, but the
    # RTX Pro 6000D and MI308X have none, so it is "unknown", not "reproduced".
    low = {"bf16": 100.0, "fp16": 100.0, "fp8": 200.0, "int8": 200.0, "fp4": 200.0, "fp32": 50.0}
    res = check_id("h20-most-advanced-legally-exportable", patched_db(rtx_4090d=low, rtx_5090d=low))
    assert res.status == "unknown" and res.verdict.startswith("holds where figures exist: ")
    # With figures for them too (below the H20), it is reproduced.
    db = patched_db(rtx_4090d=low, rtx_5090d=low, rtx_pro_6000d=low, mi308x=low)
    assert check_id("h20-most-advanced-legally-exportable", db).status == "reproduced"


# -- 2. h200-training-unmatched-by-domestic: one rule with the inference-suitability claim ------------------
def test_training_and_inference_suitability_are_not_checkable_by_one_rule(claims):
    train, infer = (
        claims["h200-training-unmatched-by-domestic"],
        claims["domestic-chips-better-suited-to-inference"],
    )
    assert train.relation.capability and infer.relation.capability
    res = check_claim(train)
    assert res.status == "not-checkable" == check_claim(infer).status
    assert res.verdict.startswith("not checkable from specs: the ability to train as the sources mean it")
    assert all(e.verdict in ("context", "unknown") for e in res.verdicts)
    e = _entries(res)
    assert e["spec:tpp", "ascend-910c"].ratio == pytest.approx(15831 / 12800, rel=1e-3)  # 1.24x
    assert e["spec:bf16", "ascend-910c"].ratio == pytest.approx(989.4 / 780, rel=1e-3)  # 1.27x
    assert "tpp vs ascend-910c 1.24×" in res.verdict and "bf16 vs ascend-910c 1.27×" in res.verdict
    assert "ascend-910b's TPP is a lower bound" in res.verdict and "mlu590's bf16 is estimated" in res.verdict
    # The rule, not the margins, decides: judged on peaks, the same figures would "reproduce" the claim.
    judged = dataclasses.replace(train, relation=dataclasses.replace(train.relation, capability=False))
    assert (
        check_claim(judged).status == "unknown"
    )  # holds wherever a figure exists; the 910B's bf16 is unknown


# -- 3. a100-h100-older-less-powerful-than-h200: tie band, representative evidence ---------------------------
def _row(basis, ratio, group, **extra):
    return {
        "basis": basis,
        "ratio": ratio,
        "bound_a": "compute",
        "bound_b": "compute",
        "group": group,
        **extra,
    }


def _h100_rows(a, b):
    if b != "h100-sxm":
        return []
    return [
        _row("workload:gemm/M=4096,N=4096,K=4096/fp8", 1.03, "some-script"),
        _row("workload:gemm/M=16384,N=16384,K=16384/fp8", 0.99, "some-script"),
        _row("workload:attention_fwd/x/bf16", 0.95, "fa3-issue-1438"),
        _row(
            "workload:attention_bwd/x/bf16", 0.80, "other", representative=False, representative_why="a bug"
        ),
    ]


def test_tie_band_is_defined_once_and_symmetric():
    assert TIE_BAND == 0.05
    assert tie(1.03, 1.0) and tie(0.99, 1.0) and tie(0.95, 1.0) and not tie(1.06, 1.0) and not tie(0.94, 1.0)
    assert tie(1.95, 2.0) and not tie(1.85, 2.0)  # relative to the threshold a claim is judged against


def test_older_less_powerful_ties_with_the_h100_and_sets_unrepresentative_evidence_aside():
    res = check_id("a100-h100-older-less-powerful-than-h200", workload_ratios=_h100_rows)
    e = _entries(res)
    for basis in ("spec:bf16", "spec:fp8", "spec:tpp"):
        assert e[basis, "h100-sxm"].verdict == "refuted" and "(tie)" in e[basis, "h100-sxm"].label
        assert e[basis, "a100-sxm4-80gb"].verdict == "reproduced"
    # 1.03x and 0.99x: both ties, judged alike (not one "holds" and one "does not").
    fp8 = [
        e[f"workload:gemm/{s}/fp8", "h100-sxm"] for s in ("M=4096,N=4096,K=4096", "M=16384,N=16384,K=16384")
    ]
    assert [x.verdict for x in fp8] == ["refuted", "refuted"] and all("(tie)" in x.label for x in fp8)
    # The 0.95x attention pair of flash-attention issue #1438 (a regression report) is not judged.
    fa3 = e["workload:attention_fwd/x/bf16", "h100-sxm"]
    assert (
        fa3.verdict == "context" and "regression" in fa3.detail and fa3.group == "not representative evidence"
    )
    flagged = e["workload:attention_bwd/x/bf16", "h100-sxm"]
    assert flagged.verdict == "context" and "a bug" in flagged.detail
    assert res.status == "partial"
    # Flip: an H200 5 % faster than the tie band on fp8 is "more powerful" on that basis.
    faster = check_id("a100-h100-older-less-powerful-than-h200", patched_db(h200_sxm={"fp8": 1979 * 1.06}))
    assert _entries(faster)["spec:fp8", "h100-sxm"].verdict == "reproduced"


def test_the_claim_sets_aside_a_group_of_the_ledger(claims):
    rel = claims["a100-h100-older-less-powerful-than-h200"].relation
    assert "fa3-issue-1438" in rel.set_aside and "regression" in rel.set_aside["fa3-issue-1438"]


# -- 4. h20-fewer-cores-less-performant: one rule for memory-bound work, the cause checked -------------------
def _memory_rows(a, b):
    return [
        {"basis": "workload:gemm/big/bf16", "ratio": 0.18, "bound_a": "compute", "bound_b": "compute"},
        {
            "basis": "workload:decode_attention/x/bf16",
            "ratio": 1.22,
            "bound_a": "memory",
            "bound_b": "memory",
        },
    ]


def test_memory_bound_work_is_the_caveat_of_every_compute_claim(claims):
    cores = check_id("h20-fewer-cores-less-performant", workload_ratios=_memory_rows)
    six = check_claim(claims[SIX], workload_ratios=_memory_rows)
    for res in (cores, six):
        assert by_basis(res)["workload:decode_attention/x/bf16"].verdict == "context"
    assert by_basis(cores)["workload:gemm/big/bf16"].verdict == "reproduced"


def test_fewer_cores_does_not_explain_the_h20s_compute():
    res = check_id("h20-fewer-cores-less-performant")
    v = by_basis(res)
    assert v["attr:sm_count"].ratio == pytest.approx(78 / 132) and v["attr:sm_count"].verdict == "reproduced"
    assert v["spec:bf16"].ratio == pytest.approx(148 / 989.4, rel=1e-3)
    cause = v["cause:sm_count"]
    assert cause.verdict == "refuted"
    assert "h20 78 SMs vs h100-sxm 132 SMs is 0.59× while bf16 0.15×, fp8 0.15×, tpp 0.15×" in res.verdict
    assert "capped beyond its sm_count" in res.verdict
    assert res.status == "partial"
    # Flip: compute cut in line with the SMs (0.59x) would make the cores the cause.
    fair = {
        "bf16": 989.4 * 78 / 132,
        "fp16": 989.4 * 78 / 132,
        "fp8": 1979 * 78 / 132,
        "int8": 1979 * 78 / 132,
    }
    flipped = check_id("h20-fewer-cores-less-performant", patched_db(h20=fair))
    assert by_basis(flipped)["cause:sm_count"].verdict == "reproduced" and flipped.status == "reproduced"


# -- 5. rank claims: both readings, with the numbers ---------------------------------------------------------
def test_h200_second_most_powerful_per_generation_and_fourth_per_chip():
    res = check_id("h200-second-most-powerful-nvidia")
    v = by_basis(res)
    assert res.status == "reproduced" and "per generation: bf16 Hopper rank 2 (top part)" in res.verdict
    for basis in ("bf16", "fp8", "tpp"):
        chip = v[f"rank:{basis}"]
        assert chip.value == 4 and chip.verdict == "context"
        assert all(x in chip.label for x in ("gb200", "b200", "b300"))
    assert "per chip: bf16 rank 4 (behind gb200 2,500 TFLOP/s, b200 2,250 TFLOP/s, b300 2,250" in res.verdict
    # Flip of the per-chip reading: without the Blackwell parts above it, the H200 would rank first.
    low = {"bf16": 900.0, "fp16": 900.0, "fp8": 1800.0, "int8": 1800.0, "fp4": 1000.0}
    db = patched_db(b200=low, b300=low, gb200=low)
    assert by_basis(check_id("h200-second-most-powerful-nvidia", db))["rank:bf16"].value == 1


def test_b200_tops_blackwell_per_family_and_ranks_second_or_third_per_chip():
    res = check_id("blackwell-b200-most-powerful")
    v = by_basis(res)
    assert res.status == "reproduced" and "per family: bf16 Blackwell rank 1" in res.verdict
    assert v["rank:bf16"].value == 2 and "behind gb200 2,500 TFLOP/s; tied with b300" in v["rank:bf16"].label
    assert v["rank:tpp"].value == 3 and "behind b300 54,000, gb200 40,000" in v["rank:tpp"].label
    # Flip: a B300 below the B200 on TPP moves the B200 to second.
    flipped = check_id("blackwell-b200-most-powerful", patched_db(b300={"fp4": 8000.0}))
    assert by_basis(flipped)["rank:tpp"].value == 2


def test_set_aside_names_a_ledger_group(tmp_path):
    from claims_helpers import one_claim
    from support import make_chip, make_db

    from gpucompare.errors import ClaimsError

    db = make_db(make_chip("x", {"bf16": 100.0}, 2.0), make_chip("y", {"bf16": 50.0}, 2.0))
    p = tmp_path / "claims.toml"
    rel = 'kind = "ordering"\na = "x"\nthan = ["y"]\nset_aside = { "no-such-group" = "why" }\n'
    p.write_text(one_claim('["x", "y"]', rel), encoding="utf-8")
    with pytest.raises(
        ClaimsError, match=r"relation\.set_aside\.no-such-group.*not a group of the published"
    ):
        load_claims(p, db=db)
    rel = 'kind = "ordering"\na = "x"\nthan = ["y"]\ncapability = true\n'
    p.write_text(one_claim('["x", "y"]', rel), encoding="utf-8")
    with pytest.raises(ClaimsError, match=r"not_checked.*required with capability"):
        load_claims(p, db=db)


# -- the checkable statements that had no claim --------------------------------------------------------------
@pytest.mark.parametrize(
    ("cid", "topic", "seed"),
    [
        ("h200-made-in-taiwan", "supply", "001"),
        ("china-to-review-h200-purchases", "policy", "001"),
        ("biden-diffusion-rule-withdrawn-in-may", "policy", "000"),
        ("offshore-cloud-access-considered-legal", "policy", "000"),
        ("china-customs-block-h200", "policy", "002"),
        ("china-domestic-chip-quota", "policy", "002"),
        ("nvidia-overcame-china-backdoor-inquiry", "policy", "004"),
    ],
)
def test_statements_without_a_chip_figure_are_context_with_sources(claims, cid, topic, seed):
    c = claims[cid]
    assert c.source.seed.startswith(seed)
    res = check_claim(c)
    assert res.status == "context" and res.verdict.startswith(f"context ({topic}, not a chip figure)")
    assert c.relation.elsewhere and all(r["url"].startswith("https://") for r in c.relation.elsewhere)


def test_the_overcome_inquiry_is_reported_differently_elsewhere(claims):
    res = check_claim(claims["nvidia-overcame-china-backdoor-inquiry"])
    assert "reported differently elsewhere: Reuters, via Business Standard" in res.verdict
    assert "RTX Pro 6000D" in res.verdict
    review = claims["china-to-review-h200-purchases"]
    assert {s.seed[:3] for s in review.also_in} == {"000", "001"}


def test_a_ledger_entry_flagged_unrepresentative_sets_its_group_aside(claims, monkeypatch):
    """The ledger's own flag (``representative = false``, issue 20) feeds the same rule as ``set_aside``."""
    from types import SimpleNamespace

    import gpucompare.specs.published as published

    flagged = SimpleNamespace(id="x-1", group="some-script", representative=False, representative_why="low")
    monkeypatch.setattr(published, "load_published", lambda *a, **k: [flagged])
    res = check_claim(claims["a100-h100-older-less-powerful-than-h200"], _h100_rows)
    row = _entries(res)["workload:gemm/M=4096,N=4096,K=4096/fp8", "h100-sxm"]
    assert row.verdict == "context" and "low" in row.detail
