"""A learned ranker: pairwise logistic regression over the features of matcher.rank.features, trained on award history.

Training respects time: the history is cut into calendar quarters, and each tender of a
quarter is a query whose features come from a pool built only from awards before that
quarter began. Candidates come from the same rule that serves queries (dense neighbours,
the best BM25 matches, firms sharing a code block, the buyer's past suppliers), and the
awarded suppliers among them are the positives, everyone else the negatives.

The model is saved as JSON (feature list, standardisation, coefficients, training window): no
pickle. A ranker whose features differ from the ones this matcher computes refuses to load.
Approximation, stated: during training a firm's dense score is its best past contract (its
profile text is not re-embedded for every quarter); at serving it may also be its profile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.errors import IndexCorrupt, InputError, ModelMismatch
from matcher.inputs.history import Contract, track_records
from matcher.profiles import lexical_text
from matcher.rank.features import FEATURE_WORDS, FEATURES, feature_matrix
from matcher.rank.need import Need
from matcher.rank.parts import Scored, explain_parts
from matcher.rank.pool import Pool
from matcher.schema import Participant
from matcher.store.files import atomic_write_text

if TYPE_CHECKING:
    from matcher.index.bm25_match import LexicalMatch

MODEL_FORMAT = 1
CANDIDATES = 200  # per source (dense, BM25), as when serving
BASELINE = "baseline"  # the intercept, shown as a part so that contributions add up to the score


@dataclass
class LearnedRanker:
    """Score = intercept + Σ coefficient × standardised feature; each term is a part of the explanation."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    manifest: dict[str, Any] = field(default_factory=dict)
    name: str = "learned"

    def score(
        self, need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
    ) -> Scored:
        x = feature_matrix(need, pool, rows, dense, lexical, year)
        contributions = ((x - self.mean) / self.scale) * self.coef
        total = self.intercept + contributions.sum(axis=1)
        values = {f: x[:, i] for i, f in enumerate(self.features)}
        parts = {f: contributions[:, i] for i, f in enumerate(self.features)}
        values[BASELINE] = np.ones(len(rows))
        parts[BASELINE] = np.full(len(rows), self.intercept)
        weights = {f: float(c) for f, c in zip(self.features, self.coef)} | {BASELINE: self.intercept}
        return Scored(total, values, parts, weights)

    def explain(self, need: Need, firm: Participant, values: Mapping[str, float]) -> dict[str, str]:
        return explain_parts(need, firm, values, FEATURE_WORDS)

    def totals(self, x: np.ndarray) -> np.ndarray:
        """The scores of rows of features (in the order of FEATURES), as :meth:`score` gives them."""
        return np.asarray(self.intercept + (((x - self.mean) / self.scale) * self.coef).sum(axis=1))

    def unit_score(self, score: float) -> float:
        """The logistic of the score: the model's odds that this candidate beats another."""
        return 1.0 / (1.0 + math.exp(-score))

    # --- files ---------------------------------------------------------------------

    def save(self, path: Path) -> None:
        data = {
            "format": MODEL_FORMAT,
            "kind": "logistic-regression",
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "manifest": self.manifest,
        }
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path, features: Sequence[str] = FEATURES) -> LearnedRanker:
        return cls.from_data(read_model_file(path), path, features)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], path: Path, features: Sequence[str] = FEATURES) -> LearnedRanker:
        """The ranker of a parsed ranker file (see :func:`read_model_file`)."""
        if data.get("kind") != "logistic-regression":
            raise IndexCorrupt(f"{path}: unknown ranker format; retrain with `matcher train`")
        check_features(data, path, features, "`matcher train`")
        mean, scale, coef = (np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        arrays = (mean, scale, coef)
        if any(a.shape != (len(features),) for a in arrays) or not all(np.isfinite(a).all() for a in arrays):
            raise IndexCorrupt(f"{path}: coefficients do not match the feature list; retrain with `matcher train`")
        return cls(tuple(features), mean, scale, coef, float(data["intercept"]), data.get("manifest", {}))


def check_features(data: Mapping[str, Any], path: Path, features: Sequence[str], retrain: str) -> None:
    """A ranker file must have been trained on the features this matcher computes, in this order."""
    if list(data.get("features", [])) != list(features):
        raise ModelMismatch(
            f"{path} was trained on features {data.get('features')} but this matcher computes "
            f"{list(features)}; retrain with {retrain}"
        )


def read_model_file(path: Path) -> dict[str, Any]:
    """The parsed JSON of a ranker file of this format, of either kind; says how to fix a missing or bad one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no trained ranker there; run `matcher train`") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IndexCorrupt(f"{path}: not a ranker file (invalid JSON); retrain with `matcher train`") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise IndexCorrupt(f"{path}: unknown ranker format; retrain with `matcher train`")
    return data


# --- training ----------------------------------------------------------------------------


def _quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(day: date) -> date:
    return date(day.year + (day.month >= 10), (day.month + 2) % 12 + 1, 1)


@dataclass
class TrainingSet:
    """Examples grouped by query: rows of features, whether each candidate won, and where they came from."""

    x: np.ndarray
    y: np.ndarray
    sizes: list[int]  # candidates per query, in order: the rows of x grouped by query
    queries: int
    windows: int
    skipped: int  # queries whose winner was not among the candidates (or had no history)
    window_of: list[int] = field(default_factory=list)  # the quarter (1, 2, ...) of each query in `sizes`


def training_set(
    contracts: Sequence[Contract],
    until: date,
    vectors: Callable[..., np.ndarray],
    language: str = "en",
    progress: Callable[[str], None] | None = None,
) -> TrainingSet:
    """Examples from every tender before `until`, each seen with only the history before its quarter."""
    dated = sorted((c for c in contracts if c.date is not None and c.date < until), key=lambda c: c.date)  # type: ignore[arg-type,return-value]
    if not dated:
        raise InputError(f"no awards dated before {until} to train on")
    xs, ys = [], []
    sizes: list[int] = []
    window_of: list[int] = []
    queries = skipped = windows = 0
    for history, batch in _quarters(dated, until):
        windows += 1
        if progress:
            progress(f"window {windows}: {len(batch)} tenders, history of {len(history)} awards")
        for example in _Window(history, vectors, language).examples(batch, vectors):
            queries += 1
            if example is None:
                skipped += 1
                continue
            xs.append(example[0])
            ys.append(example[1])
            sizes.append(len(example[1]))
            window_of.append(windows)
    if not xs:
        raise InputError(f"no tender before {until} had a winner with earlier history: nothing to learn from")
    return TrainingSet(np.vstack(xs), np.concatenate(ys), sizes, queries, windows, skipped, window_of)


def _quarters(dated: Sequence[Contract], until: date) -> Iterator[tuple[list[Contract], dict[str, list[Contract]]]]:
    """Each quarter before `until` with both history and tenders: the awards before it, and its tenders by ocid."""
    start = _next_quarter(_quarter(dated[0].date))  # type: ignore[arg-type]
    while start < until:
        end = min(_next_quarter(start), until)
        history = [c for c in dated if c.date < start]  # type: ignore[operator]
        batch: dict[str, list[Contract]] = {}
        for c in dated:
            if start <= c.date < end:  # type: ignore[operator]
                batch.setdefault(c.ocid, []).append(c)
        start = end
        if history and batch:
            yield history, batch


class _Window:
    """The firms of one quarter's history, prepared as for serving: a pool, BM25, a vector per past contract."""

    def __init__(self, history: list[Contract], vectors: Callable[..., np.ndarray], language: str):
        from matcher.index.bm25 import LexicalIndex

        records = track_records(history)
        participants = [records[s].participant() for s in sorted(records)]
        self.pool = Pool(participants)
        self.position = {p.id: i for i, p in enumerate(participants)}
        self.lexical = LexicalIndex([lexical_text(p) for p in participants], language)
        # one vector per distinct past contract; a firm's dense score is its best one
        texts, owners = [], []
        for row, p in enumerate(participants):
            for title in dict.fromkeys(x.title for x in p.projects):
                texts.append(title)
                owners.append(row)
        self.contract_vectors = vectors(texts)
        self.starts = np.searchsorted(np.array(owners), np.arange(len(participants)))

    def examples(
        self, batch: Mapping[str, list[Contract]], vectors: Callable[..., np.ndarray]
    ) -> Iterator[tuple[np.ndarray, np.ndarray] | None]:
        """Per tender (by ocid): its candidates' features and which of them won, or None (no winner among them)."""
        first_of = {ocid: min(cs, key=lambda c: c.date) for ocid, cs in batch.items()}  # type: ignore[arg-type,return-value]
        query_vectors = vectors([first_of[o].text for o in sorted(batch)], kind="query")
        for qv, ocid in zip(query_vectors, sorted(batch)):
            first = first_of[ocid]
            winners = {self.position[s] for c in batch[ocid] for s in c.supplier_ids if s in self.position}
            if not winners:
                yield None
                continue
            dense_all = np.maximum.reduceat(self.contract_vectors @ qv, self.starts)
            lexical = self.lexical.match(first.text)
            need = Need(codes=first.codes, value=first.value, buyer=first.buyer_name, lexical_total=lexical.total)
            top = np.argpartition(-dense_all, min(CANDIDATES, len(dense_all) - 1))[:CANDIDATES]
            rows = np.array(sorted(set(top.tolist()) | self.pool.extra_candidates(need, lexical, CANDIDATES)))
            label = np.isin(rows, list(winners))
            if not label.any():
                yield None
                continue
            yield self.features(need, rows, dense_all, lexical, first, qv), label

    def features(
        self, need: Need, rows: np.ndarray, dense: np.ndarray, lexical: LexicalMatch, first: Contract, query: np.ndarray
    ) -> np.ndarray:
        """One tender's candidate rows of features (``dense``: every firm's best cosine; ``query``: the
        tender's vector). scripts/feature_trials.py adds columns here to try features."""
        year = first.date.year  # type: ignore[union-attr]
        return feature_matrix(need, self.pool, rows, dense[rows], lexical.at(rows), year)


def fit(
    data: TrainingSet, *, window: tuple[date, date], c: float = 0.1, negatives: int = 50, seed: int = 0
) -> LearnedRanker:
    """Pairwise logistic regression on standardised features: learns w so that w·(winner − other) > 0.

    Ranking pairs within a query, rather than classifying rows one by one, is what the
    evaluation measures; on the SECOP history it beats the pointwise model (docs/evaluation.md).
    Up to `negatives` sampled candidates per winner keep training fast. The model stays linear:
    one coefficient per feature, and a score is the sum of its features' contributions.
    """
    from sklearn.linear_model import LogisticRegression

    mean = data.x.mean(axis=0)
    scale = data.x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (data.x - mean) / scale
    rng = np.random.default_rng(seed)
    diffs = []
    start = 0
    for size in data.sizes:
        rows = np.arange(start, start + size)
        start += size
        positive, negative = rows[data.y[rows]], rows[~data.y[rows]]
        if len(positive) == 0 or len(negative) == 0:
            continue
        for p in positive:
            sample = rng.choice(negative, size=min(negatives, len(negative)), replace=False)
            diffs.append(z[p] - z[sample])
    if not diffs:
        raise InputError("no query had both a winner and other candidates: nothing to learn from")
    pairs = np.vstack(diffs)
    model = LogisticRegression(C=c, max_iter=3000, fit_intercept=False)
    model.fit(np.vstack([pairs, -pairs]), np.r_[np.ones(len(pairs)), np.zeros(len(pairs))])
    manifest = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "window": {"from": window[0].isoformat(), "until": window[1].isoformat()},
        "queries": data.queries,
        "queries_used": data.queries - data.skipped,
        "examples": int(len(data.y)),
        "positives": int(data.y.sum()),
        "pairs": int(len(pairs)),
        "windows": data.windows,
        "model": f"pairwise sklearn LogisticRegression(C={c}, fit_intercept=False), {negatives} negatives per winner",
    }
    return LearnedRanker(FEATURES, mean, scale, model.coef_[0].astype(np.float64), 0.0, manifest)


def train(
    contracts: Sequence[Contract],
    until: date,
    vectors: Callable[..., np.ndarray],
    language: str = "en",
    progress: Callable[[str], None] | None = None,
) -> LearnedRanker:
    """Build the time-respecting training set from history before `until` and fit the ranker."""
    data = training_set(contracts, until, vectors, language, progress)
    first = min(c.date for c in contracts if c.date is not None)
    return fit(data, window=(first, until))


def last_quarters(data: TrainingSet, quarters: int) -> TrainingSet:
    """The queries of the last `quarters` quarters, each still seen with all history before it (learning curves)."""
    return quarters_between(data, data.windows - quarters + 1, data.windows)


def quarters_between(data: TrainingSet, first: int, last: int) -> TrainingSet:
    """The queries of quarters `first`..`last` (1-based, both included), each still seen with all history before it."""
    ends = np.cumsum(data.sizes)
    keep = [i for i, w in enumerate(data.window_of) if first <= w <= last]
    quarters = max(0, min(last, data.windows) - first + 1)
    rows = np.concatenate([np.arange(ends[i] - data.sizes[i], ends[i]) for i in keep]) if keep else np.zeros(0, int)
    sizes = [data.sizes[i] for i in keep]
    return TrainingSet(data.x[rows], data.y[rows], sizes, len(keep), min(quarters, data.windows), 0,
                       [data.window_of[i] for i in keep])  # fmt: skip
