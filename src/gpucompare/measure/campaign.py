"""Helpers of ``scripts/gpu_campaign.sh all`` (the one-call GPU campaign), each a subcommand:

    python -m gpucompare.measure.campaign machine OUT/machine.json
    python -m gpucompare.measure.campaign workloads [--only W1,W2]
    python -m gpucompare.measure.campaign collect LIVE_DIR OUT DONE_DIR

``machine``: what the call ran on -- the kind (``h100``, ``h200``, another GPU's name, or ``cpu``), the device
name, compute capability, SMs, memory, Python, torch, Triton and CUDA versions, ``nvidia-smi -L`` -- written
before anything compiles, so even a call killed in its first minute says which machine it had.
``workloads``: the tier's workloads in registry order, one a line (collectives left out: they need a
distributed launch). ``collect``: after each workload's run, append its records to ``OUT/records.jsonl`` and
its ``run.json`` to ``OUT/runs.jsonl`` (one line each), then move the run folder to ``DONE_DIR``: what comes
back from ``$OUT`` stays within the device tool's 8 files, and a kill loses only the workload in progress
(its own folder, under ``LIVE_DIR``, two levels below ``$OUT``, is still there, record by record).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def kind_of(device_name: str | None) -> str:
    """``h100`` / ``h200`` for those chips (the device tool's two kinds), the name for another GPU, ``cpu``."""
    if not device_name:
        return "cpu"
    upper = device_name.upper()
    for kind in ("H200", "H100"):
        if kind in upper:
            return kind.lower()
    return device_name


def machine() -> dict[str, Any]:
    import torch
    import triton

    from gpucompare.measure.triton_cache import build_identity

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "triton": triton.__version__,
        "cuda": torch.version.cuda,
        "device_name": None,
        **{k: v for k, v in build_identity().items() if k != "python"},
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            device_name=props.name,
            compute_capability=f"{props.major}.{props.minor}",
            sm_count=props.multi_processor_count,
            memory_gib=round(props.total_memory / 2**30, 1),
        )
    info["kind"] = kind_of(info["device_name"])
    try:
        smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        info["nvidia_smi"] = f"not run: {exc}"
    return info


def workloads(only: str = "") -> list[str]:
    from gpucompare import workloads as wl

    chosen = wl.select_workloads([x for x in only.split(",") if x]) if only else list(wl.WORKLOADS.values())
    return [w.name for w in chosen if getattr(w, "family", "") != "collective" and w.name != "collective"]


def collect(live: Path, out: Path, done: Path) -> int:
    """Append every finished run folder under ``live`` to the cumulative files in ``out``; move it to
    ``done``. Return how many records were appended."""
    count = 0
    done.mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in live.iterdir() if p.is_dir()) if live.is_dir() else []:
        run = folder / "run.json"
        records = folder / "records.jsonl"
        if run.is_file():
            with (out / "runs.jsonl").open("a") as f:
                f.write(json.dumps(json.loads(run.read_text()), sort_keys=True) + "\n")
        if records.is_file():
            lines = [x for x in records.read_text().splitlines() if x.strip()]
            with (out / "records.jsonl").open("a") as f:
                f.writelines(x + "\n" for x in lines)
            count += len(lines)
        shutil.move(str(folder), str(done / folder.name))
    return count


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("machine")
    m.add_argument("path")
    w = sub.add_parser("workloads")
    w.add_argument("--only", default="")
    c = sub.add_parser("collect")
    c.add_argument("live")
    c.add_argument("out")
    c.add_argument("done")
    ns = p.parse_args(argv)
    if ns.what == "machine":
        info = machine()
        Path(ns.path).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
        print(f"machine: {info['kind']} ({info['device_name'] or 'no GPU'}), Python {info['python']}, "
              f"torch {info['torch']}, Triton {info['triton']}", flush=True)  # fmt: skip
    elif ns.what == "workloads":
        print("\n".join(workloads(ns.only)))
    else:
        n = collect(Path(ns.live), Path(ns.out), Path(ns.done))
        print(f"collected {n} records into {ns.out}/records.jsonl", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
