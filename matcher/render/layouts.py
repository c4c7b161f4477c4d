"""How `ingest` read each file: the lines of `ingest --dry-run`, the note a real ingest adds when
a file was not a plain UTF-8, comma, header-row-1 table, and the same as JSON.

Plain text, written as it is (no markup, no wrapping), like the other summaries.
"""

from __future__ import annotations

from typing import Any

from matcher.i18n import N_, ntr, tr
from matcher.results import ColumnUse, IngestReport, RowPreview, TableLayout

PREVIEW_WIDTH = 60  # characters of a long text shown in a preview row
_DELIMITERS = {",": "','", ";": "';'", "\t": N_("tab"), "|": "'|'"}
_HOW = {"field": "", "synonym": N_("synonym"), "mapping": "--columns", "ignored": ""}


def how_read(layout: TableLayout) -> str:
    """ "members.csv: csv, cp1251, ';' between cells, header row 1, 14 rows" """
    parts = [layout.format]
    if layout.encoding:
        parts.append(layout.encoding)
    if layout.delimiter:
        between = tr(_DELIMITERS[layout.delimiter]) if layout.delimiter in _DELIMITERS else repr(layout.delimiter)
        parts.append(tr("%(delimiter)s between cells", delimiter=between))
    if layout.header_rows:
        rows = layout.header_rows
        parts.append(
            tr("header row %(row)s", row=rows[0])
            if len(rows) == 1
            else tr("header rows %(first)s-%(last)s", first=rows[0], last=rows[-1])
        )
    parts.append(ntr("%(n)s row", "%(n)s rows", layout.rows))
    return f"{layout.file}: {', '.join(parts)}"


def column_line(use: ColumnUse) -> str:
    """ "ИНН -> inn (synonym; checked; gives the id when there is none)" """
    target = use.field or tr("ignored")
    how = tr(_HOW[use.how]) if _HOW[use.how] else ""
    why = "; ".join(p for p in (how, use.note) if p)
    return f"{use.header} -> {target}" + (f" ({why})" if why else "")


def understood(layout: TableLayout) -> str:
    """One line: how a file was read and what each column gives (a real ingest's note)."""
    return how_read(layout) + "; " + ", ".join(column_line(c) for c in layout.columns)


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= PREVIEW_WIDTH else text[: PREVIEW_WIDTH - 1] + "…"


def preview_line(row: RowPreview) -> str:
    if row.values is None:
        return tr("row %(row)s: rejected: %(reason)s", row=row.row, reason=row.reject)
    shown = [f"{k}={_value(v)}" for k, v in row.values.items() if v not in (None, "", [], ())]
    return tr("row %(row)s:", row=row.row) + " " + " | ".join(shown)


def print_dry_run(r: IngestReport, console: Any) -> None:
    lines = [tr("Dry run: nothing was written.")]
    for layout in r.layouts:
        outcome = tr(
            "%(stored)s would be stored, %(rejected)s rejected", stored=layout.stored, rejected=layout.rejected
        )
        lines.append(f"{how_read(layout)}: {outcome}")
        lines.append("  " + tr("columns:"))
        lines.extend(f"    {column_line(c)}" for c in layout.columns)
        lines.append(
            "  " + tr("first rows as read (%(shown)s of %(rows)s):", shown=len(layout.preview), rows=layout.rows)
        )
        lines.extend(f"    {preview_line(p)}" for p in layout.preview)
    counts = ingest_counts(r)
    would = tr(
        "Would store %(n)s participants in %(workspace)s (%(counts)s).", n=r.total, workspace=r.workspace, counts=counts
    )
    lines.append(would)
    console.file.write("".join(line + "\n" for line in lines))


def layout_dict(layout: TableLayout) -> dict[str, Any]:
    return {
        "file": layout.file, "format": layout.format, "encoding": layout.encoding, "delimiter": layout.delimiter,
        "header_rows": list(layout.header_rows),
        "columns": [{"column": c.header, "field": c.field, "how": c.how, "note": c.note} for c in layout.columns],
        "rows": layout.rows, "stored": layout.stored, "rejected": layout.rejected,
        "preview": [{"row": p.row, "values": dict(p.values) if p.values is not None else None, "reject": p.reject}
                    for p in layout.preview],
    }  # fmt: skip


def ingest_counts(r: IngestReport) -> str:
    """What an ingest did (or would do) to the stored members, counted: the summary's and the dry run's."""
    return tr(
        "%(added)s added, %(updated)s updated, %(unchanged)s unchanged, %(rejected)s rejected",
        added=r.added, updated=r.updated, unchanged=r.unchanged, rejected=len(r.rejects),
    )  # fmt: skip
