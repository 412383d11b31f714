"""A new claim kind is one module plus its registry entry: a toy kind, registered for one test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from claims_helpers import by_basis, one_claim
from support import make_chip, make_db

from gpucompare.claims import Kind, Relation, check_claim, kinds, load_claims
from gpucompare.claims import pairs as P
from gpucompare.claims.types import Context, Outcome
from gpucompare.claims.verdicts import held
from gpucompare.errors import ClaimsError


@dataclass(frozen=True, kw_only=True)
class ParityRelation(Relation):
    """Toy kind: "a is on a par with b" (0.9 <= a/b <= 1.1)."""

    kind: ClassVar[str] = "parity"
    a: str
    b: str
    tolerance: float = 0.1

    def judge(self, r: float) -> tuple[str, str]:
        return held(abs(r - 1) <= self.tolerance), f"needs within ±{self.tolerance:.0%}"

    def judge_years(self, va: float, vb: float) -> tuple[str, str]:
        return held(va == vb), f"{va:.0f} vs {vb:.0f}"


def _parse(rd) -> dict[str, Any]:
    return {"tolerance": rd.number("tolerance") or 0.1}


def _check(rel: ParityRelation, ctx: Context) -> Outcome:
    a, b = ctx.db.get(rel.a), ctx.db.get(rel.b)
    entries = P.spec_entries(rel, a, b, rel.bases, multi=False)
    return Outcome(tuple(entries), f"{a.id} on a par with {b.id}")


PARITY = Kind(ParityRelation, frozenset({"a", "b"}), _parse, _check, chip_keys=("a", "b"))

TEXT = one_claim('["x", "y"]', 'kind = "parity"\na = "x"\nb = "y"\nbases = ["bf16", "bandwidth"]\n')


def test_a_registered_kind_loads_checks_and_serialises(tmp_path, monkeypatch):
    monkeypatch.setattr(kinds, "REGISTRY", {**kinds.REGISTRY, "parity": PARITY})
    db = make_db(make_chip("x", {"bf16": 105.0}, 2.0), make_chip("y", {"bf16": 100.0}, 3.0))
    p = tmp_path / "claims.toml"
    p.write_text(TEXT, encoding="utf-8")
    (c,) = load_claims(p, db=db)
    res = check_claim(c, db=db)
    v = by_basis(res)
    assert v["spec:bf16"].verdict == "reproduced" and v["spec:bandwidth"].verdict == "refuted"
    assert res.status == "partial" and res.detail == "x on a par with y" and res.id == "t"
    assert res.to_dict()["relation"] == {
        "kind": "parity",
        "a": "x",
        "b": "y",
        "bases": ["bf16", "bandwidth"],
        "capability": False,
        "caveat": [],
        "not_checked": None,
        "set_aside": {},
        "tolerance": 0.1,
        "workloads": [],
    }
    p.write_text(TEXT.replace('b = "y"', 'b = "y"\nfactor = 2'), encoding="utf-8")
    with pytest.raises(ClaimsError, match=r"'relation.factor'.*unknown field for kind 'parity'"):
        load_claims(p, db=db)


def test_an_unregistered_kind_is_refused(tmp_path):
    p = tmp_path / "claims.toml"
    p.write_text(TEXT, encoding="utf-8")
    db = make_db(make_chip("x", {"bf16": 105.0}, 2.0), make_chip("y", {"bf16": 100.0}, 3.0))
    with pytest.raises(ClaimsError, match=r"'relation.kind': must be one of ratio, ordering"):
        load_claims(p, db=db)
