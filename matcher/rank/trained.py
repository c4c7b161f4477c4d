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
from typing import Any, Literal, Protocol

import numpy as np

from matcher.errors import IndexCorrupt, InputError
from matcher.inputs.history import Contract
from matcher.rank.learned import read_model_file
from matcher.rank.ranker import Ranker

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


def train_ranker(
    kind: RankerKind,
    contracts: Sequence[Contract],
    until: date,
    vectors: Callable[..., np.ndarray],
    language: str = "en",
    progress: Callable[[str], None] | None = None,
) -> TrainedRanker:
    """Train a ranker of the given kind on the history before `until`, time respected."""
    if kind == "linear":
        from matcher.rank.learned import train

        return train(contracts, until, vectors, language, progress)
    if kind == "lightgbm":
        from matcher.rank.lambdarank import train as train_lambdarank

        return train_lambdarank(contracts, until, vectors, language, progress)
    raise InputError(f"unknown ranker kind {kind!r}; choose from: {', '.join(KINDS)}")


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
