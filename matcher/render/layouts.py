"""How `ingest` read each file: the lines of `ingest --dry-run`, the note a real ingest adds when
a file was not a plain UTF-8, comma, header-row-1 table, and the same as JSON.

Plain text, written as it is (no markup, no wrapping), like the other summaries.
"""

from __future__ import annotations

from typing import Any

from matcher.results import ColumnUse, IngestReport, RowPreview, TableLayout

PREVIEW_WIDTH = 60  # characters of a long text shown in a preview row
_DELIMITERS = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def how_read(layout: TableLayout) -> str:
    """ "members.csv: csv, cp1251, ';' between cells, header row 1, 14 rows" """
    parts = [layout.format]
    if layout.encoding:
        parts.append(layout.encoding)
    if layout.delimiter:
        parts.append(f"{_DELIMITERS.get(layout.delimiter, repr(layout.delimiter))} between cells")
    if layout.header_rows:
        rows = layout.header_rows
        parts.append(f"header row {rows[0]}" if len(rows) == 1 else f"header rows {rows[0]}-{rows[-1]}")
    parts.append(f"{layout.rows} rows")
    return f"{layout.file}: {', '.join(parts)}"


def column_line(use: ColumnUse) -> str:
    """ "ИНН -> inn (synonym; checked; gives the id when there is none)" """
    target = use.field or "ignored"
    how = {"field": "", "synonym": "synonym", "mapping": "--columns", "ignored": ""}[use.how]
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
        return f"row {row.row}: rejected: {row.reject}"
    shown = [f"{k}={_value(v)}" for k, v in row.values.items() if v not in (None, "", [], ())]
    return f"row {row.row}: " + " | ".join(shown)


def print_dry_run(r: IngestReport, console: Any) -> None:
    lines = ["Dry run: nothing was written."]
    for layout in r.layouts:
        lines.append(f"{how_read(layout)}: {layout.stored} would be stored, {layout.rejected} rejected")
        lines.append("  columns:")
        lines.extend(f"    {column_line(c)}" for c in layout.columns)
        lines.append(f"  first rows as read ({len(layout.preview)} of {layout.rows}):")
        lines.extend(f"    {preview_line(p)}" for p in layout.preview)
    counts = f"{r.added} added, {r.updated} updated, {r.unchanged} unchanged, {len(r.rejects)} rejected"
    lines.append(f"Would store {r.total} participants in {r.workspace} ({counts}).")
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
