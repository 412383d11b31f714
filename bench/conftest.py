"""``pytest bench/``: every (workload, shape, dtype, impl) of a tier as one test; the project's timer
measures, pytest-benchmark stores.

Options (registered in the root ``conftest.py``): ``--tier cpu|gpu`` (default: gpu if a GPU is present, else
cpu; gpu without a GPU is a usage error), ``--workloads gemm,copy``, ``--dtypes fp16,bf16``, ``--results-dir``
(default ``results/runs``; a CPU-fallback run goes there too, in a ``*-cpu`` folder — nothing in tests/ reads
it, and ``gpucompare report`` can tell it apart by its mode).

Each test calls ``gpucompare.measure.runner.measure_one`` (correctness check first, then ``gpucompare.measure.timing``),
appends the record to the session's run folder, and then replays the measured per-repetition samples into
``benchmark.pedantic`` through a timer that returns them (rounds = count, iterations = 1, no warm-up), so
``benchmark.stats`` are exactly our samples and ``--benchmark-json/--benchmark-autosave/--benchmark-compare``
work as usual. ``benchmark.extra_info`` carries TFLOP/s, GB/s, % of local peak and the local peaks, the
error, the telemetry summary and the status; ``machine_info`` only facts of the machine (no measured peak, so
``--benchmark-compare`` between runs on one machine does not warn); each case's ``params`` is its id string
(``gemm-67x45x129-fp32-triton``). With ``--benchmark-disable`` every case still runs once: checked, then one
timed sample (the record's ``count`` is 1 and its ``method`` says so), and its record is written. run.json
holds the number of collected cases (``planned_cases``) and ``finished: true`` once all were written. A skipped implementation is ``pytest.skip(reason)``; a wrong output or an out-of-memory
error fails the test with the message and the session goes on; a sticky CUDA error (the context is lost)
ends the session with ``pytest.exit`` and one message, after writing that case's record.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from typing import Any

import pytest

from gpucompare import hw
from gpucompare.measure import runner
from gpucompare.results import RunWriter


class ReplayTimer:
    """A pytest-benchmark timer that reads a clock the benchmark target sets: start 0.0, end = one sample."""

    __name__ = "gpucompare-replay"

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class BenchState:
    """What one pytest session shares: the device, its description and peaks, the run writer, the records."""

    config: Any
    device: Any = None
    machine: dict | None = None
    peaks: dict | None = None
    writer: RunWriter | None = None
    timing_config: Any = None
    records: list = field(default_factory=list)
    replay: ReplayTimer = field(default_factory=ReplayTimer)
    cases: dict = field(
        default_factory=dict
    )  # case id (the test's parameter) -> (workload, shape, dtype, impl)
    planned: int | None = None  # the cases collected

    @property
    def command(self) -> str:
        return shlex.join(["pytest", *map(str, self.config.invocation_params.args)])

    def describe(self) -> tuple[dict, dict]:
        if self.machine is None:
            from gpucompare.measure import timing

            self.device = hw.default_device()
            self.machine, self.peaks = runner.describe_machine(self.device, self.command)
            self.machine["tier"] = tier_of(self.config)
            self.timing_config = timing.TimingConfig.for_device(self.device)
            if self.config.getoption("benchmark_disable", False):
                self.timing_config = self.timing_config.once()
        return self.machine, self.peaks

    def open(self) -> RunWriter:
        if self.writer is None:
            machine, _ = self.describe()
            self.writer = RunWriter(self.config.getoption("results_dir"), machine, planned_cases=self.planned)
        return self.writer


STATE = pytest.StashKey[BenchState]()


def pytest_configure(config):
    """Check --workloads and --dtypes once, before collection: a bad name is one usage error."""
    config.stash[STATE] = BenchState(config)
    wanted, dtypes = _csv_option(config, "workloads"), _csv_option(config, "dtypes")
    if not (wanted or dtypes):
        return
    from gpucompare import workloads

    try:
        workloads.select_workloads(wanted or ())
    except ValueError as exc:
        raise pytest.UsageError(f"--workloads: {exc}") from None
    known_dtypes = {d for w in workloads.WORKLOADS.values() for d in w.dtypes}
    bad = [d for d in dtypes or () if d not in known_dtypes]
    if bad:
        raise pytest.UsageError(
            f"--dtypes: unknown dtype {bad[0]!r}; known: {', '.join(sorted(known_dtypes))}"
        )


def _csv_option(config, name: str) -> list[str] | None:
    value = config.getoption(name, None)
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def tier_of(config) -> str:
    return config.getoption("tier", None) or runner.default_tier()


def pytest_generate_tests(metafunc):
    """Parametrise ``case`` over the tier's shapes × dtypes × impls of the module's ``BENCH_WORKLOADS``."""
    if "case" not in metafunc.fixturenames:
        return
    from gpucompare import workloads

    config = metafunc.config
    wanted = _csv_option(config, "workloads")
    dtypes = _csv_option(config, "dtypes")
    try:  # an unknown name is an error, never a silent drop
        names = [workloads.get_workload(n).name for n in getattr(metafunc.module, "BENCH_WORKLOADS", ())]
    except ValueError as exc:
        raise pytest.UsageError(f"{metafunc.module.__name__}.BENCH_WORKLOADS: {exc}") from None
    if wanted:
        chosen = {w.name for w in workloads.select_workloads(wanted)}
        names = [n for n in names if n in chosen]
    cases = []
    if names:
        try:
            cases = runner.plan(tier_of(config), only=names, dtypes=dtypes, device=hw.default_device())
        except ValueError as exc:
            if dtypes and "unknown dtype" in str(exc):
                cases = []  # this family has none of the requested dtypes; others may
            else:
                raise pytest.UsageError(str(exc)) from None
    # The parameter is the case's id (a plain string in --benchmark-json), the case itself is looked up.
    ids = [runner.case_id(*c) for c in cases]
    config.stash[STATE].cases.update(zip(ids, cases))
    metafunc.parametrize("case", ids, ids=ids)


def pytest_collection_modifyitems(config, items):
    """Every benchmark case uses the session's replay timer (pytest-benchmark's public ``timer`` option);
    a bench file with no case for the chosen workloads/dtypes/tier is deselected, not a skip."""
    state = config.stash[STATE]
    keep, empty = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "case" not in callspec.params:
            keep.append(item)
            continue
        case = state.cases.get(callspec.params["case"])
        if case is not None:
            item.add_marker(pytest.mark.benchmark(timer=state.replay, group=case[0].name))
            # a failed check stores nothing; the failure says why, pytest-benchmark need not warn as well
            item.add_marker(pytest.mark.filterwarnings("ignore:Benchmark fixture was not used"))
            keep.append(item)
        else:  # empty parameter set
            empty.append(item)
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = keep


def _case_of(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("case") if callspec is not None else None


@pytest.fixture(scope="session")
def bench_state(request) -> BenchState:
    state = request.config.stash[STATE]
    if state.planned is None:  # the cases left after collection and deselection
        state.planned = sum(_case_of(item) is not None for item in request.session.items)
    state.open()
    return state


def _telemetry_summary(record: dict) -> dict:
    tel = record.get("telemetry") or {}
    before, after = tel.get("before") or {}, tel.get("after") or {}
    return {
        "sm_clock_mhz": [before.get("sm_clock_mhz"), after.get("sm_clock_mhz")],
        "power_w": [before.get("power_w"), after.get("power_w")],
        "temperature_c": [before.get("temperature_c"), after.get("temperature_c")],
        "clock_event_reasons": after.get("clock_event_reasons"),
        "throttled": record.get("throttled"),
        "error": after.get("error"),
    }


def replay_samples(benchmark, timer: ReplayTimer, samples: list[float]) -> None:
    """Feed measured samples to pytest-benchmark: one round per sample, exact durations (start 0, end s)."""
    it = iter(samples)

    def setup() -> None:
        timer.now = 0.0

    def target() -> None:
        timer.now = next(it, 0.0)

    benchmark.pedantic(target, setup=setup, rounds=max(len(samples), 1), iterations=1, warmup_rounds=0)


@pytest.fixture
def measure_case(benchmark, bench_state):
    """``measure_case(case) -> record``: check, time, write the record, replay the samples."""

    def run(case) -> dict:
        state = bench_state
        w, shape, dtype, impl = case = state.cases[case] if isinstance(case, str) else case
        writer = state.open()
        samples: list[float] = []
        try:
            record = runner.measure_one(
                w,
                shape,
                dtype,
                impl,
                device=state.device,
                machine=writer.machine,
                peaks=state.peaks,
                timing_config=state.timing_config,
                command=state.command,
                run_id=writer.run_id,
                samples_out=samples,
            )
        except runner.DeviceLostError as lost:
            # a sticky CUDA error: every later case in this process would fail the same way
            try:
                writer.append(lost.record)
                state.records.append(lost.record)
            finally:
                pytest.exit(f"{lost} (records so far in {writer.path})", returncode=1)
        writer.append(record)
        state.records.append(record)
        benchmark.extra_info.update(
            workload=w.name,
            shape=shape.label,
            dtype=dtype,
            impl=impl.name,
            status=record["status"],
            reason=record["reason"],
            tflops=record["tflops"],
            gbps=record["gbps"],
            pct_of_peak=runner.percent_of_peak(record),
            rel_error=record["rel_error"],
            error_bound=record["error_bound"],
            median_s=record["median_s"],
            flops=record["flops"],
            bytes=record["bytes"],
            run_id=writer.run_id,
            telemetry=_telemetry_summary(record),
            local_peak_tflops=record["local_peak_tflops"],
            local_peak_bw_tbps=record["local_peak_bw_tbps"],
            local_peak_source=record["local_peak_source"],
        )
        if record["status"] == "skipped":
            pytest.skip(record["reason"])
        if record["status"] == "failed":
            pytest.fail(f"{runner.case_id(*case)}: {record['reason']}", pytrace=False)
        replay_samples(benchmark, state.replay, samples)
        if benchmark.stats is not None:  # None under --benchmark-disable
            stored = benchmark.stats.stats
            # equal up to the last bit (statistics.median vs the timing module's interpolated median)
            assert stored.rounds == len(samples), f"{stored.rounds} rounds stored, {len(samples)} measured"
            assert math.isclose(stored.median, record["median_s"], rel_tol=1e-12, abs_tol=0.0), (
                f"pytest-benchmark stored median {stored.median} != measured {record['median_s']}"
            )
        return record

    return run


def pytest_benchmark_update_machine_info(config, machine_info):
    """GPU facts beside pytest-benchmark's: device, chip id, cc, driver, CUDA, L2, versions. Facts of the
    machine only: the local peaks (measured on a CPU, so never twice the same) are in each case's extra_info."""
    machine, _ = config.stash[STATE].describe()
    keys = (
        "mode",
        "device_name",
        "chip_id",
        "compute_capability",
        "sm_count",
        "l2_bytes",
        "memory_gb",
        "versions",
    )
    machine_info["gpucompare"] = {k: machine.get(k) for k in keys}


def pytest_sessionfinish(session, exitstatus):
    """run.json says ``finished: true`` when every collected case was written."""
    state = session.config.stash.get(STATE, None)
    if state is not None and state.writer is not None and len(state.records) == state.planned:
        state.writer.finish()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(STATE, None)
    if state is None or not state.records:
        return
    terminalreporter.section("gpucompare")
    for line in runner.format_summary(state.records).splitlines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"records: {state.writer.path}")
