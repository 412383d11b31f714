"""The workload records and their validation: :class:`Shape` (one problem size, defined in
:mod:`gpucompare.workloads.shape` and re-exported here), :class:`Impl` (one implementation) and :class:`Workload` (what is measured, at which sizes, and how much work each size is),
plus the helpers every family module shares (:func:`element_bytes`, :func:`randn`, :func:`kernel_impl`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from gpucompare import dtypes
from gpucompare.hw import TIERS
from gpucompare.lazy import torch
from gpucompare.workloads.availability import Extra, dtype_supported, kernel_available
from gpucompare.workloads.shape import Shape

INTENTS = ("compute", "memory", "communication")

Params = Mapping[str, "int | bool | str"]
#: ``build(inputs, dtype) -> fn``: all setup, then a zero-argument closure whose call is what gets timed.
Builder = Callable[[dict, str], Callable[[], Any]]


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Impl:
    """One implementation of a workload.

    ``available(dtype, device, shape=None) -> (ok, reason)``: honest, never raises; ``reason`` says why not.
    ``build(inputs, dtype) -> fn``: does all setup (imports, graph for the backward, ...) and returns a
    zero-argument closure whose call is what gets timed.
    ``baseline_pool``: one of several vendor implementations (the SDPA backends) of which, per case, the
    fastest that passed its check is the baseline (the runner records it as ``best_baseline``).
    ``only_dtypes``: the dtypes it exists for (None: all of the workload's); the plan leaves the others out.
    ``notes(shape, dtype, device) -> str | None``: what the implementation does beyond the operation, stored in the
    record (a GQA expansion in setup, the fp8 accumulation mode).
    """

    name: str
    baseline: bool
    available: Callable[..., tuple[bool, str]]
    build: Builder
    triton: bool = False  # a Triton kernel (its compiled form is what ``gpucompare cache build`` prebuilds)
    baseline_pool: bool = False
    only_dtypes: tuple[str, ...] | None = None
    notes: Callable[[Shape, str, torch.device], str | None] | None = None


def kernel_impl(
    name: str,
    module: str,
    functions: tuple[str, ...],
    build: Builder,
    *,
    triton: bool,
    baseline: bool = False,
    extra: Extra | None = None,
    probe: str | None = None,
    **fields: Any,
) -> Impl:
    """An Impl backed by ``gpucompare.kernels.<module>`` (imported lazily; see
    :func:`gpucompare.workloads.availability.kernel_available`); ``fields``: the other :class:`Impl` fields."""
    available = kernel_available(name, module, functions, triton=triton, extra=extra, probe=probe)
    only = fields.get("only_dtypes")
    if only is not None:
        base_available = available

        def available(dtype: str, device: torch.device | str, shape: Shape | None = None) -> tuple[bool, str]:
            if dtype not in only:
                return False, f"{name} exists for {', '.join(only)} only"
            return base_available(dtype, device, shape)

    return Impl(name=name, baseline=baseline, available=available, build=build, triton=triton, **fields)


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A registered workload; its family module's docstring gives its cost model.

    Beyond the contract fields: ``params`` (the parameter names every shape must have), ``cpu_dtypes`` /
    ``gpu_dtypes`` (what is measured on each kind of device), and the private functions behind
    :meth:`flops`, :meth:`bytes`, :meth:`make_inputs` and :meth:`reference`.
    """

    name: str
    family: str
    intent: Literal["compute", "memory", "communication"]
    dtypes: tuple[str, ...]
    tiers: Mapping[str, tuple[Shape, ...]]
    impls: tuple[Impl, ...]
    params: tuple[str, ...]
    description: str = ""
    cpu_dtypes: tuple[str, ...] = ("fp32", "fp16")
    gpu_dtypes: tuple[str, ...] | None = None  # None: all of ``dtypes``
    flops_fn: Callable[[Params], int] = field(repr=False)
    bytes_fn: Callable[[Params, str], int] = field(repr=False)
    inputs_fn: Callable[[Params, str, torch.device, torch.Generator], dict] = field(repr=False)
    reference_fn: Callable[[dict], Any] = field(repr=False)
    validate_fn: Callable[[Params], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._check_kind()
        for attr in ("dtypes", "cpu_dtypes", "params"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if self.gpu_dtypes is not None:
            object.__setattr__(self, "gpu_dtypes", tuple(self.gpu_dtypes))
        self._check_dtypes()
        self._check_impls()
        object.__setattr__(self, "tiers", MappingProxyType(self._checked_tiers()))

    # ----------------------------------------------------------------------------- validation

    def _check_kind(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"workload name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.family, str) or not self.family.isidentifier():
            raise ValueError(f"workload {self.name!r}: family must be an identifier, got {self.family!r}")
        if self.intent not in INTENTS:
            raise ValueError(
                f"workload {self.name!r}: intent {self.intent!r} is not one of {', '.join(INTENTS)}"
            )

    def _check_dtypes(self) -> None:
        w = f"workload {self.name!r}"
        if not self.dtypes or len(set(self.dtypes)) != len(self.dtypes):
            raise ValueError(f"{w}: dtypes must be non-empty and unique, got {self.dtypes}")
        unknown = [d for d in self.dtypes if d not in dtypes.MEASURED_DTYPES]
        if unknown:
            raise ValueError(f"{w}: unknown dtypes {unknown}; known: {', '.join(dtypes.MEASURED_DTYPES)}")
        for attr in ("cpu_dtypes", "gpu_dtypes"):
            extra = [d for d in (getattr(self, attr) or ()) if d not in self.dtypes]
            if extra:
                raise ValueError(f"{w}: {attr} {extra} are not in dtypes {self.dtypes}")
        bad_cpu = [d for d in self.cpu_dtypes if not dtype_supported(d, "cpu")[0]]
        if bad_cpu:
            raise ValueError(f"{w}: {bad_cpu} cannot run on the CPU")

    def _check_impls(self) -> None:
        """Unique implementation names, exactly one baseline."""
        names = [i.name for i in self.impls]
        if not names or len(set(names)) != len(names):
            raise ValueError(
                f"workload {self.name!r}: implementation names must be non-empty and unique, got {names}"
            )
        baselines = [i.name for i in self.impls if i.baseline]
        if len(baselines) != 1:
            raise ValueError(
                f"workload {self.name!r}: needs exactly one baseline implementation, got {baselines or 'none'}"
            )

    def _checked_tiers(self) -> dict[str, tuple[Shape, ...]]:
        """Known tier names holding Shapes with the right parameters; labels unique across tiers."""
        tiers: dict[str, tuple[Shape, ...]] = {}
        seen: set[str] = set()
        for tier, shapes in self.tiers.items():
            if tier not in TIERS:
                raise ValueError(f"workload {self.name!r}: unknown tier {tier!r}; known: {', '.join(TIERS)}")
            tiers[tier] = tuple(shapes)
            for s in tiers[tier]:
                if not isinstance(s, Shape):
                    raise ValueError(f"workload {self.name!r}: tier {tier!r} holds {s!r}, not a Shape")
                if s.label in seen:
                    raise ValueError(f"workload {self.name!r}: duplicate shape label {s.label!r}")
                seen.add(s.label)
                self._check_params(s)
        return tiers

    def _check_params(self, shape: Shape) -> None:
        if not isinstance(shape, Shape):
            raise ValueError(f"workload {self.name!r}: expected a Shape, got {type(shape).__name__}")
        keys = set(shape.params)
        if keys != set(self.params):
            missing = sorted(set(self.params) - keys)
            extra = sorted(keys - set(self.params))
            raise ValueError(
                f"workload {self.name!r}: shape {shape.label!r} needs parameters {list(self.params)}"
                f" (missing {missing}, unexpected {extra})"
            )
        kinds = {
            k: type(v)
            for s in self.tiers.get(next(iter(self.tiers), ""), ())[:1]
            for k, v in s.params.items()
        }
        for k, v in shape.params.items():
            if k in kinds and type(v) is not kinds[k]:  # a string hq would reach arithmetic (issue 22 item 1)
                raise ValueError(
                    f"workload {self.name!r}: shape {shape.label!r}: {k}={v!r:.40} is not {kinds[k].__name__}"
                )
            if isinstance(v, int) and not isinstance(v, bool) and v <= 0:
                raise ValueError(f"workload {self.name!r}: shape {shape.label!r}: {k}={v} must be positive")
        if self.validate_fn is not None:
            try:
                self.validate_fn(shape.params)
            except ValueError as exc:
                raise ValueError(f"workload {self.name!r}: shape {shape.label!r}: {exc}") from None

    def _check_dtype(self, dtype: str) -> None:
        if dtype not in self.dtypes:
            raise ValueError(
                f"workload {self.name!r} has no dtype {dtype!r}; supported: {', '.join(self.dtypes)}"
            )

    # ----------------------------------------------------------------------------- lookups

    @property
    def baseline(self) -> Impl:
        """The one baseline implementation (the PyTorch / vendor path)."""
        return next(i for i in self.impls if i.baseline)

    def impl(self, name: str) -> Impl:
        for i in self.impls:
            if i.name == name:
                return i
        known = ", ".join(i.name for i in self.impls)
        raise ValueError(f"workload {self.name!r} has no implementation {name!r}; known: {known}")

    def shapes(self, tier: str) -> tuple[Shape, ...]:
        """The shapes of one tier (``cpu`` or ``gpu``)."""
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; known: {', '.join(TIERS)}")
        return self.tiers.get(tier, ())

    def shape(self, label: str) -> Shape:
        """The shape with this label, from any tier."""
        for shapes in self.tiers.values():
            for s in shapes:
                if s.label == label:
                    return s
        known = ", ".join(s.label for shapes in self.tiers.values() for s in shapes)
        raise ValueError(f"workload {self.name!r} has no shape {label!r}; known: {known}")

    # ----------------------------------------------------------------------------- counts

    def flops(self, shape: Shape) -> int:
        """Floating-point operations of one call at ``shape`` (the family module's cost model)."""
        self._check_params(shape)
        return int(self.flops_fn(shape.params))

    def bytes(self, shape: Shape, dtype: str) -> int:
        """Minimum bytes one call must move between DRAM and the chip at ``shape`` in ``dtype``."""
        self._check_params(shape)
        self._check_dtype(dtype)
        return int(self.bytes_fn(shape.params, dtype))

    def arithmetic_intensity(self, shape: Shape, dtype: str) -> float:
        """FLOP per minimum byte (0 for a copy)."""
        return self.flops(shape) / self.bytes(shape, dtype)

    # ----------------------------------------------------------------------------- inputs, reference

    def make_inputs(self, shape: Shape, dtype: str, device: torch.device | str, seed: int = 0) -> dict:
        """Seeded random inputs (standard normal, never zeros) on ``device`` in the storage dtype.

        Same (shape, dtype, device, seed) -> the same tensors. fp8: e4m3 tensors quantised from the same
        normal data with an amax-based per-tensor scale, plus ``scale_a`` / ``scale_b`` (dequantisation).
        """
        self._check_params(shape)
        self._check_dtype(dtype)
        dev = torch.device(device)
        gen = torch.Generator(
            device=dev if dev.type != "meta" else "cpu"
        )  # meta: shapes only (cache builder)
        gen.manual_seed(int(seed))
        return self.inputs_fn(shape.params, dtype, dev, gen)

    def reference(self, inputs: dict) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The upcast reference output for ``inputs`` (from :mod:`gpucompare.reference`)."""
        return self.reference_fn(inputs)

    # ----------------------------------------------------------------------------- availability

    def dtypes_for(self, device: torch.device | str) -> tuple[str, ...]:
        """The dtypes measured on ``device``: ``cpu_dtypes`` on the CPU; on a GPU, ``gpu_dtypes`` that it
        supports (tf32 needs cc >= 8.0, bf16 cc >= 8.0, fp8 cc >= 8.9)."""
        dev = torch.device(device)
        if dev.type != "cuda":
            return self.cpu_dtypes
        wanted = self.gpu_dtypes if self.gpu_dtypes is not None else self.dtypes
        return tuple(d for d in wanted if dtype_supported(d, dev)[0])

    def availability(
        self, impl: Impl | str, dtype: str, device: torch.device | str, shape: Shape | None = None
    ) -> tuple[bool, str]:
        """Can ``impl`` run ``dtype`` (at ``shape``) on ``device``? ``(ok, reason when not)``; never raises
        for a known impl and dtype."""
        impl = self.impl(impl) if isinstance(impl, str) else impl
        self._check_dtype(dtype)
        dev = torch.device(device)
        ok, why = dtype_supported(dtype, dev)
        if not ok:
            return False, why
        if shape is not None:
            self._check_params(shape)
        return impl.available(dtype, dev, shape)


# --------------------------------------------------------------------------------------------- helpers


def element_bytes(dtype: str) -> int:
    """Storage bytes per element, from the dtype table: fp32/tf32 4, fp16/bf16 2, fp8 1."""
    return int(dtypes.get(dtype).bytes)


def randn(shape: tuple[int, ...], gen: torch.Generator, device: torch.device, dtype: str) -> torch.Tensor:
    """Standard normal in float32 from ``gen``, cast to the storage dtype (fp8: left in float32 for the
    caller to quantise)."""
    if torch.device(device).type == "meta":  # no data: the Triton cache builder needs shapes and dtypes only
        x = torch.empty(shape, device=device, dtype=torch.float32)
    else:
        x = torch.randn(shape, generator=gen, device=device, dtype=torch.float32)
    return x if dtype == "fp8" else x.to(dtypes.torch_dtype(dtype))
