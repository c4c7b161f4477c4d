"""`opportunities`: the sample tenders as a feed over the sample cluster (real model), the memory of
what was reported, --since, --member's exact fits, the digest's escaping and file names, the CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from matcher import Matcher
from matcher.cli import app
from matcher.inputs.feed import read_feed
from matcher.opportunities import opportunities
from matcher.render.opportunities import digest_html, digest_name, write_digests
from matcher.results import MemberOpportunities, OpportunitiesReport, Opportunity, Suggestion, Teammate
from matcher.store.reported import Reported, reported_path
from tests.conftest import ROOT, SAMPLE

runner = CliRunner()
FEED = SAMPLE / "tenders"
BRIDGE = "SPB-2026-BR-0147"  # the bridge reconstruction: lot 1 superstructure and piers, lot 2 approach roads
RING = "SPB-2026-BR-0231"  # the Russian ring-road bridge
BUILDER = "RU-INN-7842227069"  # Mostostroy-Nevsky LLC, builds and rebuilds road bridges over the Neva


@pytest.fixture
def ws(sample_workspace):
    """The sample workspace with nothing reported yet (the record is the only thing these tests write)."""
    reported_path(sample_workspace.root).unlink(missing_ok=True)
    yield sample_workspace
    reported_path(sample_workspace.root).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def matcher(sample_workspace) -> Matcher:
    return Matcher.open(sample_workspace)


def lots_of(report: OpportunitiesReport, member: str) -> set[tuple[str, str]]:
    found = next((m for m in report.members if m.participant_id == member), None)
    return set() if found is None else {(o.tender_id, o.lot_id) for o in found.opportunities}


def test_the_feed_reads_tender_files_and_ocds_folders_with_rejects():
    read = read_feed([FEED, ROOT / "tests" / "data" / "ocds"])
    ids = [i.tender.id for i in read.items]
    assert BRIDGE in ids and "SPB-2026-MD-0419" in ids  # a YAML tender and the sample's OCDS release
    assert "CO1.PCCNTR.661836" in ids  # one process of a JSON Lines file of many
    depot = next(i for i in read.items if i.tender.id == "SPB-2026-MD-0419")
    assert depot.published == date(2026, 11, 20) and depot.tender.deadline == date(2027, 2, 26)
    assert any("not-ocds.json" in r.file for r in read.rejects)  # the rest of the feed still loads


def test_a_bridge_builder_gets_the_bridge_lots_with_partners(ws, matcher):
    report = opportunities(ws, [FEED], matcher=matcher)
    assert report.tenders == 7 and report.lots == 28
    got = lots_of(report, BUILDER)
    assert {(BRIDGE, "1"), (BRIDGE, "2"), (RING, "1")} <= got
    # no water main, metro or street lighting (the road section's new carriageway may be possible)
    assert not {t for t, _ in got} & {"LEN-2026-WS-0211", "SPB-2026-MT-0032", "SPB-2026-MD-0419", "SPB-2026-SL-0509"}
    mine = next(m for m in report.members if m.participant_id == BUILDER)
    best = mine.opportunities[0]
    assert best.suggestion.band == "strong" and best.fit >= mine.opportunities[-1].fit
    assert best.suggestion.parts and best.partners and len(best.partners) <= 3
    assert all(p.participant_id != BUILDER and p.band == "strong" for p in best.partners)
    # partners from the tender's other lots come first: they bring what the member does not
    assert best.partners[0].lot_id != best.lot_id
    assert all(o.fit >= 0.20 for m in report.members for o in m.opportunities)


def test_a_rerun_reports_nothing_new_and_all_reports_again(ws, matcher):
    first = opportunities(ws, [FEED], matcher=matcher)
    assert first.count > 0 and first.already_reported == 0
    again = opportunities(ws, [FEED], matcher=matcher)
    assert again.count == 0 and again.members == () and again.already_reported == first.count
    everything = opportunities(ws, [FEED], matcher=matcher, report_all=True)
    assert everything.count == first.count
    # the record survives in the workspace, outside the index versions, and the page reads it
    assert reported_path(ws.root).parent == ws.root
    open_lots = Reported(ws.root).open_lots(BUILDER, today=date(2026, 1, 1))
    assert {(r.tender_id, r.lot_id) for r in open_lots} == lots_of(first, BUILDER)
    assert Reported(ws.root).open_lots(BUILDER, today=date(2027, 12, 1)) == []  # deadlines passed


def test_a_tender_given_twice_is_one_tender(ws, matcher):
    bridge = FEED / "bridge-reconstruction.yaml"
    once = opportunities(ws, [bridge], matcher=matcher, remember=False)
    twice = opportunities(ws, [bridge, FEED], matcher=matcher, remember=False)
    assert once.tenders == 1 and twice.tenders == 7
    pairs = [(m.participant_id, o.tender_id, o.lot_id) for m in twice.members for o in m.opportunities]
    assert len(pairs) == len(set(pairs))


def test_a_dry_run_remembers_nothing(ws, matcher):
    opportunities(ws, [FEED / "bridge-reconstruction.yaml"], matcher=matcher, remember=False)
    assert opportunities(ws, [FEED / "bridge-reconstruction.yaml"], matcher=matcher).count > 0


def test_since_keeps_tenders_published_or_due_after_it(ws, matcher):
    report = opportunities(ws, [FEED], since=date(2026, 12, 1), matcher=matcher, remember=False)
    # due on or after Dec 1: bridge (Dec 18), metro depot (Mar 15), ring road (Feb 15); the OCDS
    # depot is due in February but was published on Nov 20, so it is left out
    assert report.tenders == 3 and report.before_since == 4
    tenders = {o.tender_id for m in report.members for o in m.opportunities}
    assert tenders == {BRIDGE, RING, "SPB-2026-MT-0032"}


def test_member_is_scored_exactly_on_every_lot(ws, matcher):
    report = opportunities(
        ws, [FEED / "bridge-reconstruction.yaml"], member=BUILDER, min_fit=0.0, top_k=1, matcher=matcher,
        remember=False,
    )  # fmt: skip
    [mine] = report.members
    assert mine.participant_id == BUILDER and len(mine.opportunities) == 6  # every lot, min fit 0
    full = matcher.suggest(FEED / "bridge-reconstruction.yaml", top_k=200)
    for o in mine.opportunities:
        lot = next(x for x in full.lots if x.lot_id == o.lot_id)
        s = next(s for s in lot.suggestions if s.participant_id == BUILDER)
        assert (o.suggestion.score, o.suggestion.fit) == (s.score, s.fit)  # also where it is not the best
        assert o.suggestion.rank == (1 if s.rank == 1 else 0)  # its place in the lot's top 1, 0 below it


def _report(pid: str, name: str) -> OpportunitiesReport:
    s = Suggestion(1, pid, name, None, 0.5, (), fit=0.7, band="strong")
    partner = Teammate("P-2", "<img src=x onerror=alert(1)>", "2", 0.9, "strong")
    o = Opportunity(
        "T<1>", 'Tender "quoted"', "1", "<script>alert(1)</script>", "Buyer & Co", None, None, s, (partner,)
    )
    return OpportunitiesReport(
        (MemberOpportunities(pid, name, (o,)),), 1, 1, 0, 0, 0.2, 20, None, None, (), "model", "v1"
    )  # fmt: skip


def test_the_digest_is_escaped_self_contained_and_named_safely(tmp_path):
    report = _report("../../etc/passwd", "<b>Evil</b> & Sons")
    page = digest_html(report.members[0], report)
    assert "<script" not in page and "<img" not in page and "<b>Evil" not in page
    assert "&lt;script&gt;" in page and "Buyer &amp; Co" in page and "&lt;b&gt;Evil&lt;/b&gt; &amp; Sons" in page
    assert "http" not in page and "src=" not in page.replace("src=x", "")  # nothing fetched from outside
    assert "<style" not in page and "<link" not in page and "<td style=" in page  # styles where mail keeps them
    name = digest_name("../../etc/passwd")
    assert "/" not in name and not name.startswith(".") and name.endswith(".html")
    assert digest_name("a/b") != digest_name("a_b")  # two ids never share a file
    [written] = write_digests(report, tmp_path / "digests")
    assert written.parent == (tmp_path / "digests").resolve()
    assert written.read_text(encoding="utf-8") == page


def test_one_digest_per_member(ws, matcher, tmp_path):
    report = opportunities(ws, [FEED], matcher=matcher, remember=False)
    written = write_digests(report, tmp_path)
    assert len(written) == len(report.members)
    page = (tmp_path / digest_name(BUILDER)).read_text(encoding="utf-8")
    assert "Mostostroy-Nevsky LLC" in page and "superstructure" in page
    assert "Ladoga Water" not in page.split("<table>")[0]


def test_cli_json_csv_digest_and_rerun(ws, tmp_path):
    import csv

    from matcher.feedback import mark_lot, remove
    from matcher.inputs.tenders import read_tender

    args = ["opportunities", str(FEED), "-w", str(ws.root), "--min-fit", "0.3"]
    bridge = read_tender(FEED / "bridge-reconstruction.yaml")
    made = mark_lot(ws, bridge, "1", BUILDER, "shortlisted").marks[0]
    shown = f"shortlisted #{made.id}"  # a manager's mark on the lot shows beside it in every format
    try:
        out = runner.invoke(app, [*args, "-f", "json", "--digest", str(tmp_path / "d")])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)
        assert data["count"] > 0 and all(o["fit"] >= 0.3 for m in data["members"] for o in m["opportunities"])
        assert len(list((tmp_path / "d").glob("*.html"))) == len(data["members"])
        mine = next(m for m in data["members"] if m["participant_id"] == BUILDER)["opportunities"]
        marked = next(o for o in mine if (o["tender_id"], o["lot_id"]) == (BRIDGE, "1"))
        assert [x["status"] for x in marked["suggestion"]["marks"]] == ["shortlisted"]
        # the member writes Russian: its digest is in Russian unless --lang says otherwise
        assert f"в шорт-листе #{made.id}" in (tmp_path / "d" / digest_name(BUILDER)).read_text(encoding="utf-8")
        rerun = runner.invoke(app, [*args, "-f", "csv"])
        assert rerun.exit_code == 0 and rerun.stdout.splitlines()[1:] == []  # the header only: nothing new
        again = list(csv.DictReader(runner.invoke(app, [*args, "-f", "csv", "--all", "--dry-run"]).stdout.splitlines()))
        rows = {(r["participant_id"], r["tender_id"], r["lot_id"]): r["marks"] for r in again}
        assert rows[(BUILDER, BRIDGE, "1")] == shown and rows[(BUILDER, BRIDGE, "2")] == ""
        table = runner.invoke(app, [*args, "--all", "--member", BUILDER], env={"COLUMNS": "200"})
        assert table.exit_code == 0 and "Mostostroy-Nevsky" in table.stdout and shown in table.stdout
        en = [*args, "--all", "--dry-run", "--digest", str(tmp_path / "en")]
        assert runner.invoke(app, ["--lang", "en", *en]).exit_code == 0
        assert shown in (tmp_path / "en" / digest_name(BUILDER)).read_text(encoding="utf-8")
    finally:
        remove(ws, made.id)
    bad = runner.invoke(app, ["opportunities", str(tmp_path / "missing"), "-w", str(ws.root)])
    assert bad.exit_code != 0 and "no such file or folder" in bad.output


def test_help_has_an_example():
    out = runner.invoke(app, ["opportunities", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "Example: matcher opportunities" in out.stdout


def test_a_member_that_is_unknown_is_named(ws, matcher):
    from matcher.errors import MatcherError

    with pytest.raises(MatcherError, match="no participant"):
        opportunities(ws, [FEED], member="NOPE", matcher=matcher)


def test_the_member_page_and_the_api_show_its_open_lots(ws, matcher):
    from fastapi.testclient import TestClient

    from matcher.store.reported import ReportedLot
    from matcher.web import create_app

    Reported(ws.root).record([
        ReportedLot(BUILDER, "T-9", "1", "Footbridge <script>x</script>", "Deck renewal", 0.81, "strong",
                    None, None, "2026-12-01T02:00:00+00:00"),
        ReportedLot(BUILDER, "T-8", "1", "Old bridge", "Closed long ago", 0.9, "strong",
                    None, date(2020, 1, 1), "2019-12-01T02:00:00+00:00"),
    ])  # fmt: skip
    client = TestClient(create_app(matcher, rate_limit=0))
    page = client.get(f"/ui/member/{BUILDER}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Mostostroy-Nevsky LLC" in html and "Past projects" in html
    firm = matcher.participant(BUILDER)
    assert firm.codes and all(code in html for code in firm.codes)
    assert "Open lots that fit it" in html and "Deck renewal" in html and "Closed long ago" not in html
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    assert 'href="/ui/member/' in html  # the similar members link to their own pages
    assert "<script" not in html
    api = client.get(f"/participants/{BUILDER}/opportunities")
    assert api.status_code == 200 and [lot["lot_title"] for lot in api.json()["lots"]] == ["Deck renewal"]
    assert client.get("/participants/NOPE/opportunities").status_code == 404
    assert client.get("/ui/member/NOPE").status_code == 404
    assert "/participants/{participant_id}/opportunities" in client.get("/openapi.json").json()["paths"]


def test_the_rankings_link_member_names_to_their_pages(matcher):
    from fastapi.testclient import TestClient

    from matcher.web import create_app

    client = TestClient(create_app(matcher, rate_limit=0))
    page = client.post("/ui/suggest", data={"sample": "bridge-reconstruction.yaml", "top_k": "3"})
    assert page.status_code == 200 and 'href="/ui/member/RU-INN-' in page.text


def test_the_api_ranks_a_feed_in_the_body_without_touching_the_record(ws, matcher):
    import yaml
    from fastapi.testclient import TestClient

    from matcher.web import create_app

    client = TestClient(create_app(matcher, rate_limit=0))
    bridge = yaml.safe_load((FEED / "bridge-reconstruction.yaml").read_text(encoding="utf-8"))
    bridge["deadline"] = str(bridge["deadline"])
    answer = client.post("/opportunities", json=bridge, params={"min_fit": 0.3})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    mine = next(m for m in data["members"] if m["participant_id"] == BUILDER)
    assert {o["lot_id"] for o in mine["opportunities"]} >= {"1", "2"}
    assert mine["opportunities"][0]["suggestion"]["why"] and mine["opportunities"][0]["partners"]
    assert not reported_path(ws.root).exists()  # a query: nothing remembered
    ocds = json.loads((FEED / "metro-depot-ru.ocds.json").read_text(encoding="utf-8"))
    one = client.post("/opportunities", json=ocds, params={"member": BUILDER, "min_fit": 0})
    assert one.status_code == 200 and one.json()["lots"] == 4 and one.json()["member"] == BUILDER
    assert (
        client.post("/opportunities", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert client.post("/opportunities", json=bridge, params={"member": "NOPE"}).status_code == 404
    assert "/opportunities" in client.get("/openapi.json").json()["paths"]


def test_a_member_marked_not_relevant_is_not_offered_similar_lots(ws, matcher):
    """A manager's "not relevant (wrong kind of work)" on one bridge lot keeps the member's digest
    free of that lot and of the similar ones (CPV group 452), and leaves its other lots alone."""
    from matcher.feedback import mark_lot, remove
    from matcher.inputs.tenders import read_tender

    before = lots_of(opportunities(ws, [FEED], matcher=matcher, remember=False), BUILDER)
    assert (BRIDGE, "1") in before and (RING, "1") in before
    bridge = read_tender(SAMPLE / "tenders" / "bridge-reconstruction.yaml")
    made = mark_lot(ws, bridge, "1", BUILDER, "not-relevant", "wrong-kind-of-work")
    try:
        after = lots_of(opportunities(ws, [FEED], matcher=matcher, remember=False), BUILDER)
        exact = opportunities(ws, [FEED], matcher=matcher, member=BUILDER, remember=False)
    finally:
        remove(ws, made.marks[0].id)
    assert (BRIDGE, "1") not in after and (RING, "1") not in after  # the lot marked, and a similar one
    assert after < before
    assert (BRIDGE, "1") not in lots_of(exact, BUILDER)  # --member leaves it out too


def test_a_feed_over_the_release_limit_is_refused_before_it_is_compiled(matcher, monkeypatch):
    from fastapi.testclient import TestClient

    import matcher.inputs.feed as feed
    from matcher.web import create_app

    client = TestClient(create_app(matcher, rate_limit=0))
    package = {"releases": [{"ocid": f"ocds-x-{i}", "id": "1", "tender": {"title": "Road bridge repair"}}
                            for i in range(feed.MAX_FEED_RELEASES + 1)]}  # fmt: skip
    compiled = []
    monkeypatch.setattr(feed, "compile_groups", lambda *a, **k: compiled.append(1) or [])
    answer = client.post("/opportunities", json=package)
    assert answer.status_code == 422 and "over the limit of 10,000" in answer.json()["detail"]
    assert compiled == []  # refused before any release was merged
