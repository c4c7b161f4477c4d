"""One published index version, opened once and checked: its manifest, the FAISS index, the exact
vectors, the members, and (on first use) the BM25 index and the embedder it was built with.

Opening reads and verifies; nothing here ranks. :class:`matcher.search.Matcher` answers queries over it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from matcher.embed.base import Embedder
from matcher.embed.embedders import canonical_model, embedder_for_manifest
from matcher.errors import REBUILD, IndexCorrupt, ModelMismatch, UnknownParticipant, close_matches, did_you_mean
from matcher.index.bm25 import LexicalIndex
from matcher.index.vectors import VectorIndex
from matcher.rank.pool import POOL_DATA, POOL_FILE, Pool
from matcher.schema import Participant
from matcher.store.members import MEMBERS_FILE, MemberTable
from matcher.store.tables import read_vector_owners
from matcher.store.vector_file import VectorFile
from matcher.store.workspace import Workspace

# Files every index version of the current format holds besides the FAISS index and the tables.
VERSION_FILES = ("vectors.npy", "params.index.json", MEMBERS_FILE, POOL_FILE, POOL_DATA)


class IndexVersion:
    """A version folder of a workspace's index, opened for queries.

    Attributes:
        path: the version's folder (its name is what answers report as ``index_version``).
        manifest: what the build recorded (model, backend, index kind, counts, checksums).
        model_name: the model the vectors were made with; queries must embed with it.
        index: the FAISS index (memory-mapped where FAISS can), its search setting as tuned.
        vectors: the exact vectors, read from ``vectors.npy`` by row (``vectors[ids]``): row = vector id.
        members: the members as a memory-mapped columnar table (``members.arrow``), read by row:
            no Python object per member; one is built whole when a query shows it.
        pool: what the rankers read of every member, as memory-mapped arrays saved with the version.
        owner: for every vector, the row of the member it belongs to (its profile, then each past project).
    """

    def __init__(self, workspace: Workspace, path: Path, model: str | None = None, *, verify: bool = True):
        self.workspace = workspace
        self.path = path
        self.manifest: dict[str, Any] = workspace.read_manifest(path)
        _check_faiss_version(path, self.manifest)
        if verify:
            workspace.verify(path, self.manifest)
        self.model_name = _check_model(workspace, self.manifest, model)
        for name in VERSION_FILES:  # every version of this format has them; an older one never served here
            if not (path / name).exists():
                raise IndexCorrupt(f"{path} has no {name} (written by an older matcher); {REBUILD}")
        self.index = VectorIndex.load(path / "index.faiss")
        self.index.set_params(self.manifest.get("index", {}))  # the nprobe / efSearch tuned at build time
        # Exact vectors, read by row with positional reads: a mapping would fault every row's pages
        # into this process, and over a hundred calls at 1M nearly all of the 1.5 GB file.
        self.vectors = VectorFile(path / "vectors.npy")
        self.index.attach(self.vectors)
        dimension = int(self.manifest.get("dimension", 0))
        if self.index.dimension != dimension:
            raise IndexCorrupt(
                f"{path / 'index.faiss'} has dimension {self.index.dimension} but the manifest says "
                f"{dimension}; rebuild with `matcher index build`"
            )
        self.members = MemberTable(path)
        self.pool = Pool.load(path, self.members)
        self.owner = read_vector_owners(path / "vectors.parquet")
        if len(self.owner) != len(self.index) or (len(self.owner) and self.owner[-1] != len(self.members) - 1):
            raise IndexCorrupt(
                f"{path}: {len(self.index)} vectors do not match {len(self.members)} participants; "
                "rebuild with `matcher index build`"
            )
        self.first = np.searchsorted(self.owner, np.arange(len(self.members) + 1))  # each member's vectors
        # a multilingual model's vectors were centred by language at build time (matcher.build)
        self.centered = bool((self.manifest.get("similarity") or {}).get("centered_by_language"))
        self._embedder: Embedder | None = None
        self._lexical: LexicalIndex | None = None

    @classmethod
    def open_current(cls, workspace: Workspace, model: str | None = None, *, verify: bool = True) -> IndexVersion:
        """The version CURRENT names. A refresh may publish a newer one and prune this one while it is
        being read: then the new one is opened. A version that is still current and fails is broken."""
        for attempt in range(3):
            path = workspace.current_version()
            try:
                return cls(workspace, path, model, verify=verify)
            except (IndexCorrupt, OSError):
                if attempt == 2 or workspace.current_version() == path:
                    raise
        raise AssertionError("unreachable")

    @property
    def name(self) -> str:
        return self.path.name

    # --- what queries need, loaded on first use -----------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The model the index was built with, run the same way (ONNX needs no torch)."""
        if self._embedder is None:
            entry = {"name": self.model_name, **self.manifest.get("model", {})}
            embedder = embedder_for_manifest(entry, self.workspace.root, self.path)
            expected = self.manifest.get("model", {}).get("fingerprint")
            if expected and embedder.fingerprint != expected:
                raise ModelMismatch(
                    f"the files of model '{self.model_name}' changed since the index in {self.workspace.root} "
                    "was built; rebuild with `matcher index build`"
                )
            self._embedder = embedder
        return self._embedder

    @property
    def lexical(self) -> LexicalIndex:
        """BM25 over the members' profiles, as the build stored it (memory-mapped)."""
        if self._lexical is None:
            self._lexical = LexicalIndex.load(self.path)
            if self._lexical.n != len(self.members):
                raise IndexCorrupt(f"{self.path}: the BM25 index does not match the participants; {REBUILD}")
        return self._lexical

    def share_model(self, other: IndexVersion) -> bool:
        """Use ``other``'s loaded model when both versions were built with the same one (name,
        backend, files' fingerprint): a server swapping in a new version loads no second copy."""
        if other._embedder is None or self.manifest.get("model") != other.manifest.get("model"):
            return False
        self._embedder = other._embedder
        return True

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed request texts (lots, tenders, `similar --text`) as queries with the index's model,
        checked against the index's dimension."""
        vectors = self.embedder.encode(texts, kind="query")
        if vectors.shape[1] != self.index.dimension:
            raise ModelMismatch(
                f"model '{self.model_name}' gives {vectors.shape[1]}-dimensional vectors but the index has "
                f"{self.index.dimension}; rebuild with `matcher index build`"
            )
        return vectors

    # --- members and their vectors ------------------------------------------------------------

    def stored(self, ids: np.ndarray) -> np.ndarray:
        """The exact vectors of the given vector ids, in their order (read in ascending file order,
        each distinct row once, adjacent rows in one read)."""
        return self.vectors[ids]

    def profile_vector(self, row: int) -> np.ndarray:
        """A member's profile vector (its first), as a (1, dimension) array."""
        return self.stored(np.array([int(self.first[row])]))

    def best_cosine(self, rows: list[int], query: np.ndarray) -> np.ndarray:
        """Each member's cosine to a query: that of its best vector (profile or a past project)."""
        if not rows:
            return np.zeros(0, dtype=np.float32)
        at = np.asarray(rows, dtype=np.int64)  # the list converted once, not at each indexing
        starts = self.first[at]
        counts = self.first[at + 1] - starts
        heads = np.cumsum(counts) - counts
        # every vector id of every firm, firm after firm: starts repeated, plus 0..count-1 within each
        offsets = np.arange(counts.sum()) - np.repeat(heads, counts)
        cosines = self.stored(np.repeat(starts, counts) + offsets) @ query
        return np.maximum.reduceat(cosines, heads).astype(np.float32)

    def row_of(self, participant_id: str) -> int:
        """A member's row; an unknown id names the close ones."""
        row = self.members.row_of(participant_id)
        if row is None:  # only now are all ids read, to say which are close
            ids = self.members.column("id")
            hint = did_you_mean(close_matches(participant_id, ids), "`matcher similar --text` searches by text")
            raise UnknownParticipant(f"no participant '{participant_id}' in the index of {self.workspace.root}{hint}")
        return row

    def participant(self, participant_id: str) -> Participant:
        """A member's whole profile, as stored in this version (description included)."""
        return self.members.get([self.row_of(participant_id)])[0]


def _check_model(workspace: Workspace, manifest: dict[str, Any], model: str | None) -> str:
    """The model the index was built with; a different one asked for is refused, saying what to do."""
    built_with = str(manifest.get("model", {}).get("name", "?"))
    if model is not None and canonical_model(model) != built_with:
        raise ModelMismatch(
            f"the index in {workspace.root} was built with model '{built_with}' "
            f"(dimension {int(manifest.get('dimension', 0))}), not '{model}'; leave --model out to use "
            f"'{built_with}', or rebuild: matcher index build --model {model}"
        )
    return built_with


def _check_faiss_version(version: Path, manifest: dict[str, Any]) -> None:
    """An index written by a newer FAISS may not read correctly with this one: say so, never guess."""
    import faiss

    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", v)[:2])

    written = str(manifest.get("faiss_version", "0"))
    if parts(written) > parts(faiss.__version__):
        raise IndexCorrupt(
            f"{version / 'index.faiss'} was written by FAISS {written}, newer than the installed "
            f"{faiss.__version__}; upgrade faiss-cpu, or rebuild with `matcher index build`"
        )
