"""The managers' marks in a ranking: the marks beside each suggestion, and the demotion of a member
marked not relevant for a similar lot.

"Similar" is decided from what a mark stores (the lot's codes and text), never from the index that
served it, so it survives re-indexing and a change of model:

* the same lot (tender id and lot id);
* or both lots have codes and share a capability group: a CPV code's first 3 digits (its group,
  e.g. 452 "works for complete or part construction and civil engineering"; the same grouping as
  `matcher gaps`), another scheme's code as given;
* or neither has codes and their words overlap: Jaccard of the title and description words of at
  least :data:`SIMILAR_WORDS`.

The demotion is a score part, "feedback", of value 1 and weight −(:data:`DEMOTION_SHARE` × the
spread of the lot's candidate scores), so the parts still add up to the score and the explanation
says why. The fit (the calibrated chance that the member can do the lot) is left as the profile
gave it: the calibration was fitted on scores without marks, and a manager's judgement is a
different fact, shown as the mark, not folded into that chance. So a demoted member can show a
higher fit than one ranked above it; the "feedback" part says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from matcher.i18n import N_, tr
from matcher.results import Mark, ScorePart, Suggestion

DEMOTION_SHARE = 0.5  # of the spread between the lot's best and worst candidate scores
SIMILAR_WORDS = 0.5
FEEDBACK_PART = "feedback"
_CPV = re.compile(r"^(\d{8})(-\d)?$")
_WORD = re.compile(r"\w{3,}", re.UNICODE)


@dataclass(frozen=True)
class LotKey:
    """A lot as marks see it: its tender and lot ids, codes and text."""

    tender_id: str
    lot_id: str
    codes: tuple[str, ...] = ()
    text: str = ""


THIS_LOT = N_("this lot")


def code_groups(codes: Iterable[str]) -> set[str]:
    """The capability groups of codes: "452" for CPV 45221111-3; another scheme's code as given."""
    groups = set()
    for code in codes:
        m = _CPV.match(code.strip())
        groups.add(m.group(1)[:3] if m else code.strip().upper())
    return groups


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def on_lot(mark: Mark, lot: LotKey) -> bool:
    """Whether the mark was made on this very lot (its tender and lot ids)."""
    return (mark.tender_id, mark.lot_id) == (lot.tender_id, lot.lot_id)


def similar_lots(lot: LotKey, marked: Mark) -> str | None:
    """Why the marked lot is similar to ``lot`` (e.g. "shares CPV group 452"), or None."""
    if on_lot(marked, lot):
        return tr(THIS_LOT)
    if lot.codes and marked.codes:
        shared = sorted(code_groups(lot.codes) & code_groups(marked.codes))
        return tr("shares CPV group %(groups)s", groups=", ".join(shared)) if shared else None
    if not lot.codes and not marked.codes:
        a, b = _words(lot.text), _words(marked.text)
        overlap = len(a & b) / len(a | b) if a and b else 0.0
        return tr("its words overlap %(share)s%%", share=round(overlap * 100)) if overlap >= SIMILAR_WORDS else None
    return None


def latest_per_lot(marks: Iterable[Mark]) -> list[Mark]:
    """The newest mark of each (tender, lot, member): a later "shortlisted" overrides a "not relevant"."""
    newest: dict[tuple[str, str, str], Mark] = {}
    for m in sorted(marks, key=lambda m: m.id):
        newest[(m.tender_id, m.lot_id, m.member_id)] = m
    return list(newest.values())


def rejection(lot: LotKey, marks: Sequence[Mark]) -> tuple[Mark, str] | None:
    """The newest standing "not relevant" mark of a member (its marks) for a lot similar to ``lot``, and why."""
    for m in sorted(latest_per_lot(marks), key=lambda m: -m.id):
        if m.status == "not-relevant" and (why := similar_lots(lot, m)) is not None:
            return m, why
    return None


def demotion_words(mark: Mark, why: str, penalty: float, lot: LotKey) -> str:
    """e.g. 'marked not relevant (too far) for lot 2 of T-1 (shares CPV group 452): −0.12; fit unchanged'."""
    where = (
        why
        if on_lot(mark, lot)
        else tr("lot %(lot)s of %(tender)s (%(why)s)", lot=mark.lot_id, tender=mark.tender_id, why=why)
    )
    return tr(
        "marked %(mark)s for %(where)s on %(date)s: −%(penalty).3f; fit unchanged",
        mark=mark.label,
        where=where,
        date=mark.created_at[:10],
        penalty=penalty,
    )


def apply_marks(
    suggestions: Sequence[Suggestion],
    lot: LotKey,
    marks: Mapping[str, Sequence[Mark]],
    top_k: int,
    *,
    hide_rejected: bool = False,
    shown_here: Callable[[Mark], bool] | None = None,
) -> list[Suggestion]:
    """The ranking with each member's marks beside it, demoted (or, with ``hide_rejected``, left out)
    where it was marked not relevant for a similar lot, re-ranked and cut to ``top_k``.

    Args:
        suggestions: the lot's ranking, best first, longer than ``top_k`` so that demoted members
            can be replaced.
        lot: the lot ranked.
        marks: every mark, by member id.
        shown_here: which of a member's marks are shown beside it (default: those on this lot).
    """
    if not marks:
        return [replace(s, rank=i + 1) for i, s in enumerate(suggestions[:top_k])]
    here = shown_here or (lambda m: on_lot(m, lot))
    scores = [s.score for s in suggestions]
    spread = (max(scores) - min(scores)) if len(scores) > 1 else 0.0
    penalty = round(DEMOTION_SHARE * spread if spread > 0 else 0.1 * max(1.0, abs(scores[0]) if scores else 1.0), 4)
    out = []
    for s in suggestions:
        mine = marks.get(s.participant_id, ())
        s = replace(s, marks=tuple(m for m in mine if here(m)))
        found = rejection(lot, mine)
        if found is not None:
            if hide_rejected:
                continue
            part = ScorePart(FEEDBACK_PART, 1.0, -penalty, -penalty, demotion_words(*found, penalty, lot))
            s = replace(s, score=round(s.score - penalty, 4), parts=(*s.parts, part))
        out.append(s)
    out.sort(key=lambda s: -s.score)  # stable: equal scores keep the ranker's order
    return [replace(s, rank=i + 1) for i, s in enumerate(out[:top_k])]
