"""The data model: participants (cluster members) and tenders with lots.

These are plain frozen dataclasses; readers in :mod:`matcher.inputs.participants` and
:mod:`matcher.inputs.tenders` validate raw input into them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SME_HEADCOUNT_LIMIT = 250  # EU and Russian SME definitions both draw the line at 250 staff


@dataclass(frozen=True, slots=True)  # slots: a million-firm registry holds millions of these
class Project:
    """A past project in a participant's track record."""

    title: str
    year: int | None = None
    value: float | None = None
    role: str | None = None
    buyer: str | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    """A cluster member's capability profile."""

    id: str
    name: str
    description: str = ""
    kind: str | None = None
    codes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    headcount: int | None = None
    sme: bool | None = None
    certifications: tuple[str, ...] = ()
    projects: tuple[Project, ...] = ()
    clusters: tuple[str, ...] = ()
    language: str | None = None  # ISO 639-1 of the description; None: detected from the text

    def as_record(self) -> dict[str, Any]:
        """A plain dict in the column layout of the participant tables."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "codes": list(self.codes),
            "regions": list(self.regions),
            "headcount": self.headcount,
            "sme": self.sme,
            "certifications": list(self.certifications),
            "projects": [dataclasses.asdict(p) for p in self.projects],
            "clusters": list(self.clusters),
            "language": self.language,
        }

    @property
    def largest_project_value(self) -> float | None:
        values = [p.value for p in self.projects if p.value]
        return max(values) if values else None


@dataclass(frozen=True)
class Lot:
    """One lot of a tender: the unit a member is suggested for."""

    id: str
    title: str = ""
    description: str = ""
    codes: tuple[str, ...] = ()
    value: float | None = None
    certifications: tuple[str, ...] = ()
    region: str | None = None
    language: str | None = None  # of the lot's text; None: detected


@dataclass(frozen=True)
class Tender:
    """A tender; one without lots in its file has a single lot made of its own fields."""

    id: str
    title: str
    description: str = ""
    buyer: str | None = None
    region: str | None = None
    value: float | None = None
    currency: str | None = None
    deadline: date | None = None
    lots: tuple[Lot, ...] = field(default_factory=tuple)
    language: str | None = None
