"""The nightly refresh: incremental, atomic, locked, and safe to kill (fake embedder: the model is not under test)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import matcher.build
import matcher.search
from matcher import BuildSettings, Matcher, Workspace, build_index, ingest
from matcher.errors import IndexCorrupt, IndexMissing, InputError
from matcher.faults import CRASH_ENV, POINTS
from matcher.refresh import refresh, status
from matcher.store.locking import WorkspaceBusy, WorkspaceLock
from tests.conftest import publish_damaged

ROOT = Path(__file__).resolve().parents[1]
HEADER = "id,name,kind,description,codes,regions\n"
ROWS = [
    "B1,Bridge One,bridge builder,Road bridge construction and repair of overpasses,45221111-3,RU-SPE",
    "B2,Bridge Two,bridge builder,Steel bridge spans and viaduct renewal,45221119-9,RU-LEN",
    "W1,Water Works,engineering networks,Water main renewal and sewer pipelines,45231300-8,RU-SPE",
    "T1,Training Centre,training centre,Vocational training of welders and crane operators,80530000-8,RU-SPE",
    "R1,Road Builders,road builder,Asphalt paving and road resurfacing,45233120-6,RU-SPE",
]


def write_members(path: Path, rows=ROWS) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path, fake):
    workspace = Workspace(tmp_path / "ws")
    ingest([write_members(tmp_path / "members.csv")], workspace)
    build_index(workspace)
    return workspace


def count_embedded(fake, monkeypatch):
    calls: list[int] = []
    original = fake.encode
    monkeypatch.setattr(
        fake, "encode", lambda texts, progress=None, kind="passage": calls.append(len(texts)) or original(texts)
    )
    return calls


def test_refresh_reembeds_only_what_changed_and_drops_what_disappeared(ws, fake, monkeypatch, tmp_path):
    calls = count_embedded(fake, monkeypatch)
    report = refresh(ws)
    assert calls == [] and report.manifest["changes"] == {"added": 0, "updated": 0, "removed": 0, "unchanged": 5}
    rows = [r.replace("Asphalt paving", "Concrete paving") if r.startswith("R1") else r for r in ROWS[1:]]
    write_members(tmp_path / "members.csv", rows + ["N1,New Firm,,Tunnel boring,45221247-5,RU-SPE"])
    report = refresh(ws)
    assert report.manifest["changes"] == {"added": 1, "updated": 1, "removed": 1, "unchanged": 3}
    assert sum(calls) == 2  # the changed profile and the new one, nothing else
    m = Matcher.open(ws)
    assert {p.id for p in m.participants} == {"B2", "W1", "T1", "R1", "N1"}
    assert "Concrete" in m.participant("R1").description
    refresh(ws, full=True)
    assert sum(calls) == 2 + 5  # --full embeds every text again


def test_keep_and_rollback(ws):
    first = ws.current_version().name
    for _ in range(3):
        refresh(ws, keep=3)
    names = [v.name for v in ws.versions()]
    assert len(names) == 3 and first not in names
    current = ws.current_version().name
    back = ws.rollback()
    assert back.name == names[-2] and ws.current_version().name == names[-2] != current
    Matcher.open(ws)  # serves the older version
    ws.rollback()
    with pytest.raises(IndexMissing, match="no complete version before"):
        ws.rollback()


def test_a_refresh_over_a_damaged_current_builds_from_the_last_complete_version(ws, tmp_path, fake, monkeypatch):
    good = ws.current_version()
    damaged = publish_damaged(ws)
    assert ws.base_version() == good and not ws.is_complete(damaged)
    calls = count_embedded(fake, monkeypatch)
    rows = [r.replace("Asphalt paving", "Concrete paving") if r.startswith("R1") else r for r in ROWS]
    write_members(tmp_path / "members.csv", rows)
    report = refresh(ws, keep=2)
    # compared with the complete version, not "5 added" against an unreadable table
    assert report.manifest["changes"] == {"added": 0, "updated": 1, "removed": 0, "unchanged": 4}
    assert sum(calls) == 1
    # pruning keeps the complete version (a server may still serve it), not the damaged newer one
    assert [v.name for v in ws.versions()] == [good.name, report.version]
    assert ws.rollback() == good


def test_rollback_skips_a_damaged_version_and_pruning_drops_it(ws):
    first = ws.current_version()
    damaged = publish_damaged(ws, "vectors.npy")
    newest = ws.root / "index" / "versions" / refresh(ws, keep=5).version
    assert ws.versions() == [first, newest] and not damaged.exists()  # a damaged version can never serve
    assert ws.rollback() == first
    ws.point_current_at(newest)
    vectors = first / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexMissing, match=rf"no complete version before {newest.name}.*damaged: {first.name}"):
        ws.rollback()
    assert ws.current_version() == newest


def test_a_second_writer_is_refused_with_who_holds_the_lock_then_waits(ws):
    with WorkspaceLock(ws.root, "index build"):
        with pytest.raises(WorkspaceBusy, match=r"index build \(pid \d+"):
            refresh(ws)
    refresh(ws, wait=1.0)  # free again


def test_a_lock_left_by_a_killed_process_is_taken_over(ws):
    code = f"""
import os, signal
from matcher.store.locking import WorkspaceLock
with WorkspaceLock({str(ws.root)!r}, "refresh"):
    os.kill(os.getpid(), signal.SIGKILL)
"""
    died = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert died.returncode == -9
    assert json.loads((ws.root / ".lock").read_text())["action"] == "refresh"  # the dead holder's note
    report = refresh(ws)
    assert report.took_over and report.took_over["action"] == "refresh"


def test_a_refresh_that_would_drop_most_members_changes_nothing(ws, tmp_path):
    before = ws.current_version().name
    write_members(tmp_path / "members.csv", ROWS[:1])
    with pytest.raises(InputError, match="lack 4 of the 5 members.*nothing was changed"):
        refresh(ws)
    assert ws.current_version().name == before and len(ws.load_participants()) == 5
    refresh(ws, max_removed=1.0)
    assert len(Matcher.open(ws).participants) == 1


def test_a_refresh_reads_each_member_table_once_and_writes_its_rejects(ws, tmp_path, monkeypatch):
    import matcher.inputs.participants

    source = write_members(tmp_path / "members.csv", [*ROWS[1:], "X1,,,Nameless firm,,"])
    rejects = tmp_path / "members.csv.rejects.csv"
    reads: list[str] = []
    raw_rows = matcher.inputs.participants._raw_rows
    monkeypatch.setattr(
        matcher.inputs.participants, "_raw_rows", lambda path: reads.append(path.name) or raw_rows(path)
    )
    with pytest.raises(InputError, match="lack 1 of the 5"):
        refresh(ws, max_removed=0.1)
    assert reads == ["members.csv"] and not rejects.exists()  # refused: nothing written, rejects neither
    reads.clear()
    report = refresh(ws)
    assert reads == ["members.csv"]  # checked and stored from one read
    assert [(r.row, r.field) for r in report.rejects] == [(6, "name")] and report.rejects_files == (rejects,)
    assert "Nameless firm" in rejects.read_text(encoding="utf-8")
    write_members(source)
    refresh(ws)
    assert not rejects.exists()  # the stale rejects file of the earlier refresh is removed


def test_all_rows_rejected_or_a_missing_source_leaves_the_index_as_it_was(ws, tmp_path):
    before = ws.current_version().name
    (tmp_path / "members.csv").write_text(HEADER + ",no id,,,,\n", encoding="utf-8")
    with pytest.raises(InputError):
        refresh(ws, max_removed=1.0)
    assert ws.current_version().name == before
    (tmp_path / "members.csv").unlink()
    with pytest.raises(InputError, match="members.csv is missing"):
        refresh(ws)
    assert ws.current_version().name == before and len(Matcher.open(ws).participants) == 5


@pytest.mark.parametrize("where", ["faiss", "parquet", "manifest"])
def test_a_failed_write_leaves_the_old_version_current(ws, monkeypatch, tmp_path, where):
    before = ws.current_version().name
    write_members(tmp_path / "members.csv", [r.replace("Road", "New") for r in ROWS])

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "index.faiss")

    with monkeypatch.context() as patch:
        if where == "faiss":
            patch.setattr("faiss.write_index", full_disk)
        elif where == "parquet":
            patch.setattr(matcher.build, "write_vector_owners", full_disk)
        else:
            patch.setattr(matcher.store.workspace, "sha256_file", full_disk)
        with pytest.raises(OSError, match="No space left"):
            refresh(ws)
    assert ws.current_version().name == before
    assert not list(ws.versions_dir.glob(".building-*"))
    Matcher.open(ws)


def test_status_reports_changes_and_integrity(ws, tmp_path):
    refresh(ws)
    info = status(ws)
    assert info.current == ws.current_version().name and info.participants == 5
    assert info.changes["unchanged"] == 5 and info.integrity.startswith("ok") and info.ok
    index = ws.current_version() / "index.faiss"
    index.write_bytes(index.read_bytes()[:-10])
    broken = status(ws)
    assert broken.integrity.startswith("FAILED") and "index.faiss" in broken.integrity and not broken.ok


def test_an_index_from_a_newer_faiss_is_refused(ws):
    version = ws.current_version()
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["faiss_version"] = "99.0.0"
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="FAISS 99.0.0, newer than the installed"):
        Matcher.open(ws)


# --- crash injection ----------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import matcher.build, matcher.search
    from tests.fakes import HashingEmbedder
    from matcher import Workspace
    from matcher.refresh import refresh
    fake = HashingEmbedder()
    matcher.build.load_embedder = lambda model=None: fake
    refresh(Workspace(__import__("pathlib").Path({ws!r})), keep=2)
    """
)


def answers(ws: Workspace) -> tuple[str, list[tuple[str, float]]]:
    m = Matcher.open(ws)
    result = m.similar("B1", top_k=4)
    return m.version.name, [(s.participant_id, s.score) for s in result.suggestions]


def test_killed_at_every_step_the_previous_version_serves_and_the_next_refresh_finishes(ws, tmp_path, capsys):
    outcomes = []
    for i, point in enumerate(POINTS):
        before_version, before = answers(ws)
        # every round changes one member, so that each refresh has something to embed and publish
        rows = [r.replace("overpasses", f"overpasses round {i}") if r.startswith("B1") else r for r in ROWS]
        write_members(tmp_path / "members.csv", rows)
        env = {**os.environ, CRASH_ENV: point}
        child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), ws=str(ws.root))], env=env,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert child.returncode == -9, (point, child.stderr[-2000:])
        version, now = answers(ws)  # loads and answers: never a half-written version
        if version == before_version:
            assert now == before, point  # the previous version, identical answers
            served = "previous"
        else:  # killed after the swap: the new version is complete
            assert Matcher.open(ws).participant("B1").description.endswith(f"round {i}")
            served = "new"
        refresh(ws)  # the next run completes and serves the new data
        assert Matcher.open(ws).participant("B1").description.endswith(f"round {i}")
        assert status(ws).integrity.startswith("ok")
        outcomes.append((point, served))
    with capsys.disabled():
        print(f"\ncrash injection: {len(outcomes)} kill points, each followed by a load and a completing refresh")
        for point, served in outcomes:
            print(f"  SIGKILL at {point:22s} -> served the {served} version, next refresh ok")
    assert len(outcomes) >= 10
    assert {"previous", "new"} == {served for _, served in outcomes}


# --- concurrent readers -------------------------------------------------------------------

READER = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from matcher import Matcher, Workspace
    ws = Workspace(Path({ws!r}))
    seen, errors, deadline = [], [], time.monotonic() + {seconds}
    while time.monotonic() < deadline:
        try:
            m = Matcher.open(ws)
            r = m.similar("B1", top_k=3)
            seen.append([m.version.name, [s.participant_id for s in r.suggestions], len(m.participants)])
        except Exception as exc:
            errors.append(repr(exc))
    print(json.dumps({{"seen": seen, "errors": errors}}))
    """
)


def test_readers_never_see_a_half_written_version(ws, tmp_path):
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER.format(root=str(ROOT), ws=str(ws.root), seconds=6)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    time.sleep(1.0)
    sizes = {}
    for i in range(4):  # four publishes while they read; keep=2 prunes under their feet
        extra = [f"X{i},Extra {i},,Bridge repair works {i},45221111-3,RU-SPE"]
        write_members(tmp_path / "members.csv", ROWS + extra)
        report = refresh(ws, keep=2)
        sizes[report.version] = report.manifest["count"]
    results = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    total = 0
    for result in results:
        assert result["errors"] == []
        for version, ids, count in result["seen"]:
            total += 1
            assert len(ids) == 3 and "B1" not in ids
            assert version not in sizes or count == sizes[version]  # a whole version, never a mix
    assert total > 10


def test_profile_only_indexes_one_vector_per_member_and_refresh_keeps_it(tmp_path, fake):
    from matcher.schema import Participant, Project
    from matcher.store.tables import write_participants

    ws = Workspace(tmp_path / "ws")
    ingest([write_members(tmp_path / "members.csv")], ws)
    member = Participant(id="P1", name="Projects Inc", description="Bridges",
                         projects=(Project("Bridge A"), Project("Bridge B")))  # fmt: skip
    write_participants(ws.participants_path, [*ws.load_participants(), member])
    assert build_index(ws)["vectors"] == 5 + 1 + 2
    assert build_index(ws, BuildSettings(profile_only=True))["vectors"] == 6
    assert len(Matcher.open(ws).opened.owner) == 6
    ingest([tmp_path / "members.csv"], ws)  # refresh re-reads the sources (P1 was not in them)
    report = refresh(ws, max_removed=1.0)
    assert report.manifest["profile_only"] is True and report.manifest["vectors"] == 5


def test_a_refresh_keeps_the_rejects_of_an_ocds_source_in_a_read_only_folder(ws, tmp_path, monkeypatch):
    """The history is rebuilt in a scratch workspace that the refresh removes: its rejects must not go with it."""
    import shutil

    from matcher import import_ocds

    inputs = tmp_path / "ocds-in"
    inputs.mkdir()
    lines = Path(shutil.copy(ROOT / "tests" / "data" / "ocds" / "bad-lines.jsonl", inputs))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == inputs else real_access(p, mode))
    import_ocds([lines], ws)
    kept = ws.rejects_dir / "bad-lines.jsonl.rejects.jsonl"
    kept.unlink()
    refresh(ws)
    assert not Path(f"{lines}.rejects.jsonl").exists()
    assert len(kept.read_text(encoding="utf-8").splitlines()) == 2
