"""BM25 with bm25s over texts in several languages: each text is tokenised, stripped of stop
words and stemmed (PyStemmer's Snowball stemmers) in its own language, so a workspace can mix
Russian profiles, Spanish contracts and English tenders.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from matcher.index.bm25_match import LexicalMatch
from matcher.index.lexicon import translations
from matcher.index.postings import Postings, Word, impact_order, sorted_within_terms
from matcher.language import detect

IMPACT_FILE = "impact.csc.index.npy"  # per term, its postings by descending score (postings.impact_order)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STEMMERS = {"en": "english", "es": "spanish", "ru": "russian", "pt": "portuguese", "ro": "romanian",
             "fr": "french", "de": "german", "it": "italian"}  # fmt: skip
_STOPWORDS = {"en": "STOPWORDS_EN", "es": "STOPWORDS_SPANISH", "ru": "STOPWORDS_RUSSIAN", "pt": "STOPWORDS_PORTUGUESE",
              "fr": "STOPWORDS_FRENCH", "de": "STOPWORDS_GERMAN", "it": "STOPWORDS_ITALIAN"}  # fmt: skip


def fold(text: str) -> str:
    """Lower-case; strip accents from Latin letters ('VÍAS' → 'vias'); ё → е. Cyrillic keeps й."""
    text = unicodedata.normalize("NFC", text.casefold())
    return text if text.isascii() else text.translate(_FOLDED)


class _Folded(dict[int, str]):
    """What each character folds to, worked out the first time it is met: str.translate then looks
    every later one up in C (a build folds the words of a million profiles)."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        if c == "ё":
            out = "е"
        elif c.isascii() or not ("a" <= unicodedata.normalize("NFKD", c)[0] <= "z"):
            out = c
        else:  # a Latin letter with a diacritic
            out = unicodedata.normalize("NFKD", c)[0]
        self[code] = out
        return out


_FOLDED = _Folded()


def _bm25s() -> Any:
    """bm25s, imported when first needed (it loads scipy), with its logger quietened: bm25s sets that
    logger to DEBUG when imported, so "Building index from tokens" reached any handler an application
    configured, the user's terminal included."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Any:
    import Stemmer

    name = _STEMMERS.get(language)
    return Stemmer.Stemmer(name) if name else None


@lru_cache(maxsize=16)
def _stopwords(language: str) -> frozenset[str]:
    _bm25s()
    import bm25s.stopwords

    name = _STOPWORDS.get(language)
    return frozenset(fold(w) for w in getattr(bm25s.stopwords, name, ())) if name else frozenset()


def tokens(text: str, language: str | None = None) -> list[str]:
    """The terms BM25 sees: folded words of two letters or more, no stop words, stemmed."""
    language = language or detect(text)
    stop = _stopwords(language)
    words = [w for w in _TOKEN.findall(fold(text)) if w not in stop]
    stemmer = _stemmer(language)
    return list(stemmer.stemWords(words)) if stemmer else words


class LexicalIndex:
    """BM25 scores of a query against every document.

    Args:
        documents: the texts, or for each document a list of (text, language) segments.
        language: one language for all, a list with one per document (None to detect), or
            None to detect each document's language.

    Example:
        >>> index = LexicalIndex(["puentes y viaductos", "vías rurales"], language="es")
        >>> int(index.scores("construcción de un puente").argmax())
        0
    """

    def __init__(
        self,
        documents: Sequence[str | Sequence[tuple[str, str | None]]],
        language: str | Sequence[str | None] | None = None,
    ):
        bm25s = _bm25s()
        self.n = len(documents)
        if language is None or isinstance(language, str):
            languages: Sequence[str | None] = [language] * self.n
        else:
            languages = language
        corpus = []
        for document, lang in zip(documents, languages):
            if isinstance(document, str):
                terms = tokens(document, lang)
            else:  # segments, each in its own language (e.g. code labels in English and Russian)
                terms = [t for text, seg_lang in document for t in tokens(text, seg_lang or lang)]
            corpus.append(terms or ["\u0000"])
        self.languages = [lang for lang in languages]
        self.default_language = language if isinstance(language, str) else None
        self._retriever = bm25s.BM25()
        self._retriever.index(corpus, show_progress=False)
        self._postings: Postings | None = None
        self._matrix()

    def save(self, folder: Path) -> None:
        """Write the index as bm25s's JSON and .npy files (no pickle), named ``*.index.*`` in `folder`,
        and beside them each term's postings in impact order (:data:`IMPACT_FILE`)."""
        self._retriever.save(str(folder), allow_pickle=False, show_progress=False)
        np.save(Path(folder) / IMPACT_FILE, self._matrix().impact, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> LexicalIndex:
        """Read an index `save` wrote; memory-mapped, so opening costs no copy of the score matrix.
        An index saved without the impact order (before it existed) gets it computed at first use."""
        bm25s = _bm25s()
        index = cls.__new__(cls)
        index._retriever = bm25s.BM25.load(str(folder), load_corpus=False, mmap=mmap, allow_pickle=False)
        index.n = int(index._retriever.scores["num_docs"])
        index.languages = []
        index.default_language = None
        index._postings = None
        impact = Path(folder) / IMPACT_FILE
        if impact.exists():
            order = np.load(impact, mmap_mode="r" if mmap else None, allow_pickle=False)
            matrix = index._retriever.scores
            if len(order) == len(matrix["data"]):  # written with these postings, already sorted by document
                index._postings = Postings(matrix["data"], matrix["indices"], matrix["indptr"], order)
        return index

    def _matrix(self) -> Postings:
        """The score matrix with its impact order, made once (at build, or for an old index at first use)."""
        if self._postings is None:
            matrix = self._retriever.scores
            data, indices = sorted_within_terms(matrix["data"], matrix["indices"], matrix["indptr"])
            matrix["data"], matrix["indices"] = data, indices
            self._postings = Postings(data, indices, matrix["indptr"], impact_order(data, matrix["indptr"]))
        return self._postings

    def scores(self, query: str, language: str | None = None) -> np.ndarray:
        """Every document's BM25 score for the query (raw: its size depends on the query and the corpus)."""
        ids = self._term_ids(query, language)
        return self._sum_postings(ids) if ids else np.zeros(self.n, dtype=np.float32)

    def shares(self, query: str, language: str | None = None) -> np.ndarray:
        """Every document's BM25 score as a share of what the query's words can score (see :meth:`match`)."""
        return self.match(query, language).dense()

    def match(self, query: str, language: str | None = None) -> LexicalMatch:
        """The query's BM25 shares: every document's score as a share of what its words can score, in [0, 1].

        The scale is fixed by the query and the corpus, never by the candidates: a term can add at
        most its best document's score for it, so 1.0 is a document that matches every word of the
        request as well as any document does, and a weak best match stays weak. A word no document
        uses counts in the attainable total when it is a word of the trade (one the codes' labels
        use, :mod:`matcher.index.lexicon`: "signalling", "escalator"), as much as a word one document
        used would score it (:meth:`rarest_score`): the request asks for work nobody describes, and a
        member matching its other words does not match all it asks. Other unknown words (place names,
        spelling slips) and every word of a language without a lexicon are left out of the total.

        A Russian or English query's words also match through their translations into the other
        language (:mod:`matcher.index.lexicon`, learned from the CPV labels): a word scores a
        document by its own BM25 there or by its translations' (weighted by their probability),
        whichever is higher, so that a Russian lot finds a member that describes the work in English.

        Returns:
            a :class:`~matcher.index.bm25_match.LexicalMatch`: ``.total`` the attainable total (a share
            times it is the BM25 score), ``.top(k)`` the best documents without adding up every
            posting, ``.at(rows)`` the shares of given rows, ``.dense()`` all of them.

        Example:
            >>> index = LexicalIndex(["puentes y viaductos", "vías rurales"], language="es")
            >>> rows, shares = index.match("construcción de un puente").top(10)
            >>> rows.tolist()
            [0]
        """
        language = language or self.default_language
        lexicon = translations(language)
        terms = tokens(query, language) if self.n else []
        if not terms:
            return LexicalMatch(None, self.n, [], bool(lexicon))
        vocabulary = self._retriever.vocab_dict
        unmatched = 0
        if not lexicon:
            words = [Word(vocabulary[t]) for t in terms if t in vocabulary]
        else:
            words = []
            for term in terms:  # repeated words count again, as in scores()
                translated = tuple((vocabulary[t], p) for t, p in lexicon.get(term, ()) if t in vocabulary)
                if term in vocabulary or translated:
                    words.append(Word(vocabulary.get(term), translated))
                elif term in lexicon:  # a word of the trade (the codes' labels) that no member uses
                    unmatched += 1
        return LexicalMatch(self._matrix(), self.n, words, bool(lexicon), unmatched * self.rarest_score())

    def rarest_score(self) -> float:
        """What a word used by one document scores it (once, in a document of average length): the
        most a word of the request that no document uses could have added, had one used it."""
        n = self.n
        return float(np.log(1.0 + (n - 1 + 0.5) / (1 + 0.5))) if n else 0.0

    def _term_ids(self, query: str, language: str | None) -> list[int]:
        """The vocabulary ids of the query's terms (repeats kept, unknown words left out)."""
        terms = tokens(query, language or self.default_language)
        if not terms or self.n == 0:
            return []
        vocabulary = self._retriever.vocab_dict
        return [vocabulary[t] for t in terms if t in vocabulary]

    def _sum_postings(self, token_ids: list[int]) -> np.ndarray:
        """Each document's BM25 score: the sum of its precomputed term scores over the query's terms
        (repeated terms count again, as in bm25s). np.bincount over the terms' postings: bm25s
        without numba adds them with np.add.at, 30x slower on a million documents."""
        matrix = self._retriever.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        spans = [(int(indptr[t]), int(indptr[t + 1])) for t in token_ids]
        rows = np.concatenate([indices[a:b] for a, b in spans])
        weights = np.concatenate([data[a:b] for a, b in spans]).astype(np.float64)
        return np.bincount(rows, weights=weights, minlength=self.n).astype(np.float32)
