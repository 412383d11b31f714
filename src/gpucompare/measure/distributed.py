"""A distributed launch: who this rank is, the process group, every rank's environment, the timing rule
for collectives, and how a dead or hung rank is found.

Launch: ``torchrun`` (or ``python -m torch.distributed.run``) sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``; under Slurm's ``srun`` without torchrun, ``SLURM_PROCID``,
``SLURM_NTASKS`` and ``SLURM_LOCALID`` stand for the first three and ``MASTER_ADDR`` / ``MASTER_PORT`` must
be exported by the job script. Backend: NCCL when this rank has a CUDA GPU (``cuda:LOCAL_RANK``), gloo on
the CPU. The group's ``timeout_s`` bounds every collective: a rank that dies or hangs makes the others'
collective fail within it (gloo raises; NCCL with ``TORCH_NCCL_BLOCKING_WAIT=1``, set here unless the user
set it, raises too instead of aborting the process).

Timing (nccl-tests' rule, ``src/common.cu`` of NVIDIA/nccl-tests): ``warmup`` untimed calls, then
``iters`` iterations, each preceded by a barrier so that every rank starts together; each iteration is
timed on its own rank (CUDA events around the call on a GPU, ``perf_counter`` around the blocking gloo
call on the CPU), and the iteration's time is the slowest rank's (an all-reduce MAX of the per-iteration
times, as nccl-tests' per-iteration report). The statistics are :func:`gpucompare.measure.timing.summarise`'s.

Progress: each rank writes ``<case index>:<phase>`` to the group's key-value store before each phase; when a
collective fails, the ranks still alive read every rank's progress and name the ranks that are behind.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from gpucompare.errors import GpucompareError, first_line
from gpucompare.measure import device as devinfo
from gpucompare.measure import timing

_SLURM = {"RANK": "SLURM_PROCID", "WORLD_SIZE": "SLURM_NTASKS", "LOCAL_RANK": "SLURM_LOCALID"}
#: NCCL settings recorded with each rank's environment (the algorithm and protocol where the user fixed them).
NCCL_ENV = ("NCCL_ALGO", "NCCL_PROTO", "NCCL_NVLS_ENABLE", "NCCL_P2P_LEVEL", "NCCL_IB_HCA", "NCCL_DEBUG")
_PROGRESS = "gpucompare/progress/"


class DistributedError(GpucompareError):
    """A distributed run cannot go on: a launch problem, or a collective that failed (a rank died or hung)."""


@dataclass(frozen=True)
class Launch:
    """This process's place in the job, from the launcher's environment variables."""

    rank: int
    world_size: int
    local_rank: int
    launcher: str  # "torchrun" | "slurm"


def launch_from_env(environ: Mapping[str, str] | None = None) -> Launch | None:
    """The launch this process is part of, or None when it was started alone (no ``WORLD_SIZE``/``RANK``).

    :class:`DistributedError` for a half-set or malformed environment (names the variable)."""
    env = os.environ if environ is None else environ
    launcher = "torchrun" if "RANK" in env or "WORLD_SIZE" in env else None
    if launcher is None and "SLURM_PROCID" in env and "MASTER_ADDR" in env:
        launcher = "slurm"
    if launcher is None:
        return None
    values = {}
    for key, slurm in _SLURM.items():
        name = key if launcher == "torchrun" else slurm
        raw = env.get(name, "0" if key == "LOCAL_RANK" else None)
        try:
            values[key] = int(raw)
        except (TypeError, ValueError):
            raise DistributedError(f"distributed launch: {name}={raw!r} is not an integer") from None
    if not 0 <= values["RANK"] < values["WORLD_SIZE"]:
        raise DistributedError(
            f"distributed launch: rank {values['RANK']} is outside a world of size {values['WORLD_SIZE']}"
        )
    return Launch(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"], launcher)


#: Joining and setting up (rank 0 describes the machine while the others wait) may take longer than a case.
SETUP_TIMEOUT_S = 300.0


def init_group(launch: Launch, timeout_s: float) -> torch.device:
    """Join the process group (NCCL on this rank's GPU, else gloo); return this rank's device. The group's
    timeout is ``max(timeout_s, SETUP_TIMEOUT_S)`` until :func:`set_case_timeout` lowers it."""
    if launch.launcher == "slurm":
        for key, slurm in _SLURM.items():
            os.environ.setdefault(key, os.environ.get(slurm, "0"))
    if torch.cuda.is_available():
        dev = torch.device("cuda", launch.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
        os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")
        backend = "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=max(timeout_s, SETUP_TIMEOUT_S)))
    except Exception as exc:
        raise DistributedError(
            f"rank {launch.rank}: could not join the process group ({backend}): {first_line(exc)}"
        ) from None
    return dev


def set_case_timeout(timeout_s: float) -> None:
    """The timeout every later collective of the group gets (torch's ``_set_pg_timeout``; where a torch
    lacks it, the setup timeout stays)."""
    setter = getattr(dist.distributed_c10d, "_set_pg_timeout", None)
    if setter is not None:
        setter(timedelta(seconds=timeout_s))


def backend_version(backend: str) -> str | None:
    """``nccl 2.21.5`` / ``gloo (torch 2.13.0)``: the communication library's version where torch exposes it."""
    if "nccl" in backend:
        try:
            v = torch.cuda.nccl.version()
        except Exception:
            return None
        return "nccl " + (".".join(map(str, v)) if isinstance(v, tuple) else str(v))
    return f"gloo (bundled with torch {torch.__version__})"


def algorithm() -> str:
    """The collective algorithm as far as it is known here: NCCL picks it per call and torch does not
    expose the choice, so only a user's ``NCCL_ALGO`` / ``NCCL_PROTO`` fixes it."""
    algo, proto = os.environ.get("NCCL_ALGO"), os.environ.get("NCCL_PROTO")
    if algo or proto:
        return "; ".join(f"{k}={v}" for k, v in (("NCCL_ALGO", algo), ("NCCL_PROTO", proto)) if v)
    return "chosen by NCCL per call (not exposed; set NCCL_ALGO to fix it)"


def nvlink_topology(dev: torch.device) -> dict[str, Any]:
    """NVLink links of this rank's GPU from NVML: how many are active, and each link's state and version;
    ``{"error": why}`` where NVML cannot say (no GPU, no NVLink, no NVML)."""
    if dev.type != "cuda":
        return {"error": "no GPU: no NVLink"}
    from gpucompare.measure import telemetry

    nv, why = telemetry._nvml()
    if nv is None:
        return {"error": why}
    try:
        handle = telemetry._nvml_handle(nv, devinfo.cuda_index(dev))
    except Exception as exc:
        return {"error": first_line(exc)}
    links = []
    for link in range(int(getattr(nv, "NVML_NVLINK_MAX_LINKS", 18))):
        try:
            state = nv.nvmlDeviceGetNvLinkState(handle, link)
        except Exception:  # NotSupported past the last link, or on a GPU without NVLink
            continue
        entry: dict[str, Any] = {"link": link, "active": bool(state)}
        try:
            entry["version"] = int(nv.nvmlDeviceGetNvLinkVersion(handle, link))
        except Exception:
            entry["version"] = None
        links.append(entry)
    return {"nvlink_active": sum(e["active"] for e in links), "nvlink_links": links}


def rank_environment(launch: Launch, dev: torch.device) -> dict[str, Any]:
    """What run.json keeps of one rank: host, process, device, backend and its version, NCCL settings,
    NVLink state."""
    backend = str(dist.get_backend()) if dist.is_initialized() else ("nccl" if dev.type == "cuda" else "gloo")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else devinfo.describe("cpu")["device_name"]
    return {
        "rank": launch.rank,
        "local_rank": launch.local_rank,
        "world_size": launch.world_size,
        "launcher": launch.launcher,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "device": str(dev),
        "device_name": name,
        "backend": backend,
        "backend_version": backend_version(backend),
        "nccl_env": {k: os.environ[k] for k in NCCL_ENV if k in os.environ},
        "topology": nvlink_topology(dev),
    }


# ------------------------------------------------------------------------------------------ timing


@dataclass(frozen=True)
class CollectiveTiming:
    """nccl-tests' loop: ``warmup`` untimed calls, then ``iters`` timed iterations (a barrier before each)."""

    warmup: int = 5
    iters: int = 20

    @classmethod
    def for_device(cls, dev: torch.device) -> CollectiveTiming:
        """GPU: nccl-tests' 20 iterations after 5 warm-up calls; CPU (gloo): 10 after 2, so CI stays fast."""
        return cls(5, 20) if dev.type == "cuda" else cls(2, 10)

    def describe(self, dev: torch.device) -> dict[str, Any]:
        """The ``method`` stored with each collective record."""
        return {
            "version": timing.METHOD_VERSION,
            "timer": "cuda-events" if dev.type == "cuda" else timing.METHOD_CPU,
            "flush": "none",
            "flush_bytes": None,
            "warmup_reps": self.warmup,
            "stop_rule": f"fixed: {self.iters} iterations, a barrier before each (nccl-tests)",
            "rank_reduction": "max over ranks per iteration (the slowest rank)",
        }


def time_collective(fn: Callable[[], Any], dev: torch.device, cfg: CollectiveTiming) -> timing.Timing:
    """Per-iteration times of ``fn`` (seconds), the slowest rank's each; every rank returns the same."""
    for _ in range(cfg.warmup):
        fn()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    local = []
    for _ in range(cfg.iters):
        dist.barrier()
        if dev.type == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            local.append(begin.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            local.append(time.perf_counter() - t0)
    times = torch.tensor(local, dtype=torch.float64, device=dev)
    dist.all_reduce(times, op=dist.ReduceOp.MAX)
    method = "cuda-events" if dev.type == "cuda" else timing.METHOD_CPU
    return timing.summarise(times.cpu().tolist(), method=method, budget_exhausted=False)


# ------------------------------------------------------------------------------------------ progress


def _store():
    getter = getattr(dist.distributed_c10d, "_get_default_store", None)
    try:
        return getter() if getter is not None else None
    except Exception:
        return None


def mark_progress(rank: int, index: int, phase: str) -> None:
    """Record that ``rank`` reached case ``index`` at ``phase`` (never fails the run)."""
    store = _store()
    if store is None:
        return
    try:
        store.set(f"{_PROGRESS}{rank}", f"{index}:{phase}")
    except Exception:
        return


def progress(world_size: int, wait_s: float = 2.0) -> dict[int, str | None]:
    """Every rank's last ``index:phase`` (None where the store has none or cannot be read)."""
    store = _store()
    out: dict[int, str | None] = {r: None for r in range(world_size)}
    if store is None:
        return out
    try:
        store.set_timeout(timedelta(seconds=wait_s))
    except Exception:
        return out
    for r in range(world_size):
        try:
            if store.check([f"{_PROGRESS}{r}"]):
                out[r] = store.get(f"{_PROGRESS}{r}").decode()
        except Exception:
            return out
    return out


def behind(marks: Mapping[int, str | None], index: int, phase: str, order: tuple[str, ...]) -> list[str]:
    """Ranks that did not reach case ``index`` at ``phase`` (``order`` lists the phases of a case), each as
    ``"rank R (last at case I, phase P)"``."""
    want = (index, order.index(phase))
    out = []
    for rank, mark in sorted(marks.items()):
        if mark is None:
            out.append(f"rank {rank} (no progress recorded)")
            continue
        i, _, p = mark.partition(":")
        got = (int(i), order.index(p) if p in order else -1)
        if got < want:
            out.append(f"rank {rank} (last at case {i}, {p})")
    return out


def report_to_launcher(message: str) -> None:
    """Leave this rank's one-line error where torchrun's agent reads it (``TORCHELASTIC_ERROR_FILE``), so the
    launcher's failure report (and ``gpucompare run --nproc``) quotes it instead of a bare exit code."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"message": message, "timestamp": int(time.time())}, fh)
    except OSError:
        return
