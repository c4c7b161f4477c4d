"""Read OCDS (Open Contracting Data Standard) files into tidy tables of procurement history.

Accepted shapes: release packages, record packages, a single release or record, JSON Lines of
any of these, plain or gzip (recognised by its magic bytes), OCDS 1.0 (organisations inline)
and 1.1 (``parties`` referenced by id). Each contracting process (``ocid``) becomes one
compiled release: a record's ``compiledRelease``; else its embedded ``releases`` compiled with
ocdsmerge; else its ``versionedRelease`` with the latest value of every field. Releases of one
ocid met across the inputs of one call (Paraguay publishes planning, tender, award and contract
in separate files) are compiled together.

The tables (column names and dtypes in :func:`table_schema`), one row per compiled release in
``tenders``, per lot, per award, and per (ocid, supplier)::

    tenders    ocid tender_id title description buyer_id buyer_name date award_date value currency
               language category codes source
    lots       ocid lot_id title description value currency codes
    awards     ocid award_id date status value currency title description lot_ids supplier_ids
               supplier_names
    suppliers  ocid supplier_id party_id name identifier_scheme identifier_id country region

``source`` is the input file, or the files joined by "; " when a process was compiled from several.
Organisations (suppliers and buyers) get a global key: ``<scheme>-<id>`` of their identifier,
else their party id, else ``NAME:<name lower-cased>``. Item classifications become codes: CPV
in its canonical form with check digit where the vocabulary knows it, else ``SCHEME:id``.

A file that is not OCDS, a release without an ocid or a line of invalid JSON is an
:class:`OcdsReject`; the rest of the file still loads. A file that cannot be opened raises
InputError.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import InputError
from matcher.inputs.ocds_files import (  # noqa: F401  (re-exported: part of this module's API)
    MERGE_RULES_1_0,
    MERGE_RULES_1_1,
    Found,
    OcdsReject,
    compile_groups,
    compile_releases,
    documents,
    found_in,
)
from matcher.inputs.ocds_files import clean_text as _text
from matcher.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    import polars as pl

    from matcher.store.workspace import Workspace

TABLE_NAMES = ("tenders", "lots", "awards", "suppliers")
HISTORY_DIR = "history"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass
class OcdsTables:
    """What :func:`read_ocds` produced: four tables, the rejects, and the number of compiled releases."""

    tenders: pl.DataFrame
    lots: pl.DataFrame
    awards: pl.DataFrame
    suppliers: pl.DataFrame
    rejects: list[OcdsReject] = field(default_factory=list)
    releases: int = 0


def table_schema(name: str) -> dict[str, Any]:
    """Column names and polars dtypes of one history table ("tenders", "lots", "awards", "suppliers")."""
    import polars as pl

    s, f, d, codes = pl.String, pl.Float64, pl.Date, pl.List(pl.String)
    schemas: dict[str, dict[str, Any]] = {
        "tenders": {
            "ocid": s, "tender_id": s, "title": s, "description": s, "buyer_id": s, "buyer_name": s,
            "date": d, "award_date": d, "value": f, "currency": s, "language": s, "category": s,
            "codes": codes, "source": s,
        },
        "lots": {"ocid": s, "lot_id": s, "title": s, "description": s, "value": f, "currency": s, "codes": codes},
        "awards": {
            "ocid": s, "award_id": s, "date": d, "status": s, "value": f, "currency": s, "title": s,
            "description": s, "lot_ids": codes, "supplier_ids": codes, "supplier_names": codes,
        },
        "suppliers": {
            "ocid": s, "supplier_id": s, "party_id": s, "name": s, "identifier_scheme": s,
            "identifier_id": s, "country": s, "region": s,
        },
    }  # fmt: skip
    return schemas[name]


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

    # no buyer reference: the party in the buyer role, else the procuring entity (Paraguay names only that)
    buyer_ref = (
        _obj(release.get("buyer"))
        or next((p for p in parties.values() if "buyer" in _strings(p.get("roles"))), {})
        or _obj(tender.get("procuringEntity"))
    )
    buyer = _resolve(buyer_ref, parties)
    buyer_name = _localised(buyer, "name", lang) or _localised(_obj(buyer.get("identifier")), "legalName", lang)

    award_dates = []
    seen_suppliers: set[str] = set()
    for award in _objs(release.get("awards")):
        ids, names = [], []
        for ref in _objs(award.get("suppliers")):
            org = _resolve(ref, parties)
            name = _localised(org, "name", lang) or _localised(_obj(org.get("identifier")), "legalName", lang)
            key = organisation_key(org, name)
            if key is None or key in ids:
                continue  # nothing to know the supplier by, or listed twice
            ids.append(key)
            names.append(name)
            if key not in seen_suppliers:
                seen_suppliers.add(key)
                identifier, address = _obj(org.get("identifier")), _obj(org.get("address"))
                rows.suppliers.append({
                    "ocid": ocid, "supplier_id": key, "party_id": _text(ref.get("id")), "name": name,
                    "identifier_scheme": _text(identifier.get("scheme")), "identifier_id": _text(identifier.get("id")),
                    "country": _localised(address, "countryName", lang), "region": _text(address.get("region")),
                })  # fmt: skip
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

    for lot in _objs(tender.get("lots")):
        lot_id = _text(lot.get("id"))
        listed = set(_strings(lot.get("items")))  # Paraguay lists item ids on the lot
        lot_items = [it for it in items if _text(it.get("relatedLot")) == lot_id or _text(it.get("id")) in listed]
        value, currency = _amount(lot.get("value"))
        rows.lots.append({
            "ocid": ocid, "lot_id": lot_id, "title": _localised(lot, "title", lang),
            "description": _localised(lot, "description", lang), "value": value, "currency": currency,
            "codes": _codes(lot_items, taxonomy),
        })  # fmt: skip

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


def read_ocds(paths: Sequence[str | os.PathLike[str]]) -> OcdsTables:
    """Read OCDS files into the four history tables.

    Args:
        paths: JSON or JSON Lines files, plain or gzip, holding packages, records or releases.

    Raises:
        InputError: a file cannot be opened (what is wrong inside a file becomes a reject).

    Example:
        >>> tables = read_ocds(["releases.jsonl.gz"])  # doctest: +SKIP
        >>> tables.releases, tables.awards.height, [str(r) for r in tables.rejects]
    """
    import polars as pl

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    rejects: list[OcdsReject] = []
    found: list[Found] = []
    for path in dict.fromkeys(Path(p) for p in paths):  # a file given twice is read once
        for where, doc in documents(path, rejects):
            found.extend(found_in(doc, where, str(path), rejects))
    taxonomy = load_taxonomy()
    rows = ReleaseRows()
    compiled = compile_groups(found, rejects)
    for release, source in compiled:
        add_release(rows, release, source, taxonomy)
    frames = {name: pl.DataFrame(getattr(rows, name), schema=table_schema(name)) for name in TABLE_NAMES}
    return OcdsTables(**frames, rejects=rejects, releases=len(compiled))


# --- the workspace ----------------------------------------------------------------------


def rejects_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def _write_rejects(path: Path, rejects: list[OcdsReject], fallback_dir: Path) -> Path | None:
    target = rejects_path_for(path)
    if not rejects:  # a rejects file of an earlier run describes an older input
        for stale in (target, fallback_dir / target.name):
            if stale.exists() and os.access(stale.parent, os.W_OK):
                stale.unlink()
        return None
    if not os.access(path.parent, os.W_OK):
        fallback_dir.mkdir(parents=True, exist_ok=True)
        target = fallback_dir / target.name
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rejects:
            f.write(json.dumps({"file": r.file, "where": r.where, "reason": r.reason}, ensure_ascii=False) + "\n")
    os.replace(tmp, target)
    return target


def import_ocds(paths: Sequence[str | os.PathLike[str]], workspace: Workspace) -> OcdsTables:
    """Read OCDS files and add them to the workspace's history tables.

    Writes ``<workspace>/history/{tenders,lots,awards,suppliers}.parquet`` atomically. The rows
    of an ocid already stored are replaced by the new ones, so importing a file twice changes
    nothing and importing another adds to the tables. Rejects go to ``<input>.rejects.jsonl``
    beside each input that had any (into ``<workspace>/rejects/`` when that folder is read-only);
    a stale rejects file beside a clean input is removed.

    Raises:
        InputError: a file cannot be opened, or no release at all could be read (the
            workspace is then left as it was).

    Example:
        >>> tables = import_ocds(["releases-2019-2023.jsonl"], Workspace(Path("ws")))  # doctest: +SKIP
    """
    import polars as pl

    from matcher.store.files import fsync_dir, fsync_file

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    inputs = [Path(p) for p in paths]
    if not inputs:
        raise InputError("no OCDS files given")
    tables = read_ocds(inputs)
    if tables.releases == 0:
        reasons = "; ".join(str(r) for r in tables.rejects[:3]) or "no releases in them"
        more = f" (and {len(tables.rejects) - 3} more)" if len(tables.rejects) > 3 else ""
        raise InputError(
            f"no OCDS release could be read from {', '.join(map(str, inputs))}: {reasons}{more}; "
            "give release or record packages, releases, records or JSON Lines of them"
        )
    history = workspace.root / HISTORY_DIR
    history.mkdir(parents=True, exist_ok=True)
    new_ocids = tables.tenders["ocid"]
    staged: list[tuple[Path, Path]] = []
    try:
        for name in TABLE_NAMES:
            target = history / f"{name}.parquet"
            frame: pl.DataFrame = getattr(tables, name)
            if target.exists():
                try:
                    old = pl.read_parquet(target)
                    frame = pl.concat([old.filter(~pl.col("ocid").is_in(new_ocids.to_list())), frame])
                except Exception as exc:
                    raise InputError(
                        f"{target}: unreadable or of another layout ({type(exc).__name__}); delete it and import again"
                    ) from None
            tmp = history / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
            frame.write_parquet(tmp)
            fsync_file(tmp)
            staged.append((tmp, target))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:  # all four written before any replaces its table
        os.replace(tmp, target)
    fsync_dir(history)
    by_file: dict[str, list[OcdsReject]] = {}
    for r in tables.rejects:
        by_file.setdefault(r.file, []).append(r)
    for path in dict.fromkeys(inputs):
        _write_rejects(path, by_file.get(str(path), []), workspace.rejects_dir)
    workspace.record_sources("ocds", inputs)
    return tables


def read_history(workspace: Workspace) -> OcdsTables | None:
    """The history tables stored by :func:`import_ocds`, or None when nothing was imported."""
    import polars as pl

    history = workspace.root / HISTORY_DIR
    if not (history / "tenders.parquet").exists():
        return None
    frames = {}
    for name in TABLE_NAMES:
        path = history / f"{name}.parquet"
        try:
            frames[name] = pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=table_schema(name))
        except Exception as exc:
            raise InputError(f"{path}: unreadable ({type(exc).__name__}); import the OCDS files again") from None
    return OcdsTables(
        frames["tenders"], frames["lots"], frames["awards"], frames["suppliers"], [], frames["tenders"].height
    )
