"""``statement``: what an article says that is not a chip figure (a financial charge, a policy step, a market
fact). Context with its source: the claim's status is "context", and other reports of the same fact
(``elsewhere``) are said beside it, flagged where they differ.

Keys: ``topic`` (``financial``, ``policy``, ``market``, ``supply``), ``what`` (the statement as read),
optional ``elsewhere = [{ publication, date, url, says, differs }]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from gpucompare.claims.reader import RelationReader, report_words
from gpucompare.claims.types import Context, Kind, Outcome, Relation

TOPICS = ("financial", "policy", "market", "supply")


@dataclass(frozen=True, kw_only=True)
class StatementRelation(Relation):
    kind: ClassVar[str] = "statement"
    topic: str
    what: str
    elsewhere: tuple[Mapping[str, Any], ...] = ()


def parse(rd: RelationReader) -> dict[str, Any]:
    topic = rd.raw["topic"]
    if topic not in TOPICS:
        raise rd.error("topic", f"must be one of {', '.join(TOPICS)}, got {topic!r}")
    return {"topic": topic, "what": rd.text("what"), "elsewhere": rd.reports("elsewhere")}


def check(rel: StatementRelation, ctx: Context) -> Outcome:
    text = f"context ({rel.topic}, not a chip figure): {rel.what}{report_words(rel.elsewhere)}"
    return Outcome((), text, ("context", text))


KIND = Kind(relation=StatementRelation, required=frozenset({"topic", "what"}), parse=parse, check=check)
