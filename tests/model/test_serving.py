"""The serving model: memory fit, parallelism, phase bounds, TPOT targets, and its validation."""

from __future__ import annotations

import json

import pytest

from gpucompare import cli
from gpucompare.dims import MODELS
from gpucompare.model.serving import Load, Server, ServingConfigError, serve
from gpucompare.model.serving.validate import serving_entries, summarise, validate
from gpucompare.model.serving.work import Parallel, kv_bytes_per_token, step_pieces, weights_per_gpu
from gpucompare.specs import load_chips


@pytest.fixture(scope="module")
def db():
    return load_chips()


def _params(key: str) -> float:
    """Whole-model parameters from the weight count at one byte per weight (embeddings counted at 2)."""
    d = MODELS[key]
    emb = 2 * d.vocab * d.hidden
    return weights_per_gpu(d, Parallel(1, 1, 1, 1), "fp8") - emb * 2 + emb


@pytest.mark.parametrize(
    ("key", "billions"), [("llama3-8b", 8.03), ("llama3-70b", 70.55), ("deepseek-v3", 671)]
)
def test_parameter_counts_match_the_published_model_sizes(key, billions):
    # Model cards: Llama-3-8B 8.03B, Llama-3-70B 70.55B, DeepSeek-V3 671B (without its 14B MTP module).
    assert _params(key) / 1e9 == pytest.approx(billions, rel=0.01)


def test_kv_cache_per_token_is_the_config_arithmetic():
    one = Parallel(1, 1, 1, 1)
    # Llama-3-8B: 32 layers x (K and V) x 8 KV heads x 128 x 2 bytes.
    assert kv_bytes_per_token(MODELS["llama3-8b"], one, "bf16") == 32 * 2 * 8 * 128 * 2
    # DeepSeek-V3 MLA: 61 layers x (512 compressed + 64 RoPE) x 2 bytes, whole on every TP GPU.
    assert kv_bytes_per_token(MODELS["deepseek-v3"], Parallel(8, 8, 1, 1), "bf16") == 61 * 576 * 2
    # Grouped-query KV heads split by TP, replicated below one head per GPU.
    assert kv_bytes_per_token(MODELS["llama3-70b"], Parallel(8, 8, 1, 1), "fp8") == 80 * 2 * 1 * 128
    assert kv_bytes_per_token(MODELS["qwen3-30b-a3b"], Parallel(8, 8, 1, 1), "bf16") == 48 * 2 * 1 * 128 * 2


def test_memory_fit_limits(db):
    with pytest.raises(ServingConfigError, match="does not fit 1x h100-sxm"):
        serve(Server.make(db.get("h100"), "llama3-70b", gpus=1), Load(1000, 1000))
    with pytest.raises(ServingConfigError, match="does not fit 8x h20"):
        serve(Server.make(db.get("h20"), "deepseek-r1"), Load())
    h200 = Server.make(db.get("h200"), "deepseek-r1")
    short, long = h200.max_concurrency(1024, 1024), h200.max_concurrency(8192, 8192)
    assert short > 0 and long == pytest.approx(short / 8, abs=1)  # KV per sequence x8
    with pytest.raises(ServingConfigError, match=f"holds {short} sequences"):
        serve(h200, Load(1024, 1024, concurrency=short + 1))
    r = serve(h200, Load(1024, 1024))
    assert r.concurrency == short and r.concurrency_limit == "memory" and r.decode_bound == "capacity"


def test_parallelism_rules_and_effects(db):
    d = MODELS["llama3-70b"]
    with pytest.raises(ServingConfigError, match="must equal"):
        Parallel.make(d, 8, 4, None, 1)
    with pytest.raises(ServingConfigError, match="no experts"):
        Parallel.make(d, 8, 8, 8, 1)
    with pytest.raises(ServingConfigError, match="do not split 3 ways"):
        Parallel.make(d, 3, 3, None, 1)
    w1 = weights_per_gpu(d, Parallel.make(d, 2, 2, None, 1), "fp8")
    w2 = weights_per_gpu(d, Parallel.make(d, 4, 4, None, 1), "fp8")
    assert w2 == pytest.approx(w1 / 2)
    # Expert parallelism adds an all-to-all, tensor parallelism all-reduces; one GPU none.
    ds = MODELS["deepseek-r1"]
    _, comms = step_pieces(ds, Parallel.make(ds, 8, 1, 8, 8), "fp8", "bf16", 16, 2048, True)
    assert [c.op for c in comms] == ["all_to_all"]
    _, comms = step_pieces(ds, Parallel.make(ds, 8, 8, None, 1), "fp8", "bf16", 16, 2048, True)
    assert [c.op for c in comms] == ["all_reduce"]
    _, comms = step_pieces(d, Parallel.make(d, 1, 1, None, 1), "fp8", "bf16", 16, 2048, True)
    assert comms == []


def test_phase_bounds(db):
    s = Server.make(db.get("h100"), "llama3-8b", gpus=1)
    assert s.decode_step(1, 1024).bound == "memory"  # one sequence: weights streamed
    assert s.prefill_step(8192, 8192).bound == "compute"
    tp8 = Server.make(db.get("h100"), "llama3-70b")
    assert tp8.decode_step(64, 2048).link_s > 0 and s.decode_step(64, 2048).link_s == 0
    # More sequences per step: more tokens/s, longer steps.
    a, b = serve(s, Load(1000, 1000, 8)), serve(s, Load(1000, 1000, 64))
    assert b.output_tokens_per_s > a.output_tokens_per_s and b.tpot_s > a.tpot_s


def test_tpot_target_is_the_largest_concurrency_meeting_it(db):
    s = Server.make(db.get("h200"), "llama3-70b")
    r = serve(s, Load(1024, 1024, tpot_ms=30))
    assert r.concurrency_limit == "TPOT target" and r.tpot_s <= 0.030
    assert serve(s, Load(1024, 1024, concurrency=r.concurrency + 1)).tpot_s > 0.030
    with pytest.raises(ServingConfigError, match="no concurrency meets"):
        serve(s, Load(1024, 1024, tpot_ms=0.01))


def test_validation_leaves_the_chip_out_and_beats_the_naive():
    checks = validate()
    pool = serving_entries()
    assert len(pool) >= 25 and len({e.chip for e in pool}) >= 4 and "h20" in {e.chip for e in pool}
    for c in checks:
        others = [e for e in pool if e.chip != c.chip and e.shape["engine"] == c.engine]
        if others:  # the engine factor counts only the other chips' entries of the engine
            assert c.factor_basis.startswith(f"{c.engine}: median of {len(others)} entries")
    s = summarise(checks)
    assert s.n == len(pool) and s.median <= 0.20  # the goal
    assert s.naive_median is not None and s.median < s.naive_median


def test_naive_is_the_same_sources_figure_scaled_by_peaks():
    by_id = {c.id: c for c in validate()}
    # H100 and H200 have the same fp8 peak: the naive H100 figure is the H200's, unchanged.
    c = by_id["trtllm-perf-llama3-8b-h100-sxm-tp1-fp8-128-128"]
    assert c.naive == 27911
    assert by_id["infersim-actual-qwen3-8b-h20-decode"].naive is None  # no other chip in its source


def test_serve_cli(capsys):
    assert (
        cli.main(["serve", "llama3-8b", "--chip", "h200", "--gpus", "1", "--concurrency", "32", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "projected" and out["concurrency"] == 32 and out["output_tokens_per_s"] > 0
    assert out["expected_rel_error"]["n"] >= 25
    assert cli.main(["serve", "nosuch", "--chip", "h200"]) == 2
    assert "unknown model 'nosuch'" in capsys.readouterr().err
    assert cli.main(["serve", "llama3-8b", "--chip", "mlu590"]) == 2  # no memory figure in the database
    assert "memory_gb and bandwidth_tbps unknown" in capsys.readouterr().err
    assert cli.main(["serve", "deepseek-r1", "--chip", "h20"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not fit 8x h20" in err
