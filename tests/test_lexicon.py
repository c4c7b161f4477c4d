"""Russian-English word translations from the CPV labels, and BM25 shares that use them."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from matcher.index.bm25 import LexicalIndex, tokens
from matcher.index.lexicon import LEXICON_FILE, translations
from matcher.paths import data_dir
from tests.conftest import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("build_lexicon", ROOT / "scripts" / "build_lexicon.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_lexicon_knows_the_trade_words_both_ways():
    ru, en = translations("ru"), translations("en")
    bridge, tunnel, rail = tokens("мост", "ru")[0], tokens("тоннель", "ru")[0], tokens("рельс", "ru")[0]
    assert ru[bridge][0][0] == tokens("bridge", "en")[0]
    assert ru[tunnel][0][0] == tokens("tunnel", "en")[0]
    assert tokens("rail", "en")[0] in [t for t, _ in ru[rail]]
    assert bridge in [t for t, _ in en[tokens("bridge", "en")[0]]]
    assert all(0.1 <= p <= 1.0 for found in ru.values() for _, p in found)
    assert translations("es") == {} and translations(None) == {}


def test_the_shipped_lexicon_is_what_the_script_builds_from_the_labels(tmp_path, monkeypatch):
    """The file matches the tokenizer and labels of this checkout: rerun scripts/build_lexicon.py when they change."""
    script = _script()
    (tmp_path / "taxonomy").mkdir()
    for name in ("cpv_en.json", "cpv_ru.json"):
        (tmp_path / "taxonomy" / name).write_bytes((data_dir() / "taxonomy" / name).read_bytes())
    monkeypatch.setattr(script, "data_dir", lambda: tmp_path)
    script.main()
    built = json.loads((tmp_path / "taxonomy" / LEXICON_FILE).read_text(encoding="utf-8"))
    shipped = json.loads((data_dir() / "taxonomy" / LEXICON_FILE).read_text(encoding="utf-8"))
    assert built == shipped


def test_a_russian_request_finds_an_english_profile_through_the_translations():
    index = LexicalIndex(
        [[("Road bridge repair and deck waterproofing", "en")], [("Школа подготовки машинистов", "ru")],
         [("Tunnel boring and shaft sinking", "en")]],
    )  # fmt: skip
    match = index.match("капитальный ремонт моста", "ru")
    shares, total = match.dense(), match.total
    assert int(np.argmax(shares)) == 0 and shares[0] > 0 and total > 0
    assert shares[2] == 0.0 and shares.max() <= 1.0 + 1e-6
    # without the translations (a language the lexicon lacks) the Russian words match nothing English
    assert index.shares("капитальный ремонт моста", "es").max() == 0.0


def test_shares_are_fixed_by_the_request_not_by_the_candidates():
    docs = [[("bridge repair", "en")], [("bridge", "en")], [("road works", "en")]]
    shares = LexicalIndex(docs).shares("bridge repair works", "en")
    raw = LexicalIndex(docs).scores("bridge repair works", "en")
    assert shares.max() < 1.0  # nobody matches every word as well as the best for each word does
    np.testing.assert_allclose(shares / shares.max(), raw / raw.max(), rtol=1e-5)  # the same order as BM25
    assert LexicalIndex(docs).shares("unheard words", "en").max() == 0.0
    assert shares[0] == pytest.approx(raw[0] / LexicalIndex(docs).match("bridge repair works", "en").total, rel=1e-5)


def test_the_translated_shares_equal_the_per_word_definition():
    """Sparse sums over postings give what the definition says, word by word over every document."""
    docs = [
        [("ремонт моста и путепровода", "ru")], [("bridge repair, deck waterproofing", "en")],
        [("tunnel and bridge works", "en")], [("строительство тоннеля", "ru")], [("road repair", "en")],
    ]  # fmt: skip
    index = LexicalIndex(docs)
    query = "ремонт моста, ремонт тоннеля"
    lexicon = translations("ru")
    per_word = []
    for word in tokens(query, "ru"):
        own = index.scores(word, "ru") if word else np.zeros(len(docs))
        translated = sum((p * index.scores(t, "en") for t, p in lexicon.get(word, ())), np.zeros(len(docs)))
        per_word.append(np.maximum(own, translated))
    attainable = sum(w.max() for w in per_word if w.max() > 0)
    match = index.match(query, "ru")
    shares, total = match.dense(), match.total
    assert total == pytest.approx(attainable, rel=1e-5)
    np.testing.assert_allclose(shares, sum(per_word) / attainable, rtol=1e-5, atol=1e-7)


def test_a_trade_word_no_member_uses_counts_against_every_member():
    """Asking for signalling of a cluster of track builders: their railway match is part of what
    the lot asks, not all of it. A place name nobody uses is not work asked for, and changes nothing."""
    docs = [[("railway track construction", "en")], [("road works", "en")], [("bridge repair", "en")]]
    index = LexicalIndex(docs)
    plain = index.match("railway track", "en")
    asked = index.match("railway track signalling", "en")
    placed = index.match("railway track Kudrovo", "en")
    assert plain.dense()[0] == pytest.approx(1.0)
    assert asked.total == pytest.approx(plain.total + index.rarest_score())
    assert asked.dense()[0] == pytest.approx(plain.total / asked.total) and asked.dense()[0] < 0.7
    np.testing.assert_array_equal(placed.dense(), plain.dense())
    # the best member for the lot is the same either way: only the scale says what is missing
    assert int(np.argmax(asked.dense())) == 0
