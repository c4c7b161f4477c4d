"""Read a tender from a JSON or YAML file (or text, or parsed data) and validate it.

A tender without lots becomes one lot built from its own fields, so that everything
downstream deals with lots only. An OCDS release, record or package of one contracting
process is read too (see :mod:`matcher.inputs.ocds_tender`).

Tenders come from people and from HTTP requests, so the text is refused before it is built when
it could cost more than its size: a YAML alias (a "billion laughs" document multiplies a few
lines into billions of values), containers nested deeper than ``MAX_DEPTH`` (in YAML or JSON),
or YAML of more than ``MAX_YAML_NODES`` values (JSON, read in C, has only the body's limit).
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import TenderError
from matcher.i18n import tr
from matcher.inputs.fields import FieldError, as_list, blank, number, parse_codes, text
from matcher.language import normalise_language
from matcher.schema import Lot, Tender
from matcher.taxonomy import load_taxonomy

if TYPE_CHECKING:
    import yaml

TENDER_SUFFIXES = (".json", ".yaml", ".yml")
MAX_DEPTH = 50  # lists and objects inside each other; a tender needs 4, an OCDS record about 10
# Values in a YAML tender. PyYAML's safe loader is pure Python, ~40 µs and ~700 bytes a value:
# a 1 MB flow list of 500,000 numbers took 20 s and 330 MB. A tender has a few hundred values.
MAX_YAML_NODES = 20_000

# A JSON string (skipped whole, brackets in it are text) or a bracket: all the depth check reads.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')


class _Refused(Exception):
    """Text refused before it is built: a YAML alias, or nesting past MAX_DEPTH."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _too_deep() -> str:
    return f"lists and objects nested more than {MAX_DEPTH} deep; a tender needs a few levels, not that many"


def _check_json_depth(content: str) -> None:
    """Raises _Refused at the first bracket past MAX_DEPTH, before json.loads recurses into it."""
    depth = 0
    for match in _JSON_TOKEN.finditer(content):
        char = content[match.start()]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(content.count("\n", 0, match.start()) + 1, _too_deep())
        elif char in "]}":
            depth -= 1


@functools.cache
def _yaml_loader() -> type[yaml.SafeLoader]:
    """PyYAML's SafeLoader, refusing aliases and deep nesting while it composes the node tree.

    The composer meets every node once, in document order, before anything is constructed: an
    alias is refused where it stands (so a billion laughs never multiplies), a collection past
    MAX_DEPTH before the parser reads further into it (so a deep one never recurses), and the
    node past MAX_YAML_NODES before the rest is read.
    """
    import yaml
    from yaml.events import AliasEvent, CollectionStartEvent

    class TenderLoader(yaml.SafeLoader):
        depth = 0
        nodes = 0

        def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
            event = self.peek_event()
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, AliasEvent):
                raise _Refused(
                    line, f"a YAML alias (*{str(event.anchor)[:40]}); a tender needs none, write the value out in full"
                )
            self.nodes += 1
            if self.nodes > MAX_YAML_NODES:
                raise _Refused(
                    line, f"more than {MAX_YAML_NODES:,} values in YAML; a tender has a few hundred. "
                    "Send a large document (an OCDS package) as JSON",
                )  # fmt: skip
            if not isinstance(event, CollectionStartEvent):
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Refused(line, _too_deep())
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return TenderLoader


def _date(value: Any, name: str) -> date | None:
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text_value = str(value).strip()
    try:
        return date.fromisoformat(text_value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text_value).date()  # OCDS-style "2026-12-18T10:00:00Z"
    except ValueError:
        raise FieldError(name, tr("expected a date like 2026-12-18, got %(value)r", value=value)) from None


@dataclass(frozen=True)
class _TenderLevel:
    """Tender-level fields that lots inherit or add to."""

    title: str
    description: str
    region: str | None
    codes: tuple[str, ...]
    certifications: tuple[str, ...]
    value: float | None


def _lot(raw: dict[str, Any], where: str, default_id: str, tender: _TenderLevel) -> Lot:
    """One lot; it inherits the tender's region and codes when it has none of its own, and
    the tender's certifications always apply on top of its own."""
    codes = parse_codes(raw.get("codes"), f"{where}.codes", load_taxonomy()) or tender.codes
    certifications = as_list(raw.get("certifications"), f"{where}.certifications")
    lot = Lot(
        id=text(raw.get("id"), f"{where}.id") or default_id,
        title=text(raw.get("title"), f"{where}.title"),
        description=text(raw.get("description"), f"{where}.description"),
        codes=codes,
        value=number(raw.get("value"), f"{where}.value"),
        certifications=tuple(dict.fromkeys([*certifications, *tender.certifications])),
        region=text(raw.get("region"), f"{where}.region").upper() or tender.region,
    )
    if not (lot.title or lot.description or lot.codes):
        raise FieldError(where, tr("lot has no title, description or codes: nothing to match on"))
    return lot


def parse_tender(data: Any, source: str = "<tender>") -> Tender:
    """Validate a tender given as a dict (parsed JSON/YAML).

    An OCDS release, record or package (it has a ``tender`` object, ``releases`` or ``records``)
    is read as OCDS.

    Raises:
        TenderError: naming the source and the field, e.g. ``lots[2].codes``.
    """
    from matcher.inputs.ocds_tender import looks_like_ocds, native_tender

    if looks_like_ocds(data):
        data = native_tender(data, source)
    if data is None:
        raise TenderError(tr("%(source)s: the file has no content", source=source))
    if not isinstance(data, dict):
        raise TenderError(
            tr("%(source)s: expected a tender object, got %(type)s", source=source, type=type(data).__name__)
        )
    try:
        top = _TenderLevel(
            title=text(data.get("title"), "title"),
            description=text(data.get("description"), "description"),
            region=text(data.get("region"), "region").upper() or None,
            codes=parse_codes(data.get("codes"), "codes", load_taxonomy()),
            certifications=tuple(as_list(data.get("certifications"), "certifications")),
            value=number(data.get("value"), "value"),
        )
        deadline = _date(data.get("deadline"), "deadline")
        raw_lots = data.get("lots")
        if blank(raw_lots) or raw_lots == []:
            if not (top.title or top.description or top.codes):
                raise FieldError("title", tr("tender has no title, description, codes or lots: nothing to match on"))
            lots = [Lot("1", top.title, top.description, top.codes, top.value, top.certifications, top.region)]
        elif not isinstance(raw_lots, list):
            raise FieldError("lots", tr("expected a list of lots, got %(type)s", type=type(raw_lots).__name__))
        else:
            lots = []
            for i, raw in enumerate(raw_lots):
                if not isinstance(raw, dict):
                    raise FieldError(f"lots[{i}]", tr("expected an object, got %(type)s", type=type(raw).__name__))
                lots.append(_lot(raw, f"lots[{i}]", str(i + 1), top))
        ids = [lot.id for lot in lots]
        duplicates = sorted({x for x in ids if ids.count(x) > 1})
        if duplicates:
            raise FieldError("lots", tr("duplicate lot id(s): %(ids)s", ids=", ".join(duplicates)))
        return Tender(
            id=text(data.get("id") or data.get("ocid"), "id") or Path(source).stem,
            title=top.title or lots[0].title,
            description=top.description,
            buyer=text(data.get("buyer"), "buyer") or None,
            region=top.region,
            value=top.value,
            currency=text(data.get("currency"), "currency") or None,
            deadline=deadline,
            lots=tuple(lots),
            language=normalise_language(text(data.get("language"), "language")),
        )
    except FieldError as exc:
        raise TenderError(
            tr("%(source)s, field '%(field)s': %(reason)s", source=source, field=exc.field, reason=exc.reason)
        ) from None


def read_tender(path: str | os.PathLike[str]) -> Tender:
    """Read a tender from a ``.json``, ``.yaml`` or ``.yml`` file.

    Example:
        >>> tender = read_tender("data/sample/tenders/bridge-reconstruction.yaml")  # doctest: +SKIP
        >>> [lot.title for lot in tender.lots]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TENDER_SUFFIXES:
        raise TenderError(f"{path}: unsupported tender file type '{path.suffix}'; use .json, .yaml or .yml")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TenderError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TenderError(f"{path}: cannot read ({exc})") from None
    if not content.strip():
        raise TenderError(f"{path}: the file is empty")
    return parse_tender_text(content, str(path), suffix)


def parse_tender_text(content: str, source: str = "<tender>", suffix: str = ".yaml") -> Tender:
    """Validate a tender given as the text of a file: JSON when ``suffix`` is ".json", else YAML.

    Example:
        >>> parse_tender_text('{"title": "Bridge repair", "codes": ["45221111-3"]}', "body", ".json").lots[0].codes
        ('45221111-3',)
    """
    path = source  # errors name the source as read_tender names the file
    suffix = suffix.lower()
    if not content.strip():
        raise TenderError(f"{path}: the tender is empty")
    try:
        if suffix == ".json":
            _check_json_depth(content)
            data = json.loads(content)
        else:
            import yaml

            data = yaml.load(content, Loader=_yaml_loader())  # a SafeLoader, stricter still
    except _Refused as exc:
        raise TenderError(f"{path}, line {exc.line}: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise TenderError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise TenderError(f"{path}: nested too deeply to read") from None
    except ValueError as exc:
        if suffix == ".json":  # e.g. a number longer than Python reads
            raise TenderError(f"{path}: unreadable JSON ({exc})") from None
        raise TenderError(f"{path}: invalid YAML: {exc}") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TenderError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_tender(data, str(path))
