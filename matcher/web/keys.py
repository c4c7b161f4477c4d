"""API keys (one, or several while rotating; from a key file) and the page's CSRF tokens.

Keys are compared in constant time, against every configured key, and never appear in a
message: errors name the file and the line, not what it holds.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from matcher.errors import InputError

CSRF_COOKIE = "matcher_csrf"  # the nonce the page's form tokens are made from, set with the key cookie
CSRF_FIELD = "csrf_token"
KEY_RE = re.compile(r"[A-Za-z0-9._~+/=:@!$%^&*-]+")  # travels in a header and a cookie unquoted
KEY_RULE = (
    "letters, digits and . _ ~ + / = : @ ! $ % ^ & * - (no spaces, quotes, # or ;), "
    "e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
)
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")


class KeyRing:
    """The API keys a server accepts: one, or several while a key is being rotated.

    A key is compared with every configured key, in constant time each, and the answers are
    combined without stopping at the first match: how long a check takes says nothing about
    which key, or how much of one, a guess got right.

    Example:
        >>> ring = KeyRing.of(["old-key", "new-key"])
        >>> ring.matches("new-key"), ring.matches("new-ke"), ring.matches(None)
        (True, False, False)
    """

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise InputError("no API key given: pass one key, several (while rotating), or None for none")
        for i, key in enumerate(keys):
            if not isinstance(key, str) or not KEY_RE.fullmatch(key):
                which = "the API key" if len(keys) == 1 else f"API key {i + 1} of {len(keys)}"
                raise InputError(f"{which} must be {KEY_RULE}")  # never the key itself: messages get logged
        self._keys = tuple(dict.fromkeys(key.encode() for key in keys))

    @classmethod
    def of(cls, api_key: str | Sequence[str] | None) -> KeyRing | None:
        """The ring of ``create_app``'s ``api_key``: a key, a sequence of keys, or None (no key)."""
        if api_key is None:
            return None
        return cls([api_key] if isinstance(api_key, str) else list(api_key))

    def __len__(self) -> int:
        return len(self._keys)

    def matches(self, given: str | None) -> bool:
        """Whether ``given`` is one of the keys; every key is compared, whatever the answer."""
        candidate = (given or "").encode("utf-8", "replace")
        found = 0
        for key in self._keys:
            found |= hmac.compare_digest(candidate, key)  # `|` and a loop: no early exit, unlike any()
        return bool(found)


def read_api_keys(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The API keys in a key file: one a line; blank lines and ``#`` comments are skipped.

    A file keeps keys out of the process list and the shell's history, and holds several while
    a key is rotated (add the new key, move the clients, delete the old line, restart).

    Raises:
        InputError: naming the file (and the line) when it is missing, unreadable, empty, or a line
            is not a key. The message never holds a key or a line of the file.

    Example:
        >>> read_api_keys("/etc/matcher/api-keys")  # doctest: +SKIP
        ('kP3v...', 'Xq9d...')
    """
    path = Path(path)
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such API key file; write one key per line to it") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an API key file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the API key file ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the API key file is not UTF-8 text; write one key per line") from None
    keys = []
    for number, line in enumerate(content.splitlines(), 1):
        key = line.split("#", 1)[0].strip()  # "#" is never part of a key, so a comment may follow one
        if not key:
            continue
        if not KEY_RE.fullmatch(key):
            raise InputError(f"{path}, line {number}: not an API key (the line is not shown); a key must be {KEY_RULE}")
        keys.append(key)
    if not keys:
        raise InputError(f"{path}: the API key file holds no key; write one key per line (# starts a comment)")
    return tuple(dict.fromkeys(keys))


def new_nonce() -> str:
    """A fresh random nonce for the CSRF cookie."""
    return secrets.token_urlsafe(32)


def valid_nonce(nonce: str | None) -> bool:
    return nonce is not None and _NONCE_RE.fullmatch(nonce) is not None


def csrf_token(api_key: str, nonce: str) -> str:
    """The token the page's forms carry: HMAC-SHA256 of the nonce cookie under the API key.

    A page of another site can neither read the nonce nor, without the key, make a token for a
    nonce of its own (a plain copy of the cookie in the form could be forged by a sibling site
    that sets cookies for the whole domain). Workers and restarts agree on it: it needs no state.
    """
    return hmac.new(api_key.encode(), b"matcher-csrf\0" + nonce.encode(), hashlib.sha256).hexdigest()
