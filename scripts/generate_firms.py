"""Write a synthetic participant table of any size for benchmarks (see matcher/eval/synthetic.py).

The table has the columns of data/sample/participants.csv and loads with `matcher ingest`.
The same --seed and --rows give the same file, byte for byte; a smaller table is the first
rows of a larger one with the same seed.

Run: .venv/bin/python scripts/generate_firms.py --rows 100000 --out /tmp/firms-100k.parquet [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from matcher.errors import MatcherError
from matcher.eval.synthetic import MAX_ROWS, write_firms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help=f"number of firms (up to {MAX_ROWS:,})")
    parser.add_argument("--out", type=Path, required=True, help="output file, .parquet (or .csv)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per chunk and Parquet row group")
    args = parser.parse_args(argv)
    if args.out.suffix.lower() == ".csv" and args.rows > 200_000:
        print(f"note: a CSV of {args.rows:,} rows is large and slow to read; Parquet is smaller", file=sys.stderr)
    start = time.perf_counter()
    try:
        path = write_firms(args.out, args.rows, seed=args.seed, chunk=args.chunk)
    except MatcherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    size = path.stat().st_size / 1e6
    print(f"wrote {args.rows:,} firms to {path} ({size:.1f} MB) in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
