"""The managers' marks as training examples, beside the award history (`matcher train`).

Each marked lot is one query, its candidates found among the workspace's members as serving finds
them (the dense neighbours of the lot's text, the best by BM25, those sharing a code block) plus
every marked member. Labels, from each member's newest mark on the lot:

* shortlisted, contacted, won: positive. A manager judged the firm fit for the lot; "won" is what
  an award says, and shortlisting or contacting is the same judgement made earlier, before the
  award that most lots in a cluster's files never get to.
* not relevant, lost: negative. "Not relevant" is the judgement that the firm should not have been
  proposed. "Lost" is a weaker one (the firm was fit enough to bid), but like the award history's
  other bidders it is a firm that did not win the lot, so it is labelled like them.
* unmarked candidates are negatives where the lot has a positive mark (as the award history's
  non-winners are), and positives where it has only negative marks: a manager who rejected one
  suggestion and left the others stands by them, and a query with no positive teaches a pairwise
  ranker nothing.

The queries carry window 0, so that the calibration (fitted on held-out quarters of the award
history, :func:`matcher.rank.trained.train_calibrated`) never sees them: the fit keeps meaning
"the chance of winning", and the marks shape only the ranker that is saved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from matcher.index.bm25 import LexicalIndex
from matcher.profiles import lexical_text, profile_vectors_texts
from matcher.rank.features import FEATURES, feature_matrix
from matcher.rank.feedback import latest_per_lot
from matcher.rank.learned import CANDIDATES, TrainingSet
from matcher.rank.need import Need
from matcher.rank.pool import Pool
from matcher.results import Mark
from matcher.schema import Participant
from matcher.store.feedback import NEGATIVE, POSITIVE


def feedback_examples(
    marks: Sequence[Mark],
    members: Sequence[Participant],
    vectors: Callable[..., np.ndarray],
    language: str = "en",
) -> TrainingSet | None:
    """One query per marked lot (see the module docstring); None when no mark names a member."""
    position = {p.id: i for i, p in enumerate(members)}
    by_lot: dict[tuple[str, str], list[Mark]] = defaultdict(list)
    for m in latest_per_lot(marks):
        if m.member_id in position:
            by_lot[(m.tender_id, m.lot_id)].append(m)
    if not by_lot:
        return None
    pool = Pool(list(members))
    lexical_index = LexicalIndex([lexical_text(p) for p in members], language)
    texts, owners = [], []
    for row, p in enumerate(members):
        for text in profile_vectors_texts(p):
            texts.append(text)
            owners.append(row)
    member_vectors = vectors(texts)
    starts = np.searchsorted(np.array(owners), np.arange(len(members)))
    lots = sorted(by_lot)
    queries = [by_lot[k][0].text or " ".join(by_lot[k][0].codes) or k[1] for k in lots]
    query_vectors = vectors(queries, kind="query")
    xs, ys, sizes = [], [], []
    for key, text, qv in zip(lots, queries, query_vectors):
        lot_marks = by_lot[key]
        good = {position[m.member_id] for m in lot_marks if m.status in POSITIVE}
        bad = {position[m.member_id] for m in lot_marks if m.status in NEGATIVE}
        dense_all = np.maximum.reduceat(member_vectors @ qv, starts)
        lexical = lexical_index.match(text)
        need = Need(codes=lot_marks[0].codes, lexical_total=lexical.total)
        top = np.argpartition(-dense_all, min(CANDIDATES, len(dense_all) - 1))[:CANDIDATES]
        picked = set(top.tolist()) | pool.extra_candidates(need, lexical, CANDIDATES) | good | bad
        rows = np.array(sorted(picked))
        label = np.isin(rows, list(good)) if good else ~np.isin(rows, list(bad))
        if label.all() or not label.any():
            continue  # nothing to rank against
        year = date.fromisoformat(lot_marks[-1].created_at[:10]).year if lot_marks[-1].created_at else None
        xs.append(feature_matrix(need, pool, rows, dense_all[rows], lexical.at(rows), year))
        ys.append(label)
        sizes.append(len(rows))
    if not xs:
        return None
    return TrainingSet(np.vstack(xs), np.concatenate(ys), sizes, len(sizes), 0, 0, [0] * len(sizes))


def with_feedback(data: TrainingSet, extra: TrainingSet | None) -> TrainingSet:
    """The award history's examples and the marks', as one set (the marks' queries in window 0)."""
    if extra is None:
        return data
    assert data.x.shape[1] == extra.x.shape[1] == len(FEATURES)
    return TrainingSet(
        np.vstack([data.x, extra.x]), np.concatenate([data.y, extra.y]), [*data.sizes, *extra.sizes],
        data.queries + extra.queries, data.windows, data.skipped, [*data.window_of, *extra.window_of],
    )  # fmt: skip
