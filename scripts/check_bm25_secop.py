"""Check LexicalMatch.top(10) and .at() against the exact dense shares on the SECOP evaluation.

The pool and the query texts are those of `matcher eval` (cut-off 2023-01-01, Spanish): for
every tender after the cut-off, the top 10 by BM25 share and the shares of 2,000 rows must
be exactly those of the full array the evaluation reads (so its figures cannot move). The
pruning is forced on, though a pool this small adds every posting up (DENSE_UP_TO).

    python scripts/check_bm25_secop.py [releases.jsonl]
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from matcher.eval.split import split_history
from matcher.index import bm25_match
from matcher.index.bm25 import LexicalIndex
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.profiles import lexical_text
from matcher.rank.pool import top_k_rows

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "secop-works" / "releases-2019-2023.jsonl"


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT
    tables = read_ocds([source])
    split = split_history(contracts_from_tables(tables.tenders, tables.awards), date(2023, 1, 1))
    participants = [split.records[s].participant() for s in split.pool]
    index = LexicalIndex([lexical_text(p) for p in participants], "es")
    bm25_match.DENSE_UP_TO = 0  # prune although 1,894 firms are few enough to add every posting up
    rng = np.random.default_rng(0)
    wrong, read, total, pruned, exact = 0, 0, 0, 0.0, 0.0
    for q in split.queries:
        match = index.match(q.text)
        start = time.perf_counter()
        dense = match.dense()
        expected = top_k_rows(dense, 10)
        expected = expected[dense[expected] > 0]
        exact += time.perf_counter() - start
        start = time.perf_counter()
        pruning = index.match(q.text)  # a match of its own: top() reads a dense array it finds made
        rows, shares = pruning.top(10)
        pruned += time.perf_counter() - start
        some = rng.choice(index.n, min(2000, index.n), replace=False)
        same = np.array_equal(rows, expected) and np.array_equal(shares, dense[rows])
        wrong += not (same and np.array_equal(index.match(q.text).at(some), dense[some]))
        read, total = read + pruning.postings_read, total + pruning.postings_total
    n = len(split.queries)
    print(f"SECOP: {n} query texts over {index.n} firms; top(10) and at(2000 rows) differ from dense on {wrong}")
    print(f"postings read by top(10): {read:,} of {total:,} ({read / max(1, total):.0%})")
    print(f"ms per text: dense + top_k_rows {exact / n * 1e3:.2f}, top(10) {pruned / n * 1e3:.2f}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
