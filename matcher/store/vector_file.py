"""A version's exact vectors (``vectors.npy``), read by row with positional reads, not mapped.

A query re-scores a few thousand rows of a million. Gathered from a memory mapping, every row read
faults its pages into the process, and over a hundred calls nearly the whole 1.5 GB file at 1M
becomes resident in it (docs/benchmarks.md). :class:`VectorFile` reads the same bytes with
``os.preadv`` into one buffer per call instead: the pages stay in the kernel's page cache, shared
and reclaimable, and count in no process's resident size. Adjacent rows are read in one call.

A small file (up to :data:`MAP_UP_TO`, e.g. 15 MB at 10,000 firms) is gathered from a read-only
mapping instead: a request re-scores rows spread over the whole file, one positional read each
(about 1,000 a lot at 10,000 firms, 14 ms of a 150 ms `suggest`), while a gather from the mapping
copies them in well under a millisecond, and at most that much of the file becomes resident,
shared by every worker.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np

from matcher.errors import REBUILD, IndexCorrupt

_DTYPE = np.dtype("<f4")
# Files up to this size are gathered from a mapping; bigger ones (1.5 GB at 1M) by positional reads.
MAP_UP_TO = 256 * 2**20


class VectorFile:
    """The float32 rows of a 2-D ``.npy`` file, read on request: ``rows[ids]`` is like indexing the
    loaded array with an integer array (any order, repeats allowed), the same floats.

    The file stays open while this object lives (a refresh may delete the version's folder while a
    request still reads it), and closed when it is dropped or by :meth:`close`. Reads share no file
    offset, so threads may read at once.
    """

    def __init__(self, path: Path, map_up_to: int = MAP_UP_TO):
        """`map_up_to`: the largest file gathered from a mapping (0: positional reads whatever the size)."""
        self.path = path
        with open(path, "rb") as file:
            try:
                npy = np.lib.format
                header = npy.read_array_header_1_0 if npy.read_magic(file) == (1, 0) else npy.read_array_header_2_0
                shape, fortran_order, dtype = header(file)
            except ValueError as exc:
                raise IndexCorrupt(f"{path}: not a readable .npy file ({exc}); {REBUILD}") from None
            self._offset = file.tell()
        if len(shape) != 2 or fortran_order or dtype != _DTYPE:
            raise IndexCorrupt(f"{path}: holds {dtype} {shape}, not rows of float32 vectors; {REBUILD}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(np.float32)
        self._row_bytes = self.shape[1] * _DTYPE.itemsize
        size = path.stat().st_size
        if size != self._offset + self.shape[0] * self._row_bytes:
            raise IndexCorrupt(f"{path}: {size} bytes, not the {self.shape} vectors its header says; {REBUILD}")
        # A small file, or where positional reads into a buffer are missing (Windows): a read-only
        # mapping gathers instead.
        mapped = size <= map_up_to or not hasattr(os, "preadv")
        self._mapped = np.load(path, mmap_mode="r", allow_pickle=False) if mapped else None
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._closer = weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def close(self) -> None:
        """Close the file now (a later read raises); dropping the object does the same."""
        self._mapped = None
        self._closer()

    def __getitem__(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """The rows of `ids` (an integer array), in its order, as a new float32 array."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.shape[0]):
            raise IndexError(f"rows {ids[(ids < 0) | (ids >= self.shape[0])][:10].tolist()} are outside {self.path}")
        if not self._closer.alive:
            raise ValueError(f"{self.path} was closed")
        if self._mapped is not None:
            return np.asarray(self._mapped[ids], dtype=np.float32)
        if not (np.diff(ids) > 0).all():  # unsorted or repeated: read each distinct row once, in file order
            order = np.argsort(ids, kind="stable")
            ordered = ids[order]
            first = np.ones(len(ids), dtype=bool)  # where each distinct id starts among the sorted ones
            first[1:] = ordered[1:] != ordered[:-1]
            rows = self._read(ordered[first])
            out = np.empty((len(ids), self.shape[1]), dtype=np.float32)
            out[order] = rows[np.cumsum(first) - 1]
            return out
        return self._read(ids)  # re-scoring asks in ascending order: no second copy

    def _read(self, distinct: np.ndarray) -> np.ndarray:
        """The rows of `distinct` (ascending, no repeats): one read per run of adjacent ids."""
        if not self._closer.alive:
            raise ValueError(f"{self.path} was closed")
        rows = np.empty((len(distinct), self.shape[1]), dtype=_DTYPE)  # the file's bytes as they are
        if not len(distinct):
            return rows.astype(np.float32, copy=False)
        breaks = np.flatnonzero(np.diff(distinct) != 1) + 1
        starts = np.concatenate(([0], breaks))
        size = self._row_bytes
        spans = zip((starts * size).tolist(), (np.append(breaks, len(distinct)) * size).tolist())
        offsets = (self._offset + distinct[starts] * size).tolist()
        buffer, fd = rows.data.cast("B"), self._fd
        for (begin, end), at in zip(spans, offsets):
            target = buffer[begin:end]
            done = os.preadv(fd, [target], at)
            if done != end - begin:  # a regular file reads whole, unless it shrank meanwhile
                self._read_rest(target[done:], at + done)
        return rows.astype(np.float32, copy=False)  # a copy only on a big-endian machine

    def _read_rest(self, target: memoryview, at: int) -> None:
        """Read `target` whole from `at` after a short read; a file cut short is corrupt."""
        while len(target):
            done = os.preadv(self._fd, [target], at)
            if done <= 0:
                raise IndexCorrupt(f"{self.path} ends before byte {at}, which its header promises; {REBUILD}")
            target, at = target[done:], at + done
