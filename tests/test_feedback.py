"""Feedback marks: stored safely, shown beside suggestions, demoting rejected members for similar lots
(fake embedder: the model is not under test)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher import Matcher, Workspace, build_index, ingest
from matcher.errors import IndexCorrupt, InputError, UnknownParticipant
from matcher.feedback import list_marks, mark, mark_lot
from matcher.i18n import tr, use
from matcher.rank.feedback import FEEDBACK_PART, THIS_LOT, LotKey, demotion_words, similar_lots
from matcher.refresh import refresh
from matcher.render import write
from matcher.render.sheets import tender_csv
from matcher.results import Mark
from matcher.schema import Lot, Tender
from matcher.store.feedback import CRASH_BEFORE_COMMIT, FEEDBACK_FILE, SCHEMA_VERSION, FeedbackStore

ROOT = Path(__file__).resolve().parents[1]
HEADER = "id,name,kind,description,codes,regions\n"
ROWS = [
    "B1,Bridge One,bridge builder,Road bridge construction and repair of overpasses,45221111-3,RU-SPE",
    "B2,Bridge Two,bridge builder,Road bridge construction and renewal of overpasses,45221119-9,RU-SPE",
    "B3,Bridge Three,bridge builder,Road bridge repair and bridge deck renewal,45221111-3,RU-SPE",
    "W1,Water Works,engineering networks,Water main renewal and sewer pipelines,45231300-8,RU-SPE",
    "T1,Training Centre,training centre,Vocational training of welders and crane operators,80530000-8,RU-SPE",
]
BRIDGE = Tender(
    "T-1", "Bridge repair", lots=(
        Lot("1", "Road bridge repair", "repair of a road bridge and its overpasses", ("45221111-3",), region="RU-SPE"),
        Lot("2", "Welder training", "training of welders", ("80530000-8",)),
    ),
)  # fmt: skip
# a later tender: another bridge lot (CPV group 452, like T-1's lot 1) and a water lot (452 too: 45231300)
LATER = Tender(
    "T-2", "Overpass renewal", lots=(
        Lot("A", "Overpass renewal", "renewal of road bridge overpasses", ("45221119-9",), region="RU-SPE"),
        Lot("B", "Crane operator courses", "training of crane operators", ("80530000-8",)),
    ),
)  # fmt: skip


@pytest.fixture
def ws(tmp_path, fake):
    workspace = Workspace(tmp_path / "ws")
    source = tmp_path / "members.csv"
    source.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    ingest([source], workspace)
    build_index(workspace)
    return workspace


def ranked(result, lot_id: str) -> list[str]:
    lot = next(lr for lr in result.lots if lr.lot_id == lot_id)
    return [s.participant_id for s in lot.suggestions]


# --- the store ------------------------------------------------------------------------------


def test_store_adds_lists_removes_and_undoes(tmp_path):
    store = FeedbackStore(tmp_path)
    a = store.add("T-1", "1", "B1", "Not relevant", "too far", codes=("45221111-3",), text="bridge")
    b = store.add("T-1", "1", "B2", "shortlisted")
    assert (a.status, a.reason, a.codes) == ("not-relevant", "too-far", ("45221111-3",))
    assert a.label == "not relevant (too far)" and b.label == "shortlisted"
    assert [m.id for m in store.marks()] == [a.id, b.id] and store.marks(member_id="B2") == [b]
    assert store.remove(a.id) == a and store.marks() == [b]
    assert store.undo() == b and store.marks() == []
    with pytest.raises(InputError, match="nothing to undo"):
        store.undo()
    with pytest.raises(InputError, match="no feedback mark 99"):
        store.remove(99)
    conn = sqlite3.connect(tmp_path / FEEDBACK_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_bad_status_and_reason_list_the_valid_ones(tmp_path):
    store = FeedbackStore(tmp_path)
    with pytest.raises(InputError, match="shortlisted, contacted, not-relevant, won, lost"):
        store.add("T-1", "1", "B1", "maybe")
    with pytest.raises(InputError, match="wrong-kind-of-work, too-small, too-far, competitor, other"):
        store.add("T-1", "1", "B1", "not-relevant", "too-expensive")
    with pytest.raises(InputError, match="say why"):
        store.add("T-1", "1", "B1", "not-relevant")
    with pytest.raises(InputError, match="not-relevant only"):
        store.add("T-1", "1", "B1", "won", "too-far")


def test_a_file_from_a_newer_matcher_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / FEEDBACK_FILE)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(IndexCorrupt, match="upgrade matcher"):
        FeedbackStore(tmp_path).marks()


CHILD = """
import os, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from matcher.store.feedback import FeedbackStore
store = FeedbackStore(Path({ws!r}))
for i in range(3):
    store.add("T-1", "1", f"M{{i}}", "shortlisted")
os.environ["MATCHER_CRASH_AT"] = {point!r}
store.add("T-1", "1", "M-killed", "contacted", note="x" * 100000)
print("not killed")
"""


def test_a_sigkill_during_a_write_keeps_every_committed_mark(tmp_path):
    code = CHILD.format(root=str(ROOT), ws=str(tmp_path), point=CRASH_BEFORE_COMMIT)
    died = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert died.returncode == -9, died.stderr  # SIGKILL, between the INSERT and the COMMIT
    conn = sqlite3.connect(tmp_path / FEEDBACK_FILE)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = FeedbackStore(tmp_path)
    assert [m.member_id for m in store.marks()] == ["M0", "M1", "M2"]
    assert store.add("T-1", "1", "M3", "won").id == 4  # and the file takes new marks


def test_marks_from_two_threads_each_on_its_own_connection(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = FeedbackStore(tmp_path)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: store.add("T-1", "1", f"M{i}", "shortlisted"), range(40)))
    assert len(store.marks()) == 40


ANOTHER_PROCESS = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from matcher.store.feedback import FeedbackStore
store = FeedbackStore(Path({ws!r}))
if {remove!r}:
    store.undo()
else:
    store.add("T-1", "1", {member!r}, "shortlisted")
"""


def in_another_process(ws: Workspace, member: str = "", remove: bool = False) -> None:
    code = ANOTHER_PROCESS.format(root=str(ROOT), ws=str(ws.root), member=member, remove=remove)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def shown(result, member: str) -> list[str]:
    return [m.status for s in result.lots[0].suggestions if s.participant_id == member for m in s.marks]


def test_a_mark_made_by_another_process_shows_on_the_next_query(ws):
    """The marks are kept between queries (FeedbackStore.state), never past a commit elsewhere:
    the first mark (the file made anew), a second one, one removed."""
    m = Matcher.open(ws)
    assert shown(m.suggest(BRIDGE), "B1") == []
    in_another_process(ws, "B1")
    assert shown(m.suggest(BRIDGE), "B1") == ["shortlisted"]
    in_another_process(ws, "B3")
    assert shown(m.suggest(BRIDGE), "B3") == ["shortlisted"]
    in_another_process(ws, remove=True)
    assert shown(m.suggest(BRIDGE), "B3") == [] and shown(m.suggest(BRIDGE), "B1") == ["shortlisted"]


def test_marks_are_read_again_only_after_a_commit(ws, monkeypatch):
    m = Matcher.open(ws)
    mark_lot(ws, BRIDGE, "1", "B1", "shortlisted")
    reads = []
    real = m.feedback.marks
    monkeypatch.setattr(m.feedback, "marks", lambda *a, **k: reads.append(1) or real(*a, **k))
    m.suggest(BRIDGE)
    m.suggest(BRIDGE)
    assert len(reads) == 1  # nothing committed between the two: the marks kept are used
    m.feedback.add("T-1", "1", "B2", "contacted")  # through the Matcher's own connection
    assert shown(m.suggest(BRIDGE), "B2") == ["contacted"] and len(reads) == 2
    mark_lot(ws, BRIDGE, "1", "B3", "won")  # another connection in this process
    assert shown(m.suggest(BRIDGE), "B3") == ["won"] and len(reads) == 3


def test_a_feedback_file_moved_aside_and_made_anew_is_read_anew(ws):
    m = Matcher.open(ws)
    mark_lot(ws, BRIDGE, "1", "B1", "shortlisted")
    assert shown(m.suggest(BRIDGE), "B1") == ["shortlisted"]
    for suffix in ("", "-wal", "-shm"):
        path = ws.root / (FEEDBACK_FILE + suffix)
        if path.exists():
            path.rename(path.with_name(path.name + ".old"))
    in_another_process(ws, "B3")
    result = m.suggest(BRIDGE)
    assert shown(result, "B1") == [] and shown(result, "B3") == ["shortlisted"]


# --- the verbs --------------------------------------------------------------------------------


def test_unknown_member_says_did_you_mean(ws):
    with pytest.raises(UnknownParticipant, match="did you mean B1"):
        mark(ws, "T-1", "1", "B11", "shortlisted")
    with pytest.raises(InputError, match="its lots are: 1, 2"):
        mark_lot(ws, BRIDGE, "9", "B1", "shortlisted")
    assert list_marks(ws).marks == ()


def test_marks_survive_refresh_and_rollback(ws):
    mark_lot(ws, BRIDGE, "1", "B1", "not-relevant", "competitor")
    refresh(ws, full=True)
    ws.rollback()
    assert ws.feedback_path.parent == ws.root and not any(ws.index_dir.rglob(FEEDBACK_FILE))
    assert [m.member_id for m in list_marks(ws).marks] == ["B1"]
    s = next(s for s in Matcher.open(ws).suggest(BRIDGE).lots[0].suggestions if s.participant_id == "B1")
    assert [m.status for m in s.marks] == ["not-relevant"]


# --- in the ranking -----------------------------------------------------------------------------


def test_similar_lots_share_a_cpv_group_or_their_words():
    marked = Mark(1, "T-1", "1", "B1", "not-relevant", "too-far", codes=("45221111-3",), text="road bridge repair")
    assert similar_lots(LotKey("T-1", "1"), marked) == "this lot"
    assert similar_lots(LotKey("T-9", "A", ("45221119-9",)), marked) == "shares CPV group 452"
    assert similar_lots(LotKey("T-9", "A", ("80530000-8",)), marked) is None
    worded = Mark(2, "T-1", "1", "B1", "not-relevant", "other", text="road bridge repair works")
    assert similar_lots(LotKey("T-9", "A", (), "bridge repair road works"), worded) is not None
    assert similar_lots(LotKey("T-9", "A", (), "welder training"), worded) is None


def test_demotion_words_name_the_marked_lot_by_its_ids_in_either_language():
    marked = Mark(1, "T-1", "2", "B1", "not-relevant", "too-far", codes=("45221111-3",), created_at="2026-11-30")
    for lang in ("en", "ru"):
        with use(lang):
            here = demotion_words(marked, similar_lots(LotKey("T-1", "2"), marked) or "", 0.1, LotKey("T-1", "2"))
            other_lot = LotKey("T-9", "A", ("45221119-9",))
            there = demotion_words(marked, similar_lots(other_lot, marked) or "", 0.1, other_lot)
            # a similarity that happens to read like "this lot" still names the lot it was marked on
            same_words = demotion_words(marked, tr(THIS_LOT), 0.1, other_lot)
        assert "T-1" not in here, (lang, here)
        assert "T-1" in there and "452" in there, (lang, there)
        assert "T-1" in same_words, (lang, same_words)


def test_a_member_marked_not_relevant_is_demoted_for_similar_lots_and_says_why(ws):
    m = Matcher.open(ws)
    before = m.suggest(LATER, top_k=5)
    assert ranked(before, "A")[0] in {"B1", "B2", "B3"}
    first = ranked(before, "A")[0]
    mark_lot(ws, BRIDGE, "1", first, "not-relevant", "too-far")
    after = m.suggest(LATER, top_k=5)
    assert ranked(after, "A").index(first) > 0
    demoted = next(s for s in after.lots[0].suggestions if s.participant_id == first)
    part = demoted.part(FEEDBACK_PART)
    assert part is not None and part.contribution < 0
    assert "marked not relevant (too far) for lot 1 of T-1 (shares CPV group 452)" in part.detail
    assert abs(sum(p.contribution for p in demoted.parts) - demoted.score) < 1e-3  # the parts still add up
    old = next(s for s in before.lots[0].suggestions if s.participant_id == first)
    assert demoted.fit == old.fit  # the calibrated fit is the profile's, the mark is shown apart
    assert ranked(after, "B") == ranked(before, "B")  # a lot of another kind is untouched
    hidden = m.suggest(LATER, top_k=5, hide_rejected=True)
    assert first not in ranked(hidden, "A") and len(ranked(hidden, "A")) == len(ranked(before, "A")) - 1


def test_a_later_positive_mark_lifts_the_demotion(ws):
    m = Matcher.open(ws)
    first = ranked(m.suggest(LATER), "A")[0]
    mark_lot(ws, BRIDGE, "1", first, "not-relevant", "too-small")
    mark_lot(ws, BRIDGE, "1", first, "shortlisted")
    assert ranked(m.suggest(LATER), "A")[0] == first


def test_marks_show_beside_the_suggestion_in_every_format(ws, capsys):
    from rich.console import Console

    mark_lot(ws, BRIDGE, "1", "B2", "shortlisted")
    mark_lot(ws, BRIDGE, "1", "B2", "contacted", note="called Monday")
    result = Matcher.open(ws).suggest(BRIDGE, top_k=5)
    s = next(s for s in result.lots[0].suggestions if s.participant_id == "B2")
    assert [m.status for m in s.marks] == ["shortlisted", "contacted"]
    whole = next(s for s in result.overall.suggestions if s.participant_id == "B2")
    assert len(whole.marks) == 2  # the whole tender shows the marks on any of its lots
    write(result, "json")
    data = json.loads(capsys.readouterr().out)
    shown = next(x for x in data["lots"][0]["suggestions"] if x["participant_id"] == "B2")
    assert [x["status"] for x in shown["marks"]] == ["shortlisted", "contacted"]
    assert "shortlisted #1, contacted #2" in tender_csv(result)
    write(result, "table", Console(width=200))
    assert "◆ shortlisted #1, contacted #2" in capsys.readouterr().out


# --- the command line ---------------------------------------------------------------------------


def test_cli_mark_list_remove_undo(ws, tmp_path):
    from matcher.cli import app

    tender = tmp_path / "t.json"
    tender.write_text(json.dumps({"id": "T-1", "title": "Bridge repair", "lots": [
        {"id": "1", "title": "Road bridge repair", "codes": ["45221111-3"]}]}), encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    w = ["-w", str(ws.root)]
    out = runner.invoke(app, ["feedback", "mark", str(tender), "--lot", "1", "-m", "B1", "-s", "shortlisted", *w])
    assert out.exit_code == 0 and "marked #1: B1 shortlisted for lot 1 of T-1" in out.output
    out = runner.invoke(app, ["feedback", "mark", str(tender), "-l", "1", "-m", "B1", "-s", "nope", *w])
    assert out.exit_code == 2 and "use one of: shortlisted" in out.output
    out = runner.invoke(app, ["feedback", "mark", str(tender), "-l", "1", "-m", "B22", "-s", "won", *w])
    assert out.exit_code != 0 and "did you mean" in out.output
    rejected = ["-m", "B2", "-s", "not-relevant", "-r", "other"]
    runner.invoke(app, ["feedback", "mark", str(tender), "-l", "1", *rejected, *w])
    out = runner.invoke(app, ["feedback", "list", "--format", "json", *w])
    assert [m["member_id"] for m in json.loads(out.output)["marks"]] == ["B1", "B2"]
    out = runner.invoke(app, ["feedback", "list", "--format", "csv", *w])
    assert out.output.splitlines()[0].startswith("id,tender_id,lot_id,member_id,status,reason")
    assert runner.invoke(app, ["feedback", "undo", *w]).exit_code == 0
    assert runner.invoke(app, ["feedback", "remove", "1", *w]).exit_code == 0
    assert list_marks(ws).marks == ()
    out = runner.invoke(app, ["suggest", str(tender), "--hide-rejected", "--format", "json", *w])
    assert out.exit_code == 0, out.output
    for command in ("mark", "list", "remove", "undo"):
        assert "Example: matcher feedback" in runner.invoke(app, ["feedback", command, "--help"]).output


# --- the API and the page -----------------------------------------------------------------------

KEY = "feedback-test-key-1234"
TENDER_JSON = json.dumps({"id": "T-1", "title": "Bridge repair", "lots": [
    {"id": "1", "title": "Road bridge repair", "codes": ["45221111-3"], "region": "RU-SPE"}]})  # fmt: skip


@pytest.fixture
def client(ws):
    from fastapi.testclient import TestClient

    from matcher.web import create_app

    return TestClient(create_app(Matcher.open(ws), api_key=KEY, rate_limit=0), headers={"X-API-Key": KEY})


def test_api_marks_lists_removes_and_suggest_shows_the_marks(client):
    from fastapi.testclient import TestClient

    body = {"tender_id": "T-1", "lot_id": "1", "member_id": "B1", "status": "not relevant", "reason": "competitor",
            "codes": ["45221111-3"], "text": "Road bridge repair"}  # fmt: skip
    made = client.post("/feedback", json=body)
    assert made.status_code == 201, made.text
    [m] = made.json()["marks"]
    assert (m["status"], m["reason"]) == ("not-relevant", "competitor") and "file" not in made.json()
    bad = client.post("/feedback", json={**body, "status": "maybe"})
    assert bad.status_code == 422 and "shortlisted, contacted" in bad.json()["detail"]
    unknown = client.post("/feedback", json={**body, "member_id": "B11"})
    assert unknown.status_code == 404 and "did you mean B1" in unknown.json()["detail"]
    assert [x["member_id"] for x in client.get("/feedback", params={"member": "B1"}).json()["marks"]] == ["B1"]
    suggest = client.post("/suggest", content=TENDER_JSON, headers={"content-type": "application/json"}).json()
    b1 = next(s for s in suggest["lots"][0]["suggestions"] if s["participant_id"] == "B1")
    assert b1["marks"][0]["status"] == "not-relevant" and "feedback" in b1["parts"]
    hidden = client.post("/suggest", params={"hide_rejected": True}, content=TENDER_JSON,
                         headers={"content-type": "application/json"}).json()  # fmt: skip
    assert "B1" not in [s["participant_id"] for s in hidden["lots"][0]["suggestions"]]
    assert client.delete(f"/feedback/{m['id']}").status_code == 200
    assert client.get("/feedback").json()["marks"] == []
    assert client.delete(f"/feedback/{m['id']}").status_code == 422
    spec = client.get("/openapi.json").json()
    assert {"post", "get"} <= spec["paths"]["/feedback"].keys()
    no_key = TestClient(client.app)
    assert no_key.get("/feedback").status_code == 401 and no_key.post("/feedback", json=body).status_code == 401


def test_the_page_mark_buttons_store_a_mark_that_shows_on_the_next_suggestion(client, ws):
    import re

    from fastapi.testclient import TestClient

    client = TestClient(client.app)  # a browser: the key in a cookie, so every form needs its CSRF token
    client.post("/ui/key", files={"api_key": (None, KEY)})
    page = client.get("/")
    csrf = re.findall(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)[0]
    form = {"tender_text": (None, TENDER_JSON), "suffix": (None, ".json"), "top_k": (None, "3"),
            "csrf_token": (None, csrf)}  # fmt: skip
    shown = client.post("/ui/suggest", files=form)
    assert shown.status_code == 200 and 'form="mark-form"' in shown.text and 'id="mark-form"' in shown.text
    forged = {**form, "csrf_token": (None, "0" * 64), "mark": (None, "1\tB2\twon\t")}
    forged = client.post("/ui/feedback", files=forged)
    assert forged.status_code == 403 and list_marks(ws).marks == ()
    marked = client.post("/ui/feedback", files={**form, "mark": (None, "1\tB2\tshortlisted\t")})
    assert marked.status_code == 200, marked.text
    assert "Marked #1: B2 shortlisted for lot 1." in marked.text
    assert '<span class="badge mark-shortlisted"' in marked.text
    again = client.post("/ui/suggest", files=form)
    assert ">shortlisted</span>" in again.text
    export = client.post("/ui/export", files={**form, "what": (None, "rankings.csv")})
    assert export.status_code == 200 and "shortlisted #1" in export.text  # the download carries the marks
    workbook = client.post("/ui/export", files={**form, "what": (None, "xlsx")})
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    rejected = client.post("/ui/feedback", files={**form, "mark": (None, "1\tB2\tnot-relevant\ttoo-far")})
    assert "not relevant (too far)" in rejected.text and "marked not relevant (too far) for this lot" in rejected.text
    hidden = client.post("/ui/suggest", files={**form, "hide_rejected": (None, "1")})
    shown_ids = re.findall(r'<small translate="no">(\w+)', hidden.text.split("Whole tender")[0])
    assert shown_ids and "B2" not in shown_ids
    bad = client.post("/ui/feedback", files={**form, "mark": (None, "1\tB2\tmaybe\t")})
    assert bad.status_code == 422 and "use one of" in bad.text


# --- training -------------------------------------------------------------------------------------

HISTORY = ROOT / "tests" / "data" / "history" / "small-history.jsonl"


# A new bridge lot under the code B1 and B3 hold (45221111-3), in words closer to B2's profile
# ("renewal of overpasses"): by the award history alone B2 comes first on it.
NEXT = Tender(
    "T-3", "Overpasses", lots=(
        Lot("C", "Overpass renewal", "renewal of road bridge overpasses", ("45221111-3",), region="RU-SPE"),
    ),
)  # fmt: skip


def test_train_learns_from_the_marks_and_the_rejected_firm_moves_down_for_a_similar_new_lot(ws, fake, monkeypatch):
    """What training itself learns, with the demotion out of the way (the marks are removed before
    ranking, so no "feedback" part applies). The ranker scores features, not firms: it can move B2
    down only through what sets it apart from the shortlisted B3 on the marked lot, where B3 holds
    the lot's code exactly and B2 matches it by words. So the marks teach "trust the codes over the
    words", and on a new lot where B2 again matches by words and B3 by code, B2 falls below B3."""
    from datetime import date

    import matcher.train
    from matcher.feedback import remove
    from matcher.rank.feedback_labels import feedback_examples
    from matcher.train import train

    monkeypatch.setattr(matcher.train, "load_embedder", lambda model=None: fake)
    plain, _ = train(ws, [HISTORY], until=date(2023, 1, 1))
    assert "feedback" not in plain.manifest
    before = ranked(Matcher.open(ws).suggest(NEXT, top_k=5), "C")
    assert before.index("B2") < before.index("B3")  # untaught, no marks: B2 above B3
    mark_lot(ws, BRIDGE, "1", "B2", "not-relevant", "wrong-kind-of-work")
    mark_lot(ws, BRIDGE, "1", "B3", "shortlisted")
    mark_lot(ws, BRIDGE, "2", "T1", "won")
    # the labels: on lot 1 the shortlisted firm is the positive, the rejected one and the rest negatives
    data = feedback_examples(list_marks(ws).marks, ws.load_participants(), fake.encode)
    assert data is not None and data.sizes and data.window_of == [0] * len(data.sizes)
    taught, _ = train(ws, [HISTORY], until=date(2023, 1, 1))
    assert taught.manifest["feedback"]["lots"] == 2 and taught.manifest["queries"] == plain.manifest["queries"] + 2
    was, now = (dict(zip(r.features, r.coef)) for r in (plain, taught))
    assert now["codes_exact"] / now["dense"] > was["codes_exact"] / was["dense"]  # codes weigh more against words
    for m in list_marks(ws).marks:
        remove(ws, m.id)
    m = Matcher.open(ws)
    assert m.ranker.name == plain.name  # suggest answers with the trained ranker
    after = m.suggest(NEXT, top_k=5)
    assert all(s.part(FEEDBACK_PART) is None for s in after.lots[0].suggestions)  # no demotion: no marks left
    assert ranked(after, "C").index("B2") > ranked(after, "C").index("B3")  # what training learned
    # the control: trained again with the marks there but not used, it learns what the history alone taught
    mark_lot(ws, BRIDGE, "1", "B2", "not-relevant", "wrong-kind-of-work")
    skipped, _ = train(ws, [HISTORY], until=date(2023, 1, 1), use_feedback=False)
    assert "feedback" not in skipped.manifest and np.allclose(skipped.coef, plain.coef)


def test_the_trained_ranker_still_demotes_a_member_marked_not_relevant(ws, fake, monkeypatch):
    """The demotion is applied to whichever ranker answers, the trained one too (it is not what
    training learns: the test above ranks with no marks left)."""
    from datetime import date

    import matcher.train
    from matcher.train import train

    monkeypatch.setattr(matcher.train, "load_embedder", lambda model=None: fake)
    mark_lot(ws, BRIDGE, "1", "B2", "not-relevant", "wrong-kind-of-work")
    trained, _ = train(ws, [HISTORY], until=date(2023, 1, 1), use_feedback=False)
    m = Matcher.open(ws)
    assert m.ranker.name == trained.name
    demoted = next(s for s in m.suggest(LATER, top_k=5).lots[0].suggestions if s.participant_id == "B2")
    part = demoted.part(FEEDBACK_PART)
    assert part is not None and part.contribution < 0
    assert "marked not relevant (wrong kind of work)" in part.detail
