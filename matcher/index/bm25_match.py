"""One query's BM25 shares over an index, without adding up every posting of its words.

A frequent word of a million-member registry has hundreds of thousands of postings, but a
request needs only the few hundred best members by BM25 and the shares of the ~2,000
candidates it ranks. :class:`LexicalMatch` answers both exactly: :meth:`LexicalMatch.at` looks
the given rows up in each word's postings (sorted by document), and :meth:`LexicalMatch.top`
runs Fagin's threshold algorithm over the postings in impact order (each term's postings by
descending score, :func:`~matcher.index.postings.impact_order`, saved beside the index): it scores the documents among
every term's m best postings exactly, and stops once the k-th best of them beats what any
document outside them could score; else it doubles m, and past the longest list it adds every
posting up, as :meth:`LexicalMatch.dense` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from matcher.index.postings import Postings, Word

# the first depth of the threshold algorithm is this many postings per term, or 2k if more
FIRST_DEPTH = 64
# past this share of the query's postings to read in full, top() adds every posting up instead
ESSENTIAL_SHARE = 0.5
# a posting read from a head (gathered through the impact order) costs about this many read in a row
HEAD_COST = 3
# up to this many documents, adding every posting up is faster than pruning (SECOP's 1,894 firms:
# 0.8 ms a text dense, 5.7 ms pruned), so the evaluation and training windows keep it
DENSE_UP_TO = 10_000
# the rows left to score are looked up in this many terms at a time, then those that cannot place
# dropped, once fewer than this share of them are left (copying every term's values costs too)
LOOKUP_BATCH = 4
# looking a row up in a term's postings (a binary search) costs about this many postings added up:
# past that, at() adds every posting up once (dense) and reads the rows from it
LOOKUP_COST = 8
COMPACT_BELOW = 0.7
# dense(): a translated word with postings for one document in this many or more is combined in an
# n-long buffer (two passes over the registry), a rarer one over its own documents (a merge of its terms'
# postings): at 1M firms 50-70 ms of process time a text where a mark and a position per word took 110-190 ms
WORD_BUFFER = 16
# the words whose highest value Postings keeps (a float each), forgotten all at once past this many
WORDS_KEPT = 100_000


class LexicalMatch:
    """One query's BM25 shares: the attainable `total`, the `top` documents, the shares `at` rows.

    Made by :meth:`matcher.index.bm25.LexicalIndex.match`; every method gives exactly what the
    full array :meth:`dense` holds (the same float32 values, ties by row as a stable sort).

    Example:
        >>> match = index.match("road bridge repair", "en")  # doctest: +SKIP
        >>> rows, shares = match.top(10)  # the 10 best members, best first
        >>> match.at(rows)  # their shares again, looked up
    """

    def __init__(
        self, postings: Postings | None, n: int, words: Sequence[Word], translated: bool, unmatched: float = 0.0
    ):
        self._postings = postings
        self.n = n
        # the own-language path (no lexicon) rounds the raw sum to float32 before dividing, as it always has
        self._translated = translated
        self.words: list[Word] = []
        self.total = 0.0
        self.postings_read = 0  # by the last top(): heads of the impact lists, or all of them (`postings_total`)
        self.terms: list[int] = []
        self.postings_total = 0
        self._dense: np.ndarray | None = None  # every share, once something needed them all
        if postings is None:
            return
        kept = postings.word_best  # shared by a server's threads: read once, never assumed still there
        if len(kept) > WORDS_KEPT:
            kept.clear()
        for word in words:  # repeated words count again
            best = kept.get(word)
            if best is None:
                best = kept[word] = self._word_best(word)
            if best > 0 or not translated:
                self.words.append(word)
                self.total += best
        if self.total <= 0:
            self.words, self.total = [], 0.0
        else:  # the request's words of the trade no document uses count in what it asks, unmatched
            self.total += unmatched
        self.terms = sorted({t for w in self.words for t in w.terms})
        self.postings_total = sum(postings.length(t) for t in self.terms)

    def _word_best(self, word: Word) -> float:
        """The word's highest value over the documents: its translations' best sum found by the threshold
        algorithm too (a top-1 query over their impact lists), so exact without reading their postings."""
        assert self._postings is not None
        postings = self._postings
        own = postings.best(word.own) if word.own is not None else 0.0
        if not word.translations:
            return own
        if len(word.translations) == 1:  # p·x grows with x, so the best is p times the best score
            term, p = word.translations[0]
            return max(own, p * postings.best(term))
        terms = [t for t, _ in word.translations]
        longest = max(postings.length(t) for t in terms)
        depth = FIRST_DEPTH
        while True:
            if depth >= longest:
                seen = self._union([postings.every(t)[0] for t in terms])
            else:
                seen = unique_sorted(np.concatenate([postings.head(t, depth) for t in terms]))
            summed = word.combine(0.0, [postings.lookup(t, seen) for t in terms])
            found = float(np.max(summed)) if len(seen) else 0.0
            if depth >= longest or found >= float(word.combine(0.0, [postings.bound(t, depth) for t in terms])):
                return max(own, found)
            depth *= 2

    def _share(self, summed: np.ndarray) -> np.ndarray:
        """BM25 sums (float64) as float32 shares of the total, rounded as :meth:`dense` rounds them."""
        if self.total <= 0:
            return np.zeros(len(summed), dtype=np.float32)
        if self._translated:
            return (summed / self.total).astype(np.float32)
        return (summed.astype(np.float32) / self.total).astype(np.float32)

    def _sums(self, value: Mapping[int, float | np.ndarray]) -> np.ndarray:
        """The BM25 sum over the words from each term's values (exact, or bounds), added in the words'
        order as bincount adds them, so that a sum of exact values is the very float :meth:`dense` has
        and a sum of bounds bounds it (rounding keeps the order)."""
        per_word: dict[Word, float | np.ndarray] = {}
        total: float | np.ndarray = 0.0
        for word in self.words:
            if word not in per_word:
                own = value[word.own] if word.own is not None else 0.0
                per_word[word] = word.combine(own, [value[t] for t, _ in word.translations])
            total = total + per_word[word]
        return np.asarray(total, dtype=np.float64).reshape(-1)

    def at(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The shares of the given rows (float32), equal to ``dense()[rows]``."""
        rows = np.asarray(rows, dtype=np.int64)
        if not self.words or not len(rows):
            return np.zeros(len(rows), dtype=np.float32)
        assert self._postings is not None
        if self._dense is None and len(rows) * len(self.terms) * LOOKUP_COST > self.postings_total:
            self.dense()  # many rows (a code block of a big registry): one pass over the postings is cheaper
        if self._dense is not None:
            return self._dense[rows]
        summed = self._sums({t: self._postings.lookup(t, rows) for t in self.terms})
        return self._share(summed if len(summed) == len(rows) else np.zeros(len(rows)))

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k documents with the highest share above 0, best first (ties by row), and their shares.

        Exact without adding up every posting. The threshold algorithm's first round reads each
        term's m best postings (impact order); the k documents best by what those heads show
        are scored exactly, and the k-th of them is a threshold θ. Then as in MaxScore: the words
        whose bound outside the heads (each term at its m-th score) is highest are made essential
        until a document outside the heads and outside their postings shares strictly less than θ.
        Only the essential terms' postings are read in full; of the documents seen, those whose
        bound (what is known, each other term at its m-th score) reaches θ are looked up in the
        other terms' postings, and the rest cannot place. Where that would read most of the
        postings anyway, m grows fourfold, and past the longest list every posting is added up.
        """
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        self.postings_read = 0
        if k <= 0 or not self.words:
            return empty
        assert self._postings is not None
        postings = self._postings
        longest = max(postings.length(t) for t in self.terms)
        depth = max(FIRST_DEPTH, 2 * k)
        while depth < longest and self.n > DENSE_UP_TO and self._dense is None:
            heads = {t: postings.head(t, depth) for t in self.terms}
            self.postings_read += sum(len(h) for h in heads.values())
            seen = self._union(list(heads.values()))
            known = self._known(seen, {t: (h, postings.head_scores(t, depth)) for t, h in heads.items()})
            partial = self._share(self._sums({t: v for t, (v, _) in known.items()}))
            if np.count_nonzero(partial) >= k:
                best = seen[np.sort(top_k_rows(partial, k))]
                threshold = np.min(self.at(best))
                # θ holds at any depth: read the heads as deep as makes heads plus essential postings fewest
                costs = []
                for deeper in (depth * 4**i for i in range(8)):
                    essential = self._essential(deeper, threshold)
                    read = sum(min(deeper, postings.length(t)) for t in self.terms)
                    cost = HEAD_COST * read + sum(postings.length(t) for t in essential)
                    costs.append((cost, deeper, essential))
                    if deeper >= longest:
                        break
                cost, chosen, essential = min(costs, key=lambda c: c[0])
                if threshold > 0 and cost <= self.postings_total * ESSENTIAL_SHARE * HEAD_COST:
                    if chosen != depth:
                        heads = {t: postings.head(t, chosen) for t in self.terms}
                        self.postings_read += sum(len(h) for h in heads.values())
                    self.postings_read += sum(postings.length(t) for t in essential)
                    return self._finish(k, chosen, heads, essential, threshold)
            depth *= 4
        self.postings_read += self.postings_total if self._dense is None else 0
        shares = self.dense()
        order = top_k_rows(shares, k)
        order = order[shares[order] > 0]
        return order, shares[order]

    def _union(self, lists: list[np.ndarray]) -> np.ndarray:
        return union_by_mark(lists, self.n)

    def _known(
        self, rows: np.ndarray, lists: dict[int, tuple[np.ndarray, np.ndarray]]
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per term, the scores of `rows` found in its (docs, scores) list (0 elsewhere), and where found."""
        position = np.full(self.n, -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        out = {}
        for t, (docs, scores) in lists.items():
            at = position[docs]
            at, scores = at[at >= 0], np.asarray(scores, dtype=np.float64)[at >= 0]
            value, found = np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
            value[at], found[at] = scores, True
            out[t] = (value, found)
        return out

    def _bounds(self, depth: int, exact: set[int] | None = None) -> dict[int, float | np.ndarray]:
        """Each term's most for a document outside its `depth` best postings; 0 for the `exact` terms
        (a document outside their postings scores nothing for them)."""
        assert self._postings is not None
        return {t: 0.0 if exact and t in exact else self._postings.bound(t, depth) for t in self.terms}

    def _essential(self, depth: int, threshold: np.float32) -> set[int]:
        """The terms of the fewest words, highest bound first, without which a document outside every
        head and outside those terms' postings shares strictly less than `threshold`."""
        bounds = self._bounds(depth)

        def bound(w: Word) -> float:
            return float(w.combine(bounds[w.own] if w.own is not None else 0.0, [bounds[t] for t, _ in w.translations]))

        essential: set[int] = set()
        for word in sorted(set(self.words), key=bound, reverse=True):
            if self._share(self._sums(self._bounds(depth, essential)))[0] < threshold:
                break
            essential |= set(word.terms)
        return essential

    def _finish(
        self, k: int, depth: int, heads: dict[int, np.ndarray], essential: set[int], threshold: np.float32
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top k among the documents of the heads and of the essential terms' postings.

        Each document's bound is linear in its terms' values (a word's max(own, Σ p·translation) is at
        most own + Σ p·translation), so it is added up over the postings read, never over a term per
        document: the bound of a document in no list read, plus each posting's excess over its term's
        bound. The documents whose bound reaches `threshold` are looked up term by term, highest
        weight first, dropping those whose bound falls below it; the rest are scored exactly.
        """
        assert self._postings is not None
        postings = self._postings
        weight = dict.fromkeys(self.terms, 0.0)  # each term's coefficient in the linear bound
        for word in self.words:
            if word.own is not None:
                weight[word.own] += 1.0
            for t, p in word.translations:
                weight[t] += p
        outside = {t: 0.0 if t in essential else postings.bound(t, depth) for t in self.terms}
        lists = {
            t: postings.every(t) if t in essential else (heads[t], postings.head_scores(t, depth)) for t in self.terms
        }
        rows = self._union([docs for docs, _ in lists.values()])
        position = np.full(self.n, -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        where = np.concatenate([position[docs] for docs, _ in lists.values()])
        excess = np.concatenate(
            [weight[t] * (np.asarray(scores, dtype=np.float64) - float(outside[t])) for t, (_, scores) in lists.items()]
        )
        excess = np.bincount(where, weights=excess, minlength=len(rows))
        bound = sum(weight[t] * float(outside[t]) for t in self.terms) + excess
        slack = 1 - 1e-6  # the bound is added in another order than the exact sums: keep any row it might round away
        keep = self._share(bound) >= threshold * slack
        rows, bound = rows[keep], bound[keep]
        position[:] = -1
        position[rows] = np.arange(len(rows))
        exact: dict[int, np.ndarray] = {}
        rest = sorted((t for t in self.terms if t not in essential), key=lambda t: -weight[t] * float(outside[t]))
        for start in range(0, len(rest), LOOKUP_BATCH):
            for t in rest[start : start + LOOKUP_BATCH]:
                exact[t] = postings.lookup(t, rows)
                was = np.full(len(rows), float(outside[t]))  # the bound had the head's score or the term's bound
                at = position[heads[t]]
                was[at[at >= 0]] = np.asarray(postings.head_scores(t, depth), dtype=np.float64)[at >= 0]
                bound = bound + weight[t] * (exact[t] - was)
            keep = self._share(bound) >= threshold * slack
            if np.count_nonzero(keep) > len(keep) * COMPACT_BELOW:
                continue  # too few dropped to be worth copying every term's values
            rows, bound = rows[keep], bound[keep]
            exact = {t: v[keep] for t, v in exact.items()}
            position[position >= 0] = -1
            position[rows] = np.arange(len(rows))
        keep = self._share(bound) >= threshold * slack
        rows, exact = rows[keep], {t: v[keep] for t, v in exact.items()}
        position[position >= 0] = -1
        position[rows] = np.arange(len(rows))
        for t in essential:  # read in full already: scattered, not looked up
            docs, scores = lists[t]
            at = position[docs]
            exact[t] = np.zeros(len(rows))
            exact[t][at[at >= 0]] = scores[at >= 0]
        shares = self._share(self._sums(exact)) if len(rows) else np.zeros(0, dtype=np.float32)
        order = top_k_rows(shares, k)
        order = order[shares[order] > 0]
        return rows[order], shares[order]

    def dense(self) -> np.ndarray:
        """Every document's share (float32, n of them): all the postings of the words, added up
        (once: later calls, and :meth:`at` and :meth:`top`, read the same array)."""
        if self._dense is None:
            self._dense = self._dense_shares()
        return self._dense

    def _dense_shares(self) -> np.ndarray:
        if not self.words:
            return np.zeros(self.n, dtype=np.float32)
        assert self._postings is not None
        postings = self._postings
        if not self._translated:
            rows, weights = zip(*(postings.every(w.own) for w in self.words if w.own is not None))
            raw = np.bincount(np.concatenate(rows), weights=np.concatenate(weights), minlength=self.n)
            return (raw.astype(np.float32) / self.total).astype(np.float32)
        # each word's values added to the sum in the words' order, as one bincount over them would add
        # them (a document a word misses adds 0.0, which changes no float); a frequent word's values
        # are combined in an n-long buffer, a rarer word's over its own documents (_best_of)
        summed = np.zeros(self.n)
        buffer: np.ndarray | None = None
        repeats = Counter(self.words)
        done: dict[Word, tuple[np.ndarray | None, np.ndarray]] = {}
        for word in self.words:
            if word in done:
                docs, values = done[word]
            elif word.translations and sum(postings.length(t) for t in word.terms) * WORD_BUFFER >= self.n:
                buffer = np.zeros(self.n) if buffer is None else buffer
                _best_into(word, postings, buffer)
                summed += buffer
                if repeats[word] > 1:
                    done[word] = (None, buffer.copy())
                buffer[:] = 0.0
                continue
            else:
                own = [postings.every(word.own)] if word.own is not None else []
                docs, values = done[word] = _best_of(own, [postings.every(t, p) for t, p in word.translations])
            if docs is None:
                summed += values
            else:
                np.add.at(summed, docs, values)
        return (summed / self.total).astype(np.float32)


def top_k_rows(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values, largest first, ties by position (as a stable sort gives),
    without sorting all of them: a partition first, so a million scores cost milliseconds (the
    candidate pool's cuts use it too)."""
    if k >= len(values):
        return np.argsort(-values, kind="stable")
    threshold = np.partition(values, len(values) - k)[len(values) - k]
    above = np.flatnonzero(values >= threshold)  # the k largest, and any ties at the threshold
    return above[np.argsort(-values[above], kind="stable")][:k]


def union_by_mark(lists: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The values in any of the lists (each in 0..n-1), ascending: a mark per value, cheaper than
    sorting them when the lists hold a good share of n."""
    mark = np.zeros(n, dtype=bool)
    for values in lists:
        mark[values] = True
    return np.flatnonzero(mark)


def unique_sorted(rows: np.ndarray) -> np.ndarray:
    """The distinct values, ascending, as np.unique gives them; by a stable sort, which merges the
    sorted runs of concatenated postings in linear time (numpy 2's hashing np.unique took 400 ms
    on half a million rows)."""
    ordered = np.sort(rows, kind="stable")
    return ordered[_first_of_each(ordered)] if len(ordered) else ordered


def _first_of_each(ordered: np.ndarray) -> np.ndarray:
    new = np.empty(len(ordered), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return new


def _best_into(word: Word, postings: Postings, buffer: np.ndarray) -> None:
    """The word's value for every document, into a zeroed n-long buffer: its translations' scores
    added in order from 0, then the larger of that and its own score (as :func:`_best_of`)."""
    # ufunc.at adds in order like bincount, and in numpy 2 twice as fast as buffer[docs] += scores
    for term, p in word.translations:
        np.add.at(buffer, *postings.every(term, p))
    if word.own is not None:
        np.maximum.at(buffer, *postings.every(word.own))


def _best_of(
    own: list[tuple[np.ndarray, np.ndarray]], translated: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per document, the larger of its own score for a word and the sum of its translations' scores.

    The documents (ascending) by a stable sort of the postings, which merges the terms' sorted
    runs. The translations are added in the order they come (as one bincount over them would),
    so the floats are the same as ever."""
    if not translated:
        return own[0]
    trans_docs = np.concatenate([d for d, _ in translated])
    trans_values = np.concatenate([v for _, v in translated])
    every = np.concatenate([trans_docs, own[0][0]]) if own else trans_docs
    order = np.argsort(every, kind="stable")
    ordered = every[order]
    new = _first_of_each(ordered)
    docs = ordered[new]
    where = np.empty(len(every), dtype=np.int64)
    where[order] = np.cumsum(new) - 1
    best = np.bincount(where[: len(trans_docs)], weights=trans_values, minlength=len(docs))
    if own:
        mine = np.zeros(len(docs))
        mine[where[len(trans_docs) :]] = own[0][1]
        best = np.maximum(best, mine)
    return docs, best
