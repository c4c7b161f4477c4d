"""FAISS vector index with stable int64 ids, chosen by size: exact below a threshold, IVF above it.

All vectors are unit length and scored by inner product (= cosine). Below
:data:`EXACT_LIMIT` vectors the index is exact (``IndexFlatIP``); above it an inverted file
with 8-bit scalar-quantised codes (``IndexIVFScalarQuantizer``: a quarter of the memory) whose
``nprobe`` is tuned at build time to reach :data:`RECALL_TARGET` recall@10 against exact
search on queries that blend stored vectors, measured and returned for the manifest.
Approximate hits are re-scored with the exact vectors (memory-mapped from ``vectors.npy``),
fetching twice as many as asked. HNSW is there on request. Indexes are read memory-mapped
where FAISS supports it (flat and IVF), so opening one costs no copy.

faiss is imported inside the functions; the file format is FAISS's own (no pickle).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.errors import REBUILD, IndexCorrupt, InputError

if TYPE_CHECKING:
    import faiss

INDEX_KINDS = ("auto", "flat", "ivf", "hnsw")
EXACT_LIMIT = 50_000  # vectors; above this "auto" builds an IVF index (flat search of 100k costs ~10-20 ms)
RECALL_TARGET = 0.98  # recall@10 against exact search that nprobe / efSearch are tuned to reach
_PROBES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_EF = (16, 32, 64, 128, 256, 512)


def choose_kind(count: int, kind: str = "auto") -> str:
    """The index kind for `count` vectors: exact up to EXACT_LIMIT, IVF above, unless told."""
    if kind not in INDEX_KINDS:
        raise InputError(f"--index-type {kind}: choose one of {', '.join(INDEX_KINDS)}")
    if kind != "auto":
        return kind
    return "flat" if count <= EXACT_LIMIT else "ivf"


def _threads(query: bool = False) -> None:
    """OpenMP threads for FAISS: all usable cores to build; one to answer single queries, where a
    parallel region costs more than it saves (10x slower on a busy 2-core machine, measured)."""
    import faiss

    from matcher.threads import thread_count

    faiss.omp_set_num_threads(1 if query else thread_count())


class VectorIndex:
    """Search by vector; the kind ("flat", "ivf" or "hnsw") is FAISS's index under the hood."""

    def __init__(self, index: faiss.Index, exact: np.ndarray | None = None):
        self._index = index
        self.exact = exact  # the float32 vectors by id (often memory-mapped), to re-score approximate hits

    def attach(self, exact: np.ndarray) -> None:
        """Give an approximate index the exact vectors (row = id): hits are then re-scored exactly,
        which undoes the 8-bit codes' rounding (their ties and swaps cost recall otherwise)."""
        self.exact = exact

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, kind: str = "auto", seed: int = 0) -> VectorIndex:
        import faiss

        _threads()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        n, d = vectors.shape
        kind = choose_kind(n, kind)
        index: Any
        if kind == "flat":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(d))
        elif kind == "ivf":
            nlist = int(min(max(16, round(math.sqrt(n))), max(1, n // 40)))
            index = faiss.IndexIVFScalarQuantizer(
                faiss.IndexFlatIP(d), d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            sample = np.random.default_rng(seed).choice(n, size=min(n, 40 * nlist), replace=False)
            index.cp.niter = 20
            index.cp.seed = seed
            index.train(vectors[np.sort(sample)])
        elif kind == "hnsw":
            graph = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = 80
            index = faiss.IndexIDMap(graph)
        index.add_with_ids(vectors, ids)
        return cls(index)

    @property
    def kind(self) -> str:
        inner = self._inner()
        name = type(inner).__name__
        return "ivf" if "IVF" in name else "hnsw" if "HNSW" in name else "flat"

    def _inner(self) -> Any:
        import faiss

        index = self._index
        if isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2):
            index = faiss.downcast_index(index.index)
        return index

    @property
    def params(self) -> dict[str, int]:
        """The search-time setting that trades speed for recall (nprobe or efSearch); none for flat."""
        inner = self._inner()
        if self.kind == "ivf":
            return {"nprobe": int(inner.nprobe), "nlist": int(inner.nlist)}
        if self.kind == "hnsw":
            return {"efSearch": int(inner.hnsw.efSearch)}
        return {}

    def set_params(self, params: dict[str, Any]) -> None:
        inner = self._inner()
        if "nprobe" in params and self.kind == "ivf":
            inner.nprobe = int(params["nprobe"])
        if "efSearch" in params and self.kind == "hnsw":
            inner.hnsw.efSearch = int(params["efSearch"])

    def tune(
        self, vectors: np.ndarray, k: int = 10, target: float = RECALL_TARGET, queries: int = 300, seed: int = 0
    ) -> dict[str, Any]:
        """Set the smallest nprobe/efSearch that reaches `target` recall@k against exact search.

        The queries blend three random stored vectors each: like a lot's text, which sits between
        several firms rather than on one (on 100k synthetic firms, real lot texts needed twice the
        nprobe that stored vectors as queries did; blends need as much or a little more).
        Returns the setting and the recall measured.
        """
        if self.kind == "flat":
            return {"recall_at_10": 1.0, "recall_queries": 0}
        if self.exact is None:
            self.attach(vectors)
        rng = np.random.default_rng(seed)
        blend = np.asarray(vectors[np.sort(rng.integers(0, len(vectors), queries * 3))], dtype=np.float32)
        probe = rng.permutation(blend).reshape(queries, 3, -1).sum(axis=1)
        probe = np.ascontiguousarray(probe / np.linalg.norm(probe, axis=1, keepdims=True), dtype=np.float32)
        exact = _exact_top(vectors, probe, k)
        grid = [{"nprobe": p} for p in _PROBES if p <= self.params.get("nlist", 0)] if self.kind == "ivf" else [
            {"efSearch": e} for e in _EF
        ]  # fmt: skip
        recall = 0.0
        for setting in grid:
            self.set_params(setting)
            _, found = self.search(probe, k)
            recall = float(np.mean([len(set(t) & set(f)) / k for t, f in zip(exact, found)]))
            if recall >= target:
                break
        return {**self.params, "recall_at_10": round(recall, 4), "recall_queries": len(probe)}

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for each query row; ids are -1 where fewer than k exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        if self.exact is None or self.kind == "flat":
            return self._index.search(queries, k)
        _, ids = self._index.search(queries, min(len(self), 2 * k))  # over-fetch, then re-score exactly
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(queries), k), -1, dtype=np.int64)
        for q, row in enumerate(ids):
            hits = row[row >= 0]
            order = np.sort(hits)  # ascending ids: sequential reads of a memory-mapped file
            exact = np.asarray(self.exact[order], dtype=np.float32) @ queries[q]
            best = np.argsort(-exact, kind="stable")[:k]
            out_scores[q, : len(best)] = exact[best]
            out_ids[q, : len(best)] = order[best]
        return out_scores, out_ids

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """The stored vectors for the given ids, in that order (exact for flat, decoded for IVF)."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for i, vid in enumerate(ids):
            out[i] = self._index.reconstruct(int(vid))
        return out

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> VectorIndex:
        """Read an index; memory-mapped where FAISS can (the pages are then shared and paged in lazily)."""
        import faiss

        if not path.exists():
            raise IndexCorrupt(f"{path}: index file is missing; {REBUILD}")
        _threads(query=True)
        index: Any = None
        flags = (faiss.IO_FLAG_MMAP_IFC, faiss.IO_FLAG_MMAP) if mmap else ()
        for flag in (*flags, 0):
            try:
                index = faiss.read_index(str(path), flag)
                break
            except RuntimeError as exc:
                error = exc
        if index is None:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unreadable"
            raise IndexCorrupt(f"{path}: not a readable FAISS index ({reason[:120]}); {REBUILD}") from None
        return cls(index)


def _exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids by inner product, in blocks so memory stays bounded."""
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
        merged_ids = np.hstack([out, ids + start])
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(merged_scores, order, axis=1)
        out = np.take_along_axis(merged_ids, order, axis=1)
    return out
