"""The candidate pool: firms prepared for scoring many at once, and the top-k cut.

:class:`Pool` holds what every ranker reads of a firm as arrays, saved with each index version and
memory-mapped when it is opened (codes as a :class:`CodeMatrix`,
largest and typical project values, buyers, regions, certifications) and the rule that adds
candidates besides the dense neighbours (:meth:`Pool.extra_candidates`).
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matcher.errors import REBUILD, IndexCorrupt
from matcher.index.bm25 import fold
from matcher.index.bm25_match import LexicalMatch, top_k_rows, union_by_mark, unique_sorted
from matcher.rank.need import Need, buyer_key
from matcher.rank.parts import NEUTRAL, holds_certification, region_covers
from matcher.schema import Participant
from matcher.store.files import atomic_path, atomic_write_text
from matcher.store.members import MemberList, Members
from matcher.taxonomy import code_tree, level_scores, significant

# Firms sharing a code block with a request that join the candidates at most (see Pool.extra_candidates).
BLOCK_CANDIDATES = 2000


class CodeMatrix:
    """Every code of a set of firms as digit arrays, to score many firms against a code at once.

    Gives exactly the scores of :func:`matcher.taxonomy.match_code`, vectorised: for each tree
    scheme a (codes × 8) digit matrix and where each firm's codes start in it (codes of one firm
    are contiguous, firm after firm), and for codes outside the trees the rows holding each.
    Built from the firms' code lists (:meth:`from_codes`) or from the arrays a version saved.
    """

    def __init__(self, n: int, trees: dict[str, tuple[np.ndarray, np.ndarray]], plain: dict[str, np.ndarray]):
        self.n = n
        self._trees = trees  # scheme -> (digit matrix, starts: n + 1)
        self._plain = plain  # code -> rows holding it
        self._scores = {scheme: np.array([*level_scores(scheme), 1.0]) for scheme in self._trees}

    @classmethod
    def from_codes(cls, code_lists: Sequence[Sequence[str]]) -> CodeMatrix:
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
        n = len(code_lists)
        arrays = {}
        for scheme, (owners, digits) in trees.items():
            held = np.array(owners, dtype=np.int64)
            # every tree code has 8 digits (taxonomy.code_tree): one byte string, not 8 ints per code
            matrix = (np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)
            arrays[scheme] = (matrix.reshape(len(digits), 8), np.searchsorted(held, np.arange(n + 1)))
        return cls(n, arrays, {code: np.array(rows, dtype=np.int64) for code, rows in plain.items()})

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
        first = np.asarray(starts[rows])  # read once from the mapping
        counts = np.asarray(starts[rows + 1]) - first
        ends = np.cumsum(counts)
        if not ends[-1]:
            return out
        positions = np.repeat(first, counts) + np.arange(ends[-1]) - np.repeat(ends - counts, counts)
        want = significant(scheme, digits)
        target = np.array([int(c) for c in want], dtype=np.int8)
        same = np.asarray(matrix[positions, : len(want)]) == target
        # leading digits shared: where the first differing digit is (argmin of a boolean row), and
        # index len(table)-1, which holds 1.0, where none differs: the firm's code lies under (or
        # is) the requested one. A cumulative product over the digits gave the same, at twice the cost.
        common = np.where(same.all(axis=1), len(self._scores[scheme]) - 1, np.argmin(same, axis=1))
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


# The code blocks of Pool.rows_sharing_block: CPV class / UNSPSC family, the first 4 digits.
BLOCK_DIGITS = 4
# rows_sharing_block unites blocks holding more than one firm in this many by a mark per firm, fewer
# by a sort (np.unique over the 550,000 rows of a tender's blocks at 1M firms took 730 ms)
UNION_BY_MARK = 16
POOL_FILE = "pool.json"  # a version's pool: the vocabularies and the layout of the arrays in POOL_DATA
POOL_DATA = "pool.bin"


def _csr(lists: dict[str, list[int]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Keys, offsets and the rows of each key (ascending, unique), as one compressed-row array."""
    keys = sorted(lists)
    rows = [np.unique(np.array(lists[k], dtype=np.int64)) for k in keys]
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    return keys, offsets, np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


def _per_firm(cells: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each firm's strings (regions, certifications) as ids into one vocabulary: vocabulary, offsets, ids."""
    vocabulary: dict[str, int] = {}
    ids = [vocabulary.setdefault(x, len(vocabulary)) for cell in cells for x in cell]
    offsets = np.zeros(len(cells) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(cell) for cell in cells])
    return list(vocabulary), offsets, np.array(ids, dtype=np.int32)


class Pool:
    """Firms prepared for scoring many at once: what every ranker reads of a firm, as arrays.

    Built from members in memory (``Pool(participants)``, as the evaluation and training do) or
    opened from a version's files (:meth:`load`), memory-mapped: a million-firm pool opens in
    milliseconds and holds no Python object per firm. Every array is indexed by member row; the
    maps from a code block, a buyer or a buyer's name word to firms are compressed rows (keys,
    offsets, rows). :attr:`members` builds a firm whole when a ranking shows it.
    """

    def __init__(
        self,
        participants: Sequence[Participant] | Members,
        saved: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None,
    ):
        members = MemberList(participants) if isinstance(participants, Sequence) else participants
        arrays, vocabulary = saved if saved is not None else _arrays(members.get(np.arange(len(members))))
        self.members = members
        self._a = arrays
        self._v = vocabulary
        n = len(members)
        self.n = n
        schemes = vocabulary["schemes"]
        plain = vocabulary["plain_codes"]
        po, pr = arrays["plain.offsets"], arrays["plain.rows"]
        self.codes = CodeMatrix(
            n,
            {s: (arrays[f"codes.{i}.digits"], arrays[f"codes.{i}.starts"]) for i, s in enumerate(schemes)},
            {code: pr[po[i] : po[i + 1]] for i, code in enumerate(plain)},
        )
        self.capacity = arrays["capacity"]
        self.volume = arrays["volume"]
        self.last_year = arrays["last_year"]
        self.typical_value = arrays["typical_value"]
        self.id_rank = arrays["id_rank"]  # ties are broken by id: equal scores always come out in one order
        self._keys: dict[str, dict[str, int]] = {}

    # --- making, saving, opening ------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the pool into a version folder: every array in one file (``pool.bin``, each at an
        aligned offset) and ``pool.json``, the vocabularies and where each array lies."""
        layout: dict[str, Any] = {}
        with atomic_path(folder / POOL_DATA, durable=True) as tmp, tmp.open("wb") as f:
            for name, array in sorted(self._a.items()):
                array = np.ascontiguousarray(array)
                f.write(b"\0" * (-f.tell() % 64))
                layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": f.tell()}
                f.write(array.tobytes())
        atomic_write_text(folder / POOL_FILE, json.dumps({**self._v, "arrays": layout}, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path, members: Members) -> Pool:
        """The pool a version saved, memory-mapped (nothing is read until a query needs it)."""
        try:
            vocabulary = json.loads((folder / POOL_FILE).read_text(encoding="utf-8"))
            data = np.memmap(folder / POOL_DATA, dtype=np.uint8, mode="r")
            arrays = {}
            for name, at in vocabulary.pop("arrays").items():
                dtype, shape = np.dtype(at["dtype"]), tuple(at["shape"])
                size = int(np.prod(shape)) * dtype.itemsize
                arrays[name] = data[at["offset"] : at["offset"] + size].view(dtype).reshape(shape)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"{folder / POOL_FILE}: unreadable ({type(exc).__name__}); {REBUILD}") from None
        if len(arrays.get("capacity", ())) != len(members):
            raise IndexCorrupt(f"{folder / POOL_FILE}: does not match the members; {REBUILD}")
        return cls(members, (arrays, vocabulary))

    def __len__(self) -> int:
        return self.n

    # --- the maps -------------------------------------------------------------------------

    def _span(self, map_name: str, key: str) -> slice:
        """Where a map (blocks, buyers, words) holds one key's rows; empty for an unknown key."""
        if map_name not in self._keys:  # a few thousand keys at most: a dict, built on first use
            self._keys[map_name] = {k: i for i, k in enumerate(self._v[map_name])}
        i = self._keys[map_name].get(key)
        if i is None:
            return slice(0, 0)
        offsets = self._a[f"{map_name}.offsets"]
        return slice(int(offsets[i]), int(offsets[i + 1]))

    def _rows_of(self, map_name: str, key: str) -> np.ndarray:
        """The rows a map holds for one key, ascending."""
        return np.asarray(self._a[f"{map_name}.rows"][self._span(map_name, key)])

    def rows_sharing_block(self, codes: Sequence[str]) -> np.ndarray:
        """Firms holding a code in the same CPV class / UNSPSC family (first 4 digits) as a requested
        code: their rows, ascending (arrays, not sets: a class like 4522 holds 100,000 rows in a
        million-firm registry)."""
        keys = dict.fromkeys(f"{t[0]}:{t[1][:BLOCK_DIGITS]}" for t in map(code_tree, codes) if t is not None)
        found = [rows for rows in (self._rows_of("blocks", key) for key in keys) if len(rows)]
        if not found:
            return np.zeros(0, dtype=np.int64)
        if len(found) == 1:
            return found[0]
        if sum(len(rows) for rows in found) * UNION_BY_MARK < self.n:
            return unique_sorted(np.concatenate(found))
        # blocks of a big registry hold hundreds of thousands of rows each: a mark per firm, not a sort
        return union_by_mark(found, self.n)

    def _cells(self, name: str, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
        """The vocabulary ids of the given rows' strings (regions or certifications), the position in
        `rows` each belongs to, and how many rows."""
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.int64)
        offsets = self._a[f"{name}.offsets"]
        starts = offsets[rows]
        counts = offsets[rows + 1] - starts
        ends = np.cumsum(counts)
        total = int(ends[-1]) if len(ends) else 0
        positions = np.repeat(starts, counts) + np.arange(total) - np.repeat(ends - counts, counts)
        return np.asarray(self._a[f"{name}.ids"][positions]), np.repeat(np.arange(len(rows)), counts), len(rows)

    def region_values(self, wanted: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The region part for every firm (or the given rows): 1 serves one of `wanted`, 0 does not,
        0.5 states none."""
        ids, owner, n = self._cells("regions", rows)
        stated = np.zeros(n, dtype=bool)
        stated[owner] = True
        out = np.where(stated, 0.0, NEUTRAL)
        vocabulary = self._v["regions"]
        for region in wanted:
            covers = np.array([region_covers(s, region) for s in vocabulary], dtype=bool)
            serves = np.zeros(n, dtype=bool)
            serves[owner[covers[ids]]] = True
            out = np.where(serves, 1.0, out)
        return out

    def certification_share(self, required: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The certifications part for every firm (or the given rows): the share of `required` it holds."""
        ids, owner, n = self._cells("certifications", rows)
        held = np.zeros(n)
        vocabulary = self._v["certifications"]
        for name in required:
            if holds_certification((), name):  # nothing to hold (a blank requirement): every firm holds it
                held += 1.0
                continue
            matches = np.array([holds_certification((c,), name) for c in vocabulary], dtype=bool)
            holds = np.zeros(n, dtype=bool)
            holds[owner[matches[ids]]] = True
            held += holds
        return held / max(1, len(required))

    def buyer_rows(self, buyer: str | None) -> set[int]:
        """Firms with at least one past project for this buyer."""
        return set(self._rows_of("buyers", buyer_key(buyer)).tolist())

    def buyer_counts(self, buyer: str | None, rows: np.ndarray | None = None) -> np.ndarray:
        """For every firm (or the given rows), how many of its past projects were for this buyer."""
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.int64)
        span = self._span("buyers", buyer_key(buyer))
        found, at = _find(np.asarray(self._a["buyers.rows"][span]), rows)
        out = np.zeros(len(rows))
        out[found] = np.asarray(self._a["buyers.counts"][span])[at[found]]
        return out

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
        rows = np.asarray(rows, dtype=np.int64)
        if not words:
            return np.zeros(len(rows))
        names = int(self._v["buyer_names"])
        found = {w: self._rows_of("words", w) for w in words}
        weights = {w: float(np.log((names + 1) / (len(found[w]) or 0.5))) for w in words}
        total = sum(weights.values())
        out = np.zeros(len(rows))
        for word, weight in weights.items():
            out += weight * _find(found[word], rows)[0]
        return out / total if total > 0 else np.zeros(len(rows))


def _find(held: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of `rows` are in the ascending array `held`, and where (valid where found)."""
    if not len(held):
        return np.zeros(len(rows), dtype=bool), np.zeros(len(rows), dtype=np.int64)
    at = np.minimum(np.searchsorted(held, rows), len(held) - 1)
    return held[at] == rows, at


def _arrays(firms: Sequence[Participant]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array and vocabulary of a pool, from the firms (once per build; a million firms take seconds)."""
    arrays: dict[str, np.ndarray] = {}
    vocabulary: dict[str, Any] = {}
    _code_arrays(firms, arrays, vocabulary)
    _history_arrays(firms, arrays)
    order = np.argsort(np.array([p.id for p in firms], dtype=object), kind="stable")
    id_rank = np.empty(len(firms), dtype=np.int64)
    id_rank[order] = np.arange(len(firms))
    arrays["id_rank"] = id_rank
    for name in ("regions", "certifications"):
        vocabulary[name], arrays[f"{name}.offsets"], arrays[f"{name}.ids"] = _per_firm(
            [getattr(p, name) for p in firms]
        )
    _buyer_arrays(firms, arrays, vocabulary)
    return arrays, vocabulary


def _code_arrays(firms: Sequence[Participant], arrays: dict[str, np.ndarray], vocabulary: dict[str, Any]) -> None:
    """The code trees, the plain (tree-less) codes and the code blocks, each firm's rows by code."""
    codes = CodeMatrix.from_codes([p.codes for p in firms])
    schemes = list(codes._trees)
    for i, scheme in enumerate(schemes):
        arrays[f"codes.{i}.digits"], arrays[f"codes.{i}.starts"] = codes._trees[scheme]
    plain = sorted(codes._plain)
    arrays["plain.offsets"] = np.concatenate([[0], np.cumsum([len(codes._plain[c]) for c in plain])]).astype(np.int64)
    arrays["plain.rows"] = (
        np.concatenate([codes._plain[c] for c in plain]) if plain else np.zeros(0, dtype=np.int64)
    ).astype(np.int64)
    vocabulary["schemes"], vocabulary["plain_codes"] = schemes, plain
    blocks: dict[str, list[int]] = {}
    for row, p in enumerate(firms):
        for code in p.codes:
            tree = code_tree(code)
            if tree is not None:
                blocks.setdefault(f"{tree[0]}:{tree[1][:BLOCK_DIGITS]}", []).append(row)
    vocabulary["blocks"], arrays["blocks.offsets"], arrays["blocks.rows"] = _csr(blocks)


def _history_arrays(firms: Sequence[Participant], arrays: dict[str, np.ndarray]) -> None:
    """Per firm: its largest project (capacity), how many projects, the last year and the typical value."""
    arrays["capacity"] = np.array([p.largest_project_value or np.nan for p in firms], dtype=np.float64)
    arrays["volume"] = np.array([len(p.projects) for p in firms], dtype=np.float64)
    arrays["last_year"] = np.array(
        [max((x.year for x in p.projects if x.year), default=np.nan) for p in firms], dtype=np.float64
    )
    arrays["typical_value"] = np.array(
        [statistics.median(values) if (values := [x.value for x in p.projects if x.value]) else np.nan
         for p in firms],  # statistics: the same middle (or mean of the two) as np.median, 10x faster on a few
        dtype=np.float64,
    )  # fmt: skip


def _buyer_arrays(firms: Sequence[Participant], arrays: dict[str, np.ndarray], vocabulary: dict[str, Any]) -> None:
    """Each buyer's firms with how many of their projects were for it, and each buyer-name word's firms."""
    buyers: dict[str, list[int]] = {}
    for row, p in enumerate(firms):
        for project in p.projects:
            key = buyer_key(project.buyer)
            if key:
                buyers.setdefault(key, []).append(row)
    vocabulary["buyer_names"] = len(buyers)
    keys = sorted(buyers)
    offsets = [0]
    held_rows, held_counts = [], []
    for key in keys:
        unique, counts = np.unique(np.array(buyers[key], dtype=np.int64), return_counts=True)
        held_rows.append(unique)
        held_counts.append(counts)
        offsets.append(offsets[-1] + len(unique))
    # a buyer-name word's firms: the union of the firms of the buyers whose names hold it (by buyer,
    # not by project: a word common to many buyers of a million firms would list each project again)
    by_word: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        for word in _name_words(key):
            by_word.setdefault(word, []).append(i)
    vocabulary["words"] = sorted(by_word)
    word_rows = [np.unique(np.concatenate([held_rows[i] for i in by_word[w]])) for w in vocabulary["words"]]
    arrays["words.offsets"] = np.concatenate([[0], np.cumsum([len(r) for r in word_rows])]).astype(np.int64)
    arrays["words.rows"] = np.concatenate(word_rows) if word_rows else np.zeros(0, dtype=np.int64)
    vocabulary["buyers"] = keys
    arrays["buyers.offsets"] = np.array(offsets, dtype=np.int64)
    arrays["buyers.rows"] = np.concatenate(held_rows) if keys else np.zeros(0, dtype=np.int64)
    arrays["buyers.counts"] = (np.concatenate(held_counts) if keys else np.zeros(0, dtype=np.int64)).astype(np.int64)
