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
    command = "matcher index build" + ("" if workspace == Path(DEFAULT_WORKSPACE) else f" -w {workspace}")
    return tr("Next: %(command)s", command=command)


def _changes(changes: Any) -> str:
    return tr(
        "%(added)s added, %(updated)s updated, %(removed)s removed, %(unchanged)s unchanged",
        added=changes.get("added", 0), updated=changes.get("updated", 0),
        removed=changes.get("removed", 0), unchanged=changes.get("unchanged", 0),
    )  # fmt: skip


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
    if isinstance(result, IngestReport | ImportReport | OpportunitiesReport):
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
    counts = layouts.ingest_counts(r)
    _write(console, tr("Stored %(n)s participants in %(workspace)s (%(counts)s). %(next)s",
                       n=r.total, workspace=r.workspace, counts=counts, next=_next(r.workspace)))  # fmt: skip


def print_import(r: ImportReport, console: Any) -> None:
    counts = tr(
        "%(lots)s lots, %(awards)s awards, %(suppliers)s suppliers (%(rejected)s rejected)",
        lots=r.lots,
        awards=r.awards,
        suppliers=r.suppliers,
        rejected=len(r.rejects),
    )
    _write(console, tr("Imported %(n)s contracting processes into %(history)s: %(counts)s. %(next)s",
                       n=r.releases, history=r.history, counts=counts, next=_next(r.workspace)))  # fmt: skip


def print_build(r: BuildReport, console: Any) -> None:
    if r.sample:
        _write(console, tr("Sample index ready in %(workspace)s: %(n)s members, model %(model)s",
                           workspace=r.workspace, n=r.participants, model=r.model))  # fmt: skip
        return
    recall = tr(", recall@10 %(recall).3f vs exact", recall=r.recall_at_10) if r.recall_at_10 is not None else ""
    how = tr("model %(model)s on %(backend)s, dimension %(dimension)s, %(kind)s index%(recall)s",
             model=r.model, backend=r.backend, dimension=r.dimension, kind=r.index_type, recall=recall)  # fmt: skip
    _write(console, tr("Built index of %(n)s participants (%(vectors)s vectors) in %(workspace)s (%(how)s)",
                       n=r.participants, vectors=r.vectors, workspace=r.workspace, how=how))  # fmt: skip
    if r.merged_suppliers:
        _write(console, tr("%(n)s suppliers from the history recognised as members: see %(file)s",
                           n=r.merged_suppliers, file=r.merges_file))  # fmt: skip


def print_refresh(r: RefreshReport, console: Any) -> None:
    done = tr("embedded %(n)s texts, %(rejected)s rows rejected", n=r.manifest.get("embedded", 0),
              rejected=len(r.rejects))  # fmt: skip
    _write(console, tr("Published %(version)s in %(workspace)s: %(n)s participants (%(changes)s); %(done)s",
                       version=r.version, workspace=r.workspace, n=r.manifest["count"],
                       changes=_changes(r.changes), done=done))  # fmt: skip


def print_status(s: IndexStatus, console: Any) -> None:
    rows = [
        (tr("workspace"), str(s.workspace)),
        (tr("current"), tr("%(version)s (built %(at)s)", version=s.current, at=s.created_at)),
        (tr("participants"), tr("%(n)s (%(vectors)s vectors), model %(model)s, dimension %(dimension)s",
                                n=s.participants, vectors=s.vectors, model=s.model, dimension=s.dimension)),
        (tr("last changes"), tr("%(changes)s; %(n)s texts embedded", changes=_changes(s.changes), n=s.embedded)),
        (tr("embedding"), str(s.backend)),
        (tr("index"), str(s.index)),
        (tr("integrity"), tr("ok: every file matches its checksum") if s.ok else str(s.integrity)),
        (tr("versions"), ", ".join(s.versions)),
    ]  # fmt: skip
    if s.writer:
        rows.append((tr("writer"), str(s.writer)))
    width = max(len(label) for label, _ in rows) + 2  # 14 in English: "participants  "
    _write(console, *(label.ljust(width) + value for label, value in rows))


def print_rollback(r: RollbackReport, console: Any) -> None:
    _write(console, tr("Now serving %(serving)s (was %(was)s)", serving=r.serving, was=r.was))


def print_train(r: TrainReport, console: Any) -> None:
    window = tr("%(pairs)s pairs, %(start)s to %(end)s", pairs=r.pairs, start=r.window[0], end=r.window[1])
    marked = tr(", %(n)s of them lots with managers' marks", n=r.feedback_lots) if r.feedback_lots else ""
    _write(console, tr("Trained on %(used)s of %(n)s tenders%(marked)s (%(window)s); saved %(path)s",
                       used=r.queries_used, n=r.queries, marked=marked, window=window, path=r.path))  # fmt: skip
    by_size = sorted(r.coefficients, key=lambda fw: -abs(fw[1]))
    _write(console, *(f"  {feature:15s} {weight:+.3f}" for feature, weight in by_size))
