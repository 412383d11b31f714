"""The records (Shape, Impl, Workload): frozen, hashable, validated; lookups with clear errors; seeded inputs."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import torch
from workloads_support import REQUIRED

from gpucompare import dtypes
from gpucompare.workloads import WORKLOADS, Shape, element_bytes


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


def test_element_bytes_come_from_the_dtype_table():
    assert [element_bytes(d) for d in ("fp32", "tf32", "fp16", "bf16", "fp8")] == [4, 4, 2, 2, 1]
    for d in dtypes.MEASURED_DTYPES:
        assert element_bytes(d) == dtypes.get(d).bytes
    with pytest.raises(ValueError, match="unknown dtype"):
        element_bytes("fp7")


def test_dtypes_are_the_measured_ones_and_any_family_name_is_accepted():
    w = WORKLOADS["copy"]
    with pytest.raises(ValueError, match="unknown dtypes"):
        dataclasses.replace(w, dtypes=("fp32", "fp4"))
    assert (
        dataclasses.replace(w, family="collective").family == "collective"
    )  # a new family needs no edit here
    with pytest.raises(ValueError, match="family"):
        dataclasses.replace(w, family="not a name")
