"""Workload verdicts: the model's per-workload ratios judged like spec bases (faked, then the real provider)."""

from __future__ import annotations

import dataclasses

import pytest
from claims_helpers import SIX, by_basis

from gpucompare.claims import check_claim


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
    # "More powerful" is a compute claim: decode, memory-bound on both chips, is the bandwidth caveat.
    assert v["workload:decode_attention/llama3-70b-8k/bf16"].verdict == "context"
    assert v["workload:decode_attention/llama3-70b-8k/bf16"].group == "memory-bound workloads"
    assert v["workload:attention_fwd/x/fp8"].verdict == "unknown"
    assert "workload:not_listed/x/bf16" not in v  # the claim names its workloads
    judged, _, caveat = res.verdict.partition("; caveat, not judged: ")
    assert res.status == "reproduced" and "compute-bound workloads" in judged
    assert "memory-bound workloads: 1.19× (far below ≈6)" in caveat
    d = res.to_dict()["verdicts"]
    assert {"basis", "ratio", "verdict", "detail", "bound_a", "bound_b"} <= set(d[-1])
    # Without the caveat, memory-bound work is still not judged by a compute claim (one rule for all claims);
    # a claim that judges bandwidth judges it, and here it fails.
    bare = dataclasses.replace(claims[SIX], relation=dataclasses.replace(claims[SIX].relation, caveat=()))
    res = check_claim(bare, workload_ratios=fake_provider([]))
    assert by_basis(res)["workload:decode_attention/llama3-70b-8k/bf16"].verdict == "context"
    rel = dataclasses.replace(claims[SIX].relation, caveat=(), bases=("bf16", "bandwidth"))
    res = check_claim(dataclasses.replace(claims[SIX], relation=rel), workload_ratios=fake_provider([]))
    assert by_basis(res)["workload:decode_attention/llama3-70b-8k/bf16"].verdict == "refuted"
    assert res.status == "partial" and "memory-bound workloads" in res.verdict.partition("; not on ")[2]


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
    assert decode.ratio == pytest.approx(1.2, abs=0.02) and decode.verdict == "context"  # the caveat
    assert (gemm.bound_a, decode.bound_a) == ("compute", "memory")


@pytest.mark.parametrize(
    ("ratio", "rel_error", "verdict"),
    [
        (4.05, 0.24, "context"),  # 4.05× ± 2·24 %: from ~2.1× to ~6×, the verdict depends on the error
        (4.05, 0.01, "refuted"),  # a tight projection outside 5–7× refutes
        (6.0, 0.05, "reproduced"),  # 5.4×–6.6×: inside the accepted range at both ends
        (6.0, None, "reproduced"),  # no error figure: judged as given
    ],
)
def test_a_projection_decides_only_when_its_error_band_cannot_change_the_verdict(
    claims, ratio, rel_error, verdict
):
    row = {
        "basis": "workload:attention_fwd/x/bf16",
        "ratio": ratio,
        "bound_a": "compute",
        "bound_b": "compute",
    }

    def provider(a, b):
        return [{**row, "evidence": "projected", "rel_error": rel_error}]

    v = by_basis(check_claim(claims[SIX], workload_ratios=provider))["workload:attention_fwd/x/bf16"]
    assert v.verdict == verdict
    if verdict == "context":
        assert "expected error" in v.detail


def test_fleet_claims_count_whole_8_gpu_servers_link_included(claims):
    """A fleet claim ("DeepSeek has 30,000 H20") is also expressed in servers of the other chip: serving
    (the serving model at TPOT <= 50 ms) and training (the data-parallel step)."""
    from gpucompare.model.serving.fleet import equivalence
    from gpucompare.specs import get_chip

    res = check_claim(claims["deepseek-30000-h20"])
    v = by_basis(res)
    eq = equivalence(get_chip("h20"), get_chip("h100-sxm"), "llama3-70b")
    serving = v["fleet:server-serving-llama3-70b-in-h100-sxm"]
    assert serving.verdict == "context" and serving.ratio == pytest.approx(eq["k"])
    assert serving.value == pytest.approx(30_000 * eq["k"], rel=1e-2)
    assert "fleet:server-serving-deepseek-r1-in-h100-sxm" in v
    # the H20 keeps a good part of an H100 server when serving, far less when training
    assert v["fleet:server-train-dp-in-h100-sxm"].value < serving.value / 2


def test_h20_inference_claim_is_judged_at_serving_level_beyond_the_error(claims):
    """The H20's inference claim gets a serving basis: its 8-GPU server's share of an H100 server's tokens/s
    (Llama-3-70B, TPOT <= 50 ms) against its bf16 share, decided only beyond the serving p90 error."""
    from gpucompare.model.serving.validate import default_checks, summarise

    v = by_basis(check_claim(claims["h20-capable-at-inference"]))["serving:llama3-70b/bf16"]
    margin = (1 + summarise(default_checks()).p90) ** 2
    assert v.ratio == pytest.approx(v.a_value / v.b_value)
    assert v.ratio > margin and v.verdict == "reproduced"


def test_a_serving_model_the_table_lacks_is_refused_naming_the_field():
    from gpucompare.claims.loading import parse_claims
    from gpucompare.errors import ClaimsError

    claim = {
        "id": "x", "quote": "q", "quote_en": "q", "chips": ["h20", "h100-sxm"],
        "source": {"publication": "p", "date": "2025-01-01", "seed": "000_f7a5888a1bfce815.txt"},
        "relation": {"kind": "qualitative", "a": "h20", "than": ["h100-sxm"], "favours": "bandwidth",
                     "over": "bf16", "serving": "gpt-9"},
    }  # fmt: skip
    with pytest.raises(ClaimsError, match=r"relation\.serving.*unknown model 'gpt-9'"):
        parse_claims({"schema_version": 1, "claim": [claim]}, "claims.toml")
