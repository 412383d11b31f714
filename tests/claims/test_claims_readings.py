"""Issue 10's readings, one test each: the verdict an analyst would sign, and a change of figures (or of
reading) that would flip it, so a test fails if the reading drifts."""

from __future__ import annotations

import pytest
from claims_helpers import by_basis, check_id, one_claim, patched_db
from support import make_chip, make_db

from gpucompare.claims import check_claim, load_claims
from gpucompare.errors import ClaimsError

_db = patched_db
_check = check_id


def test_only_chip_without_licence_is_refuted_by_the_l20():
    res = _check("h20-only-chip-without-licence")
    v = {e.pair[-1]: e for e in res.verdicts}
    assert v["h20"].verdict == "reproduced"  # the H20 part holds: outside 3A090
    assert v["l20"].verdict == "refuted" and "also uncontrolled" in v["l20"].detail
    assert v["h100-sxm"].verdict == "reproduced"  # controlled: not a counter-example
    assert res.status == "refuted"
    assert res.verdict.startswith('refuted: "the only one" fails: also uncontrolled: l20 (TPP 1,914, PD 3.14')
    assert "the h20 part holds" in res.verdict
    # The RTX 4090 D (TPP 4,707, a GeForce card: Note 2) was offered in China without a licence too.
    assert v["rtx-4090d"].verdict == "refuted" and "rtx-4090d (TPP 4,707" in res.verdict
    # With the L20 and the 4090 D inside 3A090, "the only one" holds where tiers are known; the 2025 China
    # parts stay unknown, so the claim is not "reproduced" either.
    inside = {"fp8": 700.0, "int8": 700.0}
    alone = _check("h20-only-chip-without-licence", _db(l20=inside, rtx_4090d=inside))
    assert alone.status == "unknown" and alone.verdict.startswith("holds where tiers are known")
    assert "tier unknown: b20, b30a, rtx-pro-6000d, rtx-5090d" in alone.verdict


def test_domestic_better_suited_to_inference_is_not_checkable_from_specs():
    res = _check("domestic-chips-better-suited-to-inference")
    assert res.status == "not-checkable"
    assert res.verdict.startswith("not checkable from specs: suitability for inference")
    v = {e.pair[0]: e for e in res.verdicts}
    assert all(e.verdict == "context" for e in res.verdicts)
    assert v["h200-sxm"].value == pytest.approx(989.4 / 4.8)
    assert v["ascend-910c"].value == pytest.approx(780 / 3.2) and "no fp8" in v["ascend-910c"].label
    assert (
        v["ascend-910b"].value == pytest.approx(320 / 1.6) and "fp16 (bf16 unknown)" in v["ascend-910b"].label
    )
    assert "mlu590 unknown (bandwidth)" in res.verdict
    # The figure standing in for the 910B's bf16 changes the context, never the status.
    known = _check("domestic-chips-better-suited-to-inference", _db(ascend_910b={"bf16": 400.0}))
    assert known.status == "not-checkable"
    assert by_basis(known, ("ascend-910b",))["spec:balance"].value == pytest.approx(400 / 1.6)


def test_blackwell_most_powerful_is_read_within_nvidias_line_up():
    res = _check("blackwell-b200-most-powerful")
    v = by_basis(res)
    for basis in ("bf16", "fp8", "tpp"):
        assert v[f"rank:generation-{basis}"].verdict == "reproduced"
        assert v[f"rank:{basis}"].verdict == "context"  # B300 / GB200 above the B200: context
    assert res.status == "reproduced" and "Blackwell rank 1" in res.verdict
    assert "ascend" not in res.detail and "mi300x" not in res.detail  # NVIDIA's line-up only
    # A Hopper part above every Blackwell part would refute it.
    flipped = _check("blackwell-b200-most-powerful", _db(h200_sxm={"bf16": 3000.0, "fp16": 3000.0}))
    assert by_basis(flipped)["rank:generation-bf16"].verdict == "refuted"


def test_h200_second_most_powerful_per_generation():
    res = _check("h200-second-most-powerful-nvidia")
    assert res.status == "reproduced"
    assert "bf16 Hopper rank 2 (top part)" in res.verdict and "per chip: bf16 rank 4" in res.verdict
    # An H200 below the H100 SXM would no longer be the top Hopper part: the reading fails.
    weaker = {"bf16": 900.0, "fp16": 900.0, "fp8": 1800.0, "int8": 1800.0}
    res = _check("h200-second-most-powerful-nvidia", _db(h200_sxm=weaker))
    assert res.status == "refuted" and "does not top Hopper" in by_basis(res)["rank:generation-bf16"].detail


def test_far_more_powerful_gives_both_readings_of_legally_sold():
    res = _check("h200-far-more-powerful-than-china-legal-chips")
    exported, domestic = "US chips exported legally", "domestic chips also sold legally"
    e = {(x.basis, x.pair[1]): x for x in res.verdicts}
    assert e["spec:bf16", "h20"].verdict == "reproduced" and e["spec:bf16", "h20"].group.startswith(exported)
    assert e["spec:bf16", "l20"].verdict == "reproduced"
    assert e["spec:bf16", "mi308x"].verdict == "unknown"  # AMD's MI308X: no published figure
    c = e["spec:bf16", "ascend-910c"]
    assert c.ratio == pytest.approx(989.4 / 780, rel=1e-3) and c.verdict == "refuted"
    assert c.group.startswith(domestic)
    assert e["spec:fp8", "ascend-910c"].verdict == "reproduced"  # no fp8 on the 910C: a win
    assert e["spec:bandwidth", "h20"].verdict == "context"  # the caveat
    assert res.status == "partial"
    holds, _, fails = res.verdict.partition("; not on ")
    assert f"holds on {exported}" in holds and f"{domestic}: compute" in fails and "1.27×" in fails


def test_an_unsupported_dtype_is_a_win_for_the_chip_that_has_it(tmp_path):
    db = make_db(
        make_chip("new", {"bf16": 100.0, "fp8": 200.0}, 2.0),
        make_chip("old", {"bf16": 150.0}, 2.0, unsupported={"fp8"}),
    )
    p = tmp_path / "claims.toml"
    rel = 'kind = "ordering"\na = "{a}"\nthan = ["{b}"]\nbases = ["bf16", "fp8"]\n'
    for a, b, fp8 in (("new", "old", "reproduced"), ("old", "new", "refuted")):
        p.write_text(one_claim('["new", "old"]', rel.format(a=a, b=b)), encoding="utf-8")
        (c,) = load_claims(p, db=db)
        v = by_basis(check_claim(c, db=db))
        assert v["spec:fp8"].verdict == fp8 and v["spec:fp8"].ratio is None
        assert "old has no fp8 path" in v["spec:fp8"].detail
    assert v["spec:bf16"].verdict == "reproduced"  # old 150 > new 100


def test_controlled_but_not_h200_says_the_h200_still_needs_a_licence(claims):
    c = claims["a100-h100-controlled-but-not-h200"]
    assert c.quote.startswith("en théorie, ")
    res = check_claim(c)
    assert res.status == "policy"
    assert "h200-sxm still needs a licence" in res.verdict
    assert "reviewed case by case below TPP 21,000" in res.verdict
    assert "inside a100-sxm4-80gb, h100-sxm, h200-sxm" in res.verdict  # covers the less advanced chips too


def test_missing_claims_are_present_with_their_sources(claims):
    statements = {
        "nvidia-h20-charge-5-5bn": "financial",
        "china-share-of-nvidia-sales": "financial",
        "h200-licence-30-day-interagency-review": "policy",
        "china-bans-nvidia-in-state-funded-data-centres": "policy",
        "chinese-training-relies-on-nvidia": "market",
        "a100-h100-popular-in-china": "market",
    }
    for cid, topic in statements.items():
        res = check_claim(claims[cid])
        assert res.status == "context" and res.verdict.startswith(f"context ({topic}, not a chip figure)")
    charge = check_claim(claims["nvidia-h20-charge-5-5bn"]).verdict
    assert "reported differently elsewhere: NVIDIA, letter to the SEC" in charge and "$4.5 billion" in charge
    stock = check_claim(claims["nvidia-900000-h20-inventory"]).verdict
    assert "reported differently elsewhere: Reuters" in stock and "600,000 to 700,000" in stock
    assert "700,000 units" in check_claim(claims["chinese-orders-2-million-h200"]).verdict
    assert check_claim(claims["reuters-reviewed-100-tenders"]).status == "context"
    b20 = check_claim(claims["rtx-6000d-for-china"])
    assert b20.status == "unknown" and "B40" in claims["rtx-6000d-for-china"].note


def test_limited_h200_production_checks_blackwell_and_says_the_rest(claims):
    res = check_claim(claims["h200-limited-production-blackwell-most-advanced"])
    assert res.status == "reproduced" and "Blackwell rank 1" in res.verdict
    assert res.verdict.endswith(
        "not checkable from specs: H200 production volumes; Rubin (announced, not in the spec database)"
    )


def test_supercomputer_claim_gives_the_fleet_equivalence_per_basis(claims):
    res = check_claim(claims["h20-supercomputer-if-enough-chips"])
    v = by_basis(res)
    assert res.status == "context"
    assert v["equivalent:bf16"].ratio == pytest.approx(989.4 / 148)  # H20 per H200 on compute
    assert v["equivalent:bandwidth"].ratio == pytest.approx(4.8 / 4.0)
    assert v["equivalent:interconnect"].ratio == pytest.approx(1.0)  # the same NVLink


@pytest.mark.parametrize(
    ("relation", "message"),
    [
        (
            'kind = "regulatory"\nstatus = { x = "controlled" }\ncaveat = ["bandwidth"]\n',
            "does not show caveat",
        ),
        ('kind = "balance"\nchips = ["x"]\n', "not_checked"),
        ('kind = "statement"\ntopic = "gossip"\nwhat = "w"\n', "topic"),
        ('kind = "only"\na = "x"\nstatus = "licensable"\namong = "vendor"\n', "status"),
        ('kind = "ordering"\na = "x"\nrank = 1\nper = "decade"\n', "per"),
        ('kind = "ordering"\na = "x"\nthan = { r = [] }\n', "than.r"),
        (
            'kind = "count"\ncount = 3\nqualifier = "q"\nwhat = "w"\nelsewhere = [{ publication = "p" }]\n',
            "elsewhere",
        ),
    ],
)
def test_new_keys_are_validated(tmp_path, relation, message):
    db = make_db(make_chip("x", {"bf16": 100.0}, 2.0))
    p = tmp_path / "claims.toml"
    p.write_text(one_claim('["x"]', relation), encoding="utf-8")
    with pytest.raises(ClaimsError, match=message):
        load_claims(p, db=db)
