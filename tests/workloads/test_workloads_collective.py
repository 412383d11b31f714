"""The collective family's counts against nccl-tests' definitions (src/<op>.cu: *GetCollByteCount, *GetBw)."""

from __future__ import annotations

import pytest
import torch

from gpucompare import reference
from gpucompare.workloads.collective import (
    OPS,
    bandwidths,
    bus_factor,
    chunk_elements,
    message_bytes,
    rank_input,
)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8, 16])
def test_bus_factors_are_nccl_tests(n):
    # nccl-tests: AllReduceGetBw 2*(nranks-1)/nranks; AllGather, ReduceScatter, AlltoAll (nranks-1)/nranks;
    # Broadcast and SendRecv 1
    assert bus_factor("all_reduce", n) == pytest.approx(2 * (n - 1) / n)
    for op in ("all_gather", "reduce_scatter", "all_to_all"):
        assert bus_factor(op, n) == pytest.approx((n - 1) / n)
    assert bus_factor("broadcast", n) == bus_factor("send_recv", n) == 1.0


def test_algbw_and_busbw_arithmetic():
    # 1 GiB all-reduce on 8 ranks in 4 ms: algbw = S / t / 1e9, busbw = algbw * 14/8
    algbw, busbw = bandwidths("all_reduce", 1 << 30, 4e-3, 8)
    assert algbw == pytest.approx((1 << 30) / 4e-3 / 1e9)
    assert busbw == pytest.approx(algbw * 1.75)
    assert bandwidths("all_gather", 1 << 30, 4e-3, 8)[1] == pytest.approx(algbw * 7 / 8)
    with pytest.raises(ValueError, match="unknown collective"):
        bus_factor("gather", 8)
    with pytest.raises(ValueError, match="positive integer"):
        bus_factor("all_reduce", 0)


@pytest.mark.parametrize(("dtype", "elt"), [("fp32", 4), ("bf16", 2)])
def test_chunks_round_down_to_16_bytes_as_nccl_tests(dtype, elt):
    # AllGatherGetCollByteCount: base = (count / nranks) & ~(16 / eltSize - 1); size moved = base * nranks
    size, n = 32768, 3
    count = size // elt
    base = (count // n) & ~(16 // elt - 1)
    assert chunk_elements("all_gather", size, dtype, n) == base
    assert message_bytes("all_gather", size, dtype, n) == base * n * elt < size
    assert message_bytes("all_reduce", size, dtype, n) == size  # whole buffer
    assert message_bytes("all_to_all", size, dtype, 8) == size  # power-of-two ranks: nothing lost


def test_reference_of_every_op_on_three_ranks():
    base = torch.arange(1, 7, dtype=torch.float32)  # 6 elements, chunks of 2 on 3 ranks
    x = [rank_input(base, j, "fp32") for j in range(3)]  # base + j/4
    ref = {op: reference.collective_ref(op, lambda j: x[j], 1, 3) for op in OPS}
    assert torch.equal(ref["all_reduce"], (x[0] + x[1] + x[2]).double())
    assert torch.equal(ref["all_gather"], torch.cat(x).double())
    assert torch.equal(ref["reduce_scatter"], (x[0][2:4] + x[1][2:4] + x[2][2:4]).double())
    assert torch.equal(ref["all_to_all"], torch.cat([x[0][2:4], x[1][2:4], x[2][2:4]]).double())
    assert torch.equal(ref["broadcast"], x[0].double()) and torch.equal(ref["send_recv"], x[0].double())
    assert torch.equal(reference.collective_ref("send_recv", lambda j: x[j], 2, 3), x[2].double())
