"""Results for people: rankings and teams as rich tables on the terminal.

Names, ids and details come from the user's files and are escaped, never read as rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from matcher.i18n import N_, tr
from matcher.rank.parts import human_amount
from matcher.render.parts import (
    columns,
    coverage_cell,
    fit_text,
    footnote,
    largest,
    lot_warning,
    marks_text,
    short_reasons,
    team_title,
    versions,
)
from matcher.results import FeedbackReport, LotSuggestions, SimilarResult, Suggestion, Teams, TenderSuggestions

_SHORT = {
    "semantic": N_("Sem"), "lexical": N_("BM25"), "buyer": N_("Buyer"), "codes": N_("Codes"),
    "certifications": N_("Certs"), "region": N_("Region"), "size": N_("Size"), "feedback": N_("Marked"),
}  # fmt: skip
_BAND_STYLE = {"strong": "green", "possible": "yellow", "weak": "red"}


def _fit_cell(s: Suggestion) -> str:
    style = _BAND_STYLE.get(s.band or "")
    text = fit_text(s)
    return f"[{style}]{text}[/{style}]" if style and text else text


def _table(title: str, suggestions: Iterable[Suggestion], show_lots: bool = False):
    from rich.markup import escape
    from rich.table import Table

    suggestions = list(suggestions)
    cols = columns(suggestions)
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("#", justify="right")
    table.add_column(tr("Member"), max_width=30)
    table.add_column(tr("Score"), justify="right")
    if cols.fit:
        table.add_column(tr("Fit"), justify="right", no_wrap=True)
    for p in cols.parts:
        short = tr(_SHORT[p])
        table.add_column(f"{short}\n×{cols.weights.get(p, 0):.2f}", justify="right")
    if cols.learned:
        table.add_column(tr("Largest contributions (learned ranker)"), max_width=34)
    if show_lots:
        table.add_column(tr("Lots"))
    table.add_column(tr("Why"), overflow="fold", ratio=1)
    for s in suggestions:
        cells = [
            str(s.rank),
            f"{escape(s.name)}\n[dim]{escape(s.participant_id)}{' · ' + escape(s.kind) if s.kind else ''}[/dim]"
            + (f"\n[bold magenta]◆ {escape(marks_text(s))}[/bold magenta]" if s.marks else ""),
            f"[bold]{s.score:.3f}[/bold]",
        ]
        if cols.fit:
            cells.append(_fit_cell(s))
        for p in cols.parts:
            part = s.part(p)
            cells.append("" if part is None else f"{part.value:.2f}")
        if cols.learned:  # e.g. '+0.41 bm25_rel  +0.30 buyer_gated'
            cells.append("  ".join(f"{value:+.2f} {name}" for name, value in largest(s)))
        if show_lots:
            cells.append(", ".join(s.lots))
        cells.append(escape(short_reasons(s)))
        table.add_row(*cells)
    return table


def _print_warning(lot: LotSuggestions, console: Any) -> None:
    from rich.markup import escape

    note = lot_warning(lot)
    if note is not None:
        console.print(f"[bold red]⚠ {escape(note)}[/bold red]")


def print_tender(result: TenderSuggestions, console: Any) -> None:
    from rich.markup import escape

    t = result.tender
    facts = [x for x in (t.buyer, t.region, f"{human_amount(t.value)} {t.currency or ''}".strip() if t.value else None,
                         tr("deadline %(date)s", date=t.deadline) if t.deadline else None) if x]  # fmt: skip
    console.print(f"[bold]{escape(t.id)}[/bold] {escape(t.title)}")
    if facts:
        console.print("[dim]" + escape(" · ".join(facts)) + "[/dim]")
    if (language := result.language_note()) is not None:
        console.print(f"[bold yellow]⚠ {escape(language)}[/bold yellow]")
    for lr, lot in zip(result.lots, t.lots):
        head = tr("Lot %(lot)s: %(title)s", lot=lr.lot_id, title=lr.title)
        extra = [human_amount(lot.value) if lot.value else "", ", ".join(lot.certifications)]
        if any(extra):
            head += f"  ({' · '.join(x for x in extra if x)})"
        console.print()
        console.print(_table(escape(head), lr.suggestions))
        _print_warning(lr, console)
    console.print()
    console.print(_table(tr("Whole tender: lead candidates (Lots = lots where the member is in the top list)"),
                         result.overall.suggestions, show_lots=True))  # fmt: skip
    _print_warning(result.overall, console)
    console.print(f"[dim]{escape(versions(result.model, result.index_version))} · {escape(footnote())}[/dim]")


def print_similar(result: SimilarResult, console: Any) -> None:
    from rich.markup import escape

    query = result.query_id or f'"{result.query_text}"'
    console.print(_table(escape(tr("Members similar to %(query)s", query=query)), result.suggestions))
    console.print(f"[dim]{escape(versions(result.model, result.index_version))}[/dim]")


def print_feedback(report: FeedbackReport, console: Any) -> None:
    """The marks as a table; a mark or removal as one line."""
    from rich.markup import escape
    from rich.table import Table

    if report.action != "listed":
        for m in report.marks:
            line = f"{report.action} #{m.id}: {m.member_id} {m.label} for lot {m.lot_id} of {m.tender_id}"
            console.print(escape(line))
        return
    if not report.marks:
        console.print(f"No feedback marks in {escape(str(report.path))}.")
        return
    table = Table(title=escape(f"Feedback marks ({len(report.marks)})"), title_justify="left")
    for name in ("#", "Tender", "Lot", "Member", "Mark", "Codes", "Note", "When"):
        table.add_column(name, overflow="fold")
    for m in report.marks:
        cells = [str(m.id), m.tender_id, m.lot_id, m.member_id, m.label, " ".join(m.codes), m.note, m.created_at]
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


def _cell(cell: tuple[str, str] | None) -> str:
    from rich.markup import escape

    if cell is None:
        return ""
    kind, text = cell
    return f"[bold]{escape(text)}[/bold]" if kind == "holds" else f"[cyan]{escape(text)}[/cyan]"


def print_teams(result: Teams, console: Any) -> None:
    """The rankings first when the result shows them; then each team as a coverage table: lots
    down, members across, the fit where a member holds a lot, what it brings where it is a partner."""
    from rich.markup import escape
    from rich.table import Table

    if result.with_rankings:
        print_tender(result.suggestions, console)
        console.print()
    if not result.teams:
        console.print(escape(tr("No team: no member can take any lot under these constraints.")))
        return
    for t in result.teams:
        table = Table(title=escape(team_title(t, result.names)), title_justify="left")
        table.add_column(tr("Lot"), max_width=40)
        for m in t.members:
            lead = " " + tr("(lead)") if m == t.lead_id else ""
            table.add_column(escape(result.names.get(m, m)) + lead, justify="center")
        taken = {a.lot_id: a for a in t.assignments}
        for lot in result.tender.lots:
            a = taken.get(lot.id)
            cells = [escape(f"{lot.id}: {lot.title}")]
            cells += [_cell(coverage_cell(a, m)) for m in t.members]
            table.add_row(*cells)
        console.print(table)
        lacks = tr("lacks:")
        for line in t.lacks:
            console.print(f"  [yellow]{escape(lacks)}[/yellow] {escape(line)}")
        console.print()
