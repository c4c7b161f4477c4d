"""The ranker interface, and :func:`rank`: the best candidates of a request, explained, best first.

Implementations: :class:`matcher.rank.hand.HandWeighted` (the weighted sum of score parts, the
default), :class:`matcher.rank.learned.LearnedRanker` (a linear model over the features of
:mod:`matcher.rank.features`) and :class:`matcher.rank.lambdarank.LambdaRankRanker` (LightGBM
lambdarank over the same features). Every implementation passes tests/test_ranker_contract.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from matcher.rank.calibration import Calibration, band
from matcher.rank.hand import HandWeighted
from matcher.rank.need import Need
from matcher.rank.parts import Scored, asked
from matcher.rank.pool import Pool
from matcher.results import ScorePart, Suggestion
from matcher.schema import Participant


class Ranker(Protocol):
    """Scores candidates for a request, explains the parts of a score, and puts a score on a 0..1 scale.

    The contract (tests/test_ranker_contract.py): the contributions of all parts add up to the
    total; every part has a name, a weight and words; a higher total is a better candidate.

    Attributes:
        name: what to call the ranker, e.g. "hand-weighted" or "learned".
    """

    name: str

    def score(
        self, need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
    ) -> Scored:
        """Scores of the given rows of the pool, part by part.

        Args:
            need: what the request asks for.
            pool: the firms; ``rows`` are positions in it.
            rows: the candidates.
            dense: cosine of each candidate to the request's text, in the order of ``rows``.
            lexical: BM25 score of each candidate for the request's text, or None where there is none.
            year: the year the request is for (recency), or None.
        """
        ...

    def explain(self, need: Need, firm: Participant, values: Mapping[str, float]) -> dict[str, str]:
        """The words behind each part of one firm's score, given the firm's part values (from :meth:`score`)."""
        ...

    def unit_score(self, score: float) -> float:
        """A total from :meth:`score` on a 0..1 scale (higher is better), e.g. for the team builder."""
        ...


def rank(
    need: Need,
    pool: Pool,
    rows: Sequence[int] | np.ndarray,
    dense: np.ndarray,
    top_k: int,
    lexical: np.ndarray | None = None,
    ranker: Ranker | None = None,
    year: int | None = None,
    calibration: Calibration | None = None,
) -> list[Suggestion]:
    """Score the candidate rows of the pool against the need; the best top_k, explained, best first.

    Equal scores are ordered by participant id, so the output does not depend on the order of ``rows``.

    Args:
        rows: candidate positions in the pool.
        dense: cosine similarity of each candidate to the request's text, same order as rows.
        lexical: BM25 score of each candidate for the request's text (optional), same order.
        ranker: HandWeighted (the default) or a trained LearnedRanker.
        year: the year the request is for (recency features of a learned ranker).
        calibration: the ranker's calibration: each suggestion then carries its fit and band.

    Example:
        >>> rank(Need(codes=("45221111-3",)), Pool(firms), range(len(firms)), cosines, top_k=5)  # doctest: +SKIP
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return []
    ranker = ranker if ranker is not None else HandWeighted()
    scored = ranker.score(need, pool, rows, np.asarray(dense), lexical, year)
    order = np.lexsort((pool.id_rank[rows], -np.round(scored.total, 12)))[:top_k]
    firms = pool.members.get(rows[order])  # only the shown firms are built whole
    return [
        _suggestion(i + 1, firm, int(k), need, ranker, scored, calibration)
        for i, (k, firm) in enumerate(zip(order, firms))
    ]


def _suggestion(
    position: int, firm: Participant, k: int, need: Need, ranker: Ranker, scored: Scored,
    calibration: Calibration | None,
) -> Suggestion:  # fmt: skip
    """The k-th scored candidate as a suggestion at `position`, each part explained in words."""
    mine = {name: float(v[k]) for name, v in scored.values.items()}
    words = ranker.explain(need, firm, mine)
    parts = tuple(
        ScorePart(
            name,
            round(mine[name], 4),
            round(scored.weights[name], 4),
            round(float(scored.contributions[name][k]), 4),
            words[name],
            asked(name, need),
        )
        for name in scored.values
    )
    total = float(scored.total[k])
    fit = None
    if calibration is not None:
        left_out = {
            name: float(scored.contributions[name][k]) for name in calibration.without if name in scored.contributions
        }
        fit = round(float(calibration.fit(calibration.score_of(total, left_out))), 4)
    return Suggestion(
        position, firm.id, firm.name, firm.kind, round(total, 4), parts,
        fit=fit, band=None if fit is None else band(fit),
    )  # fmt: skip
