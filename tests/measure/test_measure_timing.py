"""The timing rule: statistics by hand, the stopping rules on a fake clock, a real CPU sleep, throughput."""

from __future__ import annotations

import contextlib
import math
import time
import types

import numpy as np
import pytest
import torch

from gpucompare import hw
from gpucompare.measure import timing
from gpucompare.measure.timing import Timing, TimingConfig, measure, summarise, throughput

# ---------------------------------------------------------------------------------------------- summarise


def test_summarise_known_samples_by_hand():
    t = summarise([5.0, 1.0, 4.0, 2.0, 3.0], noise_target=0.5)
    assert isinstance(t, Timing)
    assert t.median_s == 3.0
    # linear interpolation: p20 at position 0.2·4 = 0.8 -> 1 + 0.8·(2-1); p80 at 3.2 -> 4 + 0.2·(5-4)
    assert t.p20_s == pytest.approx(1.8)
    assert t.p80_s == pytest.approx(4.2)
    assert (t.min_s, t.max_s, t.mean_s, t.count) == (1.0, 5.0, 3.0, 5)
    assert t.cv == pytest.approx(math.sqrt(2.5) / 3.0)  # sample stdev of 1..5 is sqrt(2.5)
    assert t.rel_iqr == pytest.approx((4.0 - 2.0) / 3.0)
    assert t.samples_s == (5.0, 1.0, 4.0, 2.0, 3.0)  # kept in measurement order
    assert not t.noise_target_met  # 0.667 > 0.5
    assert summarise([5.0, 1.0, 4.0, 2.0, 3.0], noise_target=0.7).noise_target_met


def test_summarise_even_count_interpolates():
    t = summarise([4.0, 1.0, 3.0, 2.0])
    assert t.median_s == pytest.approx(2.5)
    assert t.p20_s == pytest.approx(1.6)
    assert t.p80_s == pytest.approx(3.4)
    assert t.rel_iqr == pytest.approx((3.25 - 1.75) / 2.5)


def test_percentiles_agree_with_numpy_linear():
    rng = np.random.default_rng(0)
    xs = rng.lognormal(size=37).tolist()
    t = summarise(xs)
    assert t.median_s == pytest.approx(np.percentile(xs, 50))
    assert t.p20_s == pytest.approx(np.percentile(xs, 20))
    assert t.p80_s == pytest.approx(np.percentile(xs, 80))
    q25, q75 = np.percentile(xs, [25, 75])
    assert t.rel_iqr == pytest.approx((q75 - q25) / np.median(xs))
    assert t.cv == pytest.approx(np.std(xs, ddof=1) / np.mean(xs))


def test_summarise_single_sample_is_not_a_stable_median():
    t = summarise([2e-3], noise_target=0.01)
    assert (t.median_s, t.p20_s, t.p80_s, t.cv, t.rel_iqr) == (2e-3, 2e-3, 2e-3, 0.0, 0.0)
    assert not t.noise_target_met


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, -1e-3], [float("inf")]])
def test_summarise_rejects_bad_samples(bad):
    with pytest.raises(ValueError):
        summarise(bad)


# ---------------------------------------------------------------------------------------------- measure on a fake clock


class FakeClock:
    """perf_counter that only moves when the measured function runs: each call takes the next duration."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = list(durations)
        self.calls = 0

    def perf_counter(self) -> float:
        return self.now

    def fn(self) -> None:
        d = self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        self.now += d


@pytest.fixture
def clock(monkeypatch):
    def make(durations):
        c = FakeClock(durations)
        monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=c.perf_counter))
        return c

    return make


CFG = TimingConfig(
    min_reps=3,
    max_reps=1000,
    budget_s=10.0,
    warmup_reps=2,
    warmup_s=1000.0,
    noise_target=0.01,
    flush_l2=False,
)


def test_warmup_is_excluded_and_noise_target_stops_at_min_reps(clock):
    c = clock([100.0, 50.0] + [1.0] * 100)  # two slow warm-up calls, then a steady 1 s
    t = measure(c.fn, device="cpu", config=CFG)
    assert t.samples_s == (1.0, 1.0, 1.0)
    assert t.count == 3 and t.noise_target_met and not t.budget_exhausted
    assert t.method == "perf_counter"
    assert c.calls == 5


def test_noisy_function_stops_on_the_budget(clock):
    c = clock([0.0] * 2 + [1.0, 2.0] * 100)  # rel_iqr never below 1 %
    t = measure(c.fn, device="cpu", config=CFG)
    # samples 1,2,1,2,1,2,1 sum to 10 s = the budget
    assert t.count == 7
    assert t.budget_exhausted and not t.noise_target_met
    assert t.rel_iqr > 0.01


def test_max_reps_caps_the_count(clock):
    c = clock([0.0] * 2 + [1.0, 2.0] * 100)
    t = measure(c.fn, device="cpu", config=CFG, max_reps=4, budget_s=1e6)
    assert t.count == 4 and t.budget_exhausted


def test_min_reps_is_a_floor_even_past_the_budget(clock):
    c = clock([5.0] * 2 + [5.0, 9.0, 5.0, 9.0])
    t = measure(c.fn, device="cpu", config=CFG, budget_s=1.0, min_reps=4)
    assert t.count == 4 and t.budget_exhausted


def test_warmup_stops_at_warmup_s(clock):
    c = clock([3.0, 3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0])
    t = measure(c.fn, device="cpu", config=CFG, warmup_reps=100, warmup_s=5.0)
    # the cold call, then warm calls until 5 s after it: 3 s, 6 s >= 5 s -> three warm-up calls in all
    assert c.calls - t.count == 3
    assert t.samples_s[:1] == (3.0,)


def test_a_slow_cold_call_does_not_eat_the_warmup(clock):
    # the first call compiles and autotunes (1000 s); it must not end the warm-up nor be a sample
    c = clock([1000.0] + [2.0] * 5 + [1.0] * 50)
    t = measure(c.fn, device="cpu", config=CFG, warmup_reps=100, warmup_s=9.0)
    assert c.calls - t.count == 6  # cold + five warm calls of 2 s (10 s >= 9 s)
    assert t.samples_s == (1.0, 1.0, 1.0) and t.max_s < 1000.0


def test_samples_are_taken_with_the_garbage_collector_paused(clock):
    import gc

    c = clock([1.0] * 50)
    states = []

    def fn():
        states.append(gc.isenabled())
        c.fn()

    assert gc.isenabled()
    t = measure(fn, device="cpu", config=CFG)
    assert states[: c.calls - t.count] == [True] * (c.calls - t.count)  # warm-up: untouched
    assert states[c.calls - t.count :] == [False] * t.count  # samples: paused
    assert gc.isenabled()  # restored


def test_keyword_overrides_the_config(clock):
    c = clock([1.0] * 50)
    t = measure(c.fn, device="cpu", config=CFG, min_reps=9)
    assert t.count == 9


# ---------------------------------------------------------------------------------------------- the GPU loop, faked


@pytest.fixture
def fake_cuda(monkeypatch, clock):
    """Run the CUDA-event loop on the CPU: events read the fake clock, the L2 flush costs 5 s of it."""
    log: list[str] = []

    class Event:
        def __init__(self, enable_timing=False):
            assert enable_timing
            self.t = None

        def record(self, stream=None):
            assert stream == "stream"  # the current stream, where the flush and fn's kernels go
            self.t = timing.time.perf_counter()
            self.synced = False
            log.append("record")

        def elapsed_time(self, end):  # milliseconds, like torch.cuda.Event
            assert self.synced and end.synced, "elapsed_time before a synchronize"
            return (end.t - self.t) * 1e3

    class Buffer:
        def __init__(self, nbytes):
            self.nbytes = nbytes

        def zero_(self):
            log.append("flush")
            c.now += 5.0

    sizes: list[int] = []

    def flush_buffer(nbytes, dev):
        sizes.append(nbytes)
        return Buffer(nbytes)

    monkeypatch.setattr(hw, "has_gpu", lambda: True)
    monkeypatch.setattr(timing.devinfo, "l2_cache_bytes", lambda dev: 50 * 2**20)
    monkeypatch.setattr(timing.devinfo, "cuda_index", lambda dev: 0)
    monkeypatch.setattr(timing, "_flush_buffer", flush_buffer)
    monkeypatch.setattr(timing, "_read", lambda buf: log.append("read"))

    def synchronize(dev=None):
        log.append("sync")
        for e in events:
            e.synced = True

    events: list = []
    real_event = Event

    def make_event(enable_timing=False):
        e = real_event(enable_timing)
        events.append(e)
        return e

    monkeypatch.setattr(torch.cuda, "synchronize", synchronize)
    monkeypatch.setattr(torch.cuda, "Event", make_event)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda dev=None: "stream")
    monkeypatch.setattr(torch.cuda, "device", lambda idx: contextlib.nullcontext())
    # 1 GHz (torch reports kHz); the sleep kernel is logged with its cycles and takes no fake time
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda dev: types.SimpleNamespace(clock_rate=10**6)
    )
    monkeypatch.setattr(torch.cuda, "_sleep", lambda cycles: log.append(f"sleep {cycles}"), raising=False)
    c = clock([1.0])

    def run(durations, **kwargs):
        c.durations = list(durations)

        def fn():
            log.append("fn")
            c.fn()

        return measure(fn, device="cuda", **kwargs), log, sizes

    run.log, run.clock = log, c
    return run


def test_gpu_loop_flushes_outside_the_events_and_sizes_from_l2(fake_cuda):
    t, log, sizes = fake_cuda(
        [2.0] * 100, config=TimingConfig.for_device("cuda"), warmup_reps=3, warmup_s=1e9, budget_s=1e9
    )
    assert t.method == "cuda-events+l2-flush"
    assert sizes == [2 * 50 * 2**20] * 2  # 2 × the device's L2 written, 2 × read, allocated once
    assert t.samples_s == (2.0,) * 10  # min_reps of the GPU config; the 5 s flush is never timed
    assert t.noise_target_met
    # synchronised warm-up, then one batch of 10 timed repetitions, one sync; before each start event the flush,
    # then a sleep covering the host's time: 2 x 2 s of host time per call is past the 10 ms cap
    assert t.host_launch_s == 2.0 and t.sleep_s == timing.SLEEP_CAP_S
    sleep = f"sleep {int(timing.SLEEP_CAP_S * 1e9)}"
    # the write then the read of the second buffer: the dirty lines go back to memory before the start event
    flush = ["flush", "read"]
    assert log == ["sync"] + [*flush, "fn", "sync"] * 3 + [*flush, sleep, "record", "fn", "record"] * 10 + [
        "sync"
    ]


def test_gpu_warmup_and_batches_ignore_the_cold_autotuning_call(fake_cuda):
    # cold call 1000 s (autotuning), then 2 or 3 s per call + 5 s flush: 7.5 s per warm repetition
    t, log, _ = fake_cuda(
        [1000.0] + [2.0, 3.0] * 500, warmup_reps=100, warmup_s=20.0, budget_s=100.0, min_reps=10
    )
    assert set(t.samples_s) == {2.0, 3.0} and t.budget_exhausted and not t.noise_target_met
    warmup = log[: log.index("record")]
    assert warmup.count("fn") == 4  # cold + three warm calls (7, 15, 22 s >= 20 s after the cold call)
    # 10 samples (75 s), then batches sized by 7.5 s per repetition: 2, 1, 1 -> 4 synchronisations
    timed = log[log.index("record") - 1 :]
    assert timed.count("sync") == 4 and t.count == 14


def test_gpu_loop_respects_budget_and_max_reps(fake_cuda):
    t, _, _ = fake_cuda(
        [0.0] * 3 + [1.0, 3.0] * 600, warmup_reps=3, warmup_s=1e9, budget_s=200.0, min_reps=4, max_reps=1000
    )
    # each repetition costs 5 s (flush) + 2 s on average: the budget allows about 200 / 7 repetitions
    assert t.budget_exhausted and not t.noise_target_met
    assert 4 <= t.count <= 200 / 7 + 2
    t, _, _ = fake_cuda(
        [0.0] * 3 + [1.0, 3.0] * 600, warmup_reps=3, warmup_s=1e9, budget_s=1e9, min_reps=4, max_reps=9
    )
    assert t.count == 9 and t.budget_exhausted


def test_gpu_loop_without_flush(fake_cuda):
    t, log, sizes = fake_cuda([1.0] * 50, flush_l2=False, warmup_reps=1, min_reps=5)
    assert sizes == [] and "flush" not in log and t.count == 5
    # warmup_reps=1 has no warm call: one extra call measures the host time the sleep must cover
    assert log[:4] == ["sync", "fn", "sync", "fn"] and t.host_launch_s == 1.0


def test_gpu_loop_without_busy_start_sleeps_never(fake_cuda):
    t, log, _ = fake_cuda([1.0] * 50, busy_start=False, warmup_reps=2, min_reps=5)
    assert not any(x.startswith("sleep") for x in log) and t.sleep_s is None and t.count == 5


def test_the_write_only_flush_is_still_available_and_recorded(fake_cuda):
    t, log, sizes = fake_cuda([1.0] * 50, flush_mode="write", warmup_reps=2, min_reps=5)
    assert sizes == [2 * 50 * 2**20] and "read" not in log and t.count == 5
    write = timing.method_description(TimingConfig(flush_mode="write", l2_bytes=2**20), "cuda")
    both = timing.method_description(TimingConfig(l2_bytes=2**20), "cuda")
    assert (write["flush"], write["flush_bytes"]) == ("write", 2 * 2**20)
    assert (both["flush"], both["flush_bytes"]) == ("write+read", 4 * 2**20) and both["version"] == 3
    with pytest.raises(ValueError, match="flush_mode must be one of write, write\\+read, got 'read'"):
        TimingConfig(flush_mode="read")


def test_one_slow_warm_call_does_not_size_every_sleep():
    """The sleep follows the p90 of the warm calls' host times: one 8 ms call (an allocation) among 24 of
    20 µs gives a 60 µs sleep, not the 10 ms cap."""
    hosts = [20e-6] * 24 + [8e-3]
    assert timing.host_time(hosts) == pytest.approx(20e-6)
    assert timing.sleep_seconds(timing.host_time(hosts)) == pytest.approx(60e-6)
    assert timing.host_time([1e-3, 2e-3]) == pytest.approx(1.9e-3) and timing.host_time([]) is None


def test_sleep_covers_twice_the_host_time_plus_a_floor():
    assert timing.sleep_seconds(5e-6) == pytest.approx(2 * 5e-6 + 20e-6)
    assert timing.sleep_seconds(None) == pytest.approx(timing.SLEEP_FLOOR_S)
    assert timing.sleep_seconds(1.0) == timing.SLEEP_CAP_S


def test_method_description_says_how_the_start_is_held_and_the_order():
    gpu = timing.method_description(TimingConfig(l2_bytes=2**20), "cuda", order=("triton", "torch"))
    assert gpu["version"] == timing.METHOD_VERSION >= 2
    assert gpu["start"].startswith("gpu-busy") and gpu["flush_bytes"] == 2**22  # written + read
    assert (gpu["order"], gpu["interleaved_with"]) == ("interleaved", ["triton", "torch"])
    cpu = timing.method_description(TimingConfig.for_device("cpu"), "cpu", order=("torch",))
    assert (cpu["start"], cpu["order"], cpu["interleaved_with"]) == ("host", "alone", [])


# ---------------------------------------------------------------------------------------------- interleaving


def test_cpu_implementations_alternate_a_b_a_b(clock):
    c = clock([1.0] * 200)
    calls, batches = [], []

    def impl(name):
        def fn():
            calls.append(name)
            c.fn()

        return fn

    cfg = TimingConfig(min_reps=6, max_reps=6, budget_s=1e9, warmup_reps=2, warmup_s=1e9, noise_target=0.0)
    out = timing.measure_many(
        {"a": impl("a"), "b": impl("b")}, device="cpu", config=cfg, on_batch=batches.append
    )
    assert set(out) == {"a", "b"} and out["a"].count == out["b"].count == 6
    assert calls[:4] == ["a", "a", "b", "b"]  # each warmed up (cold + one warm call), a first
    assert calls[4:] == ["a", "b"] * 6  # then one call of each per round, in order
    assert batches == ["a", "b"] * 6


def test_an_implementation_that_stops_early_leaves_the_rotation(clock):
    c = clock([1.0] * 400)
    calls = []
    noisy = iter([1.0, 3.0] * 100)

    def steady():
        calls.append("s")
        c.fn()

    def jumpy():
        calls.append("j")
        c.now += next(noisy)

    cfg = TimingConfig(min_reps=3, max_reps=8, budget_s=1e9, warmup_reps=1, warmup_s=1e9, noise_target=0.01)
    out = timing.measure_many({"s": steady, "j": jumpy}, device="cpu", config=cfg)
    assert out["s"].count == 3 and out["s"].noise_target_met  # stable: stops at min_reps
    assert out["j"].count == 8 and out["j"].budget_exhausted  # noisy: runs to max_reps alone
    timed = calls[2:]
    assert timed[:6] == ["s", "j"] * 3 and timed[6:] == ["j"] * 5


def test_gpu_batches_alternate_and_are_sliced_by_the_budget(fake_cuda, monkeypatch):
    fake_cuda([1.0], warmup_reps=2)  # sets the fakes up (one measurement)
    log, c = fake_cuda.log, fake_cuda.clock
    log.clear()

    def impl(name):
        def fn():
            log.append(name)
            c.now += 1.0

        return fn

    # 1 s per call + 5 s flush = 6 s per repetition; a batch lasts at most 120 / 8 = 15 s -> 2 repetitions
    cfg = TimingConfig(min_reps=6, max_reps=6, budget_s=120.0, warmup_reps=2, warmup_s=1e9, l2_bytes=2**20)
    out = timing.measure_many({"a": impl("a"), "b": impl("b")}, device="cuda", config=cfg)
    assert out["a"].count == out["b"].count == 6
    timed = [x for x in log[log.index("record") - 2 :] if x in ("a", "b")]
    assert timed == ["a", "a", "b", "b"] * 3


# ---------------------------------------------------------------------------------------------- measure, real clock


def test_measure_cpu_sleep_median_and_budget():
    sleep_s = 2e-3
    budget = 0.15
    t0 = time.perf_counter()
    t = measure(lambda: time.sleep(sleep_s), device="cpu", budget_s=budget, noise_target=0.0, min_reps=3)
    wall = time.perf_counter() - t0
    assert sleep_s <= t.median_s < sleep_s + 8e-3  # sleep never returns early; a loaded VM may be late
    assert t.min_s >= sleep_s
    assert 3 <= t.count <= budget / sleep_s + 1
    assert t.budget_exhausted and not t.noise_target_met  # a 0 % noise target cannot be met by sleep
    assert wall < budget + 0.2  # budget respected (+ warm-up and one call)


def test_cpu_default_config_is_small_and_gpu_default_flushes():
    cpu = TimingConfig.for_device("cpu")
    assert cpu.budget_s <= 0.25 and cpu.min_reps == 3 and not cpu.flush_l2
    gpu = TimingConfig.for_device("cuda")
    assert 0.5 <= gpu.budget_s <= 1.0 and gpu.min_reps >= 10 and gpu.flush_l2
    assert gpu.warmup_reps == 25 and gpu.warmup_s == 0.1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_reps": 0},
        {"min_reps": 5, "max_reps": 4},
        {"budget_s": -1.0},
        {"noise_target": float("nan")},
        {"l2_bytes": 0},
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        TimingConfig(**kwargs)


def test_measure_rejects_misuse():
    with pytest.raises(ValueError, match="callable"):
        measure(42, device="cpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported device"):
        measure(lambda: None, device="meta")
    if not hw.has_gpu():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            measure(lambda: None, device="cuda")


# ---------------------------------------------------------------------------------------------- throughput


def test_throughput_maths():
    assert throughput(2e12, 3e9, 0.5) == pytest.approx((4.0, 6.0))
    tf, gb = throughput(2 * 4096**3, 3 * 4096 * 4096 * 2, 1e-3)
    assert tf == pytest.approx(137.438953472)
    assert gb == pytest.approx(100.663296)
    assert throughput(0, 1e9, 1.0) == (0.0, 1.0)
    assert throughput(None, 1e9, 2.0) == (None, 0.5)


@pytest.mark.parametrize(
    "args",
    [(1.0, 1.0, 0.0), (1.0, 1.0, -1.0), (1.0, 1.0, float("nan")), (-1.0, 1.0, 1.0), (1.0, float("inf"), 1.0)],
)
def test_throughput_rejects_bad_input(args):
    with pytest.raises(ValueError):
        throughput(*args)


# ---------------------------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cuda_events_agree_with_wall_clock():
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    t = measure(lambda: a @ a, device="cuda")
    assert t.method == "cuda-events+l2-flush"
    assert t.count >= 10
    torch.cuda.synchronize()
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ a
    torch.cuda.synchronize()
    wall = (time.perf_counter() - t0) / reps
    assert 0.7 * wall <= t.median_s <= 1.5 * wall


@pytest.mark.gpu
def test_l2_flush_is_outside_the_timed_events():
    x = torch.ones(1, device="cuda")
    # a 1 GiB flush takes >= ~0.3 ms on any current GPU; the timed one-element add takes microseconds
    t = measure(lambda: x.add_(1), device="cuda", l2_bytes=512 * 2**20, budget_s=0.3)
    assert t.median_s < 1e-4
