"""The fit: isotonic calibration of scores, its JSON file, its bands, and the shipped one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.errors import IndexCorrupt
from matcher.rank.calibration import POSSIBLE, STRONG, Calibration, band, bundled_calibration, read_calibration


def test_isotonic_fit_follows_the_observed_rate_and_never_falls():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 4000)
    won = rng.uniform(0, 1, 4000) < scores**2  # the true chance is score squared
    calibration = Calibration.from_isotonic("hand-weighted", scores, won, "synthetic")
    grid = np.linspace(0, 1, 101)
    fits = np.asarray(calibration.fit(grid))
    assert np.all(np.diff(fits) >= 0) and fits.min() >= 0 and fits.max() <= 1
    for s in (0.3, 0.5, 0.8):  # within a few points of the truth where there is data
        assert calibration.fit(s) == pytest.approx(s**2, abs=0.08)
    assert isinstance(calibration.fit(0.5), float)


def test_a_logistic_fit_is_smooth_where_isotonic_jumps_between_few_positives():
    """Forty positives among three thousand: isotonic regression steps from a few percent to 1.0
    between two scores it saw; Platt scaling rises smoothly, never to 1, and still tracks the rate."""
    rng = np.random.default_rng(1)
    scores = rng.uniform(0.05, 0.6, 3000)
    truth = 1 / (1 + np.exp(-(np.log(scores) - np.log(0.45)) * 8))
    won = rng.uniform(0, 1, 3000) < truth
    logistic = Calibration.from_logistic("hand-weighted", scores, won, "synthetic")
    fits = np.asarray(logistic.fit(np.linspace(0, 1, 201)))
    assert np.all(np.diff(fits) >= 0) and fits.min() < 0.01 and fits.max() < 1
    assert np.max(np.diff(fits)) < 0.1  # no step
    for s in (0.35, 0.45, 0.55):
        assert logistic.fit(s) == pytest.approx(float(1 / (1 + np.exp(-(np.log(s) - np.log(0.45)) * 8))), abs=0.1)


def test_a_fit_without_a_part_maps_the_score_less_that_part():
    calibration = Calibration("hand-weighted", (0.0, 1.0), (0.0, 1.0), "a test", without=("buyer",))
    assert calibration.score_of(0.63, {"buyer": 0.2, "lexical": 0.3}) == pytest.approx(0.43)
    assert calibration.score_of(0.63, {"lexical": 0.3}) == pytest.approx(0.63)


def test_bands_cut_the_fit_where_the_constants_say():
    assert band(STRONG) == "strong" and band(STRONG - 1e-9) == "possible"
    assert band(POSSIBLE) == "possible" and band(POSSIBLE - 1e-9) == "weak" and band(0.0) == "weak"


def test_a_calibration_file_round_trips_as_plain_json(tmp_path):
    calibration = Calibration("learned", (0.1, 0.5, 0.9), (0.0, 0.2, 0.7), "a test")
    path = tmp_path / "calibration.json"
    calibration.save(path)
    assert json.loads(path.read_text())["format"] == "matcher-calibration/1"
    assert read_calibration(path) == calibration
    without = Calibration("hand-weighted", (0.1, 0.9), (0.0, 0.7), "a test", without=("buyer",))
    without.save(path)
    assert read_calibration(path) == without
    assert calibration.fit(0.3) == pytest.approx(0.1) and calibration.fit(2.0) == 0.7  # linear between, flat outside


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"format": "other", "ranker": "x", "scores": [0], "fits": [0]}),
        json.dumps({"format": "matcher-calibration/1", "ranker": "x", "scores": [0.5, 0.1], "fits": [0, 1]}),
        json.dumps({"format": "matcher-calibration/1", "ranker": "x", "scores": [0.1], "fits": [1.5]}),
    ],
)
def test_a_broken_calibration_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "calibration.json"
    path.write_text(content)
    with pytest.raises(IndexCorrupt, match="not a readable calibration"):
        read_calibration(path)


def test_the_shipped_fit_is_for_the_hand_weights_and_rises_with_the_score():
    calibration = bundled_calibration()
    assert calibration.ranker == "hand-weighted" and "judged set" in calibration.fitted_on
    assert calibration.without == ("buyer",)  # the judged lots name no buyer
    fits = np.asarray(calibration.fit(np.linspace(0, 1, 50)))
    assert np.all(np.diff(fits) >= 0) and fits[0] < POSSIBLE and fits[-1] >= STRONG


def test_a_past_supplier_of_the_buyer_ranks_higher_but_its_fit_is_its_work(sample_matcher):
    """The bridge tender's buyer has past suppliers in the sample: their buyer part lifts the score
    that ranks them, and the fit reads the score without it, as the judged lots were fitted."""
    from matcher.inputs.tenders import read_tender
    from matcher.paths import data_dir

    tender = read_tender(data_dir() / "sample" / "tenders" / "bridge-reconstruction.yaml")
    calibration = sample_matcher.calibration
    assert calibration is not None and calibration.without == ("buyer",)
    suppliers = [
        s
        for lot in sample_matcher.suggest(tender, top_k=10).lots
        for s in lot.suggestions
        if any(p.name == "buyer" and p.contribution > 0 for p in s.parts)
    ]
    assert suppliers, "the sample has past suppliers of the bridge tender's buyer"
    for s in suppliers:
        buyer = next(p.contribution for p in s.parts if p.name == "buyer")
        assert s.fit == pytest.approx(calibration.fit(s.score - buyer), abs=2e-3)  # parts shown rounded
        assert s.fit < calibration.fit(s.score)
