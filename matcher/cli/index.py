"""Commands on the index: index build, refresh, index status, index rollback."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from matcher.cli.base import (
    BackendOpt,
    EngineOpt,
    KeepOpt,
    ModelOpt,
    WaitOpt,
    WorkspaceOpt,
    _lock,
    _note,
    _ProgressBar,
    app,
    index_app,
)
from matcher.errors import InputError
from matcher.index.vectors import IndexKind


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
    index_type: Annotated[
        IndexKind,
        typer.Option(
            "--index-type",
            help="auto (exact up to 50,000 vectors, IVF above), flat (exact), ivf or hnsw (approximate, "
            "tuned to 0.98 recall@10 against exact search; the recall is stored in the manifest).",
        ),
    ] = "auto",
) -> None:
    """Embed every stored participant and publish a new index version.

    The new version becomes current only after it was written, loaded back and searched;
    a failed build leaves the previous index serving. The first build of a model exports it
    to ONNX in the workspace (models/onnx) and checks it against PyTorch; queries then run
    without torch.

    Example: matcher index build -w my-cluster --backend onnx-int8 --index-type auto
    """
    from matcher.build import BuildSettings, build_index, ensure_sample_workspace, sample_workspace
    from matcher.store.workspace import resolve_workspace

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
        settings = BuildSettings(
            model=model, backend=backend, index_type=index_type, profile_only=profile_only, keep=keep
        )
        manifest = build_index(ws, settings, progress=update, notify=_note)
    index = manifest["index"]
    recall = f", recall@10 {index['recall_at_10']:.3f} vs exact" if index["type"] != "flat" else ""
    typer.echo(
        f"Built index of {manifest['count']} participants ({manifest['vectors']} vectors) in {ws.root} "
        f"(model {manifest['model']['name']} on {manifest['model'].get('backend', 'torch')}, "
        f"dimension {manifest['dimension']}, {index['type']} index{recall})"
    )
    if manifest.get("merged_suppliers"):
        merges = ws.current_version() / "merges.csv"
        typer.echo(f"{manifest['merged_suppliers']} suppliers from the history recognised as members: see {merges}")


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
    from matcher.render import dump_json
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _ProgressBar("Embedding") as update:
        report = run_refresh(
            ws, full=full, keep=keep, wait=wait, max_removed=max_removed, progress=update, notify=_note,
            engine=engine, address=address,
        )  # fmt: skip
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
    from matcher.store.workspace import resolve_workspace

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
        typer.echo(f"embedding     {info['backend']}")
        typer.echo(f"index         {info['index']}")
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
    from matcher.store.workspace import resolve_workspace

    ws, _ = resolve_workspace(workspace)
    with _lock(ws, "index rollback", wait):
        before = ws.current_version().name
        target = ws.rollback()
    typer.echo(f"Now serving {target.name} (was {before})")
