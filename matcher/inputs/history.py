"""Track records from procurement history: what each supplier won, as profiles and per-contract texts.

Input are the OCDS tables of :mod:`matcher.inputs.ocds` (tenders, awards, suppliers). Every supplier
becomes a participant whose projects are the contracts it won; its codes are the codes of
those contracts, most frequent first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from matcher.schema import Participant, Project

if TYPE_CHECKING:
    import polars as pl

MAX_CODES = 12  # a firm's most frequent codes; the long tail says little and slows code matching
CONTRACT_TEXT_CHARS = 600  # one contract's text; all-MiniLM-L6-v2 reads 256 word pieces anyway


@dataclass(frozen=True)
class Contract:
    """One award of the history, joined with its tender."""

    ocid: str
    award_id: str
    date: date | None
    buyer_id: str | None
    buyer_name: str | None
    text: str
    codes: tuple[str, ...]
    value: float | None
    supplier_ids: tuple[str, ...]


@dataclass
class TrackRecord:
    """A supplier's history: the contracts it won, as a participant and as texts."""

    supplier_id: str
    names: Counter[str] = field(default_factory=Counter)
    contracts: list[Contract] = field(default_factory=list)

    def participant(self) -> Participant:
        codes = Counter(c for contract in self.contracts for c in contract.codes)
        recent = sorted(self.contracts, key=lambda c: c.date or date.min, reverse=True)
        return Participant(
            id=self.supplier_id,
            name=self.names.most_common(1)[0][0] if self.names else self.supplier_id,
            codes=tuple(code for code, _ in codes.most_common(MAX_CODES)),
            projects=tuple(
                Project(
                    title=c.text,
                    year=c.date.year if c.date else None,
                    value=c.value,
                    role="supplier",
                    buyer=c.buyer_name,
                )
                for c in recent
            ),
        )

    @property
    def buyers(self) -> Counter[str]:
        return Counter(c.buyer_id for c in self.contracts if c.buyer_id)


def _text(*parts: str | None) -> str:
    seen: list[str] = []
    for part in parts:
        part = " ".join((part or "").split())
        if part and not any(part in s for s in seen):
            seen.append(part)
    return ". ".join(seen)[:CONTRACT_TEXT_CHARS]


def contracts_from_tables(tenders: pl.DataFrame, awards: pl.DataFrame) -> list[Contract]:
    """One Contract per award that names a supplier, with its tender's text, buyer and codes.

    The date is the award's date, else the tender's first award date, else the tender's date.
    """
    by_ocid = {row["ocid"]: row for row in tenders.iter_rows(named=True)}
    out = []
    for award in awards.iter_rows(named=True):
        suppliers = tuple(award["supplier_ids"] or ())
        tender = by_ocid.get(award["ocid"])
        if not suppliers or tender is None:
            continue
        out.append(
            Contract(
                ocid=award["ocid"],
                award_id=award["award_id"] or "",
                date=award["date"] or tender["award_date"] or tender["date"],
                buyer_id=tender["buyer_id"],
                buyer_name=tender["buyer_name"],
                text=_text(tender["title"], tender["description"], award["title"], award["description"]),
                codes=tuple(tender["codes"] or ()),
                value=award["value"] if award["value"] else tender["value"],
                supplier_ids=suppliers,
            )
        )
    return out


def track_records(contracts: list[Contract], names: dict[str, Counter[str]] | None = None) -> dict[str, TrackRecord]:
    """Group contracts by supplier (a contract with several suppliers counts for each)."""
    records: dict[str, TrackRecord] = {}
    for contract in contracts:
        for supplier in contract.supplier_ids:
            record = records.get(supplier)
            if record is None:
                record = records[supplier] = TrackRecord(supplier, Counter((names or {}).get(supplier, {})))
            record.contracts.append(contract)
    return records


def supplier_names(suppliers: pl.DataFrame) -> dict[str, Counter[str]]:
    """How each supplier key was named across the history (to pick the most common name)."""
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for key, name in suppliers.select("supplier_id", "name").iter_rows():
        if name:
            names[key][name] += 1
    return names


def history_participants(tenders: pl.DataFrame, awards: pl.DataFrame, suppliers: pl.DataFrame) -> list[Participant]:
    """Every supplier of the history as a participant with its contracts as projects."""
    records = track_records(contracts_from_tables(tenders, awards), supplier_names(suppliers))
    return [records[key].participant() for key in sorted(records)]


def history_language(tenders: pl.DataFrame) -> str:
    """The language most tenders of a history are written in (OCDS `language`; English if none says)."""
    languages = Counter(x for x in tenders["language"].to_list() if x)
    return languages.most_common(1)[0][0] if languages else "en"
