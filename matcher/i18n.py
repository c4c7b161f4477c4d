"""Russian and English: which language matcher speaks now, and its message catalogues.

Visible strings are marked in the code with :func:`tr` (and :func:`ntr` for plurals, or
:func:`N_` to mark a string that is translated later) and in the templates with ``_()``.
Babel extracts them (``make messages``) into ``matcher/locale/matcher.pot``; the Russian
catalogue is ``matcher/locale/ru/LC_MESSAGES/matcher.po``, compiled by Babel to the
``matcher.mo`` beside it that the standard library's gettext reads at run time.
``tests/test_i18n.py`` fails when a marked string has no Russian, or the ``.mo`` is stale.

The language in force is a context variable, English unless set: the CLI sets it from
``--lang`` (or ``MATCHER_LANG``), the web server per request (``?lang=``, a cookie, or
``Accept-Language``), so the reasons a ranking writes and the tables that render it speak the
language of whoever asked. Names, codes and the members' own texts are never translated.

>>> with use("ru"):
...     tr("strong")
'сильное'
"""

from __future__ import annotations

import contextvars
import functools
import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from matcher.errors import InputError

LANGUAGES = ("en", "ru")  # English is the source language: its "catalogue" is the marked strings themselves
DEFAULT_LANGUAGE = "en"
DOMAIN = "matcher"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}

# None: nobody chose; English is spoken, and a member's digest may speak the member's own language
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("matcher_language", default=None)


def _primary(tag: str) -> str:
    """A language tag's primary subtag, lower case: "ru-RU", "ru_RU" and "RU" are "ru"."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def check_language(lang: str) -> str:
    """`lang` as one of :data:`LANGUAGES` ("RU", "ru-RU" and "ru_RU" are "ru"); else InputError."""
    code = _primary(lang)
    if code not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; matcher speaks {' and '.join(LANGUAGES)}")
    return code


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (English: the marked strings as they are)."""
    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])


def language() -> str:
    """The language in force in this context."""
    return _current.get() or DEFAULT_LANGUAGE


def explicit_language() -> str | None:
    """The language someone chose (``--lang``, a request's), or None when nobody did."""
    return _current.get()


def set_language(lang: str) -> str:
    """Set the language for the rest of this context (the CLI does, once per command)."""
    code = check_language(lang)
    _current.set(code)
    return code


def reset_language() -> None:
    """Back to nobody's choice (English, digests in the member's language): the CLI's default."""
    _current.set(None)


@contextmanager
def use(lang: str) -> Iterator[str]:
    """Speak `lang` inside the block (a request, a digest, a test)."""
    token = _current.set(code := check_language(lang))
    try:
        yield code
    finally:
        _current.reset(token)


def tr(message: str, **params: object) -> str:
    """`message` in the language in force, its ``%(name)s`` placeholders filled from `params`."""
    text = translations(language()).gettext(message)
    return text % params if params else text


def ntr(singular: str, plural: str, n: int, **params: object) -> str:
    """The plural form for `n` (Russian has three: 1 контракт, 2 контракта, 5 контрактов);
    ``%(n)s`` is `n` unless `params` gives it."""
    text = translations(language()).ngettext(singular, plural, n)
    return text % {"n": n, **params}


_SEPARATORS = {"ru": str.maketrans({",": "\u00a0", ".": ","})}  # 1 420 000,5 (non-breaking space)


def digits(formatted: str) -> str:
    """A number formatted the Python way ("1,420,000", "6.5") with the separators of the
    language in force: Russian groups thousands with a space and writes a decimal comma."""
    table = _SEPARATORS.get(language())
    return formatted.translate(table) if table else formatted


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it now: for constants that
    :func:`tr` translates when they are shown."""
    return message


def negotiate(accept_language: str | None) -> str | None:
    """The language of :data:`LANGUAGES` that an ``Accept-Language`` header prefers, if any.

    >>> negotiate("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7")
    'ru'
    >>> negotiate("de-DE, en;q=0.5"), negotiate("fr"), negotiate(None)
    ('en', None, None)
    """
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")[:50]):
        tag, _sep, rest = item.strip().partition(";")
        quality = 1.0
        for param in rest.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = _primary(tag)
        if code in LANGUAGES and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None
