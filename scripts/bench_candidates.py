"""Time the per-lot candidate generation (BM25 match, code-block rows, the block cut) at one size.

For every lot of the sample's tenders and for each tender as a whole, as `suggest` ranks them:
the BM25 match (its words' best scores), the rows sharing a code block, the block cut with the
BM25 top k (:meth:`matcher.rank.pool.Pool.extra_candidates`), and the shares of the candidates;
then whole `suggest` calls. It writes a digest of every candidate set, share and top 10, so
that two runs (the code before a change and after, on the same workspace) can be compared:

    python scripts/bench_candidates.py WS --out after.json [--against before.json]

Run on an older checkout of the code (``git archive COMMIT matcher | tar -x -C /tmp/base`` and
``PYTHONPATH=/tmp/base``) for the figures before a change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from matcher.inputs.tenders import read_tender
from matcher.profiles import lot_language, lot_text, tender_text
from matcher.search import Matcher, _lot_need, _tender_need
from matcher.search.candidates import MIN_CANDIDATES
from matcher.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
TENDERS = ROOT / "data" / "sample" / "tenders"
TOP_K = 10


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


def requests(m: Matcher) -> list[tuple[str, str, object, str | None]]:
    """(name, text, need, language) of every lot of the sample's tenders and of each tender whole."""
    taxonomy = load_taxonomy()
    out = []
    for path in sorted(TENDERS.iterdir()):
        tender = read_tender(path)
        for lot in tender.lots:
            language = lot_language(lot, tender)
            out.append((f"{path.name}:{lot.id}", lot_text(lot, tender, taxonomy), _lot_need(lot, tender), language))
        language = tender.language or lot_language(tender.lots[0], tender)
        out.append((f"{path.name}:*", tender_text(tender, taxonomy), _tender_need(tender), language))
    return out


def time_lots(m: Matcher, rounds: int, forget: bool) -> tuple[dict[str, list[float]], dict[str, dict]]:
    """Per stage, the seconds of each request in each round, and each request's digest.

    With `forget`, the words' best values the BM25 postings keep across matches are forgotten
    before each tender, as in a fresh process (the CLI) that serves one tender."""
    stages: dict[str, list[float]] = {"match": [], "block rows": [], "extra candidates": [], "shares": [], "lot": []}
    digests: dict[str, dict] = {}
    wanted = max(MIN_CANDIDATES, TOP_K * 10)
    kept = getattr(m.opened.lexical._matrix(), "word_best", {})  # absent from the code before it was kept
    tender = None
    for _ in range(rounds):
        for name, text, need, language in requests(m):
            if forget and name.split(":")[0] != tender:
                kept.clear()
            tender = name.split(":")[0]
            start = time.perf_counter()
            match = m.opened.lexical.match(text, language)
            matched = time.perf_counter()
            block = m.pool.rows_sharing_block(need.codes)
            blocked = time.perf_counter()
            extra = m.pool.extra_candidates(need, match, wanted)
            extended = time.perf_counter()
            rows = np.array(sorted(extra), dtype=np.int64)
            shares = match.at(rows)
            end = time.perf_counter()
            for stage, seconds in zip(stages, (matched - start, blocked - matched, extended - blocked, end - extended)):
                stages[stage].append(seconds)
            stages["lot"].append(end - start - (blocked - matched))  # what a request pays (the cut reads the block)
            digests[name] = {
                "total": match.total,
                "block": _digest(block),
                "candidates": _digest(rows),
                "shares": _digest(shares),
                "count": len(rows),
            }
    return stages, digests


def time_suggest(m: Matcher, rounds: int, forget: bool) -> tuple[list[float], dict[str, list]]:
    """Seconds of each `suggest` call over the sample's tenders, and each lot's top 10 with scores."""
    tenders = [read_tender(p) for p in sorted(TENDERS.iterdir())]
    m.suggest(tenders[0], top_k=TOP_K)  # warm the pages and the model
    kept = getattr(m.opened.lexical._matrix(), "word_best", {})
    seconds, tops = [], {}
    for _ in range(rounds):
        for tender in tenders:
            if forget:
                kept.clear()
            start = time.perf_counter()
            result = m.suggest(tender, top_k=TOP_K)
            seconds.append(time.perf_counter() - start)
            for lot in (*result.lots, result.overall):
                tops[f"{tender.id}:{lot.lot_id}"] = [(s.participant_id, s.score) for s in lot.suggestions]
    return seconds, tops


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--against", type=Path, help="a digest written by another run: must be the same")
    parser.add_argument("--forget", action="store_true", help="forget the kept word bests before each tender")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    m = Matcher.open(args.workspace)
    opened = time.perf_counter() - start
    m.suggest(read_tender(sorted(TENDERS.iterdir())[0]), top_k=TOP_K)  # warm the pages and the model
    stages, digests = time_lots(m, args.rounds, args.forget)
    calls, tops = time_suggest(m, args.rounds, args.forget)
    report = {
        "workspace": args.workspace,
        "members": len(m.members),
        "date": date.today().isoformat(),
        "load": os.getloadavg()[0],
        "forget": args.forget,
        "open_s": opened,
        "ms_p50": {stage: statistics.median(s) * 1e3 for stage, s in stages.items()},
        "suggest_ms_p50": statistics.median(calls) * 1e3,
        "digests": digests,
        "top10": tops,
    }
    print(f"{len(m.members):,} members, load {report['load']:.2f}, open {opened:.2f} s")
    for stage, ms in report["ms_p50"].items():
        print(f"  {stage:<18} p50 {ms:8.1f} ms a request")
    print(f"  suggest call       p50 {report['suggest_ms_p50']:8.1f} ms ({len(calls)} calls)")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.against:
        before = json.loads(args.against.read_text(encoding="utf-8"))
        differ = [k for k in digests if before["digests"].get(k) != digests[k]]
        differ += [k for k in tops if [list(x) for x in before["top10"].get(k, [])] != [list(x) for x in tops[k]]]
        print(f"against {args.against}: {len(differ)} requests differ" + (f": {differ[:5]}" if differ else ""))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
