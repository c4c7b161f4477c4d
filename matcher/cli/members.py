"""Commands on members and tenders: ingest, suggest, consortium, similar, gaps."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from matcher.cli.base import _lock, _query_workspace, _show, app
from matcher.cli.options import (
    CandidatesOpt,
    ExcludeOpt,
    FormatOpt,
    GapLevel,
    MaxJointOpt,
    MaxPartnersOpt,
    MinSmeOpt,
    ModelOpt,
    OutputFormat,
    RankerChoiceOpt,
    RankerOpt,
    RegionsOpt,
    ReportFormat,
    ReportFormatOpt,
    RequireOpt,
    TeamsOpt,
    TopKOpt,
    WaitOpt,
    WorkspaceOpt,
    team_constraints,
)
from matcher.errors import InputError


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Participant tables: .csv .tsv .json .jsonl .parquet .xlsx")],
    workspace: WorkspaceOpt = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace all stored participants instead of adding/updating.")
    ] = False,
    columns: Annotated[
        Optional[list[str]],
        typer.Option(
            "--columns",
            metavar="FIELD=COLUMN,...",
            help="Which column gives which field, over the recognised headers, e.g. "
            "--columns id=ИНН,name=Наименование,codes=ОКВЭД (a field named twice takes both columns; "
            "fields: id inn ogrn name description codes activities regions headcount sme certifications kind "
            "clusters language website).",
        ),
    ] = None,
    columns_file: Annotated[
        Optional[Path],
        typer.Option(
            "--columns-file",
            help="The same as a YAML, JSON or TOML file of FIELD: COLUMN lines, e.g. --columns-file columns.yaml "
            "holding 'id: ИНН' and 'codes: [ОКВЭД основной, ОКВЭД дополнительные]'; --columns wins over it.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show how each file is read (encoding, delimiter, header rows, each column's field) and its "
            "first rows as read, and how many rows would be stored or rejected; write nothing, e.g. "
            "matcher ingest --dry-run members.csv",
        ),
    ] = False,
    wait: WaitOpt = 0.0,
    output: ReportFormatOpt = ReportFormat.table,
) -> None:
    """Validate participant tables and store their valid rows in the workspace.

    Bad rows are reported (file, row, field, reason) and written to FILE.rejects.csv beside
    each input; valid rows always load. Run `matcher index build` afterwards.

    Spreadsheets come as people keep them: the text encoding (UTF-8, cp1251, UTF-16) and the
    delimiter (, ; tab |) are detected, the header is found below a title and may take two
    rows, and Russian and English headers are recognised (ИНН, Наименование, Описание, ОКВЭД,
    Регион, Численность, Лицензии / СРО, ...). An INN gives the id RU-INN-<inn>; INN and OGRN
    check digits are checked. Exit code 3: some rows were (or, with --dry-run, would be) rejected.

    Example: matcher ingest members.csv more-members.xlsx -w my-cluster
    Example: matcher ingest --dry-run members-1251.csv
    Example: matcher ingest members.xlsx --columns "id=ИНН,name=Краткое наименование,description=Виды работ"
    Example: matcher ingest members.xlsx --columns-file columns.yaml
    """
    from matcher.build import ingest as ingest_files
    from matcher.inputs.columns import parse_columns_option, read_columns_file
    from matcher.store.workspace import resolve_workspace

    mapping = read_columns_file(columns_file) if columns_file is not None else {}
    mapping.update(parse_columns_option(columns or []))
    ws, _ = resolve_workspace(workspace)
    # a dry run reads only: no lock, nothing written
    with contextlib.nullcontext() if dry_run else _lock(ws, "ingest", wait):
        report = ingest_files(files, ws, replace=replace, columns=mapping or None, dry_run=dry_run)
    _show(report, output)
    if report.rejects:
        raise typer.Exit(3)  # partial success: scripts can tell it from a clean load


@app.command()
def suggest(
    tender: Annotated[Path, typer.Argument(help="Tender file (.yaml, .yml or .json).")],
    top_k: TopKOpt = 5,
    output: FormatOpt = OutputFormat.table,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
    ranker: RankerChoiceOpt = RankerOpt.auto,
    consortium: Annotated[bool, typer.Option("--consortium", help="Also propose teams that cover the lots.")] = False,
    teams: TeamsOpt = 3,
    max_partners: MaxPartnersOpt = 5,
    max_joint: MaxJointOpt = 3,
    min_sme_share: MinSmeOpt = 0.0,
    region: RegionsOpt = None,
    exclude: ExcludeOpt = None,
    require: RequireOpt = None,
    hide_rejected: Annotated[
        bool,
        typer.Option(
            "--hide-rejected", help="Leave out members marked not relevant for a similar lot, rather than demote them."
        ),
    ] = False,
) -> None:
    """Rank members for every lot of a tender, and for the tender as a whole.

    Each suggestion shows its score and the parts it is made of: semantic similarity, BM25,
    work for this buyer, capability-code overlap, certifications held or missing, region, and
    size vs lot value (or a trained ranker's feature contributions). With --consortium it also
    proposes teams (see `matcher consortium`). Managers' marks (`matcher feedback`) show beside
    each member; one marked not relevant for a similar lot is demoted, and the "feedback" part
    says why.

    Example: matcher suggest data/sample/tenders/bridge-reconstruction.yaml --top-k 5 --format json
    Example: matcher suggest data/sample/tenders/bridge-reconstruction.yaml --hide-rejected
    """
    from matcher.inputs.tenders import read_tender
    from matcher.search import consortium as find_teams
    from matcher.search import suggest as rank_members

    parsed = read_tender(tender)  # a bad tender fails before anything is built or loaded
    ws = _query_workspace(workspace)
    if not consortium:
        ranked = rank_members(ws, parsed, top_k=top_k, model=model, ranker=ranker.value, hide_rejected=hide_rejected)
        _show(ranked, output)
        return
    constraints = team_constraints(max_partners, min_sme_share, region, exclude, require, max_joint)
    found = find_teams(
        ws, parsed, constraints, teams=teams, candidates=max(20, top_k), model=model, ranker=ranker.value,
        hide_rejected=hide_rejected,
    )  # fmt: skip
    _show(found.top(top_k), output)  # the rankings cut to --top-k, then the teams


@app.command()
def consortium(
    tender: Annotated[Path, typer.Argument(help="Tender file (.yaml, .yml or .json).")],
    teams: TeamsOpt = 3,
    max_partners: MaxPartnersOpt = 5,
    max_joint: MaxJointOpt = 3,
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

    Each lot goes to one member holding its required certifications; a lot no member can take
    alone may be held by up to --max-joint firms whose certifications together cover it and
    whose capacities together reach its value (the holder and its co-holders or
    subcontractors, each shown with what it brings); a single holder wins whenever one can take
    the lot. Teams cover as many lots as possible, then maximise the members' fit, with at most
    --max-partners firms, at least --min-sme-share of the value to SMEs, no firm over 3x its
    largest past project, and the --region, --exclude and --require limits. Solved exactly with
    OR-Tools CP-SAT (greedy fallback); what a team lacks is said.

    Example: matcher consortium data/sample/tenders/metro-depot.yaml --max-partners 4 --min-sme-share 0.3
    """
    from matcher.inputs.tenders import read_tender
    from matcher.search import consortium as find_teams

    parsed = read_tender(tender)
    constraints = team_constraints(max_partners, min_sme_share, region, exclude, require, max_joint)
    ws = _query_workspace(workspace)
    _show(find_teams(ws, parsed, constraints, teams=teams, candidates=candidates, model=model), output)


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
    from matcher.search import similar as similar_members

    if participant_id is None and text is None:
        raise InputError('give a participant id or --text "..." to describe a firm')
    _show(similar_members(_query_workspace(workspace), participant_id, text=text, top_k=top_k, model=model), output)


@app.command()
def gaps(
    tenders: Annotated[list[Path], typer.Argument(help="Tender files (.yaml, .yml, .json or OCDS), one or more.")],
    top_k: Annotated[
        int,
        typer.Option(
            "--top-k", "-k", min=1, max=1000, help="Members ranked per lot; strong ones are counted among them."
        ),
    ] = 10,
    output: FormatOpt = OutputFormat.table,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
    ranker: RankerChoiceOpt = RankerOpt.auto,
    level: Annotated[
        GapLevel,
        typer.Option("--level", help="group: CPV group (3 digits, e.g. 452); class: CPV class (4 digits, e.g. 4523)."),
    ] = GapLevel.group,
) -> None:
    """Say which capabilities the tenders ask for that no member covers well, or only one does.

    Ranks members for every lot, then groups the lots by capability (CPV group: the first 3
    digits of each code) and counts the members that are a strong fit (fit >= 0.50) or a
    possible one (>= 0.20) for at least one of its lots: gap (no strong member), single (one:
    the cluster depends on it) or covered (two or more); gaps first.

    Example: matcher gaps tenders/*.yaml -w my-cluster --level class
    """
    from matcher.gaps import gaps as find_gaps
    from matcher.inputs.tenders import read_tender

    parsed = [read_tender(t) for t in tenders]  # a bad tender fails before anything is built or loaded
    _show(
        find_gaps(_query_workspace(workspace), parsed, top_k, model=model, ranker=ranker.value, level=level.value),
        output,
    )
