"""The serving model against the ledger's published serving results, leave one chip out.

For each representative ``serving`` entry on chip X, the server and load of its shape are modelled with
X's kernel and collective evidence left out (the efficiencies transferred from the other chips), and the
engine factor is fitted without X: the median, over the engine's entries on the other chips, of modelled
over published throughput (all engines pooled when the engine has no entry elsewhere, said so). The
prediction is the modelled throughput divided by that factor.

Naive baseline (peak ratio): the same source's figure for the same model and load on another chip, scaled by
the ratio of the two chips' peaks in the serving precision (and of their GPU counts, for a whole-server
figure); the median over such chips. Entries with no such pair have no naive prediction (its n is smaller).

Assumed where the sources do not say: TensorRT-LLM runs its FP8/FP4 checkpoints with an FP8 KV cache
(NVIDIA's ModelOpt checkpoints quantise it), the other engines keep it in bf16.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from gpucompare.model.loco import p90
from gpucompare.model.serving.kernels import NoEvidenceError
from gpucompare.model.serving.server import Load, Server, serve
from gpucompare.model.serving.work import ServingConfigError
from gpucompare.specs import load_chips
from gpucompare.specs.published import PublishedEntry, load_published

FP8_KV_ENGINES = ("tensorrt-llm",)


@dataclass(frozen=True)
class ServingCheck:
    id: str
    chip: str
    engine: str
    model: str
    published: float
    modelled: float | None  # the model before the engine factor (evidence of the chip left out)
    predicted: float | None
    naive: float | None
    factor: float | None
    factor_basis: str
    status: str  # ok | not modelled
    reason: str = ""

    @property
    def rel_error(self) -> float | None:
        return None if self.predicted is None else abs(self.predicted - self.published) / self.published

    @property
    def naive_rel_error(self) -> float | None:
        return None if self.naive is None else abs(self.naive - self.published) / self.published


def serving_entries(entries: Sequence[PublishedEntry] | None = None) -> list[PublishedEntry]:
    """The representative ``serving`` entries of the ledger."""
    pool = load_published() if entries is None else entries
    return [e for e in pool if e.workload == "serving" and e.representative]


def modelled_figure(e: PublishedEntry, exclude: str | None = None) -> float:
    """What the model (no engine factor) gives for the figure ``e`` publishes, in its own units."""
    s = e.shape
    engine = str(s["engine"])
    kv = "fp8" if engine in FP8_KV_ENGINES else "bf16"
    chip = load_chips().get(e.chip)
    server = Server.make(chip, str(s["model"]), int(s["gpus"]), int(s["tp"]), int(s["ep"]), int(s["dp"]),
                         str(s["precision"]), kv, exclude=exclude)  # fmt: skip
    conc = s["concurrency"]
    concurrency = None if conc == "max" else int(conc)
    phase = s.get("phase")
    if phase == "decode":
        context = int(s["input_len"]) + int(s["output_len"]) / 2
        step = server.decode_step(concurrency, context).total_s
        return concurrency / server.par.gpus / step
    if phase == "prefill":
        tokens = int(s["prefill_tokens"])
        return tokens / server.prefill_step(tokens, int(s["input_len"])).total_s
    r = serve(server, Load(int(s["input_len"]), int(s["output_len"]), concurrency))
    value = r.output_tokens_per_s if s["tokens"] == "output" else r.total_tokens_per_s
    return value / r.gpus if s["scope"] == "per-gpu" else value


def _naive(e: PublishedEntry, pool: Sequence[PublishedEntry]) -> float | None:
    db = load_chips()
    keys = ("model", "input_len", "output_len", "concurrency", "tokens", "scope")
    out = []
    chip = db.get(e.chip)
    for o in pool:
        if o.chip == e.chip or o.group != e.group or any(o.shape.get(k) != e.shape.get(k) for k in keys):
            continue
        if o.shape.get("phase") != e.shape.get("phase"):
            continue
        p_x = chip.peak_tflops.get(str(e.shape["precision"]))
        p_y = db.get(o.chip).peak_tflops.get(str(o.shape["precision"]))
        if not p_x or not p_y:
            continue
        gpus = int(e.shape["gpus"]) / int(o.shape["gpus"]) if e.shape["scope"] == "server" else 1.0
        out.append(o.value * p_x / p_y * gpus)
    return statistics.median(out) if out else None


def _factor(engine: str, ratios: dict[str, list[tuple[str, float]]], chip: str) -> tuple[float | None, str]:
    mine = [r for c, r in ratios.get(engine, []) if c != chip]
    if mine:
        return statistics.median(mine), f"{engine}: median of {len(mine)} entries on other chips"
    pooled = [r for rs in ratios.values() for c, r in rs if c != chip]
    if pooled:
        return statistics.median(pooled), f"no other {engine} entry: all engines pooled ({len(pooled)})"
    return None, "no serving entry on another chip"


def _modelled_all(pool: Sequence[PublishedEntry], exclude: str) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for e in pool:
        try:
            out[e.id] = modelled_figure(e, exclude)
        except (ServingConfigError, NoEvidenceError) as exc:
            out[e.id] = str(exc)
    return out


def validate(entries: Sequence[PublishedEntry] | None = None) -> list[ServingCheck]:
    """Leave-one-chip-out over the representative serving entries (see the module docstring)."""
    pool = serving_entries(entries)
    checks = []
    for chip in sorted({e.chip for e in pool}):
        modelled = _modelled_all(pool, chip)
        ratios: dict[str, list[tuple[str, float]]] = {}
        for o in pool:
            m = modelled[o.id]
            if o.chip != chip and isinstance(m, float):
                ratios.setdefault(str(o.shape["engine"]), []).append((o.chip, m / o.value))
        for e in (e for e in pool if e.chip == chip):
            engine, m = str(e.shape["engine"]), modelled[e.id]
            factor, basis = _factor(engine, ratios, chip)
            naive = _naive(e, pool)
            base = dict(id=e.id, chip=chip, engine=engine, model=str(e.shape["model"]), published=e.value)
            if not isinstance(m, float) or factor is None:
                reason = m if isinstance(m, str) else basis
                checks.append(ServingCheck(**base, modelled=None, predicted=None, naive=naive, factor=factor,
                                           factor_basis=basis, status="not modelled", reason=reason))  # fmt: skip
                continue
            checks.append(ServingCheck(**base, modelled=m, predicted=m / factor, naive=naive, factor=factor,
                                       factor_basis=basis, status="ok"))  # fmt: skip
    return checks


@dataclass(frozen=True)
class ServingSummary:
    n: int
    median: float | None
    p90: float | None
    naive_n: int
    naive_median: float | None
    naive_p90: float | None
    naive_same_n_median: float | None  # the model's median over the entries the naive baseline covers
    not_modelled: int


def summarise(checks: Sequence[ServingCheck]) -> ServingSummary:
    ok = [c.rel_error for c in checks if c.rel_error is not None]
    nv = [c.naive_rel_error for c in checks if c.naive_rel_error is not None]
    both = [c.rel_error for c in checks if c.rel_error is not None and c.naive_rel_error is not None]
    return ServingSummary(
        len(ok), statistics.median(ok) if ok else None, p90(ok),
        len(nv), statistics.median(nv) if nv else None, p90(nv),
        statistics.median(both) if both else None, sum(c.status != "ok" for c in checks),
    )  # fmt: skip


def engine_factors(entries: Sequence[PublishedEntry] | None = None) -> dict[str, tuple[float, int]]:
    """Per engine: (median modelled / published over all its entries, n): the engine as a factor."""
    ratios: dict[str, list[float]] = {}
    for e in serving_entries(entries):
        try:
            ratios.setdefault(str(e.shape["engine"]), []).append(modelled_figure(e) / e.value)
        except (ServingConfigError, NoEvidenceError):
            continue
    return {k: (statistics.median(v), len(v)) for k, v in sorted(ratios.items())}


@lru_cache(maxsize=1)
def default_checks() -> tuple[ServingCheck, ...]:
    """:func:`validate` over the packaged ledger (cached: the report and ``validate`` share it)."""
    return tuple(validate())


@lru_cache(maxsize=8)
def engine_factor(engine: str = "all") -> float | None:
    """The engine factor ``serve`` applies: one engine's median modelled / published over all its entries,
    or every engine's entries pooled (``"all"``); None when the ledger has none."""
    ratios: list[float] = []
    for e in serving_entries():
        if engine not in ("all", e.shape["engine"]):
            continue
        try:
            ratios.append(modelled_figure(e) / e.value)
        except (ServingConfigError, NoEvidenceError):
            continue
    return statistics.median(ratios) if ratios else None


def serving_block() -> dict:
    """``validate``'s serving row: the summary, the engine factors and every check (JSON-ready)."""
    from dataclasses import asdict

    checks = default_checks()
    rows = [{**asdict(c), "rel_error": c.rel_error, "naive_rel_error": c.naive_rel_error} for c in checks]
    factors = {k: list(v) for k, v in engine_factors().items()}
    return {"summary": asdict(summarise(checks)), "engine_factors": factors, "rows": rows}
