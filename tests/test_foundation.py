"""The one-place tables and helpers: dtypes, model dimensions, atomic writes, TOML reading, slugs."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from gpucompare import dims, dtypes, files
from gpucompare.errors import SpecError


def test_dtype_table_matches_torch_storage_and_tpp_bits():
    assert dtypes.DTYPES == ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8")
    assert dtypes.BITS["tf32"] == 32 and dtypes.BITS["fp8"] == 8 and dtypes.BITS["fp4"] == 4
    for name in dtypes.MEASURED_DTYPES:
        dt = dtypes.torch_dtype(name)
        assert torch.empty((), dtype=dt).element_size() == dtypes.get(name).bytes
    assert dtypes.torch_dtype("tf32") is torch.float32 and dtypes.name_of(torch.float32) == "fp32"
    assert dtypes.LOW_PRECISION == ("bf16", "fp16", "fp8")


@pytest.mark.parametrize("bad", ["fp99", "", None, 3])
def test_unknown_dtype_is_named(bad):
    with pytest.raises(ValueError, match="unknown dtype"):
        dtypes.get(bad)


def test_spec_only_dtypes_have_no_torch_storage():
    with pytest.raises(ValueError, match="unsupported dtype 'fp4'"):
        dtypes.torch_dtype("fp4")


def test_llama3_70b_layer_dimensions():
    m = dims.LLAMA3_70B
    assert (m.hidden, m.q_heads, m.kv_heads, m.head_dim, m.mlp, m.layers) == (8192, 64, 8, 128, 28672, 80)
    assert m.qkv_out == 10240 and m.attn_out == 8192
    assert [g[0] for g in m.gemms(4096)] == ["qkv", "out", "gate", "up", "down"]
    assert m.gemms(16)[-1] == ("down", 16, 8192, 28672)


def test_atomic_write_gives_the_umask_mode_and_leaves_no_temporary(tmp_path):
    old = os.umask(0o022)
    try:
        files.atomic_write(tmp_path / "sub" / "a.txt", "héllo\n")
    finally:
        os.umask(old)
    path = tmp_path / "sub" / "a.txt"
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_read_toml_turns_every_failure_into_the_callers_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"x = '\xff\xfe'\n")
    with pytest.raises(SpecError, match=r"bad\.toml: not UTF-8"):
        files.read_toml(bad, SpecError, "chip database")
    with pytest.raises(SpecError, match="cannot read chip database"):
        files.read_toml(tmp_path / "none.toml", SpecError, "chip database")
    bad.write_text("x = = 1\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        files.read_toml(bad, SpecError, "chip database")
    assert files.read_toml(None, SpecError, "x", text="a = 1", where="t")[0] == {"a": 1}


def test_slug():
    assert files.slug("NVIDIA H100 80GB/HBM3") == "nvidia-h100-80gb-hbm3"
    assert files.slug("..//") == "unknown"
