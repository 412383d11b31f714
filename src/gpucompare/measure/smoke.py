"""The smoke step of a GPU campaign: every autotune config the tier will try, launched once, under a watchdog.

    python -m gpucompare.measure.smoke --tier gpu [--only W1,W2] --out smoke.jsonl
        [--config-timeout 30] [--case-timeout 180] [--total-timeout 300]

A config that was never run on a GPU (warp-specialised ones, say) may deadlock or fault. Found inside the
autotuner, a deadlock burns the whole device call and a fault ends the tier. So before the tier, a *child*
process runs every Triton case of the tier (its real shapes, so exactly the configs each autotune key keeps)
with the autotuner's benchmark replaced by one watched launch per config, and reports each on stdout. The
*parent* (this process, which never touches the GPU) watches: no answer within ``--config-timeout`` after a
launch began is a hang, a child that dies inside a launch is a fault; either way the child is killed (its
process group), the config is recorded and pruned, and a fresh child goes on after the last finished case.
A config that raises is recorded and pruned as well (a CUDA error leaves the context unusable: the child
exits after it and a fresh one goes on).

Every result is appended to ``--out`` (JSON lines, flushed) as it comes: ``{"case", "config", "status":
ok|error|hung|fault, "seconds", "error"}``; a config is named ``"<kernel> <triton.Config>"``
(:func:`gpucompare.kernels._common.config_label`). The tier then runs with ``GPUCOMPARE_PRUNED_CONFIGS`` set to
that file: the autotuners skip every config recorded there as error, hung or fault.

The child runs with ``TRITON_CACHE_AUTOTUNING=0`` (its one-launch "timings" must never reach the autotune
cache the tier reads). On the CPU (Triton's interpreter, one config per kernel) the same steps run with the
case calls watched, which is what the CI rehearsal checks.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

PRUNING = ("error", "hung", "fault")


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


# ------------------------------------------------------------------------------------------------- child


def _watched_autotuner(skip: set[str]) -> None:
    """The autotuner's per-config benchmark becomes: say which config starts, launch it once, synchronise,
    say it finished (or failed, then exit: the context may be unusable); a config in ``skip`` is not run."""
    import torch
    from triton.runtime import autotuner

    from gpucompare.kernels._common import config_label

    real_bench = autotuner.Autotuner._bench

    def one_launch(kernel_call, quantiles=None, **_: Any) -> list[float]:
        t0 = time.perf_counter()
        kernel_call()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) * 1e3
        return [ms, ms, ms]

    def bench(self, *args, config, **meta):
        label = config_label(self.base_fn.__name__, config)
        if label in skip:
            return [float("inf")] * 3
        _emit("start", config=label)
        t0 = time.perf_counter()
        try:
            result = real_bench(self, *args, config=config, **meta)
        except Exception as exc:  # the tier's autotuner would fail on it too
            _emit("error", config=label, error=f"{type(exc).__name__}: {str(exc)[:300]}")
            sys.exit(3)
        _emit("ok", config=label, seconds=round(time.perf_counter() - t0, 4))
        return result

    autotuner.Autotuner._bench = bench
    autotuner.Autotuner.do_bench = property(lambda self: one_launch)
    autotuner.Autotuner.check_disk_cache = lambda self, key, configs, bench_fn: bench_fn() or False


def child(tier: str, only: Sequence[str] | None, state: Path) -> int:
    """Run every Triton case of the tier not yet done (``state``: done cases, pruned configs) once."""
    os.environ["TRITON_CACHE_AUTOTUNING"] = "0"
    from gpucompare import hw

    hw.configure_triton()
    import torch

    from gpucompare.measure import case as casemod
    from gpucompare.measure import runner

    saved = json.loads(state.read_text()) if state.is_file() else {}
    done, skip = set(saved.get("done", [])), set(saved.get("pruned", []))
    os.environ["GPUCOMPARE_PRUNED_CONFIGS"] = ""  # the pruned set comes from the state file, not the env
    _watched_autotuner(skip)
    dev = hw.default_device()
    for w, shape, dtype, impl in runner.plan(tier, only, device=dev):
        cid = runner.case_id(w, shape, dtype, impl)
        if not impl.triton or cid in done:
            continue
        ok, why = casemod.impl_available(impl, dtype, dev, shape)
        if not ok:
            _emit("case", case=cid, status="skipped", error=why[:200])
            continue
        _emit("case_start", case=cid)
        t0 = time.perf_counter()
        try:
            impl.build(w.make_inputs(shape, dtype, dev, seed=0), dtype)()
            if dev.type == "cuda":
                torch.cuda.synchronize()
        except Exception as exc:
            _emit("case", case=cid, status="error", error=f"{type(exc).__name__}: {str(exc)[:300]}")
            return 3
        _emit("case", case=cid, status="ok", seconds=round(time.perf_counter() - t0, 3))
    return 0


# ------------------------------------------------------------------------------------------------ parent


class Watch:
    """The parent's bookkeeping: what finished, what was pruned, the records written to ``out``."""

    def __init__(self, out: IO[str], state: Path) -> None:
        self.out, self.state = out, state
        self.done: list[str] = []
        self.pruned: list[str] = []
        self.records = 0

    def record(self, case: str | None, config: str | None, status: str, **extra: Any) -> None:
        row = {"case": case, "config": config, "status": status, **extra}
        self.out.write(json.dumps(row) + "\n")
        self.out.flush()
        self.records += 1
        if status in PRUNING and config:
            self.pruned.append(config)
        self.state.write_text(json.dumps({"done": self.done, "pruned": self.pruned}))

    def finish_case(self, case: str) -> None:
        self.done.append(case)
        self.state.write_text(json.dumps({"done": self.done, "pruned": self.pruned}))


class _Lines:
    """The child's stdout, line by line, with a timeout (unbuffered reads of the pipe: a buffered reader could
    hold lines that ``select`` no longer sees)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.fd = proc.stdout.fileno()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.buf = b""

    def next(self, timeout: float) -> str | None:
        """The next line; '' at the end; None when ``timeout`` seconds pass without a whole one."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                line, self.buf = self.buf, b""
                return line.decode(errors="replace")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace") + "\n"

    def close(self) -> None:
        self.sel.close()


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


class _Open:
    """What one child has begun and not finished: its case, its config launch, whether it reported an error."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self.case: str | None = None
        self.config: str | None = None
        self.errored = False
        self.began = time.monotonic()

    def on(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        extra = {k: event[k] for k in ("seconds", "error") if k in event}
        if kind == "case_start":
            self.case, self.config = event["case"], None
        elif kind == "start":
            self.config, self.began = event["config"], time.monotonic()
        elif kind in ("ok", "error"):
            self.watch.record(self.case, event["config"], kind, **extra)
            self.config, self.errored = None, kind == "error"
        elif kind == "case":
            self.watch.record(event["case"], None, event["status"], **extra)
            self.watch.finish_case(event["case"])
            self.case, self.errored = None, event["status"] == "error"

    def lost(self, status: str, **extra: Any) -> None:
        """The child hung or died with this open: record it (a case outside a launch is not retried)."""
        if self.errored or (self.case is None and self.config is None):
            return
        self.watch.record(self.case, self.config, status, **extra)
        if self.config is None and self.case:
            self.watch.finish_case(self.case)


def _one_child(
    cmd: list[str], watch: Watch, config_timeout: float, case_timeout: float, deadline: float
) -> str:
    """Run one child to its end; 'finished', 'restart' (after a hang, a fault or an error) or 'timeout'."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True)
    lines = _Lines(proc)
    state = _Open(watch)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                state.lost("hung" if state.config else "timeout", error="the smoke step's time ran out")
                return "timeout"
            line = lines.next(min(left, config_timeout if state.config else case_timeout))
            if line is None and time.monotonic() >= deadline:
                state.lost("hung" if state.config else "timeout", error="the smoke step's time ran out")
                return "timeout"
            if line is None:  # no word from the child in time: hung (a launch or a case)
                state.lost("hung", seconds=round(time.monotonic() - state.began, 1))
                return "restart"
            if line == "":
                rc = proc.wait()
                if rc == 0 and state.config is None and state.case is None:
                    return "finished"
                state.lost("fault", error=f"the child exited with status {rc}")
                return "restart"
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a library's own print
            if isinstance(event, dict):
                state.on(event)
    finally:
        if proc.poll() is None:
            _kill(proc)
        lines.close()
        proc.stdout.close()


def smoke(
    child_cmd: list[str],
    out: Path,
    *,
    config_timeout: float = 30.0,
    case_timeout: float = 180.0,
    total_timeout: float = 300.0,
    max_restarts: int = 20,
) -> dict[str, Any]:
    """Run ``child_cmd`` (+ ``--state FILE``) under the watchdog until it finishes; return the summary."""
    deadline = time.monotonic() + total_timeout
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpucompare-smoke-") as tmp, out.open("a") as stream:
        watch = Watch(stream, Path(tmp) / "state.json")
        ending, restarts = "restart", 0
        while ending == "restart" and restarts <= max_restarts:
            ending = _one_child(
                [*child_cmd, "--state", str(watch.state)], watch, config_timeout, case_timeout, deadline
            )
            restarts += ending == "restart"
    return {"ending": ending, "restarts": restarts, "records": watch.records, "pruned": watch.pruned,
            "cases": len(watch.done)}  # fmt: skip


def read_pruned(path: str | Path) -> set[str]:
    """The configs a smoke file prunes (status error, hung or fault); a missing or unreadable line is skipped."""
    pruned: set[str] = set()
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return pruned
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("status") in PRUNING and isinstance(row.get("config"), str):
            pruned.add(row["config"])
    return pruned


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", choices=("cpu", "gpu"), default=None)
    p.add_argument("--only", default="", help="workloads or families, comma-separated")
    p.add_argument("--out", default="smoke.jsonl", help="JSON lines, appended")
    p.add_argument("--config-timeout", type=float, default=30.0)
    p.add_argument("--case-timeout", type=float, default=180.0)
    p.add_argument("--total-timeout", type=float, default=300.0)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--state", default=None, help=argparse.SUPPRESS)
    ns = p.parse_args(argv)
    only = [x for x in ns.only.split(",") if x] or None
    if ns.child:
        from gpucompare.measure import runner

        return child(ns.tier or runner.default_tier(), only, Path(ns.state))
    cmd = [sys.executable, "-m", "gpucompare.measure.smoke", "--child"]
    cmd += ["--tier", ns.tier] if ns.tier else []
    cmd += ["--only", ns.only] if ns.only else []
    summary = smoke(
        cmd, Path(ns.out), config_timeout=ns.config_timeout, case_timeout=ns.case_timeout,
        total_timeout=ns.total_timeout,
    )  # fmt: skip
    print(json.dumps(summary), flush=True)
    return 0 if summary["ending"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
