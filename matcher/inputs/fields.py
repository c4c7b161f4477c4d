"""Field parsers shared by the participant and tender readers.

Each parser takes a raw cell (text from CSV/XLSX, or a typed value from JSON/Parquet/YAML)
and either returns a clean value or raises FieldError naming the field and the reason.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from matcher.errors import UnknownCode
from matcher.i18n import N_, tr
from matcher.taxonomy import Taxonomy

_TRUE = {"true", "t", "yes", "y", "1", "да"}
_FALSE = {"false", "f", "no", "n", "0", "нет"}


class FieldError(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def blank(value: Any) -> bool:
    if isinstance(value, str):  # the common case first: this runs for every cell
        return not value.strip()
    return value is None or (isinstance(value, float) and math.isnan(value))


def text(value: Any, name: str, required: bool = False) -> str:
    if type(value) is str:  # fast path; split() and strip() agree on what whitespace is
        cleaned = " ".join(value.split())
        if cleaned:
            return _unescape(cleaned)
        if required:
            raise FieldError(name, tr("missing (required)"))
        return ""
    if blank(value):
        if required:
            raise FieldError(name, tr("missing (required)"))
        return ""
    if isinstance(value, (dict, list)):
        raise FieldError(name, tr("expected text, got %(type)s", type=type(value).__name__))
    return _unescape(" ".join(str(value).split()))


def _unescape(value: str) -> str:
    """Undo the apostrophe that CSV exports put before a formula-like cell (Excel's text prefix)."""
    return value[1:] if len(value) > 1 and value[0] == "'" and value[1] in "=+-@" else value


def as_list(value: Any, name: str, separators: str = ";\n") -> list[str]:
    if blank(value):
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except (json.JSONDecodeError, RecursionError, ValueError):  # also too deep or too long a number
                raise FieldError(name, tr("starts with '[' but is not a JSON list")) from None
        else:
            for sep in separators[1:]:
                stripped = stripped.replace(sep, separators[0])
            parts = (p.strip() for p in stripped.split(separators[0]))
            return [_unescape(p) for p in parts if p]
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if isinstance(item, (dict, list)):
                raise FieldError(name, tr("expected a list of texts, found %(type)s", type=type(item).__name__))
            if not blank(item):
                out.append(str(item).strip())
        return out
    return [str(value).strip()]


def _float(value: Any, name: str, expected: str) -> float:
    if isinstance(value, bool):
        raise FieldError(name, tr("expected %(expected)s, got %(value)r", expected=tr(expected), value=value))
    try:
        # spreadsheets and people write thousands with spaces (also non-breaking) or underscores
        return float(str(value).replace(" ", "").replace("_", "").replace("\u00a0", ""))
    except ValueError:
        raise FieldError(name, tr("expected %(expected)s, got %(value)r", expected=tr(expected), value=value)) from None


def integer(value: Any, name: str, low: int | None = None, high: int | None = None) -> int | None:
    if blank(value):
        return None
    parsed = _float(value, name, N_("a whole number"))
    if not parsed.is_integer():
        raise FieldError(name, tr("expected %(expected)s, got %(value)r", expected=tr("a whole number"), value=value))
    result = int(parsed)
    if (low is not None and result < low) or (high is not None and result > high):
        raise FieldError(name, tr("%(value)s is out of range %(low)s..%(high)s", value=result, low=low, high=high))
    return result


def number(value: Any, name: str) -> float | None:
    if blank(value):
        return None
    parsed = _float(value, name, N_("a number"))
    if not math.isfinite(parsed) or parsed < 0:
        raise FieldError(name, tr("expected a non-negative number, got %(value)r", value=value))
    return parsed


def boolean(value: Any, name: str) -> bool | None:
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise FieldError(name, tr("expected true or false, got %(value)r", value=value))


def parse_codes(
    value: Any, name: str, taxonomy: Taxonomy, normalise: Callable[[str], Sequence[str]] | None = None
) -> tuple[str, ...]:
    """Canonical codes from a list or a ';'/','-separated text; raises on an unknown code.

    `normalise` replaces ``taxonomy.normalise``, e.g. by a cached one (see :func:`cached_normalise`).
    """
    normalise = normalise or taxonomy.normalise
    codes: list[str] = []
    items = as_list(value, name, separators=";,\n")
    if isinstance(value, str):  # "42.11 Строительство дорог, мостов; 43.99": the codes without their names
        items = [code for code, _ in labelled(items) if code]
    for i, raw in enumerate(items):
        try:
            for code in normalise(raw):
                if code not in codes:
                    codes.append(code)
        except UnknownCode as exc:
            raise FieldError(name if isinstance(value, str) else f"{name}[{i}]", str(exc)) from None
    return tuple(codes)


_LABELLED = re.compile(r"(\d{2}(?:\.\d{1,2}){0,2}|\d{8}(?:-\d)?)(?:\s*[-–—:]\s*|\s+)(\D.*)", re.S)


def labelled(items: list[str]) -> list[tuple[str, str]]:
    """(code, name) of each item of a code list where codes may come with their names, as
    registers write them ("42.11 Строительство автомобильных дорог и автомагистралей"). A name
    with a comma in it was split into two items: an item after a named code that does not start
    with a digit continues that name. An item that is not "code name" is kept whole as the code,
    to be checked as one.

    >>> labelled(["42.11 Строительство дорог", "мостов", "43.99"])
    [('42.11', 'Строительство дорог, мостов'), ('43.99', '')]
    """
    out: list[tuple[str, str]] = []
    for item in items:
        item = item.strip()
        m = _LABELLED.fullmatch(item)
        if m:
            out.append((m.group(1), " ".join(m.group(2).split())))
        elif out and out[-1][1] and not item[:1].isdigit():
            out[-1] = (out[-1][0], f"{out[-1][1]}, {item}")
        else:
            out.append((item, ""))
    return out


def cached_normalise(taxonomy: Taxonomy, size: int = 1 << 16) -> Callable[[str], tuple[str, ...]]:
    """``taxonomy.normalise`` remembered per raw code: a table of 100k firms names a few thousand
    distinct codes. An unknown code raises each time, with the same message."""
    return functools.lru_cache(maxsize=size)(lambda raw: tuple(taxonomy.normalise(raw)))
