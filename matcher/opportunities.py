"""`opportunities`: the lots of new tenders that fit each member, and whom it could team with.

The feed's lots are ranked as `suggest` ranks them (:meth:`~matcher.search.Matcher.rank_lots`: the
lot texts embedded in batches, every lot's ``top_k`` best members with their calibrated fit), then
inverted: each member gets the lots where its fit reaches ``min_fit``. A member is found for a lot
where it is among that lot's ``top_k``; with ``member`` the member is scored exactly on every lot
(its own score and fit, wherever it would rank), and the lots' rankings give only its partners.

Partners of a member on a lot are other members strong on another lot of the same tender (they
bring what the member does not), then those strong on the same lot, best fit first within each
(one entry per member, at its best lot).

What was reported is remembered in the workspace (:mod:`matcher.store.reported`), so a nightly
run over an overlapping feed reports only new (member, lot) pairs; ``report_all`` reports again.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from matcher.errors import InputError
from matcher.i18n import LANGUAGES, explicit_language, language, use
from matcher.inputs.feed import FeedItem, FeedRead, read_feed
from matcher.rank.calibration import POSSIBLE
from matcher.results import (
    LotSuggestions,
    MemberOpportunities,
    OpportunitiesReport,
    Opportunity,
    Suggestion,
    Teammate,
)
from matcher.schema import Participant, Tender
from matcher.store.reported import Reported, ReportedLot, now

if TYPE_CHECKING:
    from matcher.search import Matcher, RankerChoice, WorkspaceLike

__all__ = ["opportunities"]


def opportunities(
    workspace: WorkspaceLike,
    feed: Sequence[str | os.PathLike[str]] | FeedRead,
    *,
    member: str | None = None,
    since: date | None = None,
    min_fit: float = POSSIBLE,
    top_k: int = 20,
    partners: int = 3,
    report_all: bool = False,
    remember: bool = True,
    model: str | None = None,
    ranker: RankerChoice = "auto",
    matcher: Matcher | None = None,
) -> OpportunitiesReport:
    """For each member, the new lots of a feed that fit it (fit ≥ ``min_fit``), best first.

    Args:
        workspace: the workspace (or its folder) whose current index is asked.
        feed: OCDS files (releases, records, packages, JSON Lines, gzip), tender YAML/JSON, or
            folders of them, read before the index is opened (a missing path fails first); or a
            feed already read (:func:`~matcher.inputs.feed.read_feed_document`: a request body).
        member: only this member's lots, scored exactly on every lot.
        since: only tenders published on or after this date (without a published date: with a
            deadline on or after it; with neither date, kept).
        min_fit: the lowest calibrated fit reported (default: the "possible" band's floor).
        top_k: members ranked per lot (a member is found for a lot among these).
        partners: at most this many partners per lot.
        report_all: report what earlier runs reported too.
        remember: record what this run reports (a dry run: False).
        matcher: an opened Matcher to use instead of opening the workspace (the server's).

    Raises:
        InputError: a bad argument, or a ranker without calibration (no fit to filter on).

    Example:
        >>> report = opportunities("my-cluster", ["exports/2026-12-01/"])  # doctest: +SKIP
        >>> [(m.name, [o.lot_title for o in m.opportunities]) for m in report.members][:1]
    """
    from matcher.search import Matcher

    if not 0.0 <= min_fit <= 1.0:
        raise InputError(f"--min-fit must be between 0 and 1, got {min_fit}")
    if partners < 0:
        raise InputError(f"--partners must be 0 or more, got {partners}")
    read = feed if isinstance(feed, FeedRead) else read_feed(feed)
    unique = _unique(read.items)
    items = [i for i in unique if _after(i, since)]
    m = matcher if matcher is not None else Matcher.open(workspace, model, ranker=ranker)
    if m.calibration is None:
        raise InputError(
            f"the ranker serving {m.workspace.root} ({m.ranker.name}) has no calibration "
            f"({m.workspace.calibration_path}), so there is no fit to filter on; use --ranker hand"
        )
    if member is not None:
        m.participant(member)  # an unknown id fails now, naming the close ones, before any lot is ranked
    tenders = [i.tender for i in items]
    found, names = _found(m, items, member, min_fit, top_k, partners)
    reported = Reported(m.workspace.root)
    keys = {(pid, o.tender_id, o.lot_id) for pid, opps in found.items() for o in opps}
    seen = set() if report_all else reported.seen(keys)
    members = []
    by_id = {t.id: t for t in tenders}
    for pid, opps in found.items():
        new = tuple(sorted((o for o in opps if (pid, o.tender_id, o.lot_id) not in seen), key=_order))
        if new:
            firm = m.participant(pid)  # read once: its language, and its reasons in that language
            members.append(MemberOpportunities(pid, names[pid], new, firm.language, _in_language(m, firm, new, by_id)))
    members.sort(key=lambda mo: (-mo.opportunities[0].fit, mo.participant_id))
    if remember:
        at = now()
        reported.record(
            ReportedLot(mo.participant_id, o.tender_id, o.lot_id, o.tender_title, o.lot_title, o.fit,
                        o.suggestion.band or "", o.published, o.deadline, at)
            for mo in members
            for o in mo.opportunities
        )  # fmt: skip
    return OpportunitiesReport(
        tuple(members), len(items), sum(len(t.lots) for t in tenders), len(unique) - len(items),
        len(keys & seen) if not report_all else 0, min_fit, top_k, since, member,
        tuple(str(r) for r in read.rejects), m.model_name, m.version.name,
    )  # fmt: skip


def _found(
    m: Matcher, items: Sequence[FeedItem], member: str | None, min_fit: float, top_k: int, partners: int
) -> tuple[dict[str, list[Opportunity]], dict[str, str]]:
    """Each member's lots with fit >= ``min_fit`` (with ``member``: its own, each with its place among
    the lot's top k), and the members' names."""
    tenders = [i.tender for i in items]
    rankings = m.rank_lots(tenders, top_k)
    mine = m.rank_lots(tenders, 1, member=member) if member is not None else rankings
    found: dict[str, list[Opportunity]] = defaultdict(list)
    names: dict[str, str] = {}
    for item, lots, own in zip(items, rankings, mine):
        strong = _strong(lots)
        for lot, own_lot in zip(lots, own):
            for s in own_lot.suggestions:
                if s.fit is None or s.fit < min_fit:
                    continue
                if member is not None:  # its place among the lot's top k; 0: below them
                    place = next((x.rank for x in lot.suggestions if x.participant_id == s.participant_id), 0)
                    s = replace(s, rank=place)
                names[s.participant_id] = s.name
                found[s.participant_id].append(_opportunity(item, lot, s, strong, partners))
    return found, names


def _unique(items: Sequence[FeedItem]) -> list[FeedItem]:
    """One item per tender id, the first met: a tender given twice (a YAML file and its OCDS
    release, or two days' exports) is one tender, reported once."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.tender.id not in seen:
            seen.add(item.tender.id)
            out.append(item)
    return out


def _after(item: FeedItem, since: date | None) -> bool:
    if since is None:
        return True
    day = item.published or item.tender.deadline
    return day is None or day >= since


def _order(o: Opportunity) -> tuple[float, str, str]:
    return (-o.fit, o.tender_id, o.lot_id)


def _strong(lots: Sequence[LotSuggestions]) -> list[Teammate]:
    """Every member strong on some lot of a tender, once, at its best lot; best fit first."""
    best: dict[str, Teammate] = {}
    for lot in lots:
        for s in lot.suggestions:
            if s.band == "strong" and s.fit is not None:
                if s.participant_id not in best or s.fit > best[s.participant_id].fit:
                    best[s.participant_id] = Teammate(s.participant_id, s.name, lot.lot_id, s.fit, s.band)
    return sorted(best.values(), key=lambda p: (-p.fit, p.participant_id))


def _in_language(
    m: Matcher, firm: Participant, opps: tuple[Opportunity, ...], tenders: dict[str, Tender]
) -> tuple[Opportunity, ...]:
    """A member's lots with their reasons in its own language, for its digest: only when nobody
    chose a language (``--lang``) and the member's is another that matcher speaks; else ()."""
    lang = firm.language
    if explicit_language() is not None or lang not in LANGUAGES or lang == language():
        return ()
    with use(lang):
        return tuple(replace(o, suggestion=m.explain(tenders[o.tender_id], o.lot_id, o.suggestion, firm)) for o in opps)


def _opportunity(item: FeedItem, lot: LotSuggestions, s: Suggestion, strong: list[Teammate], k: int) -> Opportunity:
    tender = item.tender
    lot_of = next(x for x in tender.lots if x.id == lot.lot_id)
    # another lot's holder first (a partner brings what the member does not), then the same lot's
    others = sorted((p for p in strong if p.participant_id != s.participant_id), key=lambda p: p.lot_id == lot.lot_id)
    mates = tuple(others[:k])
    return Opportunity(
        tender.id, tender.title, lot.lot_id, lot_of.title or lot.title, tender.buyer, item.published,
        tender.deadline, s, mates, item.source,
    )  # fmt: skip
