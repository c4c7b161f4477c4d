"""Commands on procurement history: import-ocds, eval, train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from matcher.cli.base import _lock, _note, _ProgressBar, _show, app
from matcher.cli.options import (
    BackendOpt,
    EvalFormat,
    JsonOpt,
    ModelOpt,
    ReportFormat,
    ReportFormatOpt,
    WaitOpt,
    WorkspaceOpt,
)
from matcher.errors import InputError


@app.command("import-ocds")
def import_ocds_command(
    files: Annotated[list[Path], typer.Argument(help="OCDS files: packages, releases, records, JSON Lines; .gz too.")],
    workspace: WorkspaceOpt = None,
    wait: WaitOpt = 0.0,
    output: ReportFormatOpt = ReportFormat.table,
) -> None:
    """Import procurement history (OCDS) into the workspace: tenders, lots, awards, suppliers.

    Every supplier then becomes a participant with its won contracts as track record, merged
    into the registry member it is (same identifier, or same name) at the next
    `matcher index build`. Records that cannot be read are reported and written to
    FILE.rejects.jsonl beside each input; the rest loads.

    Example: matcher import-ocds releases-2019-2023.jsonl -w my-cluster
    """
    from matcher.inputs.ocds import HISTORY_DIR, import_ocds
    from matcher.results import ImportReport
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "import-ocds", wait):
        tables = import_ocds(files, ws)
    report = ImportReport.from_tables(ws.root, ws.root / HISTORY_DIR, tables)
    _show(report, output)
    if report.rejects:
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
    json_output: JsonOpt = False,
    method: Annotated[
        Optional[list[str]], typer.Option("--method", "-m", help="Only these methods (repeatable).")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=100, help="Bootstrap resamples for the intervals.")
    ] = 1000,
    model: ModelOpt = None,
    backend: BackendOpt = "auto",
) -> None:
    """Measure how often the right supplier is suggested, against baselines, on real award history.

    Profiles are built from awards dated before --cutoff; every tender after it is a query
    whose right answers are its awarded suppliers. Reports Recall@1/5/10, MRR@10 and nDCG@10
    with 95% bootstrap intervals, for warm tenders (winner has history) and for all.

    Example: matcher eval ../shared/data/secop-works/releases-2019-2023.jsonl --cutoff 2023-01-01
    """
    from datetime import date as Date

    from matcher.eval.evaluation import evaluate_files

    try:
        day = Date.fromisoformat(cutoff)
    except ValueError:
        raise InputError(f"--cutoff {cutoff!r} is not a date; write it like 2023-01-01") from None
    with _ProgressBar("Embedding") as update:
        report, rejects = evaluate_files(
            files, day, model=model, backend=backend, methods=method, bootstrap=bootstrap,
            progress=lambda name: _note(f"ranking: {name}"), embed_progress=update,
        )  # fmt: skip
    if rejects:
        _note(f"{len(rejects)} records could not be read and were skipped; first: {rejects[0]}")
    _show(report, output, json_output)


@app.command()
def train(
    files: Annotated[
        Optional[list[Path]], typer.Argument(help="OCDS history [default: the workspace's import].")
    ] = None,
    workspace: WorkspaceOpt = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Leave out awards from this date on.")] = None,
    kind: Annotated[
        Optional[str],
        typer.Option(
            "--kind",
            help="linear (pairwise logistic regression) or lightgbm (LightGBM lambdarank) [default: linear, "
            "the better by warm R@10 on the SECOP split of docs/evaluation.md].",
        ),
    ] = None,
    feedback: Annotated[
        bool, typer.Option("--feedback/--no-feedback", help="Learn from the managers' marks too (`matcher feedback`).")
    ] = True,
    output: ReportFormatOpt = ReportFormat.table,
) -> None:
    """Train a learned ranker on award history; `suggest` then uses it in this workspace.

    Each past tender becomes a query whose features use only the history before its quarter;
    negatives come from the same candidate rule that serves queries. Saves
    WORKSPACE/models/ranker.json (JSON coefficients, or LightGBM's text model inside the JSON;
    no pickle); `suggest --ranker hand` ignores it. Each lot with managers' marks is a query too:
    shortlisted, contacted and won members are positives, not relevant and lost ones negatives
    (the calibration of the fit stays on awards only).

    Example: matcher train -w my-cluster
    """
    from datetime import date as Date

    from matcher.rank.trained import DEFAULT_KIND, KINDS
    from matcher.results import TrainReport
    from matcher.store.workspace import resolve_workspace
    from matcher.train import train

    kind = kind or DEFAULT_KIND
    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: choose from {', '.join(KINDS)}")
    ws, _ = resolve_workspace(workspace)
    day = None
    if until:
        try:
            day = Date.fromisoformat(until)
        except ValueError:
            raise InputError(f"--until {until!r} is not a date; write it like 2023-01-01") from None
    with _ProgressBar("Embedding") as update:
        ranker, path = train(
            ws, files or (), until=day, kind=kind, progress=_note, embed_progress=update,  # type: ignore[arg-type]
            use_feedback=feedback,
        )  # fmt: skip
    _show(TrainReport.from_ranker(ranker, path), output)
