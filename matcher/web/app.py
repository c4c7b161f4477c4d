"""The FastAPI application: the JSON API, the page, the guards, and errors as JSON.

Example:
    >>> from matcher import Matcher
    >>> from matcher.web import create_app
    >>> app = create_app(Matcher.open("my-cluster"), api_key="s3cret", rate_limit=120)  # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)                     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher import __version__
from matcher.errors import (
    InputError,
    MatcherError,
)
from matcher.search import Matcher
from matcher.web.errors import ApiError, error_field, public_message, status_for
from matcher.web.guards import ApiKeyGuard, BodyLimit, RateLimit, SlidingWindow
from matcher.web.service import Service

log = logging.getLogger("matcher.web")

MAX_BODY_BYTES = 1_000_000
DEFAULT_RATE_LIMIT = 120  # requests per minute per client address; 0 turns the limit off
OPEN_PATHS = ("/health", "/ui/key")  # reachable without the API key: liveness probes, the key form

_KEY_RE = re.compile(r"[A-Za-z0-9._~+/=:@!$%^&*-]+")  # travels in a header and a cookie unquoted


def _error(status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.detail, exc.field)

    @app.exception_handler(MatcherError)
    async def matcher_error(request: Request, exc: MatcherError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("the index cannot serve: %s", exc)
        message = public_message(str(exc), request.app.state.service.matcher.workspace.root)
        return _error(status, message, error_field(message))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path", "body", "header")]
        field = ".".join(loc) or None
        return _error(422, f"{field or 'request'}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")


def create_app(
    matcher: Matcher,
    api_key: str | None = None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The web app over an opened Matcher: JSON API (spec at /openapi.json) and the page at /.

    Args:
        matcher: the index to serve, opened once.
        api_key: when set, every request but /health needs it in the X-API-Key header (401 otherwise).
        rate_limit: requests per minute per client address (429 with Retry-After beyond); 0 for none.
        max_body_bytes: larger request bodies get 413.
        clock: seconds, for the rate limit's window (tests pass a fake one).
    """
    from matcher.web import api, pages

    if api_key is not None and not _KEY_RE.fullmatch(api_key):
        raise InputError(
            "the API key must be letters, digits and . _ ~ + / = : @ ! $ % ^ & * - (no spaces, quotes or ;), "
            "e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
        )
    if rate_limit < 0 or max_body_bytes < 1:
        raise InputError(f"rate_limit must be >= 0 and max_body_bytes >= 1, got {rate_limit}, {max_body_bytes}")
    app = FastAPI(
        title="matcher",
        version=__version__,
        summary="Partner and subcontractor suggestions for a cluster's members, with the reasons for each score.",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN; the server runs offline
        redoc_url=None,
    )
    app.state.service = Service(matcher)
    app.state.api_key = api_key  # the page's key form checks what a person types against it
    _add_error_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    # Added last runs first: the key is checked, then the rate, then the body's size.
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if rate_limit:
        app.add_middleware(RateLimit, window=SlidingWindow(rate_limit, clock=clock))
    if api_key is not None:
        app.add_middleware(ApiKeyGuard, api_key=api_key, open_paths=OPEN_PATHS, key_form=pages.key_form_html)
    return app
