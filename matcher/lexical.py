"""BM25 over texts with bm25s: accents folded, case folded, stop words of the data's language removed."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

# bm25s stop-word lists by ISO 639-1 code; other languages keep their stop words
_STOPWORDS = {"en": "en", "es": "es", "ru": "ru", "pt": "pt", "fr": "fr", "de": "de", "it": "it"}


def fold(text: str) -> str:
    """Lower-case and strip accents: 'VÍAS' and 'vias' are the same word to BM25."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class LexicalIndex:
    """BM25 scores of a query against every document.

    Example:
        >>> index = LexicalIndex(["puentes y viaductos", "vias rurales"], language="es")
        >>> int(index.scores("construccion de puentes").argmax())
        0
    """

    def __init__(self, documents: Sequence[str], language: str = "en"):
        import bm25s

        self._bm25s = bm25s
        self.stopwords: str | list[str] = _STOPWORDS.get(language, [])
        self.n = len(documents)
        self._retriever = bm25s.BM25()
        tokens = bm25s.tokenize([fold(d) for d in documents], stopwords=self.stopwords, show_progress=False)
        self._retriever.index(tokens, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        tokens = self._bm25s.tokenize([fold(query)], stopwords=self.stopwords, show_progress=False, return_ids=False)[0]
        if not tokens:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)
