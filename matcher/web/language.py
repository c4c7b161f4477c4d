"""The language of each request: ``?lang=``, then the ``matcher_lang`` cookie, then ``Accept-Language``.

The page's switch is a link with ``?lang=ru`` (or ``en``); following it sets the cookie, so the
next pages, forms and downloads stay in that language. A JSON client that sends nothing gets
English, the language of the API's field names; ``Accept-Language: ru`` gets the reasons, gap
notes and errors in Russian. The answer says which with ``Content-Language`` (and ``Vary``, so
that a cache keeps the two apart).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from matcher.i18n import DEFAULT_LANGUAGE, LANGUAGES, negotiate, use

LANG_COOKIE = "matcher_lang"
LANG_PARAM = "lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600


def _cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            for item in value.decode("latin-1").split(";"):
                key, _eq, val = item.strip().partition("=")
                if key == LANG_COOKIE and val in LANGUAGES:
                    return val
    return None


def choose(scope: dict[str, Any]) -> tuple[str, bool]:
    """The request's language, and whether it came from ``?lang=`` (then the cookie is set)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    asked = (query.get(LANG_PARAM) or [""])[0].strip().lower()
    if asked in LANGUAGES:
        return asked, True
    headers = scope.get("headers") or []
    cookie = _cookie(headers)
    if cookie:
        return cookie, False
    accept = next((v.decode("latin-1") for k, v in headers if k == b"accept-language"), None)
    return negotiate(accept) or DEFAULT_LANGUAGE, False


class Language:
    """ASGI middleware: the request runs in its language (:func:`matcher.i18n.use`), which the
    worker threads it calls inherit with the context."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang, remember = choose(scope)

        async def send_with_language(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-language", lang.encode()))
                headers.append((b"vary", b"Accept-Language, Cookie"))
                if remember:
                    cookie = f"{LANG_COOKIE}={lang}; Max-Age={COOKIE_MAX_AGE_S}; Path=/; SameSite=Lax"
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with use(lang):
            await self.app(scope, receive, send_with_language)
