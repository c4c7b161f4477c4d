"""What every request passes before it reaches a route: security headers, an Origin check, a rate
limit, an API key (checked by :class:`matcher.web.keys.KeyRing`), a body size limit.

Each guard is a plain ASGI middleware so that it runs before a body is read or a route is
chosen, and answers in the JSON shape of every other error: ``{"detail": ..., "field": ...}``.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from matcher.web.ratestore import Window

if TYPE_CHECKING:
    from matcher.web.keys import KeyRing

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

API_KEY_HEADER = "X-API-Key"
API_KEY_COOKIE = "matcher_api_key"  # set by the page's key form: a browser cannot add a header to a form post
WINDOW_S = 60.0
KEY_FORM_CSP = b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"  # for answers that load nothing: JSON, errors, files
# A page's own posts must carry its Origin for OriginCheck to tell them from a forged one, and a
# browser sends "Origin: null" with every form post from a page whose policy is no-referrer. So
# pages (HTML with forms) say same-origin: no referrer leaves the site, their own posts keep it.
PAGE_REFERRER_POLICY = "same-origin"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def send_error(
    send: Send, status: int, detail: str, field: str | None = None, headers: Iterable[tuple[str, str]] = ()
) -> None:
    body = json.dumps({"detail": detail, "field": field}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key == wanted:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    raw = _header(scope, "cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"the request body is over the limit of {self.max_bytes:,} bytes; send a smaller tender"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, "content-length")
        if length is not None:
            if not length.strip().isdigit():
                await send_error(send, 400, f"Content-Length must be a number of bytes, got {length!r}")
                return
            if int(length) > self.max_bytes:
                await send_error(send, 413, self._too_large())
                return
        received = 0

        async def limited() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException passes through FastAPI's body reading untouched and is
                    # answered by the app's handler in the common error shape.
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, limited, send)


class ApiKeyGuard:
    """Requires a key in the X-API-Key header (or the page's cookie) on every path but the open ones.

    A person at the page (``/`` and ``/ui/...``) who has no key gets ``key_form``: the page that
    stores the key in a cookie. Everyone else gets the JSON error. The header comes first: a
    request with a wrong key in it is refused whatever its cookie holds.
    """

    def __init__(
        self, app: ASGIApp, keys: KeyRing, open_paths: Iterable[str] = (), key_form: Callable[[], str] | None = None
    ):
        self.app = app
        self.keys = keys
        self.open_paths = frozenset(open_paths)
        self.key_form = key_form

    def allowed(self, scope: Scope) -> bool:
        return self.keys.matches(_header(scope, API_KEY_HEADER) or _cookie(scope, API_KEY_COOKIE))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or self.allowed(scope):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.key_form is not None and (path == "/" or path.startswith("/ui/")):
            body = self.key_form().encode()
            headers = [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"content-security-policy", KEY_FORM_CSP),
                (b"referrer-policy", PAGE_REFERRER_POLICY.encode()),
            ]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        detail = (
            f"the {API_KEY_HEADER} header does not hold this server's API key"
            if _header(scope, API_KEY_HEADER)
            else f"this server needs an API key: send it in the {API_KEY_HEADER} header"
        )
        await send_error(send, 401, detail, API_KEY_HEADER, headers=[("WWW-Authenticate", API_KEY_HEADER)])


def _host_of(origin: str) -> str:
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return ""


class OriginCheck:
    """403 for a POST (any method but GET, HEAD, OPTIONS) that a page of another site sent.

    Browsers name the page's site in the Origin header of every cross-origin POST and of form
    posts; programs such as curl send none, and pass. The request's own host is its Host header,
    or X-Forwarded-Host from a proxy in front (a page of another site cannot set that header:
    it would need a CORS preflight, which fails). The API's paths also accept ``cors_origins``;
    the page's forms (``/`` and ``/ui/...``) accept only the server's own origin.
    """

    def __init__(self, app: ASGIApp, cors_origins: Iterable[str] = ()):
        self.app = app
        self.cors_origins = frozenset(cors_origins)

    def allowed(self, scope: Scope, origin: str) -> bool:
        path = scope["path"]
        if origin in self.cors_origins and not (path == "/" or path.startswith("/ui/")):
            return True
        host = _host_of(origin)
        own = [_header(scope, "host"), (_header(scope, "x-forwarded-host") or "").split(",")[0]]
        return bool(host) and any(host == (h or "").strip().lower() for h in own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, "origin") if scope["type"] == "http" else None
        if origin is None or scope["method"] in SAFE_METHODS or self.allowed(scope, origin):
            await self.app(scope, receive, send)
            return
        await send_error(
            send, 403,
            f"refused a {scope['method']} sent from another site: its Origin {origin[:200]!r} is not this server "
            f"({_header(scope, 'host') or 'no Host header'}). A proxy in front must pass the browser's Host "
            "header (nginx: proxy_set_header Host $host); a web app on another site needs --cors-origin",
            "Origin",
        )  # fmt: skip


class SecurityHeaders:
    """Adds the usual security headers to every answer: routes', errors', and the other guards'.

    nosniff, no framing, no referrer (pages send their own, PAGE_REFERRER_POLICY), its own
    browsing context group, a Content-Security-Policy that loads nothing unless the answer has
    its own (the page does), and ``no-store`` when
    ``no_store`` (a server with an API key: what a key unlocks stays out of shared caches).
    """

    def __init__(self, app: ASGIApp, no_store: bool = False):
        self.app = app
        self.no_store = no_store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": add_security_headers(message.get("headers", ()), self.no_store)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_headers(raw: Iterable[tuple[bytes, bytes]], no_store: bool) -> list[tuple[bytes, bytes]]:
    """Raw ASGI headers with the security headers added where missing (Cache-Control replaced when
    ``no_store``)."""
    headers = [(bytes(k), bytes(v)) for k, v in raw if not (no_store and bytes(k).lower() == b"cache-control")]
    present = {k.lower() for k, _ in headers}
    wanted = {**SECURITY_HEADERS, "Content-Security-Policy": DEFAULT_CSP}
    if no_store:
        wanted["Cache-Control"] = "no-store"
    for name, value in wanted.items():
        if name.lower().encode() not in present:
            headers.append((name.lower().encode(), value.encode()))
    return headers


def security_headers(no_store: bool) -> dict[str, str]:
    """The headers :class:`SecurityHeaders` adds, for an answer sent outside it (the 500 handler's)."""
    return {k.decode(): v.decode() for k, v in add_security_headers((), no_store)}


class SlidingWindow:
    """At most ``limit`` requests per client in any ``window_s`` seconds (a log of request times).

    Example:
        >>> w = SlidingWindow(2, clock=iter([0.0, 1.0, 2.0, 61.0]).__next__)
        >>> [w.hit("a") for _ in range(4)]
        [0.0, 0.0, 58.0, 0.0]
    """

    blocking = False  # memory only: counted on the event loop, where no two hits interleave

    def __init__(self, limit: int, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, client: str) -> float:
        """Counts a request; returns 0 when it is allowed, else the seconds until one will be."""
        now = self.clock()
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window_s - now
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle clients so that the table cannot grow without end
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window_s}
        return 0.0


class RateLimit:
    """429 with Retry-After once a client (its address) is over the per-minute limit.

    A window that waits on a lock (the workers' shared file) is asked from a worker thread, so
    that while one request waits for another process, this one's event loop serves the rest.
    """

    def __init__(self, app: ASGIApp, window: Window):
        self.app = app
        self.window = window

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "?"
        wait = await run_in_threadpool(self.window.hit, address) if self.window.blocking else self.window.hit(address)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        await send_error(
            send, 429, f"over the limit of {self.window.limit} requests per minute; retry in {seconds} s",
            headers=[("Retry-After", str(seconds))],
        )  # fmt: skip
