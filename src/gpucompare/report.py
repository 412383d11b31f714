"""The published report: tables (Markdown, CSV, HTML) and plots under ``results/``, from stored runs.

``generate(out_dir, runs)`` writes::

    README.md          the report in Markdown (tables inline, plots linked)
    report.html        the same, self-contained (inline CSS, plots as inline SVG; opens with no network)
    tables/*.csv       machines, measured, efficiency, projections, ratios, spec_ratios, spec_ratio_matrix,
                       model_steps, validation, export_control, claims, provenance, skipped
    plots/*.{png,svg}  roofline per chip, ratio bars per chip pair, measured vs projected (validation)

Every number comes from ``gpucompare.model`` (projections, ratios, the layer composition, validation),
``gpucompare.specs`` (chip figures, spec ratios, export-control tiers) and ``gpucompare.claims``
(verdicts); nothing is computed twice here.

Deterministic: the same runs give byte-identical tables and SVGs (rows sorted, floats formatted with a
fixed number of significant digits, no generation timestamp, ``svg.hashsalt`` fixed, SVG ``Date`` and
PNG ``Software`` metadata fixed). Files are written atomically (temporary file + ``os.replace``); stale
CSVs/plots in ``tables/`` and ``plots/`` (generated folders) are removed.

cpu-fallback runs: excluded from the chip tables (projections, ratios, layer steps), with a sentence saying
so, unless ``include_cpu`` is set; then every row derived from them is labelled ``pipeline_check`` and the
report says in bold that they are pipeline checks: CPU efficiencies say nothing about GPUs.
"""

from __future__ import annotations

import html
import io
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gpucompare import model

DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("H200", "H20"),
    ("B200", "H200"),
    ("H20", "H100"),
    ("H200", "A100"),
)
CSV_FLOAT = "%.6g"
TEXT_FLOAT = "{:.4g}"
SALT = "gpucompare"
CPU_SENTENCE = (
    "cpu-fallback runs are pipeline checks (Triton's interpreter and PyTorch on the CPU): CPU efficiencies "
    "say nothing about any GPU, so they are left out of the projection, ratio and model tables"
)
CPU_INCLUDED = (
    "**PIPELINE CHECK: rows marked `pipeline_check` are projected from CPU efficiencies. They test the "
    "pipeline and say nothing about how any GPU performs.**"
)


# ------------------------------------------------------------------------------------------ helpers
def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fmt(value: Any) -> str:
    """Fixed text formatting for Markdown/HTML cells."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return TEXT_FLOAT.format(value)
    return str(value)


def md_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (fixed formatting; ``|`` escaped)."""
    if df.empty:
        return "_(no rows)_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines) + "\n"


def html_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p><em>(no rows)</em></p>\n"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"


def csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower()


def resolve_chip(chips: Sequence[Any], name: str) -> Any | None:
    """A chip by id, name or alias (case-insensitive), None when absent."""
    low = name.lower()
    for c in chips:
        if c.id.lower() == low:
            return c
    for c in chips:
        names = [str(getattr(c, "name", "")), *getattr(c, "aliases", ())]
        if any(n.lower() == low for n in names):
            return c
    return None


# ------------------------------------------------------------------------------------------- the data
@dataclass
class ReportData:
    """Everything the report shows: tables by name and the sentences that frame them."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    analysis: model.Analysis | None = None
    projections: list[model.ProjectionResult] = field(default_factory=list)
    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    chips: list[Any] = field(default_factory=list)
    validation: list[model.ValidationRow] = field(default_factory=list)
    has_measurements: bool = False


def _default_spec_ratios(a: Any, b: Any) -> list:
    from gpucompare.specs import spec_ratios

    return spec_ratios(a, b)


def _default_claims(workload_ratios: Callable | None) -> list:
    from gpucompare.claims import check_all

    return check_all(workload_ratios=workload_ratios)


def _runs_machines(runs: Sequence[Any]) -> pd.DataFrame:
    rows = []
    for r in runs:
        m = dict(getattr(r, "machine", {}) or {})
        recs = list(getattr(r, "records", []))
        v = m.get("versions") or {}
        rows.append(
            {
                "run_id": m.get("run_id"),
                "mode": m.get("mode"),
                "chip_id": m.get("chip_id"),
                "device_name": m.get("device_name"),
                "pipeline_check": m.get("mode") != "gpu",
                "records_ok": sum(x.get("status") == "ok" for x in recs),
                "records_failed": sum(x.get("status") == "failed" for x in recs),
                "records_skipped": sum(x.get("status") == "skipped" for x in recs),
                "torch": v.get("torch"),
                "triton": v.get("triton"),
                "cuda": v.get("cuda"),
                "driver": v.get("driver"),
                "git_commit": m.get("git_commit"),
                "timestamp": m.get("timestamp"),
            }
        )
    cols = [
        "run_id",
        "mode",
        "chip_id",
        "device_name",
        "pipeline_check",
        "records_ok",
        "records_failed",
        "records_skipped",
        "torch",
        "triton",
        "cuda",
        "driver",
        "git_commit",
        "timestamp",
    ]
    return pd.DataFrame(rows, columns=cols).sort_values("run_id", kind="stable").reset_index(drop=True)


def _records(runs: Sequence[Any]) -> list[dict]:
    return [dict(x) for r in runs for x in getattr(r, "records", [])]


def build(
    runs: Sequence[Any],
    chips: Sequence[Any] | None = None,
    include_cpu: bool = False,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
    spec_ratios_fn: Callable[[Any, Any], list] | None = None,
    claims_fn: Callable[[Callable | None], list] | None = None,
    counts: model.CountsFn | None = None,
    layer: model.LayerConfig | None = None,
) -> ReportData:
    """Compute every table of the report (no file is written)."""
    if chips is None:
        from gpucompare.specs import all_chips

        chips = all_chips()
    chips = list(chips)
    index = model.chip_index(chips)
    spec_ratios_fn = spec_ratios_fn or _default_spec_ratios
    claims_fn = claims_fn or _default_claims
    layer = layer or model.LayerConfig()
    data = ReportData(chips=chips)
    records = _records(runs)
    all_analysis = model.analyse(records, index)
    used = [r for r in records if include_cpu or r.get("mode") == "gpu"]
    analysis = model.analyse(used, index)
    data.analysis = analysis
    data.has_measurements = bool(all_analysis.measured)
    cpu_runs = sorted({m.run_id for m in all_analysis.measured if m.pipeline_check})
    if cpu_runs:
        data.notes["cpu"] = (
            CPU_INCLUDED
            if include_cpu
            else f"{CPU_SENTENCE} (runs: {', '.join(cpu_runs)}; "
            "`gpucompare report --include-cpu` shows them, labelled)."
        )
    if not records:
        data.notes["status"] = (
            "No measurement exists yet: no run was found, so this report publishes the spec-level tables "
            "only "
            "(export-control tiers, spec ratios, claim verdicts on specs). Run `gpucompare run` on a GPU and "
            "regenerate with `gpucompare report`."
        )
    elif not analysis.measured:
        data.notes["status"] = (
            "No GPU measurement exists yet: the runs found are cpu-fallback pipeline checks only, so no chip "
            "projection is published (see the pipeline-check note)."
        )
    else:
        data.notes["status"] = (
            f"{len(analysis.runs())} run(s) and {len(analysis.measured)} measured records feed the "
            f"projections."
        )

    t = data.tables
    t["machines"] = _runs_machines(runs)
    mcols = [
        "run_id",
        "mode",
        "chip_id",
        "device_name",
        "workload",
        "shape_label",
        "dtype",
        "impl",
        "baseline",
        "status",
        "reason",
        "flops",
        "bytes",
        "median_s",
        "p20_s",
        "p80_s",
        "cv",
        "tflops",
        "gbps",
        "rel_error",
        "error_bound",
        "throttled",
    ]
    meas = pd.DataFrame([{c: r.get(c) for c in mcols} for r in records], columns=mcols)
    t["measured"] = meas.sort_values(
        ["run_id", "workload", "shape_label", "dtype", "impl"], kind="stable"
    ).reset_index(drop=True)
    noise_cols = [
        "source",
        "workload",
        "shape_label",
        "dtype",
        "impl",
        "runs",
        "median_of_medians_s",
        "min_median_s",
        "max_median_s",
        "spread",
        "goal_applies",
        "pipeline_check",
    ]
    t["noise"] = pd.DataFrame(model.run_to_run_spread(analysis), columns=noise_cols)
    t["efficiency"] = pd.DataFrame(
        [
            {
                "run_id": m.run_id,
                "source": m.source,
                "workload": m.workload,
                "shape_label": m.shape_label,
                "dtype": m.dtype,
                "impl": m.impl,
                "intensity_flop_per_byte": m.intensity,
                "ridge_flop_per_byte": m.ridge,
                "bound": m.bound,
                "peak_tflops": m.peak_tflops,
                "peak_bw_tbps": m.peak_bw_tbps,
                "peak_source": m.peak_source,
                "roofline_s": m.t_roof_s,
                "median_s": m.median_s,
                "efficiency": m.efficiency,
                "efficiency_clock_norm": m.efficiency_clock_norm,
                "run_clock_mhz": m.run_clock_mhz,
                "spec_clock_mhz": m.spec_clock_mhz,
                "clock_note": m.clock_note,
                "pipeline_check": m.pipeline_check,
            }
            for m in all_analysis.measured
        ],
        columns=[
            "run_id",
            "source",
            "workload",
            "shape_label",
            "dtype",
            "impl",
            "intensity_flop_per_byte",
            "ridge_flop_per_byte",
            "bound",
            "peak_tflops",
            "peak_bw_tbps",
            "peak_source",
            "roofline_s",
            "median_s",
            "efficiency",
            "efficiency_clock_norm",
            "run_clock_mhz",
            "spec_clock_mhz",
            "clock_note",
            "pipeline_check",
        ],
    )
    t["skipped"] = pd.DataFrame(all_analysis.skipped, columns=["record", "reason"])

    data.projections = model.project_all(analysis, chips)
    pcols = [
        "source_run_id",
        "source",
        "workload",
        "shape_label",
        "dtype",
        "impl",
        "chip_id",
        "status",
        "reason",
        "time_s",
        "tflops",
        "gbps",
        "bound",
        "e_c",
        "e_m",
        "basis",
        "pipeline_check",
    ]
    t["projections"] = pd.DataFrame(
        [{c: p.to_dict()[c] for c in pcols} for p in data.projections], columns=pcols
    )

    # chip pairs: spec ratios and per-workload / per-step ratios
    for a_name, b_name in pairs:
        a, b = resolve_chip(chips, a_name), resolve_chip(chips, b_name)
        if a is not None and b is not None:
            data.pairs.append((a, b))
        else:
            data.notes.setdefault("pairs", "")
            data.notes["pairs"] += f"pair {a_name} vs {b_name} skipped: chip not in the database. "
    srows = []
    for a, b in data.pairs:
        for br in spec_ratios_fn(a, b):
            srows.append(
                {
                    "chip_a": a.id,
                    "chip_b": b.id,
                    "basis": br.basis,
                    "a_value": br.a_value,
                    "b_value": br.b_value,
                    "ratio": br.ratio,
                    "reason": br.reason,
                }
            )
    t["spec_ratios"] = pd.DataFrame(
        srows, columns=["chip_a", "chip_b", "basis", "a_value", "b_value", "ratio", "reason"]
    )
    mrows = []
    for a in chips:
        for b in chips:
            for br in spec_ratios_fn(a, b):
                if br.basis in ("bf16", "bandwidth"):
                    mrows.append({"basis": br.basis, "chip_a": a.id, "chip_b": b.id, "ratio": br.ratio})
    mat = pd.DataFrame(mrows, columns=["basis", "chip_a", "chip_b", "ratio"])
    if not mat.empty:
        order = [c.id for c in chips]
        mat = mat.pivot_table(
            index=["basis", "chip_a"], columns="chip_b", values="ratio", aggfunc="first", sort=False
        )
        mat = mat.reindex(columns=order).reset_index()
        mat["chip_a"] = pd.Categorical(mat["chip_a"], categories=order, ordered=True)
        mat = mat.sort_values(["basis", "chip_a"], kind="stable").reset_index(drop=True)
        mat["chip_a"] = mat["chip_a"].astype(str)
    t["spec_ratio_matrix"] = mat

    steps: list[model.StepResult] = []
    data.notes["model"] = ""
    if analysis.measured:
        try:
            steps = model.compose_steps(analysis, chips, layer, counts)
        except ImportError as exc:  # the workloads registry is the only cost model: no guessing without it
            data.notes["model"] = f"layer composition unavailable: {exc}"
    rrows = []
    for a, b in data.pairs:
        for r in model.workload_ratio_rows(analysis, a, b, include_cpu=include_cpu):
            rrows.append({"chip_a": a.id, "chip_b": b.id, **r})
        for step in model.STEPS:
            sa = next((s for s in steps if s.chip_id == a.id and s.step == step), None)
            sb = next((s for s in steps if s.chip_id == b.id and s.step == step), None)
            if sa is None or sb is None:
                continue
            rrows.append(
                {
                    "chip_a": a.id,
                    "chip_b": b.id,
                    "basis": f"model:{step}",
                    "ratio": model.ratio(sa.time_s, sb.time_s),
                    "bound_a": sa.bound_summary,
                    "bound_b": sb.bound_summary,
                    "detail": f"{sa.status}/{sb.status} {sa.reason or sb.reason}".strip(),
                    "source_run_id": "",
                    "pipeline_check": sa.pipeline_check,
                }
            )
    rcols = [
        "chip_a",
        "chip_b",
        "basis",
        "ratio",
        "bound_a",
        "bound_b",
        "source_run_id",
        "pipeline_check",
        "detail",
    ]
    t["ratios"] = pd.DataFrame(rrows, columns=rcols)
    step_cols = {  # model field -> report column (tokens/s is for the full 80-layer stack)
        "chip_id": "chip_id",
        "step": "step",
        "status": "status",
        "reason": "reason",
        "time_s": "time_s",
        "tokens": "tokens",
        "tokens_per_s": "tokens_per_s_80_layers",
        "bound": "bound",
        "pipeline_check": "pipeline_check",
        "matched": "matched",
    }
    t["model_steps"] = pd.DataFrame(
        [{step_cols[k]: v for k, v in s.to_dict().items()} for s in steps], columns=list(step_cols.values())
    )

    data.validation = model.validate(analysis, index)
    t["validation"] = pd.DataFrame(
        [vars(r) for r in data.validation], columns=list(model.ValidationRow.__dataclass_fields__)
    )
    data.notes["validation"] = model.validation_status(data.validation)

    t["export_control"] = pd.DataFrame(
        [
            {
                "chip_id": c.id,
                "name": getattr(c, "name", c.id),
                "tpp": getattr(c, "tpp", None),
                "tpp_is_lower_bound": getattr(c, "tpp_is_lower_bound", None),
                "die_area_mm2": getattr(c, "die_area_mm2", None),
                "performance_density": getattr(c, "performance_density", None),
                "eccn_3a090": getattr(c, "eccn_3a090", None) or "undecided (unknown figure)",
                "bandwidth_tbps": c.bandwidth_tbps,
            }
            for c in chips
        ],
        columns=[
            "chip_id",
            "name",
            "tpp",
            "tpp_is_lower_bound",
            "die_area_mm2",
            "performance_density",
            "eccn_3a090",
            "bandwidth_tbps",
        ],
    )

    provider = model.workload_ratios(analysis, chips, layer, counts) if analysis.measured else None
    crows = []
    try:
        results = claims_fn(provider)
    except ImportError as exc:
        results = []
        data.notes["claims"] = f"claims unavailable: {exc}"
    for c in results:
        d = c.to_dict() if hasattr(c, "to_dict") else dict(c)
        for v in d.get("verdicts") or [{}]:
            crows.append(
                {
                    "claim": d.get("id"),
                    "chips": " vs ".join(map(str, d.get("chips") or [])),
                    "relation": _text(d.get("relation"), ("kind",)),
                    "status": d.get("status"),
                    "verdict": d.get("verdict"),
                    "basis": v.get("basis"),
                    "ratio": v.get("ratio"),
                    "basis_verdict": v.get("verdict"),
                    "detail": v.get("detail"),
                    "quote_en": d.get("quote_en") or d.get("quote"),
                    "source": _text(d.get("source"), ("publication", "date", "title")),
                }
            )
    ccols = [
        "claim",
        "chips",
        "relation",
        "status",
        "verdict",
        "basis",
        "ratio",
        "basis_verdict",
        "detail",
        "quote_en",
        "source",
    ]
    t["claims"] = (
        pd.DataFrame(crows, columns=ccols)
        .sort_values(["claim", "basis"], kind="stable")
        .reset_index(drop=True)
    )

    prov = []
    for r in records:
        prov.append(
            {
                "kind": "measured",
                "subject": r.get("chip_id") or r.get("device_name"),
                "figure": f"{r.get('workload')}/{r.get('shape_label')}/{r.get('dtype')}/{r.get('impl')}",
                "value": r.get("median_s"),
                "run_id": r.get("run_id"),
                "source_id": r.get("git_commit"),
                "confidence": r.get("status"),
            }
        )
    for c in chips:
        for fname, src in sorted((getattr(c, "sources", {}) or {}).items()):
            sid = getattr(src, "source_id", None) or (src.get("source") if isinstance(src, Mapping) else None)
            conf = getattr(src, "confidence", None) or (
                src.get("confidence") if isinstance(src, Mapping) else None
            )
            prov.append(
                {
                    "kind": "spec",
                    "subject": c.id,
                    "figure": fname,
                    "value": _spec_value(c, fname),
                    "run_id": "",
                    "source_id": sid,
                    "confidence": conf,
                }
            )
    t["provenance"] = pd.DataFrame(
        prov, columns=["kind", "subject", "figure", "value", "run_id", "source_id", "confidence"]
    )
    for name in list(t):
        t[name] = t[name].reset_index(drop=True)
    return data


def _text(value: Any, keys: Sequence[str]) -> str | None:
    """A nested dict shown by a few of its fields ("Reuters, 2025-12-10"), a plain value as is."""
    if isinstance(value, Mapping):
        return ", ".join(str(value[k]) for k in keys if value.get(k)) or None
    return None if value is None else str(value)


def _spec_value(chip: Any, fname: str) -> Any:
    if fname.startswith("peaks."):
        return chip.peak_tflops.get(fname.removeprefix("peaks."))
    v = getattr(chip, fname, None)
    return v if isinstance(v, int | float | str) or v is None else str(v)


# ---------------------------------------------------------------------------------------------- plots
def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return matplotlib, plt


def _save(fig: Any, stem: Path) -> list[Path]:
    """Save a figure as PNG and SVG (fixed metadata, fixed hash salt), atomically."""
    matplotlib, plt = _mpl()
    out = []
    with matplotlib.rc_context({"svg.hashsalt": SALT, "svg.fonttype": "path"}):
        for ext, meta in (
            ("svg", {"Date": None, "Creator": "gpucompare"}),
            ("png", {"Software": "gpucompare"}),
        ):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, metadata=meta, dpi=100)
            path = stem.with_suffix(f".{ext}")
            atomic_write(path, buf.getvalue())
            out.append(path)
    plt.close(fig)
    return out


def _log_axes(ax: Any) -> None:
    """Log-log axes with plain tick labels (no mathtext: faster and identical across runs)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(NullLocator())


def plot_roofline(data: ReportData, chip: Any, plots: Path) -> list[Path]:
    """Roofline of ``chip`` (a roof per dtype present), points measured on it and projections onto it."""
    _, plt = _mpl()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    measured = [
        m for m in (data.analysis.measured if data.analysis else []) if m.chip_id == chip.id and m.flops > 0
    ]
    projs = [p for p in data.projections if p.chip_id == chip.id and p.status == "ok" and p.flops > 0]
    dtypes = sorted({p.dtype for p in projs} | {m.dtype for m in measured} | {"bf16"})
    ais = [p.flops / p.bytes for p in projs if p.bytes] + [m.intensity for m in measured if m.bytes]
    lo = math.floor(math.log10(min([0.1, *ais]))) if ais else -1
    hi = math.ceil(math.log10(max([1e4, *ais]))) if ais else 4
    xs = [10 ** (lo + i * (hi - lo) / 100) for i in range(101)]  # FLOP/byte, covering every point
    bw = chip.bandwidth_tbps
    for dt in dtypes:
        peak = chip.peak_tflops.get(dt)
        if peak and bw:
            ax.plot(xs, [min(peak, x * bw) for x in xs], label=f"roof {dt} ({peak:g} TFLOP/s, {bw:g} TB/s)")
    if projs:
        ax.scatter(
            [p.flops / p.bytes for p in projs], [p.tflops for p in projs], marker="x", label="projected"
        )
    if measured:
        ax.scatter(
            [m.intensity for m in measured],
            [m.flops / m.median_s / 1e12 for m in measured],
            marker="o",
            facecolors="none",
            edgecolors="k",
            label="measured here",
        )
    _log_axes(ax)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("TFLOP/s")
    title = f"{chip.id}: roofline" + (
        " (pipeline-check points: CPU efficiencies)" if any(p.pipeline_check for p in projs) else ""
    )
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    return _save(fig, plots / f"roofline_{_slug(chip.id)}")


def plot_ratios(data: ReportData, a: Any, b: Any, plots: Path) -> list[Path]:
    """Bars of per-workload (and per-step) projected speed-ups of A over B, spec ratios as lines."""
    _, plt = _mpl()
    df = data.tables["ratios"]
    df = df[(df.chip_a == a.id) & (df.chip_b == b.id) & df.ratio.notna()]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(df) + 1.5)))
    labels = [s.removeprefix("workload:") for s in df.basis]
    ax.barh(range(len(df)), list(df.ratio), color="tab:blue")
    ax.set_yticks(range(len(df)), labels, fontsize=7)
    sr = data.tables["spec_ratios"]
    sr = sr[(sr.chip_a == a.id) & (sr.chip_b == b.id) & sr.ratio.notna()]
    for (basis, value), style in zip(
        sorted(zip(sr.basis, sr.ratio)), ["--", ":", "-.", (0, (1, 3)), (0, (5, 2))] * 3
    ):
        ax.axvline(value, linestyle=style, color="gray", label=f"spec {basis}: {value:.3g}x")
    ax.set_xlabel(f"speed-up of {a.id} over {b.id} (t_{b.id} / t_{a.id})")
    ax.set_title(f"{a.id} vs {b.id}: projected per workload" + ("" if len(df) else " (no measurement yet)"))
    if len(sr):
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save(fig, plots / f"ratios_{_slug(a.id)}_vs_{_slug(b.id)}")


def plot_validation(data: ReportData, plots: Path) -> list[Path]:
    _, plt = _mpl()
    rows = [r for r in data.validation if r.projected_s]
    fig, ax = plt.subplots(figsize=(5, 5))
    xs, ys = [r.measured_s for r in rows], [r.projected_s for r in rows]
    ax.scatter(xs, ys)
    if rows:
        lo, hi = min(xs + ys), max(xs + ys)
        ax.plot([lo, hi], [lo, hi], "k--", label="projected = measured")
        _log_axes(ax)
        ax.legend(fontsize=8)
    ax.set_xlabel("measured time (s)")
    ax.set_ylabel("projected time (s)")
    ax.set_title("validation: " + ("projected vs measured" if rows else "unvalidated (no second chip)"))
    fig.tight_layout()
    return _save(fig, plots / "validation")


# ----------------------------------------------------------------------------------------- documents
SECTIONS = (
    ("machines", "Machines measured", "One row per run folder under `results/runs/`."),
    (
        "efficiency",
        "Efficiency against spec",
        "Roofline time `t* = max(F/P, B/BW)` at the measured chip's own peaks, efficiency `e = t*/t`, "
        "bound from the arithmetic intensity against the ridge `P/BW`. For compute-bound work "
        "`efficiency_clock_norm = e × spec_clock / run_clock` (run clock: the SM clock sampled after the "
        "timed loop); projections use the as-run `efficiency`. The spec clock is the clock the chip's "
        "tensor peaks are computed at (`peak_clock_mhz` in the spec database: H100/H200 1830 MHz, below "
        "their 1980 MHz boost), else its boost clock. Chips with neither (H20: peaks capped "
        "independently of clock) get no normalisation.",
    ),
    (
        "projections",
        "Projected time and throughput per chip",
        "`t_X = max(F/(e_c·P_X), B/(e_m·BW_X))`, best implementation per workload, shape and dtype. "
        "`e_c`, `e_m`: the record's own efficiency on its own bound; on the other bound the median of "
        "the run's records bound there (same dtype; memory: any dtype if none), never below the "
        "record's own utilisation of that resource. `unsupported`/`unknown`/`unmeasured` cells carry "
        "no number. Cells: projected time and the bound on that chip (c compute, m memory); "
        "throughput (TFLOP/s, GB/s) in `tables/projections.csv`.",
    ),
    (
        "ratios",
        "Ratios per workload",
        "Speed-up of chip A over chip B, `t_B / t_A`, per measured workload and per composed step "
        "(`model:`).",
    ),
    (
        "model_steps",
        "A Llama-3-70B-sized layer (train, prefill, decode)",
        "One layer: hidden 8192, 64 query / 8 KV heads of 128, SwiGLU MLP 28672 (QKV, out, gate, up, "
        "down GEMMs + attention). train: fwd + bwd over 4096 tokens (GEMM bwd = 2 × fwd); prefill: "
        "4096 tokens; decode: batch 32 over a 4096-token KV cache. FLOPs/bytes from "
        "`gpucompare.workloads`; efficiencies from the nearest measured shape (`matched`). tokens/s "
        "for 80 such layers (no embedding, norms or communication).",
    ),
    ("validation", "Validation: projection vs measurement", ""),
    (
        "noise",
        "Run-to-run noise",
        "Kernels measured in two or more runs on the same chip: `spread = (max - min) / median` of the "
        "per-run medians. Goal: ≤ 1 % for kernels longer than 100 µs (`goal_applies`).",
    ),
    (
        "export_control",
        "Export-control tiers (ECCN 3A090, October 2023 rule)",
        "TPP = max over dtypes of dense TOPS × bit length; PD = TPP / die area; derived in "
        "`gpucompare.specs`.",
    ),
    (
        "spec_ratios",
        "Spec ratios for chosen pairs",
        "From `gpucompare.specs.spec_ratios`; full bf16 and bandwidth matrices in "
        "`tables/spec_ratio_matrix.csv`.",
    ),
    (
        "claims",
        "Claims and verdicts",
        "From `gpucompare.claims`: spec bases always; workload bases when measured. One row per claim "
        "here; every basis with its ratio and verdict in `tables/claims.csv`.",
    ),
    (
        "skipped",
        "Records not modelled",
        "Failed or skipped records and records without local peaks, with the reason.",
    ),
    (
        "provenance",
        "Provenance",
        "Every measured figure with its run id; every spec figure with its source id.",
    ),
)
README_ONLY_IN_CSV = {"provenance": "`tables/provenance.csv`", "measured": "`tables/measured.csv`"}


def projection_pivot(df: pd.DataFrame) -> pd.DataFrame:
    """Projections as one row per measured item and one column per chip: "<time ms> c|m" or the status."""

    def cell(r: Any) -> str:
        if r.status != "ok":
            return str(r.status)
        return f"{r.time_s * 1e3:.4g} ms {str(r.bound)[0]}" + (
            " (pipeline check)" if r.pipeline_check else ""
        )

    keys = ["source_run_id", "workload", "shape_label", "dtype", "impl"]
    chips = list(dict.fromkeys(df.chip_id))
    rows: dict[tuple, dict] = {}
    for r in df.itertuples(index=False):
        k = tuple(getattr(r, c) for c in keys)
        rows.setdefault(k, dict(zip(keys, k)))[r.chip_id] = cell(r)
    return pd.DataFrame(list(rows.values()), columns=keys + chips)


def _section_df(data: ReportData, name: str) -> pd.DataFrame:
    df = data.tables[name]
    if name == "projections" and not df.empty:
        return projection_pivot(df)
    if name == "claims" and not df.empty:
        return df.drop_duplicates("claim")[["claim", "chips", "status", "verdict", "source"]]
    if name == "efficiency" and not df.empty:
        return df.drop(columns=["peak_source", "roofline_s", "clock_note"])
    return df


def render_markdown(data: ReportData, plot_files: Sequence[str]) -> str:
    out = [
        "# gpucompare results\n",
        "Generated by `gpucompare report` from the runs under `results/runs/`; do not edit by hand.\n",
        "## Status\n",
        data.notes["status"] + "\n",
    ]
    for key in ("cpu", "pairs", "model", "claims"):
        if data.notes.get(key):
            out.append(data.notes[key] + "\n")
    out.append(f"Validation: {data.notes['validation']}.\n")
    for name, title, text in SECTIONS:
        out.append(f"## {title}\n")
        if text:
            out.append(text + "\n")
        if name == "validation":
            out.append(data.notes["validation"] + ".\n")
        if name in README_ONLY_IN_CSV:
            out.append(f"{len(data.tables[name])} rows in {README_ONLY_IN_CSV[name]}.\n")
            continue
        out.append(md_table(_section_df(data, name)))
    out.append("## Plots\n")
    out.extend(f"![{Path(p).stem}]({p})\n" for p in plot_files if p.endswith(".svg"))
    return "\n".join(out)


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 6px}
th{background:#eee;position:sticky;top:0}tr:nth-child(even){background:#fafafa}
.note{background:#fff6d5;border-left:4px solid #e0b000;padding:0.5em 1em}
.plot svg{max-width:100%;height:auto}"""


def render_html(data: ReportData, svgs: Mapping[str, str]) -> str:
    md_bold = re.compile(r"\*\*(.+?)\*\*")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>gpucompare results</title>',
        f"<style>{CSS}</style></head><body>",
        "<h1>gpucompare results</h1>",
        f'<p class="note">{html.escape(data.notes["status"])}</p>',
    ]
    for key in ("cpu", "pairs", "model", "claims"):
        if data.notes.get(key):
            note = md_bold.sub(r"<strong>\1</strong>", html.escape(data.notes[key]))
            parts.append(f'<p class="note">{note}</p>')
    parts.append(f"<p>Validation: {html.escape(data.notes['validation'])}.</p>")
    for name, title, text in SECTIONS:
        parts.append(f'<h2 id="{name}">{html.escape(title)}</h2>')
        if text:
            parts.append(f"<p>{html.escape(text)}</p>")
        parts.append(html_table(_section_df(data, name)))
    parts.append("<h2>Plots</h2>")
    for name, svg in sorted(svgs.items()):
        parts.append(f'<div class="plot"><h3>{html.escape(name)}</h3>{svg}</div>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _inline_svg(text: str) -> str:
    """SVG file text without its XML declaration and DOCTYPE, ready to inline in HTML."""
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.S)


def generate(
    out_dir: str | os.PathLike,
    runs: Sequence[Any] | None = None,
    *,
    include_cpu: bool = False,
    plots: bool = True,
    **build_kwargs: Any,
) -> list[Path]:
    """Regenerate the report under ``out_dir``; ``runs`` default to every run under ``results/runs``.

    Returns the written paths (sorted). ``build_kwargs`` go to :func:`build` (chips, pairs, injections).
    """
    if runs is None:
        from gpucompare.results import load_runs

        root = Path(out_dir) / "runs"
        runs = load_runs(root) if root.exists() else []
    out = Path(out_dir)
    data = build(list(runs), include_cpu=include_cpu, **build_kwargs)
    written: list[Path] = []
    tables_dir, plots_dir = out / "tables", out / "plots"
    for name, df in sorted(data.tables.items()):
        path = tables_dir / f"{name}.csv"
        atomic_write(path, csv_text(df))
        written.append(path)
    svgs: dict[str, str] = {}
    if plots:
        pfiles: list[Path] = []
        for chip in data.chips:
            if chip.bandwidth_tbps and chip.peak_tflops.get("bf16"):
                pfiles += plot_roofline(data, chip, plots_dir)
        for a, b in data.pairs:
            pfiles += plot_ratios(data, a, b, plots_dir)
        pfiles += plot_validation(data, plots_dir)
        for p in pfiles:
            if p.suffix == ".svg":
                svgs[p.stem] = _inline_svg(p.read_text(encoding="utf-8"))
        written += pfiles
    keep = set(written)
    for folder in (tables_dir, plots_dir):  # generated folders: drop what this generation did not write
        if folder.is_dir():
            for f in folder.iterdir():
                if f.is_file() and f.suffix in (".csv", ".png", ".svg") and f not in keep:
                    f.unlink()
    rel = [p.relative_to(out).as_posix() for p in written if p.parent == plots_dir]
    atomic_write(out / "README.md", render_markdown(data, sorted(rel)))
    atomic_write(out / "report.html", render_html(data, svgs))
    written += [out / "README.md", out / "report.html"]
    return sorted(written)
