"""Rejects files: what an input reader could not load, kept beside the input so it can be fixed and read again.

Each reader names its own format (``<input>.rejects.csv`` for participant tables,
``<input>.rejects.jsonl`` for OCDS files) and writes the rows; where the file goes, and that it is
written atomically, is decided here once:

- beside the input; in the fallback folder (the workspace's ``rejects/``) when the input's
  folder is read-only, and an error when there is no fallback;
- an input read without rejects loses a rejects file of an earlier run (beside it or in the
  fallback folder): that file describes an older version of the input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from matcher.errors import InputError
from matcher.store.files import atomic_path

R = TypeVar("R")


def rejects_path_for(source: Path, suffix: str) -> Path:
    """The rejects file beside `source`: its name followed by `suffix` (``members.csv.rejects.csv``)."""
    return source.with_name(source.name + suffix)


def write_rejects(
    source: Path,
    suffix: str,
    rejects: Sequence[R],
    write: Callable[[Path, Sequence[R]], None],
    fallback_dir: Path | None,
) -> Path | None:
    """Write the rejects of `source` with `write(path, rejects)`, atomically; returns the file, or None.

    Args:
        source: the input file the rejects came from.
        suffix: appended to the input's name to name the rejects file.
        rejects: the rejected rows; none removes a stale rejects file instead.
        write: writes the rows to the (temporary) path it is given, in the reader's format.
        fallback_dir: where the file goes when the input's folder is read-only (made when needed).

    Raises:
        InputError: the input's folder is read-only and there is no fallback folder.
    """
    target = rejects_path_for(source, suffix)
    if not rejects:
        for stale in (target, fallback_dir / target.name if fallback_dir else None):
            if stale is not None and stale.exists() and os.access(stale.parent, os.W_OK):
                stale.unlink()
        return None
    if not os.access(source.parent, os.W_OK):
        if fallback_dir is None:
            raise InputError(f"cannot write rejects beside {source} (read-only folder)")
        fallback_dir.mkdir(parents=True, exist_ok=True)
        target = fallback_dir / target.name
    with atomic_path(target) as tmp:
        write(tmp, rejects)
    return target
