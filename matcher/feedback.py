"""The library verbs of feedback: mark a (lot, member) suggestion, list the marks, remove one, undo the last.

The marks live in ``<workspace>/feedback.sqlite3`` (:mod:`matcher.store.feedback`); `suggest`
shows them and demotes a member marked not relevant for a similar lot (:mod:`matcher.rank.feedback`);
`train` learns from them (:func:`matcher.rank.feedback_labels.feedback_examples`).

Example:
    >>> mark(Workspace(Path("my-cluster")), "SPB-2026-BR-0147", "1", "RU-INN-7842227069",
    ...      "not-relevant", "too-far", codes=("45221111-3",), text="Bridge piers")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable

from matcher.errors import InputError, UnknownParticipant, close_matches, did_you_mean
from matcher.results import FeedbackReport
from matcher.schema import Lot, Tender
from matcher.store.feedback import FeedbackStore, check_fields, normalise_reason, normalise_status
from matcher.store.members import Members, MemberTable
from matcher.store.workspace import Workspace


def lot_of(tender: Tender, lot_id: str) -> Lot:
    """The lot of a tender with this id; InputError listing the lot ids when there is none."""
    for lot in tender.lots:
        if lot.id == lot_id:
            return lot
    raise InputError(f"tender {tender.id} has no lot {lot_id!r}; its lots are: {', '.join(x.id for x in tender.lots)}")


def lot_text(lot: Lot) -> str:
    """The text a mark keeps of its lot (for "similar lots" without codes)."""
    return " ".join(x for x in (lot.title, lot.description) if x)


def check_member(workspace: Workspace, member_id: str, members: Members | None = None) -> None:
    """UnknownParticipant ("did you mean ...") unless the member is in the served index."""
    if members is None:
        members = MemberTable(workspace.current_version())
    if members.row_of(member_id) is None:
        hint = did_you_mean(close_matches(member_id, members.column("id")), "`matcher similar --text` finds members")
        raise UnknownParticipant(f"no member '{member_id}' in the index of {workspace.root}{hint}")


def mark(
    workspace: Workspace,
    tender_id: str,
    lot_id: str,
    member_id: str,
    status: str,
    reason: str | None = None,
    *,
    note: str = "",
    codes: Iterable[str] = (),
    text: str = "",
    members: Members | None = None,
) -> FeedbackReport:
    """Mark a member's suggestion for a lot (status: shortlisted, contacted, not-relevant, won, lost;
    a not-relevant mark says why: wrong-kind-of-work, too-small, too-far, competitor, other)."""
    store = FeedbackStore(workspace.root)
    codes = tuple(codes)
    # a bad status or field fails before the index is opened
    normalise_reason(normalise_status(status), reason)
    check_fields(tender_id, lot_id, member_id, note, text, codes)
    check_member(workspace, member_id, members)
    added = store.add(tender_id, lot_id, member_id, status, reason, note, codes, text)
    return FeedbackReport("marked", (added,), store.path)


def mark_lot(
    workspace: Workspace, tender: Tender, lot_id: str, member_id: str, status: str, reason: str | None = None,
    *, note: str = "", members: Members | None = None,
) -> FeedbackReport:  # fmt: skip
    """:func:`mark`, with the lot's codes and text taken from the tender."""
    lot = lot_of(tender, lot_id)
    return mark(
        workspace, tender.id, lot.id, member_id, status, reason, note=note, codes=lot.codes, text=lot_text(lot),
        members=members,
    )  # fmt: skip


def list_marks(workspace: Workspace, member_id: str | None = None, tender_id: str | None = None) -> FeedbackReport:
    """Every mark, oldest first (of one member, one tender)."""
    store = FeedbackStore(workspace.root)
    return FeedbackReport("listed", tuple(store.marks(member_id, tender_id)), store.path)


def remove(workspace: Workspace, mark_id: int) -> FeedbackReport:
    """Delete the mark with this id (the # that `feedback list` shows)."""
    store = FeedbackStore(workspace.root)
    return FeedbackReport("removed", (store.remove(mark_id),), store.path)


def undo(workspace: Workspace) -> FeedbackReport:
    """Delete the newest mark."""
    store = FeedbackStore(workspace.root)
    return FeedbackReport("removed", (store.undo(),), store.path)
