"""Commands on members and tenders: ingest, suggest, consortium, similar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from matcher.cli.base import (
    CandidatesOpt,
    ExcludeOpt,
    FormatOpt,
    MaxPartnersOpt,
    MinSmeOpt,
    ModelOpt,
    OutputFormat,
    RankerOpt,
    RegionsOpt,
    RequireOpt,
    TeamsOpt,
    TopKOpt,
    WaitOpt,
    WorkspaceOpt,
    _constraints,
    _lock,
    _note,
    _query_workspace,
    _stderr,
    _stdout,
    app,
    escape,
)
from matcher.errors import InputError


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Participant tables: .csv .tsv .json .jsonl .parquet .xlsx")],
    workspace: WorkspaceOpt = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace all stored participants instead of adding/updating.")
    ] = False,
    wait: WaitOpt = 0.0,
) -> None:
    """Validate participant tables and store their valid rows in the workspace.

    Bad rows are reported (file, row, field, reason) and written to FILE.rejects.csv beside
    each input; valid rows always load. Run `matcher index build` afterwards.

    Example: matcher ingest members.csv more-members.xlsx -w my-cluster
    """
    from matcher.build import ingest as ingest_files
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "ingest", wait):
        report = ingest_files(files, ws, replace=replace)
    for reject in report.rejects[:20]:
        _stderr().print(f"[yellow]Rejected:[/yellow] {escape(str(reject))}", soft_wrap=True)
    if len(report.rejects) > 20:
        _note(f"... and {len(report.rejects) - 20} more rejected rows")
    for path in report.rejects_files:
        _note(f"rejected rows written to {path}")
    for source, columns in report.ignored_columns.items():
        _note(f"{source}: ignored unknown columns: {', '.join(columns)}")
    typer.echo(
        f"Stored {report.total} participants in {ws.root} "
        f"({report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejects)} rejected). Next: matcher index build" + (f" -w {ws.root}" if workspace else "")
    )
    if report.rejects:
        raise typer.Exit(3)  # partial success: scripts can tell it from a clean load


@app.command()
def suggest(
    tender: Annotated[Path, typer.Argument(help="Tender file (.yaml, .yml or .json).")],
    top_k: TopKOpt = 5,
    output: FormatOpt = OutputFormat.table,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
    ranker: Annotated[
        RankerOpt, typer.Option("--ranker", help="auto: the trained ranker where `matcher train` made one.")
    ] = RankerOpt.auto,
    consortium: Annotated[bool, typer.Option("--consortium", help="Also propose teams that cover the lots.")] = False,
    teams: TeamsOpt = 3,
    max_partners: MaxPartnersOpt = 5,
    min_sme_share: MinSmeOpt = 0.0,
    region: RegionsOpt = None,
    exclude: ExcludeOpt = None,
    require: RequireOpt = None,
) -> None:
    """Rank members for every lot of a tender, and for the tender as a whole.

    Each suggestion shows its score and the parts it is made of: semantic similarity, BM25,
    work for this buyer, capability-code overlap, certifications held or missing, region, and
    size vs lot value (or a trained ranker's feature contributions). With --consortium it also
    proposes teams (see `matcher consortium`).

    Example: matcher suggest data/sample/tenders/bridge-reconstruction.yaml --top-k 5 --format json
    """
    from matcher.inputs.tenders import read_tender
    from matcher.render import write_result
    from matcher.search import Matcher

    parsed = read_tender(tender)  # a bad tender fails before anything is built or loaded
    matcher = Matcher(_query_workspace(workspace), model, ranker=ranker.value)
    if not consortium:
        write_result(matcher.suggest(parsed, top_k), output.value, _stdout())
        return
    constraints = _constraints(max_partners, min_sme_share, region, exclude, require)
    result, found = matcher.consortium(parsed, constraints, teams=teams, candidates=max(20, top_k))
    _write_teams(matcher, result, found, output, top_k)


@app.command()
def consortium(
    tender: Annotated[Path, typer.Argument(help="Tender file (.yaml, .yml or .json).")],
    teams: TeamsOpt = 3,
    max_partners: MaxPartnersOpt = 5,
    min_sme_share: MinSmeOpt = 0.0,
    region: RegionsOpt = None,
    exclude: ExcludeOpt = None,
    require: RequireOpt = None,
    candidates: CandidatesOpt = 20,
    output: FormatOpt = OutputFormat.table,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
) -> None:
    """Propose teams (a lead and partners) that together cover every lot of a tender.

    Each lot goes to one member holding its required certifications; teams cover as many lots
    as possible, then maximise the members' fit, with at most --max-partners firms, at least
    --min-sme-share of the value to SMEs, no firm over 3x its largest past project, and the
    --region, --exclude and --require limits. Solved exactly with OR-Tools CP-SAT (greedy
    fallback); what a team lacks is said.

    Example: matcher consortium data/sample/tenders/metro-depot.yaml --max-partners 4 --min-sme-share 0.3
    """
    from matcher.inputs.tenders import read_tender
    from matcher.search import Matcher

    parsed = read_tender(tender)
    matcher = Matcher(_query_workspace(workspace), model)
    constraints = _constraints(max_partners, min_sme_share, region, exclude, require)
    result, found = matcher.consortium(parsed, constraints, teams=teams, candidates=candidates)
    _write_teams(matcher, result, found, output, top_k=None)


def _write_teams(matcher, result, found, output: OutputFormat, top_k: Optional[int]) -> None:
    """Teams in the chosen format; with top_k, after the per-lot rankings (cut to top_k)."""
    from dataclasses import replace

    from matcher.render import dump_json, print_teams, print_tender, team_dicts, teams_csv, tender_dict

    names = {p.id: p.name for p in matcher.participants}
    if top_k is not None:
        lots = tuple(replace(lot, suggestions=lot.suggestions[:top_k]) for lot in result.lots)
        result = replace(
            result, lots=lots, overall=replace(result.overall, suggestions=result.overall.suggestions[:top_k])
        )
    if output is OutputFormat.json:
        data = tender_dict(result) if top_k is not None else {"tender": tender_dict(result)["tender"]}
        typer.echo(dump_json({**data, "teams": team_dicts(found, names)}))
    elif output is OutputFormat.csv:
        typer.echo(teams_csv(result, found, names), nl=False)
    else:
        console = _stdout()
        if top_k is not None:
            print_tender(result, console)
            console.print()
        print_teams(result, found, names, console)


@app.command()
def similar(
    participant_id: Annotated[Optional[str], typer.Argument(help="Id of a member in the index.")] = None,
    text: Annotated[
        Optional[str], typer.Option("--text", "-t", help="Describe a firm instead of giving an id.")
    ] = None,
    top_k: TopKOpt = 10,
    output: FormatOpt = OutputFormat.table,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
) -> None:
    """List the members most similar to a member, or to a description.

    Example: matcher similar RU-INN-7801234567
    Example: matcher similar --text "steel bridge spans and overpass repair"
    """
    from matcher.render import write_result
    from matcher.search import Matcher

    if participant_id is None and text is None:
        raise InputError('give a participant id or --text "..." to describe a firm')
    result = Matcher(_query_workspace(workspace), model).similar(participant_id, text, top_k)
    write_result(result, output.value, _stdout())
