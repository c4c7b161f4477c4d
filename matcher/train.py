"""The library verb `train`: fit a learned ranker on a workspace's award history and save it.

The ranker is saved as ``<workspace>/models/ranker.json`` (plain JSON; a LightGBM ranker keeps its
model in LightGBM's text format inside it), which `suggest` then uses, and the fit of its scores,
calibrated on the history's last quarters, as ``<workspace>/models/calibration.json``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from matcher.embed.cache import EmbeddingCache
from matcher.embed.embedders import load_embedder
from matcher.errors import InputError
from matcher.inputs.history import contracts_from_tables, history_language
from matcher.inputs.ocds import read_history, read_ocds
from matcher.rank.feedback_labels import feedback_examples
from matcher.rank.learned import TrainingSet
from matcher.rank.trained import DEFAULT_KIND, RankerKind, TrainedRanker, train_calibrated
from matcher.store.feedback import FeedbackStore
from matcher.store.workspace import Workspace


def train(
    workspace: Workspace,
    files: Sequence[str | os.PathLike[str]] = (),
    *,
    until: date | None = None,
    kind: RankerKind = DEFAULT_KIND,
    progress: Callable[[str], None] | None = None,
    embed_progress: Callable[[int, int], None] | None = None,
    use_feedback: bool = True,
) -> tuple[TrainedRanker, Path]:
    """Train on OCDS files (or the workspace's imported history) and save `<workspace>/models/ranker.json`.

    Uses the model of the workspace's index when it has one, so that training and serving see
    the same dense scores; awards dated on or after `until` (default: none) are left out.
    `kind` is "linear" (pairwise logistic regression) or "lightgbm" (LightGBM lambdarank); the
    default is the one that won on the project's split (docs/evaluation.md). With `use_feedback`,
    the managers' marks (`matcher feedback`) are labels beside the awards
    (:mod:`matcher.rank.feedback_labels` says which are positive and why).
    """
    tables = read_ocds(files) if files else read_history(workspace)
    if tables is None:
        raise InputError(
            f"no procurement history in {workspace.root}: give OCDS files or run `matcher import-ocds FILE` first"
        )
    cache = EmbeddingCache(load_embedder(workspace.index_model()), workspace.root / "cache" / "embeddings")
    contracts = contracts_from_tables(tables.tenders, tables.awards)
    last = max((c.date for c in contracts if c.date is not None), default=None)
    if last is None:
        raise InputError("no dated awards in the history: nothing to train on")
    end = until or date.fromordinal(last.toordinal() + 1)
    language = history_language(tables.tenders)
    encode = cache.encoder(embed_progress)
    extra = _feedback(workspace, encode, language) if use_feedback else None
    ranker, calibration = train_calibrated(kind, contracts, end, encode, language, progress, extra=extra)
    ranker.manifest["embedding_model"] = cache.embedder.name
    ranker.manifest["calibrated"] = calibration.fitted_on if calibration is not None else None
    path = workspace.ranker_path
    if calibration is not None:
        calibration.save(workspace.calibration_path)
    else:  # a fit of an earlier ranker must not be read as this one's
        workspace.calibration_path.unlink(missing_ok=True)
    ranker.save(path)
    return ranker, path


def _feedback(workspace: Workspace, encode: Callable[..., Any], language: str) -> TrainingSet | None:
    """The marks' examples over the workspace's members (None: no marks, or no members)."""
    marks = FeedbackStore(workspace.root).marks()
    if not marks or not workspace.has_participants():
        return None
    return feedback_examples(marks, workspace.load_participants(), encode, language)
