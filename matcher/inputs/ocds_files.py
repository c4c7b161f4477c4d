"""Find the contracting processes in OCDS files: packages, records, releases, JSON Lines, gzip.

Each process (``ocid``) becomes one compiled release: a record's ``compiledRelease``; else its
embedded ``releases`` compiled with ocdsmerge (with the merge rules written out below, so that
nothing is downloaded); else its ``versionedRelease`` with the latest value of every field.
Anything that cannot be read is an :class:`OcdsReject`; :mod:`matcher.inputs.ocds` turns the
compiled releases into tables.
"""

from __future__ import annotations

import gzip
import json
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.errors import InputError

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".jl")
_RELEASE_KEYS = ("tag", "tender", "awards", "contracts", "parties", "buyer", "planning", "initiationType")


def clean_text(value: Any) -> str | None:
    """A clean string, or None for missing, empty and non-scalar values."""
    if isinstance(value, str):
        # a lone surrogate (legal as a JSON escape) cannot be stored as UTF-8: mark it instead
        return value.encode("utf-8", "replace").decode("utf-8").strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


# Merge rules of the OCDS 1.1 release schema, written out so that ocdsmerge never downloads
# the schema (it does when given no rules): fields dropped from compiled releases, and arrays
# replaced whole rather than merged by `id` (arrays of strings, and of objects without an id).
_ORG_REFS = (
    ("parties",), ("buyer",), ("tender", "procuringEntity"), ("tender", "tenderers"), ("awards", "suppliers"),
    ("contracts", "implementation", "transactions", "payer"), ("contracts", "implementation", "transactions", "payee"),
)  # fmt: skip
MERGE_RULES_1_1: dict[tuple[str, ...], str] = {
    ("id",): "omitWhenMerged",
    ("date",): "omitWhenMerged",
    ("tag",): "omitWhenMerged",
    **{(*org, "additionalIdentifiers"): "wholeListMerge" for org in _ORG_REFS},
    **{(stage, "items", "additionalClassifications"): "wholeListMerge" for stage in ("tender", "awards", "contracts")},
    **{(stage, amendment, "changes"): "wholeListMerge"
       for stage in ("tender", "awards", "contracts") for amendment in ("amendment", "amendments")},
    ("parties", "roles"): "wholeListMerge",
    ("tender", "submissionMethod"): "wholeListMerge",
    ("tender", "additionalProcurementCategories"): "wholeListMerge",
    ("awards", "relatedLots"): "wholeListMerge",
    ("relatedProcesses", "relationship"): "wholeListMerge",
    ("contracts", "relatedProcesses", "relationship"): "wholeListMerge",
}  # fmt: skip
# OCDS 1.0 organisations have no id: their lists are replaced whole ("mergeStrategy": "ocdsVersion").
MERGE_RULES_1_0 = {
    **MERGE_RULES_1_1,
    ("awards", "suppliers"): "wholeListMerge",
    ("tender", "tenderers"): "wholeListMerge",
}


@dataclass(frozen=True)
class OcdsReject:
    """Something skipped: the file, where in it ("line 12", "records[3]", "$" for the whole
    file, "line 4: releases[0]" for a package on a line of JSON Lines) and why."""

    file: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} {self.where}: {self.reason}"


# --- reading files ----------------------------------------------------------------------


@dataclass
class Found:
    """One release (or compiled release) as found in a file."""

    release: dict[str, Any]
    file: str
    where: str


def documents(path: Path, rejects: list[OcdsReject]) -> Iterator[tuple[str, Any]]:
    """(where, parsed JSON) for the one document of a JSON file or each line of JSON Lines."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror or type(exc).__name__})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            rejects.append(OcdsReject(file, "$", f"corrupt gzip: {exc}"))
            return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        rejects.append(OcdsReject(file, "$", f"not UTF-8 text (byte {exc.start})"))
        return
    if not text.strip():
        rejects.append(OcdsReject(file, "$", "not OCDS: empty file"))
        return
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith(JSON_LINES_SUFFIXES):
        try:
            yield "", json.loads(text)
            return
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":  # "Extra data": a first value parsed and more follow, i.e. JSON Lines
                rejects.append(
                    OcdsReject(file, "$", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
                )
                return
        except (RecursionError, ValueError) as exc:  # nested too deep, or a number too long to read
            rejects.append(OcdsReject(file, "$", f"unreadable JSON ({type(exc).__name__})"))
            return
    # split on "\n" only: str.splitlines also splits on U+2028, which JSON strings may hold raw
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(OcdsReject(file, f"line {number}", f"invalid JSON: {exc.msg} at column {exc.colno}"))
        except (RecursionError, ValueError) as exc:
            rejects.append(OcdsReject(file, f"line {number}", f"unreadable JSON ({type(exc).__name__})"))


def _at(where: str, path: str) -> str:
    return f"{where}: {path}" if where else path


def found_in(doc: Any, where: str, file: str, rejects: list[OcdsReject]) -> Iterator[Found]:
    """The releases in one JSON document: a package, a record or a release."""
    here = where or "$"
    if not isinstance(doc, dict):
        rejects.append(OcdsReject(file, here, f"not OCDS: a JSON {type(doc).__name__}, not an object"))
        return
    if "records" in doc:
        if not isinstance(doc["records"], list):
            rejects.append(OcdsReject(file, here, "not OCDS: records is not a list"))
            return
        for i, record in enumerate(doc["records"]):
            found = _from_record(record, _at(where, f"records[{i}]"), file, rejects)
            if found is not None:
                yield found
    elif "compiledRelease" in doc or "versionedRelease" in doc or ("releases" in doc and "ocid" in doc):
        found = _from_record(doc, here, file, rejects)
        if found is not None:
            yield found
    elif "releases" in doc:
        if not isinstance(doc["releases"], list):
            rejects.append(OcdsReject(file, here, "not OCDS: releases is not a list"))
            return
        for i, release in enumerate(doc["releases"]):
            spot = _at(where, f"releases[{i}]")
            if not isinstance(release, dict):
                rejects.append(OcdsReject(file, spot, "release is not a JSON object"))
            elif clean_text(release.get("ocid")) is None:
                rejects.append(OcdsReject(file, spot, "release without ocid"))
            else:
                yield Found(release, file, spot)
    elif clean_text(doc.get("ocid")) is not None:
        yield Found(doc, file, here)
    elif any(key in doc for key in _RELEASE_KEYS):
        rejects.append(OcdsReject(file, here, "release without ocid"))
    else:
        rejects.append(OcdsReject(file, here, "not OCDS: no releases, records or ocid"))


def _is_linked(release: Any) -> bool:
    """A release given only by its address ({"url", "date", "tag"}), not its content."""
    return isinstance(release, dict) and "url" in release and "ocid" not in release and "id" not in release


def _from_record(record: Any, where: str, file: str, rejects: list[OcdsReject]) -> Found | None:
    if not isinstance(record, dict):
        rejects.append(OcdsReject(file, where, "record is not a JSON object"))
        return None
    compiled = record.get("compiledRelease")
    releases = record.get("releases")
    versioned = record.get("versionedRelease")
    release: dict[str, Any] | None = None
    if isinstance(compiled, dict) and compiled:
        release = compiled
    elif isinstance(releases, list) and releases and not any(_is_linked(r) for r in releases):
        if not all(isinstance(r, dict) for r in releases):
            rejects.append(OcdsReject(file, where, "record releases must be JSON objects"))
            return None
        try:
            release = compile_releases(releases)
        except Exception as exc:  # ocdsmerge raises several error types for malformed releases
            rejects.append(OcdsReject(file, where, f"cannot compile the record's releases: {str(exc)[:300]}"))
            return None
    elif isinstance(versioned, dict) and versioned:
        release = _unversion(versioned)
    elif isinstance(releases, list) and releases:
        rejects.append(
            OcdsReject(
                file, where, "cannot compile: the record's releases are linked (url, no content) and it has "
                "no compiledRelease or versionedRelease; download the releases and import them instead",
            )
        )  # fmt: skip
        return None
    else:
        rejects.append(OcdsReject(file, where, "record without compiledRelease, versionedRelease or releases"))
        return None
    ocid = clean_text(release.get("ocid")) or clean_text(record.get("ocid"))
    if ocid is None:
        rejects.append(OcdsReject(file, where, "record without ocid"))
        return None
    return Found({**release, "ocid": ocid}, file, where)


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """Compile the releases of one contracting process with ocdsmerge and the rules written out
    above (never fetched). OCDS 1.0 rules when no release has ``parties``."""
    import ocdsmerge

    if len(releases) == 1:
        return releases[0]
    rules = MERGE_RULES_1_1 if any("parties" in r for r in releases) else MERGE_RULES_1_0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate ids inside an array: merged, as the standard says
        return ocdsmerge.Merger(merge_rules=rules).create_compiled_release(releases)


def _unversion(value: Any) -> Any:
    """A versioned release with the latest value of each field, i.e. the compiled release."""
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and len(v) == 4 and "releaseDate" in v and "value" in v for v in value):
            return value[-1]["value"]
        return [_unversion(v) for v in value]
    if isinstance(value, dict):
        return {k: u for k, v in value.items() if (u := _unversion(v)) is not None}
    return value


def compile_groups(found: list[Found], rejects: list[OcdsReject]) -> list[tuple[dict[str, Any], str]]:
    """One (compiled release, source) per ocid; an ocid met more than once is compiled from all."""
    groups: dict[str, list[Found]] = {}
    for f in found:
        groups.setdefault(str(f.release["ocid"]).strip(), []).append(f)
    out = []
    for ocid, members in groups.items():
        unique: dict[Any, Found] = {}
        for f in members:  # the same release read twice (same file given twice) counts once
            rid, rdate = f.release.get("id"), f.release.get("date")
            unique[(str(rid), str(rdate)) if rid is not None else id(f)] = f
        source = "; ".join(dict.fromkeys(f.file for f in members))
        try:
            compiled = compile_releases([f.release for f in unique.values()])
        except Exception as exc:
            first = members[0]
            places = ", ".join(f"{f.file} {f.where or '$'}" for f in members)
            reason = f"cannot compile ocid {ocid} ({places}): {str(exc)[:300]}"
            rejects.append(OcdsReject(first.file, first.where or "$", reason))
            continue
        out.append(({**compiled, "ocid": ocid}, source))
    return out
