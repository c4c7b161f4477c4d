"""The trained rankers' one factory: which kind to train, and which kind a ranker file holds.

Two kinds share ``<workspace>/models/ranker.json`` and its ``"kind"`` field: the linear
:class:`~matcher.rank.learned.LearnedRanker` (``"logistic-regression"``) and the gradient-boosted
:class:`~matcher.rank.lambdarank.LambdaRankRanker` (``"lightgbm-lambdarank"``). Callers ask
here, so none of them needs to know which class it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from matcher.errors import IndexCorrupt, InputError
from matcher.inputs.history import Contract
from matcher.rank.learned import TrainingSet, read_model_file
from matcher.rank.ranker import Ranker

if TYPE_CHECKING:
    from matcher.rank.calibration import Calibration

RankerKind = Literal["linear", "lightgbm"]
# The kind `matcher train` fits by default: the one with the better warm R@10 on the project's
# split (SECOP, cut-off 2023-01-01; docs/evaluation.md, "A gradient-boosted ranker").
DEFAULT_KIND: RankerKind = "linear"
KINDS: tuple[RankerKind, ...] = ("linear", "lightgbm")


class TrainedRanker(Ranker, Protocol):
    """A ranker fitted on history: what it was fitted on, a weight per feature, and a file of its own.

    Attributes:
        features: the feature names, in the order of :data:`matcher.rank.features.FEATURES`.
        coef: one weight per feature (the linear coefficient, or the tree model's share of gain).
        manifest: the training window, counts and model settings, saved with the ranker.
    """

    features: tuple[str, ...]
    manifest: dict[str, Any]

    @property
    def coef(self) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...

    def totals(self, x: np.ndarray) -> np.ndarray:
        """The scores of rows of features (in the order of FEATURES)."""
        ...


# The last quarters of the history a trained ranker's fit is calibrated on (see train_calibrated).
CALIBRATION_QUARTERS = 4


def train_ranker(
    kind: RankerKind,
    contracts: Sequence[Contract],
    until: date,
    vectors: Callable[..., np.ndarray],
    language: str = "en",
    progress: Callable[[str], None] | None = None,
) -> TrainedRanker:
    """Train a ranker of the given kind on the history before `until`, time respected."""
    return train_calibrated(kind, contracts, until, vectors, language, progress, calibrate=False)[0]


def train_calibrated(
    kind: RankerKind,
    contracts: Sequence[Contract],
    until: date,
    vectors: Callable[..., np.ndarray],
    language: str = "en",
    progress: Callable[[str], None] | None = None,
    *,
    calibrate: bool = True,
    extra: TrainingSet | None = None,
) -> tuple[TrainedRanker, Calibration | None]:
    """A ranker trained on all the history before `until`, and the fit of its scores.

    The fit is calibrated on held-out quarters: a ranker of the same kind trained on the quarters
    before the last CALIBRATION_QUARTERS scores the candidates of those last quarters, and an
    isotonic regression of "won" on those scores is the fit: the share of held-out tenders in which
    a candidate scoring this much won. None when the history has too few quarters for that.

    ``extra`` (the managers' marks, :func:`matcher.rank.feedback_labels.feedback_examples`) joins
    the examples of the saved ranker only: the calibration stays fitted on awards.
    """
    if kind not in KINDS:
        raise InputError(f"unknown ranker kind {kind!r}; choose from: {', '.join(KINDS)}")
    from matcher.rank.feedback_labels import with_feedback
    from matcher.rank.learned import quarters_between, training_set

    data = training_set(contracts, until, vectors, language, progress)
    first = min(c.date for c in contracts if c.date is not None)
    ranker = _fit(kind, with_feedback(data, extra), (first, until))
    if extra is not None:
        ranker.manifest["feedback"] = {
            "lots": len(extra.sizes), "positives": int(extra.y.sum()), "negatives": int((~extra.y).sum()),
        }  # fmt: skip
    if not calibrate or data.windows <= CALIBRATION_QUARTERS:
        return ranker, None
    cut = data.windows - CALIBRATION_QUARTERS
    early, held = quarters_between(data, 1, cut), quarters_between(data, cut + 1, data.windows)
    if not early.sizes or not held.sizes or not early.y.any() or not held.y.any():
        return ranker, None
    try:
        scores = _fit(kind, early, (first, until)).totals(held.x)
    except InputError:  # the earlier quarters alone teach nothing: no fit rather than a made-up one
        return ranker, None
    from matcher.rank.calibration import Calibration

    calibration = Calibration.from_isotonic(
        ranker.name, scores, held.y,
        f"the last {CALIBRATION_QUARTERS} quarters of the history before {until} ({held.queries} tenders, "
        f"{int(held.y.sum())} winners among {len(held.y)} candidates), scored by a {kind} ranker trained on "
        "the quarters before them",
    )  # fmt: skip
    return ranker, calibration


def _fit(kind: RankerKind, data: TrainingSet, window: tuple[date, date]) -> TrainedRanker:
    if kind == "linear":
        from matcher.rank.learned import fit

        return fit(data, window=window)
    from matcher.rank.lambdarank import fit as fit_lambdarank

    return fit_lambdarank(data, window=window)


def load_ranker(path: Path) -> TrainedRanker:
    """The trained ranker saved at `path`, whichever kind it is."""
    data = read_model_file(path)
    kind = data.get("kind")
    if kind == "logistic-regression":
        from matcher.rank.learned import LearnedRanker

        return LearnedRanker.from_data(data, path)
    if kind == "lightgbm-lambdarank":
        from matcher.rank.lambdarank import LambdaRankRanker

        return LambdaRankRanker.from_data(data, path)
    raise IndexCorrupt(f"{path}: unknown ranker kind {kind!r}; retrain with `matcher train`")
