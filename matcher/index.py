"""FAISS vector index with stable int64 ids: exact inner product over unit vectors (= cosine).

faiss is imported inside the functions; the file format is FAISS's own (no pickle).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.errors import REBUILD, IndexCorrupt

if TYPE_CHECKING:
    import faiss


class VectorIndex:
    """An ``IndexIDMap2`` over ``IndexFlatIP``: search by vector, fetch a vector by id."""

    def __init__(self, index: faiss.Index):
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        return cls(index)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for each query row; ids are -1 where fewer than k exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        scores, ids = self._index.search(queries, k)
        return scores, ids

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """The stored vectors for the given ids, in that order."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for i, vid in enumerate(ids):
            out[i] = self._index.reconstruct(int(vid))
        return out

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        import faiss

        if not path.exists():
            raise IndexCorrupt(f"{path}: index file is missing; {REBUILD}")
        try:
            index: Any = faiss.read_index(str(path))
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
            raise IndexCorrupt(f"{path}: not a readable FAISS index ({reason[:120]}); {REBUILD}") from None
        return cls(index)
