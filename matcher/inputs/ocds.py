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
Finding and compiling the releases is :mod:`matcher.inputs.ocds_files`; reading one into rows
(organisation keys, codes) is :mod:`matcher.inputs.ocds_rows`.

A file that is not OCDS, a release without an ocid or a line of invalid JSON is an
:class:`OcdsReject`; the rest of the file still loads. A file that cannot be opened raises
InputError.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import InputError
from matcher.inputs.ocds_files import Found, OcdsReject, compile_groups, documents, found_in
from matcher.inputs.ocds_rows import ReleaseRows, add_release
from matcher.store.files import atomic_path
from matcher.store.rejects import write_rejects
from matcher.taxonomy import load_taxonomy

if TYPE_CHECKING:
    import polars as pl

    from matcher.store.workspace import Workspace

TABLE_NAMES = ("tenders", "lots", "awards", "suppliers")
HISTORY_DIR = "history"


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


REJECTS_SUFFIX = ".rejects.jsonl"


def _write_rejects_jsonl(target: Path, rejects: Sequence[OcdsReject]) -> None:
    with target.open("w", encoding="utf-8") as f:
        for r in rejects:
            f.write(json.dumps({"file": r.file, "where": r.where, "reason": r.reason}, ensure_ascii=False) + "\n")


def import_ocds(
    paths: Sequence[str | os.PathLike[str]], workspace: Workspace, *, rejects_dir: Path | None = None
) -> OcdsTables:
    """Read OCDS files and add them to the workspace's history tables.

    Writes ``<workspace>/history/{tenders,lots,awards,suppliers}.parquet`` atomically. The rows
    of an ocid already stored are replaced by the new ones, so importing a file twice changes
    nothing and importing another adds to the tables. Rejects go to ``<input>.rejects.jsonl``
    beside each input that had any (into ``<workspace>/rejects/`` when that folder is read-only);
    a stale rejects file beside a clean input is removed. `rejects_dir` overrides that fallback
    folder (the refresh stages the history in a scratch workspace but keeps the rejects in the real one).

    Raises:
        InputError: a file cannot be opened, or no release at all could be read (the
            workspace is then left as it was).

    Example:
        >>> tables = import_ocds(["releases-2019-2023.jsonl"], Workspace(Path("ws")))  # doctest: +SKIP
    """
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
    _write_history(workspace.root / HISTORY_DIR, tables)
    by_file: dict[str, list[OcdsReject]] = {}
    for r in tables.rejects:
        by_file.setdefault(r.file, []).append(r)
    for path in dict.fromkeys(inputs):
        fallback = rejects_dir or workspace.rejects_dir
        write_rejects(path, REJECTS_SUFFIX, by_file.get(str(path), []), _write_rejects_jsonl, fallback)
    workspace.record_sources("ocds", inputs)
    return tables


def _write_history(history: Path, tables: OcdsTables) -> None:
    """Add `tables` to the stored ones: the new rows of an ocid replace its stored rows.

    All four tables are written before any replaces its file; they are renamed in reverse order,
    tenders last, since :func:`read_history` takes a tenders table to mean that history was imported.
    """
    import polars as pl

    new_ocids = tables.tenders["ocid"].to_list()
    with ExitStack() as written:
        for name in TABLE_NAMES:
            target = history / f"{name}.parquet"
            frame: pl.DataFrame = getattr(tables, name)
            if target.exists():
                try:
                    old = pl.read_parquet(target)
                    frame = pl.concat([old.filter(~pl.col("ocid").is_in(new_ocids)), frame])
                except Exception as exc:
                    raise InputError(
                        f"{target}: unreadable or of another layout ({type(exc).__name__}); delete it and import again"
                    ) from None
            frame.write_parquet(written.enter_context(atomic_path(target, durable=True)))


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
