"""The server's defences, each with a test a wrong implementation fails: API keys (several, from a
file, compared against all), CORS off unless asked, YAML/JSON bombs refused, bounded uploads and
OCDS packages, CSRF tokens and the Origin check on the page's forms, and the security headers."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matcher.cli import app as cli_app
from matcher.errors import InputError, TenderError
from matcher.inputs import ocds_tender, tenders
from matcher.inputs.tenders import MAX_DEPTH, parse_tender_text, read_tender
from matcher.web import create_app
from matcher.web.keys import CSRF_COOKIE, KeyRing, csrf_token, read_api_keys
from tests.conftest import SAMPLE

MOSTOSTROY = "RU-INN-7842227069"
BRIDGE = SAMPLE / "tenders" / "bridge-reconstruction.yaml"
OLD, NEW = "old-key-0123456789", "new-key-9876543210"
EVIL = "https://evil.example"
APP_ORIGIN = "https://app.example.org"
BILLION_LAUGHS = (
    'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    + "title: Bridge repair\ncodes: *i\n"
)
DEEP = {
    ".yaml": "[" * 10_000 + "]" * 10_000,
    ".json": '{"a": ' * 10_000 + "1" + "}" * 10_000,
}
TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "field"}, body
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


def keyed(sample_matcher, **kwargs) -> TestClient:
    return TestClient(create_app(sample_matcher, api_key=kwargs.pop("api_key", [OLD, NEW]), rate_limit=0, **kwargs))


def logged_in(sample_matcher, key: str = NEW) -> TestClient:
    """A browser that typed the key into the page's form: it holds the key and nonce cookies."""
    client = keyed(sample_matcher)
    assert client.post("/ui/key", files={"api_key": (None, key)}, follow_redirects=False).status_code == 303
    return client


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch):
    monkeypatch.delenv("MATCHER_API_KEY", raising=False)
    monkeypatch.delenv("MATCHER_API_KEY_FILE", raising=False)


# --- 1. API keys: several, from a file, each compared --------------------------------------------


def test_any_of_several_keys_opens_the_api_and_the_page(sample_matcher):
    client = keyed(sample_matcher)
    for key in (OLD, NEW):
        assert client.get(f"/participants/{MOSTOSTROY}", headers={"X-API-Key": key}).status_code == 200
    error(client.get(f"/participants/{MOSTOSTROY}", headers={"X-API-Key": OLD[:-1]}), 401, "does not hold")
    error(client.get(f"/participants/{MOSTOSTROY}", headers={"X-API-Key": OLD + NEW}), 401)
    for key in (OLD, NEW):
        browser = keyed(sample_matcher)
        assert browser.post("/ui/key", files={"api_key": (None, key)}).status_code == 200
        assert browser.get("/").status_code == 200
    assert keyed(sample_matcher).post("/ui/key", files={"api_key": (None, "guess")}).status_code == 401


def test_every_key_is_compared_even_when_the_first_one_matches(sample_matcher, monkeypatch):
    """No short cut: a guess costs the same comparisons whichever key (if any) it matches."""
    calls: list[bytes] = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    keys = ["first-key-aaaaaaaa", "second-key-bbbbbbb", "third-key-ccccccccc"]
    ring = KeyRing.of(keys)
    assert ring is not None
    for given in (keys[0], keys[2], "wrong-key-dddddddd", None):
        calls.clear()
        ring.matches(given)
        assert sorted(calls) == sorted(k.encode() for k in keys), given

    client = TestClient(create_app(sample_matcher, api_key=keys, rate_limit=0))
    calls.clear()
    assert client.get(f"/participants/{MOSTOSTROY}", headers={"X-API-Key": keys[0]}).status_code == 200
    assert len(calls) == 3, "the header guard compared against every key"
    calls.clear()
    assert client.post("/ui/key", files={"api_key": (None, keys[0])}, follow_redirects=False).status_code == 303
    assert len(calls) == 3, "the page's key form compared against every key"


def test_a_bad_key_among_several_is_refused_without_showing_it():
    with pytest.raises(InputError, match="API key 2 of 2 must be letters") as caught:
        create_app(None, api_key=[OLD, "has a space"])  # type: ignore[arg-type]
    assert "has a space" not in str(caught.value)
    with pytest.raises(InputError, match="no API key given"):
        create_app(None, api_key=[])  # type: ignore[arg-type]


def test_a_key_file_has_one_key_a_line_with_comments(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"\ufeff# rotated 2026-01\n\n  {OLD}  \n{NEW}  # since March\n{NEW}\n", encoding="utf-8")
    assert read_api_keys(path) == (OLD, NEW)


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ["no such API key file"]),
        ("# only a comment\n\n", ["holds no key"]),
        (f"{OLD}\nhunter2 with spaces\n", ["line 2", "not an API key", "not shown"]),
        (b"\xff\xfehunter2-in-latin1\xe9", ["not UTF-8"]),
    ],
)
def test_a_bad_key_file_names_the_file_and_line_never_the_key(tmp_path, content, fragments):
    path = tmp_path / "keys"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_api_keys(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert all(f in message for f in fragments), message
    assert "hunter2" not in message and OLD not in message


def test_an_unreadable_key_file_says_so(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_api_keys(tmp_path)
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    path = tmp_path / "keys"
    path.write_text(OLD)
    path.chmod(0)
    with pytest.raises(InputError, match="cannot read the API key file"):
        read_api_keys(path)


def test_serve_refuses_a_key_and_a_key_file_together(tmp_path):
    path = tmp_path / "keys"
    path.write_text(NEW)
    for args, env in [(["--api-key", OLD, "--api-key-file", str(path)], {}),
                      (["--api-key-file", str(path)], {"MATCHER_API_KEY": OLD}),
                      (["--api-key", OLD], {"MATCHER_API_KEY_FILE": str(path)})]:  # fmt: skip
        result = CliRunner().invoke(cli_app, ["serve", "-w", str(tmp_path / "nowhere"), *args], env=env)
        assert result.exit_code == 2, result.output
        assert "not both" in result.stderr and OLD not in result.stderr and NEW not in result.stderr


def test_serve_says_what_is_wrong_with_a_key_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text("s3cret value\n")
    result = CliRunner().invoke(cli_app, ["serve", "-w", str(tmp_path / "nowhere"), "--api-key-file", str(path)])
    assert result.exit_code == 2 and "line 1: not an API key" in " ".join(result.stderr.split())
    assert "s3cret" not in result.output
    missing = CliRunner().invoke(cli_app, ["serve", "-w", str(tmp_path), "--api-key-file", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no such API key file" in missing.stderr


def test_serve_serves_with_the_keys_of_the_file_and_the_cors_origins(sample_workspace, tmp_path, monkeypatch):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app, **kwargs))
    path = tmp_path / "keys"
    path.write_text(f"{OLD}\n{NEW}\n")
    result = CliRunner().invoke(
        cli_app, ["serve", "-w", str(sample_workspace.root), "--api-key-file", str(path), "--rate-limit", "0",
                  "--cors-origin", APP_ORIGIN, "--cors-origin", "http://localhost:3000"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert OLD not in result.output and NEW not in result.output, "keys are never printed"
    client = TestClient(served["app"])
    for key in (OLD, NEW):
        assert (
            client.get("/similar", params={"text": "bridges", "top_k": 1}, headers={"X-API-Key": key}).status_code
            == 200
        )
    assert client.get("/similar", params={"text": "bridges"}).status_code == 401
    cors = client.get("/health", headers={"Origin": "http://localhost:3000"})
    assert cors.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_serve_turns_the_key_on_from_matcher_api_key_alone(sample_workspace, monkeypatch):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app, **kwargs))
    result = CliRunner().invoke(
        cli_app, ["serve", "-w", str(sample_workspace.root), "--rate-limit", "0"], env={"MATCHER_API_KEY": NEW}
    )
    assert result.exit_code == 0, result.output
    assert NEW not in result.output, "the key is never printed"
    client = TestClient(served["app"])
    error(client.get(f"/participants/{MOSTOSTROY}"), 401, "needs an API key")
    assert client.get(f"/participants/{MOSTOSTROY}", headers={"X-API-Key": NEW}).status_code == 200
    assert client.get("/").status_code == 401  # the page asks for the key


def test_a_worker_reads_the_keys_and_the_cors_origins_from_its_environment(sample_workspace, tmp_path, monkeypatch):
    """`serve --workers N` hands each worker its keys and origins only through the environment
    (WorkerSettings.to_env); the worker's factory must turn them back into the same guards."""
    from matcher.web import worker

    settings = worker.WorkerSettings(
        workspace=str(sample_workspace.root), model=None, rate_limit=1000, max_body_bytes=100_000, follow_s=None,
        shared_rate_limit=str(tmp_path / "rate.sqlite3"), cors_origins=[APP_ORIGIN],
    )  # fmt: skip
    for name, value in settings.to_env([OLD, NEW]).items():
        monkeypatch.setenv(name, value)
    client = TestClient(worker.create())
    for key in (OLD, NEW):
        answer = client.get("/similar", params={"text": "bridges", "top_k": 1}, headers={"X-API-Key": key})
        assert answer.status_code == 200, answer.text
    error(client.get("/similar", params={"text": "bridges"}), 401, "needs an API key")
    error(client.get("/similar", params={"text": "bridges"}, headers={"X-API-Key": OLD[:-1]}), 401, "does not hold")
    cors = client.get("/health", headers={"Origin": APP_ORIGIN})
    assert cors.status_code == 200 and cors.headers["access-control-allow-origin"] == APP_ORIGIN
    assert preflight(client, APP_ORIGIN).headers["access-control-allow-origin"] == APP_ORIGIN
    assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": EVIL}).headers


def test_a_wrong_key_counts_against_the_rate_limit(sample_matcher):
    """Keys cannot be guessed at speed: the limit applies before the key is checked."""
    client = TestClient(create_app(sample_matcher, api_key=NEW, rate_limit=3, clock=lambda: 0.0))
    for _ in range(3):
        error(client.get("/similar", params={"text": "x"}, headers={"X-API-Key": "guess"}), 401)
    error(client.get("/similar", params={"text": "x"}, headers={"X-API-Key": "guess"}), 429, "3 requests per minute")


# --- 2. CORS: off unless asked for -----------------------------------------------------------------


def preflight(client: TestClient, origin: str, path: str = "/suggest", headers: str = "x-api-key, content-type"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": headers})  # fmt: skip


@pytest.mark.parametrize("api_key", [None, NEW])
def test_no_cross_origin_answer_by_default(sample_matcher, api_key):
    client = TestClient(create_app(sample_matcher, api_key=api_key, rate_limit=0))
    answer = client.get("/health", headers={"Origin": EVIL})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight(client, EVIL).headers
    assert "access-control-allow-origin" not in client.get("/", headers={"Origin": EVIL}).headers


def test_cors_origins_are_exactly_those_asked_for(sample_matcher):
    client = keyed(sample_matcher, cors_origins=[APP_ORIGIN])
    answer = client.get("/similar", params={"text": "bridges", "top_k": 1},
                        headers={"Origin": APP_ORIGIN, "X-API-Key": NEW})  # fmt: skip
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "access-control-allow-credentials" not in answer.headers
    ok = preflight(client, APP_ORIGIN)  # a preflight carries no key, and needs none
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == APP_ORIGIN
    assert set(ok.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    assert {"x-api-key", "content-type"} <= set(ok.headers["access-control-allow-headers"].lower().split(", "))
    assert "access-control-allow-credentials" not in ok.headers
    other_header = preflight(client, APP_ORIGIN, headers="authorization")
    assert (
        other_header.status_code == 400 and "authorization" not in other_header.headers["access-control-allow-headers"]
    )
    for origin in (EVIL, APP_ORIGIN + ".evil.example", "http://app.example.org"):
        assert "access-control-allow-origin" not in preflight(client, origin).headers
        assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": origin}).headers
    posted = client.post("/suggest", json={"title": "Road bridge repair"},
                         headers={"Origin": APP_ORIGIN, "X-API-Key": NEW})  # fmt: skip
    assert posted.status_code == 200 and posted.headers["access-control-allow-origin"] == APP_ORIGIN


@pytest.mark.parametrize("origin", ["*", "https://app.example.org/", "app.example.org", "https://a.org/path", "null"])
def test_a_cors_origin_must_be_a_scheme_and_a_host(origin):
    with pytest.raises(InputError, match="a CORS origin is a scheme and a host"):
        create_app(None, cors_origins=[origin])  # type: ignore[arg-type]


# --- 3. YAML and JSON bombs -------------------------------------------------------------------------


def test_a_billion_laughs_is_refused_at_its_first_alias_before_anything_is_built(tmp_path, monkeypatch):
    import yaml.constructor

    def never(*args, **kwargs):
        raise AssertionError("the document was constructed")

    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_document", never)
    with pytest.raises(TenderError, match=r"^laughs, line 2: a YAML alias \(\*a\)") as caught:
        parse_tender_text(BILLION_LAUGHS, "laughs", ".yaml")
    assert "write the value out in full" in str(caught.value)
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)
    with pytest.raises(TenderError, match=f"^{re.escape(str(path))}, line 2: a YAML alias"):
        read_tender(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(tmp_path, suffix):
    with pytest.raises(TenderError, match=f"^deep, line 1: lists and objects nested more than {MAX_DEPTH} deep"):
        parse_tender_text(DEEP[suffix], "deep", suffix)
    path = tmp_path / f"deep{suffix}"
    path.write_text(DEEP[suffix])
    with pytest.raises(TenderError, match="nested more than 50 deep"):
        read_tender(path)
    # Exactly the limit reads (and fails only as a tender); brackets inside strings are text.
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    with pytest.raises(TenderError, match="expected a tender object"):
        parse_tender_text(at_limit, "ok", suffix)
    tender = parse_tender_text('{"title": "Bridge [[[[' + "[" * 100 + '", "codes": ["45221111-3"]}', "ok", suffix)
    assert tender.title.startswith("Bridge [[[[")


def test_yaml_nested_by_indentation_is_bounded_too():
    text = "title: x\nlots:\n" + "".join("  " * i + "- a:\n" for i in range(1, 2 * MAX_DEPTH))
    with pytest.raises(TenderError, match=r"line \d+: lists and objects nested more than 50 deep"):
        parse_tender_text(text, "deep", ".yaml")


def test_yaml_of_too_many_values_is_refused_early():
    text = "title: Bridge\ncodes: [" + "1, " * (tenders.MAX_YAML_NODES + 10) + "1]\n"
    with pytest.raises(TenderError, match="more than 20,000 values in YAML.*as JSON"):
        parse_tender_text(text, "many", ".yaml")


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (BILLION_LAUGHS, "application/yaml", "line 2: a YAML alias"),
        (DEEP[".yaml"], "application/yaml", "nested more than 50 deep"),
        (DEEP[".json"], "application/json", "nested more than 50 deep"),
        ("[" * 10_000 + "]" * 10_000, "application/json", "nested more than 50 deep"),
    ],
)
def test_bombs_through_the_api_are_422_naming_the_body_and_line(sample_matcher, body, content_type, fragment):
    client = TestClient(create_app(sample_matcher, rate_limit=0), raise_server_exceptions=False)
    for path in ("/suggest", "/consortium"):
        found = error(client.post(path, content=body, headers={"Content-Type": content_type}), 422, fragment)
        assert found["detail"].startswith("<request body>, line ")
    page = client.post("/ui/suggest", files={"tender_text": (None, body)})
    assert page.status_code == 422 and fragment in page.text


def test_a_huge_flow_list_is_stopped_by_the_body_limit(sample_matcher):
    client = TestClient(create_app(sample_matcher, rate_limit=0))
    huge = "title: x\ncodes: [" + "1," * 600_000 + "1]\n"
    error(client.post("/suggest", content=huge, headers={"Content-Type": "application/yaml"}), 413, "1,000,000 bytes")
    error(client.post("/ui/suggest", files={"tender_text": (None, huge)}), 413, "1,000,000 bytes")


# --- 4. uploads and OCDS packages bounded ---------------------------------------------------------


def test_an_upload_over_the_limit_is_413(sample_matcher):
    client = TestClient(create_app(sample_matcher, rate_limit=0, max_body_bytes=10_000))
    big = b"title: Bridge repair\n" + b"# padding\n" * 2_000
    error(client.post("/ui/suggest", files={"tender_file": ("t.yaml", big, "application/yaml")}), 413, "10,000 bytes")
    small = client.post("/ui/suggest", files={"tender_file": ("t.yaml", big[:5_000], "application/yaml")})
    assert small.status_code == 200, small.text


def test_a_streamed_upload_is_cut_off_at_the_limit_not_read_to_its_end(sample_matcher):
    """Without Content-Length the body is counted as it arrives: the server stops asking for more."""
    limit, chunk = 10_000, b"# padding\n" * 100
    app = create_app(sample_matcher, rate_limit=0, max_body_bytes=limit)
    head = (b'--XyZ\r\nContent-Disposition: form-data; name="tender_file"; filename="t.yaml"\r\n'
            b"Content-Type: application/yaml\r\n\r\ntitle: Bridge repair\n")  # fmt: skip
    pulled, sent = [0], []

    async def receive():
        pulled[0] += 1
        if pulled[0] > 10_000:  # 10 MB: the test's own stop, never reached by a bounded server
            return {"type": "http.request", "body": b"\r\n--XyZ--\r\n", "more_body": False}
        return {"type": "http.request", "body": head if pulled[0] == 1 else chunk, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/ui/suggest", "raw_path": b"/ui/suggest", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"multipart/form-data; boundary=XyZ")],
        "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled[0] <= limit // len(chunk) + 2, f"read {pulled[0]} chunks of {len(chunk)} bytes"


def release(i: int, ocid: str = "ocds-test-1") -> dict:
    return {"ocid": ocid, "id": f"r{i}", "date": f"2026-01-{1 + i % 28:02d}T00:00:00Z", "tag": ["tender"],
            "tender": {"id": "T-1", "title": "Road bridge repair"}}  # fmt: skip


def test_an_ocds_package_of_too_many_releases_is_refused_before_it_is_merged(sample_matcher, monkeypatch):
    import matcher.inputs.ocds_files

    def never(*args, **kwargs):
        raise AssertionError("the releases were compiled")

    monkeypatch.setattr(ocds_tender, "compile_groups", never)
    monkeypatch.setattr(matcher.inputs.ocds_files, "compile_releases", never)
    limit = ocds_tender.MAX_RELEASES
    package = {"releases": [release(i) for i in range(limit + 1)]}
    with pytest.raises(TenderError, match=f"holds {limit + 1:,} releases and records, over the limit of {limit:,}"):
        tenders.parse_tender(package, "package.json")
    # inside records too: one record holding the releases counts them all
    records = {"records": [{"ocid": "ocds-test-1", "releases": [release(i) for i in range(limit)]}]}
    with pytest.raises(TenderError, match=f"holds {limit + 1:,} releases and records"):
        tenders.parse_tender(records, "records.json")
    client = TestClient(create_app(sample_matcher, rate_limit=0, max_body_bytes=10_000_000))
    error(client.post("/suggest", content=json.dumps(package), headers={"Content-Type": "application/json"}), 422,
          "over the limit of 1,000")  # fmt: skip


def test_an_ocds_package_at_the_limit_reads(monkeypatch):
    monkeypatch.setattr(ocds_tender, "MAX_RELEASES", 3)
    tender = tenders.parse_tender({"releases": [release(i) for i in range(3)]}, "package.json")
    assert tender.title == "Road bridge repair"
    with pytest.raises(TenderError, match="holds 4 releases"):
        tenders.parse_tender({"releases": [release(i) for i in range(4)]}, "package.json")


# --- 5. CSRF tokens and the Origin check ----------------------------------------------------------


def token(page) -> str:
    found = TOKEN_RE.findall(page.text)
    assert found, "the page's POST forms carry a csrf_token"
    return found[0]


def suggest_form(csrf: str | None = None, **extra) -> dict:
    fields = {"sample": (None, "bridge-reconstruction.yaml"), "top_k": (None, "2"), **extra}
    if csrf is not None:
        fields["csrf_token"] = (None, csrf)
    return fields


def test_the_page_forms_carry_a_token_and_work_with_it(sample_matcher):
    client = logged_in(sample_matcher)
    page = client.get("/")
    csrf = token(page)
    assert page.text.count(f'value="{csrf}"') == 1  # the tender form (the download form comes with results)
    result = client.post("/ui/suggest", files=suggest_form(csrf))
    assert result.status_code == 200, result.text
    assert "Nevsky Bridge Foundations LLC" in result.text
    # the tender form, the downloads and the mark buttons' form
    assert result.text.count(f'name="csrf_token" value="{csrf}"') == 3
    download = client.post("/ui/export", files=suggest_form(csrf, what=(None, "rankings.csv")))
    assert download.status_code == 200 and download.text.startswith("tender_id,lot_id")


@pytest.mark.parametrize("path", ["/ui/suggest", "/ui/export", "/ui/feedback"])
def test_a_forged_post_with_the_cookie_but_no_valid_token_is_403(sample_matcher, path):
    client = logged_in(sample_matcher)
    csrf = token(client.get("/"))
    nonce = client.cookies[CSRF_COOKIE]
    other_nonce = "A" * 43
    for forged in [None, "", "0" * 64, csrf[:-1] + ("0" if csrf[-1] != "0" else "1"), other_nonce,
                   csrf_token("a-key-i-made-up-1234", nonce)]:  # fmt: skip
        refused = client.post(path, files=suggest_form(forged, what=(None, "rankings.csv")))
        assert refused.status_code == 403, forged
        assert "no valid CSRF token" in refused.text and "<form" in refused.text
    # A sibling site that sets its own nonce cookie cannot make the token without the key.
    client.cookies.delete(CSRF_COOKIE)
    client.cookies.set(CSRF_COOKIE, other_nonce)
    assert client.post(path, files=suggest_form(other_nonce)).status_code == 403
    accepted = client.post(path, files=suggest_form(csrf_token(NEW, other_nonce), what=(None, "xlsx")))
    # (a mark form without a pressed mark button is let through the token check and then refused)
    assert accepted.status_code == (422 if path == "/ui/feedback" else 200)


def test_a_token_is_tied_to_the_key_of_the_cookie(sample_matcher):
    old, new = logged_in(sample_matcher, OLD), logged_in(sample_matcher, NEW)
    old_token = token(old.get("/"))
    nonce = old.cookies[CSRF_COOKIE]
    new.cookies.delete(CSRF_COOKIE)
    new.cookies.set(CSRF_COOKIE, nonce)
    assert new.post("/ui/suggest", files=suggest_form(old_token)).status_code == 403
    assert old.post("/ui/suggest", files=suggest_form(old_token)).status_code == 200


def test_a_program_with_the_key_header_needs_no_token(sample_matcher):
    client = keyed(sample_matcher)
    answer = client.post("/ui/suggest", files=suggest_form(), headers={"X-API-Key": OLD})
    assert answer.status_code == 200, answer.text


def test_a_browser_from_before_the_tokens_gets_a_nonce_with_the_page(sample_matcher):
    client = keyed(sample_matcher)
    client.cookies.set("matcher_api_key", NEW)  # the key cookie alone, as the page set it before
    page = client.get("/")
    assert page.status_code == 200 and CSRF_COOKIE in page.cookies
    assert client.post("/ui/suggest", files=suggest_form(token(page))).status_code == 200


def test_without_a_key_the_forms_need_no_token(sample_matcher):
    client = TestClient(create_app(sample_matcher, rate_limit=0))
    page = client.get("/")
    assert "csrf_token" not in page.text and CSRF_COOKIE not in page.cookies
    assert client.post("/ui/suggest", files=suggest_form()).status_code == 200


@pytest.mark.parametrize("api_key", [None, NEW])
def test_a_post_from_another_site_is_refused(sample_matcher, api_key):
    client = TestClient(create_app(sample_matcher, api_key=api_key, rate_limit=0))
    if api_key:
        client.post("/ui/key", files={"api_key": (None, api_key)})
    csrf = TOKEN_RE.findall(client.get("/").text)
    fields = suggest_form(csrf[0] if csrf else None)
    for origin in (EVIL, "null", "http://testserver.evil.example", "https://testserver:8443"):
        refused = client.post("/ui/suggest", files=fields, headers={"Origin": origin})
        error(refused, 403, "sent from another site", repr(origin))
        error(client.post("/suggest", json={"title": "Road bridge"}, headers={"Origin": origin}), 403)
    error(client.post("/ui/key", files={"api_key": (None, NEW)}, headers={"Origin": EVIL}), 403)
    assert client.post("/ui/suggest", files=fields, headers={"Origin": "http://testserver"}).status_code == 200
    assert client.post("/ui/suggest", files=fields).status_code == 200  # no Origin: not a browser's cross-site post
    behind_proxy = {"Origin": "https://matcher.example.org", "Host": "127.0.0.1:8000",
                    "X-Forwarded-Host": "matcher.example.org"}  # fmt: skip
    assert client.post("/ui/suggest", files=fields, headers=behind_proxy).status_code == 200
    assert client.get("/ui/similar", params={"text": "bridges"}, headers={"Origin": EVIL}).status_code == 200


def test_the_cors_origins_may_post_to_the_api_but_not_to_the_page(sample_matcher):
    client = TestClient(create_app(sample_matcher, rate_limit=0, cors_origins=[APP_ORIGIN]))
    assert client.post("/suggest", json={"title": "Road bridge"}, headers={"Origin": APP_ORIGIN}).status_code == 200
    error(client.post("/ui/suggest", files=suggest_form(), headers={"Origin": APP_ORIGIN}), 403)


# --- 6. security headers on every answer -----------------------------------------------------------

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def assert_secured(response, no_store: bool, csp: str | None = "default-src 'none'; frame-ancestors 'none'") -> None:
    """The headers; a page (csp=None: it has its own policy) sends its referrer to its own site only,
    so that its form posts carry their Origin (with no-referrer a browser sends "Origin: null")."""
    expected = {**SECURITY, "referrer-policy": "same-origin"} if csp is None else SECURITY
    for name, value in expected.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))
    if csp is not None:
        assert response.headers["content-security-policy"] == csp
    assert len(response.headers.get_list("content-security-policy")) == 1
    assert (response.headers.get("cache-control") == "no-store") is no_store, dict(response.headers)


def test_every_answer_has_the_security_headers(sample_matcher, monkeypatch):
    open_app = create_app(sample_matcher, rate_limit=1, max_body_bytes=2_000, clock=lambda: 0.0)
    client = TestClient(open_app, raise_server_exceptions=False)
    first, limited = client.get("/health"), client.get("/health")
    assert (first.status_code, limited.status_code) == (200, 429)
    assert_secured(first, no_store=False)  # JSON
    assert_secured(limited, no_store=False)  # the rate limit's own answer

    client = TestClient(create_app(sample_matcher, rate_limit=0, max_body_bytes=2_000), raise_server_exceptions=False)
    page = client.get("/")
    assert page.status_code == 200
    assert_secured(page, no_store=False, csp=None)  # the page keeps its own policy
    big = client.post("/suggest", content=b"x" * 5_000, headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    assert_secured(big, no_store=False)
    assert_secured(client.get(f"/participants/{MOSTOSTROY}x"), no_store=False)  # 404 from a route
    assert_secured(client.post("/suggest", content=b"{", headers={"Content-Type": "application/json"}), False)

    app = create_app(sample_matcher, api_key=NEW, rate_limit=0)
    client = TestClient(app, raise_server_exceptions=False)
    assert_secured(client.get("/health"), no_store=True)
    unauthorised = client.get("/similar", params={"text": "x"})
    assert unauthorised.status_code == 401
    assert_secured(unauthorised, no_store=True)
    key_form = client.get("/")
    assert key_form.status_code == 401
    assert_secured(key_form, no_store=True, csp=None)
    assert_secured(client.get("/similar", params={"text": "x"}, headers={"X-API-Key": NEW}), no_store=True)
    export = client.post("/ui/export", files=suggest_form(what=(None, "rankings.csv")), headers={"X-API-Key": NEW})
    assert export.status_code == 200
    assert_secured(export, no_store=True)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.follower.service, "similar", broken)
    failed = client.get("/similar", params={"text": "x"}, headers={"X-API-Key": NEW})
    assert failed.status_code == 500
    assert_secured(failed, no_store=True)


def test_the_page_policy_allows_no_script(sample_matcher):
    client = keyed(sample_matcher)
    for response in (client.get("/"), logged_in(sample_matcher).get("/")):
        policy = dict(
            part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";") if part
        )
        assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
        assert policy.get("script-src", "'none'") == "'none'", policy
        assert "<script" not in response.text.lower()
