"""Claims: the packaged file, verdicts that must flip when the specs change, malformed files, the CLI."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from gpucompare import cli
from gpucompare.claims import (
    KINDS,
    STATUSES,
    VERDICTS,
    Claim,
    check_all,
    check_claim,
    load_claims,
)
from gpucompare.errors import ClaimsError
from gpucompare.specs import get_chip, load_chips

SIX = "h200-almost-six-times-h20"


@pytest.fixture(scope="module")
def claims() -> dict[str, Claim]:
    return {c.id: c for c in load_claims()}


def by_basis(result, pair=None):
    return {v.basis: v for v in result.verdicts if pair is None or v.pair == pair}


# ---------------------------------------------------------------------------------------------------------
# The packaged file
# ---------------------------------------------------------------------------------------------------------
def test_packaged_claims_cover_every_article_and_resolve(claims):
    readme = resources.files("gpucompare.seeds").joinpath("README.md").read_text(encoding="utf-8")
    seeds = {c.source.seed for c in claims.values()}
    assert len(seeds) == 5, seeds
    for seed in seeds:
        assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", seed)
        assert seed in readme
    assert {c.relation.kind for c in claims.values()} == set(KINDS)
    for c in claims.values():
        assert c.quote and c.quote_en and c.source.publication
        for chip in c.chips:
            assert get_chip(chip).id == chip  # stored as canonical ids


def test_expected_claims_are_present(claims):
    for cid in (
        SIX,
        "h20-cut-down-h100",
        "a100-h100-controlled-but-not-h200",
        "blackwell-b200-most-powerful",
        "h200-second-most-powerful-nvidia",
        "domestic-chips-better-suited-to-inference",
        "china-approves-400000-h200",
        "deepseek-30000-h20",
        "nvidia-900000-h20-inventory",
        "chinese-orders-2-million-h200",
        "datasection-15000-blackwell",
    ):
        assert cid in claims
    six = claims[SIX].relation
    assert (six.a, six.b, six.factor) == ("h200-sxm", "h20", 6.0)
    lo, hi = six.accept
    assert lo <= 6.0 <= hi and hi < 7.5  # "almost six" must not accept anything


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
        assert v[basis].verdict == "refuted"
    assert res.status == "partial"
    assert res.verdict.startswith("holds only on some bases")
    holds, _, fails = res.verdict.partition("; not on ")
    assert "compute-bound work" in holds and "bf16 6.6" in holds
    assert "memory-bound work" in fails and "bandwidth 1.20" in fails
    assert "6.69" in res.detail and "understates" in res.detail


def _db_with_h20_bf16(tmp_path, bf16: float):
    """A copy of the packaged chip database where the H20's bf16 (and fp16) peak is ``bf16``."""
    text = resources.files("gpucompare.specs").joinpath("chips.toml").read_text(encoding="utf-8")
    start = text.index('id = "h20"')
    end = text.index("[[chips]]", start)
    block, n = re.subn(r"(?m)^(bf16|fp16) = .*$", lambda m: f"{m.group(1)} = {bf16}", text[start:end])
    assert n == 2, "the H20 block of chips.toml no longer has plain bf16/fp16 lines"
    path = tmp_path / "chips.toml"
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")
    return load_chips(path)


def test_verdict_flips_when_h20_bf16_changes(tmp_path):
    db = _db_with_h20_bf16(tmp_path, 400)
    claims = {c.id: c for c in load_claims(db=db)}
    v = by_basis(check_claim(claims[SIX], db=db))
    assert v["spec:bf16"].ratio == pytest.approx(989.4 / 400, rel=0.01)
    assert v["spec:bf16"].verdict == "refuted"
    assert v["spec:tpp"].verdict == "refuted"  # TPP = 400 × 16 now
    assert v["spec:fp8"].verdict == "reproduced"  # unchanged
    # 400 × 16 = 6,400 TPP is in 3A090.a: "sold without a licence" no longer fits the metrics.
    assert check_claim(claims["h20-only-chip-without-licence"], db=db).status == "refuted"
    assert check_claim(claims["h20-only-chip-without-licence"]).status == "reproduced"


# ---------------------------------------------------------------------------------------------------------
# Workload verdicts (the model's provider, faked)
# ---------------------------------------------------------------------------------------------------------
class _Row:
    def __init__(self, basis, ratio, bound_a, bound_b, detail=""):
        self.basis, self.ratio, self.bound_a, self.bound_b, self.detail = (
            basis,
            ratio,
            bound_a,
            bound_b,
            detail,
        )


def fake_provider(calls):
    def provider(a, b):
        calls.append((a, b))
        return [
            {
                "basis": "workload:gemm/llama3-70b-mlp-up/bf16",
                "ratio": 6.4,
                "bound_a": "compute",
                "bound_b": "compute",
                "detail": "fake",
            },
            _Row("workload:decode_attention/llama3-70b-8k/bf16", 1.19, "memory", "memory"),
            {"basis": "workload:attention_fwd/x/fp8", "ratio": None, "bound_a": None, "bound_b": None},
            {"basis": "workload:not_listed/x/bf16", "ratio": 6.0, "bound_a": "compute", "bound_b": "compute"},
        ]

    return provider


def test_workload_verdicts_slot_in(claims):
    calls = []
    res = check_claim(claims[SIX], workload_ratios=fake_provider(calls))
    assert calls == [("h200-sxm", "h20")]
    v = by_basis(res)
    assert v["workload:gemm/llama3-70b-mlp-up/bf16"].verdict == "reproduced"
    assert v["workload:decode_attention/llama3-70b-8k/bf16"].verdict == "refuted"
    assert v["workload:decode_attention/llama3-70b-8k/bf16"].group == "memory-bound workloads"
    assert v["workload:attention_fwd/x/fp8"].verdict == "unknown"
    assert "workload:not_listed/x/bf16" not in v  # the claim names its workloads
    assert "compute-bound workloads" in res.verdict.partition("; not on ")[0]
    assert "memory-bound workloads" in res.verdict.partition("; not on ")[2]
    d = res.to_dict()["verdicts"]
    assert {"basis", "ratio", "verdict", "detail", "bound_a", "bound_b"} <= set(d[-1])


def test_workload_provider_errors_are_clear(claims):
    with pytest.raises(ValueError, match="without a basis"):
        check_claim(claims[SIX], workload_ratios=lambda a, b: [{"ratio": 2.0}])
    with pytest.raises(ValueError, match="finite number"):
        check_claim(
            claims[SIX], workload_ratios=lambda a, b: [{"basis": "workload:gemm/x/bf16", "ratio": "6"}]
        )
    with pytest.raises(ValueError, match="callable"):
        check_claim(claims[SIX], workload_ratios=42)
    with pytest.raises(ValueError, match="Claim"):
        check_claim("h200-almost-six-times-h20")


# ---------------------------------------------------------------------------------------------------------
# Other kinds
# ---------------------------------------------------------------------------------------------------------
def test_cut_down_h100_holds_on_compute_only(claims):
    res = check_claim(claims["h20-cut-down-h100"])
    v = by_basis(res)
    assert (
        v["spec:bf16"].ratio == pytest.approx(148 / 989.4, rel=0.01)
        and v["spec:bf16"].verdict == "reproduced"
    )
    assert v["spec:bandwidth"].ratio > 1 and v["spec:bandwidth"].verdict == "refuted"
    assert v["attr:die_area_mm2"].verdict == "reproduced"
    assert res.status == "partial"


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
    res = check_claim(claims["h200-second-most-powerful-nvidia"])
    v = by_basis(res)
    assert v["rank:bf16"].value > 2 and v["rank:bf16"].verdict == "refuted"
    assert "b200" in v["rank:bf16"].detail
    assert v["rank:generation-bf16"].value == 2 and v["rank:generation-bf16"].verdict == "reproduced"
    older = check_claim(claims["a100-h100-older-less-powerful-than-h200"])
    vs_h100 = by_basis(older, ("h200-sxm", "h100-sxm"))
    assert vs_h100["spec:bf16"].verdict == "refuted"  # same compute as the H100
    assert vs_h100["spec:bandwidth"].verdict == "reproduced"
    assert vs_h100["attr:launch_year"].verdict == "reproduced"


def test_qualitative_and_count(claims):
    dom = by_basis(
        check_claim(claims["domestic-chips-better-suited-to-inference"]), ("h200-sxm", "ascend-910c")
    )
    q = dom["spec:bf16/bandwidth"]
    assert q.ratio == pytest.approx((989.4 / 781.25) / (4.8 / 3.2), rel=0.02) and q.verdict == "refuted"
    assert check_claim(claims["h20-capable-at-inference"]).status == "reproduced"
    fleet = check_claim(claims["deepseek-30000-h20"])
    f = by_basis(fleet)
    assert fleet.status == "context"
    assert f["fleet:bf16"].value == pytest.approx(30000 * 148)
    assert f["fleet:bandwidth"].value == pytest.approx(30000 * 4.0)
    assert f["fleet:bf16-in-h100-sxm"].value == pytest.approx(30000 * 148 / 989.4, rel=0.01)
    assert check_claim(claims["disclosure-over-500-chips"]).status == "context"


def test_launch_year_claim_is_refuted(claims):
    res = check_claim(claims["h20-created-2022"])
    assert res.status == "refuted" and "2024" in res.verdict


# ---------------------------------------------------------------------------------------------------------
# Malformed files
# ---------------------------------------------------------------------------------------------------------
GOOD = """schema_version = 1
[[claim]]
id = "c1"
quote = "Le H200 est presque six fois plus puissant que le H20."
quote_en = "The H200 is almost six times more powerful than the H20."
source = { publication = "Reuters", date = "2025-12-10", seed = "001_891a4df72a7e2968.txt" }
chips = ["H200", "h20"]
[claim.relation]
kind = "ratio"
a = "h200-sxm"
b = "h20"
factor = 6.0
accept = [5.0, 7.0]
"""


def test_minimal_file_loads_and_resolves_aliases(tmp_path):
    p = tmp_path / "claims.toml"
    p.write_text(GOOD, encoding="utf-8")
    (c,) = load_claims(p)
    assert c.chips == ("h200-sxm", "h20")
    assert c.relation.bases == ("bf16", "fp8", "tpp", "bandwidth", "memory", "interconnect")
    assert check_claim(c).status == "partial"


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('quote = "Le H200', 'quotation = "Le H200', r"'c1'.*'quotation'.*unknown field"),
        ('quote = "Le H200 est presque six fois plus puissant que le H20."\n', "", r"'c1'.*'quote'.*missing"),
        ('chips = ["H200", "h20"]', 'chips = ["H200", "H9000"]', r"'c1'.*'chips'.*H9000"),
        ('kind = "ratio"', 'kind = "rumour"', r"'c1'.*'relation.kind'"),
        ("accept = [5.0, 7.0]", "accept = [7.0, 5.0]", r"'c1'.*'relation.accept'"),
        ("factor = 6.0", "factor = -6.0", r"'c1'.*'relation.factor'"),
        ("factor = 6.0", 'factor = "six"', r"'c1'.*'relation.factor'"),
        ('b = "h20"', 'b = "b200"', r"'c1'.*'relation.b'.*not listed"),
        ('b = "h20"\n', 'b = "h20"\nbogus = 1\n', r"'c1'.*'relation.bogus'.*unknown field"),
        ("accept = [5.0, 7.0]\n", "", r"'c1'.*'relation.accept'.*missing"),
        ('date = "2025-12-10"', 'date = "10/12/2025"', r"'c1'.*'source.date'"),
        ("schema_version = 1", "schema_version = 2", "schema_version"),
        ("[claim.relation]", "[claim.relation", "not valid TOML"),
        (
            "accept = [5.0, 7.0]\n",
            'accept = [5.0, 7.0]\nbases = ["bf16", "flops"]\n',
            r"'relation.bases'.*flops",
        ),
    ],
)
def test_malformed_claims_name_claim_and_field(tmp_path, old, new, match):
    assert old in GOOD
    p = tmp_path / "claims.toml"
    p.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ClaimsError, match=match):
        load_claims(p)


def test_duplicate_ids_and_missing_file(tmp_path):
    p = tmp_path / "claims.toml"
    p.write_text(GOOD + GOOD.split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(ClaimsError, match="'c1': duplicate id"):
        load_claims(p)
    with pytest.raises(ClaimsError, match="cannot read"):
        load_claims(tmp_path / "absent.toml")


# ---------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------
def test_cli_json_shape(capsys):
    assert cli.main(["claims", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list) and len(data) == len(load_claims())
    for obj in data:
        assert {"id", "quote", "quote_en", "source", "chips", "relation", "verdict", "verdicts"} <= set(obj)
        assert obj["relation"]["kind"] in KINDS
        for v in obj["verdicts"]:
            assert {"basis", "ratio", "verdict", "detail"} <= set(v)
    six = next(o for o in data if o["id"] == SIX)
    bf16 = next(v for v in six["verdicts"] if v["basis"] == "spec:bf16")
    assert bf16["ratio"] == pytest.approx(6.7, abs=0.05) and bf16["verdict"] == "reproduced"


def test_cli_table_and_unknown_id(capsys):
    assert cli.main(["claims", "--id", SIX]) == 0
    out = capsys.readouterr().out
    assert SIX in out and "spec:bandwidth" in out and "holds only on some bases" in out
    assert cli.main(["claims", "--id", "no-such-claim"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-claim" in err[0]


def test_model_provider_integration(claims):
    """The model's real provider, over two synthetic H100 records: GEMM holds at ~6.7x, decode does not."""
    model = pytest.importorskip("gpucompare.model")

    def rec(workload, label, flops, nbytes, seconds):
        return {
            "run_id": "r1",
            "workload": workload,
            "shape": {},
            "shape_label": label,
            "dtype": "bf16",
            "impl": "torch",
            "status": "ok",
            "flops": flops,
            "bytes": nbytes,
            "median_s": seconds,
            "local_peak_tflops": 989.4,
            "local_peak_bw_tbps": 3.35,
            "local_peak_source": "spec",
            "mode": "gpu",
            "chip_id": "h100-sxm",
            "device_name": "NVIDIA H100 80GB HBM3",
        }

    n = 8192
    gemm_f, gemm_b = 2 * n**3, 3 * n * n * 2
    kv = 2 * 8 * 8 * 8192 * 128 * 2
    records = [
        rec("gemm", f"{n}x{n}x{n}", gemm_f, gemm_b, gemm_f / (0.7 * 989.4e12)),
        rec("decode_attention", "b8-L8192", 4 * 8 * 64 * 8192 * 128, kv, kv / (0.8 * 3.35e12)),
    ]
    res = check_claim(claims[SIX], workload_ratios=model.workload_ratios(records))
    v = by_basis(res)
    gemm = v[f"workload:gemm/{n}x{n}x{n}/bf16"]
    decode = v["workload:decode_attention/b8-L8192/bf16"]
    assert gemm.ratio == pytest.approx(6.69, abs=0.05) and gemm.verdict == "reproduced"
    assert decode.ratio == pytest.approx(1.2, abs=0.02) and decode.verdict == "refuted"
    assert (gemm.bound_a, decode.bound_a) == ("compute", "memory")
