"""The claim model: a claim, its source and relation, and the verdicts a check produces.

Each claim kind defines its own :class:`Relation` subclass (in ``claims/kinds/``) and describes itself with
a :class:`Kind`: how to read its relation from the file and how to check it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from gpucompare.claims.reader import RelationReader
    from gpucompare.specs import ChipDB

#: ``workload_ratios(chip_a_id, chip_b_id)``: the model's per-workload ratios, as dicts (or objects) with
#: ``basis, ratio, bound_a, bound_b, detail``.
WorkloadRatios = Callable[[str, str], Iterable[Any]]


@dataclass(frozen=True)
class Source:
    """Where a claim was read: publication, ISO date (or "unknown"), seed file name, optional quote."""

    publication: str
    date: str
    seed: str
    quote: str | None = None

    def to_dict(self) -> dict:
        d = {"publication": self.publication, "date": self.date, "seed": self.seed}
        if self.quote is not None:
            d["quote"] = self.quote
        return d


@dataclass(frozen=True, kw_only=True)
class Relation:
    """The stated relation, structured. Each kind subclasses it with its own fields (see ``claims.toml``).

    ``bases``: spec bases and chip attributes to check; ``workloads``: the workload bases the claim names
    (empty: every one the model reports). ``caveat``: bases shown beside the verdict but not judged (a
    compute claim's bandwidth), for the kinds that compare pairs; memory-bound workloads are then context
    too when ``bandwidth`` is among them. ``not_checked``: what the claim says that specs cannot check,
    said after the verdict. ``set_aside``: ledger groups (one source's script) whose figures this claim does
    not judge, with why (shown as context); ledger entries flagged unrepresentative are set aside the same way.
    ``capability``: the claim is about an ability (to train, to serve inference) that rests on more than
    peak figures (software maturity, stability at scale): not checkable, its figures are context.
    """

    kind: ClassVar[str] = ""
    bases: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    caveat: tuple[str, ...] = ()
    not_checked: str | None = None
    set_aside: Mapping[str, str] = field(default_factory=dict)
    capability: bool = False

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """The keys a relation table of this kind may hold, besides ``kind``."""
        return frozenset(f.name for f in fields(cls))

    def to_dict(self) -> dict:
        """The kind and this kind's fields, sorted by name (JSON-ready)."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in sorted(self.field_names()):
            v = getattr(self, key)
            if isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, Mapping):
                v = dict(v)
            out[key] = v
        return out


@dataclass(frozen=True)
class Claim:
    """One claim of ``claims.toml``; chip names are resolved to database ids at load time."""

    id: str
    quote: str
    quote_en: str
    source: Source
    chips: tuple[str, ...]
    relation: Relation
    note: str = ""
    also_in: tuple[Source, ...] = ()


@dataclass(frozen=True)
class BasisVerdict:
    """The verdict on one basis for one chip pair (or one chip).

    ``basis``: ``spec:<basis>``, ``attr:<attribute>``, ``rank:<basis>``, ``spec:<favours>/<over>``,
    ``eccn:3a090``, ``eccn:case-by-case``, ``fleet:<basis>``, ``workload:<workload>/<shape>/<dtype>`` or
    ``model:<step>``. ``ratio`` is a/b (None when a figure is missing or the entry is not a ratio);
    ``value`` carries a non-ratio number (a rank, a fleet total) in ``unit``. ``label`` is the short form
    the overall verdict sentence uses (not part of the JSON).
    """

    basis: str
    ratio: float | None
    verdict: str
    detail: str
    pair: tuple[str, ...] = ()
    a_value: float | None = None
    b_value: float | None = None
    value: float | None = None
    unit: str | None = None
    group: str | None = None
    bound_a: str | None = None
    bound_b: str | None = None
    label: str = ""

    def to_dict(self) -> dict:
        return {
            "basis": self.basis,
            "ratio": self.ratio,
            "verdict": self.verdict,
            "detail": self.detail,
            "pair": list(self.pair),
            "a_value": self.a_value,
            "b_value": self.b_value,
            "value": self.value,
            "unit": self.unit,
            "group": self.group,
            "bound_a": self.bound_a,
            "bound_b": self.bound_b,
        }


@dataclass(frozen=True)
class ClaimResult:
    """A claim with its verdicts. ``status`` is one of ``STATUSES``; ``verdict`` is the sentence."""

    claim: Claim
    status: str
    verdict: str
    detail: str
    verdicts: tuple[BasisVerdict, ...]

    @property
    def id(self) -> str:
        return self.claim.id

    def to_dict(self) -> dict:
        """The JSON-ready object printed by ``gpucompare claims --json``."""
        c = self.claim
        return {
            "id": c.id,
            "quote": c.quote,
            "quote_en": c.quote_en,
            "source": c.source.to_dict(),
            "also_in": [s.to_dict() for s in c.also_in],
            "chips": list(c.chips),
            "relation": c.relation.to_dict(),
            "note": c.note,
            "status": self.status,
            "verdict": self.verdict,
            "detail": self.detail,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


# ---------------------------------------------------------------------------------------------------------
# What a claim kind provides
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What a check needs besides the relation: the chip database and the model's workload ratios."""

    db: ChipDB
    workload_ratios: WorkloadRatios | None = None


@dataclass(frozen=True)
class Outcome:
    """A kind's check: the per-basis verdicts, the detail sentence and, when the kind decides the overall
    verdict itself (a policy status, fleet context), ``overall = (status, verdict sentence)``."""

    entries: tuple[BasisVerdict, ...]
    detail: str
    overall: tuple[str, str] | None = None


R = TypeVar("R", bound=Relation)


@dataclass(frozen=True)
class Kind(Generic[R]):
    """One claim kind: its relation type, how to read it and how to check it.

    ``required``: the relation keys that must be present (the others of ``relation`` are optional).
    ``chip_keys``: keys naming one chip of the claim's ``chips``, resolved before ``parse`` runs.
    ``default_bases``: the bases checked when the relation lists none.
    ``parse(reader)``: the kind's own fields (besides ``bases``, ``workloads`` and ``chip_keys``).
    ``check(relation, context)``: the per-basis verdicts.
    ``caveat``: whether the kind shows ``relation.caveat`` bases (kinds that compare chip pairs).
    """

    relation: type[R]
    required: frozenset[str]
    parse: Callable[[RelationReader], dict[str, Any]]
    check: Callable[[R, Context], Outcome]
    chip_keys: tuple[str, ...] = ()
    default_bases: tuple[str, ...] = ()
    caveat: bool = False

    @property
    def name(self) -> str:
        return self.relation.kind

    @property
    def keys(self) -> frozenset[str]:
        """Every key its relation table may hold, ``kind`` included."""
        return self.relation.field_names() | {"kind"}
