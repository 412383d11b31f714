"""``gpucompare run --nproc N``: start N ranks on this node and watch every one of them (issue 22 item 7).

Before any rank starts: ``--out`` is proven writable (one line, exit 2) and the loopback interface answers
(one line, exit 3, instead of a hang and pages of C++ warnings). Each rank is ``python -m gpucompare run ...``
with the variables ``torchrun --standalone`` would give it (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR=127.0.0.1``, a free ``MASTER_PORT``; ``GLOO_SOCKET_IFNAME=lo`` unless set). Rank 0's output is
the run's; the other ranks' stderr goes to a file, quoted (its last line) only when that rank fails.

The watcher polls every rank. It names:

* a rank that **died**: its exit code, or the signal that killed it (``kill -9`` of rank 1 is "rank 1 was
  killed by SIGKILL", not "rank 0 exited");
* a rank that **stalled**: stopped (``SIGSTOP``, state ``T``) for longer than ``--timeout``, or still running
  ``--timeout`` + :data:`GRACE_S` seconds after another rank ended;

then stops the rest (SIGTERM, then SIGKILL after :data:`KILL_AFTER_S`), so the job ends within ``--timeout``
plus a few seconds. Records written so far stay (each is appended and fsynced when measured). Ctrl-C stops
every rank and ends as :class:`~gpucompare.errors.Interrupted`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpucompare.errors import EnvironmentProblem, GpucompareError, Interrupted

#: Seconds between two looks at the ranks.
POLL_S = 0.1
#: Seconds the other ranks get, beyond ``--timeout``, to end on their own once one rank has ended.
GRACE_S = 5.0
#: Seconds between SIGTERM and SIGKILL when stopping a rank.
KILL_AFTER_S = 2.0


def check_loopback() -> None:
    """The loopback interface accepts a connection (the ranks rendezvous there), else EnvironmentProblem."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=5):
                pass
    except OSError as exc:
        raise EnvironmentProblem(
            f"--nproc: the loopback interface (127.0.0.1) does not answer ({exc.strerror or exc}); the ranks "
            "meet there: bring 'lo' up or launch with torchrun/srun"
        ) from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Rank:
    rank: int
    proc: subprocess.Popen
    err_file: Path
    error_file: Path
    stopped_since: float | None = None
    cause: str | None = None  # why this rank is named: died / stalled
    detail: str = ""  # its own one-line error, when it has one

    def message(self) -> str:
        """The rank's own one-line error (its launcher error file), else its stderr's last line."""
        try:
            text = json.loads(self.error_file.read_text(encoding="utf-8")).get("message") or ""
        except (OSError, ValueError, AttributeError):
            text = ""
        if not text:
            try:
                lines = [ln for ln in self.err_file.read_text(errors="replace").splitlines() if ln.strip()]
            except OSError:
                lines = []
            text = lines[-1] if lines else ""
        text = " ".join(str(text).split())
        return text.removeprefix("gpucompare: error: ")[:400]


def _stopped(pid: int) -> bool:
    """True when the process is stopped (SIGSTOP/SIGTSTP: state T in /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Watch:
    ranks: list[Rank]
    timeout_s: float
    first_end: float | None = None
    failures: list[Rank] = field(default_factory=list)

    def step(self, now: float) -> bool:
        """Look at every rank once; True while the job goes on."""
        running = []
        for r in self.ranks:
            code = r.proc.poll()
            if code is None:
                running.append(r)
                r.stopped_since = (r.stopped_since or now) if _stopped(r.proc.pid) else None
                continue
            if self.first_end is None:
                self.first_end = now
            if code != 0 and r.cause is None:
                r.cause = _exit_text(code)
                self.failures.append(r)
        if not running:
            return False
        for r in running:
            if r.stopped_since is not None and now - r.stopped_since > self.timeout_s:
                r.cause = f"stalled (stopped for over {self.timeout_s:g} s)"
            elif self.first_end is not None and now - self.first_end > self.timeout_s + GRACE_S:
                r.cause = f"stalled (still running {self.timeout_s + GRACE_S:g} s after another rank ended)"
        stalled = [r for r in running if r.cause]
        if stalled:
            self.failures += stalled
            stop(self.ranks)
            return False
        return True


def stop(ranks: list[Rank]) -> None:
    """SIGTERM (a stopped rank is continued so it can act on it), then SIGKILL what is left."""
    for r in ranks:
        if r.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGCONT):
                with contextlib.suppress(OSError):
                    r.proc.send_signal(sig)
    deadline = time.monotonic() + KILL_AFTER_S
    for r in ranks:
        try:
            r.proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            r.proc.kill()
            r.proc.wait()


def _rank_env(rank: int, nproc: int, port: int, folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RANK=str(rank),
        WORLD_SIZE=str(nproc),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(nproc),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        TORCHELASTIC_ERROR_FILE=str(folder / f"rank{rank}.error.json"),
    )
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    return env


def launch(nproc: int, argv: list[str], timeout_s: float) -> list[Rank]:
    """Start the ranks and watch them to the end; the ranks that failed, first cause first (empty: ok)."""
    folder = Path(tempfile.mkdtemp(prefix="gpucompare-ranks-"))
    port = free_port()
    ranks: list[Rank] = []
    try:
        for i in range(nproc):
            err = folder / f"rank{i}.stderr"
            with open(err, "wb") as fh:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "gpucompare", *argv],
                    env=_rank_env(i, nproc, port, folder),
                    stdout=None if i == 0 else subprocess.DEVNULL,
                    stderr=None if i == 0 else fh,
                    stdin=subprocess.DEVNULL,
                )
            ranks.append(Rank(i, proc, err, folder / f"rank{i}.error.json"))
        watch = Watch(ranks, timeout_s)
        while watch.step(time.monotonic()):
            time.sleep(POLL_S)
        for r in watch.failures:
            r.detail = r.message()
        return watch.failures
    except KeyboardInterrupt:
        stop(ranks)
        raise Interrupted("every rank stopped; records written so far are kept") from None
    finally:
        stop(ranks)


def failure_line(failures: list[Rank], runs_hint: str) -> str:
    """One line: the rank that died or stalled first, then the others."""

    def one(r: Rank) -> str:
        quoted = r.detail and "stalled" not in (r.cause or "")
        return f"rank {r.rank} {r.cause}" + (f": {r.detail}" if quoted else "")

    # A rank killed by a signal or stalled is the cause; the others' errors are its consequences.
    order = sorted(
        failures, key=lambda r: not ((r.cause or "").startswith("was killed") or "stalled" in (r.cause or ""))
    )
    text = "; ".join(one(r) for r in order)
    return f"distributed run failed: {text}{runs_hint}"


def spawn(nproc: int, argv: list[str], out_dir: str, timeout_s: float) -> int:
    """Pre-flight checks, then the ranks; 0, or a GpucompareError naming the ranks that died or stalled."""
    from gpucompare.results import check_writable

    if nproc < 1:
        raise GpucompareError(f"--nproc must be at least 1, got {nproc}")
    out = check_writable(out_dir)  # one line naming the folder, before any rank starts
    check_loopback()
    before = {p.name for p in out.iterdir()}
    failures = launch(nproc, argv, timeout_s)
    if not failures:
        return 0
    runs = sorted(str(p) for p in out.iterdir() if p.is_dir() and p.name not in before)
    hint = f"; records so far in {runs[-1]}" if runs else ""
    raise GpucompareError(failure_line(failures, hint))
