"""What the writing commands say to people: one summary line on stdout (a few for `index status` and
`train`), and on stderr the rows that were rejected and where they were written.

Summaries are plain text, written as they are (no markup, no wrapping): scripts and logs grep them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matcher.i18n import tr
from matcher.render import layouts
from matcher.results import (
    BuildReport,
    ImportReport,
    IndexStatus,
    IngestReport,
    OpportunitiesReport,
    RefreshReport,
    RollbackReport,
    TrainReport,
)
from matcher.store.workspace import DEFAULT_WORKSPACE

SHOWN_REJECTS = 20  # on the terminal; the rejects files hold them all


def _write(console: Any, *lines: str) -> None:
    console.file.write("".join(line + "\n" for line in lines))


def _next(workspace: Path) -> str:
    """After ingest and import: build, naming the workspace unless it is the default one."""
    return "Next: matcher index build" + ("" if workspace == Path(DEFAULT_WORKSPACE) else f" -w {workspace}")


def _changes(changes: Any) -> str:
    return (
        f"{changes.get('added', 0)} added, {changes.get('updated', 0)} updated, "
        f"{changes.get('removed', 0)} removed, {changes.get('unchanged', 0)} unchanged"
    )


# --- stderr: what was rejected ------------------------------------------------------------


def warn_rejects(rejects: tuple[Any, ...], err: Any) -> None:
    from rich.markup import escape

    label = tr("Rejected:")
    for reject in rejects[:SHOWN_REJECTS]:
        err.print(f"[yellow]{escape(label)}[/yellow] {escape(str(reject))}", soft_wrap=True)
    if len(rejects) > SHOWN_REJECTS:
        note(err, tr("... and %(n)s more rejected", n=len(rejects) - SHOWN_REJECTS))


def note(err: Any, message: str) -> None:
    from rich.markup import escape

    err.print(f"[dim]{escape(message)}[/dim]", soft_wrap=True)


def warn(result: Any, err: Any) -> None:
    """The rejected rows and the files they went to, for the results that have any."""
    if isinstance(result, IngestReport):
        warn_rejects(result.rejects, err)
    elif isinstance(result, ImportReport | OpportunitiesReport):
        warn_rejects(result.rejects, err)
    for path in getattr(result, "rejects_files", ()):
        note(err, tr("rejected rows written to %(path)s", path=path))
    if isinstance(result, IngestReport) and not result.dry_run:  # a dry run shows all this on stdout
        for layout in result.layouts:
            if not layout.plain:
                note(err, tr("read %(how)s", how=layouts.understood(layout)))
        for source, columns in result.ignored_columns.items():
            note(err, tr("%(file)s: ignored unknown columns: %(columns)s", file=source, columns=", ".join(columns)))


# --- stdout: the summaries ----------------------------------------------------------------


def print_ingest(r: IngestReport, console: Any) -> None:
    if r.dry_run:
        layouts.print_dry_run(r, console)
        return
    counts = f"{r.added} added, {r.updated} updated, {r.unchanged} unchanged, {len(r.rejects)} rejected"
    _write(console, f"Stored {r.total} participants in {r.workspace} ({counts}). " + _next(r.workspace))


def print_import(r: ImportReport, console: Any) -> None:
    counts = f"{r.lots} lots, {r.awards} awards, {r.suppliers} suppliers ({len(r.rejects)} rejected)"
    _write(console, f"Imported {r.releases} contracting processes into {r.history}: {counts}. " + _next(r.workspace))


def print_build(r: BuildReport, console: Any) -> None:
    if r.sample:
        _write(console, f"Sample index ready in {r.workspace}: {r.participants} members, model {r.model}")
        return
    recall = f", recall@10 {r.recall_at_10:.3f} vs exact" if r.recall_at_10 is not None else ""
    how = f"model {r.model} on {r.backend}, dimension {r.dimension}, {r.index_type} index{recall}"
    _write(console, f"Built index of {r.participants} participants ({r.vectors} vectors) in {r.workspace} ({how})")
    if r.merged_suppliers:
        _write(console, f"{r.merged_suppliers} suppliers from the history recognised as members: see {r.merges_file}")


def print_refresh(r: RefreshReport, console: Any) -> None:
    done = f"embedded {r.manifest.get('embedded', 0)} texts, {len(r.rejects)} rows rejected"
    _write(console, f"Published {r.version} in {r.workspace}: {r.manifest['count']} participants "
                    f"({_changes(r.changes)}); {done}")  # fmt: skip


def print_status(s: IndexStatus, console: Any) -> None:
    lines = [
        f"workspace     {s.workspace}",
        f"current       {s.current} (built {s.created_at})",
        f"participants  {s.participants} ({s.vectors} vectors), model {s.model}, dimension {s.dimension}",
        f"last changes  {_changes(s.changes)}; {s.embedded} texts embedded",
        f"embedding     {s.backend}",
        f"index         {s.index}",
        f"integrity     {s.integrity}",
        f"versions      {', '.join(s.versions)}",
    ]
    if s.writer:
        lines.append(f"writer        {s.writer}")
    _write(console, *lines)


def print_rollback(r: RollbackReport, console: Any) -> None:
    _write(console, f"Now serving {r.serving} (was {r.was})")


def print_train(r: TrainReport, console: Any) -> None:
    window = f"{r.pairs} pairs, {r.window[0]} to {r.window[1]}"
    marked = f", {r.feedback_lots} of them lots with managers' marks" if r.feedback_lots else ""
    _write(console, f"Trained on {r.queries_used} of {r.queries} tenders{marked} ({window}); saved {r.path}")
    by_size = sorted(r.coefficients, key=lambda fw: -abs(fw[1]))
    _write(console, *(f"  {feature:15s} {weight:+.3f}" for feature, weight in by_size))
