"""Candidate generation: which members a request's ranker gets to score.

The same rule serves queries and trains the learned ranker (see :meth:`matcher.rank.pool.Pool.extra_candidates`):
dense neighbours from the vector index, the best BM25 matches, members sharing a code block with
the request, and the buyer's past suppliers, each with its best cosine to the request.
"""

from __future__ import annotations

import numpy as np

from matcher.index.bm25_match import LexicalMatch
from matcher.rank.need import Need
from matcher.rank.pool import Pool
from matcher.search.version import IndexVersion

# Dense candidates per request before re-ranking; code-matched members are added to them.
MIN_CANDIDATES = 200


class CandidateRetriever:
    """Candidates for a request over one opened index version and its pool."""

    def __init__(self, version: IndexVersion, pool: Pool):
        self.version = version
        self.pool = pool

    def __call__(
        self, query: np.ndarray, need: Need, top_k: int, exclude: set[int], lexical: LexicalMatch | None
    ) -> tuple[list[int], np.ndarray]:
        """The candidate rows and each one's best cosine to `query` (a (1, dimension) array).

        Args:
            need: what the request asks (its codes and buyer add candidates).
            top_k: how many the request will show; ten times as many (at least MIN_CANDIDATES) are gathered.
            exclude: rows never returned (the member a `similar` query starts from).
            lexical: the request's text's BM25 match (its best members, any member's share), or None.
        """
        version = self.version
        wanted = max(MIN_CANDIDATES, top_k * 10)
        per_firm = max(1, round(len(version.owner) / max(1, len(version.members))))
        scores, ids = version.index.search(query, wanted * per_firm)
        cosine: dict[int, float] = {}
        for score, vid in zip(scores[0], ids[0]):
            if vid < 0:
                continue
            row = int(version.owner[vid])
            if row not in exclude and score > cosine.get(row, -2.0):
                cosine[row] = float(score)  # the best vector of each firm among the hits is its best overall
        extra = self.pool.extra_candidates(need, lexical, wanted)
        extra -= cosine.keys() | exclude
        if extra:
            rows = sorted(extra)
            for row, sim in zip(rows, version.best_cosine(rows, query[0])):
                cosine[row] = float(sim)
        rows = list(cosine)
        return rows, np.array([cosine[r] for r in rows], dtype=np.float32)
