"""The FastAPI application: the JSON API, the page, the guards, and errors as JSON.

Example:
    >>> from matcher import Matcher
    >>> from matcher.web import create_app
    >>> app = create_app(Matcher.open("my-cluster"), api_key="s3cret", rate_limit=120)  # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)                     # doctest: +SKIP

Rotating a key: ``api_key=read_api_keys("keys.txt")`` with the old and the new key, then the new one only.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher import __version__
from matcher.errors import (
    InputError,
    MatcherError,
)
from matcher.search import Matcher
from matcher.web.errors import ApiError, error_field, public_message, status_for
from matcher.web.guards import (
    ApiKeyGuard,
    BodyLimit,
    OriginCheck,
    RateLimit,
    SecurityHeaders,
    SlidingWindow,
    security_headers,
)
from matcher.web.keys import KeyRing
from matcher.web.language import Language
from matcher.web.logs import Observe
from matcher.web.metrics import Metrics
from matcher.web.ratestore import SharedWindow, Window
from matcher.web.service import Service
from matcher.web.swap import Follower, SwapFailure

log = logging.getLogger("matcher.web")

MAX_BODY_BYTES = 1_000_000
DEFAULT_RATE_LIMIT = 120  # requests per minute per client address; 0 turns the limit off
OPEN_PATHS = ("/health", "/ready", "/ui/key")  # reachable without the API key: probes, the key form
CORS_METHODS = ["GET", "POST"]
CORS_HEADERS = ["X-API-Key", "Content-Type"]

_ORIGIN_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


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
        message = public_message(str(exc), request.app.state.follower.workspace.root)
        return _error(status, message, error_field(message))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path", "body", "header")]
        field = ".".join(loc) or None
        return _error(422, f"{field or 'request'}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if exc.status_code in (404, 405) and (path == "/" or path.startswith("/ui/")):
            from matcher.web.pages import missing_page  # a person's browser: the page, saying what is wrong

            return missing_page(request, exc.status_code, getattr(exc, "headers", None))
        return _error(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Starlette answers this one outside every middleware, SecurityHeaders included.
        headers = security_headers(no_store=request.app.state.keys is not None)
        return _error(500, "internal error; the server log has the details", headers=headers)


def _cors_origins(origins: Sequence[str]) -> list[str]:
    if isinstance(origins, str):
        origins = [origins]
    for origin in origins:
        if not isinstance(origin, str) or not _ORIGIN_RE.fullmatch(origin):
            raise InputError(
                f"a CORS origin is a scheme and a host, e.g. https://app.example.org or http://localhost:3000 "
                f"(no path, no trailing /, no *), got {str(origin)[:100]!r}"
            )
    return list(dict.fromkeys(origins))


def create_app(
    matcher: Matcher,
    api_key: str | Sequence[str] | None = None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    cors_origins: Sequence[str] = (),
    clock: Callable[[], float] | None = None,
    follow_s: float | None = None,
    shared_rate_limit: Path | None = None,
) -> FastAPI:
    """The web app over an opened Matcher: JSON API (spec at /openapi.json) and the page at /.

    Args:
        matcher: the index to serve first.
        api_key: when set, every request but /health, /ready and /ui/key (the page's key form;
            OPEN_PATHS) needs it in the X-API-Key header (401 otherwise), and the page's forms need
            its CSRF token. Several keys (a list) while
            rotating: any of them is accepted (see :func:`matcher.web.keys.read_api_keys` for a key file).
        rate_limit: requests per minute per client address (429 with Retry-After beyond); 0 for none.
            Requests with a wrong key count too, so that keys cannot be guessed at speed.
        max_body_bytes: larger request bodies get 413, uploads to the page included.
        cors_origins: web apps on these origins (e.g. ``["https://app.example.org"]``) may call the
            API from a browser (GET and POST, the X-API-Key and Content-Type headers, no cookies).
            None by default: a page of another site cannot read any answer.
        clock: seconds, for the rate limit's window (tests pass a fake one).
        follow_s: while the app runs (its lifespan), read the workspace's CURRENT every this many
            seconds and swap in each newly published version (:mod:`matcher.web.swap`); None:
            serve ``matcher``'s version only. ``app.state.follower.check()`` polls once by hand.
        shared_rate_limit: keep the rate limit's window in this SQLite file, shared by the
            worker processes of one server (:mod:`matcher.web.ratestore`), instead of in memory.
    """
    from matcher.web import api, member, pages

    keys = KeyRing.of(api_key)
    origins = _cors_origins(cors_origins)
    if rate_limit < 0 or max_body_bytes < 1:
        raise InputError(f"rate_limit must be >= 0 and max_body_bytes >= 1, got {rate_limit}, {max_body_bytes}")
    metrics = Metrics()
    matcher.observer = metrics.observe_stage
    metrics.served(matcher.version.name)

    def swapped(old: Service, new: Service, seconds: float) -> None:
        metrics.swaps.inc()
        metrics.swap_seconds.observe(seconds)
        metrics.served(new.index_version, old.index_version)

    def failed(failure: SwapFailure) -> None:
        metrics.failed_swaps.inc()

    follower = Follower(Service(matcher), on_swap=swapped, on_failure=failed, poll_s=follow_s or 1.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if follow_s is not None:
            follower.start()
        try:
            yield
        finally:
            app.state.draining = True  # /ready says 503 from now on
            follower.stop()

    app = FastAPI(
        title="matcher",
        version=__version__,
        summary="Partner and subcontractor suggestions for a cluster's members, with the reasons for each score.",
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN; the server runs offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.follower = follower
    app.state.metrics = metrics
    app.state.draining = False
    app.state.keys = keys  # the page's key form and CSRF tokens check against them
    _add_error_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(member.router)
    window: Window | None = None
    if rate_limit and shared_rate_limit is not None:
        window = SharedWindow(shared_rate_limit, rate_limit, clock=clock or time.time)
    elif rate_limit:
        window = SlidingWindow(rate_limit, clock=clock or time.monotonic)
    routes = [*api.router.routes, *pages.router.routes, *member.router.routes]
    _add_middleware(app, keys, window, origins, max_body_bytes, follower, metrics, routes, pages.key_form_html)
    return app


def _add_middleware(
    app: FastAPI,
    keys: KeyRing | None,
    window: Window | None,
    origins: list[str],
    max_body_bytes: int,
    follower: Follower,
    metrics: Metrics,
    routes: list[Any],
    key_form: Callable[..., Any],
) -> None:
    """The middleware stack, in order. Added last runs first: requests are observed (id, log line,
    metrics), the security headers go on every answer, each request runs in its language (?lang=,
    cookie, Accept-Language) and is pinned to the version served when it arrives, CORS answers
    preflights, a post from another site is refused, then the rate (wrong keys count), the key, the
    body's size."""
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if keys is not None:
        app.add_middleware(ApiKeyGuard, keys=keys, open_paths=OPEN_PATHS, key_form=key_form)
    if window is not None:
        app.add_middleware(RateLimit, window=window)
    app.add_middleware(OriginCheck, cors_origins=origins)
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=CORS_METHODS, allow_headers=CORS_HEADERS,
            allow_credentials=False, expose_headers=["Retry-After"],
        )  # fmt: skip
    app.add_middleware(PinVersion, follower=follower)
    app.add_middleware(Language)
    app.add_middleware(SecurityHeaders, no_store=keys is not None)
    app.add_middleware(Observe, metrics=metrics, routes=routes)


class PinVersion:
    """Hands each request the version served when it arrives (``request.state.service``), kept to
    its end even if a newer one is swapped in meanwhile."""

    def __init__(self, app: Any, follower: Follower):
        self.app = app
        self.follower = follower

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["service"] = self.follower.service
        await self.app(scope, receive, send)
