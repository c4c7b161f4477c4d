"""The candidate pool: firms prepared for scoring many at once, and the top-k cut.

:class:`Pool` holds what every ranker reads of a firm as arrays (codes as a :class:`CodeMatrix`,
largest and typical project values, buyers, regions, certifications) and the rule that adds
candidates besides the dense neighbours (:meth:`Pool.extra_candidates`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from matcher.index.bm25 import fold
from matcher.index.bm25_match import LexicalMatch
from matcher.rank.need import Need, buyer_key
from matcher.rank.parts import NEUTRAL, holds_certification, region_covers
from matcher.schema import Participant
from matcher.taxonomy import code_tree, level_scores, significant

# Firms sharing a code block with a request that join the candidates at most (see Pool.extra_candidates).
BLOCK_CANDIDATES = 2000


class CodeMatrix:
    """Every code of a set of firms as digit arrays, to score many firms against a code at once.

    Gives exactly the scores of :func:`matcher.taxonomy.match_code`, vectorised: for each tree
    scheme a (codes × 8) digit matrix and the row of the firm that holds each code.
    """

    def __init__(self, code_lists: Sequence[Sequence[str]]):
        self.n = len(code_lists)
        trees: dict[str, tuple[list[int], list[str]]] = {}
        plain: dict[str, list[int]] = {}
        for row, codes in enumerate(code_lists):
            for code in codes:
                tree = code_tree(code)
                if tree is None:
                    plain.setdefault(code, []).append(row)
                else:
                    owners, digits = trees.setdefault(tree[0], ([], []))
                    owners.append(row)
                    digits.append(tree[1])
        # per scheme: the row of the firm holding each code (ascending), the code's digits, and
        # where each firm's codes start, so that a request scores only its candidates' codes
        self._trees = {}
        for scheme, (owners, digits) in trees.items():
            held = np.array(owners, dtype=np.int64)
            matrix = np.array([[int(c) for c in d] for d in digits], dtype=np.int8)
            self._trees[scheme] = (matrix, np.searchsorted(held, np.arange(self.n + 1)))
        self._plain = {code: np.array(rows, dtype=np.int64) for code, rows in plain.items()}
        self._scores = {scheme: np.array(level_scores(scheme) + [1.0]) for scheme in self._trees}

    def best(self, wanted: str, rows: np.ndarray | None = None) -> np.ndarray:
        """For every firm (or for the given rows), the score of its best code for one requested code."""
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows))
        exact = self._plain.get(wanted)
        if exact is not None:
            out[np.isin(rows, exact)] = 1.0
        tree = code_tree(wanted)
        if tree is None or tree[0] not in self._trees or not len(rows):
            return out
        scheme, digits = tree
        matrix, starts = self._trees[scheme]
        counts = starts[rows + 1] - starts[rows]
        ends = np.cumsum(counts)
        positions = np.repeat(starts[rows], counts) + np.arange(ends[-1]) - np.repeat(ends - counts, counts)
        want = significant(scheme, digits)
        target = np.array([int(c) for c in want], dtype=np.int8)
        same = matrix[positions, : len(want)] == target
        common = np.cumprod(same, axis=1).sum(axis=1)  # leading digits shared
        # index len(table)-1 holds 1.0: the firm's code lies under (or is) the requested one
        common = np.where(common >= len(want), len(self._scores[scheme]) - 1, common)
        held = counts > 0  # each firm's codes are contiguous: the best is a max over its segment
        if held.any():
            best = np.maximum.reduceat(self._scores[scheme][common], (ends - counts)[held])
            out[held] = np.maximum(out[held], best)
        return out

    def mean_best(self, wanted: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The codes part for every firm (or the given rows): mean over the requested codes of the best match."""
        if not wanted:
            return np.zeros(self.n if rows is None else len(rows))
        return np.mean([self.best(w, rows) for w in wanted], axis=0)


_NAME_WORD = re.compile(r"\w{3,}")


def _name_words(name: str | None) -> set[str]:
    """The words of a name that can tell places apart: folded, three letters or more."""
    return {w for w in _NAME_WORD.findall(fold(name or "")) if not w.isdigit()}


def top_k_rows(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values, largest first, ties by position (as a stable sort gives),
    without sorting all of them: a partition first, so a million scores cost milliseconds."""
    if k >= len(values):
        return np.argsort(-values, kind="stable")
    threshold = np.partition(values, len(values) - k)[len(values) - k]
    above = np.flatnonzero(values >= threshold)  # the k largest, and any ties at the threshold
    return above[np.argsort(-values[above], kind="stable")][:k]


class Pool:
    """Firms prepared for scoring: their codes as a CodeMatrix and their largest past project."""

    def __init__(self, participants: Sequence[Participant]):
        self.participants = list(participants)
        self.codes = CodeMatrix([p.codes for p in self.participants])
        self.capacity = np.array([p.largest_project_value or np.nan for p in self.participants], dtype=np.float64)
        self.volume = np.array([len(p.projects) for p in self.participants], dtype=np.float64)
        self.last_year = np.array(
            [max((x.year for x in p.projects if x.year), default=np.nan) for p in self.participants], dtype=np.float64
        )
        self.typical_value = np.array(
            [np.median([x.value for x in p.projects if x.value]) if any(x.value for x in p.projects) else np.nan
             for p in self.participants],
            dtype=np.float64,
        )  # fmt: skip
        self._buyers: dict[str, dict[int, int]] = {}
        for row, p in enumerate(self.participants):
            for project in p.projects:
                key = buyer_key(project.buyer)
                if key:
                    counts = self._buyers.setdefault(key, {})
                    counts[row] = counts.get(row, 0) + 1
        self._blocks: dict[tuple[str, str], np.ndarray] | None = None
        self._buyer_words: tuple[dict[str, np.ndarray], int] | None = None
        self._no_region = np.array([not p.regions for p in self.participants], dtype=bool)
        self._serves: dict[str, np.ndarray] = {}
        self._holds: dict[str, np.ndarray] = {}
        # ties are broken by id, so that equal scores always come out in the same order
        order = np.argsort(np.array([p.id for p in self.participants], dtype=object), kind="stable")
        self.id_rank = np.empty(len(order), dtype=np.int64)
        self.id_rank[order] = np.arange(len(order))

    def __len__(self) -> int:
        return len(self.participants)

    def rows_sharing_block(self, codes: Sequence[str], digits: int = 4) -> np.ndarray:
        """Firms holding a code in the same CPV class / UNSPSC family (first 4 digits) as a requested
        code: their rows, ascending (arrays, not sets: a class like 4522 holds 100,000 rows in a
        million-firm registry)."""
        if self._blocks is None:
            lists: dict[tuple[str, str], list[int]] = {}
            for row, p in enumerate(self.participants):
                for code in p.codes:
                    tree = code_tree(code)
                    if tree is not None:
                        lists.setdefault((tree[0], tree[1][:digits]), []).append(row)
            self._blocks = {key: np.unique(np.array(rows, dtype=np.int64)) for key, rows in lists.items()}
        keys = [(t[0], t[1][:digits]) for t in map(code_tree, codes) if t is not None]
        found = [self._blocks[key] for key in keys if key in self._blocks]
        if not found:
            return np.zeros(0, dtype=np.int64)
        if len(found) == 1:
            return found[0]
        union = np.zeros(len(self.participants), dtype=bool)
        for rows in found:
            union[rows] = True
        return np.flatnonzero(union)

    def region_values(self, wanted: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The region part for every firm (or the given rows): 1 serves one of `wanted`, 0 does not,
        0.5 states none."""
        pick = slice(None) if rows is None else rows
        out = np.where(self._no_region[pick], NEUTRAL, 0.0)
        for region in wanted:
            if region not in self._serves:  # once per region asked, then a cached boolean array
                self._serves[region] = np.array(
                    [any(region_covers(s, region) for s in p.regions) for p in self.participants], dtype=bool
                )
            out = np.where(self._serves[region][pick], 1.0, out)
        return out

    def certification_share(self, required: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The certifications part for every firm (or the given rows): the share of `required` it holds."""
        pick = slice(None) if rows is None else rows
        held = np.zeros(len(self.participants) if rows is None else len(rows))
        for name in required:
            if name not in self._holds:
                self._holds[name] = np.array(
                    [holds_certification(p.certifications, name) for p in self.participants], dtype=bool
                )
            held += self._holds[name][pick]
        return held / max(1, len(required))

    def buyer_rows(self, buyer: str | None) -> set[int]:
        """Firms with at least one past project for this buyer."""
        return set(self._buyers.get(buyer_key(buyer), {}))

    def extra_candidates(self, need: Need, lexical: LexicalMatch | None, k: int) -> set[int]:
        """Candidates besides the dense neighbours: the k best by BM25, firms sharing a code block
        with the request (at most BLOCK_CANDIDATES of them: the best by BM25, else by code match),
        and the buyer's past suppliers. Serving and training use the same rule."""
        rows = self.rows_sharing_block(need.codes)
        if len(rows) > BLOCK_CANDIDATES:  # a big registry: thousands share a class like 4522
            order = lexical.at(rows) if lexical is not None else self.codes.mean_best(need.codes, rows)
            rows = rows[top_k_rows(order, BLOCK_CANDIDATES)]
        out = set(rows.tolist()) | self.buyer_rows(need.buyer)
        if lexical is not None:  # the best by BM25 without adding up every posting of the request's words
            out |= set(lexical.top(k)[0].tolist())
        return out

    def buyer_place(self, buyer: str | None, rows: np.ndarray) -> np.ndarray:
        """For the given rows, how much of the buyer's name the names of the firm's past buyers share,
        weighted by how rare each word is among buyer names (0..1): "Alcaldía de Cota" and
        "Gobernación de Cundinamarca, municipio de Cota" share "cota". Names carry the buyer's
        territory, and firms mostly work near where they have worked."""
        words = _name_words(buyer)
        if not words:
            return np.zeros(len(rows))
        if self._buyer_words is None:
            self._index_buyer_words()
        assert self._buyer_words is not None
        index, names = self._buyer_words
        weights = {w: float(np.log((names + 1) / (len(index[w]) if w in index else 0.5))) for w in words}
        total = sum(weights.values())
        out = np.zeros(len(self.participants))
        for word, weight in weights.items():
            if word in index:
                out[index[word]] += weight
        return out[rows] / total if total > 0 else np.zeros(len(rows))

    def _index_buyer_words(self) -> None:
        """Each word of a past buyer's name -> the rows of the firms that worked for such a buyer."""
        lists: dict[str, set[int]] = {}
        names: set[str] = set()
        for row, p in enumerate(self.participants):
            for project in p.projects:
                key = buyer_key(project.buyer)
                if key:
                    names.add(key)
                    for word in _name_words(key):
                        lists.setdefault(word, set()).add(row)
        self._buyer_words = ({w: np.array(sorted(r), dtype=np.int64) for w, r in lists.items()}, len(names))

    def buyer_counts(self, buyer: str | None) -> np.ndarray:
        """For every firm, how many of its past projects were for this buyer."""
        out = np.zeros(len(self.participants))
        for row, n in self._buyers.get(buyer_key(buyer), {}).items():
            out[row] = n
        return out
