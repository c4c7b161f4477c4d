"""The time split of an evaluation: awards before a cut-off build the pool and its track records,
tenders on or after it are the queries, their awarded suppliers the right answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from matcher.inputs.history import Contract, TrackRecord, track_records


@dataclass(frozen=True)
class Query:
    """A tender after the cut-off: what is known of it, and who won it."""

    ocid: str
    date: date
    text: str
    codes: tuple[str, ...]
    buyer_id: str | None
    buyer: str | None
    value: float | None
    winners: frozenset[str]


@dataclass
class Split:
    """History before the cut-off (the pool and its track records) and the tenders after it."""

    cutoff: date
    records: dict[str, TrackRecord]
    pool: list[str]
    queries: list[Query]
    train_awards: int
    undated: int = 0
    history: list[Contract] = field(default_factory=list)

    @property
    def warm(self) -> np.ndarray:
        """Which queries have at least one winner with history before the cut-off."""
        known = set(self.pool)
        return np.array([bool(q.winners & known) for q in self.queries], dtype=bool)


def split_history(contracts: Sequence[Contract], cutoff: date) -> Split:
    """Awards dated before the cut-off build the pool; tenders dated on or after it are queries."""
    train = [c for c in contracts if c.date is not None and c.date < cutoff]
    later: dict[str, list[Contract]] = defaultdict(list)
    for c in contracts:
        if c.date is not None and c.date >= cutoff:
            later[c.ocid].append(c)
    queries = []
    for ocid, awards in sorted(later.items()):
        first = min(awards, key=lambda c: c.date or cutoff)
        values = [c.value for c in awards if c.value]
        queries.append(
            Query(
                ocid=ocid,
                date=first.date or cutoff,
                text=first.text,
                codes=first.codes,
                buyer_id=first.buyer_id,
                buyer=first.buyer_name,
                value=sum(values) if values else None,
                winners=frozenset(s for c in awards for s in c.supplier_ids),
            )
        )
    records = track_records(train)
    return Split(
        cutoff=cutoff,
        records=records,
        pool=sorted(records),
        queries=queries,
        train_awards=len(train),
        undated=sum(1 for c in contracts if c.date is None),
        history=train,
    )
