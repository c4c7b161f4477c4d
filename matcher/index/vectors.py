"""FAISS vector indexes behind one interface, :class:`VectorIndex`, with one class per kind.

All vectors are unit length and scored by inner product (= cosine), under stable int64 ids.

- :class:`FlatIndex` ("flat"): exact search (``IndexIDMap2(IndexFlatIP)``).
- :class:`IVFIndex` ("ivf"): an inverted file with 8-bit scalar-quantised codes
  (``IndexIVFScalarQuantizer``: a quarter of the memory), ``nprobe`` tuned at build time.
- :class:`HNSWIndex` ("hnsw"): a graph (``IndexIDMap2(IndexHNSWFlat)``), ``efSearch`` tuned.

:func:`build_vector_index` picks the kind by size as :func:`choose_kind` says: exact up to
:data:`EXACT_LIMIT` vectors, IVF above, HNSW on request. An approximate index's setting is tuned
to reach :data:`RECALL_TARGET` recall@10 against exact search, and its hits are re-scored with the
exact vectors once they are attached (a served version reads them from ``vectors.npy``), fetching twice as many
as asked. :meth:`VectorIndex.load` reads any kind back, memory-mapped where FAISS supports it, and
picks the class from the FAISS type it read.

faiss is imported inside the functions (``import matcher`` must not load it); the file format is
FAISS's own (no pickle).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

import numpy as np

from matcher.errors import REBUILD, IndexCorrupt, InputError
from matcher.index.exact import Rows, exact_top, rescored

if TYPE_CHECKING:
    import faiss

IndexKind = Literal["auto", "flat", "ivf", "hnsw"]
BuiltKind = Literal["flat", "ivf", "hnsw"]
INDEX_KINDS: tuple[str, ...] = get_args(IndexKind)
EXACT_LIMIT = 50_000  # vectors; above this "auto" builds an IVF index (flat search of 100k costs ~10-20 ms)
RECALL_TARGET = 0.98  # recall@10 against exact search that nprobe / efSearch are tuned to reach
_PROBES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_EF = (16, 32, 64, 128, 256, 512)


def choose_kind(count: int, kind: IndexKind = "auto") -> BuiltKind:
    """The index kind for `count` vectors: exact up to EXACT_LIMIT, IVF above, HNSW only when told.

    IVF stays the choice above EXACT_LIMIT because HNSW does not win there (docs/benchmarks.md,
    "Index kinds"; both built by :func:`build_vector_index` and tuned to 0.98 recall@10, served
    from one thread on 2 shared cores). On 100,000 real MiniLM vectors: IVF (nprobe 64 of 316)
    3 s to build and tune, recall@10 0.997 on blended queries, 0.993 on the sample's lots, a 40 MB
    file; HNSW 18 s, efSearch 512 reaching only 0.951 (0.996 on lots), 181 MB. On 1M (125,000
    real, the rest noise copies): IVF (64 of 1,000) 29 s, 0.986 blended / 0.989 lots, 3.4 ms a
    query, 393 MB; HNSW 280 s, 0.850 / 0.954, 2.0 ms, 1.8 GB. HNSW is faster by a millisecond
    of a `suggest` call that takes far longer, misses the recall target, and keeps every float32
    vector beside `vectors.npy` (1.8 GB at 1M against 2 GB for the whole process). Measure again
    with ``python scripts/bench.py --merge --skip throughput,cli,sizes,refresh --ann-sizes 100000,1000000``.
    """
    if kind not in INDEX_KINDS:  # a string from the command line or a manifest, not checked before
        raise InputError(f"--index-type {kind}: choose one of {', '.join(INDEX_KINDS)}")
    if kind != "auto":
        return kind
    return "flat" if count <= EXACT_LIMIT else "ivf"


def build_vector_index(vectors: np.ndarray, ids: np.ndarray, kind: IndexKind = "auto", seed: int = 0) -> VectorIndex:
    """An index of `vectors` (unit rows) under `ids` (unique int64), of the kind :func:`choose_kind` picks.

    Example:
        >>> index = build_vector_index(vectors, np.arange(len(vectors)))  # exact below 50,000
        >>> stats = index.tune(vectors)  # {} for flat; nprobe / efSearch and the recall measured
        >>> scores, ids = index.search(vectors[:3], k=10)
    """
    chosen = choose_kind(len(vectors), kind)
    return next(c for c in _IMPLEMENTATIONS if c.kind == chosen).build(vectors, ids, seed=seed)


# A language with fewer vectors than this is centred by the mean of all vectors instead.
MIN_LANGUAGE_VECTORS = 20


def center_by_language(vectors: np.ndarray, languages: Sequence[str]) -> tuple[np.ndarray, dict[str, int]]:
    """Each vector minus the mean vector of its language, normalised again.

    A multilingual model places texts of one language nearer each other than the meaning alone
    would: a Russian request's cosines to every Russian profile sit above those to English
    profiles of the same work. Removing each language's mean removes that shared offset (Libovický
    et al., "On the language neutrality of pre-trained multilingual representations", 2020), so a
    request ranks firms by what they do, whatever language they write in. Returns the vectors and
    the number of vectors centred by each language's own mean ("*": by the mean of all).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(vectors):
        return vectors, {}
    labels = np.asarray(languages, dtype=object)
    overall = vectors.mean(axis=0)
    out = vectors - overall
    counts: dict[str, int] = {}
    for language in sorted(set(labels.tolist())):
        mask = labels == language
        if mask.sum() >= MIN_LANGUAGE_VECTORS:
            out[mask] = vectors[mask] - vectors[mask].mean(axis=0)
            counts[str(language)] = int(mask.sum())
        else:
            counts["*"] = counts.get("*", 0) + int(mask.sum())
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32), counts


def _threads(query: bool = False) -> None:
    """OpenMP threads for FAISS: all usable cores to build; one to answer single queries, where a
    parallel region costs more than it saves (10x slower on a busy 2-core machine, measured)."""
    import faiss

    from matcher.threads import thread_count

    faiss.omp_set_num_threads(1 if query else thread_count())


def _prepared(vectors: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arrays as FAISS takes them, after giving the build every core."""
    _threads()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if vectors.ndim != 2 or len(ids) != len(vectors):
        raise ValueError(f"vectors {vectors.shape} and ids {ids.shape}: need one id per row of a 2-d array")
    return vectors, ids


class VectorIndex(ABC):
    """Search unit vectors by inner product; every vector has a stable int64 id.

    The interface of every kind (flat, IVF, HNSW). Build one with :func:`build_vector_index` (or a
    kind's :meth:`build`), or read one with :meth:`load`; callers use only the methods here.

    - ``search(queries, k)``: the top-k (scores, ids) of each query row, best first.
    - ``vectors(ids)``: the stored vectors of those ids (on every kind).
    - ``params`` / ``set_params`` / ``tune``: the search-time setting (nprobe, efSearch; none for flat),
      recorded in the manifest at build time and set again after loading.
    - ``attach(exact)``: the exact vectors by id, to re-score approximate hits.
    - ``save(path)`` / ``load(path)``, ``dimension``, ``len()``, ``kind``.
    """

    kind: ClassVar[BuiltKind]
    _faiss_type: ClassVar[str]  # the FAISS class (under an id map) that this kind's files hold

    def __init__(self, index: faiss.Index, exact: Rows | None = None):
        self._index = index
        self.exact = exact  # the float32 vectors by id (an array, or read from a file), to re-score approximate hits

    @classmethod
    @abstractmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, seed: int = 0) -> VectorIndex:
        """A new index of this kind holding `vectors` (unit rows) under `ids` (unique int64);
        `seed` fixes whatever the build draws at random (IVF's training sample and clustering)."""

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> VectorIndex:
        """Read an index `save` wrote, as the class of the kind it holds; memory-mapped where FAISS
        can (the pages are then shared and paged in lazily)."""
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
        inner = _unwrapped(index)
        for implementation in _IMPLEMENTATIONS:
            if isinstance(inner, getattr(faiss, implementation._faiss_type)):
                return implementation(index)
        raise IndexCorrupt(f"{path}: a FAISS {type(inner).__name__}, which matcher does not build; {REBUILD}")

    def save(self, path: Path) -> None:
        """Write the index in FAISS's own format; the exact vectors attached are not part of it."""
        import faiss

        faiss.write_index(self._index, str(path))

    def attach(self, exact: Rows) -> None:
        """Give the index the exact vectors (row = id): approximate hits are then re-scored exactly,
        which undoes the 8-bit codes' rounding (their ties and swaps cost recall otherwise), and
        :meth:`vectors` reads them from here."""
        self.exact = exact

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def params(self) -> dict[str, int]:
        """The search-time setting that trades speed for recall (nprobe or efSearch); none for flat."""
        return {}

    def set_params(self, params: dict[str, Any]) -> None:
        """Take this kind's setting from `params` (a manifest's "index" entry will do); other keys are ignored."""
        return None  # an exact index has no setting

    def tune(
        self,
        vectors: np.ndarray,
        k: int = 10,
        target: float = RECALL_TARGET,
        queries: int = 300,
        seed: int = 0,
        *,
        ids: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """Set the smallest nprobe/efSearch that reaches `target` recall@k against exact search.

        The queries blend three random stored vectors each: like a lot's text, which sits between
        several firms rather than on one (on 100k synthetic firms, real lot texts needed twice the
        nprobe that stored vectors as queries did; blends need as much or a little more).
        `vectors` are the stored ones (`ids[i]` is row i's id; the row number when None), attached for
        re-scoring when none are and they are by id. Returns the setting and the recall measured, as
        the manifest records them; an exact index has nothing to tune.
        """
        settings = self._settings()
        if not settings:
            return {"recall_at_10": 1.0, "recall_queries": 0}
        if self.exact is None and ids is None:
            self.attach(vectors)
        rng = np.random.default_rng(seed)
        blend = np.asarray(vectors[np.sort(rng.integers(0, len(vectors), queries * 3))], dtype=np.float32)
        probe = rng.permutation(blend).reshape(queries, 3, -1).sum(axis=1)
        probe = np.ascontiguousarray(probe / np.linalg.norm(probe, axis=1, keepdims=True), dtype=np.float32)
        truth = exact_top(vectors, probe, k)
        if ids is not None:
            truth = np.where(truth >= 0, np.asarray(ids, dtype=np.int64)[truth], -1)
        recall = 0.0
        for setting in settings:
            self.set_params(setting)
            _, found = self.search(probe, k)
            recall = float(np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found)]))
            if recall >= target:
                break
        return {**self.params, "recall_at_10": round(recall, 4), "recall_queries": len(probe)}

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for each query row, best first.

        k is capped to the number of vectors (and is at least 1): asking for more returns that
        many columns. Ids are -1 (scores below any real one) where an approximate index found fewer.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        return self._search(queries, max(1, min(k, len(self))))

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._index.search(queries, k)
        return scores, ids

    def _settings(self) -> list[dict[str, int]]:
        """The settings :meth:`tune` tries, cheapest first; none for an exact index."""
        return []

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """The stored vectors of `ids`, in that order: the exact ones when attached, else read back
        from the index (exact for flat and HNSW, decoded from the 8-bit codes for IVF).

        Raises:
            KeyError: an id is not in the index.
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        if self.exact is not None:
            if ids.min() < 0 or ids.max() >= len(self.exact):
                raise KeyError(f"vector ids {_outside(ids, len(self.exact))} are not in the index")
            return np.asarray(self.exact[ids], dtype=np.float32)
        try:
            return np.asarray(self._reconstruct(ids), dtype=np.float32)
        except RuntimeError:  # FAISS's own message names a C++ function, not the id
            raise KeyError(f"vector ids {ids.tolist()[:10]} are not all in the index") from None

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        import faiss

        if isinstance(self._index, faiss.IndexIDMap2) or not isinstance(self._index, faiss.IndexIDMap):
            return self._index.reconstruct_batch(ids)
        # A plain IndexIDMap (HNSW files of earlier versions) cannot reconstruct by id: find each id's
        # position in its id map and ask the index underneath.
        stored = faiss.vector_to_array(self._index.id_map)
        order = np.argsort(stored, kind="stable")
        at = np.searchsorted(stored, ids, sorter=order)
        known = at < len(stored)
        known[known] = stored[order[at[known]]] == ids[known]
        if not known.all():
            raise KeyError(f"vector ids {ids[~known].tolist()[:10]} are not in the index")
        positions = order[at]
        return _unwrapped(self._index).reconstruct_batch(positions)

    def _inner(self) -> Any:
        return _unwrapped(self._index)


class FlatIndex(VectorIndex):
    """Exact search: every query is scored against every vector (``IndexIDMap2(IndexFlatIP)``)."""

    kind = "flat"
    _faiss_type = "IndexFlat"

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, seed: int = 0) -> FlatIndex:
        import faiss

        vectors, ids = _prepared(vectors, ids)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        index.add_with_ids(vectors, ids)
        return cls(index)


class ApproximateIndex(VectorIndex):
    """What the approximate kinds share: their hits are re-scored with the exact vectors once attached."""

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.exact is None:
            return super()._search(queries, k)
        _, ids = self._index.search(queries, min(len(self), 2 * k))  # over-fetch, then re-score exactly
        return rescored(self.exact, queries, ids, k)


class IVFIndex(ApproximateIndex):
    """Inverted file over 8-bit scalar-quantised codes (``IndexIVFScalarQuantizer``); ``nprobe`` of
    ``nlist`` lists are searched. Reading vectors back decodes the codes (a few thousandths off)."""

    kind = "ivf"
    _faiss_type = "IndexIVF"

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, seed: int = 0) -> IVFIndex:
        import faiss

        vectors, ids = _prepared(vectors, ids)
        n, d = vectors.shape
        nlist = int(min(max(16, round(math.sqrt(n))), max(1, n // 40)))
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(d), d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        sample = np.random.default_rng(seed).choice(n, size=min(n, 40 * nlist), replace=False)
        index.cp.niter = 20
        index.cp.seed = seed
        index.train(vectors[np.sort(sample)])
        index.add_with_ids(vectors, ids)
        return cls(index)

    @property
    def params(self) -> dict[str, int]:
        inner = self._inner()
        return {"nprobe": int(inner.nprobe), "nlist": int(inner.nlist)}

    def set_params(self, params: dict[str, Any]) -> None:
        if "nprobe" in params:
            self._inner().nprobe = int(params["nprobe"])

    def _settings(self) -> list[dict[str, int]]:
        return [{"nprobe": p} for p in _PROBES if p <= self.params["nlist"]]

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        import faiss

        inner: Any = self._inner()
        no_map, hashtable = faiss.DirectMap.NoMap, faiss.DirectMap.Hashtable  # type: ignore[attr-defined]
        bare = inner is self._index  # no id map around it: the IVF index finds ids through its direct map
        if bare and inner.direct_map.type == no_map:
            # Built on first use rather than stored: the files (and the memory of serving them) stay as
            # they were, and serving reads the exact vectors instead.
            inner.set_direct_map_type(hashtable)
        return super()._reconstruct(ids)


class HNSWIndex(ApproximateIndex):
    """A navigable small-world graph over the full vectors (``IndexHNSWFlat``, 32 links, efConstruction
    80); ``efSearch`` candidates are kept while searching."""

    kind = "hnsw"
    _faiss_type = "IndexHNSW"

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, seed: int = 0) -> HNSWIndex:
        """`seed` is unused: FAISS draws the graph's levels from its own fixed seed."""
        import faiss

        vectors, ids = _prepared(vectors, ids)
        graph = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = 80
        index = faiss.IndexIDMap2(graph)  # IDMap2, not IDMap: it can give a vector back by id
        index.add_with_ids(vectors, ids)
        return cls(index)

    @property
    def params(self) -> dict[str, int]:
        return {"efSearch": int(self._inner().hnsw.efSearch)}

    def set_params(self, params: dict[str, Any]) -> None:
        if "efSearch" in params:
            self._inner().hnsw.efSearch = int(params["efSearch"])

    def _settings(self) -> list[dict[str, int]]:
        return [{"efSearch": e} for e in _EF]


_IMPLEMENTATIONS: tuple[type[VectorIndex], ...] = (FlatIndex, IVFIndex, HNSWIndex)


def _unwrapped(index: Any) -> Any:
    """The index under an id map, as its own FAISS class."""
    import faiss

    if isinstance(index, faiss.IndexIDMap):  # IndexIDMap2 included
        return faiss.downcast_index(index.index)
    return index


def _outside(ids: np.ndarray, count: int) -> list[int]:
    return ids[(ids < 0) | (ids >= count)].tolist()[:10]
