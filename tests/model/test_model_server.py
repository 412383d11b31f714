"""The 8-GPU training server model: collective sizes, tokens/s with the link, fleet equivalence (serving is
:mod:`gpucompare.model.serving`'s, tested in test_serving.py)."""

from __future__ import annotations

import pytest

from gpucompare.dims import LLAMA3_70B
from gpucompare.model import comm, server
from gpucompare.specs import load_chips
from gpucompare.specs.published import load_published


def _rows():
    db = load_chips()
    return server.server_rows(
        [db.get(c) for c in server.SERVER_CHIPS], comm.published_points(load_published())
    )


def test_collective_sizes_per_layer():
    cfg = server.ServerConfig()
    train = server.comm_ops("train-dp", cfg)
    assert [op for _, op, _ in train] == ["reduce_scatter", "all_gather"]
    params = 8192 * 10240 + 8192 * 8192 + 3 * 8192 * 28672
    assert server.layer_params(LLAMA3_70B) == params and train[0][2] == 2 * params
    with pytest.raises(ValueError, match=r"serving: model\.serving"):
        server.comm_ops("decode-tp", cfg)


def test_server_rows_name_the_bound_and_the_link_matters():
    rows = {(r.chip_id, r.step): r for r in _rows()}
    assert len(rows) == len(server.SERVER_CHIPS) and all(r.status == "ok" for r in rows.values())
    for r in rows.values():
        assert r.bound in ("compute", "memory", "link") and 0 < r.comm_share < 1
        total = r.compute_s + r.memory_s + r.comm_s
        assert r.comm_share == pytest.approx(r.comm_s / total)
    # same compute and memory, 400 vs 900 GB/s NVLink: the H800 server is slower by its link alone
    h100, h800 = rows[("h100-sxm", "train-dp")], rows[("h800-sxm", "train-dp")]
    assert h100.compute_s == h800.compute_s and h800.comm_s > 2 * h100.comm_s
    assert h800.tokens_per_s < h100.tokens_per_s
    assert "borrowed" in rows[("ascend-910c", "train-dp")].comm_basis  # no HCCL figure: said so


def test_fleet_equivalence_is_the_tokens_per_second_ratio():
    rows = _rows()
    eq = server.fleet_equivalence(rows, "h200-sxm", "h20")
    by = {(r.chip_id, r.step): r.tokens_per_s for r in rows}
    assert eq["train-dp"] == pytest.approx(by[("h200-sxm", "train-dp")] / by[("h20", "train-dp")])
    assert eq["train-dp"] > 4  # the compute gap on training
    assert server.fleet_equivalence(rows, "h200-sxm", "nope") == {s: None for s in server.SERVER_STEPS}
