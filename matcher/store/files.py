"""Writing files safely: atomically (a temp file beside the target, then a rename), durably where it
matters (fsync), and CSV cells that a spreadsheet will not run as formulas.

Every temp file or folder is named ``.<target name>.<8 hex>.tmp`` beside its target, so one glob
(:data:`TEMP_GLOB`) finds what an interrupted write left behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TEMP_GLOB = ".*.tmp"


def temp_path(target: Path) -> Path:
    """A fresh temp name beside `target`: ``.<name>.<8 hex>.tmp``."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(target: Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temp path beside `target`; when the block ends without an error, rename it onto `target`.

    The block writes a file or a folder at the yielded path. Readers see the old `target` or the
    new one, never half of one; on an error the temp is removed and `target` is left as it was.
    With `durable`, the data and the rename are fsynced (survives a power cut, not just a crash).

    Example:
        >>> with atomic_path(Path("ranker.json")) as tmp:  # doctest: +SKIP
        ...     tmp.write_text("{}")
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        yield tmp
        if durable and tmp.is_file():
            fsync_file(tmp)
        if tmp.is_dir() and target.is_dir():
            shutil.rmtree(target)  # a folder cannot be renamed onto a non-empty one
        os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(target.parent)


def atomic_write_text(target: Path, text: str, *, durable: bool = False) -> None:
    """Write `text` (UTF-8) to `target` atomically."""
    with atomic_path(target, durable=durable) as tmp:
        tmp.write_text(text, encoding="utf-8")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not fsync folders; the rename is still atomic
    finally:
        os.close(fd)


def safe_csv_cell(value: Any) -> Any:
    """Neutralise text that a spreadsheet would run as a formula (=, +, -, @, tab, CR)."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
