"""The `opportunities` section of scripts/bench.py: a feed of N lots over a synthetic workspace.

A feed of ``lots`` lots (4 per tender) is written as one OCDS JSON Lines file of releases, the
way a daily export comes; each lot asks for one to three CPV codes that a synthetic firm holds,
in one of its regions, so the feed looks like the cluster's own work. The workspace is copied
(without its embedding cache) so that the record of what was reported starts empty and the
bench workspace is left as it was. Then `opportunities` runs twice over the same feed: the first
run reports, the second must report nothing new. The section goes into docs/benchmarks.md between
its own markers (scripts/doc_sections.put_section), so the other sections stay as they are.

Run alone: .venv/bin/python scripts/bench.py --opportunities /tmp/matcher-bench/ws-10000 --feed-lots 1000
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

from doc_sections import put_section

SECTION = "opportunities"


def write_feed(workspace: Path, path: Path, lots: int, seed: int = 7) -> int:
    """An OCDS JSON Lines feed of `lots` lots drawn from the workspace's members' codes and regions."""
    import polars as pl

    from matcher.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    firms = pl.read_parquet(workspace / "participants.parquet", columns=["codes", "regions"]).to_dicts()
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tenders = (lots + 3) // 4
    made = 0
    with path.open("w", encoding="utf-8") as out:
        for t in range(tenders):
            ocid = f"ocds-bench-{t:05d}"
            tender_lots, items = [], []
            region = None
            for n in range(min(4, lots - made)):
                firm = rng.choice(firms)
                codes = rng.sample(firm["codes"], min(len(firm["codes"]), rng.randint(1, 3))) or ["45000000-7"]
                region = region or (firm["regions"] or ["RU-SPE"])[0]
                labels = [taxonomy.label(c, "en") for c in codes]
                lot_id = str(n + 1)
                tender_lots.append({
                    "id": lot_id,
                    "title": labels[0].capitalize(),
                    "description": f"{'; '.join(labels)} in {region}, with design documentation and handover.",
                    "value": {"amount": rng.choice([5, 20, 80, 300, 1200]) * 1_000_000, "currency": "RUB"},
                })  # fmt: skip
                items += [
                    {"id": f"{lot_id}-{i}", "relatedLot": lot_id, "classification": {"scheme": "CPV", "id": c[:8]}}
                    for i, c in enumerate(codes)
                ]
                made += 1
            day = f"2026-12-{1 + t % 28:02d}"
            release = {
                "ocid": ocid, "id": f"{ocid}-tender", "date": f"{day}T09:00:00Z", "tag": ["tender"],
                "initiationType": "tender", "buyer": {"name": f"Buyer {t % 40}"},
                "tender": {
                    "id": f"BENCH-{t:05d}", "title": f"{tender_lots[0]['title']} and related works",
                    "tenderPeriod": {"startDate": f"{day}T09:00:00Z", "endDate": "2027-02-15T12:00:00Z"},
                    "lots": tender_lots, "items": items,
                },
            }  # fmt: skip
            out.write(json.dumps(release, ensure_ascii=False) + "\n")
    return made


def run(source: Path, workdir: Path, lots: int, out: Path, command: str, machine: str) -> dict:
    """Both runs over a fresh copy of `source`; writes the section into `out` and returns the figures."""
    from matcher.opportunities import opportunities
    from matcher.search import Matcher
    from matcher.store.workspace import Workspace

    copy = workdir / f"opps-{source.name}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("cache"))
    feed = workdir / "opps-feed" / "export.jsonl"
    made = write_feed(copy, feed, lots)
    stages: dict[str, float] = {"embed": 0.0, "rank": 0.0}

    def observe(stage: str, seconds: float) -> None:
        stages[stage] = stages.get(stage, 0.0) + seconds

    start = time.perf_counter()
    matcher = Matcher.open(Workspace(copy))
    matcher.observer = observe
    opened = time.perf_counter() - start
    start = time.perf_counter()
    first = opportunities(copy, [feed], matcher=matcher)
    first_s = time.perf_counter() - start
    first_stages = dict(stages)
    stages.update(embed=0.0, rank=0.0)
    start = time.perf_counter()
    second = opportunities(copy, [feed], matcher=matcher)
    second_s = time.perf_counter() - start
    # the target, checked before any figure is written: a rerun over the same feed reports nothing new
    if second.count != 0 or second.already_reported != first.count:
        raise RuntimeError(
            f"the second run over the same feed reported {second.count} new (member, lot) pairs and "
            f"{second.already_reported} already reported; expected 0 new and the first run's {first.count}"
        )
    members = len(matcher.members)
    figures = {
        "members": members, "lots": first.lots, "tenders": first.tenders, "made": made, "open_s": round(opened, 2),
        "first_s": round(first_s, 1), "embed_s": round(first_stages["embed"], 1),
        "rank_s": round(first_stages["rank"], 1),
        "second_embed_s": round(stages["embed"], 1), "second_rank_s": round(stages["rank"], 1),
        "reported": first.count, "members_reported": len(first.members), "second_s": round(second_s, 1),
        "second_new": second.count, "second_already": second.already_reported, "model": matcher.model_name,
        "cpus": os.cpu_count(),
    }  # fmt: skip
    load = os.getloadavg()[0]
    body = "\n".join([
        "## Tenders for members (`matcher opportunities`)",
        "",
        f"Measured by `{command}` on {machine} (load average {load:.1f} at the end: the cores were shared).",
        f"A feed of {first.lots:,} lots in {first.tenders:,} tenders (one OCDS JSON Lines file of releases, "
        f"lots drawn from the members' own codes and regions) over {members:,} synthetic members "
        f"({matcher.model_name}, real vectors); every lot's top {first.top_k} with calibrated fit, "
        f"fit ≥ {first.min_fit:.2f} reported.",
        "",
        "| run | wall | embedding the lots | ranking the lots | reported (member, lot) | members | new |",
        "|---|---|---|---|---|---|---|",
        f"| first | {first_s:.1f} s | {figures['embed_s']} s | {figures['rank_s']} s | {first.count:,} | "
        f"{len(first.members):,} | {first.count:,} |",
        f"| second, same feed | {second_s:.1f} s | {figures['second_embed_s']} s | {figures['second_rank_s']} s | "
        f"{second.already_reported:,} already reported | "
        f"{len(second.members)} | **{second.count}** |",
        "",
        f"Opening the index: {opened:.2f} s. Both runs rank every lot again (the second finds the same "
        "pairs and reports none of them: the record is `opportunities.sqlite3` in the workspace); "
        "the rest of a run's wall is reading the feed (OCDS compiled per ocid) and the record.",
    ])  # fmt: skip
    put_section(out, SECTION, body)
    return figures
