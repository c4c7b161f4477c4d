"""BM25 per request text at scale: every posting added up (the dense shares) against LexicalMatch's
pruned top(200) plus at(2,000 rows), over synthetic firms indexed as `matcher index build` does.

    python scripts/bench_bm25.py --sizes 100000,1000000 [--firms /tmp/matcher-bench/firms-1000000.parquet]

The query texts are the sample tenders' lot texts in their languages (English, and Russian
through the translations). Indexes are kept in --workdir (built once: ~1 min per 100k firms).
Prints a table; both paths are checked to give the same rows and shares.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from matcher.index.bm25 import IMPACT_FILE, LexicalIndex
from matcher.rank.pool import top_k_rows

ROOT = Path(__file__).resolve().parents[1]
TOP, ROWS = 200, 2000


def lot_texts() -> list[tuple[str, str]]:
    from matcher.inputs.tenders import read_tender
    from matcher.profiles import lot_language, lot_text

    out = []
    for path in sorted((ROOT / "data" / "sample" / "tenders").iterdir()):
        tender = read_tender(path)
        out += [(lot_text(lot, tender), lot_language(lot, tender)) for lot in tender.lots]
    return out


def index_for(rows: int, firms: Path, workdir: Path) -> LexicalIndex:
    """The BM25 index over the first `rows` firms, built once (as the build does) and saved."""
    folder = workdir / f"idx-{rows}"
    if not (folder / IMPACT_FILE).exists():
        if not folder.exists():
            import polars as pl

            from matcher.build import participant_lexical_index
            from matcher.inputs.participants import read_participants

            part = workdir / f"firms-{rows}.parquet"
            if not part.exists():
                pl.scan_parquet(firms).head(rows).sink_parquet(part)
            print(f"building the index over {rows:,} firms", flush=True)
            index = participant_lexical_index(read_participants([part], write_rejects=False).participants)
        else:  # saved before the impact order existed
            index = LexicalIndex.load(folder, mmap=False)
        folder.mkdir(parents=True, exist_ok=True)
        index.save(folder)
    return LexicalIndex.load(folder)


def measure(index: LexicalIndex, texts: list[tuple[str, str]], rounds: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    candidates = [np.sort(rng.choice(index.n, ROWS, replace=False)) for _ in texts]
    dense_s, pruned_s, read, total = [], [], 0, 0
    for (text, language), rows in zip(texts, candidates):
        index.match(text, language).top(TOP)  # warm the pages both paths read
        for _ in range(rounds):
            start = time.perf_counter()
            shares = index.match(text, language).dense()
            best = top_k_rows(shares, TOP)
            best, at = best[shares[best] > 0], shares[rows]
            dense_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            match = index.match(text, language)
            top, top_shares = match.top(TOP)
            at_rows = match.at(rows)
            pruned_s.append(time.perf_counter() - start)
        assert np.array_equal(top, best) and np.array_equal(top_shares, shares[best]) and np.array_equal(at_rows, at)
        read, total = read + match.postings_read, total + match.postings_total
    return {
        "dense_ms": float(np.median(dense_s) * 1e3),
        "pruned_ms": float(np.median(pruned_s) * 1e3),
        "dense_mean_ms": float(np.mean(dense_s) * 1e3),
        "pruned_mean_ms": float(np.mean(pruned_s) * 1e3),
        "read": read / max(1, total),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--firms", type=Path, default=Path("/tmp/matcher-bench/firms-1000000.parquet"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bm25bench"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not args.firms.exists():
        from matcher.eval.synthetic import write_firms

        args.firms = args.workdir / f"firms-{max(sizes)}.parquet"
        if not args.firms.exists():
            write_firms(args.firms, max(sizes), seed=0)
    texts = lot_texts()
    print(f"{len(texts)} lot texts, top({TOP}) and at({ROWS} rows); ms per text, median (mean)")
    print(f"{'firms':>10} {'dense':>16} {'pruned':>16} {'ratio':>6} {'postings read':>14}")
    for rows in sizes:
        r = measure(index_for(rows, args.firms, args.workdir), texts, args.rounds)
        print(
            f"{rows:>10,} {r['dense_ms']:>7.1f} ({r['dense_mean_ms']:>6.1f}) {r['pruned_ms']:>7.1f} "
            f"({r['pruned_mean_ms']:>6.1f}) {r['dense_ms'] / r['pruned_ms']:>5.1f}x {r['read']:>13.0%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
