"""`opportunities` in every format: a rich table per member, JSON, CSV (one row per member and lot),
and the per-member HTML digest a cluster manager mails on (matcher sends nothing itself).

The digest is one self-contained page: styles on the elements (mail clients drop style sheets),
no script, no external resource, every value escaped; :func:`digest_name` gives its file name
from the member id, safe inside any folder.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Any

from matcher.errors import InputError
from matcher.i18n import LANGUAGES, explicit_language, ntr, tr, use
from matcher.render.parts import marks_text, short_reasons, versions, word
from matcher.render.plain import suggestion_dict
from matcher.render.sheets import _csv
from matcher.results import MemberOpportunities, OpportunitiesReport, Opportunity
from matcher.store.files import atomic_write_text


def summary(report: OpportunitiesReport) -> str:
    """e.g. '12 new lots for 5 members (28 lots in 7 tenders; 3 reported before, fit ≥ 0.20)'."""
    skipped = (
        ", "
        + ntr("%(n)s tender before %(date)s", "%(n)s tenders before %(date)s", report.before_since, date=report.since)
        if report.since
        else ""
    )
    who = (
        tr("member %(id)s", id=report.member)
        if report.member
        else ntr("%(n)s member", "%(n)s members", len(report.members))
    )
    lots = ntr("%(n)s lot", "%(n)s lots", report.lots)
    tenders = ntr("%(n)s tender", "%(n)s tenders", report.tenders)
    return ntr(
        "%(n)s new lot for %(who)s (%(lots)s in %(tenders)s%(skipped)s; %(before)s reported before; fit ≥ %(fit).2f)",
        "%(n)s new lots for %(who)s (%(lots)s in %(tenders)s%(skipped)s; %(before)s reported before; fit ≥ %(fit).2f)",
        report.count,
        who=who,
        lots=lots,
        tenders=tenders,
        skipped=skipped,
        before=report.already_reported,
        fit=report.min_fit,
    )


def _partners(o: Opportunity) -> str:
    return ", ".join(tr("%(name)s (lot %(lot)s, %(fit).2f)", name=p.name, lot=p.lot_id, fit=p.fit) for p in o.partners)


def _day(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def print_opportunities(report: OpportunitiesReport, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(summary(report))}[/bold]")
    for mo in report.members:
        table = Table(title=f"{mo.name} ({mo.participant_id})", title_justify="left", show_lines=True)
        table.add_column(tr("Fit"), justify="right")
        table.add_column(tr("Tender / lot"), max_width=48, overflow="fold")
        table.add_column(tr("Deadline"))
        table.add_column(tr("Why"), max_width=40, overflow="fold")
        table.add_column(tr("Could team with"), max_width=40, overflow="fold")
        for o in mo.opportunities:
            marks = f"\n[bold magenta]◆ {escape(marks_text(o.suggestion))}[/bold magenta]" if o.suggestion.marks else ""
            table.add_row(
                f"{o.fit:.2f} {word(o.suggestion.band) if o.suggestion.band else ''}",
                escape(f"{o.tender_id} / {o.lot_id}: {o.lot_title}") + marks,
                _day(o.deadline),
                escape(short_reasons(o.suggestion)),
                escape(_partners(o)),
            )
        console.print(table)
    line = versions(report.model, report.index_version)
    top = tr("top %(k)s per lot", k=report.top_k)
    console.print(f"[dim]{escape(line)} · {escape(top)}[/dim]")


def opportunity_dict(o: Opportunity) -> dict[str, Any]:
    return {
        "tender_id": o.tender_id, "tender_title": o.tender_title, "lot_id": o.lot_id, "lot_title": o.lot_title,
        "buyer": o.buyer, "published": _day(o.published) or None, "deadline": _day(o.deadline) or None,
        "fit": o.suggestion.fit, "band": o.suggestion.band, "suggestion": suggestion_dict(o.suggestion),
        "partners": [
            {"participant_id": p.participant_id, "name": p.name, "lot_id": p.lot_id, "fit": p.fit, "band": p.band}
            for p in o.partners
        ],
        "source": o.source,
    }  # fmt: skip


def member_dict(mo: MemberOpportunities) -> dict[str, Any]:
    return {
        "participant_id": mo.participant_id,
        "name": mo.name,
        "opportunities": [opportunity_dict(o) for o in mo.opportunities],
    }


def opportunities_dict(report: OpportunitiesReport) -> dict[str, Any]:
    return {
        "summary": summary(report), "count": report.count, "tenders": report.tenders, "lots": report.lots,
        "before_since": report.before_since, "already_reported": report.already_reported,
        "min_fit": report.min_fit, "top_k": report.top_k, "since": _day(report.since) or None,
        "member": report.member, "model": report.model, "index_version": report.index_version,
        "rejects": list(report.rejects), "members": [member_dict(mo) for mo in report.members],
    }  # fmt: skip


COLUMNS = [
    "participant_id", "name", "tender_id", "tender_title", "lot_id", "lot_title", "buyer", "published",
    "deadline", "fit", "band", "score", "reasons", "partners", "marks",
]  # fmt: skip


def opportunities_csv(report: OpportunitiesReport) -> str:
    rows = (
        {
            "participant_id": mo.participant_id, "name": mo.name, "tender_id": o.tender_id,
            "tender_title": o.tender_title, "lot_id": o.lot_id, "lot_title": o.lot_title, "buyer": o.buyer,
            "published": _day(o.published), "deadline": _day(o.deadline), "fit": o.suggestion.fit,
            "band": o.suggestion.band, "score": o.suggestion.score, "reasons": short_reasons(o.suggestion),
            "partners": _partners(o), "marks": marks_text(o.suggestion),
        }
        for mo in report.members
        for o in mo.opportunities
    )  # fmt: skip
    return _csv(rows, COLUMNS)


# --- the digest -----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Styles on the elements themselves: mail clients drop <style> blocks and external sheets alike.
_BODY = "font-family:Arial,Helvetica,sans-serif;color:#1f2933;max-width:760px;margin:0 auto;padding:16px"
_TABLE = "border-collapse:collapse;width:100%"
_CELL = "border-bottom:1px solid #d9e2ec;padding:6px 8px;text-align:left;vertical-align:top;font-size:14px"
_HEAD = _CELL + ";background:#f0f4f8"
_SMALL = "color:#627d98;font-size:12px"
_BAND = {"strong": ";color:#0b6e4f;font-weight:bold", "possible": ";color:#9a6700"}


def digest_name(participant_id: str) -> str:
    """A file name for a member's digest: the id with anything but letters, digits, ``.``, ``_``
    and ``-`` replaced, no leading dot, and a short hash of the id when it had to change (so that
    two ids never share a file)."""
    safe = _UNSAFE.sub("_", participant_id).strip("._")[:80] or "member"
    if safe != participant_id:
        safe += "-" + hashlib.sha256(participant_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe}.html"


def digest_language(mo: MemberOpportunities) -> str:
    """The language of a member's digest: the one chosen (``--lang``, ``MATCHER_LANG``), else the
    member's own when matcher speaks it, else English."""
    chosen = explicit_language()
    if chosen is not None:
        return chosen
    return mo.language if mo.language in LANGUAGES else "en"


def digest_html(mo: MemberOpportunities, report: OpportunitiesReport) -> str:
    """One member's digest, in its language (:func:`digest_language`): its new lots, best fit
    first, with why and with whom. The reasons speak the language the lots were ranked in."""
    lang = digest_language(mo)
    with use(lang):
        return _digest_html(mo, report, lang)


def _digest_html(mo: MemberOpportunities, report: OpportunitiesReport, lang: str) -> str:
    e = html.escape
    rows = []
    own = lang == mo.language and mo.in_own_language  # its lots explained in its language, when the run spoke another
    for o in own or mo.opportunities:
        band = o.suggestion.band or ""
        buyer = " · " + e(o.buyer) if o.buyer else ""
        lot = e(tr("%(tender)s / lot %(lot)s", tender=o.tender_id, lot=o.lot_id))
        marks = f'<br><b style="color:#8e2c8e">◆ {e(marks_text(o.suggestion))}</b>' if o.suggestion.marks else ""
        rows.append(
            "<tr>"
            f'<td style="{_CELL}{_BAND.get(band, "")}">{o.fit:.2f}<br>{e(word(band)) if band else ""}</td>'
            f'<td style="{_CELL}"><b translate="no">{e(o.lot_title)}</b><br><span translate="no">'
            f'{e(o.tender_title)}</span><br><span style="{_SMALL}">{lot}{buyer}</span>{marks}</td>'
            f'<td style="{_CELL}">{e(_day(o.deadline))}</td>'
            f'<td style="{_CELL}">{e(short_reasons(o.suggestion))}</td>'
            f'<td style="{_CELL}">{e(_partners(o))}</td>'
            "</tr>"
        )
    count = len(mo.opportunities)
    names = (tr("Fit"), tr("Lot"), tr("Deadline"), tr("Why"), tr("Could team with"))
    head = "".join(f'<th style="{_HEAD}">{e(name)}</th>' for name in names)
    facts = tr("fit ≥ %(fit).2f · index %(version)s", fit=report.min_fit, version=report.index_version)
    title = tr("New tenders for %(name)s", name=mo.name)
    heading = ntr("%(n)s new lot for %(name)s", "%(n)s new lots for %(name)s", count, name=mo.name)
    note = tr(
        "Fit: the calibrated chance that the member can do the lot as main contractor "
        "(strong ≥ 0.50, possible ≥ 0.20). Sent on by your cluster office."
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<title>{e(title)}</title></head><body style="{_BODY}">'
        f'<h1 style="font-size:20px">{e(heading)}</h1>'
        f'<p style="{_SMALL}">{e(mo.participant_id)} · {e(facts)}</p>'
        f'<table style="{_TABLE}"><tr>{head}</tr>'
        + "".join(rows)
        + f'</table><p style="{_SMALL}">{e(note)}</p></body></html>\n'
    )


def write_digests(report: OpportunitiesReport, folder: Path) -> list[Path]:
    """One digest per member with new lots, written atomically into ``folder`` (created), and only there.

    Raises:
        InputError: ``folder`` is an existing file.
    """
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--digest {folder}: is a file; give a folder for the digests")
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    written = []
    for mo in report.members:
        target = root / digest_name(mo.participant_id)
        if target.parent != root:  # digest_name allows no separator; this keeps it so
            raise InputError(f"member id {mo.participant_id!r} gives a file outside {folder}")
        atomic_write_text(target, digest_html(mo, report))
        written.append(target)
    return written
