"""Commands on the managers' marks: feedback mark, list, remove, undo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from matcher.cli.base import _Group, _query_workspace, _show, app
from matcher.cli.options import OutputFormat, WorkspaceOpt

feedback_app = typer.Typer(
    cls=_Group,
    help=(
        "Remember what a manager decided about a suggestion: shortlisted, contacted, not relevant (and why), "
        "won, lost. Later suggestions show the marks, demote a member marked not relevant for similar lots "
        "(`suggest --hide-rejected` hides it) and `matcher train` learns from them.\n\n"
        "Example: matcher feedback mark data/sample/tenders/bridge-reconstruction.yaml --lot 1 "
        "--member RU-INN-7842227069 --status not-relevant --reason too-far"
    ),
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")

FeedbackFormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="table, json or csv.")]


@feedback_app.command("mark")
def mark(
    tender: Annotated[Path, typer.Argument(help="The tender file the suggestion was for (.yaml, .yml or .json).")],
    lot: Annotated[str, typer.Option("--lot", "-l", help="The lot's id in the tender.")],
    member: Annotated[str, typer.Option("--member", "-m", help="The member's id, as `suggest` shows it.")],
    status: Annotated[str, typer.Option("--status", "-s", help="shortlisted, contacted, not-relevant, won or lost.")],
    reason: Annotated[
        Optional[str],
        typer.Option(
            "--reason", "-r", help="Why not relevant: wrong-kind-of-work, too-small, too-far, competitor, other."
        ),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Free text kept with the mark.")] = "",
    workspace: WorkspaceOpt = None,
    output: FeedbackFormatOpt = OutputFormat.table,
) -> None:
    """Mark a member's suggestion for a lot of a tender.

    The mark keeps the lot's codes and text, so that a member marked not relevant is demoted
    for similar lots (sharing a CPV group) of later tenders too, whatever index serves them.

    Example: matcher feedback mark data/sample/tenders/bridge-reconstruction.yaml --lot 2 -m RU-INN-7801234567 -s shortlisted
    """  # noqa: E501
    from matcher.feedback import mark_lot
    from matcher.inputs.tenders import read_tender

    parsed = read_tender(tender)
    _show(mark_lot(_query_workspace(workspace), parsed, lot, member, status, reason, note=note), output)


@feedback_app.command("list")
def list_marks(
    member: Annotated[Optional[str], typer.Option("--member", "-m", help="Only this member's marks.")] = None,
    tender_id: Annotated[Optional[str], typer.Option("--tender", "-t", help="Only this tender id's marks.")] = None,
    workspace: WorkspaceOpt = None,
    output: FeedbackFormatOpt = OutputFormat.table,
) -> None:
    """List the marks, oldest first, with the id that `feedback remove` takes.

    Example: matcher feedback list --member RU-INN-7842227069 --format csv
    """
    from matcher.feedback import list_marks as find

    _show(find(_query_workspace(workspace), member, tender_id), output)


@feedback_app.command("remove")
def remove(
    mark_id: Annotated[int, typer.Argument(help="The mark's id (the # that `feedback list` shows).")],
    workspace: WorkspaceOpt = None,
    output: FeedbackFormatOpt = OutputFormat.table,
) -> None:
    """Delete one mark.

    Example: matcher feedback remove 3
    """
    from matcher.feedback import remove as delete

    _show(delete(_query_workspace(workspace), mark_id), output)


@feedback_app.command("undo")
def undo(workspace: WorkspaceOpt = None, output: FeedbackFormatOpt = OutputFormat.table) -> None:
    """Delete the newest mark.

    Example: matcher feedback undo -w my-cluster
    """
    from matcher.feedback import undo as undo_last

    _show(undo_last(_query_workspace(workspace)), output)
