"""Ranking time per `suggest` call, this checkout against another, side by side in one run.

Each round runs one child process per checkout, one after the other, on the same workspace (a
size scripts/bench.py built) and the same 47 tenders of the load test (scripts/load_workspace.py:
2-6 lots each, and the sample's). A child opens the index, embeds each tender's texts once, then
times `Matcher.suggest` with those vectors given back (ranking alone: candidates, scores,
explanations; the embedding, measured apart, is the same code in both), over 3 passes of the
tenders, and also a full `suggest` (embedding included) over one pass.

Run: .venv/bin/python scripts/bench_ranking.py --against /path/to/older/checkout [--sizes 10000,100000]
     (git worktree add /tmp/older <commit> makes one; the workspaces are bench.py's, in --workdir)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
repo, workspace, firms = sys.argv[1:4]
sys.path[:0] = [repo, repo + "/scripts"]
from pathlib import Path
import numpy as np
from load_workspace import tender_bodies
from matcher.search import Matcher
from matcher.web.service import tender_from_bytes

m = Matcher.open(Path(workspace))
bodies = tender_bodies(Path(firms), 40)
tenders = [tender_from_bytes(b, "t", ".json" if kind.endswith("json") else ".yaml") for b, kind in bodies]
for t in tenders[:3]:
    m.suggest(t, top_k=10)
full = []
for t in tenders:
    start = time.perf_counter(); m.suggest(t, top_k=10); full.append(time.perf_counter() - start)
real, memo = m.opened.embed, {}
def embed(texts):
    key = tuple(texts)
    if key not in memo:
        memo[key] = real(texts)
    return memo[key]
m.opened.embed = embed
for t in tenders:
    m.suggest(t, top_k=10)
ranking = []
for t in tenders * 3:
    start = time.perf_counter(); m.suggest(t, top_k=10); ranking.append(time.perf_counter() - start)
print(json.dumps({"ranking_ms": float(np.median(ranking)) * 1000, "suggest_ms": float(np.median(full)) * 1000,
                  "tenders": len(tenders)}))
"""


def child(repo: Path, workspace: Path, firms: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo), str(workspace), str(firms)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, required=True, help="a checkout of the code to compare with")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/matcher-bench"))
    args = parser.parse_args()
    firms = args.workdir / "firms-100000.parquet"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; this checkout against {args.against}")
    print(
        "| firms | ranking p50 ms, before | after | after / before | suggest p50 ms, before | after | after / before |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        workspace = args.workdir / f"ws-{size}"
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):  # interleaved: the machine's noise falls on both
            runs["before"].append(child(args.against, workspace, firms))
            runs["after"].append(child(ROOT, workspace, firms))
        fields = ("ranking_ms", "suggest_ms")
        med = {k: {f: statistics.median(r[f] for r in v) for f in fields} for k, v in runs.items()}
        b, a = med["before"], med["after"]
        print(
            f"| {size:,} | {b['ranking_ms']:.1f} | {a['ranking_ms']:.1f} | {a['ranking_ms'] / b['ranking_ms']:.2f} "
            f"| {b['suggest_ms']:.1f} | {a['suggest_ms']:.1f} | {a['suggest_ms'] / b['suggest_ms']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
