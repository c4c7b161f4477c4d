"""Structured logs of the server: one JSON object per line, each with the request's id.

The formatter is python-json-logger's (the stdlib ``logging`` machinery, so uvicorn's own
messages come out in the same shape). :class:`Observe` gives every request an id (the caller's
``X-Request-ID`` when it is a sane token, else a new one), sends it back in the response header,
writes one ``request`` line when the answer is sent (method, route template, path without the
query string, status, milliseconds, index version) and counts it in the metrics. Headers, query
strings and bodies are never logged: the API key travels in a header or a cookie and so never
reaches a log line.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matcher.web.metrics import Metrics

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]

log = logging.getLogger("matcher.web.request")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("matcher_request_id", default=None)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
UNMATCHED = "<unmatched>"  # the route label of a path no route took (404s): one label, not one per path


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the request being answered, or null) to every record, and drops
    uvicorn's terminal-coloured copy of its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.__dict__.pop("color_message", None)
        return True


def logging_config(level: str = "info") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of ``matcher serve``: JSON lines on stderr for matcher's
    and uvicorn's loggers (uvicorn applies it in every worker process it starts)."""
    handler = {"handlers": ["json"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "matcher.web.logs.RequestIdFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
                "timestamp": "time",  # ISO 8601 in UTC
                "json_ensure_ascii": False,
            }
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "matcher": {**handler, "level": level.upper()},
            "uvicorn": {**handler, "level": "WARNING" if level.lower() == "info" else level.upper()},
            "uvicorn.error": {**handler, "level": "INFO"},  # start, stop, workers replaced
            "uvicorn.access": {"handlers": [], "propagate": False},  # Observe writes the request lines
        },
    }


class Observe:
    """Times, counts and logs every HTTP request (see the module); the outermost middleware."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[Any] = ()):
        self.app = app
        self.metrics = metrics
        self.routes = routes  # to name the route of a request a guard answered before routing (401, 429)

    def _route(self, scope: Scope) -> str:
        from starlette.routing import Match

        route = scope.get("route")
        for candidate in self.routes if route is None else ():
            if candidate.matches(scope)[0] == Match.FULL:
                route = candidate
                break
        return getattr(route, "path", None) or UNMATCHED

    async def __call__(self, scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # what the request counts as if the app fails before it answers

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = self._route(scope)
            method = scope.get("method", "?")
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method, str(status)).observe(seconds)
            service = (scope.get("state") or {}).get("service")
            log.info(
                "request",
                extra={
                    "method": method, "route": route, "path": scope.get("path"), "status": status,
                    "ms": round(seconds * 1000, 1), "index_version": getattr(service, "index_version", None),
                },
            )  # fmt: skip
            request_id.reset(token)


def _given_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = value.decode("latin-1")
            return text if _GIVEN_ID.fullmatch(text) else None
    return None
