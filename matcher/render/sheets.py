"""Results as spreadsheets: CSV text (`--format csv`, the page's downloads) and XLSX workbooks.

An XLSX sheet is built from the very CSV text the CLI writes, so the columns are the same in
both; numbers become numbers again and no cell is ever read as a formula (in CSV, a cell that
a spreadsheet would run starts with an apostrophe: :func:`matcher.store.files.safe_csv_cell`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from matcher.render.parts import PART_ORDER, lot_warning, marks_text, partners_text
from matcher.results import FeedbackReport, SimilarResult, Suggestion, Teams, TenderSuggestions
from matcher.store.files import safe_csv_cell


def _csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_csv_cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _flat(s: Suggestion) -> dict[str, Any]:
    row: dict[str, Any] = {
        "rank": s.rank, "participant_id": s.participant_id, "name": s.name, "kind": s.kind or "",
        "score": s.score, "lots": ";".join(s.lots),
        "fit": "" if s.fit is None else s.fit, "band": s.band or "", "marks": marks_text(s),
    }  # fmt: skip
    for p in s.parts:
        row[p.name] = p.value
        row[f"{p.name}_contribution"] = p.contribution
        row[f"{p.name}_detail"] = p.detail
    return row


def _part_columns(suggestions: Iterable[Suggestion] = ()) -> list[str]:
    names = list(PART_ORDER)
    for s in suggestions:  # a learned ranker's features
        names += [p.name for p in s.parts if p.name not in names]
    return [c for name in names for c in (name, f"{name}_contribution", f"{name}_detail")]


def tender_csv(result: TenderSuggestions) -> str:
    """One row per (lot, member), the whole tender's ranking last (lot_id "*"); the fit, its band
    and the lot's warning (its gap note, on each of its rows; a lot without any member has one
    row that says so) come after the parts, so that the older columns keep their places."""
    rows = []
    for lr in (*result.lots, result.overall):
        warning = lot_warning(lr) or ""
        if not lr.suggestions and warning:  # a lot nobody matches still gets its row, saying so
            rows.append({"tender_id": result.tender.id, "lot_id": lr.lot_id, "lot_title": lr.title,
                         "lot_warning": warning})  # fmt: skip
        for s in lr.suggestions:
            rows.append({"tender_id": result.tender.id, "lot_id": lr.lot_id, "lot_title": lr.title, **_flat(s),
                         "lot_warning": warning})  # fmt: skip
    head = ["tender_id", "lot_id", "lot_title", "rank", "participant_id", "name", "kind", "score", "lots"]
    every = [s for lr in (*result.lots, result.overall) for s in lr.suggestions]
    return _csv(rows, head + _part_columns(every) + ["fit", "band", "lot_warning", "marks"])


def feedback_csv(report: FeedbackReport) -> str:
    """One row per mark."""
    columns = ["id", "tender_id", "lot_id", "member_id", "status", "reason", "note", "codes", "text", "created_at"]
    rows = [
        {"id": m.id, "tender_id": m.tender_id, "lot_id": m.lot_id, "member_id": m.member_id, "status": m.status,
         "reason": m.reason or "", "note": m.note, "codes": " ".join(m.codes), "text": m.text,
         "created_at": m.created_at}
        for m in report.marks
    ]  # fmt: skip
    return _csv(rows, columns)


def similar_csv(result: SimilarResult) -> str:
    head = ["rank", "participant_id", "name", "kind", "score"]
    return _csv((_flat(s) for s in result.suggestions), head + _part_columns(result.suggestions))


def teams_csv(result: Teams) -> str:
    """One row per (team, lot): who holds it and how well, its partners and what each brings, or why nobody does."""
    rows = []
    tender, names = result.tender, result.names
    for t in result.teams:
        taken = {a.lot_id: a for a in t.assignments}
        for lot in tender.lots:
            a = taken.get(lot.id)
            rows.append({
                "tender_id": tender.id, "team": t.rank, "lead": t.lead_id or "", "lot_id": lot.id,
                "lot_title": lot.title, "participant_id": a.participant_id if a else "",
                "name": names.get(a.participant_id, "") if a else "", "fit": a.score if a else "",
                "is_lead": bool(a and a.participant_id == t.lead_id),
                "holder_share": a.holder_share if a else "", "partners": partners_text(a, names) if a else "",
                "team_total_fit": t.total_score,
                "team_sme_share": round(t.sme_share, 4), "method": t.method, "optimal": t.optimal,
                "lacks": "; ".join(x for x in t.lacks if x.startswith(f"lot {lot.id}:")) if not a else "",
            })  # fmt: skip
    columns = ["tender_id", "team", "lead", "lot_id", "lot_title", "participant_id", "name", "fit", "is_lead",
               "holder_share", "partners", "team_total_fit", "team_sme_share", "method", "optimal",
               "lacks"]  # fmt: skip
    return _csv(rows, columns)


# --- XLSX ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_NEUTRALISED = re.compile(r"'[=+\-@\t\r]")  # store.files.safe_csv_cell's apostrophe: not needed in XLSX


def _xlsx_cell(text: str) -> str | float:
    if _NUMBER.fullmatch(text):
        return float(text)
    if _NEUTRALISED.match(text):
        return text[1:]  # written as a string below, so it stays text in the spreadsheet
    return text


def xlsx_bytes(sheets: dict[str, str]) -> bytes:
    """An XLSX workbook with one sheet per CSV text, header row bold and frozen.

    Example:
        >>> data = xlsx_bytes({"Rankings": "rank,name\\n1,=cmd()\\n"})
        >>> data[:2]
        b'PK'
    """
    import xlsxwriter

    buffer = io.BytesIO()
    # strings_to_formulas=False: a member named "=HYPERLINK(...)" stays a name
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    bold = workbook.add_format({"bold": True})
    for name, text in sheets.items():
        sheet = workbook.add_worksheet(name[:31])
        rows = list(csv.reader(io.StringIO(text)))
        widths: dict[int, int] = {}
        for r, row in enumerate(rows):
            for c, raw in enumerate(row):
                value = raw if r == 0 else _xlsx_cell(raw)
                if isinstance(value, float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, value, bold if r == 0 else None)
                widths[c] = max(widths.get(c, 0), min(60, len(raw)))
        for c, width in widths.items():
            sheet.set_column(c, c, max(6, width + 1))
        if rows:
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(0, len(rows) - 1), max(0, len(rows[0]) - 1))
    workbook.close()
    return buffer.getvalue()
