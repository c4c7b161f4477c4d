"""The shared parts of the `matcher` command line: the app, error handling, options, progress.

Every command parses its arguments, calls one library function and renders the result;
library errors (MatcherError) become one line on stderr and a non-zero exit code here.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer
from typer.core import TyperGroup

from matcher.errors import MatcherError

if TYPE_CHECKING:
    from matcher.render import Format


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


class Lang(StrEnum):
    en = "en"
    ru = "ru"


@app.callback()
def _root(
    lang: Annotated[
        Optional[Lang],
        typer.Option(
            "--lang",
            envvar="MATCHER_LANG",
            help="Language of what matcher prints: tables, reasons, warnings, digests (ru or en; default "
            "English, and each member's digest in the member's language). "
            "Example: matcher --lang ru suggest data/sample/tenders/metro-depot-ru.ocds.json",
        ),
    ] = None,
) -> None:
    from matcher.i18n import reset_language, set_language

    if lang is None:
        reset_language()
    else:
        set_language(lang.value)


index_app = typer.Typer(
    cls=_Group, help="Build, inspect and roll back a workspace's index versions.", no_args_is_help=True
)
app.add_typer(index_app, name="index")


def _show(result: Any, output: StrEnum, json_output: bool = False) -> None:
    """Print a library result in the chosen format (--json wins, as it always has)."""
    from matcher.render import write

    fmt = "json" if json_output else output.value
    write(result, cast("Format", fmt), _stdout(), err=_stderr())


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


def _lock(ws, action: str, wait: float):
    from matcher.store.locking import WorkspaceLock

    return WorkspaceLock(ws.root, action, wait)


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
