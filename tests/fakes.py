"""A small fake embedder for tests where the model is not what is tested."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from matcher.embed import Embedder, Kind
from matcher.embed.base import Progress


class HashingEmbedder(Embedder):
    """Bag of hashed words: texts sharing words get similar vectors. Deterministic, instant."""

    name = "hashing-fake"
    fingerprint = "fake"

    def __init__(self, dimension: int = 64):
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            if norm == 0:
                out[i, 0] = 1.0
        if progress:
            progress(len(texts))
        return out
