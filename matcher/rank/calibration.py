"""The fit: a ranker's score turned into a calibrated chance, and its band (strong, possible, weak).

A score's size means little on its own; the fit says what it has meant: **the fit is the chance
that the member can do the lot as main contractor**, as readers of the members' profiles judged
it on the sample's judged set. It comes from a logistic regression of "judged able" on the log of
the score (Platt scaling; ``scripts/calibrate.py`` chose it over isotonic regression by
cross-validation over the judged set's lots, and writes the reliability tables into
docs/evaluation.md: on a held-out judged set, and the award history's reading), is stored as
breakpoints in JSON (never pickle), and is read by :func:`bundled_calibration` or
:func:`read_calibration`. The bands cut the fit at :data:`STRONG` and :data:`POSSIBLE`.

A fit can leave score parts out (:attr:`Calibration.without`): the shipped one was fitted on lots
without a buyer, so a buyer's past supplier's repeat business (the "buyer" part) ranks it higher
but is not read as capability.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from matcher.errors import IndexCorrupt

Band = Literal["strong", "possible", "weak"]
# strong: more likely than not able to do the lot as main contractor; possible: one in five or more.
STRONG = 0.50
POSSIBLE = 0.20
FORMAT = "matcher-calibration/1"
LOG_FLOOR = 1e-3  # scores below it are read as it by a logistic fit on the log of the score


def band(fit: float) -> Band:
    """The band of a fit: strong (≥ STRONG), possible (≥ POSSIBLE) or weak."""
    return "strong" if fit >= STRONG else "possible" if fit >= POSSIBLE else "weak"


@dataclass(frozen=True)
class Calibration:
    """A non-decreasing map from a ranker's score to a fit in [0, 1] (linear between breakpoints).

    Attributes:
        ranker: the ranker whose scores it maps (e.g. "hand-weighted").
        scores, fits: the breakpoints, ascending.
        fitted_on: where the fit came from, in words (shown by `matcher index status` and the docs).
        without: score parts whose contributions are taken out of a score before it is mapped (the
            fit was fitted where they were always 0).
    """

    ranker: str
    scores: tuple[float, ...]
    fits: tuple[float, ...]
    fitted_on: str = ""
    without: tuple[str, ...] = ()

    def fit(self, score: float | np.ndarray) -> float | np.ndarray:
        """The calibrated fit of one score or an array of scores."""
        out = np.interp(score, self.scores, self.fits)
        return float(out) if np.ndim(out) == 0 else out

    @classmethod
    def from_isotonic(cls, ranker: str, scores: np.ndarray, won: np.ndarray, fitted_on: str) -> Calibration:
        """Fit "won" (0/1) on the scores with scikit-learn's isotonic regression."""
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
        model.fit(np.asarray(scores, dtype=np.float64), np.asarray(won, dtype=np.float64))
        xs = np.asarray(model.X_thresholds_, dtype=np.float64)
        ys = np.asarray(model.y_thresholds_, dtype=np.float64)
        return cls(ranker, tuple(round(float(x), 6) for x in xs), tuple(round(float(y), 6) for y in ys), fitted_on)

    @classmethod
    def from_logistic(
        cls, ranker: str, scores: np.ndarray, won: np.ndarray, fitted_on: str, without: tuple[str, ...] = ()
    ) -> Calibration:
        """Fit "won" (0/1) on the log of the scores by logistic regression (Platt scaling): two
        parameters, so a few dozen positives give a smooth fit that never reaches 0 or 1, where
        isotonic regression jumps between the few scores it saw. Stored as breakpoints every 0.01."""
        from sklearn.linear_model import LogisticRegression

        x = np.log(np.maximum(np.asarray(scores, dtype=np.float64), LOG_FLOOR)).reshape(-1, 1)
        model = LogisticRegression(C=1e6).fit(x, np.asarray(won, dtype=np.float64))
        grid = np.round(np.linspace(0.0, 1.0, 101), 2)
        fits = model.predict_proba(np.log(np.maximum(grid, LOG_FLOOR)).reshape(-1, 1))[:, 1]
        fits = np.maximum.accumulate(np.round(fits, 6))  # non-decreasing, as read_calibration checks
        return cls(ranker, tuple(float(g) for g in grid), tuple(float(f) for f in fits), fitted_on, without)

    def score_of(self, total: float, contributions: dict[str, float]) -> float:
        """The score the fit maps: the total less the contributions of the parts it leaves out."""
        return total - sum(contributions.get(name, 0.0) for name in self.without)

    def to_json(self) -> str:
        data = {"format": FORMAT, "ranker": self.ranker, "fitted_on": self.fitted_on,
                "scores": list(self.scores), "fits": list(self.fits)}  # fmt: skip
        if self.without:
            data["without_parts"] = list(self.without)
        return json.dumps(data, indent=1)

    def save(self, path: Path) -> None:
        from matcher.store.files import atomic_write_text

        atomic_write_text(path, self.to_json() + "\n")


def read_calibration(path: Path) -> Calibration:
    """A calibration file :meth:`Calibration.save` wrote.

    Raises:
        IndexCorrupt: the file is not one (unreadable, another format, breakpoints out of order).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        scores = tuple(float(x) for x in data["scores"])
        fits = tuple(float(y) for y in data["fits"])
        ok = data.get("format") == FORMAT and len(scores) == len(fits) >= 1
        ok = ok and all(a <= b for a, b in zip(scores, scores[1:])) and all(0.0 <= f <= 1.0 for f in fits)
        if not ok:
            raise ValueError("not a calibration of this format")
        without = tuple(str(name) for name in data.get("without_parts", ()))
        return Calibration(str(data["ranker"]), scores, fits, str(data.get("fitted_on", "")), without)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(
            f"{path} is not a readable calibration ({exc}); rerun `matcher train`, or delete it to use the bundled one"
        ) from None


def bundled_calibration() -> Calibration:
    """The hand-weighted ranking's calibration shipped with matcher (fitted on the sample's judged set)."""
    from matcher.paths import data_dir

    return read_calibration(data_dir() / "calibration" / "hand-weighted.json")
