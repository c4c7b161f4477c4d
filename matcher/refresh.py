"""The nightly refresh: re-read every source, re-embed what changed, publish a new version atomically.

A refresh holds the workspace's writer lock, reads the participant tables and OCDS files the
workspace was built from (recorded by `ingest` and `import-ocds`), replaces the stored
participants and history with what they hold now (members that disappeared are dropped), and
builds a new index version through the same checked publish as `index build`. Killed at any
point, it leaves the previous version serving, and the next run finishes the job.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from matcher.build import Progress, build_index, current_settings, ingest
from matcher.embed import Engine
from matcher.errors import InputError
from matcher.faults import crash_point
from matcher.inputs.participants import TableResult, read_participants
from matcher.results import IndexStatus, RefreshReport
from matcher.store.locking import WorkspaceLock
from matcher.store.tables import read_participant_ids
from matcher.store.workspace import KEEP_VERSIONS, Workspace


def refresh(
    workspace: Workspace,
    *,
    full: bool = False,
    keep: int = KEEP_VERSIONS,
    wait: float = 0.0,
    max_removed: float = 0.5,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    engine: Engine = "local",
    address: str | None = None,
) -> RefreshReport:
    """Re-read the workspace's sources and publish a new index version (see the module docstring).

    Args:
        full: re-embed every text instead of reusing cached vectors.
        keep: how many versions to keep (the current one always stays).
        wait: seconds to wait for another writer; 0 fails at once saying who holds the lock.
        max_removed: refuse (and change nothing) when the sources now lack more than this share
            of the members the current version serves: a truncated or wrong file must not
            silently empty the index. 1.0 accepts any removal.
        engine: "local", or "ray" to embed the changed texts on a Ray cluster (`address`: None
            for a private instance on this machine, "auto", or "ray://HEAD:10001"); the index
            is built and swapped here either way.

    Raises:
        InputError: no sources recorded, a source file has gone, or no row of any source is
            valid (the current version then stays as it is).
        WorkspaceBusy: another refresh or build holds the lock.
    """
    if keep < 1:
        raise InputError(f"--keep must be at least 1, got {keep}")
    with WorkspaceLock(workspace.root, "refresh", wait) as lock:
        crash_point("lock-acquired")
        if lock.took_over and notify:
            notify(f"took over the lock of a refresh that died (pid {lock.took_over.get('pid')})")
        sources = _checked_sources(workspace)
        crash_point("sources-read")
        rejects: list[Any] = []
        rejects_files: list[Path] = []
        if sources["participants"]:
            # the member tables are read once: checked here, then stored by ingest
            members = _check_removals(workspace, sources["participants"], max_removed)
            report = ingest(sources["participants"], workspace, replace=True, read=members)
            rejects += report.rejects
            rejects_files += report.rejects_files
        crash_point("participants-written")
        if sources["ocds"]:
            rejects += _rebuild_history(workspace, sources["ocds"])
        crash_point("history-written")
        settings = replace(current_settings(workspace), full=full, keep=keep, engine=engine, address=address)
        manifest = build_index(workspace, settings, progress=progress, notify=notify)
        return RefreshReport(
            workspace.root, workspace.current_version().name, manifest, tuple(rejects), tuple(rejects_files),
            lock.took_over,
        )  # fmt: skip


def _checked_sources(workspace: Workspace) -> dict[str, list[str]]:
    """The sources recorded by ingest and import-ocds, every one of them still there."""
    sources = workspace.sources()
    if not sources["participants"] and not sources["ocds"]:
        raise InputError(
            f"nothing to refresh in {workspace.root}: no sources recorded; "
            "run `matcher ingest FILE` or `matcher import-ocds FILE` first"
        )
    missing = [p for p in (*sources["participants"], *sources["ocds"]) if not Path(p).is_file()]
    if missing:
        raise InputError(
            f"source {missing[0]} is missing{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
            f"restore it, or re-ingest without it (`matcher ingest --replace FILE...`); nothing was changed"
        )
    return sources


def _rebuild_history(workspace: Workspace, files: list[str]) -> list[Any]:
    """Re-import the OCDS sources from scratch, so that processes that left them leave the history
    too, and swap the new history in; returns the rejects."""
    from matcher.inputs.ocds import HISTORY_DIR, import_ocds

    staging = workspace.root / f".{HISTORY_DIR}.refresh"
    shutil.rmtree(staging, ignore_errors=True)
    # rejects go to the real workspace's folder, not the scratch one that is removed below
    tables = import_ocds(files, Workspace(staging), rejects_dir=workspace.rejects_dir)
    history = workspace.root / HISTORY_DIR
    old = workspace.root / f".{HISTORY_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if history.exists():
        history.rename(old)
    (staging / HISTORY_DIR).rename(history)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    return list(tables.rejects)


def _check_removals(workspace: Workspace, files: list[str], max_removed: float) -> TableResult:
    """Read the member tables (writing no rejects yet) and refuse a refresh whose tables now lack
    too many of the members being served."""
    before = set(read_participant_ids(workspace.participants_path)) if workspace.has_participants() else set()
    read = read_participants(files, write_rejects=False, columns_by_file=workspace.source_columns())
    now = {p.id for p in read.participants}
    gone = len(before - now)
    if before and gone / len(before) > max_removed:
        raise InputError(
            f"the sources now lack {gone} of the {len(before)} members in {workspace.root} "
            f"({gone / len(before):.0%}, more than {max_removed:.0%}); check {', '.join(files)}, "
            "or pass --max-removed 1.0 to accept; nothing was changed"
        )
    return read


def _describe_backend(model: dict[str, Any]) -> str:
    backend = str(model.get("backend", "torch"))
    parity = f" (mean cosine {model['parity']:.4f} to PyTorch on the sample)" if "parity" in model else ""
    return backend + parity


def _describe_index(index: dict[str, Any]) -> str:
    if index.get("type", "flat") == "flat":
        return "flat (exact inner product)"
    setting = ", ".join(f"{k} {index[k]}" for k in ("nlist", "nprobe", "efSearch") if k in index)
    return f"{index['type']} ({setting}; recall@10 {index.get('recall_at_10', '?')} vs exact)"


def status(workspace: Workspace) -> IndexStatus:
    """The current version, when it was built, its counts and model, the last changes, and whether
    every file still matches its checksum."""
    from matcher.errors import MatcherError

    current = workspace.current_version()
    manifest = workspace.read_manifest(current)
    try:
        workspace.verify(current, manifest, deep=True)
        integrity = "ok: every file matches its checksum"
    except MatcherError as exc:
        integrity = f"FAILED: {exc}"
    lock_path = workspace.root / ".lock"
    holder = lock_path.read_text(encoding="utf-8").strip() if lock_path.exists() else ""
    return IndexStatus(
        workspace=str(workspace.root),
        current=current.name,
        created_at=manifest.get("created_at"),
        participants=manifest.get("count"),
        vectors=manifest.get("vectors"),
        model=manifest.get("model", {}).get("name"),
        dimension=manifest.get("dimension"),
        changes=manifest.get("changes", {}),
        embedded=manifest.get("embedded"),
        merged_suppliers=manifest.get("merged_suppliers", 0),
        backend=_describe_backend(manifest.get("model", {})),
        index=_describe_index(manifest.get("index", {"type": "flat"})),
        integrity=integrity,
        versions=tuple(v.name for v in workspace.versions()),
        sources=workspace.sources(),
        writer=holder or None,
    )
