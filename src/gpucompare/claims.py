"""Claims from the press (``seeds/claims.toml``) and their verdicts against the spec database and the model.

A claim is a quote, its source, the chips it involves and a structured relation (see the header of
``claims.toml``). :func:`check_claim` turns it into a :class:`ClaimResult`: one :class:`BasisVerdict` per
(chip pair, basis) and an overall verdict with the numbers behind it.

Spec bases come from :func:`gpucompare.specs.spec_ratios` (``bf16, fp8, tpp, bandwidth, memory,
interconnect``); a few chip attributes (``sm_count, die_area_mm2, launch_year``) are read from the ``Chip``.
For a pair (a, b) the ratio is ``r = value_a / value_b``. Per kind:

- ``ratio``: reproduced when ``low <= r <= high`` (the range the wording allows, documented in the claim);
- ``ordering``: reproduced when ``r > min_ratio`` (``>=`` when not strict); with ``rank``, the rank
  ``1 + #{chips of the vendor with value > value_a}`` must equal the claimed rank, and (the per-generation
  reading) so must the rank of a's architecture family by its best bf16 peak;
- ``classification``: ``less_on`` bases need ``r < 1``, ``same`` attributes ``|r - 1| <= 1 %``, ``expect``
  attributes equality;
- ``qualitative``: a is claimed relatively stronger on ``favours`` than on ``over``:
  ``r(favours) / r(over) > 1``;
- ``regulatory``: the ECCN 3A090 tier derived from the peaks must agree with the stated status
  (controlled ⇔ in a tier); a stated "licensable" / "licence-required" is policy: the status is then
  "policy" and the verdict says which chips the metrics put in the same tier;
- ``count``: fleet aggregates ``count × value`` (context, no verdict).

Workload verdicts: ``workload_ratios(chip_a_id, chip_b_id)`` (the model's provider) returns objects or dicts
with ``basis, ratio, bound_a, bound_b, detail``; each is judged by the kind's rule, like a spec basis.
Overall: "reproduced" when every checked basis holds, "refuted" when none does, else "holds only on some
bases: holds on ...; not on ..." grouped by what the basis stands for (compute-bound work, memory-bound
work, ...). ``ClaimResult.status`` is the machine-readable form (:data:`STATUSES`).
Everything is deterministic: the order is the file's, the chips' and the provider's.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from gpucompare.errors import ClaimsError, GpucompareError, UnknownChipError
from gpucompare.specs import BASES as SPEC_BASES

ATTR_BASES = ("sm_count", "die_area_mm2", "launch_year")
KINDS = ("ratio", "ordering", "classification", "regulatory", "qualitative", "count")
VERDICTS = ("reproduced", "refuted", "unknown", "context")
STATUSES = ("reproduced", "refuted", "partial", "policy", "context", "unknown")
REG_STATUSES = ("controlled", "uncontrolled", "licensable", "licence-required")
SAME_TOLERANCE = 0.01

# What each basis stands for in a verdict, and its unit (for the fleet figures and details).
_GROUP = {
    "bf16": "compute (compute-bound work)",
    "fp8": "compute (compute-bound work)",
    "tpp": "compute (compute-bound work)",
    "sm_count": "compute (compute-bound work)",
    "bandwidth": "memory bandwidth (memory-bound work)",
    "memory": "memory capacity",
    "interconnect": "interconnect (multi-GPU communication)",
    "die_area_mm2": "silicon",
    "launch_year": "age",
}
_UNIT = {
    "bf16": "TFLOP/s",
    "fp8": "TFLOP/s",
    "tpp": "",
    "bandwidth": "TB/s",
    "memory": "GB",
    "interconnect": "GB/s",
    "sm_count": "SMs",
    "die_area_mm2": "mm²",
    "launch_year": "year",
}

_COMMON_KEYS = {"kind", "bases", "workloads"}
_REQUIRED = {
    "ratio": {"a", "b", "factor", "accept"},
    "ordering": {"a"},
    "classification": {"a"},
    "regulatory": {"status"},
    "qualitative": {"a", "than", "favours", "over"},
    "count": {"count", "qualifier", "what"},
}
_ALLOWED = {
    "ratio": {"wording"},
    "ordering": {"than", "min_ratio", "strict", "rank", "among"},
    "classification": {"of", "less_on", "same", "expect"},
    "regulatory": {"rule", "case_by_case"},
    "qualitative": set(),
    "count": {"chip", "equivalent_of", "assumed"},
}
_CLAIM_KEYS = {"id", "quote", "quote_en", "source", "also_in", "chips", "note", "relation"}
_SOURCE_KEYS = {"publication", "date", "seed"}


# ---------------------------------------------------------------------------------------------------------
# The claim model
# ---------------------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Relation:
    """The stated relation, structured; which fields are set depends on ``kind`` (see ``claims.toml``)."""

    kind: str
    a: str | None = None
    b: str | None = None
    factor: float | None = None
    wording: str | None = None
    accept: tuple[float, float] | None = None
    than: tuple[str, ...] | str | None = None  # chip ids, or "all"
    min_ratio: float = 1.0
    strict: bool = True
    rank: int | None = None
    among: str | None = None
    of: str | None = None
    less_on: tuple[str, ...] = ()
    same: tuple[str, ...] = ()
    expect: Mapping[str, Any] = field(default_factory=dict)
    status: Mapping[str, str] = field(default_factory=dict)
    rule: str | None = None
    case_by_case: Mapping[str, Any] | None = None
    favours: str | None = None
    over: str | None = None
    chip: str | None = None
    count: int | None = None
    qualifier: str | None = None
    what: str | None = None
    equivalent_of: str | None = None
    assumed: bool = False
    bases: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The fields that mean something for this kind (JSON-ready)."""
        keys = ["kind", *sorted(_REQUIRED[self.kind] | _ALLOWED[self.kind] | {"bases", "workloads"})]
        out: dict[str, Any] = {}
        for k in keys:
            v = getattr(self, k)
            if isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, Mapping):
                v = dict(v)
            out[k] = v
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

    ``basis``: ``spec:<basis>``, ``attr:<attribute>``, ``spec:<favours>/<over>``, ``eccn:3a090``,
    ``eccn:case-by-case``, ``fleet:<basis>``, ``workload:<workload>/<shape>/<dtype>`` or ``model:<step>``.
    ``ratio`` is a/b (None when a figure is missing or the entry is not a ratio); ``value`` carries a
    non-ratio number (a rank, a fleet total) in ``unit``.
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
    """A claim with its verdicts. ``status`` is one of :data:`STATUSES`; ``verdict`` is the sentence."""

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
# The spec database, through its public API (module functions, or a ChipDB from load_chips(path))
# ---------------------------------------------------------------------------------------------------------
class _Specs:
    """Thin access to ``gpucompare.specs`` or to a ``ChipDB``: lookup, all chips, spec ratios."""

    def __init__(self, db: Any = None):
        from gpucompare import specs

        self._specs = specs
        self.db = db

    def get(self, name: str) -> Any:
        if self.db is None:
            return self._specs.get_chip(name)
        return self.db.get_chip(name) if hasattr(self.db, "get_chip") else self.db.get(name)

    def all(self) -> list[Any]:
        if self.db is None:
            return list(self._specs.all_chips())
        return list(self.db.all_chips() if hasattr(self.db, "all_chips") else self.db.chips)

    def ratios(self, a: Any, b: Any) -> dict[str, Any]:
        return {r.basis: r for r in self._specs.spec_ratios(a, b)}


# ---------------------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------------------
def _default_text() -> tuple[str, str]:
    res = resources.files("gpucompare.seeds").joinpath("claims.toml")
    return res.read_text(encoding="utf-8"), str(res)


def load_claims(path: str | Path | None = None, db: Any = None) -> list[Claim]:
    """Read and validate a claims file (default: the packaged ``gpucompare.seeds/claims.toml``).

    Raises :class:`ClaimsError` naming the claim and the field for anything malformed, including a chip
    the spec database (``db``, default the packaged one) does not know.
    """
    if path is None:
        text, where = _default_text()
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ClaimsError(f"cannot read claims file {where}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ClaimsError(f"{where}: not valid TOML: {exc}") from exc
    if data.get("schema_version") != 1:
        raise ClaimsError(f"{where}: schema_version must be 1, got {data.get('schema_version')!r}")
    raw = data.get("claim")
    if not isinstance(raw, list) or not raw:
        raise ClaimsError(f"{where}: no [[claim]] tables")
    specs = _Specs(db)
    claims: list[Claim] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        cid = item.get("id") if isinstance(item, dict) else None
        label = cid if isinstance(cid, str) and cid else f"#{i + 1}"
        claim = _parse_claim(item, label, specs)
        if claim.id in seen:
            raise ClaimsError(f"claim {claim.id!r}: duplicate id")
        seen.add(claim.id)
        claims.append(claim)
    return claims


def _err(cid: str, fld: str, msg: str) -> ClaimsError:
    return ClaimsError(f"claim {cid!r}: field {fld!r}: {msg}")


def _str(d: Mapping, key: str, cid: str, where: str = "", required: bool = True) -> str | None:
    fld = f"{where}{key}"
    if key not in d:
        if required:
            raise _err(cid, fld, "missing")
        return None
    v = d[key]
    if not isinstance(v, str) or not v.strip():
        raise _err(cid, fld, f"must be a non-empty string, got {v!r}")
    return v


def _num(d: Mapping, key: str, cid: str, where: str = "relation.", positive: bool = True) -> float | None:
    if key not in d:
        return None
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _err(cid, f"{where}{key}", f"must be a number, got {v!r}")
    if positive and v <= 0:
        raise _err(cid, f"{where}{key}", f"must be > 0, got {v!r}")
    return float(v)


def _strlist(d: Mapping, key: str, cid: str, where: str = "relation.") -> tuple[str, ...]:
    v = d.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise _err(cid, f"{where}{key}", f"must be a list of strings, got {v!r}")
    return tuple(v)


def _source(d: Any, cid: str, fld: str, with_quote: bool = False) -> Source:
    if not isinstance(d, dict):
        raise _err(cid, fld, f"must be a table with {', '.join(sorted(_SOURCE_KEYS))}")
    allowed = _SOURCE_KEYS | ({"quote"} if with_quote else set())
    extra = set(d) - allowed
    if extra:
        raise _err(cid, f"{fld}.{sorted(extra)[0]}", f"unknown field (allowed: {', '.join(sorted(allowed))})")
    pub = _str(d, "publication", cid, f"{fld}.")
    date = _str(d, "date", cid, f"{fld}.")
    seed = _str(d, "seed", cid, f"{fld}.")
    if date != "unknown" and not (len(date) == 10 and date[4] == "-" and date[7] == "-"):
        raise _err(cid, f"{fld}.date", f"must be YYYY-MM-DD or 'unknown', got {date!r}")
    quote = _str(d, "quote", cid, f"{fld}.", required=with_quote) if with_quote else None
    return Source(pub, date, seed, quote)


def _parse_claim(item: Any, label: str, specs: _Specs) -> Claim:
    if not isinstance(item, dict):
        raise ClaimsError(f"claim {label}: must be a table")
    cid = _str(item, "id", label)
    extra = set(item) - _CLAIM_KEYS
    if extra:
        raise _err(cid, sorted(extra)[0], f"unknown field (allowed: {', '.join(sorted(_CLAIM_KEYS))})")
    quote = _str(item, "quote", cid)
    quote_en = _str(item, "quote_en", cid)
    note = _str(item, "note", cid, required=False) or ""
    if "source" not in item:
        raise _err(cid, "source", "missing")
    source = _source(item["source"], cid, "source")
    also = item.get("also_in", [])
    if not isinstance(also, list):
        raise _err(cid, "also_in", "must be a list of tables")
    also_in = tuple(_source(s, cid, f"also_in[{j}]", with_quote=True) for j, s in enumerate(also))
    if "chips" not in item:
        raise _err(cid, "chips", "missing")
    chips = tuple(_resolve(specs, c, cid, "chips") for c in _strlist(item, "chips", cid, where=""))
    if not isinstance(item.get("relation"), dict):
        raise _err(cid, "relation", "missing or not a table")
    relation = _parse_relation(item["relation"], cid, specs, chips)
    return Claim(cid, quote, quote_en, source, chips, relation, note, also_in)


def _resolve(specs: _Specs, name: str, cid: str, fld: str) -> str:
    try:
        return specs.get(name).id
    except UnknownChipError as exc:
        raise _err(cid, fld, f"{exc} (not in the spec database)") from exc
    except GpucompareError as exc:
        raise _err(cid, fld, str(exc)) from exc


def _parse_relation(r: dict, cid: str, specs: _Specs, chips: tuple[str, ...]) -> Relation:
    kind = r.get("kind")
    if kind not in KINDS:
        raise _err(cid, "relation.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    allowed = _COMMON_KEYS | _REQUIRED[kind] | _ALLOWED[kind]
    extra = set(r) - allowed
    if extra:
        raise _err(
            cid,
            f"relation.{sorted(extra)[0]}",
            f"unknown field for kind {kind!r} (allowed: {', '.join(sorted(allowed))})",
        )
    missing = _REQUIRED[kind] - set(r)
    if missing:
        raise _err(cid, f"relation.{sorted(missing)[0]}", f"missing (required for kind {kind!r})")

    def chip(key: str) -> str | None:
        name = _str(r, key, cid, "relation.", required=False)
        if name is None:
            return None
        rid = _resolve(specs, name, cid, f"relation.{key}")
        if rid not in chips:
            raise _err(cid, f"relation.{key}", f"chip {rid!r} is not listed in the claim's chips")
        return rid

    def bases(key: str, allowed_bases: Sequence[str]) -> tuple[str, ...]:
        out = _strlist(r, key, cid)
        for b in out:
            if b not in allowed_bases:
                raise _err(cid, f"relation.{key}", f"unknown basis {b!r} (known: {', '.join(allowed_bases)})")
        return out

    kw: dict[str, Any] = {
        "kind": kind,
        "a": chip("a"),
        "b": chip("b"),
        "of": chip("of"),
        "chip": chip("chip"),
    }
    kw["bases"] = bases("bases", SPEC_BASES + ATTR_BASES) or (
        SPEC_BASES if kind in ("ratio", "ordering") else ()
    )
    kw["workloads"] = _strlist(r, "workloads", cid)
    kw["wording"] = _str(r, "wording", cid, "relation.", required=False)
    kw["rule"] = _str(r, "rule", cid, "relation.", required=False)

    if kind == "ratio":
        kw["factor"] = _num(r, "factor", cid)
        acc = r["accept"]
        if (
            not isinstance(acc, list)
            or len(acc) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in acc)
            or not 0 < acc[0] < acc[1]
        ):
            raise _err(cid, "relation.accept", f"must be [low, high] with 0 < low < high, got {acc!r}")
        kw["accept"] = (float(acc[0]), float(acc[1]))
    elif kind == "ordering":
        if ("than" in r) == ("rank" in r):
            raise _err(cid, "relation.than", "give exactly one of 'than' (chips or \"all\") and 'rank'")
        if "than" in r:
            kw["than"] = _than(r, cid, specs, chips)
        else:
            rank = r["rank"]
            if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
                raise _err(cid, "relation.rank", f"must be an integer >= 1, got {rank!r}")
            kw["rank"] = rank
            kw["among"] = _str(r, "among", cid, "relation.", required=False) or "vendor"
            if kw["among"] not in ("vendor", "all"):
                raise _err(cid, "relation.among", f"must be 'vendor' or 'all', got {kw['among']!r}")
        kw["min_ratio"] = _num(r, "min_ratio", cid) or 1.0
        strict = r.get("strict", True)
        if not isinstance(strict, bool):
            raise _err(cid, "relation.strict", f"must be true or false, got {strict!r}")
        kw["strict"] = strict
    elif kind == "classification":
        kw["less_on"] = bases("less_on", SPEC_BASES + ATTR_BASES)
        kw["same"] = bases("same", SPEC_BASES + ATTR_BASES)
        exp = r.get("expect", {})
        if not isinstance(exp, dict) or any(k not in ATTR_BASES for k in exp):
            raise _err(
                cid, "relation.expect", f"must map chip attributes ({', '.join(ATTR_BASES)}) to values"
            )
        kw["expect"] = dict(exp)
        if (kw["less_on"] or kw["same"]) and kw["of"] is None:
            raise _err(cid, "relation.of", "required with less_on or same")
        if not (kw["less_on"] or kw["same"] or kw["expect"]):
            raise _err(cid, "relation.less_on", "classification needs less_on, same or expect")
    elif kind == "qualitative":
        kw["than"] = _than(r, cid, specs, chips)
        for key in ("favours", "over"):
            if r[key] not in SPEC_BASES:
                raise _err(
                    cid, f"relation.{key}", f"unknown basis {r[key]!r} (known: {', '.join(SPEC_BASES)})"
                )
            kw[key] = r[key]
    elif kind == "regulatory":
        st = r["status"]
        if not isinstance(st, dict) or not st:
            raise _err(cid, "relation.status", "must be a non-empty table chip = status")
        status = {}
        for name, s in st.items():
            if s not in REG_STATUSES:
                raise _err(
                    cid, f"relation.status.{name}", f"must be one of {', '.join(REG_STATUSES)}, got {s!r}"
                )
            rid = _resolve(specs, name, cid, f"relation.status.{name}")
            if rid not in chips:
                raise _err(cid, f"relation.status.{name}", f"chip {rid!r} is not listed in the claim's chips")
            status[rid] = s
        kw["status"] = status
        cbc = r.get("case_by_case")
        if cbc is not None:
            if not isinstance(cbc, dict) or set(cbc) != {"rule", "tpp_lt", "bandwidth_gbps_lt"}:
                raise _err(
                    cid, "relation.case_by_case", "must be a table with rule, tpp_lt, bandwidth_gbps_lt"
                )
            _num(cbc, "tpp_lt", cid, "relation.case_by_case.")
            _num(cbc, "bandwidth_gbps_lt", cid, "relation.case_by_case.")
            kw["case_by_case"] = dict(cbc)
    elif kind == "count":
        count = r["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise _err(cid, "relation.count", f"must be an integer >= 1, got {count!r}")
        kw["count"] = count
        kw["qualifier"] = _str(r, "qualifier", cid, "relation.")
        kw["what"] = _str(r, "what", cid, "relation.")
        eq = _str(r, "equivalent_of", cid, "relation.", required=False)
        kw["equivalent_of"] = _resolve(specs, eq, cid, "relation.equivalent_of") if eq else None
        assumed = r.get("assumed", False)
        if not isinstance(assumed, bool):
            raise _err(cid, "relation.assumed", f"must be true or false, got {assumed!r}")
        kw["assumed"] = assumed
        if kw["equivalent_of"] and not kw["chip"]:
            raise _err(cid, "relation.equivalent_of", "needs relation.chip")
    return Relation(**kw)


def _than(r: Mapping, cid: str, specs: _Specs, chips: tuple[str, ...]) -> tuple[str, ...] | str:
    v = r.get("than")
    if v == "all":
        return "all"
    names = _strlist(r, "than", cid)
    if not names:
        raise _err(cid, "relation.than", 'must name at least one chip, or be "all"')
    out = []
    for n in names:
        rid = _resolve(specs, n, cid, "relation.than")
        if rid not in chips:
            raise _err(cid, "relation.than", f"chip {rid!r} is not listed in the claim's chips")
        out.append(rid)
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------------------
WorkloadRatios = Callable[[str, str], Iterable[Any]]


def check_all(
    workload_ratios: WorkloadRatios | None = None, claims: Sequence[Claim] | None = None, db: Any = None
) -> list[ClaimResult]:
    """Check every claim (default: the packaged claims file) in file order."""
    claims = load_claims(db=db) if claims is None else claims
    return [check_claim(c, workload_ratios, db=db) for c in claims]


def check_claim(claim: Claim, workload_ratios: WorkloadRatios | None = None, db: Any = None) -> ClaimResult:
    """Verdicts per basis and overall for one claim.

    ``workload_ratios(chip_a_id, chip_b_id)``, when given, supplies projected per-workload ratios (objects or
    dicts with ``basis, ratio, bound_a, bound_b, detail``); they are judged by the same rule as spec bases.
    ``db``: a ``ChipDB`` (``gpucompare.specs.load_chips(path)``) instead of the packaged database.
    """
    if not isinstance(claim, Claim):
        raise ValueError(f"check_claim needs a Claim, got {type(claim).__name__}")
    if workload_ratios is not None and not callable(workload_ratios):
        raise ValueError("workload_ratios must be a callable (chip_a, chip_b) -> list of ratios")
    specs = _Specs(db)
    rel = claim.relation
    checker = _CHECKERS[rel.kind]
    entries, detail, *override = checker(claim, specs, workload_ratios)
    status, verdict = override[0] if override and override[0] else _overall(entries)
    return ClaimResult(claim, status, verdict, detail, tuple(entries))


# -- values ------------------------------------------------------------------------------------------------
def _value(chip: Any, basis: str, specs: _Specs) -> float | None:
    """One chip's figure on a basis (spec bases via a self-ratio's ``a_value``, attributes directly)."""
    if basis in ATTR_BASES:
        v = getattr(chip, basis, None)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    v = specs.ratios(chip, chip)[basis].a_value
    return None if v is None else float(v)


def _pair_values(a: Any, b: Any, basis: str, specs: _Specs, ratios: Mapping[str, Any]) -> tuple:
    """(a_value, b_value, ratio, reason) for a pair on one basis; ratio None when a figure is missing."""
    if basis in ATTR_BASES:
        va, vb = _value(a, basis, specs), _value(b, basis, specs)
        if va is None or vb is None:
            missing = [c.id for c, v in ((a, va), (b, vb)) if v is None]
            return va, vb, None, f"{basis} unknown for {', '.join(missing)}"
        r = None if basis == "launch_year" else (va / vb if vb else None)
        return va, vb, r, None
    br = ratios[basis]
    return br.a_value, br.b_value, br.ratio, br.reason


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "unknown"
    if unit == "year":
        return f"{v:.0f}"
    s = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return f"{s} {unit}".strip()


def _x(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}×"


# -- per-kind rules ----------------------------------------------------------------------------------------
def _judge_pair(
    rel: Relation, r: float | None, basis: str, va: float | None = None, vb: float | None = None
) -> tuple[str, str]:
    """(verdict, reason) of one a/b comparison under the relation's rule."""
    if basis == "launch_year":  # ordering "older/newer": a newer than b
        if va is None or vb is None:
            return "unknown", "launch year unknown"
        if rel.kind == "classification":
            ok = va < vb
            return ("reproduced" if ok else "refuted"), f"{va:.0f} vs {vb:.0f}"
        ok = va > vb if rel.strict else va >= vb
        return (
            "reproduced" if ok else "refuted"
        ), f"{va:.0f} vs {vb:.0f} ({'newer' if va > vb else 'not newer'})"
    if r is None:
        return "unknown", "no ratio"
    if rel.kind == "ratio":
        lo, hi = rel.accept
        inside = lo <= r <= hi
        msg = f"{'inside' if inside else 'outside'} the accepted {lo:g}–{hi:g}"
        if inside and r > rel.factor * 1.02:
            msg += f"; above the stated ≈{rel.factor:g}: the claim, if anything, understates it"
        elif inside and r < rel.factor * 0.98:
            msg += f"; below the stated ≈{rel.factor:g}"
        return ("reproduced" if inside else "refuted"), msg
    if rel.kind in ("ordering",):
        ok = r > rel.min_ratio if rel.strict else r >= rel.min_ratio
        op = ">" if rel.strict else "≥"
        return ("reproduced" if ok else "refuted"), f"needs {op} {rel.min_ratio:g}×"
    if rel.kind == "classification":
        return ("reproduced" if r < 1 else "refuted"), "needs < 1× (less)"
    raise AssertionError(rel.kind)  # pragma: no cover


def _spec_entries(
    rel: Relation, a: Any, b: Any, specs: _Specs, bases: Sequence[str], multi: bool
) -> list[BasisVerdict]:
    ratios = specs.ratios(a, b)
    out = []
    for basis in bases:
        va, vb, r, reason = _pair_values(a, b, basis, specs, ratios)
        verdict, why = _judge_pair(rel, r, basis, va, vb)
        prefix = "attr" if basis in ATTR_BASES else "spec"
        unit = _UNIT[basis]
        if verdict == "unknown" and reason:
            why = reason
        detail = f"{a.id} {_fmt(va, unit)} / {b.id} {_fmt(vb, unit)}"
        if r is not None:
            detail += f" = {_x(r)}"
        detail += f": {why}"
        label = f"{basis}{f' vs {b.id}' if multi else ''} {_x(r) if r is not None else why}"
        out.append(
            BasisVerdict(
                f"{prefix}:{basis}",
                r,
                verdict,
                detail,
                (a.id, b.id),
                va,
                vb,
                None,
                unit,
                _GROUP[basis],
                label=label,
            )
        )
    return out


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def _workload_group(ba: str | None, bb: str | None) -> str:
    if ba == bb == "compute":
        return "compute-bound workloads"
    if ba == bb == "memory":
        return "memory-bound workloads"
    if ba is None or bb is None:
        return "workloads (bound unknown)"
    return "workloads bound differently on the two chips"


def _wanted(rel: Relation, basis: str) -> bool:
    if not rel.workloads:
        return True
    for w in rel.workloads:
        if basis == w or basis.startswith(f"workload:{w}/") or basis == f"workload:{w}":
            return True
    return False


def _workload_entries(
    rel: Relation, a: str, b: str, provider: WorkloadRatios | None, multi: bool
) -> list[BasisVerdict]:
    if provider is None:
        return []
    out = []
    for row in provider(a, b):
        basis = _field(row, "basis")
        if not isinstance(basis, str) or not basis:
            raise ValueError(f"workload_ratios({a!r}, {b!r}) returned an entry without a basis: {row!r}")
        if not _wanted(rel, basis):
            continue
        r = _field(row, "ratio")
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r)):
            raise ValueError(f"workload_ratios: {basis}: ratio must be a finite number or None, got {r!r}")
        r = None if r is None else float(r)
        ba, bb = _field(row, "bound_a"), _field(row, "bound_b")
        verdict, why = _judge_pair(rel, r, basis)
        extra = _field(row, "detail") or ""
        detail = f"{a}/{b} {_x(r)} (bound: {ba} / {bb}): {why}" + (f"; {extra}" if extra else "")
        name = basis.split(":", 1)[1]
        label = f"{name}{f' vs {b}' if multi else ''} {_x(r)}"
        out.append(
            BasisVerdict(
                basis,
                r,
                verdict,
                detail,
                (a, b),
                group=_workload_group(ba, bb),
                bound_a=ba,
                bound_b=bb,
                label=label,
            )
        )
    return out


def _check_ratio(claim: Claim, specs: _Specs, provider: WorkloadRatios | None):
    rel = claim.relation
    a, b = specs.get(rel.a), specs.get(rel.b)
    entries = _spec_entries(rel, a, b, specs, rel.bases, multi=False)
    entries += _workload_entries(rel, a.id, b.id, provider, multi=False)
    lo, hi = rel.accept
    head = f"{rel.wording or f'≈{rel.factor:g}×'}: stated ≈{rel.factor:g}×, accepted {lo:g}–{hi:g}×."
    parts = []
    for group, items in _by_group(entries).items():
        rs = [e.ratio for e in items if e.ratio is not None]
        if not rs:
            continue
        span = _x(min(rs)) if max(rs) - min(rs) < 0.05 else f"{_x(min(rs))}–{_x(max(rs))}"
        note = ""
        if all(lo <= x <= hi for x in rs) and min(rs) > rel.factor * 1.02:
            note = f" (above ≈{rel.factor:g}: the claim, if anything, understates it)"
        elif all(x < lo for x in rs):
            note = f" (far below ≈{rel.factor:g})"
        parts.append(f"{group}: {span}{note}")
    return entries, head + " " + "; ".join(parts)


def _check_ordering(claim: Claim, specs: _Specs, provider: WorkloadRatios | None):
    rel = claim.relation
    a = specs.get(rel.a)
    if rel.rank is not None:
        return _check_rank(claim, specs, a)
    others = (
        [c for c in specs.all() if c.id != a.id] if rel.than == "all" else [specs.get(t) for t in rel.than]
    )
    multi = len(others) > 1
    entries: list[BasisVerdict] = []
    for b in others:
        entries += _spec_entries(rel, a, b, specs, rel.bases, multi)
    for b in others:
        entries += _workload_entries(rel, a.id, b.id, provider, multi)
    op = ">" if rel.strict else "≥"
    who = "every chip in the database" if rel.than == "all" else ", ".join(c.id for c in others)
    detail = f"{a.id} {op} {rel.min_ratio:g}× {who} on {', '.join(rel.bases)}"
    fails = [e for e in entries if e.verdict == "refuted"]
    if fails:
        detail += "; fails: " + ", ".join(e.label for e in fails)
    return entries, detail


def _check_rank(claim: Claim, specs: _Specs, a: Any):
    rel = claim.relation
    pool = [c for c in specs.all() if rel.among == "all" or c.vendor == a.vendor]
    entries = []
    for basis in rel.bases:
        va = _value(a, basis, specs)
        unit = _UNIT[basis]
        if va is None:
            entries.append(
                BasisVerdict(
                    f"rank:{basis}",
                    None,
                    "unknown",
                    f"{a.id}: {basis} unknown",
                    (a.id,),
                    unit=unit,
                    group=_GROUP[basis],
                    label=f"{basis} unknown",
                )
            )
            continue
        above = []
        for c in pool:
            v = _value(c, basis, specs)
            if c.id != a.id and v is not None and v > va:
                above.append((v, c.id))
        above.sort(key=lambda t: (-t[0], t[1]))
        rank = 1 + len(above)
        ok = rank == rel.rank
        ahead = ", ".join(f"{cid} {_fmt(v, unit)}" for v, cid in above) or "none"
        detail = (
            f"{a.id} {_fmt(va, unit)} ranks {rank} among {len(pool)} {rel.among} chips "
            f"(claimed {rel.rank}); above it: {ahead}"
        )
        entries.append(
            BasisVerdict(
                f"rank:{basis}",
                None,
                "reproduced" if ok else "refuted",
                detail,
                (a.id,),
                a_value=va,
                value=float(rank),
                unit="rank",
                group=_GROUP[basis],
                label=f"{basis} rank {rank}",
            )
        )
    gen = _generation_rank(a, pool, specs, rel.rank)
    if gen is not None:
        entries.append(gen)
    detail = f"claimed rank {rel.rank} among {len(pool)} {a.vendor} chips; " + "; ".join(
        e.detail for e in entries
    )
    return entries, detail


def _family(chip: Any) -> str | None:
    """The architecture family: the first word of ``architecture`` ("Blackwell Ultra" -> "Blackwell")."""
    arch = getattr(chip, "architecture", None)
    return arch.split()[0] if isinstance(arch, str) and arch.strip() else None


def _generation_rank(a: Any, pool: Sequence[Any], specs: _Specs, claimed: int) -> BasisVerdict | None:
    """Rank of a's architecture family by the best bf16 peak of its chips (the per-generation reading)."""
    best: dict[str, float] = {}
    for c in pool:
        fam, v = _family(c), _value(c, "bf16", specs)
        if fam and v is not None:
            best[fam] = max(best.get(fam, 0.0), v)
    mine = _family(a)
    if mine not in best:
        return None
    order = sorted(best, key=lambda k: (-best[k], k))
    rank = order.index(mine) + 1
    listing = ", ".join(f"{i + 1}. {k} ({_fmt(best[k], 'TFLOP/s')} bf16)" for i, k in enumerate(order))
    detail = (
        f"{a.id} is a {mine} chip; by generation (best bf16 per architecture family) {mine} ranks "
        f"{rank} (claimed {claimed}): {listing}"
    )
    return BasisVerdict(
        "rank:generation-bf16",
        None,
        "reproduced" if rank == claimed else "refuted",
        detail,
        (a.id,),
        value=float(rank),
        unit="rank",
        group="generation",
        label=f"{mine} generation rank {rank}",
    )


def _check_classification(claim: Claim, specs: _Specs, provider: WorkloadRatios | None):
    rel = claim.relation
    a = specs.get(rel.a)
    entries: list[BasisVerdict] = []
    if rel.of:
        b = specs.get(rel.of)
        entries += _spec_entries(rel, a, b, specs, rel.less_on, multi=False)
        ratios = specs.ratios(a, b)
        for basis in rel.same:
            va, vb, r, reason = _pair_values(a, b, basis, specs, ratios)
            if r is None:
                verdict, why = "unknown", reason or "no ratio"
            else:
                same = abs(r - 1) <= SAME_TOLERANCE
                verdict, why = ("reproduced" if same else "refuted"), f"needs equal (±{SAME_TOLERANCE:.0%})"
            unit = _UNIT[basis]
            prefix = "attr" if basis in ATTR_BASES else "spec"
            entries.append(
                BasisVerdict(
                    f"{prefix}:{basis}",
                    r,
                    verdict,
                    f"{a.id} {_fmt(va, unit)} / {b.id} {_fmt(vb, unit)} = {_x(r)}: {why}",
                    (a.id, b.id),
                    va,
                    vb,
                    None,
                    unit,
                    "same family",
                    label=f"{basis} {_x(r)} (same)",
                )
            )
        if rel.less_on:
            entries += _workload_entries(rel, a.id, b.id, provider, multi=False)
    for attr, want in rel.expect.items():
        got = _value(a, attr, specs)
        if got is None:
            verdict, why = "unknown", f"{attr} unknown in the database"
        else:
            ok = isinstance(want, (int, float)) and float(want) == got
            verdict, why = (
                ("reproduced" if ok else "refuted"),
                f"claimed {want}, database {_fmt(got, _UNIT[attr])}",
            )
        entries.append(
            BasisVerdict(
                f"attr:{attr}",
                None,
                verdict,
                f"{a.id}: {why}",
                (a.id,),
                a_value=got,
                value=got,
                group=_GROUP.get(attr, attr),
                label=f"{attr} {_fmt(got, _UNIT[attr])}",
            )
        )
    detail = "; ".join(f"{e.label}: {e.verdict}" for e in entries)
    return entries, detail


def _check_qualitative(claim: Claim, specs: _Specs, provider: WorkloadRatios | None):
    rel = claim.relation
    a = specs.get(rel.a)
    others = (
        [c for c in specs.all() if c.id != a.id] if rel.than == "all" else [specs.get(t) for t in rel.than]
    )
    entries = []
    basis = f"spec:{rel.favours}/{rel.over}"
    for b in others:
        ratios = specs.ratios(a, b)
        rf, ro = ratios[rel.favours].ratio, ratios[rel.over].ratio
        head = f"{a.id}/{b.id}: {rel.favours} {_x(rf)}, {rel.over} {_x(ro)}"
        if rf is None or ro is None:
            missing = rel.favours if rf is None else rel.over
            reason = ratios[missing].reason or f"{missing} unknown"
            entries.append(
                BasisVerdict(
                    basis,
                    None,
                    "unknown",
                    f"{head}: {reason}",
                    (a.id, b.id),
                    group="balance",
                    label=f"vs {b.id} unknown ({missing})",
                )
            )
            continue
        q = rf / ro
        ok = q > 1
        lean = (
            f"{a.id} is relatively stronger on {rel.favours} than on {rel.over} ({q:.2f})"
            if ok
            else f"{a.id} is not relatively stronger on {rel.favours} than on {rel.over} ({q:.2f})"
        )
        entries.append(
            BasisVerdict(
                basis,
                q,
                "reproduced" if ok else "refuted",
                f"{head}: {lean}",
                (a.id, b.id),
                rf,
                ro,
                group=f"balance {rel.favours} vs {rel.over}",
                label=f"vs {b.id}: {rel.favours} {_x(rf)} against {rel.over} {_x(ro)} ({q:.2f})",
            )
        )
    detail = (
        f"claimed: {a.id}'s ratio on {rel.favours} exceeds its ratio on {rel.over} against "
        f"{', '.join(c.id for c in others)}; " + "; ".join(e.detail for e in entries)
    )
    return entries, detail


def _tier_of(chip: Any) -> str | None:
    """The chip's 3A090 tier: "3A090.a", "3A090.b", "none" (outside), or None when undecidable."""
    tier = getattr(chip, "eccn_3a090", None)
    return "none" if tier in ("none", "") else tier


def _tier(tier: str | None) -> str:
    return {None: "tier unknown", "none": "outside 3A090"}.get(tier, f"in {tier}")


def _check_regulatory(claim: Claim, specs: _Specs, provider: WorkloadRatios | None):
    rel = claim.relation
    entries = []
    for cid, status in rel.status.items():
        c = specs.get(cid)
        tier = _tier_of(c)
        tpp = getattr(c, "tpp", None)
        pd = getattr(c, "performance_density", None)
        lower = " (lower bound: some peaks unknown)" if getattr(c, "tpp_is_lower_bound", False) else ""
        facts = f"TPP {_fmt(tpp)}{lower}, PD {_fmt(pd)}, {_tier(tier)}"
        if tier is None:
            verdict, why = (
                "unknown",
                ("TPP unknown (peaks not published)" if tpp is None else "die area unknown")
                + ": the tier cannot be derived",
            )
        elif status == "controlled":
            controlled = tier != "none"
            verdict = "reproduced" if controlled else "refuted"
            why = "stated controlled; " + (
                "the metrics put it in a 3A090 tier" if controlled else "the metrics do not"
            )
        elif status == "uncontrolled":
            controlled = tier != "none"
            verdict = "refuted" if controlled else "reproduced"
            why = "stated uncontrolled; " + (
                "yet the metrics put it in a 3A090 tier" if controlled else "the metrics put it outside 3A090"
            )
        else:
            verdict = "context"
            why = f"stated {status}: a policy decision; by the metrics it is " + (
                f"in {tier}" if tier != "none" else "outside 3A090"
            )
        entries.append(
            BasisVerdict(
                "eccn:3a090",
                None,
                verdict,
                f"{cid}: {facts}: {why}",
                (cid,),
                a_value=tpp,
                value=tpp,
                unit="TPP",
                group="export-control metrics",
                label=f"{cid} {_tier(tier)}",
            )
        )
    if rel.case_by_case:
        cbc = rel.case_by_case
        for cid, status in rel.status.items():
            c = specs.get(cid)
            tpp, bw = getattr(c, "tpp", None), getattr(c, "bandwidth_tbps", None)
            if tpp is None or bw is None:
                entries.append(
                    BasisVerdict(
                        "eccn:case-by-case",
                        None,
                        "unknown",
                        f"{cid}: TPP or bandwidth unknown",
                        (cid,),
                        group=f"case-by-case band {cbc['rule']}",
                        label=f"{cid} unknown",
                    )
                )
                continue
            inside = tpp < cbc["tpp_lt"] and bw * 1000 < cbc["bandwidth_gbps_lt"]
            licensable = status in ("licensable", "licence-required")
            verdict = "reproduced" if inside == licensable else "refuted"
            detail = (
                f"{cid}: TPP {_fmt(tpp)} (< {_fmt(cbc['tpp_lt'])}?), bandwidth {_fmt(bw * 1000)} GB/s "
                f"(< {_fmt(cbc['bandwidth_gbps_lt'])}?) → {'inside' if inside else 'outside'} the "
                f"{cbc['rule']} case-by-case band; stated {status}"
            )
            entries.append(
                BasisVerdict(
                    "eccn:case-by-case",
                    None,
                    verdict,
                    detail,
                    (cid,),
                    a_value=tpp,
                    group=f"case-by-case band {cbc['rule']}",
                    label=f"{cid} {'inside' if inside else 'outside'} band",
                )
            )
    detail = f"rule: {rel.rule or 'unspecified'}; " + "; ".join(e.detail for e in entries)
    return entries, detail, _policy_verdict(rel, entries)


def _policy_verdict(rel: Relation, entries: Sequence[BasisVerdict]) -> tuple[str, str] | None:
    """For a stated policy status ("licensable", "licence-required"): "policy, not specs: ..." naming the
    chips the metrics put in the same tier with another status. None when the claim states no such status."""
    eccn = [e for e in entries if e.basis == "eccn:3a090"]
    if not any(e.verdict == "context" for e in eccn):
        return None  # controlled / uncontrolled only: the metrics decide, reproduced or refuted
    odd = [e for e in eccn if e.verdict in ("context", "refuted")]
    tier = {e.pair[0]: e.label.split(" ", 1)[1] for e in eccn}
    words = []
    for e in odd:
        cid = e.pair[0]
        peers = [
            c for c in rel.status if c != cid and tier[c] == tier[cid] and rel.status[c] != rel.status[cid]
        ]
        s = f"{cid} is stated {rel.status[cid]}, yet the export-control metrics put it {tier[cid]}"
        s += f" (TPP {_fmt(e.value)})"
        if peers:
            s += f", like {', '.join(f'{p} (stated {rel.status[p]})' for p in peers)}"
        words.append(s)
    band = [e for e in entries if e.basis == "eccn:case-by-case"]
    text = "policy, not specs: " + "; ".join(words)
    if band:
        text += f". {band[0].group}: " + ", ".join(
            f"{e.label} (stated {rel.status[e.pair[0]]})" for e in band
        )
    return "policy", text


def _fleet(total: float, unit: str) -> str:
    """Fleet totals in readable units: TFLOP/s → PFLOP/s / EFLOP/s, TB/s → PB/s, GB → TB / PB."""
    scales = {
        "TFLOP/s": [(1e6, "EFLOP/s"), (1e3, "PFLOP/s"), (1, "TFLOP/s")],
        "TB/s": [(1e3, "PB/s"), (1, "TB/s")],
        "GB": [(1e6, "PB"), (1e3, "TB"), (1, "GB")],
        "GB/s": [(1e6, "PB/s"), (1e3, "TB/s"), (1, "GB/s")],
    }
    for div, name in scales.get(unit, [(1, unit)]):
        if total >= div:
            return _fmt(total / div, name)
    return _fmt(total, unit)


def _check_count(claim: Claim, specs: _Specs, provider: WorkloadRatios | None):
    rel = claim.relation
    head = f"{rel.qualifier} {rel.count:,} {rel.chip or 'chips (model unspecified)'}: {rel.what}"
    if rel.assumed:
        head += " [chip model assumed, not stated]"
    if not rel.chip:
        return [], head + "; no chip model, so no fleet figures", ("context", f"context: {head}")
    c = specs.get(rel.chip)
    entries = []
    for basis in ("bf16", "fp8", "bandwidth", "memory"):
        v = _value(c, basis, specs)
        unit = _UNIT[basis]
        if v is None:
            entries.append(
                BasisVerdict(
                    f"fleet:{basis}",
                    None,
                    "unknown",
                    f"{c.id} {basis} unknown",
                    (c.id,),
                    unit=unit,
                    group="fleet",
                    label=f"{basis} unknown",
                )
            )
            continue
        total = v * rel.count
        entries.append(
            BasisVerdict(
                f"fleet:{basis}",
                None,
                "context",
                f"{rel.count:,} × {_fmt(v, unit)} = {_fleet(total, unit)}",
                (c.id,),
                a_value=v,
                value=total,
                unit=unit,
                group="fleet",
                label=f"{basis} {_fleet(total, unit)}",
            )
        )
    if rel.equivalent_of:
        e = specs.get(rel.equivalent_of)
        ratios = specs.ratios(c, e)
        for basis in ("bf16", "bandwidth"):
            r = ratios[basis].ratio
            n = None if r is None else float(f"{r * rel.count:.3g}")  # 3 significant digits
            entries.append(
                BasisVerdict(
                    f"fleet:{basis}-in-{e.id}",
                    r,
                    "context" if r is not None else "unknown",
                    f"{c.id}/{e.id} on {basis} {_x(r)}: the fleet equals about {_fmt(n)} {e.id}"
                    if n is not None
                    else f"{basis} unknown",
                    (c.id, e.id),
                    value=n,
                    unit=e.id,
                    group="fleet",
                    label=f"≈{_fmt(n)} {e.id} on {basis}",
                )
            )
    figures = ", ".join(e.label for e in entries)
    return entries, f"{head}; {figures}", ("context", f"context: {head}; {figures}")


_CHECKERS = {
    "ratio": _check_ratio,
    "ordering": _check_ordering,
    "classification": _check_classification,
    "qualitative": _check_qualitative,
    "regulatory": _check_regulatory,
    "count": _check_count,
}


# -- the overall verdict -----------------------------------------------------------------------------------
def _by_group(entries: Iterable[BasisVerdict]) -> dict[str, list[BasisVerdict]]:
    groups: dict[str, list[BasisVerdict]] = {}
    for e in entries:
        groups.setdefault(e.group or e.basis, []).append(e)
    return groups


def _list(entries: Sequence[BasisVerdict]) -> str:
    """Entries by group; a basis compared with more than four chips is summarised as a count and range."""
    parts = []
    for group, items in _by_group(entries).items():
        by_basis: dict[str, list[BasisVerdict]] = {}
        for e in items:
            by_basis.setdefault(e.basis, []).append(e)
        words = []
        for basis, es in by_basis.items():
            rs = [e.ratio for e in es if e.ratio is not None]
            if len(es) > 4 and rs:
                words.append(f"{basis.split(':', 1)[-1]} vs {len(es)} chips ({_x(min(rs))}–{_x(max(rs))})")
            else:
                words += [e.label for e in es]
        parts.append(f"{group}: {', '.join(words)}")
    return "; ".join(parts)


def _unknown_tail(unknown: Sequence[BasisVerdict]) -> str:
    if not unknown:
        return ""
    if len(unknown) <= 4:
        return f" (unknown: {', '.join(e.label for e in unknown)})"
    chips = sorted({c for e in unknown for c in e.pair[1:] or e.pair})
    return f" (unknown: {len(unknown)} comparisons lack a figure, involving {', '.join(chips)})"


def _overall(entries: Sequence[BasisVerdict]) -> tuple[str, str]:
    """(status, verdict sentence) from the per-basis verdicts.

    "reproduced" when every checked entry holds, "refuted" when none does, else "holds only on some
    bases: holds on ...; not on ..." with the numbers. Sentences start with the status words.
    """
    holds = [e for e in entries if e.verdict == "reproduced"]
    fails = [e for e in entries if e.verdict == "refuted"]
    unknown = [e for e in entries if e.verdict == "unknown"]
    context = [e for e in entries if e.verdict == "context"]
    tail = _unknown_tail(unknown)
    if not holds and not fails:
        if context:
            return "context", "context: " + ", ".join(e.label for e in context) + tail
        return "unknown", "unknown: no figure to check" + tail
    if not fails:
        return "reproduced", "reproduced: " + _list(holds) + tail
    if not holds:
        return "refuted", "refuted: " + _list(fails) + tail
    return "partial", f"holds only on some bases: holds on {_list(holds)}; not on {_list(fails)}" + tail
