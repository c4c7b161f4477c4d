"""One raw record (a row of a member table, keyed by field) validated into a Participant.

:class:`ParticipantParser` checks the fields in order and raises FieldError naming the first
that is wrong; besides the Participant's own fields it reads ``inn`` and ``ogrn`` (checked, and
the id ``RU-INN-<inn>`` of a row without one) and ``activities`` (codes with their names, as
registers write them). :mod:`matcher.inputs.participants` reads the tables and keeps the rejects.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from matcher.errors import UnknownCode
from matcher.inputs import identifiers
from matcher.inputs.columns import sme_category
from matcher.inputs.fields import (
    FieldError,
    as_list,
    blank,
    boolean,
    cached_normalise,
    integer,
    labelled,
    number,
    parse_codes,
    text,
)
from matcher.inputs.regions import region_code
from matcher.language import normalise_language
from matcher.schema import SME_HEADCOUNT_LIMIT, Participant, Project
from matcher.taxonomy import Taxonomy, load_taxonomy

T = TypeVar("T")


def _projects(value: Any) -> tuple[Project, ...]:
    if blank(value):
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise FieldError("projects", f"not a JSON array of projects ({exc.msg})") from None
        except (RecursionError, ValueError) as exc:  # nested too deep, or a number too long
            raise FieldError("projects", f"not a readable JSON array ({type(exc).__name__})") from None
    if not isinstance(value, list):
        raise FieldError("projects", f"expected a list of projects, got {type(value).__name__}")
    projects = []
    for i, item in enumerate(value):
        where = f"projects[{i}]"
        if not isinstance(item, dict):
            raise FieldError(where, f"expected an object, got {type(item).__name__}")
        projects.append(
            Project(
                title=text(item.get("title"), f"{where}.title", required=True),
                year=integer(item.get("year"), f"{where}.year", 1900, 2100),
                value=number(item.get("value"), f"{where}.value"),
                role=text(item.get("role"), f"{where}.role") or None,
                buyer=text(item.get("buyer"), f"{where}.buyer") or None,
            )
        )
    return tuple(projects)


def _language(value: Any) -> str | None:
    raw = text(value, "language")
    language = normalise_language(raw)
    if raw and language is None:
        raise FieldError("language", f"expected a language code such as ru or en, got {raw!r}")
    return language


def _remembered(parse: Callable[[Any], T], size: int = 1 << 16) -> Callable[[Any], T]:
    """`parse` remembered per distinct text or whole number (a failure is not remembered: each
    bad cell raises again). Other values (1.0 == 1 == True, lists) are parsed every time."""
    cached = functools.lru_cache(maxsize=size)(parse)
    return lambda value: cached(value) if type(value) is str or type(value) is int else parse(value)


class ParticipantParser:
    """Validates raw records into Participants, like :func:`parse_participant`, faster.

    A table repeats its kinds, regions, certifications, codes and languages in thousands of
    rows; parsing a cell is pure, so each distinct value is parsed once per parser.
    """

    def __init__(self, taxonomy: Taxonomy | None = None):
        taxonomy = taxonomy or load_taxonomy()
        normalise = cached_normalise(taxonomy)
        self.codes = _remembered(lambda v: parse_codes(v, "codes", taxonomy, normalise))
        self.projects = _remembered(_projects)
        self.headcount = _remembered(lambda v: integer(v, "headcount", 0, 10_000_000))
        self.sme = _remembered(lambda v: boolean(sme_category(v), "sme"))
        self.kind = _remembered(lambda v: text(v, "kind") or None)
        # "г. Москва", "52 - Нижегородская область" as RU-MOW, RU-NIZ; other values upper-cased
        self.regions = _remembered(
            lambda v: tuple(dict.fromkeys(region_code(r) for r in as_list(v, "regions", ";,\n")))
        )
        self.certifications = _remembered(lambda v: tuple(as_list(v, "certifications")))
        self.clusters = _remembered(lambda v: tuple(as_list(v, "clusters", ";,\n")))
        self.language = _remembered(_language)
        self.inn = _remembered(lambda v: _identifier(identifiers.inn, v, "inn"))
        self.ogrn = _remembered(lambda v: _identifier(identifiers.ogrn, v, "ogrn"))
        self.activities = _remembered(lambda v: _activities(v, taxonomy, normalise))

    def __call__(self, record: dict[str, Any]) -> Participant:
        """Validate one raw record into a Participant; raises FieldError naming the field."""
        get = record.get
        # the fields are checked in this order, so a row with several faults names the first
        pid = text(get("id"), "id")
        if not pid or "inn" in record or "ogrn" in record:
            # the INN and OGRN are checked when given, also when an id column gives the id
            registered = self._registered_id(record, required=not pid)
            pid = pid or registered
        name = text(get("name"), "name", required=True)
        description = text(get("description"), "description")
        codes = self.codes(get("codes"))
        if "activities" in record:
            more, words = self.activities(get("activities"))
            codes = tuple(dict.fromkeys((*codes, *more)))
            description = description or words
        projects = self.projects(get("projects"))
        if not (description or codes or projects):
            raise FieldError("description", "no description, codes or projects: nothing to match on")
        headcount = self.headcount(get("headcount"))
        sme = self.sme(get("sme"))
        if sme is None and headcount is not None:
            sme = headcount < SME_HEADCOUNT_LIMIT
        return Participant(
            id=pid,
            name=name,
            description=description,
            kind=self.kind(get("kind")),
            codes=codes,
            regions=self.regions(get("regions")),
            headcount=headcount,
            sme=sme,
            certifications=self.certifications(get("certifications")),
            projects=projects,
            clusters=self.clusters(get("clusters")),
            language=self.language(get("language")),
        )

    def _registered_id(self, record: dict[str, Any], required: bool) -> str:
        """The id a row's INN gives, RU-INN-<inn>, else its OGRN, RU-OGRN-<ogrn>; both checked when
        given. Neither: "" when not `required`, else a FieldError."""
        inn = self.inn(record.get("inn"))
        ogrn = self.ogrn(record.get("ogrn"))
        if inn:
            return identifiers.INN_PREFIX + inn
        if ogrn:
            return identifiers.OGRN_PREFIX + ogrn
        if not required:
            return ""
        for name in ("inn", "ogrn"):
            if name in record:
                raise FieldError(name, "missing (required: it gives the member's id)")
        raise FieldError("id", "missing (required)")


def _identifier(check: Callable[[Any], str], value: Any, name: str) -> str:
    if blank(value):
        return ""
    try:
        return check(value)
    except identifiers.IdentifierError as exc:
        raise FieldError(name, str(exc)) from None


def _activities(
    value: Any, taxonomy: Taxonomy, normalise: Callable[[str], Sequence[str]]
) -> tuple[tuple[str, ...], str]:
    """The codes and the words of activity cells ("42.11 Строительство дорог; 43.99 ..."). Unlike
    a codes column, a code the taxonomy lacks is taken at its nearest known parent (42.11.9 as
    42.11), or left out: these cells are descriptions first."""
    codes: list[str] = []
    words: list[str] = []
    for item, label in labelled(as_list(value, "activities", ";,\n")):
        code = item if item[:2].isdigit() else ""
        while code:
            try:
                codes.extend(c for c in normalise(code) if c not in codes)
                break
            except UnknownCode:
                code = code.rpartition(".")[0]
        if label or not code:
            words.append(label or item)  # the activity's name, or free text with no code
    return tuple(codes), "; ".join(words)


def parse_participant(record: dict[str, Any], taxonomy: Taxonomy | None = None) -> Participant:
    """Validate one raw record into a Participant; raises FieldError naming the field.

    To parse many records, make one :class:`ParticipantParser` and call it for each.
    """
    return ParticipantParser(taxonomy)(record)
