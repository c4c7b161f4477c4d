"""Exact inner-product search over plain arrays: the truth that approximate indexes are tuned against,
and the re-scoring of their hits.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Rows(Protocol):
    """Vectors by row number, read with an integer array of rows (any order): an array, a memory
    mapping, or a served version's :class:`~matcher.store.vector_file.VectorFile`."""

    def __len__(self) -> int: ...

    def __getitem__(self, rows: np.ndarray, /) -> np.ndarray: ...


def rescored(exact: Rows, queries: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best k of each row's candidate `ids`, by exact inner product with the vectors in `exact` (row = id)."""
    out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for q, row in enumerate(ids):
        hits = row[row >= 0]
        order = np.sort(hits)  # ascending ids: the file is read in order
        scores = np.asarray(exact[order], dtype=np.float32) @ queries[q]
        best = np.argsort(-scores, kind="stable")[:k]
        out_scores[q, : len(best)] = scores[best]
        out_ids[q, : len(best)] = order[best]
    return out_scores, out_ids


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k row numbers by inner product, in blocks so memory stays bounded."""
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    out = np.empty((len(queries), k), dtype=np.int64)
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out.fill(-1)
    block = 200_000
    for start in range(0, len(vectors), block):
        flat.reset()
        flat.add(np.ascontiguousarray(vectors[start : start + block], dtype=np.float32))
        scores, ids = flat.search(queries, min(k, flat.ntotal))
        merged_scores = np.hstack([best, scores])
        merged_ids = np.hstack([out, np.where(ids >= 0, ids + start, -1)])
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(merged_scores, order, axis=1)
        out = np.take_along_axis(merged_ids, order, axis=1)
    return out
