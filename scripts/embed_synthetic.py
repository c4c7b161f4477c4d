"""Embed the profiles of the benchmark's synthetic firms for real, in the background, resumable.

Embeds the first N firms of ``firms-<size>.parquet`` (matcher.eval.synthetic) in order, chunk by
chunk, with all-MiniLM-L6-v2 on the int8 ONNX backend, into one embedding cache that
``scripts/bench.py`` seeds every size's workspace from (``--cache``). A killed run loses at most
the chunk in progress: the next run finds the earlier chunks in the cache and goes on. In order,
so that whatever has been embedded is a prefix: a size up to it has real vectors only.

Run (niced, so that it takes only the idle CPU):
    nice -n 19 .venv/bin/python scripts/embed_synthetic.py --rows 1000000 &
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def int8_embedder(workdir: Path):
    from matcher.embed.embedders import load_embedder
    from matcher.embed.onnx import ensure_onnx
    from matcher.inputs.sample import sample_texts

    return ensure_onnx(workdir / "onnx-ws", load_embedder(), "onnx-int8", parity_texts=sample_texts)


def profile_texts(firms: Path, start: int, rows: int) -> list[str]:
    import polars as pl

    from matcher.inputs.participants import read_participants
    from matcher.profiles import profile_vectors_texts
    from matcher.taxonomy import load_taxonomy

    part = firms.with_name(f".{firms.stem}-{start}.parquet")
    pl.scan_parquet(firms).slice(start, rows).sink_parquet(part)
    try:
        participants = read_participants([part], write_rejects=False).participants
    finally:
        part.unlink()
    taxonomy = load_taxonomy()
    return [profile_vectors_texts(p, taxonomy)[0] for p in participants]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="firms to embed (a prefix of the file)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/matcher-bench"))
    parser.add_argument("--chunk", type=int, default=25_000, help="firms embedded between two cache writes")
    args = parser.parse_args(argv)
    import polars as pl

    from matcher.embed.cache import EmbeddingCache
    from matcher.eval.synthetic import write_firms

    firms = args.workdir / "firms-1000000.parquet"
    if not firms.exists():
        write_firms(firms, 1_000_000, seed=0)
    total = min(args.rows, pl.scan_parquet(firms).select(pl.len()).collect().item())
    embedder = int8_embedder(args.workdir)
    cache = EmbeddingCache(embedder, args.workdir / "embeddings")
    for start in range(0, total, args.chunk):
        texts = profile_texts(firms, start, min(args.chunk, total - start))
        began, before = time.perf_counter(), cache.misses
        cache.encode(texts)
        done = cache.misses - before
        rate = done / max(1e-9, time.perf_counter() - began)
        print(f"{start + len(texts):,}/{total:,} firms: {done:,} embedded now ({rate:.0f}/s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
