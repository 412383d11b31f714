"""Two runs compared case by case, for regression checks (``gpucompare diff RUN_A RUN_B``).

A case is the record key ``(workload, shape_label, dtype, impl)``. For a case measured ``ok`` in both runs
the change is ``median_B / median_A - 1`` (positive: B is slower), and its flag is noise-aware:

* ``slower`` / ``faster``: the change exceeds ``threshold`` (default 5 %) *and* the two runs' spreads do not
  overlap (B's p20 above A's p80, or B's p80 below A's p20), so a noisy case is not flagged on a lucky draw;
* ``same``: otherwise (within the noise or within the threshold).

A record without p20/p80 uses ``median × (1 ± rel_iqr / 2)`` as its band, and the median alone when neither
is stored. A case ``ok`` in one run only is ``broke`` (ok in A, failed in B), ``fixed`` (the reverse), or, for
a skip, ``skipped``; a case in one run only is ``only in A`` / ``only in B``. ``broke`` and ``slower`` are
regressions.

A run's noise floor (:func:`noise_floor`): a GPU run's is its own p20-p80 spread (above); a cpu-fallback
run's (a pipeline check: the OS timer quantises at milliseconds, other processes share the cores) is
unbounded, so between two runs of which one is a pipeline check no time change is judged: an ``ok`` case is
``pipeline check``, never ``slower`` or ``faster``; ``broke`` and ``fixed`` still count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gpucompare.results.store import Run, is_pipeline_check

DEFAULT_THRESHOLD = 0.05
REGRESSIONS = ("slower", "broke")
FLAGS = ("slower", "broke", "faster", "fixed", "same", "pipeline check", "skipped", "only in A", "only in B")

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class CaseDiff:
    """One case of the comparison; times in seconds, ``change`` = median_B / median_A - 1."""

    workload: str
    shape_label: str
    dtype: str
    impl: str
    flag: str
    median_a: float | None = None
    median_b: float | None = None
    change: float | None = None
    noise: float | None = None  # the wider of the two relative bands ((p80 - p20) / median)
    status_a: str | None = None
    status_b: str | None = None

    @property
    def regression(self) -> bool:
        return self.flag in REGRESSIONS

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "regression": self.regression}


def _key(rec: Mapping[str, Any]) -> Key:
    return (rec["workload"], rec["shape_label"], rec["dtype"], rec["impl"])


def band(rec: Mapping[str, Any]) -> tuple[float, float]:
    """(low, high) of a record's timing spread: p20/p80, else median ± rel_iqr / 2, else the median."""
    med = rec["median_s"]
    if rec.get("p20_s") is not None and rec.get("p80_s") is not None:
        return min(rec["p20_s"], med), max(rec["p80_s"], med)
    half = (rec.get("rel_iqr") or 0.0) / 2
    return med * (1 - half), med * (1 + half)


def noise_floor(run: Run) -> float:
    """The relative change below which a run's times cannot be told apart beyond their own spread: 0 for a GPU
    run (its p20-p80 band decides), unbounded for a cpu-fallback run (a pipeline check)."""
    return math.inf if is_pipeline_check(run) else 0.0


def compare_case(
    a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, threshold: float, floor: float = 0.0
) -> CaseDiff:
    """The diff of one case (``a`` or ``b`` None when the case is missing from that run); ``floor``: the
    runs' noise floor (a change within it is never flagged; unbounded: ``pipeline check``)."""
    rec = a if a is not None else b
    assert rec is not None
    names = dict(
        workload=rec["workload"], shape_label=rec["shape_label"], dtype=rec["dtype"], impl=rec["impl"]
    )
    if a is None or b is None:
        return CaseDiff(**names, flag="only in B" if a is None else "only in A",
                        status_a=a and a["status"], status_b=b and b["status"])  # fmt: skip
    statuses = dict(status_a=a["status"], status_b=b["status"])
    if a["status"] != "ok" or b["status"] != "ok":
        if a["status"] == "ok" and b["status"] == "failed":
            flag = "broke"
        elif a["status"] == "failed" and b["status"] == "ok":
            flag = "fixed"
        else:
            flag = "skipped" if "skipped" in (a["status"], b["status"]) else "same"
        return CaseDiff(**names, flag=flag, median_a=a["median_s"], median_b=b["median_s"], **statuses)
    (lo_a, hi_a), (lo_b, hi_b) = band(a), band(b)
    change = b["median_s"] / a["median_s"] - 1.0
    noise = max((hi_a - lo_a) / a["median_s"], (hi_b - lo_b) / b["median_s"])
    if math.isinf(floor):
        flag = "pipeline check"
    elif change > max(threshold, floor) and lo_b > hi_a:
        flag = "slower"
    elif change < -max(threshold, floor) and hi_b < lo_a:
        flag = "faster"
    else:
        flag = "same"
    return CaseDiff(**names, flag=flag, median_a=a["median_s"], median_b=b["median_s"], change=change,
                    noise=noise, **statuses)  # fmt: skip


def diff_runs(run_a: Run, run_b: Run, threshold: float = DEFAULT_THRESHOLD) -> list[CaseDiff]:
    """Every case of either run, in A's order then B's new cases. A case recorded twice in one run keeps its
    last record (a rerun)."""
    a = {_key(r): r for r in run_a.records}
    b = {_key(r): r for r in run_b.records}
    keys = list(a) + [k for k in b if k not in a]
    floor = max(noise_floor(run_a), noise_floor(run_b))
    return [compare_case(a.get(k), b.get(k), threshold, floor) for k in keys]


def machine_note(run_a: Run, run_b: Run) -> str | None:
    """A sentence when the two runs were not measured on the same kind of device (their ratio is then a chip
    comparison, not a regression check)."""

    def device(run: Run) -> str:
        return str(run.machine.get("chip_id") or run.machine.get("device_name") or run.machine.get("mode"))

    if device(run_a) != device(run_b):
        return f"the runs were measured on different devices ({device(run_a)} vs {device(run_b)})"
    return None
