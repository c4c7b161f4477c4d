"""The hand-weighted ranking: each suggestion's score is a weighted sum of named parts.

Every part is a value in [0, 1] with a short reason. A part the request says nothing about
(no region, no required certifications, no value) is left out and the other weights are
rescaled, so that scores stay comparable within one request and the contributions always
add up to the score. Where the request asks but the firm says nothing (no regions stated,
no past project values), the part is neutral (0.5) rather than a penalty or a reward.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from matcher.results import ScorePart, Suggestion
from matcher.schema import Participant
from matcher.taxonomy import Taxonomy, best_matches, code_tree, level_scores, load_taxonomy, significant

# Chosen on the SECOP history split (awards 2019-2022, tenders of 2023): see docs/evaluation.md.
# Certifications and region are not in that data; they keep the weight of hard requirements.
SUGGEST_WEIGHTS: dict[str, float] = {
    "semantic": 0.12,
    "lexical": 0.26,
    "buyer": 0.32,
    "codes": 0.12,
    "certifications": 0.08,
    "region": 0.06,
    "size": 0.04,
}
SIMILAR_WEIGHTS: dict[str, float] = {"semantic": 0.60, "codes": 0.30, "region": 0.10}
NEUTRAL = 0.5
# Firms sharing a code block with a request that join the candidates at most (see Pool.extra_candidates).
BLOCK_CANDIDATES = 2000
# A lot this many times larger than the firm's largest past project scores 0 on size.
SIZE_ZERO_RATIO = 20.0


@dataclass(frozen=True)
class Need:
    """What a request asks for: a lot, a whole tender, or a firm to find peers of."""

    codes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ()
    value: float | None = None
    buyer: str | None = None
    weights: dict[str, float] = field(default_factory=lambda: dict(SUGGEST_WEIGHTS))


def human_amount(value: float) -> str:
    for size, unit in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def buyer_key(name: str | None) -> str:
    """Buyers are compared by name, case and spacing ignored."""
    return " ".join((name or "").casefold().split())


def _norm_cert(name: str) -> str:
    return re.sub(r"[^0-9a-zа-яё]+", "", name.casefold())


def holds_certification(held: Sequence[str], required: str) -> bool:
    want = _norm_cert(required)
    return any(_norm_cert(h).startswith(want) for h in held) if want else True


def region_covers(served: str, wanted: str) -> bool:
    # "RU" (nationwide) covers "RU-SPE"; otherwise regions must be equal.
    return served == wanted or wanted.startswith(served + "-")


def codes_part(need: Need, firm: Participant, taxonomy: Taxonomy) -> tuple[float, str]:
    """Mean over the requested codes of the best match among the firm's codes.

    The reason reads e.g. "2/3 codes (1 exact, 1 class): Road bridge construction work; ...",
    naming the firm's codes that matched, best first.
    """
    if not firm.codes:
        return 0.0, "no codes stated"
    matches = best_matches(list(need.codes), list(firm.codes))
    value = sum(m.score for m in matches) / len(matches)
    found = sorted((m for m in matches if m.matched), key=lambda m: -m.score)
    if not found:
        return 0.0, f"0/{len(matches)} codes"
    levels: dict[str, int] = {}
    for m in found:
        level = "exact" if m.level == "covers" else m.level
        levels[level] = levels.get(level, 0) + 1
    labels = list(dict.fromkeys(taxonomy.label(m.matched) for m in found if m.matched))
    shown = "; ".join(labels[:2]) + ("; …" if len(labels) > 2 else "")
    summary = ", ".join(f"{n} {level}" for level, n in levels.items())
    return value, f"{len(found)}/{len(matches)} codes ({summary}): {shown}"


def region_part(need: Need, firm: Participant) -> tuple[float, str]:
    if not firm.regions:
        return NEUTRAL, "regions not stated"
    hit = [w for w in need.regions if any(region_covers(s, w) for s in firm.regions)]
    if hit:
        return 1.0, "serves " + ", ".join(hit)
    return 0.0, f"not in {', '.join(need.regions)} (serves {', '.join(firm.regions[:3])})"


def certifications_part(need: Need, firm: Participant) -> tuple[float, str]:
    held = [c for c in need.certifications if holds_certification(firm.certifications, c)]
    missing = [c for c in need.certifications if c not in held]
    value = len(held) / len(need.certifications)
    if not missing:
        return value, "has " + ", ".join(held)
    return value, "missing " + ", ".join(missing)


def size_part(need: Need, firm: Participant) -> tuple[float, str]:
    assert need.value is not None
    largest = firm.largest_project_value
    if not largest:
        return NEUTRAL, "no past project values to compare"
    ratio = need.value / largest
    if ratio <= 1.0:
        return 1.0, f"has done {human_amount(largest)} (value {human_amount(need.value)})"
    value = max(0.0, 1.0 - math.log(ratio) / math.log(SIZE_ZERO_RATIO))
    return value, f"value {human_amount(need.value)} is {ratio:.1f}x its largest ({human_amount(largest)})"


def buyer_part(need: Need, firm: Participant) -> tuple[float, str]:
    wanted = buyer_key(need.buyer)
    n = sum(1 for p in firm.projects if buyer_key(p.buyer) == wanted)
    if n == 0:
        return 0.0, f"no past contracts for {need.buyer}"
    return float(buyer_value(n)), f"{n} past contract{'s' if n > 1 else ''} for {need.buyer}"


def buyer_value(n: int | np.ndarray) -> float | np.ndarray:
    """1 contract 0.5, 2 contracts 0.67, 3 contracts 0.75: repeat business counts, with diminishing returns.

    In the suggest ranking this is then multiplied by the firm's lexical match to the lot."""
    return n / (n + 1.0)


def active_weights(need: Need, lexical: bool = False) -> dict[str, float]:
    """The weights of the parts that apply to this request, rescaled to sum to 1."""
    applies = {
        "semantic": True,
        "lexical": lexical,
        "buyer": bool(buyer_key(need.buyer)),
        "codes": bool(need.codes),
        "region": bool(need.regions),
        "certifications": bool(need.certifications),
        "size": need.value is not None and need.value > 0,
    }
    weights = {k: w for k, w in need.weights.items() if applies.get(k, False)}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


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

    def extra_candidates(self, need: Need, lexical: np.ndarray | None, k: int) -> set[int]:
        """Candidates besides the dense neighbours: the k best by BM25, firms sharing a code block
        with the request (at most BLOCK_CANDIDATES of them: the best by BM25, else by code match),
        and the buyer's past suppliers. Serving and training use the same rule."""
        rows = self.rows_sharing_block(need.codes)
        if len(rows) > BLOCK_CANDIDATES:  # a big registry: thousands share a class like 4522
            order = lexical[rows] if lexical is not None and len(lexical) else self.codes.mean_best(need.codes, rows)
            rows = rows[top_k_rows(order, BLOCK_CANDIDATES)]
        out = set(rows.tolist()) | self.buyer_rows(need.buyer)
        if lexical is not None and len(lexical):
            out |= {int(r) for r in top_k_rows(lexical, k) if lexical[r] > 0}
        return out

    def buyer_counts(self, buyer: str | None) -> np.ndarray:
        """For every firm, how many of its past projects were for this buyer."""
        out = np.zeros(len(self.participants))
        for row, n in self._buyers.get(buyer_key(buyer), {}).items():
            out[row] = n
        return out


def score_parts(
    need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Total score and each part's values for the given rows of the pool (vectorised).

    Args:
        dense: cosine of each row to the request's text.
        lexical: BM25 score of each row for the request's text, or None where there is none;
            scaled so that the best candidate has 1.
    """
    weights = active_weights(need, lexical is not None)
    values: dict[str, np.ndarray] = {"semantic": np.clip(np.asarray(dense, dtype=np.float64), 0.0, 1.0)}
    if "lexical" in weights:
        assert lexical is not None
        top = float(np.max(lexical)) if len(lexical) else 0.0
        values["lexical"] = np.asarray(lexical, dtype=np.float64) / top if top > 0 else np.zeros(len(rows))
    if "codes" in weights:
        values["codes"] = pool.codes.mean_best(need.codes, rows)
    if "buyer" in weights:
        values["buyer"] = np.asarray(buyer_value(pool.buyer_counts(need.buyer)[rows]), dtype=np.float64)
        if "lexical" in values:
            # Repeat business counts in proportion to how well the firm's work matches this lot
            # in words (code labels in English and Russian bridge the languages), so that a
            # buyer's usual contractor does not rise in every lot of a multi-lot tender.
            values["buyer"] = values["buyer"] * values["lexical"]
    if "region" in weights:
        values["region"] = pool.region_values(need.regions, rows)
    if "certifications" in weights:
        values["certifications"] = pool.certification_share(need.certifications, rows)
    if "size" in weights:
        assert need.value is not None
        capacity = pool.capacity[rows]
        ratio = need.value / np.where(np.isnan(capacity), 1.0, capacity)
        size = np.clip(1.0 - np.log(np.maximum(ratio, 1.0)) / math.log(SIZE_ZERO_RATIO), 0.0, 1.0)
        values["size"] = np.where(np.isnan(capacity), NEUTRAL, size)
    total = sum(values[k] * weights[k] for k in values)
    return np.asarray(total, dtype=np.float64), values


class Ranker(Protocol):
    """Scores candidates for a request. Implementations: HandWeighted here, LearnedRanker in matcher.rank.learned."""

    name: str

    def score(
        self, need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, float]]:
        """(total, values, contributions, weights) for the rows: contributions of all parts add up to total."""
        ...


class HandWeighted:
    """The weighted sum of score parts (SUGGEST_WEIGHTS, or the need's own weights)."""

    name = "hand-weighted"

    def score(
        self, need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, float]]:
        total, values = score_parts(need, pool, rows, dense, lexical)
        weights = active_weights(need, lexical is not None)
        return total, values, {k: v * weights[k] for k, v in values.items()}, weights


def reasons(need: Need, firm: Participant, names: Sequence[str], values: dict[str, float]) -> dict[str, str]:
    """The words behind each part, for one firm (computed only for the suggestions shown)."""
    taxonomy = load_taxonomy()
    out: dict[str, str] = {}
    for name in names:
        if name in ("semantic", "dense"):
            out[name] = f"cosine {values[name]:.2f}"
        elif name in ("lexical", "bm25_rel"):
            out[name] = f"BM25 {values[name]:.2f} of the best match's"
        elif name in ("buyer", "buyer_count"):
            out[name] = buyer_part(need, firm)[1]
        elif name in ("codes", "codes_exact"):
            out[name] = codes_part(need, firm, taxonomy)[1] if need.codes else "no codes asked"
        elif name == "region":
            out[name] = region_part(need, firm)[1] if need.regions else "no region asked"
        elif name == "certifications":
            out[name] = certifications_part(need, firm)[1] if need.certifications else "none required"
        elif name in ("size", "value_fit"):
            out[name] = size_part(need, firm)[1] if need.value else "no value given"
        else:
            out[name] = f"{values[name]:.3g}"
    return out


def rank(
    need: Need,
    pool: Pool,
    rows: Sequence[int] | np.ndarray,
    dense: np.ndarray,
    top_k: int,
    lexical: np.ndarray | None = None,
    ranker: Ranker | None = None,
    year: int | None = None,
) -> list[Suggestion]:
    """Score the candidate rows of the pool against the need; the best top_k, explained, best first.

    Args:
        rows: candidate positions in the pool.
        dense: cosine similarity of each candidate to the request's text, same order as rows.
        lexical: BM25 score of each candidate for the request's text (optional), same order.
        ranker: HandWeighted (the default) or a trained LearnedRanker.
        year: the year the request is for (recency features of a learned ranker).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return []
    ranker = ranker or HandWeighted()
    total, values, contributions, weights = ranker.score(need, pool, rows, np.asarray(dense), lexical, year)
    order = np.lexsort((pool.id_rank[rows], -np.round(total, 12)))[:top_k]
    out = []
    for i, k in enumerate(order):
        firm = pool.participants[rows[k]]
        mine = {name: float(v[k]) for name, v in values.items()}
        words = reasons(need, firm, list(values), mine)
        if "buyer" in values and "lexical" in values and mine["buyer"] > 0 and isinstance(ranker, HandWeighted):
            words["buyer"] += f", weighed by its BM25 match {mine['lexical']:.2f}"
        parts = tuple(
            ScorePart(
                name,
                round(mine[name], 4),
                round(weights[name], 4),
                round(float(contributions[name][k]), 4),
                words[name],
            )
            for name in values
        )
        out.append(Suggestion(i + 1, firm.id, firm.name, firm.kind, round(float(total[k]), 4), parts))
    return out
