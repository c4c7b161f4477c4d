"""The evaluation's report for people: a summary line, rich tables of the means, markdown with intervals.

Its JSON is :func:`matcher.render.plain.eval_dict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matcher.results import EvalReport

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
    for method, comparisons in report.comparisons.items():
        lines += [f"### {method} minus each method, warm tenders, paired bootstrap", "",
                  "| method | Δ R@10 | Δ MRR@10 |", "|---|---|---|"]  # fmt: skip
        for other, diff in comparisons.items():
            cells_ = [_cell(diff["recall@10"]), _cell(diff["mrr@10"])]
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
