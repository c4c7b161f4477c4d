"""`matcher opportunities`: the lots of new tenders that fit each member, and whom it could team with."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from matcher.cli.base import _note, _query_workspace, _show, app
from matcher.cli.options import FormatOpt, ModelOpt, OutputFormat, RankerChoiceOpt, RankerOpt, WorkspaceOpt


@app.command()
def opportunities(
    feed: Annotated[
        list[Path],
        typer.Argument(help="OCDS files (releases, records, packages; .json .jsonl .gz), tender files, or folders."),
    ],
    member: Annotated[
        Optional[str], typer.Option("--member", help="Only this member's lots, scored on every lot.")
    ] = None,
    since: Annotated[
        Optional[datetime],
        typer.Option("--since", formats=["%Y-%m-%d"], help="Only tenders published (else due) on or after DATE."),
    ] = None,
    min_fit: Annotated[
        float, typer.Option("--min-fit", min=0.0, max=1.0, help="Lowest fit reported (0.20: the possible band).")
    ] = 0.20,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=1000, help="Members ranked per lot.")] = 20,
    partners: Annotated[int, typer.Option("--partners", min=0, max=20, help="Partners shown per lot.")] = 3,
    report_all: Annotated[bool, typer.Option("--all", help="Report again what earlier runs reported.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Do not remember what this run reports.")] = False,
    digest: Annotated[
        Optional[Path], typer.Option("--digest", help="Also write one HTML digest per member into this folder.")
    ] = None,
    output: FormatOpt = OutputFormat.table,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
    ranker: RankerChoiceOpt = RankerOpt.auto,
) -> None:
    """Rank for each member the new lots that fit it, with the members it could team with.

    Each lot is ranked as `suggest` ranks it (score, parts, calibrated fit); a member gets the
    lots where it is among the --top-k and its fit reaches --min-fit. What was reported is
    remembered in the workspace (opportunities.sqlite3), so a nightly rerun over the same feed
    reports nothing new; --all reports it again.

    Example: matcher opportunities exports/2026-12-01/ --since 2026-11-30 --digest digests/ -w my-cluster
    """
    from matcher.opportunities import opportunities as find
    from matcher.render.opportunities import write_digests

    report = find(
        _query_workspace(workspace), feed, member=member, since=since.date() if since else None, min_fit=min_fit,
        top_k=top_k, partners=partners, report_all=report_all, remember=not dry_run, model=model,
        ranker=ranker.value,
    )  # fmt: skip
    _show(report, output)
    if digest is not None:
        written = write_digests(report, digest)
        _note(f"{len(written)} digest{'s' if len(written) != 1 else ''} written to {digest}")
