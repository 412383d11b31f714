"""The registry: the required workloads, well formed, in family-module order; lookups by name or family; the
CPU tier's size; every available CPU implementation against its reference."""

from __future__ import annotations

import pytest
from torch.nn.attention import SDPBackend, sdpa_kernel
from workloads_support import REQUIRED, all_shapes, count_flops, kernel_or_skip

from gpucompare import reference
from gpucompare.workloads import FAMILIES, INTENTS, WORKLOADS, get_workload, select_workloads
from gpucompare.workloads.attention import ATTENTION_IMPLS
from gpucompare.workloads.registry import FAMILY_MODULES, build_registry


def test_registry_has_the_required_workloads():
    assert set(REQUIRED) <= set(WORKLOADS)
    for name, w in WORKLOADS.items():
        assert w.name == name
        assert w.family in FAMILIES and w.intent in INTENTS
    assert WORKLOADS["gemm"].intent == "compute" and WORKLOADS["gemm_decode"].intent == "memory"
    assert WORKLOADS["decode_attention"].intent == "memory" and WORKLOADS["triad"].family == "bandwidth"
    assert {i.name for i in WORKLOADS["attention_fwd"].impls} == set(ATTENTION_IMPLS)


@pytest.mark.parametrize("name", REQUIRED)
def test_workload_is_well_formed(name):
    w = WORKLOADS[name]
    assert sum(i.baseline for i in w.impls) == 1
    assert w.baseline.name in ("torch", "sdpa-flash")
    labels = [s.label for s in all_shapes(w)]
    assert len(labels) == len(set(labels))
    assert w.shapes("cpu") and w.shapes("gpu")
    assert set(w.cpu_dtypes) <= set(w.dtypes) and not {"tf32", "fp8"} & set(w.cpu_dtypes)
    for s in all_shapes(w):
        assert set(s.params) == set(w.params)
        assert w.flops(s) >= 0 and w.bytes(s, w.dtypes[0]) > 0
    assert w.shape(labels[0]) is all_shapes(w)[0]


def test_get_workload_error_names_the_known_ones():
    assert get_workload("gemm") is WORKLOADS["gemm"]
    with pytest.raises(ValueError) as exc:
        get_workload("gemmm")
    msg = str(exc.value)
    assert "'gemmm'" in msg and all(name in msg for name in REQUIRED)


def test_select_workloads_by_name_or_family():
    assert [w.name for w in select_workloads(["attention"])] == [
        "attention_fwd",
        "attention_bwd",
        "decode_attention",
    ]
    assert [w.name for w in select_workloads(["gemm"])] == ["gemm"]  # the workload wins over the family
    assert [w.name for w in select_workloads(["triad", "bandwidth"])] == ["copy", "triad"]
    with pytest.raises(ValueError, match="unknown workload 'attn'"):
        select_workloads(["attn"])


def test_cpu_measurement_count_stays_small():
    """`pytest bench/` on 2 cores: (workload × cpu shape × cpu dtype × available impl) stays around 40.
    Collectives are skipped (no distributed launch), so they cost nothing and are not counted in ``upper``."""
    single = [w for w in WORKLOADS.values() if w.intent != "communication"]
    upper = sum(len(w.shapes("cpu")) * len(w.dtypes_for("cpu")) * len(w.impls) for w in single)
    n = sum(
        w.availability(i, d, "cpu", s)[0]
        for w in WORKLOADS.values()
        for s in w.shapes("cpu")
        for d in w.dtypes_for("cpu")
        for i in w.impls
    )
    assert n <= 44 and upper <= 56


def test_pytorch_impls_flops_match_flop_counter_on_cpu():
    """The registered PyTorch closures themselves, run on the CPU tier (math SDPA so torch counts it)."""
    kernel_or_skip("gemm")
    kernel_or_skip("attention")
    kernel_or_skip("decode")
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
            assert count_flops(fn) == w.flops(s), name


def test_every_cpu_impl_matches_the_reference():
    """Each available CPU-tier implementation, first CPU shape and dtype, against the workload's reference."""
    for mod in ("gemm", "attention", "decode", "bandwidth"):
        kernel_or_skip(mod)
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
    single = {"attention", "collective"}  # collectives run only under a distributed launch (their own tests)
    assert all((name, w.baseline.name) in ran for name, w in WORKLOADS.items() if w.family not in single)


def test_registry_follows_the_family_modules_in_order():
    assert FAMILY_MODULES == ("gemm", "attention", "decode", "bandwidth", "collective")
    assert list(WORKLOADS) == list(REQUIRED)
    assert FAMILIES == ("gemm", "attention", "bandwidth", "collective")
    assert build_registry(FAMILY_MODULES) == WORKLOADS


def test_a_workload_registered_twice_is_an_error():
    with pytest.raises(ValueError, match="'gemm' is registered twice"):
        build_registry(("gemm", "bandwidth", "gemm"))
