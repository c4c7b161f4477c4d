"""Commands on the index: index build, refresh, index status, index rollback."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from matcher.cli.base import _lock, _note, _ProgressBar, _show, app, index_app
from matcher.cli.options import (
    BackendOpt,
    EngineOpt,
    IndexTypeOpt,
    JsonOpt,
    KeepOpt,
    ModelOpt,
    ReportFormat,
    ReportFormatOpt,
    WaitOpt,
    WorkspaceOpt,
)
from matcher.errors import InputError


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
    backend: BackendOpt = "auto",
    index_type: IndexTypeOpt = "auto",
    output: ReportFormatOpt = ReportFormat.table,
) -> None:
    """Embed every stored participant and publish a new index version.

    The new version becomes current only after it was written, loaded back and searched;
    a failed build leaves the previous index serving. The first build of a model exports it
    to ONNX in the workspace (models/onnx) and checks it against PyTorch; queries then run
    without torch.

    Example: matcher index build -w my-cluster --backend onnx-int8 --index-type auto
    """
    from matcher.build import BuildSettings, build_index, ensure_sample_workspace
    from matcher.results import BuildReport
    from matcher.store.workspace import resolve_workspace

    if sample:
        if workspace is not None or model is not None:
            raise InputError("--sample builds the bundled sample with the default model; drop --workspace/--model")
        with _ProgressBar("Embedding") as update:
            ws = ensure_sample_workspace(progress=update)
        version = ws.current_version()
        _show(BuildReport.from_manifest(ws.root, version, ws.read_manifest(version), sample=True), output)
        return
    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "index build", wait), _ProgressBar("Embedding") as update:
        settings = BuildSettings(
            model=model or "auto", backend=backend, index_type=index_type, profile_only=profile_only, keep=keep
        )
        manifest = build_index(ws, settings, progress=update, notify=_note)
        built = ws.current_version()  # under the lock: the version this build published
    _show(BuildReport.from_manifest(ws.root, built, manifest), output)


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
    output: ReportFormatOpt = ReportFormat.table,
    json_output: JsonOpt = False,
    engine: EngineOpt = "local",
    address: Annotated[
        Optional[str],
        typer.Option(
            "--address",
            help="With --engine ray: 'auto' (a node of a running cluster) or ray://HEAD:10001; "
            "default: a private Ray instance on this machine.",
        ),
    ] = None,
) -> None:
    """Re-read the workspace's sources and publish a new index version (the nightly job).

    Re-reads the participant tables and OCDS files the workspace was built from, re-embeds only
    profiles that are new or changed, drops members that disappeared, and swaps the new version
    in atomically after loading and searching it. Killed at any point, the previous version
    keeps serving and the next run finishes the job. Exit code 0 on success, 3 when some rows
    were rejected (written beside their files), non-zero on failure.

    Example: matcher refresh -w /srv/matcher/cluster --keep 5
    Example: matcher refresh -w /srv/matcher/region --engine ray --address ray://head:10001
    """
    from matcher.refresh import refresh as run_refresh
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _ProgressBar("Embedding") as update:
        report = run_refresh(
            ws, full=full, keep=keep, wait=wait, max_removed=max_removed, progress=update, notify=_note,
            engine=engine, address=address,
        )  # fmt: skip
    _show(report, output, json_output)
    if report.rejects:
        raise typer.Exit(3)


@index_app.command("status")
def index_status(
    workspace: WorkspaceOpt = None,
    output: ReportFormatOpt = ReportFormat.table,
    json_output: JsonOpt = False,
) -> None:
    """Show the current index version, when it was built, its counts and model, what the last
    refresh changed, and whether every file still matches its checksum (exit 1 if not).

    Example: matcher index status -w my-cluster
    """
    from matcher.refresh import status
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    info = status(ws)
    _show(info, output, json_output)
    if not info.ok:
        raise typer.Exit(1)


@index_app.command("rollback")
def index_rollback(
    workspace: WorkspaceOpt = None, wait: WaitOpt = 0.0, output: ReportFormatOpt = ReportFormat.table
) -> None:
    """Serve the previous index version again (after checking its files).

    Example: matcher index rollback -w my-cluster
    """
    from matcher.results import RollbackReport
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "index rollback", wait):
        before = ws.current_version().name
        target = ws.rollback()
    _show(RollbackReport(ws.root, target.name, before), output)
