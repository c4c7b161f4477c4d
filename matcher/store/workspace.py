"""The workspace: the ingested participant table and the versions of the index built from it.

Layout::

    <workspace>/participants.parquet           participants as ingested (validated)
    <workspace>/index/CURRENT                  name of the version that serves queries
    <workspace>/index/versions/<name>/         one built index, never changed after it is written
        index.faiss  participants.parquet  manifest.json
    <workspace>/feedback.sqlite3               the managers' marks (matcher.store.feedback): outside
                                               the versions, so refresh and rollback keep them

A version is written under a temporary name, loaded back and searched, and only then does
``CURRENT`` move to it (write a temp file, fsync, ``os.replace``, fsync the folder), so a
failed or killed build leaves the previous index serving.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matcher.errors import REBUILD, IndexCorrupt, IndexMissing, InputError, MatcherError
from matcher.faults import crash_point
from matcher.schema import Participant
from matcher.store.files import TEMP_GLOB, atomic_path, atomic_write_text, fsync_dir, fsync_file, sha256_file
from matcher.store.tables import read_participant_table, write_participants

ENV_WORKSPACE = "MATCHER_WORKSPACE"
DEFAULT_WORKSPACE = "matcher-workspace"
MANIFEST_FORMAT = 1
KEEP_VERSIONS = 2  # the current version and the one before it
VERIFY_LIMIT = 64 << 20  # bytes: larger files are size-checked when an index is opened, not hashed
_VERSION_RE = re.compile(r"^v(\d{6,})-")


# A temp in models/ or cache/ this old is a leftover of a killed run, not a write in progress.
STALE_TEMP_SECONDS = 3600


@dataclass(frozen=True)
class Workspace:
    """A folder holding one cluster's participants and index."""

    root: Path

    @property
    def participants_path(self) -> Path:
        return self.root / "participants.parquet"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def versions_dir(self) -> Path:
        return self.index_dir / "versions"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    @property
    def feedback_path(self) -> Path:
        return self.root / "feedback.sqlite3"

    def has_participants(self) -> bool:
        return self.participants_path.exists()

    def load_participants(self) -> list[Participant]:
        if not self.participants_path.exists():
            raise IndexMissing(f"no participants in workspace {self.root}; run `matcher ingest FILE` first")
        return read_participant_table(self.participants_path)

    def save_participants(self, participants: Iterable[Participant]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_participants(self.participants_path, participants)

    # --- index versions -------------------------------------------------------------

    def current_version(self) -> Path:
        """The folder of the version that serves queries; IndexMissing if none was built."""
        pointer = self.index_dir / "CURRENT"
        if not pointer.exists():
            raise IndexMissing(f"no index in workspace {self.root}; run `matcher index build`")
        name = pointer.read_text(encoding="utf-8").strip()
        folder = self.versions_dir / name
        if not name or "/" in name or name.startswith(".") or not folder.is_dir():
            raise IndexCorrupt(f"{pointer} names version '{name}', which does not exist; run `matcher index build`")
        return folder

    def new_version_dir(self) -> Path:
        """A fresh temporary folder to build a version in (see :meth:`publish`)."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        folder = self.versions_dir / f".building-{uuid.uuid4().hex[:12]}"
        folder.mkdir()
        return folder

    def publish(self, building: Path, manifest: dict[str, Any], keep: int = KEEP_VERSIONS) -> Path:
        """Checksum the files, write the manifest, rename the version and point CURRENT at it.

        Until `os.replace` swaps CURRENT, readers see the previous version; after it, the new
        one, complete. Then versions beyond the newest `keep` are deleted.
        """
        files = {p.name: sha256_file(p) for p in sorted(building.iterdir()) if p.is_file()}
        sizes = {p.name: p.stat().st_size for p in sorted(building.iterdir()) if p.is_file()}
        manifest = {**manifest, "format": MANIFEST_FORMAT, "files": files, "sizes": sizes}
        (building / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        for p in building.iterdir():
            fsync_file(p)
        crash_point("manifest-written")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        final = self.versions_dir / f"v{self._next_sequence():06d}-{stamp}"
        # Not atomic_path: the build writes, loads back and searches the version in place, in its
        # own `.building-*` folder, before this name (the next sequence number) can be known, and
        # the rename never lands on an existing folder, so there is no old target to protect.
        os.replace(building, final)
        fsync_dir(self.versions_dir)
        crash_point("version-renamed")
        self.point_current_at(final)
        crash_point("current-swapped")
        self._prune(keep=keep, current=final.name)
        return final

    def point_current_at(self, version: Path) -> None:
        """Replace CURRENT atomically: write a temp file, fsync it, rename it over, fsync the folder."""
        with atomic_path(self.index_dir / "CURRENT", durable=True) as pointer_tmp:
            pointer_tmp.write_text(version.name + "\n", encoding="utf-8")
            crash_point("current-tmp-written")

    def rollback(self) -> Path:
        """Point CURRENT at the newest complete version before the current one; returns it.

        A version that fails verification (a truncated file) is skipped: rolling back onto it
        would serve nothing."""
        current = self.current_version()
        older = [v for v in self.versions() if _sequence(v) < _sequence(current)]
        damaged = []
        for target in reversed(older):
            try:
                self.verify(target, self.read_manifest(target))
            except MatcherError as exc:
                damaged.append(f"{target.name}: {exc}")
                continue
            self.point_current_at(target)
            return target
        kept = ", ".join(v.name for v in self.versions())
        raise IndexMissing(
            f"no complete version before {current.name} in {self.versions_dir} to roll back to (kept: {kept})"
            + ("; damaged: " + "; ".join(damaged) if damaged else "")
            + "; run `matcher refresh` or `matcher index build` to publish a new one"
        )

    def is_complete(self, version: Path) -> bool:
        """Whether a version's manifest reads and its files pass :meth:`verify` (sizes, small files' checksums)."""
        try:
            self.verify(version, self.read_manifest(version))
        except MatcherError:
            return False
        return True

    def base_version(self) -> Path | None:
        """The version a new build starts from (its settings, what changed since): the current one
        when it is complete, else the newest complete one (CURRENT may name a damaged version,
        which the server refuses to serve); None when there is none."""
        try:
            current: Path | None = self.current_version()
        except MatcherError:
            current = None
        if current is not None and self.is_complete(current):
            return current
        return next((v for v in reversed(self.versions()) if v != current and self.is_complete(v)), None)

    def versions(self) -> list[Path]:
        """Published versions, oldest first (names start with a sequence number)."""
        if not self.versions_dir.exists():
            return []
        found = [p for p in self.versions_dir.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)]
        return sorted(found, key=_sequence)

    def _next_sequence(self) -> int:
        last = self.versions()
        return _sequence(last[-1]) + 1 if last else 1

    def _prune(self, keep: int, current: str) -> None:
        """Keep the current version and the newest complete others, `keep` in all; delete the rest
        (damaged versions too: a server that refused one may still be serving an older complete
        one, which must not be the one deleted) and leftovers of killed runs."""
        others = [p for p in reversed(self.versions()) if p.name != current]
        kept = [p for p in others if self.is_complete(p)][: max(0, max(1, keep) - 1)]
        old = [p for p in others if p not in kept]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
            crash_point("cleanup")
        for p in self.versions_dir.glob(".building-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in [*self.index_dir.glob(TEMP_GLOB), *self.root.glob(TEMP_GLOB), *self.rejects_dir.glob(TEMP_GLOB)]:
            p.unlink(missing_ok=True)
        self._remove_stale_temps()

    def _remove_stale_temps(self) -> None:
        """Temps a killed `train`, ONNX export or cache write left in models/ and cache/: only those
        older than STALE_TEMP_SECONDS, since those writers do not hold the writer lock and one may
        be running now."""
        now = time.time()
        for folder in (self.root / "models", self.root / "models" / "onnx", self.root / "cache" / "embeddings"):
            for p in folder.glob(TEMP_GLOB):
                try:
                    if now - p.lstat().st_mtime < STALE_TEMP_SECONDS:
                        continue
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)
                except OSError:  # gone meanwhile, or not ours to remove: the next publish tries again
                    continue

    # --- sources (what `refresh` re-reads) -------------------------------------------

    @property
    def sources_path(self) -> Path:
        return self.root / "sources.json"

    def sources(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.sources_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"participants": [], "ocds": []}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorrupt(f"{self.sources_path} is not valid JSON; fix it or ingest the files again") from None
        return {k: [str(x) for x in data.get(k, [])] for k in ("participants", "ocds")}

    def record_sources(
        self,
        kind: str,
        paths: Iterable[Path],
        replace: bool = False,
        columns: Mapping[str, Sequence[str]] | None = None,
        keep_columns: bool = False,
    ) -> None:
        """Remember input files, so that `matcher refresh` can read them again, and for member
        tables the `--columns` mapping they were read with (`keep_columns`: the one recorded)."""
        sources: dict[str, Any] = self.sources()
        new = [str(Path(p).resolve()) for p in paths]
        sources[kind] = list(dict.fromkeys(new if replace else [*sources[kind], *new]))
        mine = new if kind == "participants" and not keep_columns else []
        mappings = {p: m for p, m in self.source_columns().items() if p in sources["participants"] and p not in mine}
        mappings.update({p: {k: list(v) for k, v in columns.items()} for p in mine} if columns else {})
        if mappings:
            sources["participant_columns"] = mappings
        atomic_write_text(self.sources_path, json.dumps(sources, indent=2, ensure_ascii=False))

    def source_columns(self) -> dict[str, dict[str, list[str]]]:
        """The `--columns` mapping each recorded member table was ingested with, by its path."""
        try:
            data = json.loads(self.sources_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return {}
        found = data.get("participant_columns") if isinstance(data, dict) else None
        if not isinstance(found, dict):
            return {}
        return {str(p): {str(k): [str(c) for c in v] for k, v in m.items()} for p, m in found.items()}

    @property
    def ranker_path(self) -> Path:
        """Where `matcher train` saves the learned ranker, and `suggest` looks for it."""
        return self.root / "models" / "ranker.json"

    @property
    def calibration_path(self) -> Path:
        """Where `matcher train` saves the fit of the trained ranker's scores (beside the ranker)."""
        return self.root / "models" / "calibration.json"

    def index_model(self) -> str | None:
        """The model the current index was built with (None when there is no index): refresh
        and training keep using it."""
        base = self.base_version()
        try:
            return None if base is None else str(self.read_manifest(base)["model"]["name"])
        except (MatcherError, KeyError, TypeError):
            return None

    def read_manifest(self, version: Path) -> dict[str, Any]:
        path = version / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorrupt(f"{path} is missing; {REBUILD}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexCorrupt(f"{path} is not valid JSON; {REBUILD}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise IndexCorrupt(f"{path}: unknown manifest format; {REBUILD}")
        return manifest

    def verify(self, version: Path, manifest: dict[str, Any], deep: bool = False) -> None:
        """Check every file of a version against its manifest: each file's size, and the checksum of
        every file up to VERIFY_LIMIT bytes (of all files with `deep`, as `matcher index status` does).

        Opening a million-firm index must not read gigabytes first; a size check still catches a
        truncated file, and the index is smoke-tested before it is ever published.
        """
        sizes = manifest.get("sizes", {})
        for name, expected in manifest.get("files", {}).items():
            path = version / name
            if not path.exists():
                raise IndexCorrupt(f"{path} is missing; {REBUILD}")
            size = path.stat().st_size
            if name in sizes and size != sizes[name]:
                raise IndexCorrupt(f"{path} has {size} bytes, not {sizes[name]} (truncated or changed); {REBUILD}")
            if (deep or size <= VERIFY_LIMIT or name not in sizes) and sha256_file(path) != expected:
                raise IndexCorrupt(f"{path} does not match its checksum (corrupt or changed); {REBUILD}")


def _sequence(version: Path) -> int:
    m = _VERSION_RE.match(version.name)
    return int(m.group(1)) if m else -1


def resolve_workspace(path: str | os.PathLike[str] | None = None) -> tuple[Workspace, bool]:
    """The workspace to use and whether the user chose it (option or MATCHER_WORKSPACE)."""
    if path is not None:
        return Workspace(Path(path).expanduser()), True
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return Workspace(Path(env).expanduser()), True
    return Workspace(Path(DEFAULT_WORKSPACE)), False


def check_input_path(path: Path) -> Path:
    """Input files must be regular files; refuse devices, folders and the like early."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    return path
