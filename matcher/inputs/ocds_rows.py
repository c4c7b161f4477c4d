"""One compiled OCDS release read into rows of the history tables (see :mod:`matcher.inputs.ocds`).

Used by `matcher import-ocds` for every release of a file and by :mod:`matcher.inputs.ocds_tender`
for the one release of a tender, so a tender reads exactly as it does in the history.

Organisations (suppliers and buyers) get a global key: ``<scheme>-<id>`` of their identifier,
else their party id, else ``NAME:<name lower-cased>``. Item classifications become codes: CPV
in its canonical form with check digit where the vocabulary knows it, else ``SCHEME:id``. A text
missing in the release's field is looked up in its translations (``title_en``, ...).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from matcher.inputs.ocds_files import clean_text as _text
from matcher.taxonomy import Taxonomy

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# --- field helpers ----------------------------------------------------------------------


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objs(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):  # a single object where a list belongs (seen in Paraguay's contracts)
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [t for v in value if (t := _text(v))] if isinstance(value, list) else []


def _localised(obj: dict[str, Any], key: str, lang: str | None) -> str | None:
    """obj[key], else its translation for the release language (Canada: name_en), else any translation."""
    found = _text(obj.get(key))
    if found is None and lang:
        found = _text(obj.get(f"{key}_{lang.lower()}")) or _text(obj.get(f"{key}_{lang.split('-')[0].lower()}"))
    if found is None:
        found = next((t for k, v in sorted(obj.items()) if k.startswith(key + "_") and (t := _text(v))), None)
    return found


def _amount(value: Any) -> tuple[float | None, str | None]:
    value = _obj(value)
    amount = value.get("amount")
    number: float | None = None
    if isinstance(amount, int | float) and not isinstance(amount, bool):
        number = float(amount)
    elif isinstance(amount, str):
        try:
            number = float(amount)
        except ValueError:
            number = None
    if number is not None and not math.isfinite(number):
        number = None
    return number, _text(value.get("currency"))


def parse_date(value: Any) -> date | None:
    """An ISO date or date-time (any zone, kept as written) as a date; None if it is not one."""
    if not isinstance(value, str) or not _DATE_RE.match(value.strip()):
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def format_code(classification: Any, taxonomy: Taxonomy) -> str | None:
    """A classification as a code: canonical CPV ("45221111-3"), else "SCHEME:id" ("UNSPSC:72141000")."""
    classification = _obj(classification)
    scheme, code = _text(classification.get("scheme")), _text(classification.get("id"))
    if scheme is None or code is None:
        return None
    scheme = "".join(scheme.split()).upper()
    if scheme == "CPV":
        digits = code.replace(" ", "")[:8]
        return taxonomy.cpv_canonical.get(digits) or f"CPV:{code}"
    return f"{scheme}:{code}"


def _codes(items: list[dict[str, Any]], taxonomy: Taxonomy) -> list[str]:
    codes: dict[str, None] = {}
    for item in items:
        for c in [item.get("classification"), *_objs(item.get("additionalClassifications"))]:
            code = format_code(c, taxonomy)
            if code is not None:
                codes[code] = None
    return list(codes)


def organisation_key(org: dict[str, Any], name: str | None) -> str | None:
    """The global key of an organisation: identifier "<scheme>-<id>", else its id, else "NAME:<name>"."""
    identifier = _obj(org.get("identifier"))
    scheme, number = _text(identifier.get("scheme")), _text(identifier.get("id"))
    if scheme and number:
        return number if number.upper().startswith(scheme.upper() + "-") else f"{scheme}-{number}"
    party_id = _text(org.get("id"))
    if party_id:
        return party_id
    return "NAME:" + " ".join(name.lower().split()) if name else None


def _resolve(ref: dict[str, Any], parties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An organisation reference joined with its party (1.1); in 1.0 the reference is the organisation."""
    party = parties.get(_text(ref.get("id")) or "", {})
    org = dict(party)
    for key, value in ref.items():
        if org.get(key) in (None, "", {}, []):
            org[key] = value
    return org


# --- rows -------------------------------------------------------------------------------


@dataclass
class ReleaseRows:
    """The history tables' rows that releases are read into (by `import-ocds`, and for one OCDS tender)."""

    tenders: list[dict[str, Any]] = field(default_factory=list)
    lots: list[dict[str, Any]] = field(default_factory=list)
    awards: list[dict[str, Any]] = field(default_factory=list)
    suppliers: list[dict[str, Any]] = field(default_factory=list)


def add_release(rows: ReleaseRows, release: dict[str, Any], source: str, taxonomy: Taxonomy) -> None:
    """Read one compiled release into `rows`: its tender, lots, awards and suppliers."""
    ocid = release["ocid"]
    lang = _text(release.get("language"))
    tender = _obj(release.get("tender"))
    items = _objs(tender.get("items"))
    parties = {pid: p for p in _objs(release.get("parties")) if (pid := _text(p.get("id")))}
    award_dates = _add_awards(rows, ocid, _objs(release.get("awards")), parties, lang)
    _add_lots(rows, ocid, _objs(tender.get("lots")), items, lang, taxonomy)

    # no buyer reference: the party in the buyer role, else the procuring entity (Paraguay names only that)
    buyer_ref = (
        _obj(release.get("buyer"))
        or next((p for p in parties.values() if "buyer" in _strings(p.get("roles"))), {})
        or _obj(tender.get("procuringEntity"))
    )
    buyer = _resolve(buyer_ref, parties)
    buyer_name = _name(buyer, lang)
    dates = [parse_date(_obj(tender.get("tenderPeriod")).get("startDate")), parse_date(tender.get("datePublished")),
             parse_date(release.get("date"))]  # fmt: skip
    value, currency = _amount(tender.get("value"))
    rows.tenders.append({
        "ocid": ocid, "tender_id": _text(tender.get("id")), "title": _localised(tender, "title", lang),
        "description": _localised(tender, "description", lang), "buyer_id": organisation_key(buyer, buyer_name),
        "buyer_name": buyer_name, "date": min((d for d in dates if d), default=None),
        "award_date": min(award_dates, default=None), "value": value, "currency": currency, "language": lang,
        "category": _text(tender.get("mainProcurementCategory")), "codes": _codes(items, taxonomy), "source": source,
    })  # fmt: skip


def _name(org: dict[str, Any], lang: str | None) -> str | None:
    """An organisation's name, else its identifier's legal name."""
    return _localised(org, "name", lang) or _localised(_obj(org.get("identifier")), "legalName", lang)


def _add_awards(
    rows: ReleaseRows, ocid: str, awards: list[dict[str, Any]], parties: dict[str, dict[str, Any]], lang: str | None
) -> list[date]:
    """The awards of one release (and their suppliers, each once per release); returns the award dates."""
    award_dates = []
    seen_suppliers: set[str] = set()
    for award in awards:
        ids, names = _add_suppliers(rows, ocid, _objs(award.get("suppliers")), parties, lang, seen_suppliers)
        lot_ids = _strings(award.get("relatedLots"))
        if not lot_ids and _text(award.get("lotID")):  # Prozorro names the one lot of an award lotID
            lot_ids = [str(_text(award.get("lotID")))]
        award_date = parse_date(award.get("date"))
        if award_date is not None:
            award_dates.append(award_date)
        value, currency = _amount(award.get("value"))
        rows.awards.append({
            "ocid": ocid, "award_id": _text(award.get("id")), "date": award_date, "status": _text(award.get("status")),
            "value": value, "currency": currency, "title": _localised(award, "title", lang),
            "description": _localised(award, "description", lang), "lot_ids": lot_ids,
            "supplier_ids": ids, "supplier_names": names,
        })  # fmt: skip
    return award_dates


def _add_suppliers(
    rows: ReleaseRows,
    ocid: str,
    refs: list[dict[str, Any]],
    parties: dict[str, dict[str, Any]],
    lang: str | None,
    seen: set[str],
) -> tuple[list[str], list[str | None]]:
    """The suppliers of one award, by key and name; a supplier not in `seen` also gets its row."""
    ids: list[str] = []
    names: list[str | None] = []
    for ref in refs:
        org = _resolve(ref, parties)
        name = _name(org, lang)
        key = organisation_key(org, name)
        if key is None or key in ids:
            continue  # nothing to know the supplier by, or listed twice
        ids.append(key)
        names.append(name)
        if key not in seen:
            seen.add(key)
            identifier, address = _obj(org.get("identifier")), _obj(org.get("address"))
            rows.suppliers.append({
                "ocid": ocid, "supplier_id": key, "party_id": _text(ref.get("id")), "name": name,
                "identifier_scheme": _text(identifier.get("scheme")), "identifier_id": _text(identifier.get("id")),
                "country": _localised(address, "countryName", lang), "region": _text(address.get("region")),
            })  # fmt: skip
    return ids, names


def _add_lots(
    rows: ReleaseRows,
    ocid: str,
    lots: list[dict[str, Any]],
    items: list[dict[str, Any]],
    lang: str | None,
    taxonomy: Taxonomy,
) -> None:
    for lot in lots:
        lot_id = _text(lot.get("id"))
        listed = set(_strings(lot.get("items")))  # Paraguay lists item ids on the lot
        lot_items = [it for it in items if _text(it.get("relatedLot")) == lot_id or _text(it.get("id")) in listed]
        value, currency = _amount(lot.get("value"))
        rows.lots.append({
            "ocid": ocid, "lot_id": lot_id, "title": _localised(lot, "title", lang),
            "description": _localised(lot, "description", lang), "value": value, "currency": currency,
            "codes": _codes(lot_items, taxonomy),
        })  # fmt: skip
