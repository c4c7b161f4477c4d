"""An OCDS release, record or package of one contracting process, read as a tender to match.

The release is found and compiled by the importer's own code (:mod:`matcher.inputs.ocds_files`) and
read into rows by the same function as `matcher import-ocds` (so a tender reads here exactly as
it does in the history); the rows then become a tender in the project's own format, which
:func:`matcher.inputs.tenders.parse_tender` validates. Codes the taxonomy does not know (an unknown CPV,
a national scheme) are dropped: a tender is matched on the codes it shares with the members.
"""

from __future__ import annotations

from typing import Any

from matcher.errors import TenderError, UnknownCode
from matcher.inputs.ocds_files import OcdsReject, compile_groups, found_in
from matcher.inputs.ocds_rows import ReleaseRows, add_release  # the importer's row builder: one reading of OCDS
from matcher.taxonomy import Taxonomy, load_taxonomy

_CONTAINER_KEYS = ("releases", "records", "compiledRelease", "versionedRelease")
# Releases and records in one document read as a tender: one process has a handful, and each
# costs a merge (ocdsmerge) before the document can be refused for holding several processes.
MAX_RELEASES = 1000


def looks_like_ocds(data: Any) -> bool:
    """Whether parsed JSON/YAML is OCDS rather than a tender in the project's format.

    A project tender has no ``tender`` object and no ``releases``/``records``; an OCDS release has
    a ``tender`` object, a record or package one of the others.
    """
    return isinstance(data, dict) and (
        isinstance(data.get("tender"), dict) or any(key in data for key in _CONTAINER_KEYS)
    )


def release_count(data: dict[str, Any]) -> int:
    """The releases and records of a package or record, those inside its records included."""
    count = 0
    for key in ("releases", "records"):
        items = data.get(key)
        if isinstance(items, list):
            count += len(items)
            count += sum(
                len(r["releases"]) for r in items if isinstance(r, dict) and isinstance(r.get("releases"), list)
            )
    return count


def refuse_over(data: dict[str, Any], source: str, limit: int, what: str, advice: str) -> None:
    """TenderError when a document holds more than ``limit`` releases and records (before any is merged)."""
    count = release_count(data)
    if count > limit:
        raise TenderError(
            f"{source}: holds {count:,} releases and records, over the limit of {limit:,} for one {what}; {advice}"
        )


def _known(codes: list[str] | None, taxonomy: Taxonomy) -> list[str]:
    out = []
    for code in codes or ():
        try:
            taxonomy.normalise(code)
        except UnknownCode:
            continue
        out.append(code)
    return out


def native_tender(data: dict[str, Any], source: str = "<tender>") -> dict[str, Any]:
    """The tender of one OCDS contracting process (a release, a record, or a package holding one),
    in the project's own tender format, for :func:`matcher.inputs.tenders.parse_tender` to validate.

    Returns:
        dict: lots from ``tender.lots`` (with the codes of their items), else one lot made of the
        tender's own fields; the deadline from ``tender.tenderPeriod.endDate``.

    Raises:
        TenderError: not OCDS, no release with an ocid, more than one process, more than
            ``MAX_RELEASES`` releases and records, or nothing to match on.

    Example:
        >>> native_tender({"ocid": "ocds-1", "tender": {"title": "Road bridge repair"}})["lots"][0]["title"]
        'Road bridge repair'
    """
    refuse_over(data, source, MAX_RELEASES, "tender", "send the release or record of one contracting process")
    rejects: list[OcdsReject] = []
    found = list(found_in(data, "", source, rejects))
    compiled = compile_groups(found, rejects) if found else []
    if not compiled:
        reasons = "; ".join(f"{r.where}: {r.reason}" if r.where not in ("", "$") else r.reason for r in rejects)
        raise TenderError(f"{source}: not a readable OCDS release ({reasons or 'no release found'})")
    if len(compiled) > 1:
        ocids = ", ".join(str(release["ocid"]) for release, _ in compiled[:5])
        raise TenderError(
            f"{source}: holds {len(compiled)} contracting processes ({ocids}{', …' if len(compiled) > 5 else ''}); "
            "send one release or record at a time"
        )
    release, _ = compiled[0]
    taxonomy = load_taxonomy()
    rows = ReleaseRows()
    add_release(rows, release, source, taxonomy)
    head = rows.tenders[0]
    tender = release.get("tender")
    period = tender.get("tenderPeriod") if isinstance(tender, dict) else None
    deadline = period.get("endDate") if isinstance(period, dict) else None
    deadline = deadline if isinstance(deadline, str) else None
    native: dict[str, Any] = {
        "id": head["tender_id"] or head["ocid"],
        "title": head["title"],
        "description": head["description"],
        "buyer": head["buyer_name"],
        "value": head["value"],
        "currency": head["currency"],
        "deadline": deadline[:10] if deadline else None,  # "2015-01-31T00:00:00Z": the date is what counts
        "codes": _known(head["codes"], taxonomy),
        "language": head["language"],
        "lots": [
            {
                "id": lot["lot_id"],
                "title": lot["title"],
                "description": lot["description"],
                "value": lot["value"],
                "codes": _known(lot["codes"], taxonomy),
            }
            for lot in rows.lots
        ],
    }
    return native
