"""The library calls behind the API and the page: one opened Matcher, one query at a time.

Queries are CPU-bound and the Matcher loads parts of itself lazily (the model, the BM25
index); a lock keeps those loads and the searches from running side by side in the server's
worker threads.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import InputError, TenderError, UnknownParticipant, close_matches, did_you_mean
from matcher.inputs.tenders import TENDER_SUFFIXES, parse_tender_text
from matcher.paths import data_dir
from matcher.results import FeedbackReport, OpportunitiesReport, SimilarResult, Teams, TenderSuggestions
from matcher.schema import Lot, Participant, Tender
from matcher.search import Matcher

if TYPE_CHECKING:
    from matcher.inputs.feed import FeedRead
    from matcher.rank.consortium import TeamConstraints
    from matcher.store.reported import ReportedLot

BODY_SOURCE = "<request body>"


def sample_tenders() -> dict[str, Path]:
    """The bundled sample tenders by file name: the only files a request may name."""
    folder = data_dir() / "sample" / "tenders"
    return {p.name: p for p in sorted(folder.iterdir()) if p.suffix.lower() in TENDER_SUFFIXES}


def tender_from_bytes(content: bytes, source: str = BODY_SOURCE, suffix: str | None = None) -> Tender:
    """A tender (project format or OCDS) from the bytes of a body or an upload, read in memory.

    ``suffix`` (".json", ".yaml") picks the syntax; without it, text starting with "{" is JSON.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TenderError(f"{source}: not UTF-8 text (byte {exc.start}); save the tender as UTF-8") from None
    if suffix is None:
        suffix = ".json" if text.lstrip().startswith("{") else ".yaml"
    return parse_tender_text(text, source, suffix)


class Service:
    """The Matcher a server opened once at startup, shared by every request."""

    def __init__(self, matcher: Matcher):
        self.matcher = matcher
        self.lock = threading.Lock()

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Every member's name by id, read when a member is first looked up by name (not at start:
        a million-firm index opens without it)."""
        members = self.matcher.members
        return dict(zip(members.column("id"), members.column("name")))

    def warm_up(self) -> None:
        """Loads the model, the BM25 index and the taxonomy now (one small query of each kind), so
        that the first request is not the slow one."""
        with self.lock:
            self.matcher.similar(text="road bridge repair", top_k=1)
            self.matcher.suggest(Tender("warm-up", "Road bridge repair", lots=(Lot("1", "Road bridge repair"),)), 1)

    @property
    def index_version(self) -> str:
        return self.matcher.version.name

    def participant(self, participant_id: str) -> Participant:
        return self.matcher.participant(participant_id)

    def open_lots(self, participant_id: str, limit: int = 50) -> list[ReportedLot]:
        """The lots `matcher opportunities` reported to a member whose deadline has not passed, best fit first."""
        from matcher.store.reported import Reported

        return Reported(self.matcher.workspace.root).open_lots(participant_id, limit=limit)

    def opportunities(self, feed: FeedRead, **options: Any) -> OpportunitiesReport:
        """`opportunities` over a feed sent in a request: a query, so the workspace's record of what
        the nightly runs reported is neither read nor written (everything that fits is shown)."""
        from matcher.opportunities import opportunities

        with self.lock:
            return opportunities(
                self.matcher.workspace, feed, matcher=self.matcher, report_all=True, remember=False, **options
            )

    def similar(self, participant_id: str | None, text: str | None, top_k: int) -> SimilarResult:
        with self.lock:
            return self.matcher.similar(participant_id, text, top_k)

    def suggest(self, tender: Tender, top_k: int, hide_rejected: bool = False) -> TenderSuggestions:
        with self.lock:
            return self.matcher.suggest(tender, top_k, hide_rejected=hide_rejected)

    def consortium(
        self, tender: Tender, constraints: TeamConstraints, teams: int, candidates: int, top_k: int,
        hide_rejected: bool = False,
    ) -> Teams:  # fmt: skip
        """The teams, shown with the per-lot rankings cut to top_k (built from `candidates` per lot)."""
        with self.lock:
            found = self.matcher.consortium(
                tender, constraints, teams=teams, candidates=max(candidates, top_k), hide_rejected=hide_rejected
            )
        return found.top(top_k)

    # --- feedback: the marks live in the workspace, not the version, so no lock is needed (SQLite's own)

    def mark(
        self, tender_id: str, lot_id: str, member_id: str, status: str, reason: str | None = None,
        note: str = "", codes: Sequence[str] = (), text: str = "",
    ) -> FeedbackReport:  # fmt: skip
        from matcher.feedback import mark

        return mark(
            self.matcher.workspace, tender_id, lot_id, member_id, status, reason, note=note, codes=codes, text=text,
            members=self.matcher.members,
        )  # fmt: skip

    def mark_lot(self, tender: Tender, lot_id: str, member_id: str, status: str, reason: str | None) -> FeedbackReport:
        from matcher.feedback import lot_of, lot_text

        lot = lot_of(tender, lot_id)
        return self.mark(tender.id, lot.id, member_id, status, reason, codes=lot.codes, text=lot_text(lot))

    def marks(self, member_id: str | None = None, tender_id: str | None = None) -> FeedbackReport:
        from matcher.feedback import list_marks

        return list_marks(self.matcher.workspace, member_id, tender_id)

    def remove_mark(self, mark_id: int) -> FeedbackReport:
        from matcher.feedback import remove

        return remove(self.matcher.workspace, mark_id)

    def find_member(self, query: str) -> Participant:
        """A member by id, by name (any case), or by a close name; says which names are close otherwise."""
        query = " ".join(query.split())
        if not query:
            raise InputError("type a member's name or id")
        if query in self.names:
            return self.participant(query)
        by_name = {name.casefold(): pid for pid, name in self.names.items()}
        if query.casefold() in by_name:
            return self.participant(by_name[query.casefold()])
        close = close_matches(query.casefold(), by_name)
        if len(close) == 1:
            return self.participant(by_name[close[0]])
        contains = [name for name in by_name if query.casefold() in name]
        if len(contains) == 1:
            return self.participant(by_name[contains[0]])
        options = [self.names[by_name[n]] for n in (close or contains)[:3]]
        hint = did_you_mean(options, "search by text to describe the firm instead")
        raise UnknownParticipant(f"no member named '{query}'{hint}")
