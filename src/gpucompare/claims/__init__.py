"""Claims from the press (``seeds/claims.toml``) and their verdicts against the spec database and the model.

A claim is a quote, its source, the chips it involves and a structured relation (see the header of
``claims.toml``). :func:`check_claim` turns it into a :class:`ClaimResult`: one :class:`BasisVerdict` per
(chip pair, basis) and an overall verdict with the numbers behind it.

Layout, along the data flow:

- ``types``: the claim model (:class:`Claim`, :class:`Relation`, :class:`BasisVerdict`,
  :class:`ClaimResult`) and what a kind provides (:class:`Kind`);
- ``loading`` (with ``reader``): the file, validated, chips resolved in a ``ChipDB``;
- ``kinds/``: one module per relation kind (``ratio``, ``ordering``, ``classification``, ``regulatory``,
  ``only``, ``qualitative``, ``balance``, ``count``, ``equivalence``, ``statement``), each with its relation,
  parser and checker, and the registry;
- ``bases``, ``pairs`` and ``ranks``: the figures a basis reads, the a/b comparisons several kinds share
  (caveat bases, a dtype only one chip has), ranks per chip, generation or family;
- ``verdicts``: verdict names, the overall verdict, number wording;
- ``check``: :func:`check_claim` and :func:`check_all`.
"""

from __future__ import annotations

from gpucompare.claims.bases import ATTR_BASES
from gpucompare.claims.check import check_all, check_claim
from gpucompare.claims.kinds import KINDS, REGISTRY
from gpucompare.claims.loading import load_claims
from gpucompare.claims.types import (
    BasisVerdict,
    Claim,
    ClaimResult,
    Kind,
    Relation,
    Source,
    WorkloadRatios,
)
from gpucompare.claims.verdicts import STATUSES, VERDICTS

__all__ = [
    "ATTR_BASES",
    "KINDS",
    "REGISTRY",
    "STATUSES",
    "VERDICTS",
    "BasisVerdict",
    "Claim",
    "ClaimResult",
    "Kind",
    "Relation",
    "Source",
    "WorkloadRatios",
    "check_all",
    "check_claim",
    "load_claims",
]
