"""A bm25s index's postings as :class:`LexicalMatch` reads them: the score matrix (a column per
term, each term's documents ascending) with each term's impact order (its postings by
descending score), and a query :class:`Word` (its own term and its translations')."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sorted_within_terms(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The postings with each term's documents ascending (bm25s writes them so; scipy's CSC may not)."""
    step = np.diff(np.asarray(indices, dtype=np.int64))
    starts = np.asarray(indptr[1:-1], dtype=np.int64) - 1  # a term's first posting may be below the last one's
    inside = np.ones(len(step), dtype=bool)
    inside[starts[(starts >= 0) & (starts < len(step))]] = False
    if (step[inside] > 0).all():
        return data, indices
    term = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.lexsort((indices, term))
    return np.asarray(data)[order], np.asarray(indices)[order]


def impact_order(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Per term, its postings' offsets within the term by descending score (int32, one per posting)."""
    term = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    order = np.lexsort((-np.asarray(data, dtype=np.float32), term))
    return (order - np.asarray(indptr, dtype=np.int64)[term]).astype(np.int32)


class Postings:
    """The score matrix of a bm25s index (CSC: a column per term) and each column's impact order."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, impact: np.ndarray):
        # plain ndarray views of the (memory-mapped) arrays: still mapped, not copied, but slicing
        # one skips np.memmap's Python-level __getitem__ (tens of thousands of slices a request)
        self.data, self.indices, self.indptr, self.impact = (np.asarray(a) for a in (data, indices, indptr, impact))
        # a word's highest value (LexicalMatch._word_best), kept across queries: the words of a
        # tender's lots repeat (half of them in the sample's), and each costs a threshold search
        self.word_best: dict[Word, float] = {}

    def span(self, term: int) -> tuple[int, int]:
        return int(self.indptr[term]), int(self.indptr[term + 1])

    def length(self, term: int) -> int:
        a, b = self.span(term)
        return b - a

    def best(self, term: int) -> float:
        """The term's highest score (0 for a term without postings)."""
        a, b = self.span(term)
        return float(self.data[a + int(self.impact[a])]) if b > a else 0.0

    def bound(self, term: int, depth: int) -> float:
        """The most a document outside the term's `depth` best postings scores for it."""
        a, b = self.span(term)
        return float(self.data[a + int(self.impact[a + depth])]) if depth < b - a else 0.0

    def head(self, term: int, depth: int) -> np.ndarray:
        """The documents of the term's `depth` best postings."""
        a, b = self.span(term)
        return np.asarray(self.indices[a + np.asarray(self.impact[a : min(b, a + depth)], dtype=np.int64)])

    def head_scores(self, term: int, depth: int) -> np.ndarray:
        """The scores of the term's `depth` best postings, best first."""
        a, b = self.span(term)
        return np.asarray(self.data[a + np.asarray(self.impact[a : min(b, a + depth)], dtype=np.int64)])

    def lookup(self, term: int, rows: np.ndarray) -> np.ndarray:
        """The term's score for each of `rows` (float64, 0 where a row lacks the term)."""
        a, b = self.span(term)
        docs = self.indices[a:b]
        at = np.minimum(np.searchsorted(docs, rows), max(0, b - a - 1))
        if b == a:
            return np.zeros(len(rows))
        found = np.asarray(docs[at]) == rows
        return np.where(found, np.asarray(self.data[a + at], dtype=np.float64), 0.0)

    def every(self, term: int, weight: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """All the term's documents and their scores times `weight` (float64)."""
        a, b = self.span(term)
        return np.asarray(self.indices[a:b], dtype=np.int64), weight * np.asarray(self.data[a:b], dtype=np.float64)


@dataclass(frozen=True)
class Word:
    """A query word as BM25 scores it: its own term and its translations' (term, probability);
    a document's value for it is the larger of its own score and the weighted sum of its translations'."""

    own: int | None
    translations: tuple[tuple[int, float], ...] = ()

    @property
    def terms(self) -> list[int]:
        return ([] if self.own is None else [self.own]) + [t for t, _ in self.translations]

    def combine(self, own: float | np.ndarray, translated: list[float | np.ndarray]) -> float | np.ndarray:
        """max(own, Σ p·translation), summed from 0 in the lexicon's order (as bincount adds them)."""
        if not self.translations:
            return own
        total: float | np.ndarray = 0.0
        for (_, p), value in zip(self.translations, translated):
            total = total + p * value
        return total if self.own is None else np.maximum(own, total)
