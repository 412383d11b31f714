"""Device description, chip resolution, local peaks and NVML telemetry (mocked where a GPU is needed)."""

from __future__ import annotations

import sys
import types

import pynvml
import pytest
import torch

from gpucompare import hw, specs
from gpucompare.errors import SpecError
from gpucompare.measure import device, telemetry
from gpucompare.measure import peaks as peakinfo


@pytest.fixture(autouse=True)
def fresh_nvml():
    telemetry._nvml.cache_clear()
    yield
    telemetry._nvml.cache_clear()


# ---------------------------------------------------------------------------------------------- clock-event reasons


@pytest.mark.parametrize(
    ("bits", "names"),
    [
        (0x0, []),
        (0x4, ["sw_power_cap"]),
        (0x8 | 0x40, ["hw_slowdown", "hw_thermal_slowdown"]),
        (0x1 | 0x2, ["gpu_idle", "applications_clocks_setting"]),
        (0x20 | 0x80 | 0x100, ["sw_thermal_slowdown", "hw_power_brake_slowdown", "display_clock_setting"]),
        (0x10 | 0x1000, ["sync_boost", "unknown_0x1000"]),
    ],
)
def test_decode_known_masks(bits, names):
    assert telemetry.decode_clock_event_reasons(bits) == names


@pytest.mark.parametrize(
    ("const", "name"),
    [
        ("nvmlClocksEventReasonGpuIdle", "gpu_idle"),
        ("nvmlClocksEventReasonSwPowerCap", "sw_power_cap"),
        ("nvmlClocksEventReasonHwSlowdown", "hw_slowdown"),
        ("nvmlClocksEventReasonSwThermalSlowdown", "sw_thermal_slowdown"),
        ("nvmlClocksEventReasonHwThermalSlowdown", "hw_thermal_slowdown"),
        ("nvmlClocksEventReasonHwPowerBrakeSlowdown", "hw_power_brake_slowdown"),
        ("nvmlClocksThrottleReasonSwPowerCap", "sw_power_cap"),
        ("nvmlClocksThrottleReasonSyncBoost", "sync_boost"),
    ],
)
def test_decode_matches_the_real_pynvml_constants(const, name):
    assert telemetry.decode_clock_event_reasons(getattr(pynvml, const)) == [name]


@pytest.mark.parametrize("bad", [-1, 1.5, "4", True])
def test_decode_rejects_non_masks(bad):
    with pytest.raises(ValueError):
        telemetry.decode_clock_event_reasons(bad)


def test_throttled_counts_slowdowns_not_idle_or_app_clocks():
    idle = {"clock_event_reasons": ["gpu_idle", "applications_clocks_setting"]}
    capped = {"clock_event_reasons": ["sw_power_cap"]}
    hot = {"clock_event_reasons": ["hw_thermal_slowdown"]}
    unknown = {"clock_event_reasons": None}
    assert telemetry.throttled(idle, capped) is True
    assert telemetry.throttled(hot, idle) is True
    assert telemetry.throttled(idle, {"clock_event_reasons": []}) is False
    assert telemetry.throttled(unknown, unknown) is None
    assert telemetry.throttled(None, None) is None
    assert telemetry.throttled(unknown, idle) is False


# ---------------------------------------------------------------------------------------------- telemetry


def _assert_all_null(snap):
    assert set(snap) == {*telemetry.TELEMETRY_FIELDS, "error"}
    assert all(snap[k] is None for k in telemetry.TELEMETRY_FIELDS)


def test_telemetry_without_pynvml_is_null_with_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    snap = telemetry.telemetry_snapshot()
    _assert_all_null(snap)
    assert "pynvml" in snap["error"]


def test_telemetry_when_nvml_init_raises_is_null_with_reason(monkeypatch):
    fake = types.SimpleNamespace(nvmlInit=_raiser(pynvml.NVMLError_LibraryNotFound))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    snap = telemetry.telemetry_snapshot(0)
    _assert_all_null(snap)
    assert snap["error"].startswith("NVML unavailable") and "NVMLError_LibraryNotFound" in snap["error"]
    assert device.versions()["driver"] is None


def _raiser(exc_type):
    def fail(*args, **kwargs):
        raise exc_type(pynvml.NVML_ERROR_NOT_SUPPORTED) if exc_type is pynvml.NVMLError else exc_type()

    return fail


def _fake_nvml(**overrides):
    """An NVML with the older ``...ThrottleReasons`` API only, one handle, and fixed readings."""
    clocks = {
        (pynvml.NVML_CLOCK_SM, "cur"): 1755,
        (pynvml.NVML_CLOCK_SM, "max"): 1980,
        (pynvml.NVML_CLOCK_MEM, "cur"): 2619,
        (pynvml.NVML_CLOCK_MEM, "max"): 2619,
    }
    fake = types.SimpleNamespace(
        NVML_CLOCK_SM=pynvml.NVML_CLOCK_SM,
        NVML_CLOCK_MEM=pynvml.NVML_CLOCK_MEM,
        NVML_TEMPERATURE_GPU=pynvml.NVML_TEMPERATURE_GPU,
        nvmlInit=lambda: None,
        nvmlSystemGetDriverVersion=lambda: "580.65.06",
        nvmlDeviceGetHandleByIndex=lambda i: f"handle{i}",
        nvmlDeviceGetClockInfo=lambda h, c: clocks[(c, "cur")],
        nvmlDeviceGetMaxClockInfo=lambda h, c: clocks[(c, "max")],
        nvmlDeviceGetPowerUsage=lambda h: 512_345,
        nvmlDeviceGetEnforcedPowerLimit=lambda h: 700_000,
        nvmlDeviceGetTemperature=lambda h, s: 61,
        nvmlDeviceGetCurrentClocksThrottleReasons=lambda h: 0x4 | 0x1,
        NVML_PERF_POLICY_POWER=pynvml.NVML_PERF_POLICY_POWER,
        NVML_PERF_POLICY_THERMAL=pynvml.NVML_PERF_POLICY_THERMAL,
        violation_ns={pynvml.NVML_PERF_POLICY_POWER: 5_000, pynvml.NVML_PERF_POLICY_THERMAL: 0},
    )
    fake.nvmlDeviceGetViolationStatus = lambda h, policy: types.SimpleNamespace(
        referenceTime=123, violationTime=fake.violation_ns[policy]
    )
    for key, value in overrides.items():
        setattr(fake, key, value)
    return fake


def test_telemetry_reads_each_field_and_uses_the_older_throttle_api(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml())
    snap = telemetry.telemetry_snapshot(0)
    assert snap == {
        "sm_clock_mhz": 1755.0,
        "sm_clock_max_mhz": 1980.0,
        "mem_clock_mhz": 2619.0,
        "mem_clock_max_mhz": 2619.0,
        "power_w": pytest.approx(512.345),
        "power_limit_w": 700.0,
        "temperature_c": 61.0,
        "clock_event_reasons": ["gpu_idle", "sw_power_cap"],
        "power_violation_ns": 5_000,
        "thermal_violation_ns": 0,
        "error": None,
    }
    assert telemetry.throttled(snap, snap) is True
    assert device.versions()["driver"] == "580.65.06"


def test_telemetry_field_failures_are_isolated(monkeypatch):
    fake = _fake_nvml(
        nvmlDeviceGetPowerUsage=_raiser(pynvml.NVMLError),  # NotSupported on this board
        nvmlDeviceGetCurrentClocksEventReasons=lambda h: 0x8,  # the newer API wins when present
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    snap = telemetry.telemetry_snapshot()
    assert snap["power_w"] is None
    assert snap["power_limit_w"] == 700.0 and snap["temperature_c"] == 61.0
    assert snap["clock_event_reasons"] == ["hw_slowdown"]
    assert snap["error"].startswith("power_w:")


def test_telemetry_handle_failure_is_null_with_reason(monkeypatch):
    monkeypatch.setitem(
        sys.modules, "pynvml", _fake_nvml(nvmlDeviceGetHandleByIndex=_raiser(pynvml.NVMLError))
    )
    snap = telemetry.telemetry_snapshot(3)
    _assert_all_null(snap)
    assert "GPU 3" in snap["error"]


def test_nvml_is_initialised_once(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(nvmlInit=lambda: calls.append(1)))
    telemetry.telemetry_snapshot()
    telemetry.telemetry_snapshot()
    device.versions()
    assert calls == [1]


# ---------------------------------------------------------------------------------------------- describe on the CPU


@pytest.mark.skipif(hw.has_gpu(), reason="checks the CPU fallback")
def test_describe_cpu_fallback():
    desc = device.describe()
    assert desc["mode"] == "cpu-fallback" and desc["device"] == "cpu"
    assert desc["chip_id"] is None and "CPU" in desc["chip_match_reason"]
    assert desc["compute_capability"] is None and desc["l2_bytes"] is None and desc["sm_count"] is None
    assert isinstance(desc["device_name"], str) and desc["device_name"]
    assert desc["cpu_cores"] >= 1 and desc["hostname"]
    v = desc["versions"]
    assert set(v) == {"python", "torch", "triton", "cuda", "driver", "gpucompare"}
    assert v["torch"] == torch.__version__ and v["gpucompare"]
    assert device.l2_cache_bytes("cpu") is None
    with pytest.raises(ValueError, match="no CUDA GPU"):
        device.describe("cuda")


def test_describe_rejects_other_device_types():
    with pytest.raises(ValueError, match="unsupported device"):
        device.describe("meta")


def test_cpu_peaks_are_measured_and_cached(monkeypatch):
    monkeypatch.setattr(peakinfo, "CPU_MM_SIZES", {"fp32": (256, 2), "bf16": (128, 1), "fp16": (32, 1)})
    monkeypatch.setattr(peakinfo, "CPU_COPY_BYTES", 8 * 2**20)
    peakinfo._measure_cpu_peaks.cache_clear()
    try:
        peaks = peakinfo.local_peaks({"mode": "cpu-fallback"})
        assert peaks["source"] == "measured-cpu" and peaks["chip_id"] is None
        tf = peaks["tflops"]
        assert set(tf) == set(specs.DTYPES)
        assert 1e-4 < tf["fp32"] < 20.0  # GFLOP/s to a few TFLOP/s on any CPU
        assert tf["bf16"] > 0 and tf["fp16"] > 0
        assert tf["tf32"] is None and tf["fp8"] is None and tf["fp64"] is None
        assert 1e-4 < peaks["bandwidth_tbps"] < 5.0
        fp32 = tf["fp32"]
        peaks["tflops"]["fp32"] = -1.0  # a caller's mutation does not reach the cache
        again = peakinfo.measured_cpu_peaks()
        assert again["tflops"]["fp32"] == fp32
        assert peakinfo._measure_cpu_peaks.cache_info().hits >= 1
    finally:
        peakinfo._measure_cpu_peaks.cache_clear()


def test_local_peaks_rejects_a_non_description():
    with pytest.raises(ValueError, match="mode"):
        peakinfo.local_peaks({"device_name": "x"})


# ---------------------------------------------------------------------------------------------- a mocked GPU


def _props(name, cc, sms, mem_bytes, clock_khz, mem_khz, bus_bits, l2=50 * 2**20):
    return types.SimpleNamespace(
        name=name,
        major=cc[0],
        minor=cc[1],
        multi_processor_count=sms,
        total_memory=mem_bytes,
        L2_cache_size=l2,
        clock_rate=clock_khz,
        memory_clock_rate=mem_khz,
        memory_bus_width=bus_bits,
    )


@pytest.fixture
def fake_gpu(monkeypatch):
    """Make torch report one CUDA device with the given properties (no NVML)."""
    monkeypatch.setitem(sys.modules, "pynvml", None)

    def install(props):
        monkeypatch.setattr(hw, "has_gpu", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i=None: props)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)

    return install


H100_PCIE_BYTES = 81_559 * 2**20  # what the driver reports for an 80 GB part (85.5 GB)


def test_h100_pcie_resolves_to_the_pcie_part(fake_gpu):
    fake_gpu(_props("NVIDIA H100 PCIe", (9, 0), 114, H100_PCIE_BYTES, 1_755_000, 1_593_000, 5120))
    desc = device.describe("cuda:0")
    assert desc["mode"] == "gpu" and desc["device_name"] == "NVIDIA H100 PCIe"
    assert desc["chip_id"] == "h100-pcie", desc["chip_match_reason"]
    assert desc["compute_capability"] == "9.0" and desc["sm_count"] == 114
    assert desc["l2_bytes"] == 50 * 2**20 and desc["memory_gb"] == pytest.approx(85.52, abs=0.01)
    assert desc["clock_rate_mhz"] == 1755.0 and desc["memory_bus_width_bits"] == 5120
    peaks = peakinfo.local_peaks(desc)
    assert peaks["source"] == "spec" and peaks["chip_id"] == "h100-pcie"
    pcie, sxm = specs.get_chip("h100-pcie"), specs.get_chip("h100-sxm")
    assert peaks["tflops"]["bf16"] == pcie.peak_tflops["bf16"] != sxm.peak_tflops["bf16"]
    assert peaks["bandwidth_tbps"] == pcie.bandwidth_tbps != sxm.bandwidth_tbps
    assert device.l2_cache_bytes("cuda") == 50 * 2**20


def test_sm_count_mismatch_is_not_matched_and_is_estimated(fake_gpu):
    fake_gpu(_props("NVIDIA H100 PCIe", (9, 0), 132, H100_PCIE_BYTES, 1_755_000, 1_593_000, 5120))
    desc = device.describe()
    assert desc["chip_id"] is None and "132" in desc["chip_match_reason"]
    peaks = peakinfo.local_peaks(desc)
    assert peaks["source"] == "estimated-from-device" and peaks["chip_id"] is None
    # 132 SMs × 1755 MHz × 4096 FLOP/clk/SM, not any database chip's figure
    assert peaks["tflops"]["bf16"] == pytest.approx(132 * 1.755e9 * 4096 / 1e12)
    assert peaks["bandwidth_tbps"] == pytest.approx(2 * 1.593e9 * 5120 / 8 / 1e12)  # 2.04 TB/s


def test_unknown_geforce_sm89_is_estimated_with_half_rate_tensor_math(fake_gpu):
    fake_gpu(
        _props(
            "NVIDIA GeForce RTX 4090", (8, 9), 128, 25_386_352_640, 2_520_000, 10_501_000, 384, l2=72 * 2**20
        )
    )
    desc = device.describe()
    assert desc["chip_id"] is None and desc["chip_match_reason"]
    peaks = peakinfo.local_peaks(desc)
    assert peaks["source"] == "estimated-from-device"
    tf = peaks["tflops"]
    # NVIDIA's Ada whitepaper: RTX 4090 82.6 fp32, 165.2 fp16 (fp32 accumulate), 330.3 fp8, 660.6 int8 TOPS
    assert tf["fp32"] == pytest.approx(82.6, rel=0.01)
    assert tf["fp16"] == pytest.approx(165.2, rel=0.01) and tf["bf16"] == tf["fp16"]
    assert tf["fp8"] == pytest.approx(330.3, rel=0.01)
    assert tf["int8"] == pytest.approx(660.6, rel=0.01)
    assert tf["fp4"] is None
    assert peaks["bandwidth_tbps"] == pytest.approx(1.008, rel=0.01)
    assert any("GeForce" in n for n in peaks["notes"])


def test_workstation_sm89_gets_the_full_tensor_rate():
    desc = {
        "mode": "gpu",
        "device_name": "NVIDIA L40 Mystery",
        "compute_capability": "8.9",
        "sm_count": 142,
        "clock_rate_mhz": 2520.0,
        "memory_clock_mhz": 2250.0,
        "memory_bus_width_bits": 384,
        "chip_id": None,
    }
    tf = peakinfo.local_peaks(desc)["tflops"]
    assert tf["bf16"] == pytest.approx(362.05, rel=0.02)  # the L40S datasheet figure (quoted at ~2.49 GHz)
    assert tf["fp8"] == pytest.approx(2 * tf["bf16"])


def test_unknown_architecture_or_missing_clock_gives_unknown_not_a_crash():
    base = {
        "mode": "gpu",
        "device_name": "NVIDIA Future",
        "sm_count": 200,
        "chip_id": None,
        "memory_clock_mhz": 4000.0,
        "memory_bus_width_bits": 8192,
    }
    peaks = peakinfo.local_peaks({**base, "compute_capability": "13.7", "clock_rate_mhz": 2000.0})
    assert all(v is None for v in peaks["tflops"].values())
    assert peaks["bandwidth_tbps"] == pytest.approx(8.192)
    assert any("13.7" in n for n in peaks["notes"])
    peaks = peakinfo.local_peaks(
        {**base, "compute_capability": "9.0", "clock_rate_mhz": None, "memory_clock_mhz": None}
    )
    assert all(v is None for v in peaks["tflops"].values()) and peaks["bandwidth_tbps"] is None


def test_clocks_missing_from_torch_come_from_nvml(fake_gpu, monkeypatch):
    props = _props("NVIDIA GeForce RTX 4090", (8, 9), 128, 25_386_352_640, None, None, None)
    fake_gpu(props)
    nvml = _fake_nvml(nvmlDeviceGetMemoryBusWidth=lambda h: 384)
    nvml.nvmlDeviceGetMaxClockInfo = lambda h, c: 2520 if c == pynvml.NVML_CLOCK_SM else 10501
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    desc = device.describe()
    assert (desc["clock_rate_mhz"], desc["memory_clock_mhz"], desc["memory_bus_width_bits"]) == (
        2520.0,
        10501.0,
        384,
    )
    assert peakinfo.local_peaks(desc)["bandwidth_tbps"] == pytest.approx(1.008, rel=0.01)
    assert desc["versions"]["driver"] == "580.65.06"


def test_spec_database_failure_is_a_reason_not_a_crash(fake_gpu, monkeypatch):
    def broken(*args, **kwargs):
        raise SpecError("chips.toml: bad field")

    monkeypatch.setattr(specs, "match_device", broken)
    fake_gpu(_props("NVIDIA H100 PCIe", (9, 0), 114, H100_PCIE_BYTES, 1_755_000, 1_593_000, 5120))
    desc = device.describe()
    assert desc["chip_id"] is None and "bad field" in desc["chip_match_reason"]


# ---------------------------------------------------------------------------------------------- real GPU


@pytest.mark.gpu
def test_describe_real_gpu():
    desc = device.describe("cuda")
    assert desc["mode"] == "gpu" and desc["sm_count"] > 0 and desc["l2_bytes"] > 0
    peaks = peakinfo.local_peaks(desc)
    assert peaks["source"] in ("spec", "estimated-from-device")
    snap = telemetry.telemetry_snapshot(0)
    assert set(snap) == {*telemetry.TELEMETRY_FIELDS, "error"}


def test_throttle_during_the_measurement_is_seen_by_the_violation_counters(monkeypatch):
    fake = _fake_nvml(nvmlDeviceGetCurrentClocksThrottleReasons=lambda h: 0x1)  # idle before and after
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    before = telemetry.telemetry_snapshot(0)
    after = telemetry.telemetry_snapshot(0)
    assert telemetry.throttled(before, after) is False  # counters unchanged, no slowdown reason
    fake.violation_ns[pynvml.NVML_PERF_POLICY_THERMAL] += 2_000_000  # a thermal slowdown came and went
    after = telemetry.telemetry_snapshot(0)
    assert after["clock_event_reasons"] == ["gpu_idle"]
    assert telemetry.throttled(before, after) is True
    # counters only (reasons unreadable) still answer; nothing readable is unknown
    no_reasons = {"clock_event_reasons": None, "power_violation_ns": 1, "thermal_violation_ns": 1}
    assert telemetry.throttled(no_reasons, dict(no_reasons)) is False
    assert telemetry.throttled(no_reasons, {**no_reasons, "power_violation_ns": 2}) is True
    assert telemetry.throttled({"clock_event_reasons": None}, {"clock_event_reasons": None}) is None
