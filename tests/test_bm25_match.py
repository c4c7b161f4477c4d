"""LexicalMatch: top(k) and at(rows) give exactly what the full array of shares gives, without
adding up every posting (the threshold algorithm over impact-ordered postings)."""

from __future__ import annotations

import numpy as np
import pytest

import matcher.index.bm25_match
from matcher.build import participant_lexical_index
from matcher.index.bm25 import IMPACT_FILE, LexicalIndex
from matcher.inputs.participants import read_participants
from matcher.inputs.tenders import read_tender
from matcher.profiles import lot_language, lot_text
from matcher.rank.pool import top_k_rows
from tests.conftest import SAMPLE


def _expected(dense: np.ndarray, k: int) -> np.ndarray:
    rows = top_k_rows(dense, k)
    return rows[dense[rows] > 0]


def _check(index: LexicalIndex, text: str, language: str | None, ks=(1, 10, 200)) -> list[int]:
    """Assert top(k) and at() against the dense shares; return the postings each top(k) read."""
    match = index.match(text, language)
    dense = match.dense()
    read = []
    for k in ks:
        rows, shares = match.top(k)
        np.testing.assert_array_equal(rows, _expected(dense, k), err_msg=f"k={k}: {text[:60]!r}")
        np.testing.assert_array_equal(shares, dense[rows])
        read.append(match.postings_read)
    some = np.random.default_rng(0).choice(index.n, min(index.n, 500), replace=False)
    np.testing.assert_array_equal(match.at(some), dense[some])
    np.testing.assert_array_equal(match.at(np.arange(index.n)), dense)
    return read


@pytest.fixture(autouse=True)
def _always_prune(monkeypatch):
    """Small corpora add every posting up (faster there); these tests prune at any size."""
    monkeypatch.setattr(matcher.index.bm25_match, "DENSE_UP_TO", 0)


@pytest.fixture(scope="module")
def sample_index() -> LexicalIndex:
    participants = read_participants([SAMPLE / "participants.csv"], write_rejects=False).participants
    return participant_lexical_index(participants)


def _lot_texts() -> list[tuple[str, str]]:
    out = []
    for path in sorted((SAMPLE / "tenders").iterdir()):
        tender = read_tender(path)
        out += [(lot_text(lot, tender), lot_language(lot, tender)) for lot in tender.lots]
    return out


def test_top_and_at_equal_the_dense_shares_for_every_sample_lot(sample_index):
    texts = _lot_texts()
    assert {language for _, language in texts} == {"en", "ru"}  # Russian lots go through the translations
    for text, language in texts:
        _check(sample_index, text, language)


def test_the_same_after_saving_and_loading_with_or_without_the_impact_file(sample_index, tmp_path):
    sample_index.save(tmp_path)
    assert (tmp_path / IMPACT_FILE).exists()
    text, language = _lot_texts()[0]
    _check(LexicalIndex.load(tmp_path), text, language)
    (tmp_path / IMPACT_FILE).unlink()  # an index saved before the impact order: computed at first use
    _check(LexicalIndex.load(tmp_path), text, language)


def test_the_match_keeps_the_shares_and_total_of_the_dense_definition(sample_index):
    text, language = _lot_texts()[-1]
    match = sample_index.match(text, language)
    np.testing.assert_array_equal(sample_index.shares(text, language), match.dense())
    assert match.total > 0 and float(match.dense().max()) <= 1.0 + 1e-6


def _synthetic_corpus(n: int, seed: int = 0) -> list[str]:
    """Texts over a Zipf-like vocabulary: a few words in most documents, many rare ones."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}x" for i in range(3000)]
    weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 1.1
    weights /= weights.sum()
    lengths = rng.integers(5, 40, n)
    words = rng.choice(len(vocabulary), lengths.sum(), p=weights)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(vocabulary[w] for w in words[a:b]) for a, b in zip(starts[:-1], starts[1:])]


@pytest.fixture(scope="module")
def synthetic_index() -> LexicalIndex:
    return LexicalIndex(_synthetic_corpus(20_000), language="es")  # no lexicon: the own-language path


def test_on_20k_documents_top_stops_early_and_is_exact(synthetic_index):
    queries = ["w0x w1x w2x w5x w40x w300x", "w3x w3x w17x w900x w2500x", "w1x w60x w61x w62x w63x w64x w700x"]
    for query in queries:
        read = _check(synthetic_index, query, "es", ks=(1, 10, 200))
        total = synthetic_index.match(query, "es").postings_total
        # a top(k) that always added every posting up would read all of them
        assert read[0] < total / 4 and read[1] < total / 4, (query, read, total)


def test_ties_come_by_row_as_a_stable_sort_gives():
    # eight identical documents tie on every share; the order is by row, also across the cut at k
    docs = ["bridge repair"] * 8 + ["road works"] * 5 + ["bridge"] * 3 + ["tunnel"] * 1000
    index = LexicalIndex(docs, language="es")
    for k in (1, 3, 8, 9, 12, 100):
        rows, shares = index.match("bridge repair road", "es").top(k)
        dense = index.match("bridge repair road", "es").dense()
        np.testing.assert_array_equal(rows, _expected(dense, k))
        np.testing.assert_array_equal(shares, dense[rows])
    assert index.match("bridge repair road", "es").top(3)[0].tolist() == [0, 1, 2]


def test_a_query_without_known_words_matches_nothing(sample_index):
    match = sample_index.match("zzzz qqqq", "en")
    assert match.total == 0.0 and match.top(10)[0].size == 0
    assert match.at([0, 1]).tolist() == [0.0, 0.0] and not match.dense().any()


def _oracle_shares(match) -> np.ndarray:
    """Every document's share the plain way: an n-long array per term and per word, the words added
    in their order (a word is max(own, Σ p·translation), the translations added from 0 in order)."""
    postings, n = match._postings, match.n

    def column(term: int, weight: float = 1.0) -> np.ndarray:
        out = np.zeros(n)
        docs, scores = postings.every(term, weight)
        out[docs] = scores
        return out

    summed = np.zeros(n)
    for word in match.words:
        value = column(word.own) if word.own is not None else np.zeros(n)
        if word.translations:
            translated = np.zeros(n)
            for term, p in word.translations:
                translated = translated + column(term, p)
            value = translated if word.own is None else np.maximum(value, translated)
        summed = summed + value
    if not match._translated:
        return (summed.astype(np.float32) / match.total).astype(np.float32)
    return (summed / match.total).astype(np.float32)


@pytest.mark.parametrize("by_buffer", [0, 10**9])  # each word over its own documents, or in an n-long buffer
def test_dense_shares_are_the_very_floats_of_the_plain_sum(sample_index, synthetic_index, monkeypatch, by_buffer):
    monkeypatch.setattr(matcher.index.bm25_match, "WORD_BUFFER", by_buffer)
    queries = [(sample_index, text, language) for text, language in _lot_texts()]
    queries += [(synthetic_index, "w0x w1x w2x w5x w40x w300x w1x", "es")]
    for index, text, language in queries:
        match = index.match(text, language)
        np.testing.assert_array_equal(match.dense().view(np.int32), _oracle_shares(match).view(np.int32))


def test_a_words_best_is_kept_across_queries_and_is_what_a_fresh_search_finds(sample_index):
    text, language = next((t, lang) for t, lang in _lot_texts() if lang == "ru")
    first = sample_index.match(text, language)
    kept = dict(first._postings.word_best)
    assert kept and all(first._word_best(word) == best for word, best in kept.items())
    again = sample_index.match(text, language)
    assert again.total == first.total and again.words == first.words
