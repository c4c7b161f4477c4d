"""Spreadsheet tables as people save them: any text encoding and delimiter, a title above the
header, a header of two rows with merged cells.

:func:`read_csv` decodes the file itself (UTF-8 with or without BOM, UTF-16 from Excel's
"Unicode text", else what charset-normalizer finds: cp1251 from a Russian Excel, KOI8-R, cp1252)
and sniffs the delimiter (``,`` ``;`` tab ``|``); :func:`read_xlsx` reads the first sheet with
its merged cells filled in. Both find the header among the first rows (:func:`find_header`: the
row whose cells best match the known headers, with the row above or below it when that is a
second header row) and number rows as the spreadsheet shows them.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.errors import InputError
from matcher.inputs.columns import score

HEAD_ROWS = 10  # the header is looked for among the first rows
DELIMITERS = ",;\t|"
# single-byte code pages charset-normalizer chooses among when a file is not UTF-8 or UTF-16
CODE_PAGES = ["cp1251", "koi8_r", "cp866", "cp1252", "latin_1"]  # not mac_cyrillic: it takes short cp1251 texts

Rows = Iterator[tuple[int, dict[str, Any] | None, str | None]]  # (row number, record, parse error)


@dataclass
class Table:
    """One opened table: how it was read, its column names, and its data rows (read lazily)."""

    format: str
    rows: Rows
    headers: list[str] | None = None  # None: records carry their own keys (JSON)
    header_rows: tuple[int, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None


# --- CSV ------------------------------------------------------------------------------------


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in."""
    if data.startswith(b"PK\x03\x04"):
        raise InputError(f"{path}: this is an Excel workbook (XLSX), not CSV text; rename it to .xlsx")
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}: starts as {name} but byte {exc.start} is not; save it again as UTF-8"
                ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(data, cp_isolation=CODE_PAGES).best()
    if best is None or "\x00" in str(best):
        raise InputError(
            f"{path}: cannot tell the text encoding (not UTF-8, UTF-16 or a known code page); "
            "save the table as 'CSV UTF-8' (Excel: File > Save As) or as .xlsx"
        )
    return str(best), best.encoding


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: of ``,`` ``;`` tab ``|``, the one that splits the first line
    into several cells and the next lines into as many (quotes respected); among equally good
    ones, csv.Sniffer's choice, else the first in that order. No candidate splits the first
    line: a one-column table, ",".
    """
    sample = text[: 1 << 16]
    fits: dict[str, float] = {}
    for candidate in DELIMITERS:
        try:
            counts = [
                len(cells) for cells in itertools.islice(csv.reader(io.StringIO(sample), delimiter=candidate), 20)
            ]
        except csv.Error:
            continue
        counts = [n for n in counts if n] or [0]
        if counts[0] > 1:
            body = counts[1:-1] if len(counts) > 2 else counts[1:]  # the sample may end inside a row
            fits[candidate] = sum(n == counts[0] for n in body) / len(body) if body else 1.0
    if not fits:
        return ","
    best = [c for c, fit in fits.items() if fit == max(fits.values())]
    if len(best) > 1:
        with contextlib.suppress(csv.Error):
            sniffed = csv.Sniffer().sniff(sample[:8192], delimiters="".join(best)).delimiter
            if sniffed in best:
                return sniffed
    return best[0]


def read_csv(path: Path, delimiter: str | None = None) -> Table:
    """A CSV or TSV table: decoded, its delimiter sniffed (unless given), its header found."""
    text, encoding = decode(path.read_bytes(), path)
    if not text.strip():
        raise InputError(f"{path}: cannot read as a CSV table: the file is empty")
    delimiter = delimiter or sniff_delimiter(text)
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))  # a long description is no error (the default is 128 KB)
    # strict: an unclosed quote is an error, not one huge cell swallowing the rest of the file
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    head: list[list[Any]] = []
    for cells in records:
        head.append(cells)
        if len(head) >= HEAD_ROWS + 1:
            break
    start, height, names = find_header(head, fill_left=True)
    table = Table(
        "csv" if delimiter != "\t" else "tsv", iter(()), names, _numbers(start, height, 1), encoding, delimiter
    )
    body = (cells for cells in head[start + height :])

    def rows() -> Rows:
        number = start + height
        for source in (body, records):
            for cells in source:
                number += 1
                yield _row(number, names, cells)

    table.rows = rows()
    return table


# --- XLSX -----------------------------------------------------------------------------------


def read_xlsx(path: Path) -> Table:
    """The first sheet of a workbook: merged cells filled in, the header found, rows numbered as
    the sheet shows them (a sheet read by calamine starts at its first cell with a value)."""
    import fastexcel

    first_row, first_col, merges = sheet_geometry(path)
    frame = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string").to_polars()
    grid = [list(r) for r in frame.rows()]
    for top, left, bottom, right in merges:
        r0, c0 = top - first_row, left - first_col
        if not (0 <= r0 < len(grid) and 0 <= c0 < len(grid[r0])):
            continue
        value = grid[r0][c0]
        for r in range(r0, min(bottom - first_row + 1, len(grid))):
            for c in range(c0, min(right - first_col + 1, len(grid[r]))):
                grid[r][c] = value
    start, height, names = find_header(grid[: HEAD_ROWS + 1], fill_left=False)
    table = Table("xlsx", iter(()), names, _numbers(start, height, first_row))

    def rows() -> Rows:
        for i in range(start + height, len(grid)):
            yield _row(first_row + i, names, grid[i])

    table.rows = rows()
    return table


_CELL = re.compile(r"([A-Z]+)(\d+)")


def _cell(ref: str) -> tuple[int, int]:
    """ "C12" as (12, 2): the 1-based row and 0-based column."""
    m = _CELL.fullmatch(ref)
    if not m:
        raise ValueError(f"bad cell reference {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col - 1


def sheet_geometry(path: Path) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Of the workbook's first sheet: the row and column of its first cell with a value (where the
    values calamine reads start) and its merged ranges (top, left, bottom, right), read from the
    sheet's XML."""
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    with zipfile.ZipFile(path) as book:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        sheet = workbook.find(f"{main}sheets/{main}sheet")
        if sheet is None:
            raise InputError(f"{path}: the workbook has no sheet")
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        target = next(r.get("Target", "") for r in rels if r.get("Id") == sheet.get(f"{rel}id"))
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        first_row, first_col = 0, 1 << 20
        merges: list[tuple[int, int, int, int]] = []
        with book.open(name) as xml:
            for _, element in ElementTree.iterparse(xml):
                tag = element.tag
                if tag == f"{main}c":
                    if element.find(f"{main}v") is not None or element.find(f"{main}is") is not None:
                        row, col = _cell(element.get("r", "A1"))
                        first_row = first_row or row
                        first_col = min(first_col, col)
                elif tag == f"{main}row":
                    element.clear()  # keep the memory flat on a long sheet
                elif tag == f"{main}mergeCell":
                    top_left, _, bottom_right = element.get("ref", "").partition(":")
                    (top, left), (bottom, right) = _cell(top_left), _cell(bottom_right or top_left)
                    merges.append((top, left, bottom, right))
    return first_row or 1, 0 if first_col == 1 << 20 else first_col, merges


# --- the header -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _combine(upper: Sequence[Any], lower: Sequence[Any], fill_left: bool) -> list[str]:
    """One name per column from two header rows: "upper / lower", or the one that is there. With
    `fill_left` (CSV, where a merged group header is in its first cell only) an empty upper cell
    over a named lower one takes the upper cell on its left."""
    width = max(len(upper), len(lower))
    names, group = [], ""
    for i in range(width):
        u = _text(upper[i]) if i < len(upper) else ""
        lo = _text(lower[i]) if i < len(lower) else ""
        if u:
            group = u
        elif fill_left and lo:
            u = group
        names.append(lo if not u or u == lo else u if not lo else f"{u} / {lo}")
    return names


def find_header(head: list[list[Any]], fill_left: bool) -> tuple[int, int, list[str]]:
    """(index of the first header row in `head`, 1 or 2 header rows, the column names).

    The header is the row whose cells best match known headers (the first row when none does),
    with the row below it when that adds recognised names (a second header row under group
    headers), or the row above it when that is a row of group headers.
    """
    if not head:
        return 0, 1, []
    single = [score([_text(c) for c in row]) for row in head[:HEAD_ROWS]]
    first = next((i for i, row in enumerate(head) if any(_text(c) for c in row)), 0)
    start = max(range(len(single)), key=lambda i: (single[i], -i))
    if single[start] < 2 or single[start] <= single[first]:
        start = first  # a lower row must clearly beat the first: a data row may hold a word like "Тип"
    height = 1
    if start + 1 < len(head) and _under(head[start], head[start + 1], fill_left) > single[start]:
        height = 2
    elif start > 0 and len({_text(c) for c in head[start - 1] if _text(c)}) >= 2:
        if _under(head[start - 1], head[start], fill_left) >= single[start]:
            start, height = start - 1, 2
    if height == 2:
        names = _combine(head[start], head[start + 1], fill_left)
    else:
        names = [_text(c) for c in head[start]]
    return start, height, _unique(names)


def _under(upper: Sequence[Any], lower: Sequence[Any], fill_left: bool) -> int:
    """The score of two rows as one header, or -1 when the lower one is not a header row: most of
    its own cells (those not the upper cell repeated by a merge) must be known headers, which a
    data row's cells, naming a firm, a code or a place, are not."""
    own = [_text(lo) for up, lo in itertools.zip_longest(upper, lower) if _text(lo) and _text(lo) != _text(up)]
    if len(own) < 2 or 2 * score(own) < len(own):
        return -1
    return score(_combine(upper, lower, fill_left))


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, name in enumerate(names):
        name = name or f"column {_letters(i)}"
        candidate, n = name, 1
        while candidate in out:
            n += 1
            candidate = f"{name} ({n})"
        out.append(candidate)
    return out


def _letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _numbers(start: int, height: int, first: int) -> tuple[int, ...]:
    return tuple(first + start + i for i in range(height))


def _row(number: int, names: list[str], cells: Sequence[Any]) -> tuple[int, dict[str, Any] | None, str | None]:
    record: dict[str, Any] = dict(zip(names, cells, strict=False))
    extra = [c for c in cells[len(names) :] if _text(c)]
    if extra:
        for i, value in enumerate(cells[len(names) :]):
            record[f"column {_letters(len(names) + i)}"] = value
        return (
            number,
            record,
            (
                f"{len(names) + len(extra)} cells but the header has {len(names)} columns "
                "(a delimiter inside a cell that is not quoted?)"
            ),
        )
    return number, record, None
