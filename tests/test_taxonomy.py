import pytest

from matcher.errors import UnknownCode
from matcher.taxonomy import OKVED_PREFIX, best_matches, load_taxonomy, match_code


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


def test_cpv_codes_are_canonicalised_with_their_check_digit(tax):
    assert tax.normalise("45221111") == ["45221111-3"]
    assert tax.normalise(" 45221111-3 ") == ["45221111-3"]
    assert tax.normalise("cpv:45221111-3") == ["45221111-3"]


@pytest.mark.parametrize("raw", ["45999999", "4522111", "bridge", "45221111-3x", "99.99"])
def test_unknown_or_malformed_codes_are_refused(tax, raw):
    with pytest.raises(UnknownCode):
        tax.normalise(raw)


def test_okved2_code_maps_to_cpv_or_is_kept(tax):
    # every code in the curated map must turn into CPV codes that exist
    assert tax.okved_to_cpv, "data/taxonomy/okved2_cpv.csv is missing or empty"
    for okved, cpv_codes in tax.okved_to_cpv.items():
        assert okved in tax.okved
        assert tax.normalise(okved) == list(cpv_codes)
        assert all(c[:8] in tax.cpv_en for c in cpv_codes)
    unmapped = next(code for code in tax.okved if code not in tax.okved_to_cpv and code.count(".") == 1)
    assert tax.normalise(unmapped) == [OKVED_PREFIX + unmapped]


def test_labels_in_english_and_russian(tax):
    assert tax.label("45221111-3") == "Road bridge construction work"
    assert "мост" in tax.label("45221111-3", lang="ru").lower()
    assert tax.label(OKVED_PREFIX + "42.13") == tax.okved["42.13"]


@pytest.mark.parametrize(
    ("wanted", "firm", "level", "score"),
    [
        ("45221111-3", "45221111-3", "exact", 1.0),
        ("45221100-3", "45221111-3", "covers", 1.0),  # firm's code lies under the bridges code
        ("45221111-3", "45221119-9", "sub-category", 0.8),  # bridge renewal for a road bridge
        ("45221111-3", "45221240-6", "category", 0.6),  # tunnels: same category (45221)
        ("45221111-3", "45222000-9", "class", 0.4),
        ("45221111-3", "45231300-8", "group", 0.25),  # water pipelines
        ("45221111-3", "45000000-7", "division", 0.1),  # generic construction work
        ("45221111-3", "80530000-8", "none", 0.0),  # vocational training
    ],
)
def test_code_similarity_follows_the_cpv_tree(wanted, firm, level, score):
    m = match_code(wanted, firm)
    assert (m.level, m.score) == (level, score)


def test_scores_decrease_with_distance_in_the_tree():
    scores = [
        match_code("45221111-3", c).score
        for c in ("45221111-3", "45221119-9", "45221240-6", "45222000-9", "45231300-8", "45000000-7", "80530000-8")
    ]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores) - 0


def test_okved_codes_match_only_exactly():
    assert match_code("OKVED2:42.99", "OKVED2:42.99").score == 1.0
    assert match_code("OKVED2:42.99", "45221111-3").score == 0.0


def test_best_matches_picks_the_best_firm_code_per_wanted_code():
    matches = best_matches(["45221111-3", "80530000-8"], ["45231300-8", "45221119-9"])
    assert [(m.matched, m.level) for m in matches] == [("45221119-9", "sub-category"), (None, "none")]


def test_a_wrong_check_digit_is_refused_rather_than_silently_corrected(tax):
    with pytest.raises(UnknownCode, match="45221111-9.*45221111-3"):
        tax.normalise("45221111-9")


@pytest.mark.parametrize(
    ("wanted", "firm", "level", "score"),
    [
        ("UNSPSC:72141100", "UNSPSC:72141100", "exact", 1.0),
        ("UNSPSC:72141100", "UNSPSC:72141103", "covers", 1.0),  # a commodity under the requested class
        ("UNSPSC:72141103", "UNSPSC:72141105", "class", 0.6),  # sibling commodities of class 721411
        ("UNSPSC:72141100", "UNSPSC:72141200", "family", 0.3),  # sibling classes of family 7214
        ("UNSPSC:72141100", "UNSPSC:72151100", "segment", 0.1),  # another family of segment 72
        ("UNSPSC:72141100", "UNSPSC:72000000", "segment", 0.1),
        ("UNSPSC:72141100", "UNSPSC:81101500", "none", 0.0),
        ("UNSPSC:72141100", "45221111-3", "none", 0.0),  # schemes never mix
    ],
)
def test_unspsc_similarity_follows_its_own_tree(wanted, firm, level, score):
    m = match_code(wanted, firm)
    assert (m.level, m.score) == (level, score)


def test_other_schemes_are_kept_with_their_prefix(tax):
    assert tax.normalise("unspsc:72141000") == ["UNSPSC:72141000"]
    assert tax.normalise("OKPD2:42.11.10") == ["OKPD2:42.11.10"]
    with pytest.raises(UnknownCode):
        tax.normalise("UNSPSC:7214")
