"""Render results for people (rich tables) and machines (JSON, CSV). One place for all formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from matcher.eval.evaluation import EvalReport
from matcher.rank.parts import human_amount
from matcher.results import ScorePart, SimilarResult, Suggestion, TenderSuggestions
from matcher.store.files import safe_csv_cell

if TYPE_CHECKING:
    from matcher.results import Team

Format = Literal["table", "json", "csv"]
PART_ORDER = ("semantic", "lexical", "buyer", "codes", "certifications", "region", "size")
_SHORT = {
    "semantic": "Sem", "lexical": "BM25", "buyer": "Buyer", "codes": "Codes",
    "certifications": "Certs", "region": "Region", "size": "Size",
}  # fmt: skip


# --- plain values -----------------------------------------------------------------------


def _part_dict(part: ScorePart) -> dict[str, Any]:
    return {
        "value": part.value,
        "weight": part.weight,
        "contribution": part.contribution,
        "detail": part.detail,
    }


def suggestion_dict(s: Suggestion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rank": s.rank,
        "participant_id": s.participant_id,
        "name": s.name,
        "kind": s.kind,
        "score": s.score,
        "parts": {p.name: _part_dict(p) for p in s.parts},
    }
    if s.lots:
        out["lots"] = list(s.lots)
    return out


def tender_dict(result: TenderSuggestions) -> dict[str, Any]:
    t = result.tender
    return {
        "tender": {
            "id": t.id, "title": t.title, "buyer": t.buyer, "region": t.region, "value": t.value,
            "currency": t.currency, "deadline": t.deadline.isoformat() if t.deadline else None,
        },
        "model": result.model,
        "index_version": result.index_version,
        "lots": [
            {
                "lot_id": lr.lot_id, "title": lr.title,
                "codes": list(lot.codes), "value": lot.value, "certifications": list(lot.certifications),
                "suggestions": [suggestion_dict(s) for s in lr.suggestions],
            }
            for lr, lot in zip(result.lots, t.lots)
        ],
        "overall": [suggestion_dict(s) for s in result.overall.suggestions],
    }  # fmt: skip


def similar_dict(result: SimilarResult) -> dict[str, Any]:
    return {
        "query": {"participant_id": result.query_id, "text": result.query_text},
        "model": result.model,
        "index_version": result.index_version,
        "suggestions": [suggestion_dict(s) for s in result.suggestions],
    }


# --- CSV --------------------------------------------------------------------------------


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
    rows = []
    for lr in (*result.lots, result.overall):
        for s in lr.suggestions:
            rows.append({"tender_id": result.tender.id, "lot_id": lr.lot_id, "lot_title": lr.title, **_flat(s)})
    head = ["tender_id", "lot_id", "lot_title", "rank", "participant_id", "name", "kind", "score", "lots"]
    every = [s for lr in (*result.lots, result.overall) for s in lr.suggestions]
    return _csv(rows, head + _part_columns(every))


def similar_csv(result: SimilarResult) -> str:
    head = ["rank", "participant_id", "name", "kind", "score"]
    return _csv((_flat(s) for s in result.suggestions), head + _part_columns(result.suggestions))


# --- tables -------------------------------------------------------------------------------


def short_reasons(s: Suggestion) -> str:
    """The reasons in short, for a table cell; JSON and CSV carry the full text of each part."""
    bits = []
    buyer = s.part("buyer")
    if buyer and buyer.value > 0:
        bits.append(buyer.detail.split(" for ")[0] + " for this buyer")
    codes = s.part("codes")
    if codes and codes.detail:
        bits.append(codes.detail.split("; ")[0])  # the count and levels, and the best code
    for name in ("certifications", "region", "size"):
        part = s.part(name)
        if part and part.value < 1.0:
            bits.append(part.detail)
    return "; ".join(bits) or "text similarity only"


def _breakdown(s: Suggestion, n: int = 4) -> str:
    """The largest contributions of a learned score, e.g. '+0.41 bm25_rel  +0.30 buyer_gated'."""
    parts = sorted((p for p in s.parts if p.contribution), key=lambda p: -abs(p.contribution))[:n]
    return "  ".join(f"{p.contribution:+.2f} {p.name}" for p in parts)


def _table(title: str, suggestions: Iterable[Suggestion], show_lots: bool = False):
    from rich.markup import escape
    from rich.table import Table

    suggestions = list(suggestions)
    learned = any(p.name not in PART_ORDER for s in suggestions for p in s.parts)
    present = [] if learned else [p for p in PART_ORDER if any(s.part(p) for s in suggestions)]
    weights = {p.name: p.weight for s in suggestions[:1] for p in s.parts}
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("#", justify="right")
    table.add_column("Member", max_width=30)
    table.add_column("Score", justify="right")
    for p in present:
        table.add_column(f"{_SHORT[p]}\n×{weights.get(p, 0):.2f}", justify="right")
    if learned:
        table.add_column("Largest contributions (learned ranker)", max_width=34)
    if show_lots:
        table.add_column("Lots")
    table.add_column("Why", overflow="fold", ratio=1)
    for s in suggestions:
        cells = [
            str(s.rank),
            f"{escape(s.name)}\n[dim]{escape(s.participant_id)}{' · ' + escape(s.kind) if s.kind else ''}[/dim]",
            f"[bold]{s.score:.3f}[/bold]",
        ]
        for p in present:
            part = s.part(p)
            cells.append("" if part is None else f"{part.value:.2f}")
        if learned:
            cells.append(_breakdown(s))
        if show_lots:
            cells.append(", ".join(s.lots))
        cells.append(escape(short_reasons(s)))
        table.add_row(*cells)
    return table


def print_tender(result: TenderSuggestions, console) -> None:
    from rich.markup import escape

    t = result.tender
    facts = [x for x in (t.buyer, t.region, f"{human_amount(t.value)} {t.currency or ''}".strip() if t.value else None,
                         f"deadline {t.deadline}" if t.deadline else None) if x]  # fmt: skip
    console.print(f"[bold]{escape(t.id)}[/bold] {escape(t.title)}")
    if facts:
        console.print("[dim]" + escape(" · ".join(facts)) + "[/dim]")
    for lr, lot in zip(result.lots, t.lots):
        head = f"Lot {lr.lot_id}: {lr.title}"
        extra = [human_amount(lot.value) if lot.value else "", ", ".join(lot.certifications)]
        if any(extra):
            head += f"  ({' · '.join(x for x in extra if x)})"
        console.print()
        console.print(_table(escape(head), lr.suggestions))
    console.print()
    console.print(_table("Whole tender: lead candidates (Lots = lots where the member is in the top list)",
                         result.overall.suggestions, show_lots=True))  # fmt: skip
    console.print(f"[dim]model {result.model} · index {result.index_version} · "
                  "score = Σ part × weight; weights of parts a lot does not ask for are shared out[/dim]")  # fmt: skip


def print_similar(result: SimilarResult, console) -> None:
    from rich.markup import escape

    query = result.query_id or f'"{result.query_text}"'
    console.print(_table(escape(f"Members similar to {query}"), result.suggestions))
    console.print(f"[dim]model {result.model} · index {result.index_version}[/dim]")


def dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def write_result(result: TenderSuggestions | SimilarResult, fmt: Format, console: Any) -> None:
    """Write a result to stdout: JSON or CSV as plain text, a table through the rich console."""
    import sys

    if fmt == "table":
        if isinstance(result, TenderSuggestions):
            print_tender(result, console)
        else:
            print_similar(result, console)
    elif fmt == "json":
        data = tender_dict(result) if isinstance(result, TenderSuggestions) else similar_dict(result)
        sys.stdout.write(dump_json(data) + "\n")
    else:
        sys.stdout.write(tender_csv(result) if isinstance(result, TenderSuggestions) else similar_csv(result))


# --- evaluation --------------------------------------------------------------------------

_EVAL_COLUMNS = (
    ("recall@1", "R@1"),
    ("recall@5", "R@5"),
    ("recall@10", "R@10"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
)


def _cell(value: tuple[float, float, float]) -> str:
    mean, low, high = value
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def eval_summary(report: EvalReport) -> str:
    return (
        f"cut-off {report.cutoff}: {report.train_awards} awards before it build {report.pool} supplier profiles; "
        f"{report.queries} tenders after it, {report.warm_queries} warm ({report.warm_share:.1%}: the winner has "
        f"history before the cut-off, so that is the ceiling of every 'all tenders' recall). Model {report.model}; "
        f"95% bootstrap intervals over tenders ({report.bootstrap} resamples)."
    )


def eval_markdown(report: EvalReport) -> str:
    """Two markdown tables (warm tenders, all tenders) with intervals."""
    lines = []
    for subset, title in (("warm", "Warm tenders (winner has history)"), ("all", "All tenders")):
        lines += [f"### {title}", "", "| method | " + " | ".join(h for _, h in _EVAL_COLUMNS) + " |",
                  "|---|" + "---|" * len(_EVAL_COLUMNS)]  # fmt: skip
        for m in report.methods:
            cells = getattr(m, subset)
            lines.append(f"| {m.name} | " + " | ".join(_cell(cells[k]) for k, _ in _EVAL_COLUMNS) + " |")
        lines.append("")
    comparisons = report.comparisons()
    if comparisons:
        lines += ["### learned ranker minus each method, warm tenders, paired bootstrap", "",
                  "| method | Δ R@10 | Δ MRR@10 |", "|---|---|---|"]  # fmt: skip
        for other, diff in comparisons.items():
            cells_ = [_cell((d["mean"], d["low"], d["high"])) for d in (diff["recall@10"], diff["mrr@10"])]
            lines.append(f"| {other} | {cells_[0]} | {cells_[1]} |")
        lines.append("")
    return "\n".join(lines)


def print_eval(report: EvalReport, console: Any) -> None:
    from rich.table import Table

    console.print(eval_summary(report), soft_wrap=True)
    for subset, title in (("warm", "Warm tenders (winner has history)"), ("all", "All tenders")):
        table = Table(title=title, title_justify="left")
        table.add_column("method")
        for _, header in _EVAL_COLUMNS:
            table.add_column(header, justify="right")
        best = {k: max(getattr(m, subset)[k][0] for m in report.methods) for k, _ in _EVAL_COLUMNS}
        for m in report.methods:
            cells = getattr(m, subset)
            table.add_row(
                m.name,
                *(
                    f"[bold]{cells[k][0]:.3f}[/bold]" if cells[k][0] == best[k] else f"{cells[k][0]:.3f}"
                    for k, _ in _EVAL_COLUMNS
                ),
            )
        console.print(table)
    console.print("[dim]bold: best mean per column; --format json or markdown gives the intervals[/dim]")


# --- consortia ---------------------------------------------------------------------------


def team_dicts(teams: Sequence[Team], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "rank": t.rank,
            "lead": t.lead_id,
            "members": [{"participant_id": m, "name": names.get(m, m)} for m in t.members],
            "assignments": [
                {
                    "lot_id": a.lot_id,
                    "participant_id": a.participant_id,
                    "name": names.get(a.participant_id),
                    "fit": a.score,
                }
                for a in t.assignments
            ],
            "total_fit": t.total_score,
            "sme_share": t.sme_share,
            "uncovered": list(t.uncovered),
            "lacks": list(t.lacks),
            "method": t.method,
            "optimal": t.optimal,
        }
        for t in teams
    ]


def teams_csv(result: TenderSuggestions, teams: Sequence[Team], names: dict[str, str]) -> str:
    """One row per (team, lot): who takes it and how well, or why nobody does."""
    rows = []
    for t in teams:
        taken = {a.lot_id: a for a in t.assignments}
        for lot in result.tender.lots:
            a = taken.get(lot.id)
            rows.append({
                "tender_id": result.tender.id, "team": t.rank, "lead": t.lead_id or "", "lot_id": lot.id,
                "lot_title": lot.title, "participant_id": a.participant_id if a else "",
                "name": names.get(a.participant_id, "") if a else "", "fit": a.score if a else "",
                "is_lead": bool(a and a.participant_id == t.lead_id), "team_total_fit": t.total_score,
                "team_sme_share": round(t.sme_share, 4), "method": t.method, "optimal": t.optimal,
                "lacks": "; ".join(x for x in t.lacks if x.startswith(f"lot {lot.id}:")) if not a else "",
            })  # fmt: skip
    columns = ["tender_id", "team", "lead", "lot_id", "lot_title", "participant_id", "name", "fit", "is_lead",
               "team_total_fit", "team_sme_share", "method", "optimal", "lacks"]  # fmt: skip
    return _csv(rows, columns)


def print_teams(result: TenderSuggestions, teams: Sequence[Team], names: dict[str, str], console: Any) -> None:
    """Each team as a coverage table: lots down, members across, the fit where a member takes a lot."""
    from rich.markup import escape
    from rich.table import Table

    if not teams:
        console.print("[bold]No team[/bold]: no member can take any lot under these constraints.")
        return
    for t in teams:
        how = "CP-SAT, optimal" if t.optimal else ("CP-SAT, time limit" if t.method == "cp-sat" else "greedy")
        lead = names.get(t.lead_id or "", t.lead_id or "none")
        title = (
            f"Team {t.rank}: lead {lead} · {len(t.members)} firm(s) · total fit {t.total_score:.2f} · "
            f"SME share {t.sme_share:.0%} · {how}"
        )
        table = Table(title=escape(title), title_justify="left")
        table.add_column("Lot", max_width=40)
        for m in t.members:
            table.add_column(escape(names.get(m, m)) + (" (lead)" if m == t.lead_id else ""), justify="center")
        taken = {a.lot_id: a for a in t.assignments}
        for lot in result.tender.lots:
            a = taken.get(lot.id)
            cells = [escape(f"{lot.id}: {lot.title}")]
            cells += [f"[bold]✓ {a.score:.2f}[/bold]" if a and a.participant_id == m else "" for m in t.members]
            table.add_row(*cells)
        console.print(table)
        for line in t.lacks:
            console.print(f"  [yellow]lacks:[/yellow] {escape(line)}")
        console.print()
