"""The background NVML sampler, against a fake NVML whose readings change with every call."""

from __future__ import annotations

import statistics
import sys
import threading
import time
import types

import pynvml
import pytest

from gpucompare.measure import telemetry


@pytest.fixture(autouse=True)
def fresh_nvml():
    telemetry._nvml.cache_clear()
    yield
    telemetry._nvml.cache_clear()


def _counting_nvml(clocks, powers, temps, fail_power=False):
    """A fake NVML that serves the next value of each list on each read (the last one repeats)."""
    reads = {"sm": 0, "power": 0, "temp": 0}
    ticked = threading.Event()

    def nxt(key, values):
        i = reads[key]
        reads[key] += 1
        if key == "temp":
            ticked.set()
        return values[min(i, len(values) - 1)]

    def power(h):
        if fail_power:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return nxt("power", powers)

    fake = types.SimpleNamespace(
        NVML_CLOCK_SM=pynvml.NVML_CLOCK_SM,
        NVML_TEMPERATURE_GPU=pynvml.NVML_TEMPERATURE_GPU,
        nvmlInit=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: f"handle{i}",
        nvmlDeviceGetClockInfo=lambda h, c: nxt("sm", clocks),
        nvmlDeviceGetPowerUsage=power,
        nvmlDeviceGetTemperature=lambda h, s: nxt("temp", temps),
    )
    return fake, reads, ticked


def test_sampler_reads_in_the_background_and_summarises_min_median_max(monkeypatch):
    clocks, powers, temps = [1980, 1755, 1900, 1600, 1700], [700_000, 650_000, 690_000], [60, 61, 62]
    fake, reads, _ = _counting_nvml(clocks, powers, temps)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with telemetry.Sampler(0, interval_s=0.001) as s:
        deadline = time.monotonic() + 5.0
        while reads["temp"] < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
    n = reads["temp"]
    assert n >= 5  # the thread kept reading while the main thread slept
    time.sleep(0.02)
    assert reads["temp"] == n  # and stopped when the block ended

    def served(values):  # what the fake returned over n reads (its last value repeats)
        return [float(values[min(i, len(values) - 1)]) for i in range(n)]

    out = s.summary()
    assert out["samples"] == n and out["error"] is None and out["interval_s"] == 0.001
    for key, values, scale in (
        ("sm_clock_mhz", clocks, 1),
        ("power_w", powers, 1e3),
        ("temperature_c", temps, 1),
    ):
        xs = [v / scale for v in served(values)]
        assert out[key] == {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}, key
    assert out["sm_clock_mhz"]["min"] == 1600.0 and out["power_w"]["max"] == 700.0


def test_readings_are_kept_per_tag(monkeypatch):
    fake, _, _ = _counting_nvml([1000, 2000, 3000, 4000], [100_000] * 4, [50] * 4)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    s = telemetry.Sampler(0)  # not entered: readings taken by hand instead of by the thread
    s._readers = telemetry._sample_readers(fake, "handle0")
    s.tag("triton")
    s.read_once()
    s.read_once()
    s.tag("torch")
    s.read_once()
    s.read_once()
    assert s.summary("triton")["sm_clock_mhz"] == {"min": 1000.0, "median": 1500.0, "max": 2000.0}
    assert s.summary("torch")["sm_clock_mhz"] == {"min": 3000.0, "median": 3500.0, "max": 4000.0}
    assert s.summary()["samples"] == 4 and s.summary("other")["samples"] == 0
    assert s.summary("other")["power_w"] is None


def test_a_failing_field_is_left_out_with_its_error(monkeypatch):
    fake, _, _ = _counting_nvml([1500], [0], [55], fail_power=True)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    s = telemetry.Sampler(0)
    s._readers = telemetry._sample_readers(fake, "handle0")
    s.read_once()
    out = s.summary()
    assert out["samples"] == 1 and out["power_w"] is None and out["sm_clock_mhz"]["max"] == 1500.0
    assert out["error"].startswith("power_w:")


def test_without_nvml_the_sampler_says_why_and_has_no_readings(monkeypatch):
    def broken_init():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setitem(sys.modules, "pynvml", types.SimpleNamespace(nvmlInit=broken_init))
    with telemetry.Sampler(0, interval_s=0.001) as s:
        s.tag("triton")
    out = s.summary("triton")
    assert out["samples"] == 0 and "NVML unavailable" in out["error"]
    assert out["sm_clock_mhz"] is None
