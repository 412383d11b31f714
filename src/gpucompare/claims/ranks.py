"""Ranks among a pool of chips, per chip or per generation (the ``ordering`` kind's ``rank`` reading).

Per chip: a's rank on a basis is ``1 + #{chips of the pool with a larger value}`` (ties share a rank).
Per generation: the pool's chips grouped by architecture family ("Blackwell Ultra" and "Blackwell (GB202)"
are Blackwell), each family ranked by its best chip on the basis. "The second most powerful chip", read per
generation, holds when a's family ranks second and a is its family's top part (ties allowed); read per
family ("the most powerful Blackwell chips"), a's family must rank as claimed and a is only a member.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpucompare.claims import bases as B
from gpucompare.claims.types import BasisVerdict
from gpucompare.claims.verdicts import fmt, held
from gpucompare.specs import Chip

#: How a rank claim is read: ``chip`` (a among chips), ``generation`` (a's family ranks so, a tops it),
#: ``family`` (a's family ranks so).
PER = ("chip", "generation", "family")


def family(chip: Chip) -> str | None:
    """The architecture family: the first word of ``architecture`` ("Blackwell Ultra" -> "Blackwell")."""
    arch = chip.architecture
    return arch.split()[0] if arch and arch.strip() else None


def _unknown(a: Chip, basis: str, name: str, group: str) -> BasisVerdict:
    return BasisVerdict(
        name,
        None,
        "unknown",
        f"{a.id}: {basis} unknown",
        (a.id,),
        unit=B.UNIT[basis],
        group=group,
        label=f"{basis} unknown",
    )


def chip_rank(a: Chip, pool: Sequence[Chip], basis: str, claimed: int, judged: bool) -> BasisVerdict:
    """a's rank on one basis among ``pool``; a verdict against the claimed rank when ``judged``, else
    context (the per-chip figure beside a per-generation reading)."""
    group = B.GROUP[basis] if judged else "per chip"
    va = B.value(a, basis)
    unit = B.UNIT[basis]
    if va is None:
        return _unknown(a, basis, f"rank:{basis}", group)
    above = sorted(
        ((v, c.id) for c in pool if c.id != a.id and (v := B.value(c, basis)) is not None and v > va),
        key=lambda t: (-t[0], t[1]),
    )
    rank = 1 + len(above)
    ahead = ", ".join(f"{cid} {fmt(v, unit)}" for v, cid in above) or "none"
    tied = sorted(c.id for c in pool if c.id != a.id and B.value(c, basis) == va)
    detail = (
        f"{a.id} {fmt(va, unit)} ranks {rank} among {len(pool)} chips (claimed {claimed}); above it: {ahead}"
        + (f"; tied with {', '.join(tied)}" if tied else "")
    )
    around = [f"behind {ahead}"] if above else []
    around += [f"tied with {', '.join(tied)}"] if tied else []
    return BasisVerdict(
        f"rank:{basis}",
        None,
        held(rank == claimed) if judged else "context",
        detail,
        (a.id,),
        a_value=va,
        value=float(rank),
        unit="rank",
        group=group,
        label=f"{basis} rank {rank}" + (f" ({'; '.join(around)})" if around else ""),
    )


def _best_by_family(pool: Sequence[Chip], basis: str) -> dict[str, tuple[float, str]]:
    """Family -> (best value, chip id holding it) on one basis, over the chips with a known value."""
    best: dict[str, tuple[float, str]] = {}
    for c in pool:
        fam, v = family(c), B.value(c, basis)
        if fam and v is not None and (fam not in best or v > best[fam][0]):
            best[fam] = (v, c.id)
    return best


def family_rank(a: Chip, pool: Sequence[Chip], basis: str, claimed: int, per: str) -> BasisVerdict:
    """The rank of a's family by its best chip on one basis: a verdict for ``per`` ``generation`` (a must
    also top its family, ties allowed) and ``family``; context for ``chip``."""
    name = f"rank:generation-{basis}"
    mine = family(a)
    va = B.value(a, basis)
    best = _best_by_family(pool, basis)
    if mine is None or va is None or mine not in best:
        return _unknown(a, basis, name, "generation")
    unit = B.UNIT[basis]
    order = sorted(best, key=lambda k: (-best[k][0], k))
    rank = order.index(mine) + 1
    top = va >= best[mine][0]
    listing = ", ".join(f"{i + 1}. {k} ({best[k][1]} {fmt(best[k][0], unit)})" for i, k in enumerate(order))
    detail = f"by generation on {basis} (best chip per architecture family): {listing}; {mine} ranks {rank}"
    detail += f" (claimed {claimed}); {a.id} {fmt(va, unit)} {'tops' if top else 'does not top'} {mine}"
    ok = rank == claimed and (top or per != "generation")
    label = f"{basis} {mine} rank {rank}" + (
        (" (top part)" if top else " (not its top part)") if per == "generation" else ""
    )
    return BasisVerdict(
        name,
        None,
        "context" if per == "chip" else held(ok),
        detail,
        (a.id,),
        a_value=va,
        value=float(rank),
        unit="rank",
        group="per family" if per == "family" else "per generation",
        label=label,
    )
