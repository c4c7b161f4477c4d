"""`gaps`: which capabilities a set of tenders asks for that the cluster cannot cover, or covers through one member.

:func:`gaps` ranks members for every lot of every tender once (one opened :class:`~matcher.search.Matcher`)
and hands the rankings to :func:`gaps_from`, a pure function: it groups the lots by capability (the
CPV group, the first 3 digits of each of a lot's codes) and counts, per capability, the distinct
members whose calibrated fit is strong or possible for at least one of its lots. A capability with
no strong member is a **gap**, with exactly one a **single** (the cluster depends on that member),
with two or more **covered**.

A lot's band is the member's fit for the whole lot: a lot with codes in two groups counts its
members for both. Only each lot's ``top_k`` best members are looked at, so the counts are "at
least" counts above ``top_k``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from matcher.errors import InputError
from matcher.i18n import explicit_language
from matcher.inputs.tenders import read_tender
from matcher.profiles import lot_language
from matcher.results import NO_CODES, AskingLot, Capability, GapsReport, GapStatus, Suggestion, TenderSuggestions
from matcher.schema import Lot, Tender
from matcher.taxonomy import Taxonomy, code_tree, load_taxonomy

if TYPE_CHECKING:
    from matcher.search import RankerChoice, WorkspaceLike

__all__ = ["NO_CODES", "capability_of", "gaps", "gaps_from"]

_ORDER: dict[GapStatus, int] = {"gap": 0, "single": 1, "covered": 2}
# How many leading digits of a CPV code name a capability: its group (3) or its class (4).
LEVELS: dict[str, int] = {"group": 3, "class": 4}


def gaps(
    workspace: WorkspaceLike,
    tenders: Sequence[Tender | str | os.PathLike[str]],
    top_k: int = 10,
    *,
    model: str | None = None,
    ranker: RankerChoice = "auto",
    level: str = "group",
) -> GapsReport:
    """The capabilities the tenders ask for, gaps first: how many members cover each one well.

    Args:
        workspace: the workspace (or its folder) whose current index is asked.
        tenders: Tenders, or paths of tender files (YAML, JSON, OCDS); every file is read before
            the index is opened, so a bad one fails first.
        top_k: members ranked per lot; strong and possible members are counted among them.
        level: "group" (the CPV group, 3 digits: 452 is most of civil engineering) or "class"
            (4 digits: 4522 bridges and tunnels, 4523 roads and railways...).

    Raises:
        InputError: no tender, or the ranker serving has no calibration (no fit, so no bands).

    Example:
        >>> report = gaps("my-cluster", ["tenders/bridge.yaml", "tenders/depot.yaml"])  # doctest: +SKIP
        >>> [(c.code, c.status) for c in report.capabilities][:3]
    """
    from matcher.search import Matcher

    if not tenders:
        raise InputError("give at least one tender file, e.g. matcher gaps tenders/*.yaml")
    if top_k < 1:
        raise InputError(f"--top-k must be at least 1, got {top_k}")
    if level not in LEVELS:
        raise InputError(f"--level {level}: choose group or class")
    parsed = [t if isinstance(t, Tender) else read_tender(t) for t in tenders]
    matcher = Matcher.open(workspace, model, ranker=ranker)
    if matcher.calibration is None:
        raise InputError(
            f"the ranker serving {matcher.workspace.root} ({matcher.ranker.name}) has no calibration "
            f"({matcher.workspace.calibration_path}), so fits cannot be banded; use --ranker hand"
        )
    return gaps_from([matcher.suggest(t, top_k) for t in parsed], top_k, level)


def capability_of(code: str, level: str = "group") -> str:
    """The capability a code asks for: a CPV code's group (first 3 digits) or class (4), any other
    code as it is."""
    tree = code_tree(code)
    return tree[1][: LEVELS[level]] if tree is not None and tree[0] == "CPV" else code


def _label(capability: str, example_code: str, taxonomy: Taxonomy, lang: str) -> str:
    """The group's or class's own label (its CPV code padded with zeros), else the lot's code's label."""
    if capability.isdigit() and len(capability) in LEVELS.values():
        canonical = taxonomy.cpv_canonical.get(capability.ljust(8, "0"))
        if canonical is not None:
            return taxonomy.label(canonical, lang)
    return taxonomy.label(example_code, lang)


def _best(suggestions: Sequence[Suggestion]) -> Suggestion | None:
    """The highest fit (then score, then id, for a stable answer)."""
    if not suggestions:
        return None
    return min(suggestions, key=lambda s: (-(s.fit if s.fit is not None else -1.0), -s.score, s.participant_id))


def _status(strong: int) -> GapStatus:
    return "gap" if strong == 0 else "single" if strong == 1 else "covered"


class _Asked:
    """What one capability has gathered so far: its lots, their members, a code and the lots' languages."""

    def __init__(self, code: str, example: str):
        self.code, self.example = code, example
        self.lots: list[AskingLot] = []
        self.suggestions: list[Suggestion] = []
        self.languages: list[str] = []


def gaps_from(results: Sequence[TenderSuggestions], top_k: int = 10, level: str = "group") -> GapsReport:
    """Group the lots of rankings by capability and say how well members cover each one.

    A pure function of the rankings (their ``band`` and ``fit``): :func:`gaps` is this over
    :meth:`Matcher.suggest`. A lot without codes is a capability of its own, labelled with its title.
    """
    taxonomy = load_taxonomy()
    asked: dict[str, _Asked] = {}
    every_lot: list[AskingLot] = []
    for result in results:
        lots: dict[str, Lot] = {lot.id: lot for lot in result.tender.lots}
        for ranking in result.lots:
            lot = lots.get(ranking.lot_id, Lot(ranking.lot_id, ranking.title))
            asking = AskingLot(result.tender.id, ranking.lot_id, ranking.title, ranking.gap_note())
            every_lot.append(asking)
            language = lot_language(lot, result.tender)
            keys = dict.fromkeys(capability_of(c, level) for c in lot.codes)  # a lot counts once per capability
            examples = {capability_of(c, level): c for c in reversed(lot.codes)}  # the lot's first code of each
            if not keys:  # its own row: unrelated lots without codes are not one capability
                keys = {f"{NO_CODES}\0{result.tender.id}\0{ranking.lot_id}": None}
            for key in keys:
                entry = asked.setdefault(key, _Asked(key.split("\0")[0], examples.get(key, "")))
                entry.lots.append(asking)
                entry.suggestions.extend(ranking.suggestions)
                entry.languages.append(language)
    capabilities = [_capability(entry, taxonomy) for entry in asked.values()]
    capabilities.sort(key=lambda c: (_ORDER[c.status], -len(c.lots), c.code == NO_CODES, c.code, c.label))
    return GapsReport(
        tuple(capabilities), tuple(every_lot), tuple(r.tender.id for r in results), top_k,
        results[0].model if results else "", results[0].index_version if results else "",
    )  # fmt: skip


def _capability(entry: _Asked, taxonomy: Taxonomy) -> Capability:
    strong = {s.participant_id for s in entry.suggestions if s.band == "strong"}
    possible = {s.participant_id for s in entry.suggestions if s.band == "possible"} - strong
    best = _best(entry.suggestions)
    if entry.code == NO_CODES:
        label = label_en = entry.lots[0].title
    else:
        # the language chosen (--lang, a request's), else the asking lots' own
        lang = explicit_language() or ("ru" if entry.languages.count("ru") * 2 > len(entry.languages) else "en")
        label_en = _label(entry.code, entry.example, taxonomy, "en")
        label = label_en if lang == "en" else _label(entry.code, entry.example, taxonomy, "ru")
    return Capability(
        entry.code, label, label_en, tuple(entry.lots), len(strong), len(possible),
        best.participant_id if best else None, best.name if best else None,
        best.fit if best else None, best.band if best else None, _status(len(strong)),
    )  # fmt: skip
