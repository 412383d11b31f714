"""Loading claims: the packaged file, a minimal file, malformed files naming claim and field, the kinds."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from claims_helpers import GOOD, SIX
from support import make_chip, make_db

from gpucompare.claims import KINDS, REGISTRY, check_claim, load_claims
from gpucompare.errors import ClaimsError
from gpucompare.specs import get_chip


# ---------------------------------------------------------------------------------------------------------
# The packaged file
# ---------------------------------------------------------------------------------------------------------
def test_packaged_claims_cover_every_article_and_resolve(claims):
    readme = resources.files("gpucompare.seeds").joinpath("README.md").read_text(encoding="utf-8")
    seeds = {c.source.seed for c in claims.values()}
    assert len(seeds) == 5, seeds
    for seed in seeds:
        assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", seed)
        assert seed in readme
    assert {c.relation.kind for c in claims.values()} == set(KINDS)
    for c in claims.values():
        assert c.quote and c.quote_en and c.source.publication
        for chip in c.chips:
            assert get_chip(chip).id == chip  # stored as canonical ids


def test_expected_claims_are_present(claims):
    for cid in (
        SIX,
        "h20-cut-down-h100",
        "a100-h100-controlled-but-not-h200",
        "blackwell-b200-most-powerful",
        "h200-second-most-powerful-nvidia",
        "domestic-chips-better-suited-to-inference",
        "china-approves-400000-h200",
        "deepseek-30000-h20",
        "nvidia-900000-h20-inventory",
        "chinese-orders-2-million-h200",
        "datasection-15000-blackwell",
    ):
        assert cid in claims
    six = claims[SIX].relation
    assert (six.a, six.b, six.factor) == ("h200-sxm", "h20", 6.0)
    lo, hi = six.accept
    assert lo <= 6.0 <= hi and hi < 7.5  # "almost six" must not accept anything


# ---------------------------------------------------------------------------------------------------------
# A minimal file, and malformed ones
# ---------------------------------------------------------------------------------------------------------
def test_minimal_file_loads_and_resolves_aliases(tmp_path):
    p = tmp_path / "claims.toml"
    p.write_text(GOOD, encoding="utf-8")
    (c,) = load_claims(p)
    assert c.chips == ("h200-sxm", "h20")
    assert c.relation.bases == ("bf16", "fp8", "tpp", "bandwidth", "memory", "interconnect")
    assert check_claim(c).status == "partial"


def test_chips_resolve_in_the_given_database(tmp_path):
    """Names resolve in ``db`` (aliases included), not in the packaged database."""
    db = make_db(
        make_chip("h200-sxm", {"bf16": 600.0}, 4.8, aliases=["H200"]),
        make_chip("h20", {"bf16": 100.0}, 4.0),
    )
    p = tmp_path / "claims.toml"
    p.write_text(GOOD, encoding="utf-8")
    (c,) = load_claims(p, db=db)
    assert c.chips == ("h200-sxm", "h20")
    with pytest.raises(ClaimsError, match=r"'c1'.*'chips'.*H200"):
        load_claims(p, db=make_db(make_chip("h20", {"bf16": 100.0}, 4.0)))


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('quote = "Le H200', 'quotation = "Le H200', r"'c1'.*'quotation'.*unknown field"),
        ('quote = "Le H200 est presque six fois plus puissant que le H20."\n', "", r"'c1'.*'quote'.*missing"),
        ('chips = ["H200", "h20"]', 'chips = ["H200", "H9000"]', r"'c1'.*'chips'.*H9000"),
        ('kind = "ratio"', 'kind = "rumour"', r"'c1'.*'relation.kind'"),
        ("accept = [5.0, 7.0]", "accept = [7.0, 5.0]", r"'c1'.*'relation.accept'"),
        ("factor = 6.0", "factor = -6.0", r"'c1'.*'relation.factor'"),
        ("factor = 6.0", 'factor = "six"', r"'c1'.*'relation.factor'"),
        ('b = "h20"', 'b = "b200"', r"'c1'.*'relation.b'.*not listed"),
        ('b = "h20"\n', 'b = "h20"\nbogus = 1\n', r"'c1'.*'relation.bogus'.*unknown field"),
        ("accept = [5.0, 7.0]\n", "", r"'c1'.*'relation.accept'.*missing"),
        ('date = "2025-12-10"', 'date = "10/12/2025"', r"'c1'.*'source.date'"),
        ("schema_version = 1", "schema_version = 2", "schema_version"),
        ("[claim.relation]", "[claim.relation", "not valid TOML"),
        (
            "accept = [5.0, 7.0]\n",
            'accept = [5.0, 7.0]\nbases = ["bf16", "flops"]\n',
            r"'relation.bases'.*flops",
        ),
    ],
)
def test_malformed_claims_name_claim_and_field(tmp_path, old, new, match):
    assert old in GOOD
    p = tmp_path / "claims.toml"
    p.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ClaimsError, match=match):
        load_claims(p)


def test_duplicate_ids_and_missing_file(tmp_path):
    p = tmp_path / "claims.toml"
    p.write_text(GOOD + GOOD.split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(ClaimsError, match="'c1': duplicate id"):
        load_claims(p)
    with pytest.raises(ClaimsError, match="cannot read"):
        load_claims(tmp_path / "absent.toml")


def test_non_utf8_file_is_a_claims_error(tmp_path):
    p = tmp_path / "claims.toml"
    p.write_bytes(GOOD.replace("presque", "pr\xe9sque").encode("latin-1"))
    with pytest.raises(ClaimsError, match="not UTF-8"):
        load_claims(p)


# ---------------------------------------------------------------------------------------------------------
# The kinds
# ---------------------------------------------------------------------------------------------------------
def test_registry_describes_each_kind_once():
    assert KINDS == (
        "ratio",
        "ordering",
        "classification",
        "regulatory",
        "only",
        "qualitative",
        "balance",
        "count",
        "equivalence",
        "statement",
    )
    for name, kind in REGISTRY.items():
        assert kind.name == name == kind.relation.kind
        assert {"kind", "bases", "workloads", "caveat", "not_checked"} <= kind.keys
        assert kind.required <= kind.keys and set(kind.chip_keys) <= kind.keys


def test_relation_json_lists_the_kinds_keys(claims):
    for c in claims.values():
        d = c.relation.to_dict()
        keys = list(d)
        assert keys[0] == "kind" and d["kind"] == c.relation.kind
        assert keys[1:] == sorted(REGISTRY[c.relation.kind].keys - {"kind"})
