"""Spreadsheets for download: the CSV tables of :mod:`matcher.render`, one sheet each, in an XLSX file.

The sheets are built from the very CSV text the CLI writes, so the columns are the same in both;
numbers become numbers again and no cell is ever read as a formula.
"""

from __future__ import annotations

import csv
import io
import re

_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_NEUTRALISED = re.compile(r"'[=+\-@\t\r]")  # store.files.safe_csv_cell's apostrophe: not needed in XLSX


def _cell(text: str) -> str | float:
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
                value = raw if r == 0 else _cell(raw)
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
