"""Atomic writes (matcher.store.files) and rejects files (matcher.store.rejects) on real folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from matcher.errors import InputError
from matcher.store.files import TEMP_GLOB, atomic_path, atomic_write_text, temp_path
from matcher.store.rejects import write_rejects


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(TEMP_GLOB))


def test_temp_names_sit_beside_the_target_and_match_the_cleanup_glob(tmp_path):
    target = tmp_path / "participants.parquet"
    first, second = temp_path(target), temp_path(target)
    assert first.parent == tmp_path and first != second
    assert first.name.startswith(".participants.parquet.") and first.name.endswith(".tmp")
    assert len(first.name) == len(".participants.parquet.") + 8 + len(".tmp")
    assert first.match(TEMP_GLOB) and second.match(TEMP_GLOB)


@pytest.mark.parametrize("durable", [False, True])
def test_a_completed_write_replaces_the_target(tmp_path, durable):
    target = tmp_path / "CURRENT"
    target.write_text("old\n", encoding="utf-8")
    with atomic_path(target, durable=durable) as tmp:
        assert tmp.match(TEMP_GLOB) and tmp.parent == tmp_path
        tmp.write_text("new\n", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "old\n"  # readers see the old file until the rename
    assert target.read_text(encoding="utf-8") == "new\n"
    assert _leftovers(tmp_path) == []


def test_an_error_leaves_the_target_as_it_was_and_no_temp_behind(tmp_path):
    target = tmp_path / "sources.json"
    target.write_text("{}", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"), atomic_path(target, durable=True) as tmp:
        tmp.write_text('{"half": ', encoding="utf-8")
        raise OSError("disk full")
    assert target.read_text(encoding="utf-8") == "{}"
    assert _leftovers(tmp_path) == []


def test_an_error_before_anything_is_written_creates_nothing(tmp_path):
    target = tmp_path / "new.txt"
    with pytest.raises(KeyboardInterrupt), atomic_path(target):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_missing_parent_folder_is_made(tmp_path):
    target = tmp_path / "models" / "ranker.json"
    atomic_write_text(target, "{}")
    assert target.read_text(encoding="utf-8") == "{}"


def test_folders_are_written_and_replaced_whole(tmp_path):
    target = tmp_path / "onnx"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "model.onnx").write_bytes(b"one")
    assert sorted(p.name for p in target.iterdir()) == ["model.onnx"]
    with atomic_path(target, durable=True) as tmp:
        tmp.mkdir()
        (tmp / "model_int8.onnx").write_bytes(b"two")
    assert sorted(p.name for p in target.iterdir()) == ["model_int8.onnx"]  # nothing of the old folder
    assert _leftovers(tmp_path) == []


def test_a_failed_folder_is_removed_and_the_old_one_kept(tmp_path):
    target = tmp_path / "onnx"
    target.mkdir()
    (target / "model.onnx").write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "model.onnx").write_bytes(b"half")
        raise RuntimeError("export failed")
    assert (target / "model.onnx").read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


# --- rejects files --------------------------------------------------------------------------


def _lines(path: Path, rows: list[str]) -> None:
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def test_rejects_are_written_beside_the_input_atomically(tmp_path):
    source = tmp_path / "members.csv"
    source.write_text("id\n", encoding="utf-8")
    seen: list[Path] = []

    def write(path: Path, rows: list[str]) -> None:
        seen.append(path)  # a temp the workspace's cleanup finds (`name.tmp` once escaped it)
        _lines(path, rows)

    written = write_rejects(source, ".rejects.txt", ["a", "b"], write, fallback_dir=tmp_path / "rejects")
    assert seen[0].parent == tmp_path and seen[0].match(TEMP_GLOB)
    assert written == tmp_path / "members.csv.rejects.txt"
    assert written.read_text(encoding="utf-8") == "a\nb\n"
    assert _leftovers(tmp_path) == [] and not (tmp_path / "rejects").exists()


def test_no_rejects_removes_a_stale_file_beside_the_input_and_in_the_fallback(tmp_path):
    source, fallback = tmp_path / "members.csv", tmp_path / "rejects"
    fallback.mkdir()
    for stale in (tmp_path / "members.csv.rejects.txt", fallback / "members.csv.rejects.txt"):
        stale.write_text("old\n", encoding="utf-8")
    assert write_rejects(source, ".rejects.txt", [], _lines, fallback_dir=fallback) is None
    assert not (tmp_path / "members.csv.rejects.txt").exists()
    assert not (fallback / "members.csv.rejects.txt").exists()


def test_a_read_only_input_folder_sends_rejects_to_the_fallback(tmp_path, monkeypatch):
    source, fallback = tmp_path / "in" / "members.csv", tmp_path / "rejects"
    source.parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != source.parent and real_access(p, mode))
    written = write_rejects(source, ".rejects.txt", ["a"], _lines, fallback_dir=fallback)
    assert written == fallback / "members.csv.rejects.txt" and written.read_text(encoding="utf-8") == "a\n"
    with pytest.raises(InputError, match="read-only"):
        write_rejects(source, ".rejects.txt", ["a"], _lines, fallback_dir=None)


def test_a_failed_rejects_write_leaves_the_old_file_and_no_temp(tmp_path):
    source = tmp_path / "members.csv"
    old = tmp_path / "members.csv.rejects.txt"
    old.write_text("old\n", encoding="utf-8")

    def broken(path: Path, rows: list[str]) -> None:
        path.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_rejects(source, ".rejects.txt", ["a"], broken, fallback_dir=None)
    assert old.read_text(encoding="utf-8") == "old\n" and _leftovers(tmp_path) == []


def test_publishing_removes_stale_temps_in_models_and_cache_but_not_fresh_ones(tmp_path):
    """A killed `train` or ONNX export leaves `.name.<hex>.tmp` in models/; the next publish clears
    what is old enough not to be a write in progress (those writers hold no lock)."""
    import time

    from matcher.store.workspace import STALE_TEMP_SECONDS, Workspace

    ws = Workspace(tmp_path / "ws")
    old_file = ws.root / "models" / ".ranker.json.0123abcd.tmp"
    old_dir = ws.root / "models" / "onnx" / ".abc.0123abcd.tmp"
    old_cache = ws.root / "cache" / "embeddings" / ".model.parquet.0123abcd.tmp"
    fresh = ws.root / "models" / ".calibration.json.89abcdef.tmp"
    kept = ws.root / "models" / "ranker.json"
    for path in (old_file, old_cache, fresh, kept):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    old_dir.mkdir(parents=True)
    (old_dir / "model.onnx").write_text("x")
    past = time.time() - STALE_TEMP_SECONDS - 60
    for path in (old_file, old_dir, old_cache):
        os.utime(path, (past, past))
    building = ws.new_version_dir()
    (building / "x.txt").write_text("x")
    ws.publish(building, {"count": 0}, keep=2)
    assert not old_file.exists() and not old_dir.exists() and not old_cache.exists()
    assert fresh.exists() and kept.exists()
