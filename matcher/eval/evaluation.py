"""Offline evaluation on procurement history: profiles from awards before a cut-off, rankings for
tenders after it, the awarded suppliers as the right answers.

Every method ranks the same pool (all suppliers with an award before the cut-off) for the same
tenders. Ties are broken by one fixed random order of the pool, the same for every method, so
that no method gains from the order suppliers happen to be listed in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from matcher.embed.embedders import rescale_similarity
from matcher.eval.metrics import METRICS, bootstrap_interval, query_metrics, ranks_of_winners
from matcher.eval.split import Query, Split, split_history
from matcher.inputs.history import Contract
from matcher.profiles import lexical_text, profile_vectors_texts
from matcher.rank.hand import score_parts
from matcher.rank.need import SUGGEST_WEIGHTS, Need
from matcher.rank.pool import Pool
from matcher.results import EvalReport, Interval, MethodResult

# --- methods -----------------------------------------------------------------------------


@dataclass
class Context:
    """What the methods share: the split, the pool as participants, and embeddings."""

    split: Split
    participants: list[Any]
    encode: Callable[..., np.ndarray]  # (texts, kind="passage"|"query") -> unit vectors
    language: str = "en"
    model: str = ""
    weights: dict[str, float] = field(default_factory=lambda: dict(SUGGEST_WEIGHTS))
    _cache: dict[str, np.ndarray] = field(default_factory=dict)
    _objects: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def pool(self) -> Pool:
        if "pool" not in self._objects:
            self._objects["pool"] = Pool(self.participants)
        return self._objects["pool"]

    def query_vectors(self) -> np.ndarray:
        return self.cached("queries", lambda: self.encode([q.text for q in self.split.queries], kind="query"))

    def firm_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every firm's vectors as `matcher index build` makes them, and the pool row of each."""

        def make() -> np.ndarray:
            texts, owners = [], []
            for row, participant in enumerate(self.participants):
                for text in profile_vectors_texts(participant):
                    texts.append(text)
                    owners.append(row)
            self._objects["owners"] = np.array(owners, dtype=np.int64)
            return self.encode(texts)

        vectors = self.cached("firm_vectors", make)
        return vectors, self._objects["owners"]

    @property
    def lexical(self) -> Any:
        if "lexical" not in self._objects:
            from matcher.index.bm25 import LexicalIndex

            self._objects["lexical"] = LexicalIndex([lexical_text(p) for p in self.participants], self.language)
        return self._objects["lexical"]


def popularity(ctx: Context) -> np.ndarray:
    counts = np.array([len(ctx.split.records[s].contracts) for s in ctx.split.pool], dtype=np.float64)
    return np.tile(counts, (len(ctx.split.queries), 1))


def buyer_history(ctx: Context) -> np.ndarray:
    """Awards from the tender's own buyer; popularity only orders firms the buyer never used."""
    base = popularity(ctx)[0]
    per_buyer: dict[str, Counter[int]] = defaultdict(Counter)
    for row, sid in enumerate(ctx.split.pool):
        for buyer, n in ctx.split.records[sid].buyers.items():
            per_buyer[buyer][row] += n
    out = np.tile(base / (base.max() + 1.0), (len(ctx.split.queries), 1))  # in [0, 1): below any buyer count
    for i, q in enumerate(ctx.split.queries):
        for row, n in per_buyer.get(q.buyer_id or "", {}).items():
            out[i, row] += n
    return out


def bm25(ctx: Context) -> np.ndarray:
    """BM25 over the same text `matcher suggest` indexes: profile text and every past contract."""
    return ctx.cached(
        "bm25",
        lambda: np.stack([ctx.lexical.scores(q.text) for q in ctx.split.queries]).astype(np.float64),
    )


def bm25_shares(ctx: Context) -> np.ndarray:
    """BM25 as the rankers read it: each firm's score as a share of what the query's words can score."""

    if "bm25_shares" not in ctx._cache:  # shares and their attainable totals, from one pass
        matches = [ctx.lexical.match(q.text) for q in ctx.split.queries]
        ctx._cache["bm25_totals"] = np.array([m.total for m in matches], dtype=np.float64)
        ctx._cache["bm25_shares"] = np.stack([m.dense() for m in matches]).astype(np.float64)
    return ctx._cache["bm25_shares"]


def query_need(ctx: Context, i: int, weights: dict[str, float] | None = None) -> Need:
    """The i-th query as a ranker sees it (its BM25 attainable total from :func:`bm25_shares`)."""
    bm25_shares(ctx)
    q = ctx.split.queries[i]
    need = Need(codes=q.codes, value=q.value, buyer=q.buyer, lexical_total=float(ctx._cache["bm25_totals"][i]))
    return need if weights is None else replace(need, weights=dict(weights))


def dense_profile(ctx: Context) -> np.ndarray:
    """One vector per firm: its profile text (name, codes, most recent contracts) alone."""
    vectors, owners = ctx.firm_vectors()
    return ctx.query_vectors() @ vectors[np.searchsorted(owners, np.arange(len(ctx.split.pool)))].T


def dense_centroid(ctx: Context) -> np.ndarray:
    """The normalised mean of a firm's vectors (profile and contracts)."""
    vectors, owners = ctx.firm_vectors()
    sums = np.zeros((len(ctx.split.pool), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, vectors)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return ctx.query_vectors() @ sums.T.astype(np.float32)


def dense_max(ctx: Context) -> np.ndarray:
    """A firm scores its best vector (profile or a past contract): what `matcher suggest` indexes."""

    def make() -> np.ndarray:
        vectors, owners = ctx.firm_vectors()
        sims = ctx.query_vectors() @ vectors.T
        out = np.full((sims.shape[0], len(ctx.split.pool)), -1.0, dtype=np.float32)
        starts = np.searchsorted(owners, np.arange(len(ctx.split.pool)))
        return np.maximum.reduceat(sims, starts, axis=1) if sims.shape[1] else out

    return ctx.cached("dense_max", make)


def suggest(ctx: Context) -> np.ndarray:
    """The ranking of `matcher suggest`: the same score_parts over the same dense and BM25 scores."""
    pool = ctx.pool
    rows = np.arange(len(pool))
    sims, lexical = rescale_similarity(ctx.model, dense_max(ctx)), bm25_shares(ctx)
    out = np.empty(sims.shape, dtype=np.float64)
    for i in range(len(ctx.split.queries)):
        need = query_need(ctx, i, ctx.weights)
        out[i], _ = score_parts(need, pool, rows, sims[i], lexical[i])
    return out


def ranker_scores(ctx: Context, ranker: Any) -> np.ndarray:
    """A trained ranker's score of every pool firm for every query, over the dense and BM25 scores of the pool."""
    rows = np.arange(len(ctx.pool))
    sims, lexical = dense_max(ctx), bm25_shares(ctx)
    out = np.empty(sims.shape, dtype=np.float64)
    for i, q in enumerate(ctx.split.queries):
        need = query_need(ctx, i)
        out[i] = ranker.score(need, ctx.pool, rows, sims[i], lexical[i], q.date.year)[0]
    return out


def learned(ctx: Context) -> np.ndarray:
    """The learned ranker, trained on the history before the cut-off (time respected within it)."""
    from matcher.rank.trained import train_ranker

    ranker = train_ranker("linear", ctx.split.history, ctx.split.cutoff, ctx.encode, ctx.language)
    ctx._objects["ranker"] = ranker
    return ranker_scores(ctx, ranker)


def lightgbm_ranker(ctx: Context) -> np.ndarray:
    """The LightGBM lambdarank ranker, trained on the same time-respecting examples as the linear one."""
    from matcher.rank.trained import train_ranker

    ranker = train_ranker("lightgbm", ctx.split.history, ctx.split.cutoff, ctx.encode, ctx.language)
    ctx._objects["lightgbm"] = ranker
    return ranker_scores(ctx, ranker)


METHODS: dict[str, Callable[[Context], np.ndarray]] = {
    "popularity": popularity,
    "buyer history": buyer_history,
    "bm25": bm25,
    "dense: profile text only": dense_profile,
    "dense: centroid": dense_centroid,
    "dense: max over profile and contracts": dense_max,
    "suggest (hybrid)": suggest,
    "learned ranker": learned,
    "learned ranker (LightGBM)": lightgbm_ranker,
}
# the methods whose gain over every other method the report shows as paired differences
COMPARED = ("learned ranker", "learned ranker (LightGBM)")


# --- the report --------------------------------------------------------------------------


def _comparisons(
    results: list[MethodResult], per_warm: dict[str, dict[str, np.ndarray]], bootstrap: int
) -> dict[str, dict[str, dict[str, Interval]]]:
    """Paired differences of each learned ranker against every other method, warm tenders, R@10 and
    MRR@10: both rankings are judged on the same resampled tenders, so the interval is much narrower
    than comparing two separate intervals."""
    return {
        method: {
            m.name: {
                metric: bootstrap_interval(per_warm[method][metric] - per_warm[m.name][metric], bootstrap)
                for metric in ("recall@10", "mrr@10")
            }
            for m in results
            if m.name != method
        }
        for method in COMPARED
        if method in per_warm
    }


def evaluate(
    contracts: Sequence[Contract],
    cutoff: date,
    encode: Callable[..., np.ndarray],
    *,
    methods: Sequence[str] | None = None,
    language: str = "en",
    bootstrap: int = 1000,
    seed: int = 0,
    model: str = "",
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Rank the pool for every tender after the cut-off with each method and score the rankings."""
    import time

    split = split_history(contracts, cutoff)
    if not split.queries:
        from matcher.errors import InputError

        raise InputError(f"no awards dated on or after the cut-off {cutoff}; choose an earlier --cutoff")
    if not split.pool:
        from matcher.errors import InputError

        raise InputError(f"no awards dated before the cut-off {cutoff}; choose a later --cutoff")
    ctx = Context(split, [split.records[s].participant() for s in split.pool], encode, language, model)
    position = {sid: i for i, sid in enumerate(split.pool)}
    tiebreak = np.random.default_rng(seed).permutation(len(split.pool))
    warm = split.warm
    results: list[MethodResult] = []
    warm_arrays: dict[str, dict[str, np.ndarray]] = {}
    for name in methods or list(METHODS):
        if progress:
            progress(name)
        start = time.perf_counter()
        per_query, per_warm = _judge(METHODS[name](ctx), split.queries, position, tiebreak)
        seconds = time.perf_counter() - start
        results.append(
            MethodResult(
                name,
                warm={m: bootstrap_interval(np.array(v), bootstrap, seed) for m, v in per_warm.items()},
                all={m: bootstrap_interval(np.array(v), bootstrap, seed) for m, v in per_query.items()},
                seconds=seconds,
            )
        )
        warm_arrays[name] = {m: np.array(v) for m, v in per_warm.items()}
    return EvalReport(
        cutoff, split.train_awards, len(split.pool), len(split.queries), int(warm.sum()), split.undated,
        tuple(results), model, bootstrap, _comparisons(results, warm_arrays, bootstrap),
    )  # fmt: skip


def _judge(
    scores: np.ndarray, queries: Sequence[Query], position: dict[str, int], tiebreak: np.ndarray
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every metric of every query, on all tenders and on the warm ones only."""
    per_query: dict[str, list[float]] = {m: [] for m in METRICS}
    per_warm: dict[str, list[float]] = {m: [] for m in METRICS}
    for i, q in enumerate(queries):
        in_pool = [position[w] for w in q.winners if w in position]
        ranks = ranks_of_winners(scores[i], in_pool, tiebreak)
        everyone = query_metrics(ranks, len(q.winners))  # winners without history are misses
        for m in METRICS:
            per_query[m].append(everyone[m])
        if in_pool:  # warm: judged on the winners the method could have found
            known = query_metrics(ranks, len(in_pool))
            for m in METRICS:
                per_warm[m].append(known[m])
    return per_query, per_warm


def evaluate_files(
    paths: Sequence[Any],
    cutoff: date,
    *,
    model: str | None = None,
    backend: str = "auto",
    methods: Sequence[str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    cache_dir: Any = None,
    progress: Callable[[str], None] | None = None,
    embed_progress: Callable[[int, int], None] | None = None,
) -> tuple[EvalReport, list[Any]]:
    """Evaluate on OCDS files: read them, split at the cut-off, rank with every method.

    Embeddings are cached by (model, text hash), so a second run embeds nothing. `backend` is
    `index build`'s (auto: int8 ONNX where it passes its parity check), so the figures are those
    of the index a workspace serves; the ONNX export is kept beside the cache.
    Returns the report and the OCDS rejects (files or releases that could not be read).

    Example:
        >>> report, _ = evaluate_files(["releases.jsonl"], date(2023, 1, 1))  # doctest: +SKIP
    """
    from matcher.inputs.history import contracts_from_tables, history_language
    from matcher.inputs.ocds import read_ocds

    if methods:
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            from matcher.errors import InputError

            raise InputError(f"unknown method(s) {', '.join(unknown)}; choose from: {', '.join(METHODS)}")
    tables = read_ocds(paths)
    contracts = contracts_from_tables(tables.tenders, tables.awards)
    cache = embedding_cache(model, backend, cache_dir)
    report = evaluate(
        contracts, cutoff, cache.encoder(embed_progress), methods=methods, language=history_language(tables.tenders),
        bootstrap=bootstrap, seed=seed,
        model=cache.embedder.name, progress=progress,
    )  # fmt: skip
    return report, tables.rejects


def embedding_cache(model: str | None = None, backend: str = "auto", cache_dir: Any = None) -> Any:
    """The cached embedder the evaluation uses: `index build`'s backend choice, cached by (model, text hash)."""
    from pathlib import Path

    from matcher.embed.base import check_backend
    from matcher.embed.cache import EmbeddingCache, default_cache_dir
    from matcher.embed.embedders import load_embedder
    from matcher.embed.onnx import resolve_backend
    from matcher.inputs.sample import sample_texts

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    embedder = resolve_backend(folder.parent, load_embedder(model), check_backend(backend), parity_texts=sample_texts)
    return EmbeddingCache(embedder, folder)
