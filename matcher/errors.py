"""Exceptions raised by matcher. Every user-facing error derives from MatcherError.

The CLI turns a MatcherError into one line on stderr and a non-zero exit code;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

REBUILD = "rebuild with `matcher index build` or go back with `matcher index rollback`"


class MatcherError(Exception):
    """Base class: something the user can fix (bad input, missing index, wrong model)."""

    exit_code = 2


class InputError(MatcherError):
    """An input file cannot be read or holds no usable rows."""


class TenderError(InputError):
    """A tender file is malformed or has nothing to match on."""


class UnknownCode(MatcherError):
    """A capability code is neither a CPV nor an OKVED2 code."""


class IndexMissing(MatcherError):
    """The workspace has no index yet."""


class IndexCorrupt(MatcherError):
    """An index file is missing, truncated or does not match its checksum."""


class ModelMismatch(MatcherError):
    """The index was built with another model or dimension than the one asked for."""


class ModelNotFound(MatcherError):
    """A --model path is not a local sentence-transformers model directory."""


class UnknownParticipant(MatcherError):
    """A participant id is not in the index."""


class EngineUnavailable(MatcherError):
    """A compute engine (Ray) is not installed, cannot be reached, or failed."""


def close_matches(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The choices that look like ``word`` (a mistyped id or name), closest first."""
    import difflib

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)


def did_you_mean(options: Sequence[str], otherwise: str) -> str:
    """The end of an error message: "; did you mean A, B?" naming the options, else "; " + otherwise.

    Example:
        >>> did_you_mean(close_matches("RU-INN-784222706", ["RU-INN-7842227069"]), "search by text")
        '; did you mean RU-INN-7842227069?'
    """
    return f"; did you mean {', '.join(options)}?" if options else f"; {otherwise}"
