"""Ingest participant tables into a workspace and build its index."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from matcher.embed import ENGINES, Backend, Embedder, Engine
from matcher.embed.base import check_backend
from matcher.embed.cache import EmbeddingCache
from matcher.embed.embedders import load_embedder
from matcher.embed.onnx import resolve_backend
from matcher.errors import IndexCorrupt, IndexMissing, InputError, MatcherError
from matcher.faults import crash_point
from matcher.index.bm25 import LexicalIndex
from matcher.index.vectors import INDEX_KINDS, IndexKind, VectorIndex, build_vector_index
from matcher.inputs.participants import TableResult, read_participants, write_rejects_files
from matcher.inputs.resolve import Merge
from matcher.inputs.sample import sample_participants_path, sample_texts
from matcher.profiles import content_hash, profile_vectors_texts
from matcher.rank.pool import POOL_FILE, Pool
from matcher.results import IngestReport
from matcher.schema import Participant
from matcher.store.files import sha256_file
from matcher.store.members import MEMBERS_FILE, write_members
from matcher.store.tables import write_participants, write_vector_owners
from matcher.store.workspace import KEEP_VERSIONS, Workspace, check_input_path
from matcher.taxonomy import load_taxonomy

Progress = Callable[[int, int], None]  # (done, total)


def ingest(
    paths: Sequence[str | os.PathLike[str]],
    workspace: Workspace,
    *,
    replace: bool = False,
    read: TableResult | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Validate participant tables and store their valid rows in the workspace.

    Rows whose id is already stored replace the stored row; with ``replace=True`` the
    stored table is replaced by these files' rows. Rejected rows go to
    ``<file>.rejects.csv`` beside each input. When no row at all is valid, nothing in the
    workspace changes and InputError is raised. `read`: these files as
    ``read_participants(paths, write_rejects=False)`` already read them (refresh reads them
    once, to check them before it changes anything). `columns`: {field: [column, ...]}, which
    columns give which field, over the recognised headers; remembered for `refresh`.
    `dry_run`: read and validate only, and say what an ingest would do; nothing is written
    (no workspace change, no rejects file), and no valid row is no error.

    Example:
        >>> report = ingest(["members.csv"], Workspace(Path("ws")))  # doctest: +SKIP
        >>> report.added, len(report.rejects)
        >>> preview = ingest(["m.csv"], Workspace(Path("ws")), columns={"id": ["ИНН"]}, dry_run=True)  # doctest: +SKIP
        >>> [(c.header, c.field) for c in preview.layouts[0].columns]  # doctest: +SKIP
    """
    files = [check_input_path(Path(p)) for p in paths]
    if not files:
        raise InputError("no input files given")
    if read is None:
        rejects_dir = None if dry_run else workspace.rejects_dir
        result = read_participants(files, write_rejects=not dry_run, rejects_fallback_dir=rejects_dir, columns=columns)
    else:
        result = read
        if not dry_run:
            write_rejects_files(result, workspace.rejects_dir)
    if not result.participants and not dry_run:
        where = ", ".join(str(p) for p in result.rejects_files) or "the input"
        raise InputError(
            f"no valid participant rows in {', '.join(map(str, files))}; "
            f"{len(result.rejects)} rejected (see {where}); the workspace is unchanged"
        )
    stored = {} if replace or not workspace.has_participants() else {p.id: p for p in workspace.load_participants()}
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for p in result.participants:
        old = stored.get(p.id)
        counts["added" if old is None else "unchanged" if old == p else "updated"] += 1
        stored[p.id] = p
    if not dry_run:
        workspace.save_participants(stored.values())
        # refresh (`read` given) re-reads the recorded sources with their recorded mappings
        workspace.record_sources("participants", files, replace=replace, columns=columns, keep_columns=read is not None)
    return IngestReport(
        workspace.root, added=counts["added"], updated=counts["updated"], unchanged=counts["unchanged"],
        total=len(stored), rejects=tuple(result.rejects), rejects_files=tuple(result.rejects_files),
        ignored_columns={source: tuple(columns) for source, columns in result.ignored_columns.items()},
        layouts=tuple(result.layouts), dry_run=dry_run,
    )  # fmt: skip


@dataclass(frozen=True)
class BuildSettings:
    """How an index version is built: `matcher index build` takes them from its options, and
    `matcher refresh` from the current version (:func:`current_settings`), so a nightly refresh
    builds the way the last build did.

    Attributes:
        model: "auto" (the default: the multilingual e5 unless all profiles are in English, see
            :func:`choose_model`), None for the bundled all-MiniLM-L6-v2, "e5", or a local
            sentence-transformers folder.
        backend: "auto" (int8 ONNX where its export passes the parity check, else float32 ONNX,
            else PyTorch), "torch", "onnx" or "onnx-int8".
        index_type: "auto" (exact up to 50,000 vectors, IVF above), "flat", "ivf" or "hnsw"; an
            approximate index's recall@10 against exact search is measured and stored.
        profile_only: one vector per participant (its profile) instead of one more per past
            project: much cheaper with a slow model and a long history, and less accurate
            (docs/evaluation.md measures both).
        engine: "local", or "ray" to embed the texts that are not cached on a Ray cluster
            (`address`: None for a private local instance, "auto", or "ray://HOST:10001") with
            the same model and backend, so the vectors are the local engine's.
        full: re-embed every text instead of taking unchanged ones from the cache.
        keep: how many versions to keep (the current one always stays).
    """

    model: str | None = "auto"
    backend: Backend = "auto"
    index_type: IndexKind = "auto"
    profile_only: bool = False
    engine: Engine = "local"
    address: str | None = None
    full: bool = False
    keep: int = KEEP_VERSIONS


def current_settings(workspace: Workspace) -> BuildSettings:
    """The settings the current version was built with (the newest complete one's, when CURRENT
    names a damaged version; the defaults where there is none)."""
    base = workspace.base_version()
    if base is None:
        return BuildSettings()
    try:
        manifest = workspace.read_manifest(base)
    except MatcherError:
        return BuildSettings()
    backend = manifest.get("model", {}).get("backend")
    requested = manifest.get("index", {}).get("requested", "auto")
    return BuildSettings(
        model=manifest.get("model", {}).get("name"),
        backend=backend if backend in ("torch", "onnx", "onnx-int8") else "auto",
        index_type=requested if requested in INDEX_KINDS else "auto",
        profile_only=bool(manifest.get("profile_only", False)),
    )


def build_index(
    workspace: Workspace,
    settings: BuildSettings | None = None,
    *,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    extra_manifest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Embed every stored participant and publish a new index version; returns its manifest.

    Texts embedded before (same model, same text) come from the cache unless `settings.full`.
    The manifest records how the version was built and what changed since the previous one
    (added, updated, removed). The version is written beside the current one, loaded back and
    searched, and only then made current, so a failure at any point leaves the previous index serving.

    Example:
        >>> build_index(Workspace(Path("ws")), BuildSettings(model="e5", index_type="hnsw"))  # doctest: +SKIP
    """
    settings = settings or BuildSettings()
    started = time.perf_counter()
    participants, merges = gather_participants(workspace)
    embedder, local = _embedders(workspace, settings, participants, notify)
    texts, owner = _texts(participants, settings)
    timings = {"read_s": time.perf_counter() - started}
    started = time.perf_counter()
    # Unchanged texts are not embedded again: vectors are cached by (model, text hash).
    cache = EmbeddingCache(embedder, workspace.root / "cache" / "embeddings", reuse=not settings.full)
    vectors = cache.encode(texts, progress=(lambda done: progress(done, len(texts))) if progress else None)
    crash_point("embedded")
    timings["embed_s"] = time.perf_counter() - started  # cache lookups included
    similarity: dict[str, Any] = {"centered_by_language": None}
    if local.multilingual:  # the cache keeps the model's own vectors; the index holds them centred
        from matcher.index.vectors import center_by_language
        from matcher.profiles import participant_language

        languages = [participant_language(p) for p in participants]
        vectors, counts = center_by_language(vectors, [languages[row] for row in owner])
        similarity["centered_by_language"] = counts
    hashes = [content_hash(p) for p in participants]
    changes = _changes(workspace, participants, hashes)
    building = workspace.new_version_dir()
    try:
        index = _write_version(building, participants, merges, vectors, owner, hashes, settings, timings)
        manifest = {
            "model": {
                "name": embedder.name,
                "fingerprint": embedder.fingerprint,
                **local.describe(workspace.root),  # how queries must embed to match
            },
            "dimension": int(vectors.shape[1]),
            "count": len(participants),
            "merged_suppliers": len(merges),
            "changes": changes,
            "embedded": cache.misses,
            "vectors": len(texts),
            "profile_only": settings.profile_only,
            "index": index,
            "metric": "inner_product_on_unit_vectors",
            "similarity": similarity,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "faiss_version": _faiss_version(),
            "engine": settings.engine,
            # Seconds per stage, for the benchmark; checksumming and publishing come after, unmeasured here.
            "timings": {name: round(seconds, 3) for name, seconds in timings.items()},
            **(extra_manifest or {}),
        }
        workspace.publish(building, manifest, keep=settings.keep)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return manifest


def _texts(participants: list[Participant], settings: BuildSettings) -> tuple[list[str], np.ndarray]:
    """The texts to embed, each participant's profile then (unless profile_only) each past project,
    and the participant row each text belongs to."""
    taxonomy = load_taxonomy()
    texts: list[str] = []
    owners: list[int] = []
    for row, p in enumerate(participants):
        for text in profile_vectors_texts(p, taxonomy)[: 1 if settings.profile_only else None]:
            texts.append(text)
            owners.append(row)
    return texts, np.array(owners, dtype=np.int64)


def _embedders(
    workspace: Workspace, settings: BuildSettings, participants: list[Participant], notify: Callable[[str], None] | None
) -> tuple[Embedder, Embedder]:
    """The embedder that runs (local, or its Ray twin) and the local one whose vectors it gives."""
    if settings.engine not in ENGINES:
        raise InputError(f"--engine {settings.engine}: choose local or ray")
    model = choose_model(participants) if settings.model == "auto" else settings.model
    local = resolve_backend(
        workspace.root, load_embedder(model), check_backend(settings.backend), notify, parity_texts=sample_texts
    )
    if settings.engine == "ray":  # the same embedder, run by Ray actors
        from matcher.embed.ray_engine import RayEmbedder

        return RayEmbedder(address=settings.address, local=local), local
    return local, local


def _write_version(
    building: Path,
    participants: list[Participant],
    merges: list[Merge],
    vectors: np.ndarray,
    owner: np.ndarray,
    hashes: list[str],
    settings: BuildSettings,
    timings: dict[str, float],
) -> dict[str, Any]:
    """Write every file of a version into `building` and check it searches; returns the index's manifest
    entry, and adds each stage's seconds to `timings` (index_s: build, tune and save; bm25_s; files_s: the rest)."""
    started = time.perf_counter()
    index = build_vector_index(vectors, np.arange(len(vectors), dtype=np.int64), kind=settings.index_type)
    search_stats = index.tune(vectors)
    index.save(building / "index.faiss")
    timings["index_s"] = time.perf_counter() - started
    started = time.perf_counter()
    # The exact vectors, read memory-mapped at query time for exact cosines of chosen firms.
    np.save(building / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    crash_point("index-written")
    first = np.searchsorted(owner, np.arange(len(participants)))  # each firm's profile vector
    write_participants(
        building / "participants.parquet", participants, extra={"vector_id": first.tolist(), "profile_hash": hashes}
    )
    write_vector_owners(building / "vectors.parquet", owner)
    files_s = time.perf_counter() - started
    started = time.perf_counter()
    # the members as a mapped columnar table, and the rankers' arrays, so that opening builds nothing
    write_members(building, participants)
    Pool(participants).save(building)
    timings["members_s"] = time.perf_counter() - started
    started = time.perf_counter()
    # BM25 over the same profiles, built once here rather than at every process's first query
    participant_lexical_index(participants).save(building)
    timings["bm25_s"] = time.perf_counter() - started
    started = time.perf_counter()
    if merges:
        write_merges(building / "merges.csv", merges)
    crash_point("version-files-written")
    _smoke_test(building, vectors)
    timings["files_s"] = files_s + time.perf_counter() - started
    return {"type": index.kind, "requested": settings.index_type, **search_stats}


def _faiss_version() -> str:
    import faiss

    return str(faiss.__version__)


def participant_lexical_index(participants: Sequence[Participant]) -> LexicalIndex:
    """BM25 over each participant's profile words and code labels (English and Russian), each in its language."""
    from matcher.profiles import lexical_segments, participant_language

    taxonomy = load_taxonomy()
    return LexicalIndex(
        [lexical_segments(p, taxonomy) for p in participants], [participant_language(p) for p in participants]
    )


# Profiles not in English above this share make `auto` choose the multilingual model; below it,
# a few misdetected short English profiles do not.
OTHER_LANGUAGE_SHARE = 0.05


def choose_model(participants: Sequence[Participant]) -> str | None:
    """`--model auto`: the multilingual e5 unless (nearly) all profiles are in English, else MiniLM.

    MiniLM reads English only: a Russian lot over English profiles, or an English lot over
    Russian ones, finds nothing through it (docs/evaluation.md, the judged set).
    """
    from matcher.embed.embedders import E5_MODEL
    from matcher.profiles import participant_language

    other = sum(1 for p in participants if participant_language(p) != "en")
    return E5_MODEL if other > OTHER_LANGUAGE_SHARE * len(participants) else None


def _changes(workspace: Workspace, participants: list[Participant], hashes: list[str]) -> dict[str, int]:
    """Added, updated, removed and unchanged participants against the current version."""
    import polars as pl

    base = workspace.base_version()  # a damaged CURRENT is compared past, to the newest complete version
    if base is None:
        before: dict[str, str] = {}  # no previous version: everything is new
    else:
        previous = pl.read_parquet(base / "participants.parquet", columns=["id", "profile_hash"])
        before = dict(zip(previous["id"].to_list(), previous["profile_hash"].to_list()))
    now = dict(zip((p.id for p in participants), hashes))
    return {
        "added": sum(1 for pid in now if pid not in before),
        "updated": sum(1 for pid, h in now.items() if pid in before and before[pid] != h),
        "removed": sum(1 for pid in before if pid not in now),
        "unchanged": sum(1 for pid, h in now.items() if before.get(pid) == h),
    }


def gather_participants(workspace: Workspace) -> tuple[list[Participant], list[Merge]]:
    """The registry's members enriched with their track records, then the other suppliers of the history."""
    from matcher.inputs.history import history_participants
    from matcher.inputs.ocds import read_history
    from matcher.inputs.resolve import merge_track_records

    members = workspace.load_participants() if workspace.has_participants() else []
    history = read_history(workspace)
    if history is None:
        if not members:
            raise IndexMissing(
                f"no participants in workspace {workspace.root}; run `matcher ingest FILE` "
                "(member tables) or `matcher import-ocds FILE` (procurement history) first"
            )
        return members, []
    suppliers = history_participants(history.tenders, history.awards, history.suppliers)
    participants, merges = merge_track_records(members, suppliers)
    if not participants:
        raise InputError(f"workspace {workspace.root} has neither members nor suppliers with awards")
    return participants, merges


def write_merges(path: Path, merges: list[Merge]) -> None:
    """The suppliers recognised as members, and how: for a person to check the fuzzy ones."""
    import csv

    from matcher.store.files import safe_csv_cell

    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["member_id", "supplier_id", "how", "score", "member_name", "supplier_name"])
        for m in merges:
            row = (m.member_id, m.supplier_id, m.how, m.score, m.member_name, m.supplier_name)
            writer.writerow([safe_csv_cell(v) for v in row])


def _smoke_test(folder: Path, vectors: np.ndarray) -> None:
    """Load the written index back and check that a stored vector finds itself."""
    loaded = VectorIndex.load(folder / "index.faiss")
    probe = min(len(vectors) - 1, len(vectors) // 2)
    _, found = loaded.search(vectors[probe : probe + 1], k=min(5, len(vectors)))
    if loaded.dimension != vectors.shape[1] or len(loaded) != len(vectors) or probe not in found[0]:
        raise IndexCorrupt(f"{folder}: the index written does not search correctly; nothing was replaced")


# --- the bundled sample --------------------------------------------------------------


def sample_workspace() -> Workspace:
    """Where the sample cluster's workspace lives: the user's cache folder."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Workspace(base / "matcher" / "sample")


def ensure_sample_workspace(notify: Callable[[str], None] | None = None, progress: Progress | None = None) -> Workspace:
    """The sample workspace, (re)built when missing or when the sample data changed."""
    workspace = sample_workspace()
    source = sample_participants_path()
    digest = sha256_file(source)
    try:
        version = workspace.current_version()
        manifest = workspace.read_manifest(version)
        model = manifest["model"]
        current_format = "similarity" in manifest and all((version / f).exists() for f in (MEMBERS_FILE, POOL_FILE))
        if manifest.get("sample_sha256") == digest and "backend" in model and current_format:
            return workspace  # else built by an earlier matcher: built again in this one's format
    except Exception:  # missing or broken: rebuild it
        pass
    if notify:
        notify(f"Building the sample cluster's index in {workspace.root} (once; rebuilt when the sample changes).")
    report_dir = workspace.root / "input"
    report_dir.mkdir(parents=True, exist_ok=True)
    # Ingest from a private copy so that rejects (if any) never land in the package folder.
    copy = report_dir / source.name
    shutil.copyfile(source, copy)
    ingest([copy], workspace, replace=True)
    build_index(workspace, progress=progress, extra_manifest={"sample_sha256": digest})
    return workspace
