"""Read a tender from a JSON or YAML file and validate it.

A tender without lots becomes one lot built from its own fields, so that everything
downstream deals with lots only.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from matcher.errors import TenderError
from matcher.fields import FieldError, as_list, blank, number, parse_codes, text
from matcher.schema import Lot, Tender
from matcher.taxonomy import load_taxonomy

TENDER_SUFFIXES = (".json", ".yaml", ".yml")


def _date(value: Any, name: str) -> date | None:
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise FieldError(name, f"expected a date like 2026-12-18, got {value!r}") from None


def _lot(raw: dict[str, Any], where: str, default_id: str, region: str | None) -> Lot:
    taxonomy = load_taxonomy()
    lot = Lot(
        id=text(raw.get("id"), f"{where}.id") or default_id,
        title=text(raw.get("title"), f"{where}.title"),
        description=text(raw.get("description"), f"{where}.description"),
        codes=parse_codes(raw.get("codes"), f"{where}.codes", taxonomy),
        value=number(raw.get("value"), f"{where}.value"),
        certifications=tuple(as_list(raw.get("certifications"), f"{where}.certifications")),
        region=(text(raw.get("region"), f"{where}.region") or region or "").upper() or None,
    )
    if not (lot.title or lot.description or lot.codes):
        raise FieldError(where, "lot has no title, description or codes: nothing to match on")
    return lot


def parse_tender(data: Any, source: str = "<tender>") -> Tender:
    """Validate a tender given as a dict (parsed JSON/YAML).

    Raises:
        TenderError: naming the source and the field, e.g. ``lots[2].codes``.
    """
    if not isinstance(data, dict):
        raise TenderError(f"{source}: expected a tender object, got {type(data).__name__}")
    try:
        title = text(data.get("title"), "title")
        description = text(data.get("description"), "description")
        region = text(data.get("region"), "region").upper() or None
        raw_lots = data.get("lots")
        if blank(raw_lots) or raw_lots == []:
            if not (title or description or data.get("codes")):
                raise FieldError("title", "tender has no title, description, codes or lots: nothing to match on")
            raw_lots = [{
                "id": "1", "title": title, "description": description, "codes": data.get("codes"),
                "value": data.get("value"), "certifications": data.get("certifications"),
            }]  # fmt: skip
        if not isinstance(raw_lots, list):
            raise FieldError("lots", f"expected a list of lots, got {type(raw_lots).__name__}")
        tender_certs = as_list(data.get("certifications"), "certifications")
        lots = []
        for i, raw in enumerate(raw_lots):
            if not isinstance(raw, dict):
                raise FieldError(f"lots[{i}]", f"expected an object, got {type(raw).__name__}")
            lot = _lot(raw, f"lots[{i}]", str(i + 1), region)
            if tender_certs:  # tender-wide requirements apply to every lot
                merged = tuple(dict.fromkeys([*lot.certifications, *tender_certs]))
                lot = Lot(**{**lot.__dict__, "certifications": merged})
            lots.append(lot)
        ids = [lot.id for lot in lots]
        duplicates = sorted({x for x in ids if ids.count(x) > 1})
        if duplicates:
            raise FieldError("lots", f"duplicate lot id(s): {', '.join(duplicates)}")
        tender_id = text(data.get("id") or data.get("ocid"), "id") or Path(source).stem
        return Tender(
            id=tender_id,
            title=title or lots[0].title,
            description=description,
            buyer=text(data.get("buyer"), "buyer") or None,
            region=region,
            value=number(data.get("value"), "value"),
            currency=text(data.get("currency"), "currency") or None,
            deadline=_date(data.get("deadline"), "deadline"),
            lots=tuple(lots),
        )
    except FieldError as exc:
        raise TenderError(f"{source}, field '{exc.field}': {exc.reason}") from None


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
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TenderError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TenderError(f"{path}: cannot read ({exc})") from None
    if not content.strip():
        raise TenderError(f"{path}: the file is empty")
    try:
        if suffix == ".json":
            data = json.loads(content)
        else:
            import yaml

            data = yaml.safe_load(content)
    except json.JSONDecodeError as exc:
        raise TenderError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TenderError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_tender(data, str(path))
