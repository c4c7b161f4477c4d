"""Entity resolution: which supplier in procurement history is which member of the registry.

Same firm when the identifiers match (a registry id such as ``RU-INN-7812345678`` equals the
supplier's ``<scheme>-<id>`` key), else when the normalised names are equal (case, accents,
punctuation and legal forms such as LLC, ООО, SAS, S.A.S. removed), else when they are
nearly equal by rapidfuzz's token-sort ratio. Every merge is reported with how it was made.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.schema import Participant

FUZZY_THRESHOLD = 93.0  # token-sort ratio; below this, names of different firms start to collide

# Legal forms, after normalisation (lower case, no accents, punctuation as spaces). Multi-word
# forms are matched first; single letters (as in "s a s") are matched as sequences.
_LEGAL_FORMS = sorted(
    {
        "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "plc", "gmbh", "ag", "bv", "nv",
        "jsc", "pjsc", "ojsc", "cjsc", "ooo", "oao", "zao", "pao", "ao", "ip", "ano", "fsbi", "fgup", "gup", "mup",
        "ооо", "оао", "зао", "пао", "ао", "ип", "ано", "фгуп", "гуп", "муп", "нко",
        "sas", "s a s", "sa", "s a", "ltda", "s en c", "eu", "e u", "eirl", "srl", "s r l", "sl", "s l",
        "sa de cv", "s a de c v", "spa", "s p a", "ug", "kg", "co", "cia",
    },
    key=lambda form: -len(form),
)  # fmt: skip
_LEGAL_RE = re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(f) for f in _LEGAL_FORMS) + r")(?=\s|$)")


def normalise_name(name: str) -> str:
    """'Mostostroy-Nevsky, LLC' → 'mostostroy nevsky'; 'GV Ingeniería Integral S.A.S.' → 'gv ingenieria integral'."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\w]+", " ", text).strip()
    previous = None
    while previous != text:  # forms can stack: "ooo ... ltd"
        previous = text
        text = _LEGAL_RE.sub(" ", f" {text} ").strip()
    return " ".join(text.split())


@dataclass(frozen=True)
class Merge:
    """A supplier from the history recognised as a registry member."""

    member_id: str
    supplier_id: str
    how: str  # "identifier", "name" or "fuzzy name"
    score: float  # 100 for identifier and exact name matches
    member_name: str
    supplier_name: str


def match_suppliers(members: Sequence[Participant], suppliers: Sequence[Participant]) -> list[Merge]:
    """For each supplier, the registry member it is, if any (each member takes many suppliers)."""
    from rapidfuzz import fuzz, process

    by_id = {m.id: m for m in members}
    by_name: dict[str, Participant] = {}
    for m in members:
        by_name.setdefault(normalise_name(m.name), m)
    names = [n for n in by_name if n]
    merges = []
    for s in suppliers:
        member = by_id.get(s.id)
        if member is not None:
            merges.append(Merge(member.id, s.id, "identifier", 100.0, member.name, s.name))
            continue
        key = normalise_name(s.name)
        if not key:
            continue
        member = by_name.get(key)
        if member is not None:
            merges.append(Merge(member.id, s.id, "name", 100.0, member.name, s.name))
            continue
        best = process.extractOne(key, names, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_THRESHOLD)
        if best is not None:
            member = by_name[best[0]]
            merges.append(Merge(member.id, s.id, "fuzzy name", round(float(best[1]), 1), member.name, s.name))
    return merges


def merge_track_records(
    members: Sequence[Participant], suppliers: Sequence[Participant]
) -> tuple[list[Participant], list[Merge]]:
    """Members enriched with the contracts of the suppliers they are, then the other suppliers.

    A member keeps its own fields; it gains the supplier's projects (its contracts) and codes.
    """
    merges = match_suppliers(members, suppliers)
    into = {m.supplier_id: m.member_id for m in merges}
    extra: dict[str, list[Participant]] = {}
    others = []
    for s in suppliers:
        if s.id in into:
            extra.setdefault(into[s.id], []).append(s)
        else:
            others.append(s)
    enriched = []
    for m in members:
        found = extra.get(m.id, [])
        if found:
            projects = m.projects + tuple(p for s in found for p in s.projects)
            codes = tuple(dict.fromkeys([*m.codes, *(c for s in found for c in s.codes)]))
            m = dataclasses.replace(m, projects=projects, codes=codes)
        enriched.append(m)
    return enriched + others, merges
