"""Errors of the web layer: the HTTP status of a library error, messages without server paths,
and the error answers each route documents.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from matcher.errors import (
    IndexCorrupt,
    IndexMissing,
    InputError,
    MatcherError,
    ModelMismatch,
    ModelNotFound,
    UnknownCode,
    UnknownParticipant,
)

_FIELD_RE = re.compile(r"field '([^']+)'")


class ApiError(Exception):
    """An answer other than 200 that a route decides on: status, what to fix, and the field."""

    def __init__(self, status: int, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


def status_for(exc: MatcherError) -> int:
    """The HTTP status of a library error: the client's fault (4xx) or the server's index (503)."""
    if isinstance(exc, UnknownParticipant):
        return 404
    if isinstance(exc, InputError | UnknownCode):
        return 422
    if isinstance(exc, IndexMissing | IndexCorrupt | ModelMismatch | ModelNotFound):
        return 503
    return 400


def error_field(message: str) -> str | None:
    """The field a tender error names ("..., field 'lots[0].codes': ...")."""
    m = _FIELD_RE.search(message)
    return m.group(1) if m else None


def public_message(message: str, workspace_root: Path) -> str:
    """A library message without the server's folders: clients need not know where the index lives."""
    for form in {str(workspace_root), str(workspace_root.resolve())}:
        message = message.replace(form, "the served workspace")
    return message


def openapi_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents, all in the ErrorOut shape."""
    from matcher.web.models import ErrorOut

    meaning = {
        400: "A request the server cannot read (e.g. a bad Content-Length)",
        401: "The API key is missing or wrong (when the server has one)",
        404: "No such member in the index",
        413: "The request body is over the size limit",
        415: "The body is neither JSON nor YAML",
        422: "A parameter or a field of the tender is invalid; `field` names it",
        429: "Over the rate limit; Retry-After says when to try again",
        500: "A bug: the server log has the details",
        503: "The index cannot serve (missing, corrupt, or built with another model)",
    }
    return {s: {"model": ErrorOut, "description": meaning[s]} for s in statuses}
