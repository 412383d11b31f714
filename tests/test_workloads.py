"""The workload registry: well-formed records, the cost model (by hand and against torch's FlopCounterMode),
seeded inputs, references, availability, the ``gpucompare workloads`` CLI and a CPU smoke run of every impl."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# isort: off
# gpucompare.workloads puts Triton in interpreter mode on a CPU machine; torch.utils.flop_counter imports
# triton, so it must come after (see workloads._triton_language_interpreted).
from gpucompare import cli, dtypes, reference
from gpucompare import workloads as wl
from gpucompare.workloads import WORKLOADS, Shape, get_workload
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

# isort: on

REQUIRED = ("gemm", "gemm_decode", "attention_fwd", "attention_bwd", "decode_attention", "copy", "triad")


def _kernel_or_skip(name: str):
    try:
        return importlib.import_module(f"gpucompare.kernels.{name}")
    except Exception as exc:  # report, don't fail: the kernel is another module's job
        pytest.skip(f"gpucompare.kernels.{name} not importable: {type(exc).__name__}: {exc}")


def _all_shapes(w):
    return [s for shapes in w.tiers.values() for s in shapes]


def _count_flops(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


# ------------------------------------------------------------------------------------------ registry


def test_registry_has_the_required_workloads():
    assert set(REQUIRED) <= set(WORKLOADS)
    for name, w in WORKLOADS.items():
        assert w.name == name
        assert w.family in wl.FAMILIES and w.intent in wl.INTENTS
    assert WORKLOADS["gemm"].intent == "compute" and WORKLOADS["gemm_decode"].intent == "memory"
    assert WORKLOADS["decode_attention"].intent == "memory" and WORKLOADS["triad"].family == "bandwidth"
    assert {i.name for i in WORKLOADS["attention_fwd"].impls} == set(wl.ATTENTION_IMPLS)


@pytest.mark.parametrize("name", REQUIRED)
def test_workload_is_well_formed(name):
    w = WORKLOADS[name]
    assert sum(i.baseline for i in w.impls) == 1
    assert w.baseline.name in ("torch", "sdpa-flash")
    labels = [s.label for s in _all_shapes(w)]
    assert len(labels) == len(set(labels))
    assert w.shapes("cpu") and w.shapes("gpu")
    assert set(w.cpu_dtypes) <= set(w.dtypes) and not {"tf32", "fp8"} & set(w.cpu_dtypes)
    for s in _all_shapes(w):
        assert set(s.params) == set(w.params)
        assert w.flops(s) >= 0 and w.bytes(s, w.dtypes[0]) > 0
    assert w.shape(labels[0]) is _all_shapes(w)[0]


def test_records_are_frozen():
    w = WORKLOADS["gemm"]
    s = w.shapes("cpu")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.name = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.label = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.impls[0].baseline = True
    with pytest.raises(TypeError):
        s.params["M"] = 1
    with pytest.raises(TypeError):
        w.tiers["cpu"] = ()
    assert isinstance(w.tiers["gpu"], tuple)


def test_shape_hashes_and_pickles():
    s = Shape("3x4x5", {"M": 3, "N": 4, "K": 5})
    t = pickle.loads(pickle.dumps(s))
    assert t == s and hash(t) == hash(s) and t["K"] == 5
    assert Shape("3x4x5", {"M": 3, "N": 4, "K": 6}) != s
    with pytest.raises(ValueError, match="label"):
        Shape("has space", {"M": 1})
    with pytest.raises(ValueError, match="must be str"):
        Shape("x", {"M": 1.5})


def test_validation_rejects_bad_workloads():
    w = WORKLOADS["gemm"]
    two = tuple(dataclasses.replace(i, baseline=True) for i in w.impls)
    with pytest.raises(ValueError, match="exactly one baseline"):
        dataclasses.replace(w, impls=two)
    none = tuple(dataclasses.replace(i, baseline=False) for i in w.impls)
    with pytest.raises(ValueError, match="exactly one baseline"):
        dataclasses.replace(w, impls=none)
    dup = (w.shapes("cpu")[0], Shape(w.shapes("cpu")[0].label, {"M": 2, "N": 2, "K": 2}))
    with pytest.raises(ValueError, match="duplicate shape label"):
        dataclasses.replace(w, tiers={"cpu": dup})
    with pytest.raises(ValueError, match="missing"):
        dataclasses.replace(w, tiers={"cpu": (Shape("m-only", {"M": 2}),)})
    with pytest.raises(ValueError, match="unknown tier"):
        dataclasses.replace(w, tiers={"tpu": ()})
    with pytest.raises(ValueError, match="intent"):
        dataclasses.replace(w, intent="latency")
    with pytest.raises(ValueError, match="cannot run on the CPU"):
        dataclasses.replace(w, cpu_dtypes=("fp8",))
    attn = WORKLOADS["attention_fwd"]
    bad = dict(attn.shapes("cpu")[0].params, hq=3)
    with pytest.raises(ValueError, match="multiple of hkv"):
        attn.flops(Shape("bad", bad))
    with pytest.raises(ValueError, match="positive"):
        w.flops(Shape("zero", {"M": 0, "N": 1, "K": 1}))


def test_get_workload_error_names_the_known_ones():
    assert get_workload("gemm") is WORKLOADS["gemm"]
    with pytest.raises(ValueError) as exc:
        get_workload("gemmm")
    msg = str(exc.value)
    assert "'gemmm'" in msg and all(name in msg for name in REQUIRED)


def test_lookup_errors_are_clear():
    w = WORKLOADS["copy"]
    with pytest.raises(ValueError, match=r"no implementation 'cuda'.*triton"):
        w.impl("cuda")
    with pytest.raises(ValueError, match=r"no shape 'n7'.*n4099"):
        w.shape("n7")
    with pytest.raises(ValueError, match="no dtype 'fp8'"):
        w.bytes(w.shapes("cpu")[0], "fp8")
    with pytest.raises(ValueError, match="unknown tier"):
        w.shapes("tiny")
    with pytest.raises(ValueError, match="needs parameters"):
        w.flops(WORKLOADS["gemm"].shapes("cpu")[0])  # a GEMM shape is not a copy shape


# ------------------------------------------------------------------------------------------ counts by hand


def test_gemm_counts_by_hand():
    g = WORKLOADS["gemm"]
    s = g.shape("67x45x129")
    assert g.flops(s) == 2 * 67 * 45 * 129 == 777_870
    assert g.bytes(s, "fp32") == (67 * 129 + 129 * 45 + 67 * 45) * 4 == 69_852
    assert g.bytes(s, "tf32") == g.bytes(s, "fp32")
    assert g.bytes(s, "bf16") == 69_852 // 2
    assert g.bytes(s, "fp8") == (67 * 129 + 129 * 45) * 1 + 67 * 45 * 2 == 20_478
    up = g.shape("llama3-70b-mlp-up-4096tok")
    assert dict(up.params) == {"M": 4096, "N": 28672, "K": 8192}
    assert g.flops(up) == 1_924_145_348_608
    assert dict(g.shape("llama3-70b-qkv-4096tok").params) == {"M": 4096, "N": 8192 + 2 * 8 * 128, "K": 8192}
    d = WORKLOADS["gemm_decode"]
    m1 = d.shape("llama3-70b-out-m1")
    assert d.bytes(m1, "bf16") == (8192 + 8192 * 8192 + 8192) * 2
    assert d.flops(m1) / d.bytes(m1, "bf16") < 1  # weight-read bound


@pytest.mark.parametrize(
    ("sq", "sk", "expected"),
    [(67, 67, 67 * 68 // 2), (3, 5, 3 + 4 + 5), (1, 8, 8), (4, 4, 10), (5, 3, 0 + 0 + 1 + 2 + 3)],
)
def test_causal_pairs_by_hand_and_by_mask(sq, sk, expected):
    assert wl.attention_pairs(sq, sk, True) == expected
    from gpucompare.reference import causal_mask

    assert int(causal_mask(sq, sk).sum()) == expected  # the mask attention_ref and sdpa apply
    assert wl.attention_pairs(sq, sk, False) == sq * sk


def test_causal_pairs_match_the_reference_mask():
    """Perturbing a key a query must not see leaves attention_ref's output unchanged; counted pairs agree."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 1, n, 4, generator=g, dtype=torch.float64) for n in (3, 5, 5))
    out = reference.attention_ref(q, k, v, causal=True)
    k2 = k.clone()
    k2[..., 4, :] += 10.0  # key 4 is seen only by the last query (i = 2: j <= 2 + 2)
    out2 = reference.attention_ref(q, k2, v, causal=True)
    assert torch.equal(out[..., :2, :], out2[..., :2, :]) and not torch.equal(out[..., 2, :], out2[..., 2, :])


def test_attention_and_decode_counts_by_hand():
    fwd, bwd = WORKLOADS["attention_fwd"], WORKLOADS["attention_bwd"]
    s = fwd.shape("b1-h4-kv2-s67-d64-causal")
    assert fwd.flops(s) == 4 * 1 * 4 * 64 * 2278 == 2_332_672
    assert fwd.bytes(s, "fp16") == (2 * 4 * 67 * 64 + 2 * 2 * 67 * 64) * 2 == 102_912
    assert bwd.flops(s) == 2.5 * fwd.flops(s)
    assert bwd.bytes(s, "fp16") == (4 * 4 * 67 * 64 + 4 * 2 * 67 * 64) * 2
    target = fwd.shape("b4-h32-s8192-d128-causal")
    assert fwd.flops(target) == 4 * 4 * 32 * 128 * (8192 * 8193 // 2)
    nc = fwd.shape("b4-h32-s8192-d128")
    assert fwd.flops(nc) == 4 * 4 * 32 * 8192 * 8192 * 128
    assert abs(fwd.flops(target) / fwd.flops(nc) - 0.5) < 1e-3
    dec = WORKLOADS["decode_attention"]
    ds = dec.shape("b2-h4-kv2-ctx131-d64")
    assert dec.flops(ds) == 4 * 2 * 4 * 131 * 64 == 268_288
    assert dec.bytes(ds, "fp16") == (2 * 2 * 2 * 131 * 64 + 2 * 2 * 4 * 64) * 2 == 136_192
    big = dec.shape("llama3-70b-b8-ctx32k")
    assert dict(big.params) == {"batch": 8, "hq": 64, "hkv": 8, "L": 32768, "d": 128}
    assert dec.bytes(big, "bf16") == (2 * 8 * 8 * 32768 * 128 + 2 * 8 * 64 * 128) * 2


def test_bandwidth_counts_by_hand():
    c, t = WORKLOADS["copy"], WORKLOADS["triad"]
    s = c.shape("n4099")
    assert c.flops(s) == 0 and c.bytes(s, "fp32") == 2 * 4099 * 4 and c.bytes(s, "bf16") == 2 * 4099 * 2
    assert t.flops(t.shape("n4099")) == 2 * 4099 and t.bytes(t.shape("n4099"), "fp32") == 3 * 4099 * 4
    assert c.bytes(c.shape("n2^28"), "fp32") == 2 * 2**30  # 1 GiB read + 1 GiB written


# ------------------------------------------------------------------------------------------ vs FlopCounterMode


@pytest.mark.parametrize("name", ["gemm", "gemm_decode"])
def test_gemm_flops_match_flop_counter_all_shapes(name):
    w = WORKLOADS[name]
    for s in _all_shapes(w):  # meta tensors: shapes only, no memory
        a = torch.empty(s["M"], s["K"], device="meta")
        b = torch.empty(s["K"], s["N"], device="meta")
        assert _count_flops(lambda a=a, b=b: torch.matmul(a, b)) == w.flops(s), s.label


def _qkv_meta(s, sq=None):
    p = s.params
    sq = p["sq"] if sq is None else sq
    q = torch.empty(p["batch"], p["hq"], sq, p["d"], device="meta")
    k = torch.empty(p["batch"], p["hkv"], p["sk"], p["d"], device="meta")
    return q, k


def test_noncausal_attention_flops_match_flop_counter():
    fwd, bwd = WORKLOADS["attention_fwd"], WORKLOADS["attention_bwd"]
    checked = 0
    for s in _all_shapes(fwd):
        if s["causal"]:
            continue  # FlopCounterMode ignores the mask; causal counts are checked by hand above
        q, k = _qkv_meta(s)
        group = s["hq"] // s["hkv"]
        kr = k.repeat_interleave(group, dim=1)
        with sdpa_kernel(SDPBackend.MATH):
            counted = _count_flops(lambda q=q, kr=kr: F.scaled_dot_product_attention(q, kr, kr))
        assert counted == fwd.flops(s), s.label
        assert flop_counter.sdpa_flop_count(q.shape, k.shape, k.shape) == fwd.flops(s)
        # torch's backward formula for the fused kernels: five matmuls (S recomputed) = our 2.5 × forward
        assert flop_counter.sdpa_backward_flop_count(q.shape, q.shape, k.shape, k.shape) == bwd.flops(s)
        checked += 1
    assert checked >= 3


def test_math_backward_counts_four_matmuls_not_five():
    """Documented difference: autograd through the unfused math path stores P, so FlopCounterMode sees 2×
    the forward; the fused kernels recompute S (2.5×, the convention used by ``attention_bwd``)."""
    s = WORKLOADS["attention_bwd"].shape("b1-h4-kv2-s67-d64")
    q = torch.randn(1, 4, 67, 64, requires_grad=True)
    k = torch.randn(1, 4, 67, 64, requires_grad=True)
    with sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(q, k, k)
    counted = _count_flops(lambda: torch.autograd.grad(out, (q, k), torch.ones_like(out)))
    assert counted == 2 * WORKLOADS["attention_fwd"].flops(s)
    assert WORKLOADS["attention_bwd"].flops(s) == 2.5 * WORKLOADS["attention_fwd"].flops(s)


def test_decode_flops_match_flop_counter_all_shapes():
    w = WORKLOADS["decode_attention"]
    for s in _all_shapes(w):
        p = s.params
        q = torch.empty(p["batch"], p["hq"], 1, p["d"], device="meta")
        k = torch.empty(p["batch"], p["hq"], p["L"], p["d"], device="meta")
        with sdpa_kernel(SDPBackend.MATH):
            counted = _count_flops(lambda q=q, k=k: F.scaled_dot_product_attention(q, k, k))
        assert counted == w.flops(s), s.label


def test_pytorch_impls_flops_match_flop_counter_on_cpu():
    """The registered PyTorch closures themselves, run on the CPU tier (math SDPA so torch counts it)."""
    _kernel_or_skip("gemm")
    _kernel_or_skip("attention")
    _kernel_or_skip("decode")
    cases = [
        ("gemm", "67x45x129", "torch", "fp32"),
        ("attention_fwd", "b1-h4-kv2-s67-d64", "sdpa-math", "fp32"),
        ("decode_attention", "b2-h4-kv2-ctx131-d64", "torch", "fp32"),
    ]
    for name, label, impl, dtype in cases:
        w = WORKLOADS[name]
        s = w.shape(label)
        fn = w.impl(impl).build(w.make_inputs(s, dtype, "cpu"), dtype)
        with sdpa_kernel(SDPBackend.MATH):
            assert _count_flops(fn) == w.flops(s), name


# ------------------------------------------------------------------------------------------ inputs


@pytest.mark.parametrize("name", REQUIRED)
def test_inputs_are_seeded_and_never_zero(name):
    w = WORKLOADS[name]
    s = w.shapes("cpu")[0]
    dtype = w.cpu_dtypes[-1]
    a, b = w.make_inputs(s, dtype, "cpu", seed=0), w.make_inputs(s, dtype, "cpu", seed=0)
    c = w.make_inputs(s, dtype, "cpu", seed=1)
    tensors = [k for k, v in a.items() if isinstance(v, torch.Tensor)]
    assert tensors
    for key in tensors:
        assert a[key].dtype == dtypes.torch_dtype(dtype) and a[key].device.type == "cpu"
        assert torch.equal(a[key], b[key])
        assert not torch.equal(a[key], c[key])
        assert (a[key] != 0).float().mean() > 0.9 and torch.isfinite(a[key].float()).all()
        assert 0.5 < a[key].float().std() < 2  # standard normal
    assert a.keys() == b.keys()


def test_input_shapes_and_extras():
    s = WORKLOADS["attention_bwd"].shape("b1-h4-kv2-s67-d64-causal")
    inp = WORKLOADS["attention_bwd"].make_inputs(s, "fp32", "cpu")
    assert inp["q"].shape == inp["do"].shape == (1, 4, 67, 64) and inp["k"].shape == (1, 2, 67, 64)
    assert inp["causal"] is True and math.isclose(inp["sm_scale"], 64**-0.5)
    assert "do" not in WORKLOADS["attention_fwd"].make_inputs(s, "fp32", "cpu")
    dec = WORKLOADS["decode_attention"]
    di = dec.make_inputs(dec.shapes("cpu")[0], "fp16", "cpu")
    assert di["q"].shape == (2, 4, 64) and di["k_cache"].shape == di["v_cache"].shape == (2, 2, 131, 64)
    with pytest.raises(ValueError, match="no dtype 'fp8'"):
        dec.make_inputs(dec.shapes("cpu")[0], "fp8", "cpu")


@pytest.mark.skipif(not hasattr(torch, "float8_e4m3fn"), reason="no float8 in this torch build")
def test_fp8_inputs_are_quantised_with_amax_scales():
    g = WORKLOADS["gemm"]
    s = g.shape("128x128x128")
    inp = g.make_inputs(s, "fp8", "cpu", seed=3)
    ref32 = g.make_inputs(s, "fp32", "cpu", seed=3)  # same normal draws before quantisation
    for name, scale in (("a", "scale_a"), ("b", "scale_b")):
        q, sc = inp[name], inp[scale]
        assert q.dtype == torch.float8_e4m3fn and sc.dtype == torch.float32 and sc.dim() == 0
        assert q.float().abs().max() == wl.E4M3_MAX  # amax maps to the largest e4m3 value
        x = ref32[name]
        assert torch.allclose(sc * q.float(), x, rtol=2**-3, atol=float(sc) * 2**-6)
        assert math.isclose(float(sc), float(x.abs().max()) / wl.E4M3_MAX, rel_tol=1e-6)
    assert inp["b"].stride() == (1, 128)  # column-major, as torch._scaled_mm requires
    c = g.reference(inp)
    assert c.shape == (128, 128) and c.dtype == torch.float64
    expected = (inp["scale_a"] * inp["a"].double()) @ (inp["scale_b"] * inp["b"].double())
    assert torch.allclose(c, expected, rtol=1e-6)


# ------------------------------------------------------------------------------------------ references


def test_chunked_attention_references_equal_the_unchunked(monkeypatch):
    s = WORKLOADS["attention_bwd"].shape("b1-h4-kv2-s67-d64-causal")
    inp = WORKLOADS["attention_bwd"].make_inputs(s, "fp32", "cpu")
    whole_fwd = WORKLOADS["attention_fwd"].reference(inp)
    whole_bwd = WORKLOADS["attention_bwd"].reference(inp)
    monkeypatch.setattr(wl, "REF_CHUNK_BYTES", 0)
    assert wl._ref_chunked(inp["q"], inp["k"])
    chunk_fwd = WORKLOADS["attention_fwd"].reference(inp)
    chunk_bwd = WORKLOADS["attention_bwd"].reference(inp)
    assert torch.allclose(chunk_fwd, whole_fwd, rtol=1e-12, atol=1e-12)
    assert len(chunk_bwd) == len(whole_bwd) == 3
    for a, b in zip(chunk_bwd, whole_bwd):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_decode_reference_equals_decode_attention_ref():
    w = WORKLOADS["decode_attention"]
    inp = w.make_inputs(w.shapes("cpu")[0], "fp32", "cpu")
    ours = w.reference(inp)
    theirs = reference.decode_attention_ref(
        inp["q"], inp["k_cache"], inp["v_cache"], sm_scale=inp["sm_scale"]
    )
    assert ours.shape == (2, 4, 64) and torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------------ availability


def test_dtypes_for_the_cpu_and_capabilities():
    assert WORKLOADS["gemm"].dtypes_for("cpu") == ("fp32", "fp16")
    assert WORKLOADS["attention_bwd"].dtypes_for(torch.device("cpu")) == ("fp32",)
    for dtype in ("tf32", "fp8"):
        ok, why = wl.dtype_supported(dtype, "cpu")
        assert not ok and "GPU" in why
    ok, why = WORKLOADS["gemm"].availability("torch", "fp8", "cpu")
    assert not ok and "fp8" in why


def test_cpu_measurement_count_stays_small():
    """`pytest bench/` on 2 cores: (workload × cpu shape × cpu dtype × available impl) stays around 40."""
    upper = sum(len(w.shapes("cpu")) * len(w.dtypes_for("cpu")) * len(w.impls) for w in WORKLOADS.values())
    n = sum(
        w.availability(i, d, "cpu", s)[0]
        for w in WORKLOADS.values()
        for s in w.shapes("cpu")
        for d in w.dtypes_for("cpu")
        for i in w.impls
    )
    assert n <= 44 and upper <= 56


def test_sdpa_math_refuses_sizes_that_would_not_fit():
    _kernel_or_skip("attention")
    w = WORKLOADS["attention_fwd"]
    huge = Shape("b4-h32-s16384-d128", dict(w.shape("b4-h32-s8192-d128").params, sq=16384, sk=16384))
    ok, why = w.availability("sdpa-math", "fp32", "cpu", huge)
    assert not ok and "score matrix" in why and "GiB" in why
    ok, why = w.availability("sdpa-math", "fp32", "cpu", w.shapes("cpu")[0])
    assert ok, why


def test_availability_names_a_missing_kernel_module(monkeypatch):
    real = wl._kernel

    def missing(module):
        if module == "decode":
            raise ModuleNotFoundError("No module named 'gpucompare.kernels.decode'")
        return real(module)

    monkeypatch.setattr(wl, "_kernel", missing)
    w = WORKLOADS["decode_attention"]
    ok, why = w.availability("torch", "fp32", "cpu", w.shapes("cpu")[0])
    assert not ok and "gpucompare.kernels.decode" in why


# ------------------------------------------------------------------------------------------ CLI


def test_cli_json(capsys):
    assert cli.main(["workloads", "--json", "--tier", "cpu"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {w["name"]: w for w in data["workloads"]}
    assert set(REQUIRED) <= set(by_name)
    for name, entry in by_name.items():
        w = WORKLOADS[name]
        assert (
            entry["family"] == w.family and entry["intent"] == w.intent and entry["dtypes"] == list(w.dtypes)
        )
        assert [i["name"] for i in entry["impls"]] == [i.name for i in w.impls]
        assert sum(i["baseline"] for i in entry["impls"]) == 1
        assert list(entry["tiers"]) == ["cpu"]
        assert [s["label"] for s in entry["tiers"]["cpu"]] == [s.label for s in w.shapes("cpu")]
        for s in entry["tiers"]["cpu"]:
            shape = w.shape(s["label"])
            assert s["params"] == dict(shape.params) and s["flops"] == w.flops(shape)
            assert s["bytes"] == s["bytes_by_dtype"][w.dtypes[0]] == w.bytes(shape, w.dtypes[0])
            assert set(s["bytes_by_dtype"]) == set(w.dtypes)
    assert by_name["gemm"]["tiers"]["cpu"][0]["bytes_by_dtype"]["fp8"] == 20_478


def test_cli_table_lists_both_tiers(capsys):
    assert cli.main(["workloads"]) == 0
    out = capsys.readouterr().out
    for label in (
        "67x45x129",
        "llama3-70b-mlp-up-4096tok",
        "b4-h32-s8192-d128-causal",
        "llama3-70b-b8-ctx32k",
    ):
        assert label in out
    assert "sdpa-flash (baseline)" in out


def test_cli_bad_tier_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["workloads", "--tier", "tpu"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------ smoke


def test_every_cpu_impl_matches_the_reference():
    """Each available CPU-tier implementation, first CPU shape and dtype, against the workload's reference."""
    for mod in ("gemm", "attention", "decode", "bandwidth"):
        _kernel_or_skip(mod)
    ran = []
    for w in WORKLOADS.values():
        s, dtype = w.shapes("cpu")[0], w.cpu_dtypes[0]
        inputs = w.make_inputs(s, dtype, "cpu")
        ref = w.reference(inputs)
        for impl in w.impls:
            ok, why = w.availability(impl, dtype, "cpu", s)
            if not ok:
                assert why, f"{w.name}/{impl.name}: unavailable without a reason"
                continue
            result = reference.check(impl.build(inputs, dtype)(), ref, dtype)
            assert result.ok, f"{w.name} {s.label} {dtype} {impl.name}: {result.message}"
            ran.append((w.name, impl.name))
    assert ("gemm", "triton") in ran and ("attention_bwd", "triton") in ran and ("triad", "torch") in ran
    assert all((name, w.baseline.name) in ran for name, w in WORKLOADS.items() if w.family != "attention")


def test_backward_closure_runs_only_the_backward_and_repeats():
    """attention_bwd: the forward runs in build (even under no_grad); each call returns fresh (dq, dk, dv)."""
    _kernel_or_skip("attention")
    w = WORKLOADS["attention_bwd"]
    s = w.shape("b1-h4-kv2-s67-d64-causal")
    inputs = w.make_inputs(s, "fp32", "cpu")
    with torch.no_grad():
        fn = w.impl("sdpa-math").build(inputs, "fp32")
    first, second = fn(), fn()
    assert len(first) == 3 and all(torch.equal(a, b) for a, b in zip(first, second))
    assert [tuple(g.shape) for g in first] == [(1, 4, 67, 64), (1, 2, 67, 64), (1, 2, 67, 64)]
    assert reference.check(first, w.reference(inputs), "fp32").ok
    assert not inputs["q"].requires_grad  # the shared inputs are left untouched


def test_floor_is_the_roofline_at_efficiency_one(capsys):
    """`gpucompare workloads --floor`: GEMM 8192³ bf16 on an H100 SXM floors at 2·8192³ / 989.4 TFLOP/s."""
    from gpucompare import cli

    assert cli.main(["workloads", "--tier", "gpu", "--floor", "h100", "--dtype", "bf16", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["floor"]["chip"] == "h100-sxm"
    rows = {(r["workload"], r["shape"]): r for r in out["floor"]["rows"]}
    g = rows[("gemm", "8192x8192x8192")]
    assert g["floor_s"] == pytest.approx(2 * 8192**3 / 989.4e12, rel=1e-3) and g["bound"] == "compute"
    assert g["memory_s"] == pytest.approx(3 * 8192 * 8192 * 2 / 3.35e12, rel=1e-3)
    d = rows[("decode_attention", "llama3-70b-b8-ctx32k")]
    assert d["bound"] == "memory" and d["floor_s"] == pytest.approx(d["memory_s"])
    # fp8 on an A100 is unsupported: a status, never a number
    assert cli.main(["workloads", "--tier", "gpu", "--floor", "a100", "--dtype", "fp8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["floor"]["rows"]
    assert rows and all(r["status"] == "unsupported" and r["floor_s"] is None for r in rows)


def test_select_workloads_by_name_or_family():
    from gpucompare.workloads import select_workloads

    assert [w.name for w in select_workloads(["attention"])] == [
        "attention_fwd",
        "attention_bwd",
        "decode_attention",
    ]
    assert [w.name for w in select_workloads(["gemm"])] == ["gemm"]  # the workload wins over the family
    assert [w.name for w in select_workloads(["triad", "bandwidth"])] == ["copy", "triad"]
    with pytest.raises(ValueError, match="unknown workload 'attn'"):
        select_workloads(["attn"])
