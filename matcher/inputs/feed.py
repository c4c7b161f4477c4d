"""A feed of new tenders: OCDS files or folders (releases, records, packages, JSON Lines, gzip,
e.g. a daily export) and the project's own tender YAML/JSON, read into tenders to match.

OCDS releases are gathered over every file first and compiled per ``ocid`` (a daily export
often holds several releases of one process in different files), then each process is read by
:func:`matcher.inputs.tenders.parse_tender` exactly as `matcher suggest` reads one. What cannot
be read is a :class:`~matcher.inputs.ocds_files.OcdsReject`; the rest of the feed still loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from matcher.errors import InputError, TenderError
from matcher.inputs.ocds_files import Found, OcdsReject, compile_groups, documents, found_in
from matcher.inputs.ocds_tender import MAX_RELEASES, looks_like_ocds, refuse_over
from matcher.inputs.tenders import parse_tender, read_tender
from matcher.schema import Tender

__all__ = ["FeedItem", "FeedRead", "read_feed", "read_feed_document"]

_SUFFIXES = (".json", ".jsonl", ".ndjson", ".jl", ".gz", ".yaml", ".yml")


@dataclass(frozen=True)
class FeedItem:
    """One tender of the feed, with the date it was published (None: the feed does not say) and its file."""

    tender: Tender
    published: date | None
    source: str


@dataclass(frozen=True)
class FeedRead:
    """The tenders of a feed, in the order met, and what could not be read."""

    items: tuple[FeedItem, ...]
    rejects: tuple[OcdsReject, ...]


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES))
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or folder; give OCDS files, tender files or folders of them")
    return out


def _date_of(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def published_of(release: dict[str, Any]) -> date | None:
    """When a process's tender was published: ``tender.datePublished``, else the tender period's
    start, else the (compiled) release's date."""
    tender = release.get("tender")
    tender = tender if isinstance(tender, dict) else {}
    period = tender.get("tenderPeriod")
    period = period if isinstance(period, dict) else {}
    for value in (tender.get("datePublished"), period.get("startDate"), release.get("date")):
        found = _date_of(value)
        if found is not None:
            return found
    return None


def read_feed(paths: Sequence[str | os.PathLike[str]]) -> FeedRead:
    """Every tender in the given files and folders (folders are read recursively, by suffix).

    Raises:
        InputError: no path, or a path that does not exist. A file that cannot be read, or a
            process that is not a tender, is a reject instead.

    Example:
        >>> [i.tender.id for i in read_feed(["data/sample/tenders"]).items][:2]  # doctest: +SKIP
    """
    if not paths:
        raise InputError("give a feed: OCDS files, tender files or folders; e.g. matcher opportunities today/")
    rejects: list[OcdsReject] = []
    items: list[FeedItem] = []
    found: list[Found] = []
    for path in _files(paths):
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                items.append(FeedItem(read_tender(path), None, str(path)))
            except TenderError as exc:
                rejects.append(OcdsReject(str(path), "$", str(exc)))
            continue
        for where, doc in documents(path, rejects):
            _add(doc, where, str(path), items, found, rejects)
    return _compiled(items, found, rejects)


MAX_FEED_RELEASES = 10 * MAX_RELEASES  # in one request body: a day's export is a file for the CLI


def read_feed_document(doc: Any, source: str = "<feed>", max_releases: int | None = MAX_FEED_RELEASES) -> FeedRead:
    """The tenders of one parsed JSON document: an OCDS package, record or release (of any number
    of processes), or a tender in the project's format (a request body, say).

    Raises:
        TenderError: more than ``max_releases`` releases and records (None: no limit), refused
            before any is compiled.
    """
    if max_releases is not None and isinstance(doc, dict):
        refuse_over(doc, source, max_releases, "request", "send fewer, or run `matcher opportunities` on the file")
    rejects: list[OcdsReject] = []
    items: list[FeedItem] = []
    found: list[Found] = []
    _add(doc, "", source, items, found, rejects)
    return _compiled(items, found, rejects)


def _add(doc: Any, where: str, file: str, items: list[FeedItem], found: list[Found], rejects: list[OcdsReject]) -> None:
    if looks_like_ocds(doc):
        found += list(found_in(doc, where, file, rejects))
        return
    try:  # a tender in the project's JSON format
        items.append(FeedItem(parse_tender(doc, file), None, file))
    except TenderError as exc:
        rejects.append(OcdsReject(file, where or "$", str(exc)))


def _compiled(items: list[FeedItem], found: list[Found], rejects: list[OcdsReject]) -> FeedRead:
    """The project's tenders, then one tender per OCDS process (its releases compiled over every file)."""
    for release, source in compile_groups(found, rejects) if found else []:
        try:
            items.append(FeedItem(parse_tender(release, source), published_of(release), source))
        except TenderError as exc:
            rejects.append(OcdsReject(source, str(release.get("ocid")), str(exc)))
    return FeedRead(tuple(items), tuple(rejects))
