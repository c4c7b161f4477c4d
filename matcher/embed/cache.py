"""Embeddings cached by (model fingerprint, sha256 of the text), so unchanged texts are embedded once.

One Parquet file per model in the cache folder; written atomically after new texts were embedded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from matcher.embed.base import Embedder, Kind, Progress
from matcher.faults import crash_point
from matcher.store.files import atomic_path


def default_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "matcher" / "embeddings"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _keys(texts: Sequence[str], kind: Kind) -> list[str]:
    """Cache keys: a query and a passage of the same text are different vectors for prefix-trained models."""
    return [text_hash(t if kind == "passage" else "query: " + t) for t in texts]


class EmbeddingCache:
    """Wraps an embedder: `encode` returns cached vectors and embeds only texts not seen before.

    Example:
        >>> cache = EmbeddingCache(load_embedder(), Path("cache"))  # doctest: +SKIP
        >>> vectors = cache.encode(texts)   # second call with the same texts embeds nothing
    """

    def __init__(self, embedder: Embedder, folder: Path | None = None, reuse: bool = True):
        self.embedder = embedder
        self.folder = folder or default_cache_dir()
        self.path = self.folder / f"{embedder.name.replace('/', '_')[-80:]}-{embedder.fingerprint}.parquet"
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self.hits = 0
        self.misses = 0
        if reuse:  # reuse=False embeds every text again (and stores the fresh vectors)
            self._load()

    def _load(self) -> None:
        import polars as pl

        if not self.path.exists():
            return
        try:
            frame = pl.read_parquet(self.path)
            column = frame["vector"]
            if column.dtype == pl.List(pl.Float32):  # caches written before the fixed-width column
                column = column.list.to_array(len(column[0]) if len(column) else 0)
            vectors = np.ascontiguousarray(column.to_numpy(), dtype=np.float32)
        except Exception:  # a damaged cache is only a cache: start again
            return
        if vectors.ndim == 2 and len(vectors) == frame.height:
            self._rows = {h: i for i, h in enumerate(frame["hash"].to_list())}
            self._vectors = vectors

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        hashes = _keys(texts, kind)
        missing: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            if h not in self._rows and h not in missing:
                missing[h] = t
        self.misses += len(missing)
        self.hits += len(texts) - sum(1 for h in hashes if h in missing)
        if missing:
            crash_point("embedding")
            cached = len(texts) - len(missing)  # progress counts all texts, cached ones as done
            new = self.embedder.encode(
                list(missing.values()), progress=(lambda done: progress(cached + done)) if progress else None, kind=kind
            )
            self._append(list(missing), new)
            crash_point("cache-written")
        if progress:
            progress(len(texts))
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return self._vectors[[self._rows[h] for h in hashes]]

    def put(self, texts: Sequence[str], vectors: np.ndarray, kind: Kind = "passage") -> None:
        """Store vectors made elsewhere for texts not cached yet (a benchmark's stand-in vectors)."""
        new: dict[str, int] = {}
        for i, h in enumerate(_keys(texts, kind)):
            if h not in self._rows:
                new.setdefault(h, i)
        self._append(list(new), np.asarray(vectors, dtype=np.float32)[list(new.values())])

    def _append(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Add vectors for hashes not stored yet, and write the cache."""
        start = len(self._rows)
        self._vectors = vectors if start == 0 else np.vstack([self._vectors, vectors])
        for i, h in enumerate(hashes):
            self._rows[h] = start + i
        self._save()

    def encoder(self, progress: Callable[[int, int], None] | None = None) -> Callable[..., np.ndarray]:
        """`encode` as a function of (texts, kind) that reports progress as (done, total)."""

        def encode(texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
            total = len(texts)
            return self.encode(texts, progress=(lambda done: progress(done, total)) if progress else None, kind=kind)

        return encode

    def _save(self) -> None:
        import polars as pl

        # A fixed-width array column: written and read back without going through Python lists.
        frame = pl.DataFrame({"hash": pl.Series(list(self._rows), dtype=pl.String), "vector": self._vectors})
        with atomic_path(self.path) as tmp:
            frame.write_parquet(tmp)
