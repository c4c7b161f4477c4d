"""Embedding throughput of the two models, measured side by side in one run (texts/s and the ratio).

Texts: the first N contract descriptions of the SECOP file (Spanish, 10-60 words each), the
kind of text `matcher eval` and a history workspace embed. Each model embeds the same texts
twice; the faster run counts (the first pays for loading and warming up).

Run: .venv/bin/python scripts/embedding_speed.py [N]   (default 256)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from matcher.embed.embedders import load_embedder

ROOT = Path(__file__).resolve().parents[1]
SECOP = ROOT.parent / "shared" / "data" / "secop-works" / "releases-2019-2023.jsonl"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    texts = []
    with SECOP.open(encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["tender"]["description"])
            if len(texts) == n:
                break
    rates = {}
    for name in ("minilm", "e5"):
        embedder = load_embedder(name)
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            embedder.encode(texts)
            best = min(best, time.perf_counter() - start)
        rates[embedder.name] = len(texts) / best
    print(f"{len(texts)} SECOP contract texts, {os.cpu_count()} cores")
    for name, rate in rates.items():
        print(f"  {name:24s} {rate:7.1f} texts/s")
    minilm, e5 = rates.values()
    print(f"  multilingual-e5-small is {minilm / e5:.1f}x slower than all-MiniLM-L6-v2")


if __name__ == "__main__":
    main()
