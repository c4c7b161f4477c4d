"""Language-aware lexical search, language detection and the multilingual embedder."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.build import choose_model
from matcher.index.bm25 import LexicalIndex, fold, tokens
from matcher.language import detect, normalise_language
from matcher.schema import Participant


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Строительство и реконструкция автомобильных мостов", "ru"),
        ("Будівництво мостів і шляхопроводів", "uk"),
        ("Mantenimiento rutinario de las vías a cargo del instituto", "es"),
        ("Reconstruction of the bridge superstructure and piers", "en"),
        ("12345", "en"),
    ],
)
def test_detect(text, language):
    assert detect(text) == language


def test_language_codes_are_normalised():
    assert [normalise_language(x) for x in ("RU", "ru-RU", "Russian", "es_CO", "", None, "bogus!")] == [
        "ru", "ru", "ru", "es", None, None, None,
    ]  # fmt: skip


def test_russian_inflections_share_a_stem():
    assert tokens("мост", "ru") == tokens("мостов", "ru") == tokens("мостами", "ru") == ["мост"]
    assert tokens("путепровода", "ru") == tokens("путепроводов", "ru")
    assert fold("Ёлка и йод") == "елка и йод"  # ё folds, й stays (the stemmer needs it)


def test_fold_strips_latin_accents_only_and_gives_the_same_answer_every_time():
    cases = {
        "VÍAS São Ñandú Gödel": "vias sao nandu godel",
        "Straße": "strasse",  # casefold
        "Ёж, ЙОД": "еж, йод",
        "Ελλάδα 東京": "ελλάδα 東京",  # not Latin: kept as written
        "ﬁbra": "fibra",  # the ligature casefolds to letters
        "plain ascii 42": "plain ascii 42",
    }
    for _ in range(2):  # the second pass reads the cached characters
        assert {text: fold(text) for text in cases} == cases


def test_spanish_plural_and_accents_match():
    assert tokens("puentes", "es") == tokens("puente", "es")
    assert tokens("VÍAS", "es") == tokens("vias", "es")
    assert tokens("de la construcción", "es") == tokens("construccion", "es")  # stop words go


def test_each_text_is_processed_in_its_own_language():
    index = LexicalIndex(
        ["Строительство и реконструкция автомобильных мостов", "Obras de puentes y viaductos", "Road resurfacing"],
        ["ru", "es", "en"],
    )
    assert int(np.argmax(index.scores("ремонт моста", "ru"))) == 0
    assert int(np.argmax(index.scores("construcción de un puente", "es"))) == 1
    assert index.scores("ремонт моста", "ru")[1:].tolist() == [0.0, 0.0]
    assert int(np.argmax(index.scores("resurfacing of roads", "en"))) == 2


def test_a_saved_index_scores_exactly_as_the_one_built(tmp_path):
    texts = ["Строительство и реконструкция автомобильных мостов", "Obras de puentes y viaductos", "Road resurfacing",
             "Bridge deck waterproofing and road bridge repair"]  # fmt: skip
    built = LexicalIndex(texts, ["ru", "es", "en", "en"])
    built.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl")) and (tmp_path / "params.index.json").exists()
    loaded = LexicalIndex.load(tmp_path)
    assert loaded.n == 4
    for query, lang in [("ремонт моста", "ru"), ("puente", "es"), ("road bridge repair", "en"), ("nothing", "en")]:
        np.testing.assert_array_equal(loaded.scores(query, lang), built.scores(query, lang))


def test_auto_model_is_multilingual_unless_all_profiles_are_english():
    russian = [Participant(id=str(i), name="x", description="Строительство мостов") for i in range(3)]
    english = [Participant(id=str(i), name="x", description="Bridge construction") for i in range(3, 33)]
    assert choose_model(russian + english) == "multilingual-e5-small"  # 3 of 33 write Russian
    assert choose_model(russian[:2] + english) == "multilingual-e5-small"
    assert choose_model(russian[:1] + english) is None  # 1 of 31: a misdetected profile does not switch
    assert choose_model(english) is None
    assert (
        choose_model([Participant(id="a", name="x", description="Bridges", language="ru")]) == "multilingual-e5-small"
    )
