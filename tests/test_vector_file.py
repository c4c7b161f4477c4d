"""VectorFile reads a version's exact vectors by row: the same floats as indexing the loaded array."""

from __future__ import annotations

import gc
import os
import threading

import numpy as np
import pytest

from matcher.errors import IndexCorrupt
from matcher.store.vector_file import VectorFile


@pytest.fixture
def saved(tmp_path):
    vectors = np.random.default_rng(3).standard_normal((500, 24)).astype(np.float32)
    np.save(tmp_path / "vectors.npy", vectors)
    return vectors, tmp_path / "vectors.npy"


@pytest.fixture(params=["positional reads", "mapped"])
def open_rows(request):
    """Both ways of reading: positional reads (a big file) and the mapping (a small one)."""
    limit = 0 if request.param == "positional reads" else 2**40
    return lambda path: VectorFile(path, map_up_to=limit)


def test_rows_are_those_of_the_array_in_any_order_with_repeats(saved, open_rows):
    vectors, path = saved
    rows, mapped = open_rows(path), np.load(path, mmap_mode="r")
    rng = np.random.default_rng(0)
    asks = [
        rng.integers(0, 500, 300),  # unsorted, with repeats
        np.sort(rng.choice(500, 100, replace=False)),  # ascending, distinct
        np.arange(40, 90),  # one run of adjacent rows: one read
        np.array([499, 0, 0, 1, 2, 498, 499]),  # both ends, runs and repeats
        np.array([7]),
        np.array([], dtype=np.int64),
    ]
    for ids in asks:
        got = rows[ids]
        assert got.dtype == np.float32 and got.shape == (len(ids), 24)
        np.testing.assert_array_equal(got, vectors[ids])
        np.testing.assert_array_equal(got, mapped[ids])  # what the mapping gathered before
    assert len(rows) == 500 and rows.shape == (500, 24)
    np.testing.assert_array_equal(rows[[3, 1]], vectors[[3, 1]])  # a list will do


def test_rows_outside_the_file_are_an_index_error(saved, open_rows):
    rows = open_rows(saved[1])
    for ids in ([0, 500], [-1]):
        with pytest.raises(IndexError, match="outside"):
            rows[ids]


def test_threads_read_at_once(saved, open_rows):
    vectors, path = saved
    rows = open_rows(path)
    failures = []

    def read(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(50):
            ids = rng.integers(0, 500, 64)
            if not np.array_equal(rows[ids], vectors[ids]):
                failures.append(seed)

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def test_the_file_is_closed_when_dropped_or_closed(saved, open_rows):
    rows = open_rows(saved[1])
    fd = rows._fd
    os.fstat(fd)
    del rows
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)
    rows = open_rows(saved[1])
    rows.close()
    with pytest.raises(ValueError, match="closed"):
        rows[[0]]


def test_a_file_deleted_while_open_is_still_read(saved, open_rows):
    vectors, path = saved
    rows = open_rows(path)
    path.unlink()  # a refresh pruning the version while a request still reads it
    np.testing.assert_array_equal(rows[[4, 2]], vectors[[4, 2]])


def test_without_positional_reads_the_mapping_gathers(saved, monkeypatch):
    vectors, path = saved
    monkeypatch.delattr(os, "preadv")
    ids = np.array([9, 3, 3, 400])
    np.testing.assert_array_equal(VectorFile(path)[ids], vectors[ids])


@pytest.mark.parametrize(
    ("array", "match"),
    [(np.zeros((4, 3), dtype=np.float64), "float32"), (np.zeros(12, dtype=np.float32), "float32"),
     (np.asfortranarray(np.zeros((4, 3), dtype=np.float32)), "float32")],
)  # fmt: skip
def test_a_file_of_other_arrays_is_a_clear_error(tmp_path, array, match):
    np.save(tmp_path / "vectors.npy", array)
    with pytest.raises(IndexCorrupt, match=match):
        VectorFile(tmp_path / "vectors.npy")


def test_a_truncated_or_unreadable_file_is_a_clear_error(saved, tmp_path):
    _, path = saved
    cut = tmp_path / "cut.npy"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IndexCorrupt, match="bytes"):
        VectorFile(cut)
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(IndexCorrupt, match="npy"):
        VectorFile(tmp_path / "junk.npy")


def test_a_small_file_is_gathered_from_a_mapping_and_a_big_one_by_positional_reads(saved):
    vectors, path = saved
    small, big = VectorFile(path), VectorFile(path, map_up_to=path.stat().st_size - 1)
    assert small._mapped is not None and big._mapped is None
    ids = np.array([9, 3, 3, 400])
    np.testing.assert_array_equal(small[ids], big[ids])
