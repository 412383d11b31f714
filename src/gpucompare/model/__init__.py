"""The roofline model: efficiency split by bound, projection onto every chip, ratios, a transformer layer.

Along the data flow (each module imports only the ones above it):

- :mod:`~gpucompare.model.roofline`: one record on its local roofline (:class:`Measured`: bound,
  efficiency, utilisations, clocks) and the efficiencies it projects with (:func:`efficiencies`);
- :mod:`~gpucompare.model.projection`: records analysed together (:class:`Analysis`) and the one
  projection rule ``t_X = max(F / (e_c·P_X), B / (e_m·BW_X))`` onto every chip;
- :mod:`~gpucompare.model.layer`: train, prefill and decode steps of one transformer layer
  (:mod:`gpucompare.dims`) composed from the measured workloads, tokens/s;
- :mod:`~gpucompare.model.ratios`: per-workload and per-step speed-ups between two chips, the
  provider the claims judge (:func:`workload_ratios`, :func:`stored_workload_ratios`);
- :mod:`~gpucompare.model.validation`: projections between measured chips against their measurements,
  and run-to-run noise;
- :mod:`~gpucompare.model.comm`: collectives on any chip from its link (latency + size / (efficiency ×
  link)), fitted on measured or published results and validated against the published ones;
- :mod:`~gpucompare.model.server`: 8-GPU tensor- and data-parallel layer steps at the spec roofline with
  their communication (the training fleet equivalence); :mod:`~gpucompare.model.serving`: LLM serving (memory
  fit, TTFT, TPOT, tokens/s from the calibrated kernel projections), validated against published serving
  results, and the serving fleet equivalence;
- the calibrated projection: :mod:`~gpucompare.model.evidence` (ledger entries and runs as observations),
  :mod:`~gpucompare.model.calibration` (per-chip efficiency), :mod:`~gpucompare.model.predict`,
  :mod:`~gpucompare.model.loco` (leave-one-chip-out validation) and :mod:`~gpucompare.model.headline`
  (ratios of a chip pair from the strongest evidence: :func:`headline_pair`).

Chips are real :class:`gpucompare.specs.Chip` objects, or a :class:`gpucompare.specs.ChipDB` where a
lookup by name is needed (:func:`chip_index`). Results derived from cpu-fallback runs carry
``pipeline_check=True`` (:func:`gpucompare.results.is_pipeline_check`); the ratios the claims judge
leave them out.
"""

from gpucompare.model.headline import evidence_ratios, headline_pair
from gpucompare.model.layer import (
    STEPS,
    CountsFn,
    LayerConfig,
    Piece,
    PieceResult,
    StepResult,
    compose_step,
    compose_steps,
    default_counts,
    nearest_measured,
    step_pieces,
    step_tokens,
)
from gpucompare.model.loco import summarise, validate_ledger
from gpucompare.model.predict import Prediction, predict
from gpucompare.model.projection import (
    Analysis,
    ProjectionResult,
    analyse,
    chip_index,
    project,
    project_all,
    project_work,
)
from gpucompare.model.ratios import (
    WorkloadRatios,
    ratio,
    stored_workload_ratios,
    workload_ratio_rows,
    workload_ratios,
)
from gpucompare.model.roofline import (
    BOUNDS,
    TERA,
    Efficiencies,
    Measured,
    analyse_record,
    efficiencies,
    run_clock_mhz,
    spec_clock_mhz,
)
from gpucompare.model.validation import (
    NOISE_MIN_TIME_S,
    ValidationRow,
    run_to_run_spread,
    validate,
    validation_error,
    validation_status,
)

__all__ = [
    "BOUNDS",
    "NOISE_MIN_TIME_S",
    "STEPS",
    "TERA",
    "Analysis",
    "CountsFn",
    "Efficiencies",
    "LayerConfig",
    "Measured",
    "Piece",
    "PieceResult",
    "Prediction",
    "ProjectionResult",
    "StepResult",
    "ValidationRow",
    "WorkloadRatios",
    "analyse",
    "analyse_record",
    "chip_index",
    "compose_step",
    "compose_steps",
    "default_counts",
    "efficiencies",
    "evidence_ratios",
    "headline_pair",
    "nearest_measured",
    "predict",
    "project",
    "project_all",
    "project_work",
    "ratio",
    "run_clock_mhz",
    "run_to_run_spread",
    "spec_clock_mhz",
    "step_pieces",
    "step_tokens",
    "stored_workload_ratios",
    "summarise",
    "validate",
    "validate_ledger",
    "validation_error",
    "validation_status",
    "workload_ratio_rows",
    "workload_ratios",
]
