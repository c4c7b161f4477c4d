"""Every format of every result, in one place: tables and summaries for people, JSON, CSV and XLSX for machines.

:func:`write` prints any result of :mod:`matcher.results` (and the evaluation's report) in the
format asked for; the CLI calls it for every command and the web builds its answers from the
same functions (:mod:`~matcher.render.plain` for JSON, :mod:`~matcher.render.sheets` for the
downloads, :mod:`~matcher.render.parts` for the columns and short reasons of the page's tables).

Modules:
    plain      results as JSON-ready dicts, and ``dump_json``
    sheets     CSV text and XLSX workbooks
    text       rankings and teams as rich tables
    summaries  the lines the writing commands print, and the rejects on stderr
    layouts    how `ingest` read each file: `--dry-run`, the note on stderr, the JSON
    metrics    the evaluation's tables and markdown
    gaps       where a cluster has gaps: the table and summary, JSON and CSV
    opportunities  tenders for members: the tables, JSON, CSV and the per-member HTML digest
    parts      the score parts' order, columns and short reasons, shared by every format

Example:
    >>> from rich.console import Console
    >>> from matcher import Matcher
    >>> write(Matcher.open("my-cluster").suggest("tender.yaml", top_k=3), "json", Console())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from matcher.errors import InputError
from matcher.render import gaps, metrics, opportunities, plain, sheets, summaries, text
from matcher.render.metrics import eval_markdown, eval_summary
from matcher.render.parts import PART_ORDER, short_reasons
from matcher.render.plain import dump_json, similar_dict, suggestion_dict, team_dicts, teams_dict, tender_dict
from matcher.render.sheets import similar_csv, teams_csv, tender_csv, xlsx_bytes
from matcher.results import (
    BuildReport,
    EvalReport,
    FeedbackReport,
    GapsReport,
    ImportReport,
    IndexStatus,
    IngestReport,
    OpportunitiesReport,
    RefreshReport,
    RollbackReport,
    SimilarResult,
    Teams,
    TenderSuggestions,
    TrainReport,
)

Format = Literal["table", "json", "csv", "markdown"]  # table: for people (a table or a summary line)

# For each result type, how to write it in each format it has: a table or summary through the
# console, or the text of a plain format.
_TABLE: dict[type, Callable[[Any, Any], None]] = {
    TenderSuggestions: text.print_tender,
    SimilarResult: text.print_similar,
    Teams: text.print_teams,
    IngestReport: summaries.print_ingest,
    ImportReport: summaries.print_import,
    BuildReport: summaries.print_build,
    RefreshReport: summaries.print_refresh,
    IndexStatus: summaries.print_status,
    RollbackReport: summaries.print_rollback,
    TrainReport: summaries.print_train,
    EvalReport: metrics.print_eval,
    GapsReport: gaps.print_gaps,
    FeedbackReport: text.print_feedback,
    OpportunitiesReport: opportunities.print_opportunities,
}
_JSON: dict[type, Callable[[Any], Any]] = {
    TenderSuggestions: plain.tender_dict,
    SimilarResult: plain.similar_dict,
    Teams: plain.teams_dict,
    IngestReport: plain.ingest_dict,
    ImportReport: plain.import_dict,
    BuildReport: plain.build_dict,
    RefreshReport: plain.refresh_dict,
    IndexStatus: plain.status_dict,
    RollbackReport: plain.rollback_dict,
    TrainReport: plain.train_dict,
    EvalReport: plain.eval_dict,
    GapsReport: gaps.gaps_dict,
    FeedbackReport: plain.feedback_dict,
    OpportunitiesReport: opportunities.opportunities_dict,
}
_CSV: dict[type, Callable[[Any], str]] = {
    TenderSuggestions: sheets.tender_csv,
    SimilarResult: sheets.similar_csv,
    Teams: sheets.teams_csv,
    GapsReport: gaps.gaps_csv,
    FeedbackReport: sheets.feedback_csv,
    OpportunitiesReport: opportunities.opportunities_csv,
}
_MARKDOWN: dict[type, Callable[[Any], str]] = {
    EvalReport: lambda report: eval_summary(report) + "\n\n" + eval_markdown(report) + "\n",
}
FORMATS: dict[str, dict[type, Any]] = {"table": _TABLE, "json": _JSON, "csv": _CSV, "markdown": _MARKDOWN}


def formats_of(kind: type) -> tuple[str, ...]:
    """The formats a result type can be written in, e.g. ("table", "json", "csv")."""
    return tuple(fmt for fmt, writers in FORMATS.items() if kind in writers)


def write(result: Any, fmt: Format = "table", console: Any = None, *, err: Any = None) -> None:
    """Write a result in a format: a table or summary through the rich ``console`` (stdout by
    default), JSON, CSV or markdown as plain text to the console's file. Rejected rows, and where
    they were written, go to ``err`` (stderr by default) whatever the format.

    Raises:
        InputError: the result has no such format (``formats_of`` says which it has).
    """
    from rich.console import Console

    writer = FORMATS.get(fmt, {}).get(type(result))
    if writer is None:
        have = " or ".join(formats_of(type(result))) or "none"
        raise InputError(f"--format {fmt} is not a format of {type(result).__name__}; use {have}")
    console = console if console is not None else Console(highlight=False)
    summaries.warn(result, err if err is not None else Console(stderr=True, highlight=False))
    if fmt == "table":
        writer(result, console)
    elif fmt == "json":
        console.file.write(dump_json(writer(result)) + "\n")
    else:
        console.file.write(writer(result))


__all__ = [
    "PART_ORDER",
    "Format",
    "dump_json",
    "eval_markdown",
    "eval_summary",
    "formats_of",
    "short_reasons",
    "similar_csv",
    "similar_dict",
    "suggestion_dict",
    "team_dicts",
    "teams_dict",
    "teams_csv",
    "tender_csv",
    "tender_dict",
    "write",
    "xlsx_bytes",
]
