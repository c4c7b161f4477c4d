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


def test_bands_cut_the_fit_where_the_constants_say():
    assert band(STRONG) == "strong" and band(STRONG - 1e-9) == "possible"
    assert band(POSSIBLE) == "possible" and band(POSSIBLE - 1e-9) == "weak" and band(0.0) == "weak"


def test_a_calibration_file_round_trips_as_plain_json(tmp_path):
    calibration = Calibration("learned", (0.1, 0.5, 0.9), (0.0, 0.2, 0.7), "a test")
    path = tmp_path / "calibration.json"
    calibration.save(path)
    assert json.loads(path.read_text())["format"] == "matcher-calibration/1"
    assert read_calibration(path) == calibration
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
    fits = np.asarray(calibration.fit(np.linspace(0, 1, 50)))
    assert np.all(np.diff(fits) >= 0) and fits[0] < POSSIBLE and fits[-1] >= STRONG
