"""`matcher serve`: the JSON API, the guards, the page and the downloads, through FastAPI's
TestClient on the real sample index; a schemathesis run against the OpenAPI spec."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import schemathesis
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from matcher.cli import app as cli_app
from matcher.errors import IndexCorrupt, TenderError, UnknownParticipant
from matcher.inputs.tenders import read_tender
from matcher.render import tender_dict
from matcher.web import create_app
from matcher.web.errors import status_for
from matcher.web.guards import SlidingWindow
from tests.conftest import ROOT, SAMPLE

TENDERS = SAMPLE / "tenders"
BRIDGE = TENDERS / "bridge-reconstruction.yaml"
WATER = TENDERS / "water-main.yaml"
MOSTOSTROY = "RU-INN-7842227069"  # Mostostroy-Nevsky LLC, a bridge builder
OCDS = ROOT / "tests" / "data" / "ocds"


@pytest.fixture(scope="module")
def app(sample_matcher):
    return create_app(sample_matcher, rate_limit=0)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def bridge_json() -> dict:
    data = yaml.safe_load(BRIDGE.read_text(encoding="utf-8"))
    data["deadline"] = str(data["deadline"])  # YAML reads it as a date
    return data


def assert_explained(suggestion: dict) -> None:
    """The parts the CLI shows: value × weight = contribution, the contributions add up to the score."""
    parts = suggestion["parts"]
    assert {"semantic", "codes"} <= parts.keys()
    for part in parts.values():
        assert part["contribution"] == pytest.approx(part["value"] * part["weight"], abs=1e-3)
        assert isinstance(part["detail"], str)
    assert sum(p["contribution"] for p in parts.values()) == pytest.approx(suggestion["score"], abs=1e-3)
    assert suggestion["why"]


def error(response, status: int, field: str | None = None, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "field"}, body
    assert "Traceback" not in body["detail"]
    if field is not None:
        assert body["field"] == field, body
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


# --- the JSON API -----------------------------------------------------------------------


def test_health_names_the_served_index(client, sample_matcher):
    body = client.get("/health").json()
    version = sample_matcher.version.name
    assert body == {
        "status": "ok", "model": "multilingual-e5-small", "index_version": version, "newest_version": version,
        "swap_failure": None, "swaps": 0, "participants": 109, "worker": os.getpid(),
    }  # fmt: skip
    assert client.get("/ready").json() == {"ready": True, "index_version": version, "detail": None}


def test_participant_profile_and_an_unknown_id_is_404_with_close_ids(client):
    body = client.get(f"/participants/{MOSTOSTROY}").json()
    assert body["name"] == "Mostostroy-Nevsky LLC" and body["kind"] == "bridge builder"
    assert body["codes"] and body["projects"][0]["title"]
    missing = error(client.get(f"/participants/{MOSTOSTROY[:-1]}"), 404, None, "did you mean", MOSTOSTROY)
    assert "/" not in missing["detail"].split("did you mean")[0], "the server's folders stay private"


def test_similar_by_id_is_the_library_answer_with_its_explanation(client, sample_matcher):
    body = client.get("/similar", params={"id": MOSTOSTROY, "top_k": 3}).json()
    expected = sample_matcher.similar(MOSTOSTROY, top_k=3)
    assert [s["participant_id"] for s in body["suggestions"]] == [s.participant_id for s in expected.suggestions]
    assert body["suggestions"][0]["name"] == "Volkhov Bridge Repair LLC"  # as the README shows
    assert MOSTOSTROY not in [s["participant_id"] for s in body["suggestions"]]
    assert body["query"] == {"participant_id": MOSTOSTROY, "text": None}
    for s in body["suggestions"]:
        assert_explained(s)
        assert s["parts"]["codes"]["weight"] == pytest.approx(0.30)


def test_similar_by_text_finds_bridge_builders(client):
    body = client.get("/similar", params={"text": "steel bridge spans and overpass repair", "top_k": 5}).json()
    assert [s["rank"] for s in body["suggestions"]] == [1, 2, 3, 4, 5]
    assert sum(s["kind"] == "bridge builder" for s in body["suggestions"]) >= 3


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({}, "id", "give id="),
        ({"id": MOSTOSTROY, "text": "bridges"}, "text", "not both"),
        ({"text": "   "}, "text", "empty"),
        ({"text": "bridges", "top_k": 0}, "top_k", "greater than or equal to 1"),
        ({"text": "bridges", "top_k": "many"}, "top_k", "integer"),
        ({"text": "bridges", "top_k": 101}, "top_k", "less than or equal to 100"),
    ],
)
def test_similar_bad_query_is_422_naming_the_field(client, params, field, fragment):
    error(client.get("/similar", params=params), 422, field, fragment)


def test_suggest_bridge_tender_is_the_library_answer_with_its_explanation(client, sample_matcher):
    response = client.post("/suggest", json=bridge_json(), params={"top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = tender_dict(sample_matcher.suggest(BRIDGE, top_k=3))
    assert [lot["lot_id"] for lot in body["lots"]] == ["1", "2", "3", "4", "5", "6"]
    for got, want in zip(body["lots"], expected["lots"]):
        assert [s["participant_id"] for s in got["suggestions"]] == [s["participant_id"] for s in want["suggestions"]]
        for s in got["suggestions"]:
            assert_explained(s)
    assert body["lots"][0]["suggestions"][0]["name"] == "Nevsky Bridge Foundations LLC"  # as the README shows
    assert "past contract for this buyer" in body["lots"][0]["suggestions"][0]["why"]
    assert body["lots"][0]["certifications"] == ["SRO construction", "ISO 9001"]
    assert body["overall"][0]["lots"], "lead candidates name the lots where they are also in the top list"
    assert body["tender"]["id"] == "SPB-2026-BR-0147" and body["tender"]["deadline"] == "2026-12-18"


def test_suggest_takes_yaml_as_well_as_json(client):
    as_json = client.post("/suggest", json=bridge_json(), params={"top_k": 2}).json()
    as_yaml = client.post(
        "/suggest", content=BRIDGE.read_bytes(), headers={"Content-Type": "application/yaml"}, params={"top_k": 2}
    ).json()
    assert as_yaml == as_json


def test_suggest_reads_an_ocds_record(client):
    path = OCDS / "uk-ocds-b5fd17-2c470411-adc8-11e6-9901-0019b9f3037b.json"
    response = client.post("/suggest", content=path.read_bytes(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tender"]["buyer"] == "Devon County Council"
    assert body["tender"]["deadline"] == "2015-01-31"
    assert body["lots"][0]["codes"] == ["32000000-3", "64000000-6", "72000000-5"]


def test_suggest_reads_an_ocds_release_and_ranks_on_its_items(client):
    release = {
        "ocid": "ocds-test-bridge-1", "id": "r1", "date": "2026-01-10T00:00:00Z", "tag": ["tender"],
        "buyer": {"name": "Committee for Transport Infrastructure Development of St. Petersburg"},
        "tender": {
            "id": "BR-9", "title": "Repair of a steel road bridge over a river",
            "lots": [{"id": "L1", "title": "Bridge deck and bearings"}, {"id": "L2", "title": "Road approaches"}],
            "items": [
                {"id": "1", "relatedLot": "L1", "classification": {"scheme": "CPV", "id": "45221111"}},
                {"id": "2", "relatedLot": "L2", "classification": {"scheme": "CPV", "id": "45233120"}},
                {"id": "3", "relatedLot": "L2", "classification": {"scheme": "UNSPSC", "id": "not-a-code"}},
            ],
        },
    }  # fmt: skip
    body = client.post("/suggest", json={"releases": [release]}, params={"top_k": 5}).json()
    assert body["tender"]["id"] == "BR-9"
    assert [(lot["lot_id"], lot["codes"]) for lot in body["lots"]] == [("L1", ["45221111-3"]), ("L2", ["45233120-6"])]
    kinds = [s["kind"] for s in body["lots"][0]["suggestions"]]
    assert kinds.count("bridge builder") >= 3, kinds


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"title": "Bridge", "lots": [{"title": "Deck", "codes": ["45221119-0"]}]}, "lots[0].codes[0]", "check digit"),
        ({"title": "Bridge", "lots": {"title": "Deck"}}, "lots", "expected a list of lots"),
        ({"title": "Bridge", "lots": [{"title": "Deck", "value": -5}]}, "lots[0].value", "non-negative"),
        ({"title": "Bridge", "deadline": "next week"}, "deadline", "expected a date"),
        ({"description": ""}, "title", "nothing to match on"),
        ([{"title": "Bridge"}], None, "expected a tender object"),
        ({"releases": [{"ocid": "a", "tender": {"title": "x"}}, {"ocid": "b", "tender": {"title": "y"}}]}, None,
         "2 contracting processes"),
        ({"releases": [{"tender": {"title": "x"}}]}, None, "release without ocid"),
    ],
)  # fmt: skip
def test_a_bad_tender_is_422_naming_the_field(client, body, field, fragment):
    found = error(client.post("/suggest", json=body), 422, None, fragment)
    assert found["field"] == field


def test_unreadable_bodies_are_4xx_saying_why(client):
    error(client.post("/suggest", content=b'{"title": "x",', headers={"Content-Type": "application/json"}),
          422, None, "invalid JSON at line 1")  # fmt: skip
    error(client.post("/suggest", content=b"title: [x", headers={"Content-Type": "application/yaml"}),
          422, None, "invalid YAML")  # fmt: skip
    cp1251 = '{"title": "Мост"}'.encode("cp1251")
    error(client.post("/suggest", content=cp1251, headers={"Content-Type": "application/json"}), 422, None, "not UTF-8")
    error(client.post("/suggest", content=b"title: x", headers={"Content-Type": "text/csv"}), 415, "Content-Type")
    error(client.post("/suggest", content=b""), 422, None, "empty")


def test_bodies_over_the_limit_are_413_before_they_are_read(sample_matcher):
    small = TestClient(create_app(sample_matcher, rate_limit=0, max_body_bytes=2_000))
    big = json.dumps({"title": "Bridge", "description": "x" * 5_000})
    error(small.post("/suggest", content=big, headers={"Content-Type": "application/json"}), 413, None, "2,000 bytes")

    def chunks():  # no Content-Length: the body is counted as it streams in
        for _ in range(10):
            yield b" " * 500

    error(small.post("/suggest", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    assert small.post("/suggest", json={"title": "Road bridge repair"}).status_code == 200


def test_consortium_for_the_water_main_is_the_library_answer(client, sample_matcher):
    from matcher.rank.consortium import TeamConstraints

    params = {"max_partners": 3, "min_sme_share": 0.05, "teams": 2, "top_k": 3}
    response = client.post("/consortium", content=WATER.read_bytes(), params=params,
                           headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    expected = sample_matcher.consortium(WATER, TeamConstraints(max_partners=3, min_sme_share=0.05), teams=2)
    assert [t["lead"] for t in body["teams"]] == [t.lead_id for t in expected.teams]
    first = body["teams"][0]
    assert first["members"][0]["name"] == "Ladoga Water Engineering JSC"  # as the README shows
    assert len(first["members"]) <= 3 and first["sme_share"] >= 0.05 and first["uncovered"] == []
    lots = [lot["lot_id"] for lot in body["lots"]]
    assert sorted(a["lot_id"] for a in first["assignments"]) == sorted(lots)
    assert all(a["name"] and 0 < a["fit"] <= 1 for a in first["assignments"])
    assert all(len(lot["suggestions"]) == 3 for lot in body["lots"])


def test_consortium_api_and_page_show_the_joint_holding(client):
    response = client.post("/consortium", content=BRIDGE.read_bytes(), params={"teams": 1, "top_k": 1},
                           headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert response.status_code == 200, response.text
    first = response.json()["teams"][0]
    assert first["uncovered"] == []
    [lot5] = [a for a in first["assignments"] if a["lot_id"] == "5"]
    [lab] = lot5["partners"]
    assert lab["role"] == "subcontractor" and lab["name"] and lab["value_share"] == 0.0
    assert lab["certifications"] == ["Laboratory accreditation", "Bridge inspection accreditation"]
    assert lab["codes"] and set(lab["codes"]) <= {"71520000-9", "71631450-9", "71900000-7"}  # lot 5's codes
    assert {m["participant_id"] for m in first["members"]} >= {lot5["participant_id"], lab["participant_id"]}
    alone = client.post("/consortium", content=BRIDGE.read_bytes(), params={"teams": 1, "max_joint": 1},
                        headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert alone.json()["teams"][0]["uncovered"] == ["5"]
    error(client.post("/consortium", json={"title": "x"}, params={"max_joint": 9}), 422, "max_joint")
    spec = client.get("/openapi.json").json()
    assert "max_joint" in [p["name"] for p in spec["paths"]["/consortium"]["post"]["parameters"]]
    assert {"role", "certifications", "value_share", "brings"} <= set(
        spec["components"]["schemas"]["PartnerOut"]["properties"]
    )
    page = client.post("/ui/suggest", files={"sample": (None, "bridge-reconstruction.yaml"), "teams": (None, "1")})
    certifications = "Laboratory accreditation, Bridge inspection accreditation"
    brings = f'subcontractor: <span translate="no">{certifications}</span>; codes'
    assert f'<td class="partner">+ {brings}' in page.text  # in the coverage table
    assert f"</span>, {brings}" in page.text  # and under the lot's holder
    assert 'name="max_joint"' in page.text
    rows = list(csv.DictReader(io.StringIO(_export(client, "teams.csv", teams="1").text)))
    [lot5] = [r for r in rows if r["lot_id"] == "5"]
    assert "(subcontractor: Laboratory accreditation, Bridge inspection accreditation; codes" in lot5["partners"]
    alone = list(csv.DictReader(io.StringIO(_export(client, "teams.csv", teams="1", max_joint="1").text)))
    assert [r["participant_id"] for r in alone if r["lot_id"] == "5"] == [""]


def test_consortium_bad_options_are_422_naming_them(client):
    tender = {"title": "Bridge repair", "codes": ["45221111-3"]}
    error(client.post("/consortium", json=tender, params={"min_sme_share": 2}), 422, "min_sme_share")
    error(client.post("/consortium", json=tender, params={"teams": 0}), 422, "teams")
    error(client.post("/consortium", json=tender, params={"require": "RU-INN-0000000000"}), 422, None,
          "required firm RU-INN-0000000000")  # fmt: skip


def test_library_errors_map_to_statuses():
    assert status_for(UnknownParticipant("x")) == 404
    assert status_for(TenderError("x")) == 422
    assert status_for(IndexCorrupt("x")) == 503


def test_failures_are_json_never_a_traceback(sample_matcher, monkeypatch):
    app = create_app(sample_matcher, rate_limit=0)
    client = TestClient(app, raise_server_exceptions=False)
    service = app.state.follower.service

    def broken(*args, **kwargs):
        raise RuntimeError("boom in the ranking")

    monkeypatch.setattr(service, "similar", broken)
    body = error(client.get("/similar", params={"text": "bridges"}), 500, None, "internal error")
    assert "boom" not in body["detail"]

    def corrupt(*args, **kwargs):
        raise IndexCorrupt("index.faiss does not match its checksum; rebuild with `matcher index build`")

    monkeypatch.setattr(service, "similar", corrupt)
    error(client.get("/similar", params={"text": "bridges"}), 503, None, "matcher index build")


def test_spec_lists_the_endpoints_and_no_page_loads_from_a_cdn(client):
    spec = client.get("/openapi.json").json()
    assert {"/health", "/participants/{participant_id}", "/similar", "/suggest", "/consortium"} <= spec["paths"].keys()
    assert not any(p == "/" or p.startswith("/ui") for p in spec["paths"])
    suggest = spec["paths"]["/suggest"]["post"]
    assert {"application/json", "application/yaml"} <= suggest["requestBody"]["content"].keys()
    assert {"401", "413", "422", "429"} <= suggest["responses"].keys()
    assert client.get("/docs").status_code == 404  # Swagger UI would fetch its scripts from a CDN


def test_spec_lists_the_feedback_routes_with_the_delete_of_a_mark(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= paths["/feedback"].keys()
    assert "delete" in paths["/feedback/{mark_id}"]
    assert [p["name"] for p in paths["/feedback/{mark_id}"]["delete"]["parameters"]] == ["mark_id"]


# --- API key and rate limit -------------------------------------------------------------


def test_api_key_is_required_when_set(sample_matcher):
    client = TestClient(create_app(sample_matcher, api_key="s3cret", rate_limit=0))
    error(client.get("/similar", params={"text": "bridges"}), 401, "X-API-Key", "needs an API key")
    error(client.get("/similar", params={"text": "bridges"}, headers={"X-API-Key": "guess"}), 401, "X-API-Key",
          "does not hold")  # fmt: skip
    assert client.get("/openapi.json").status_code == 401
    ok = client.get("/similar", params={"text": "bridges", "top_k": 1}, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200 and len(ok.json()["suggestions"]) == 1
    assert client.get("/health").status_code == 200  # liveness probes need no key


def test_the_page_asks_for_the_key_once_and_keeps_it_in_a_cookie(sample_matcher):
    client = TestClient(create_app(sample_matcher, api_key="s3cret", rate_limit=0))
    page = client.get("/")
    assert page.status_code == 401 and 'name="api_key"' in page.text
    wrong = client.post("/ui/key", files={"api_key": (None, "guess")})
    assert wrong.status_code == 401 and "That is not this server" in wrong.text
    right = client.post("/ui/key", files={"api_key": (None, "s3cret")}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/").status_code == 200  # the client keeps the cookie


@pytest.mark.parametrize("key", ["", " ", "two words", 'qu"ote', "semi;colon", "ключ"])
def test_an_api_key_that_cannot_travel_in_a_header_is_refused(key):
    from matcher.errors import InputError

    with pytest.raises(InputError, match="API key must be letters, digits"):
        create_app(None, api_key=key)  # type: ignore[arg-type]


def test_rate_limit_is_429_with_retry_after_per_client_and_the_window_slides(sample_matcher):
    now = [0.0]
    app = create_app(sample_matcher, rate_limit=3, clock=lambda: now[0])
    first, second = TestClient(app, client=("10.0.0.1", 1000)), TestClient(app, client=("10.0.0.2", 1000))
    for t in (0.0, 1.0, 2.0):
        now[0] = t
        assert first.get("/health").status_code == 200
    now[0] = 3.0
    refused = error(first.get("/health"), 429, None, "3 requests per minute")
    assert refused is not None
    assert first.get("/health").headers["Retry-After"] == "57"  # the first request leaves the window at 60 s
    assert second.get("/health").status_code == 200  # another client has its own window
    now[0] = 60.5
    assert first.get("/health").status_code == 200


def test_sliding_window_forgets_requests_older_than_the_window():
    times = iter([0.0, 30.0, 59.0, 60.0, 90.0, 91.0])
    window = SlidingWindow(2, clock=lambda: next(times))
    assert [window.hit("a") for _ in range(6)] == [0.0, 0.0, 1.0, 0.0, 0.0, 29.0]


# --- the page ---------------------------------------------------------------------------


def test_the_page_has_both_forms_and_reads_on_a_phone(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert 'action="/ui/similar"' in page.text and 'action="/ui/suggest"' in page.text
    assert 'value="bridge-reconstruction.yaml"' in page.text
    assert "Mostostroy-Nevsky LLC" in page.text  # the member names to pick from
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "http://" not in page.text.split("<footer>")[0] and "https://" not in page.text  # nothing from elsewhere


def test_the_page_ranks_a_sample_tender_with_bars_and_team_tables(client):
    page = client.post("/ui/suggest", files={"sample": (None, "bridge-reconstruction.yaml"), "top_k": (None, "3")})
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count('<h2 class="lot">') == 6
    assert "Nevsky Bridge Foundations LLC" in html
    assert html.count('<ol class="suggestions">') == 7  # six lots and the whole tender, a row per member
    assert html.count('<table class="ranking">') == 7  # and each one's parts in detail, folded away
    assert 'class="c-buyer" style="width:' in html  # a bar per score part
    assert "<h3>Team 1: lead" in html and '<table class="coverage">' in html and "✓ " in html
    marks = html[html.index('<form id="mark-form"') :]
    assert 'name="max_joint"' in marks[: marks.index("</form>")]  # a mark re-ranks with the same options


def test_the_page_escapes_what_people_type(client):
    tender = '{"title": "<script>alert(1)</script>", "codes": ["45221111-3"]}'
    page = client.post("/ui/suggest", files={"tender_text": (None, tender)})
    assert page.status_code == 200, page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    found = client.get("/ui/similar", params={"text": '"><img src=x onerror=alert(1)>'})
    assert "<img src=x" not in found.text and "&lt;img src=x" in found.text


def test_the_print_stylesheet_leaves_out_the_forms_and_fits_a4_portrait(client):
    import re

    html = client.get("/").text
    assert "@page { size: A4 portrait; margin: 12mm 10mm; }" in html  # 190 mm (718 CSS px) of width
    printed = html[html.index("@media print") : html.index("</style>")]
    [hidden] = re.findall(r"\n\s*([^{}]+)\{ display:none !important; \}", printed)
    selectors = {s.strip() for s in hidden.split(",")}
    assert {"header", "footer", ".forms", ".downloads", ".marks", "#mark-form", "details.detail"} <= selectors
    assert "print-color-adjust: exact" in printed and ".scroll { overflow:visible" in printed
    assert "li.suggestion, ul.holdings > li" in printed and "break-inside:avoid" in printed
    assert "To print these suggestions and teams, or save them as a PDF" in _bridge_page(client)


class _Texts(HTMLParser):
    """A page's visible text, each piece with whether an element around it says translate="no"."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    UNSEEN = {"head", "style", "script", "textarea", "datalist"}

    def __init__(self, html: str):
        super().__init__()
        self.open: list[tuple[str, bool]] = []
        self.pieces: list[tuple[str, bool]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append((tag, dict(attrs).get("translate") == "no"))

    def handle_endtag(self, tag):
        at = max((i for i, (t, _) in enumerate(self.open) if t == tag), default=None)
        if at is not None:
            del self.open[at:]

    def handle_data(self, data):
        if data.strip() and not any(t in self.UNSEEN for t, _ in self.open):
            self.pieces.append((data, any(no for _, no in self.open)))

    def exposed(self, values) -> list[tuple[str, str]]:
        """(value, piece) for each value shown in a piece that is not marked translate="no"."""
        return [(v, piece) for v in values if v for piece, no in self.pieces if v in piece and not no]


def _bridge_page(client) -> str:
    page = client.post("/ui/suggest", files={"sample": (None, "bridge-reconstruction.yaml"), "top_k": (None, "3")})
    assert page.status_code == 200, page.text
    return page.text


def test_what_the_members_and_the_tender_wrote_is_marked_translate_no(client, app, sample_matcher):
    """The page's own words get translated; the data (names, ids, titles, descriptions) never."""
    names = app.state.follower.service.names
    tender = read_tender(BRIDGE)
    data = [*names.values(), *names.keys(), tender.id, tender.title, tender.buyer, *(lot.title for lot in tender.lots)]
    texts = _Texts(_bridge_page(client))
    assert texts.exposed(data) == []
    assert ("Nevsky Bridge Foundations LLC", True) in texts.pieces and ("why:", False) in texts.pieces

    firm = sample_matcher.participant("RU-INN-7838507391")
    member = _Texts(client.get(f"/ui/member/{firm.id}").text)
    projects = [x for p in firm.projects for x in (p.title, p.buyer)]
    assert member.exposed([*names.values(), firm.id, firm.description, *firm.codes, *projects]) == []
    assert (firm.description, True) in member.pieces and ("Past projects", False) in member.pieces
    similar = _Texts(client.get("/ui/similar", params={"member": firm.name}).text)
    assert similar.exposed([*names.values(), firm.id, firm.description]) == []


def test_the_page_takes_an_upload_and_says_what_is_wrong_with_a_bad_one(client):
    page = client.post("/ui/suggest", files={"tender_file": ("water.yaml", WATER.read_bytes(), "application/yaml")})
    assert page.status_code == 200 and "LEN-2026-WS-0211" in page.text
    bad = client.post("/ui/suggest", files={"tender_file": ("notes.txt", b"title: x", "text/plain")})
    assert bad.status_code == 422 and "upload a .json, .yaml or .yml tender file" in bad.text
    wrong = client.post("/ui/suggest", files={"tender_file": ("t.yaml", b"lots: {a: 1}", "application/yaml")})
    assert wrong.status_code == 422 and "field &#39;lots&#39;" in wrong.text
    unknown = client.post("/ui/suggest", files={"sample": (None, "../../etc/passwd")})
    assert unknown.status_code == 422 and "no sample tender" in unknown.text


def test_a_page_answers_a_bad_link_with_the_page_not_json(client):
    """What the page fuzz found: FastAPI's own checks of top_k and the member id answered JSON."""
    for path, params, status, fragment in [
        ("/ui/similar", {"text": "bridges", "top_k": "ten"}, 422, "top_k must be a whole number"),
        (f"/ui/member/{MOSTOSTROY}", {"top_k": "1.5"}, 422, "top_k must be a whole number"),
        ("/ui/member/" + "x" * 301, {}, 404, "no member has an id of over 300 characters"),
        ("/ui/member/a%2Fb", {}, 404, "no participant &#39;a/b&#39;"),  # an id with a slash reaches the page
    ]:  # fmt: skip
        page = client.get(path, params=params)
        assert page.status_code == status and page.headers["content-type"].startswith("text/html"), page.text
        assert fragment in page.text, page.text
    assert client.get("/ui/similar", params={"text": "bridges", "top_k": "500"}).status_code == 200  # held to 100


def test_a_stale_page_address_answers_the_page_and_an_unknown_api_path_json(client):
    missing = client.get("/ui/nothing-here")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "There is no page at /ui/nothing-here" in missing.text and 'name="text"' in missing.text  # the forms
    link = client.get("/ui/suggest")  # a form's address opened as a link
    assert link.status_code == 405 and link.headers["content-type"].startswith("text/html")
    assert "POST" in link.headers["allow"] and "takes a form sent from this page" in link.text
    russian = client.get("/ui/nothing-here", headers={"Accept-Language": "ru"})  # no cookie left behind
    assert russian.status_code == 404 and "There is no page" not in russian.text and "/ui/nothing-here" in russian.text
    api = client.get("/no-such-route")
    assert api.status_code == 404 and api.json()["detail"] == "Not Found"


def test_similar_page_finds_a_member_by_name_in_any_case(client):
    page = client.get("/ui/similar", params={"member": "mostostroy-nevsky llc", "top_k": 3})
    assert page.status_code == 200
    assert 'Members similar to <span translate="no">Mostostroy-Nevsky LLC</span>' in page.text
    assert "Volkhov Bridge Repair LLC" in page.text
    nobody = client.get("/ui/similar", params={"member": "Zzyzx Holdings"})
    assert nobody.status_code == 404 and "no member named" in nobody.text
    empty = client.get("/ui/similar", params={"member": " ", "text": ""})
    assert empty.status_code == 422 and "type a member&#39;s name or id, or describe" in empty.text


def _export(client, what: str, **fields: str):
    files = {"sample": (None, "bridge-reconstruction.yaml"), "top_k": (None, "3"), "what": (None, what)}
    files.update({k: (None, v) for k, v in fields.items()})
    return client.post("/ui/export", files=files)


def test_downloads_are_the_cli_csv_and_an_xlsx_with_the_same_rows(client, sample_matcher, tmp_path):
    from matcher.render import tender_csv

    rankings = _export(client, "rankings.csv")
    assert rankings.status_code == 200
    assert rankings.headers["content-disposition"] == 'attachment; filename="SPB-2026-BR-0147-rankings.csv"'
    cli = tender_csv(sample_matcher.suggest(BRIDGE, top_k=3))
    assert rankings.text.splitlines()[0] == cli.splitlines()[0]  # the CLI's columns
    rows = list(csv.DictReader(io.StringIO(rankings.text)))
    lot1 = [r["participant_id"] for r in csv.DictReader(io.StringIO(cli)) if r["lot_id"] == "1"]
    assert [r["participant_id"] for r in rows if r["lot_id"] == "1"] == lot1
    assert rows[0]["lot_id"] == "1" and rows[0]["name"] == "Nevsky Bridge Foundations LLC"
    assert {r["lot_id"] for r in rows} == {"1", "2", "3", "4", "5", "6", "*"}
    teams = list(csv.DictReader(io.StringIO(_export(client, "teams.csv").text)))
    assert {r["lot_id"] for r in teams if r["team"] == "1"} == {"1", "2", "3", "4", "5", "6"}

    xlsx = _export(client, "xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "results.xlsx"
    path.write_bytes(xlsx.content)
    import polars as pl

    sheet = pl.read_excel(path, sheet_name="Rankings")
    assert sheet.height == len(rows)
    assert sheet["name"].to_list() == [r["name"] for r in rows]
    assert sheet["score"].dtype == pl.Float64
    assert pl.read_excel(path, sheet_name="Teams").height == len(teams)


# --- the fit and the warning, on hand-made results (tests.test_render) -----------------------


@pytest.fixture
def weak_lot_served(app, monkeypatch):
    """The service answers every tender with the hand-made result: lot 1 weak, lot 2 strong."""
    from matcher.results import Teams
    from tests.test_render import RESULT

    service = app.state.follower.service
    monkeypatch.setattr(service, "suggest", lambda *args, **kwargs: RESULT)
    monkeypatch.setattr(service, "consortium", lambda *args, **kwargs: Teams(RESULT, (), {}, with_rankings=True))


@pytest.mark.parametrize("path", ["/suggest", "/consortium"])
def test_the_api_carries_the_fit_band_and_the_warning(client, weak_lot_served, path):
    from tests.test_render import RAIL_WARNING

    response = client.post(path, content=BRIDGE.read_bytes(), headers={"Content-Type": "application/yaml"})
    assert response.status_code == 200, response.text
    weak, strong = response.json()["lots"]
    assert weak["no_good_match"] is True and weak["warning"] == RAIL_WARNING
    assert strong["no_good_match"] is False and strong["warning"] is None
    assert [(s["fit"], s["band"]) for s in weak["suggestions"]] == [(0.03, "weak"), (0.02, "weak")]
    assert [(s["fit"], s["band"]) for s in strong["suggestions"]] == [(0.81, "strong"), (0.43, "possible")]


def test_the_spec_documents_the_fit_and_the_warning(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"fit", "band"} <= set(schemas["SuggestionOut"]["properties"])
    assert {"no_good_match", "warning"} <= set(schemas["LotOut"]["properties"])


def test_the_page_shows_the_fit_and_warns_above_the_weak_lot_only(client, weak_lot_served):
    from markupsafe import escape

    from tests.test_render import RAIL_WARNING

    page = client.post("/ui/suggest", files={"sample": (None, "bridge-reconstruction.yaml")})
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count('class="gap"') == 1
    warning = f'<p class="gap" role="alert">⚠ {escape(RAIL_WARNING)}</p>'
    lot1 = html.index('Lot <span translate="no">1: Railway signalling')
    lot2 = html.index('Lot <span translate="no">2: Bridge deck repair')
    assert lot1 < html.index(warning) < html.index('<ol class="suggestions">', lot1) < lot2
    fit = '<div class="fit band-{0}" title="chance the member can do the lot as main contractor"><small>fit</small> {1} <span class="band">{0}</span></div>'  # noqa: E501
    assert fit.format("weak", "0.03") in html and fit.format("strong", "0.81") in html
    assert fit.format("possible", "0.43") in html
    assert "shared out" not in html and "a part the lot does not ask about is neutral" in html


def test_the_downloads_carry_the_band_and_the_warning(client, weak_lot_served):
    from tests.test_render import RAIL_WARNING

    rows = list(csv.DictReader(io.StringIO(_export(client, "rankings.csv").text)))
    assert [(r["lot_id"], r["band"], r["lot_warning"]) for r in rows] == [
        ("1", "weak", RAIL_WARNING), ("1", "weak", RAIL_WARNING), ("2", "strong", ""), ("2", "possible", ""),
        ("*", "weak", ""),
    ]  # fmt: skip


# --- the CLI and the web render the same objects the same way ------------------------------


def cli(*args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def as_cli_json(body: dict) -> dict:
    """The API's answer less what it adds to the CLI's JSON: each suggestion's `why` (the table's
    Why column) and the `lots` that its model lists even when empty."""

    def suggestion(s: dict) -> dict:
        return {k: v for k, v in s.items() if k != "why" and not (k == "lots" and v == [])}

    out = {**body, "overall": [suggestion(s) for s in body["overall"]]}
    out["lots"] = [{**lot, "suggestions": [suggestion(s) for s in lot["suggestions"]]} for lot in body["lots"]]
    return out


def test_suggest_json_of_the_cli_is_the_api_answer(client, sample_workspace):
    response = client.post("/suggest", content=BRIDGE.read_bytes(), params={"top_k": 3},
                           headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert all(s["why"] for lot in body["lots"] for s in lot["suggestions"])
    assert as_cli_json(body) == json.loads(cli("suggest", str(BRIDGE), "-w", str(sample_workspace.root), "-k", "3",
                                               "-f", "json"))  # fmt: skip


def test_consortium_json_of_the_cli_is_the_api_answer(client, sample_workspace):
    params = {"max_partners": 3, "min_sme_share": 0.05, "teams": 2, "top_k": 3}
    response = client.post("/consortium", content=WATER.read_bytes(), params=params,
                           headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert response.status_code == 200, response.text
    got = json.loads(cli("suggest", str(WATER), "-w", str(sample_workspace.root), "--consortium", "-k", "3",
                         "--max-partners", "3", "--min-sme-share", "0.05", "--teams", "2", "-f", "json"))  # fmt: skip
    assert as_cli_json(response.json()) == got
    assert len(got["teams"]) == 2 and all(len(lot["suggestions"]) == 3 for lot in got["lots"])


def test_downloads_are_byte_for_byte_the_cli_csv(client, sample_workspace):
    ws = str(sample_workspace.root)
    bridge = str(BRIDGE)
    assert _export(client, "rankings.csv").text == cli("suggest", bridge, "-w", ws, "-k", "3", "-f", "csv")
    teams = cli("suggest", bridge, "-w", ws, "-k", "3", "--consortium", "--teams", "2", "-f", "csv")
    assert _export(client, "teams.csv").text == teams  # the page's defaults: 2 teams of at most 5 firms
    assert len(list(csv.DictReader(io.StringIO(teams)))) == 2 * 6


def test_xlsx_never_turns_text_into_a_formula(client, tmp_path):
    tender = json.dumps({"id": "T-1", "title": '=HYPERLINK("http://evil")', "codes": ["45221111-3"]})
    xlsx = client.post("/ui/export", files={"tender_text": (None, tender), "what": (None, "xlsx")})
    assert xlsx.status_code == 200, xlsx.text
    path = tmp_path / "t.xlsx"
    path.write_bytes(xlsx.content)
    import zipfile

    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula cell anywhere
    import polars as pl

    assert pl.read_excel(path, sheet_name="Rankings")["lot_title"][0] == '=HYPERLINK("http://evil")'


# --- the command ------------------------------------------------------------------------


def test_serve_help_has_an_example():
    result = CliRunner().invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Example: matcher serve --sample" in " ".join(result.output.split())
    assert "MATCHER_API_KEY" in result.output and "127.0.0.1" in result.output


def test_serve_refuses_sample_with_a_workspace(tmp_path):
    result = CliRunner().invoke(cli_app, ["serve", "--sample", "-w", str(tmp_path)])
    assert result.exit_code == 2 and "--sample serves the bundled sample" in result.stderr


def test_help_loads_no_web_or_model_packages():
    code = (
        "import sys; from matcher.cli import app; sys.argv = ['matcher', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'fastapi', 'uvicorn', 'jinja2', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_read_tender_reads_an_ocds_file_too():
    tender = read_tender(OCDS / "record-to-compile.json")
    assert (tender.id, tender.title, tender.buyer) == ("T-2001", "New title", "City of Testville")


# --- schemathesis against the spec ------------------------------------------------------


def test_api_conforms_to_its_spec_and_never_fails_with_5xx(app, sample_workspace):
    """Every operation with generated requests, and the spec's own examples: no 5xx, every answer as specified."""
    try:
        _conforms(app)
    finally:  # POST /feedback's example marks a member of the shared sample workspace: the other tests rank without
        from matcher.store.feedback import FeedbackStore

        store = FeedbackStore(sample_workspace.root)
        for mark in store.marks():
            store.remove(mark.id)


def _conforms(app) -> None:
    from hypothesis import given
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              response_headers_conformance]  # fmt: skip
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # health, ready, metrics, participants, participants/{id}/opportunities, similar, suggest, consortium,
    # opportunities, feedback (post, get, delete)
    assert len(operations) == 12
    statuses: list[int] = []
    for operation in operations:
        generated = [(operation.as_strategy(), 12)]
        examples = [(strategy, 2) for strategy in schema.get_strategies_from_examples(operation)]
        for strategy, count in generated + examples:

            @given(case=strategy)
            @settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)  # fmt: skip
            def conforms(case) -> None:
                statuses.append(case.call_and_validate(checks=checks).status_code)

            conforms()
    assert statuses.count(200) >= 4, statuses  # the examples of /suggest and /consortium were served, not refused
    assert 404 in statuses and 422 in statuses


# --- the page routes, fuzzed ------------------------------------------------------------
# The page is outside the spec (include_in_schema=False), so schemathesis never reaches it.

PAGE_KEY = "page-fuzz-key-0123456789"
PAGE_ROUTES = [("GET", "/"), ("GET", "/ui/similar"), ("GET", "/ui/member/{id}"), ("POST", "/ui/suggest"),
               ("POST", "/ui/feedback"), ("POST", "/ui/export"), ("POST", "/ui/key")]  # fmt: skip
TENDER_KEYS = ["id", "title", "description", "buyer", "region", "value", "currency", "deadline", "codes",
               "certifications", "lots", "language", "releases", "tender", "items"]  # fmt: skip
FRAGMENTS = ["title: Road bridge repair\n", "title: [", "{", '{"title": "Bridge", "lots": [{"id": "1"}]}',
             "lots:\n  - id: 1\n    codes: [45221111-3]\n", "a: &a [*a, *a]\n", '{"releases": []}',
             "!!python/object/apply:os.system [ls]\n", "title: x\ndeadline: 2024-13-45\n", "\ufeff{\"title\": 1}",
             "title: x\nvalue: .nan\n", "---\n...\n", "title: x\n\x00", "[" * 200]  # fmt: skip


def _tender_like():
    """Text that is, or nearly is, a tender: JSON or YAML of tender-shaped trees, and fragments."""
    from hypothesis import strategies as st

    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    tree = st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
            st.sampled_from(TENDER_KEYS) | st.text(max_size=5), inner, max_size=4
        ), max_leaves=12,
    )  # fmt: skip
    dumped = st.tuples(tree, st.booleans()).map(
        lambda t: json.dumps(t[0]) if t[1] else yaml.safe_dump(t[0], allow_unicode=True)
    )
    return dumped | st.sampled_from(FRAGMENTS) | st.just("title: Street lighting\ncodes: [45316110-9]\n")


TENDER_FIELDS = ["sample", "tender_text", "suffix", "top_k", "teams", "max_partners", "max_joint", "min_sme_share",
                 "hide_rejected"]  # fmt: skip
ROUTE_FIELDS = {"/": ["lang"], "/ui/similar": ["member", "text", "top_k", "lang"], "/ui/member/{id}": ["top_k", "lang"],
                "/ui/suggest": TENDER_FIELDS, "/ui/feedback": [*TENDER_FIELDS, "mark"],
                "/ui/export": [*TENDER_FIELDS, "what"], "/ui/key": ["api_key"]}  # fmt: skip
# sent with every request to the route (the others now and then), so that most get past the first check
ROUTE_REQUIRED = {"/ui/similar": ["text"], "/ui/suggest": ["sample"], "/ui/feedback": ["sample", "mark"],
                  "/ui/export": ["sample", "what"], "/ui/key": ["api_key"]}  # fmt: skip


def _mostly(usual, rare):
    """Four draws in five from ``usual`` (hypothesis's one_of would favour neither)."""
    from hypothesis import strategies as st

    return st.tuples(st.integers(0, 4), usual, rare).map(lambda t: t[2] if t[0] == 4 else t[1])


def _page_fields(path: str):
    """The fields a page's form or link sends: its own, each with a plausible value or (one in
    five) anything at all, and now and then one of another form's, or a token of its own."""
    from hypothesis import strategies as st

    from matcher.store.feedback import REASONS, STATUSES

    def number(low: int, high: int):
        return st.integers(low, high).map(str)

    words = st.sampled_from(["1", "SPB-2026-SL-0509", MOSTOSTROY, *STATUSES, *REASONS, ""])
    button = st.tuples(_mostly(st.just("1"), st.sampled_from(["SPB-2026-SL-0509", "L9"])),  # the sample's one lot
                       _mostly(st.just(MOSTOSTROY), st.just("RU-INN-0")), st.sampled_from(STATUSES),
                       _mostly(st.just(""), st.sampled_from(REASONS)))  # fmt: skip
    mark = _mostly(button.map(list), st.lists(words, max_size=5))
    plausible = {
        "member": st.sampled_from([MOSTOSTROY, "Mostostroy", "mostostroy-nevsky llc", "RU-INN-0000000000"]),
        "text": st.sampled_from(["bridge repair", "мостовые работы", " "]), "top_k": number(-5, 120),
        "lang": st.sampled_from(["ru", "en", "de", ""]), "sample": _mostly(
            st.just("street-lighting-no-lots.yaml"), st.sampled_from(["no-such.yaml", "../participants.csv", ""])
        ), "tender_text": _tender_like(), "suffix": st.sampled_from([".json", ".yaml", ".yml", ".txt", ""]),
        "teams": number(-1, 7), "max_partners": number(-1, 25), "max_joint": number(-1, 6),
        "min_sme_share": st.floats(-0.5, 1.5).map(str), "hide_rejected": st.sampled_from(["", "1", "on"]),
        "what": st.sampled_from(["xlsx", "rankings.csv", "teams.csv", "pdf"]), "mark": mark.map("\t".join),
        "api_key": st.sampled_from([PAGE_KEY, PAGE_KEY[:-1], ""]),
    }  # fmt: skip
    anything = st.text(max_size=30) | st.integers().map(str) | st.floats().map(str) | _tender_like()
    own = {name: _mostly(plausible[name], anything) for name in ROUTE_FIELDS[path]}
    required = {name: own.pop(name) for name in ROUTE_REQUIRED.get(path, [])}
    stray = st.sampled_from(sorted({*plausible, "csrf_token"} - set(own) - set(required)))
    fields = st.fixed_dictionaries(required, optional=own)
    return st.tuples(fields, st.lists(st.tuples(stray, anything), max_size=1)).map(lambda t: {**t[0], **dict(t[1])})


def _page_request(method: str, path: str):
    """Hypothesis's requests to a page route: query parameters, or form fields sent urlencoded or
    as multipart, with an upload of random bytes, text, or YAML/JSON."""
    from hypothesis import strategies as st

    # not "." or "..": a client resolves those segments before it sends the path, as a browser does
    ident = st.sampled_from([MOSTOSTROY, "RU-INN-0000000000", "%", "a/b", "x" * 400]) | st.text(
        min_size=1, max_size=40
    ).filter(lambda s: s not in (".", ".."))
    if method == "GET":
        return st.fixed_dictionaries({"params": _page_fields(path), "id": ident})
    name = st.sampled_from(["tender.json", "tender.yaml", "t.YML", "tender.txt", "", "../../etc/passwd.yaml"])
    content = st.binary(max_size=300) | st.text(max_size=300).map(str.encode) | _tender_like().map(str.encode)
    upload = st.none() | st.tuples(name, content)
    return st.fixed_dictionaries(
        {"fields": _page_fields(path), "upload": upload, "multipart": st.booleans(), "id": ident}
    )


def _call_page(client: TestClient, method: str, path: str, drawn: dict, csrf: str | None):
    from urllib.parse import quote

    path = path.replace("{id}", quote(drawn["id"], safe=""))
    if method == "GET":
        return client.get(path, params=drawn["params"])
    fields = dict(drawn["fields"])
    if csrf is not None:
        fields.setdefault("csrf_token", csrf)
    if drawn["upload"] is None and not drawn["multipart"]:
        return client.post(path, data=fields)
    files: dict = {k: (None, v) for k, v in fields.items()}
    if drawn["upload"] is not None:
        files["tender_file"] = drawn["upload"]
    return client.post(path, files=files)


def assert_a_page(response, method: str, path: str) -> None:
    """No 5xx, the security headers, and a page: HTML (the downloads and the key form's redirect aside)."""
    assert response.status_code < 500, (response.request.url, response.text[:2000])
    for name in ("x-content-type-options", "x-frame-options", "cross-origin-opener-policy", "referrer-policy",
                 "content-security-policy"):  # fmt: skip
        assert name in response.headers, (name, response.status_code, dict(response.headers))
    if path == "/ui/export" and response.status_code == 200:
        assert response.headers["content-disposition"].startswith("attachment;")
    elif path == "/ui/key" and response.status_code == 303:
        assert response.headers["location"] == "/"
    else:
        assert response.headers["content-type"] == "text/html; charset=utf-8", (response.request.url, response.text)
        assert "<html" in response.text.lower()


@pytest.mark.parametrize("keyed", [False, True], ids=["open", "keyed"])
@pytest.mark.parametrize(("method", "path"), PAGE_ROUTES, ids=[p for _, p in PAGE_ROUTES])
def test_the_page_routes_never_fail_with_5xx_and_always_answer_a_page(app, sample_matcher, sample_workspace,
                                                                      method, path, keyed):  # fmt: skip
    """Generated query strings, forms and uploads on every page route, without a key and with one
    (the browser logged in through the key form, its CSRF token in every post)."""
    from hypothesis import given

    cookies: dict[str, str] = {}
    csrf = None
    statuses: list[int] = []
    if keyed:
        app = create_app(sample_matcher, api_key=PAGE_KEY, rate_limit=0)
        browser = TestClient(app)
        assert browser.post("/ui/key", files={"api_key": (None, PAGE_KEY)}).status_code == 200
        [csrf] = set(re.findall(r'name="csrf_token" value="([0-9a-f]{64})"', browser.get("/").text))
        cookies = dict(browser.cookies)

    @given(drawn=_page_request(method, path))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)  # fmt: skip
    def answers_a_page(drawn) -> None:
        client = TestClient(app, cookies=cookies, follow_redirects=False)  # afresh: /ui/key may set new cookies
        response = _call_page(client, method, path, drawn, csrf)
        assert_a_page(response, method, path)
        statuses.append(response.status_code)

    try:
        answers_a_page()
        assert {200, 303} & set(statuses), statuses  # some got past the checks: the fuzz reached the work
    finally:  # a mark the fuzz happened to make is not left for the other tests
        from matcher.store.feedback import FeedbackStore

        store = FeedbackStore(sample_workspace.root)
        for mark in store.marks():
            store.remove(mark.id)
