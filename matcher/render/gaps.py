"""`gaps` in every format: a rich table with a one-line summary, JSON, and CSV (one row per capability and lot)."""

from __future__ import annotations

from typing import Any

from matcher.i18n import N_, ntr, tr
from matcher.render import parts
from matcher.results import NO_CODES, AskingLot, Capability, GapsReport

_STYLE = {"gap": "bold red", "single": "yellow", "covered": "green"}
_STATUS = {"gap": N_("gap"), "single": N_("single"), "covered": N_("covered")}


def status_word(status: str) -> str:
    """A capability's status (gap, single, covered) in the language shown."""
    return tr(_STATUS[status])


def summary(report: GapsReport) -> str:
    """e.g. '3 capabilities with no strong member, 2 covered by one member only, 4 covered by two or more'."""
    gaps, single, covered = (report.count(s) for s in ("gap", "single", "covered"))
    tenders = ntr("%(n)s tender", "%(n)s tenders", len(report.tenders))
    return ntr(
        "%(n)s capability with no strong member, %(single)s covered by one member only, %(covered)s covered by "
        "two or more (%(lots)s lots of %(tenders)s, top %(k)s members per lot)",
        "%(n)s capabilities with no strong member, %(single)s covered by one member only, %(covered)s covered by "
        "two or more (%(lots)s lots of %(tenders)s, top %(k)s members per lot)",
        gaps,
        single=single,
        covered=covered,
        lots=len(report.lots),
        tenders=tenders,
        k=report.top_k,
    )


def _lot_name(lot: AskingLot) -> str:
    return f"{lot.tender_id} / {lot.lot_id}: {lot.title}"  # ids and the lot's own title: no words to translate


def _best(c: Capability) -> str:
    if c.best_name is None:
        return ""
    band = parts.word(c.best_band) if c.best_band else ""
    fit = f" ({c.best_fit:.2f}, {band})" if c.best_fit is not None else ""
    return f"{c.best_name}{fit}"


def print_gaps(report: GapsReport, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(summary(report))}[/bold]")
    table = Table(title_justify="left", show_lines=True, expand=False)
    table.add_column(tr("Status"))
    table.add_column(tr("Capability"), max_width=40)
    table.add_column(tr("Lots asking"), overflow="fold", ratio=1)
    table.add_column(tr("Strong"), justify="right")
    table.add_column(tr("Possible"), justify="right")
    table.add_column(tr("Best member"), max_width=34)
    no_codes = tr("no codes:")
    for c in report.capabilities:
        code = "" if c.code == NO_CODES else f"{c.code} "
        table.add_row(
            f"[{_STYLE[c.status]}]{escape(status_word(c.status))}[/{_STYLE[c.status]}]",
            escape(code + c.label) if code else f"[dim]{escape(no_codes)}[/dim] {escape(c.label)}",
            escape("\n".join(_lot_name(lot) for lot in c.lots)),
            str(c.strong),
            str(c.possible),
            escape(_best(c)),
        )
    console.print(table)
    notes = [lot for lot in report.lots if lot.note]
    for lot in notes:
        where = tr("%(tender)s / lot %(lot)s", tender=lot.tender_id, lot=lot.lot_id)
        console.print(f"  [yellow]{escape(where)}:[/yellow] {escape(lot.note or '')}")
    versions = parts.versions(report.model, report.index_version)
    bands = tr("strong: fit ≥ 0.50, possible: ≥ 0.20, counted among each lot's top members")
    console.print(f"[dim]{escape(versions)} · {escape(bands)}[/dim]")


def _lot_dict(lot: AskingLot) -> dict[str, Any]:
    return {"tender_id": lot.tender_id, "lot_id": lot.lot_id, "title": lot.title, "note": lot.note}


def gaps_dict(report: GapsReport) -> dict[str, Any]:
    return {
        "summary": summary(report),
        "counts": {s: report.count(s) for s in ("gap", "single", "covered")},
        "tenders": list(report.tenders),
        "top_k": report.top_k,
        "model": report.model,
        "index_version": report.index_version,
        "capabilities": [
            {
                "code": c.code, "label": c.label, "label_en": c.label_en, "status": c.status,
                "strong": c.strong, "possible": c.possible,
                "best": None if c.best_id is None else
                {"participant_id": c.best_id, "name": c.best_name, "fit": c.best_fit, "band": c.best_band},
                "lots": [_lot_dict(lot) for lot in c.lots],
            }
            for c in report.capabilities
        ],
        "lots": [_lot_dict(lot) for lot in report.lots],
    }  # fmt: skip


COLUMNS = [
    "status", "capability", "label", "label_en", "strong", "possible", "best_id", "best_name", "best_fit",
    "best_band", "tender_id", "lot_id", "lot_title", "lot_note",
]  # fmt: skip


def gaps_csv(report: GapsReport) -> str:
    """One row per (capability, lot asking for it), in the report's order."""
    from matcher.render.sheets import _csv  # the same writer as every CSV: no cell read as a formula

    rows = [
        {
            "status": c.status, "capability": c.code, "label": c.label, "label_en": c.label_en,
            "strong": c.strong, "possible": c.possible, "best_id": c.best_id or "", "best_name": c.best_name or "",
            "best_fit": "" if c.best_fit is None else c.best_fit, "best_band": c.best_band or "",
            "tender_id": lot.tender_id, "lot_id": lot.lot_id, "lot_title": lot.title, "lot_note": lot.note or "",
        }
        for c in report.capabilities
        for lot in c.lots
    ]  # fmt: skip
    return _csv(rows, COLUMNS)
