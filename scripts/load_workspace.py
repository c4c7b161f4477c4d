"""The load test's workspace (scripts/load_test.py): built or reused, its broken version, and the
request bodies made from its firms."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import bench
import numpy as np

if TYPE_CHECKING:
    from matcher import Workspace


def prepare_workspace(rows: int, workdir: Path, cache: Path, reuse: bool) -> dict:
    """A workspace of `rows` synthetic firms, built as scripts/bench.py builds a size (its vectors
    from the shared `cache`), or with `reuse` the one built before, serving a complete version."""
    from matcher import Workspace

    saved = workdir / f"workspace-{rows}.json"
    if reuse and saved.exists():
        size = json.loads(saved.read_text())
        ws = Workspace(Path(size["workspace"]))
        problem = version_problem(ws, ws.current_version())
        if problem:  # an interrupted run can leave its broken version current
            complete = [v for v in ws.versions() if not version_problem(ws, v)]
            if not complete:
                raise SystemExit(f"{problem}; and no complete version to go back to: run without --reuse")
            bench.log(f"{problem}\n  (left by an interrupted run?) CURRENT now names {complete[-1].name}")
            ws.point_current_at(complete[-1])
        return size
    workdir.mkdir(parents=True, exist_ok=True)
    firms = bench.firms_file([workdir, cache.parent], rows)
    bench.log(f"building {rows:,} firms from {firms} in {workdir}")
    size = bench.build_size(rows, rows, workdir, firms, cache)
    bench.log(f"built in {size['ingest_s'] + size['build_s']:.0f} s; {size['embedded']:,} texts embedded")
    saved.write_text(json.dumps(size, indent=2))
    return size


def version_problem(ws: Workspace, version: Path) -> str | None:
    """Why `version` would not be served (its files against its manifest, as a server checks them), or None."""
    from matcher.errors import MatcherError

    try:
        ws.verify(version, ws.read_manifest(version))
        return None
    except MatcherError as exc:
        return str(exc)


def tender_bodies(source: Path, count: int, seed: int = 0) -> list[tuple[bytes, str]]:
    """`count` tenders of 2 to 6 lots, each lot the text and codes of a random firm of `source`
    (varied texts that the index holds answers for), then the sample tenders; checked as the
    server reads them."""
    import polars as pl

    from matcher.web.service import tender_from_bytes

    frame = pl.read_parquet(source, columns=["kind", "description", "codes", "regions"])
    rng = np.random.default_rng(seed)
    bodies = []
    for t in range(count):
        rows = [frame.row(int(r), named=True) for r in rng.choice(frame.height, rng.integers(2, 7), replace=False)]
        lots = []
        for n, row in enumerate(rows, 1):
            sentences = row["description"].split(". ")
            lots.append({"id": str(n), "title": f"{row['kind']}: {sentences[0]}"[:300],
                         "description": ". ".join(sentences[1:3]), "codes": row["codes"].split(";")[:3]})  # fmt: skip
        tender = {"id": f"LOAD-{t:04d}", "title": f"Load-test tender {t}: {rows[0]['kind']} and more",
                  "buyer": "Load-test buyer", "region": rows[0]["regions"].split(";")[0], "currency": "RUB",
                  "lots": lots}  # fmt: skip
        body = json.dumps(tender, ensure_ascii=False).encode()
        tender_from_bytes(body, f"synthetic tender {t}", ".json")  # fails here, not as 4xx under load
        bodies.append((body, "application/json"))
    return bodies + bench.sample_bodies()


def similar_texts(source: Path, count: int, seed: int = 1) -> list[str]:
    """Short firm descriptions: a kind and one sentence of a random firm each."""
    import polars as pl

    frame = pl.read_parquet(source, columns=["kind", "description"])
    rows = np.random.default_rng(seed).choice(frame.height, min(count, frame.height), replace=False)
    return [f"{frame['kind'][int(r)]}: {frame['description'][int(r)].split('. ')[-1]}" for r in rows]


def publish_broken(workspace: Path, truncate: str) -> Path:
    """The current version copied under the next version's name with `truncate` cut to half its
    size, and CURRENT pointed at it, under the writer lock as any writer holds it."""
    from matcher import Workspace
    from matcher.store.locking import WorkspaceLock

    ws = Workspace(workspace)
    with WorkspaceLock(ws.root, "load test: broken version", wait=60):
        current = ws.current_version()
        building = ws.new_version_dir()
        shutil.copytree(current, building, dirs_exist_ok=True)  # a copy: a hard link would cut the original too
        os.truncate(building / truncate, (building / truncate).stat().st_size // 2)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        final = ws.versions_dir / f"v{ws._next_sequence():06d}-{stamp}"
        os.replace(building, final)
        ws.point_current_at(final)
    return final
