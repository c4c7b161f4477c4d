"""End to end: `matcher serve` in a subprocess, the page driven in headless Chromium.

Chromium is Debian's package (`make test` installs it when missing; no browser is ever
downloaded), driven by Playwright through ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STARTUP_LIMIT_S = 180  # loading the model in a fresh process; a limit to give up at, not a speed check
OLD_KEY, NEW_KEY = "browser-old-key-1234", "browser-new-key-5678"
NEVSKY = "RU-INN-7838507391"  # Nevsky Bridge Foundations LLC, first for the bridge's lot 1


def chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(workspace, folder: Path, *extra: str):
    """`matcher serve` on the workspace, on a free port, its output in a log file; yields its URL."""
    port = free_port()
    log = folder / "serve.log"
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("MATCHER_API_KEY", None)
    env.pop("MATCHER_API_KEY_FILE", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "matcher", "serve", "-w", str(workspace.root), "--port", str(port),
             "--rate-limit", "0", *extra],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"matcher serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"matcher serve did not answer on {url}:\n{log.read_text(errors='replace')}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def open_bridge(page, server: str, top_k: int = 3) -> None:
    """The bridge sample's suggestions and teams, from the page's form."""
    page.goto(server + "/")
    page.select_option("#sample", "bridge-reconstruction.yaml")
    page.fill("#top_k", str(top_k))
    with page.expect_navigation():
        page.click("#suggest")


@pytest.fixture(scope="module")
def server(sample_workspace, tmp_path_factory):
    """`matcher serve` on the sample index, without a key."""
    yield from start_serve(sample_workspace, tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def keyed_server(sample_workspace, tmp_path_factory):
    """`matcher serve` on the sample index with two keys from a key file."""
    folder = tmp_path_factory.mktemp("serve-keyed")
    keys = folder / "api-keys"
    keys.write_text(f"# the old key, until the clients move\n{OLD_KEY}\n{NEW_KEY}\n")
    yield from start_serve(sample_workspace, folder, "--api-key-file", str(keys))


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if path is None:
        pytest.skip(
            "Chromium is not installed (`make test` installs Debian's chromium; here: apt-get install chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_the_page_ranks_the_bridge_tender_and_proposes_teams(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests_elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else requests_elsewhere.append(r.url))
    page.goto(server + "/")
    assert page.title() == "matcher"
    open_bridge(page, server)

    assert page.locator("#suggest-results h1").inner_text().startswith("SPB-2026-BR-0147")
    lots = page.locator("h2.lot")
    assert lots.count() == 6
    assert lots.first.inner_text().startswith("Lot 1: Reconstruction of the bridge superstructure and piers")
    first = page.locator("section.lot").first
    assert first.locator("li.suggestion").count() == 3
    top = first.locator("li.suggestion").first
    assert "Nevsky Bridge Foundations LLC" in top.locator(".who").inner_text()
    assert top.locator(".stack i").count() >= 3  # the score as stacked contributions
    assert "strong" in top.locator(".fit").inner_text() and top.locator(".why").inner_text().startswith("why:")
    details = first.locator("details.detail")
    assert not details.locator("table.ranking").is_visible()  # each part's value, folded away
    details.locator("summary").click()
    assert details.locator("tbody tr").first.locator(".bar i").count() >= 5  # a bar for each score part

    teams = page.locator("table.coverage")
    assert teams.count() >= 1
    header = teams.first.locator("thead th")
    assert header.first.inner_text() == "Lot" and "(lead)" in header.nth(1).inner_text()
    assert teams.first.locator("tbody tr").count() == 6  # lot × member: one row per lot
    assert teams.first.locator("td.hit").count() == 6  # every lot has a holder: lots 5 and 6 held jointly
    partner = teams.first.locator("td.partner")
    assert partner.count() == 2 and "subcontractor: Laboratory accreditation" in partner.first.inner_text()
    assert "subcontractor: Educational licence" in partner.nth(1).inner_text()  # the training centre on lot 6
    assert "holds" in teams.first.locator("tbody tr").nth(4).locator("td.hit").inner_text()

    shot = tmp_path / "bridge-tender.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with page.expect_download() as download:
        page.click("button[value='xlsx']")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "SPB-2026-BR-0147.xlsx" and saved.read_bytes()[:2] == b"PK"
    assert requests_elsewhere == [], "the page loads nothing from other servers"


@pytest.fixture
def reported_lot(sample_workspace):
    """The bridge's lot 1 reported to its first member, as `matcher opportunities` records it."""
    from matcher.store.reported import Reported, ReportedLot, reported_path

    Reported(sample_workspace.root).record([
        ReportedLot(NEVSKY, "SPB-2026-BR-0147", "1", "Reconstruction of the Ust-Slavyanka ring-road bridge",
                    "Reconstruction of the bridge superstructure and piers", 0.57, "strong", None, None,
                    "2026-12-01T02:00:00+00:00"),
    ])  # fmt: skip
    yield NEVSKY
    reported_path(sample_workspace.root).unlink(missing_ok=True)  # the sample workspace is the session's


def test_a_member_name_leads_to_its_page_with_codes_projects_similar_and_open_lots(
    server, browser, reported_lot, tmp_path
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests_elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else requests_elsewhere.append(r.url))
    open_bridge(page, server)
    with page.expect_navigation():
        page.locator("li.suggestion .who a").first.click()
    assert page.url.endswith(f"/ui/member/{reported_lot}")
    assert page.locator("#member h1").inner_text() == "Nevsky Bridge Foundations LLC"
    assert page.locator("ul.codes li").count() >= 1
    assert "construction work" in page.locator("ul.codes").inner_text().lower()  # codes carry their labels
    lots = page.locator("#open-lots li")
    assert lots.count() == 1 and "superstructure and piers" in lots.first.inner_text()
    assert page.locator("#projects li").count() >= 1
    assert page.locator("ol.suggestions").last.locator("li.suggestion").count() == 5  # similar members
    page.screenshot(path=str(tmp_path / "member.png"), full_page=True)
    assert requests_elsewhere == [], "the page loads nothing from other servers"


def test_the_page_reads_on_a_phone(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page.goto(server + "/ui/similar?member=Mostostroy-Nevsky%20LLC&top_k=5")
    assert "Volkhov Bridge Repair LLC" in page.locator("li.suggestion").first.inner_text()
    assert not page.locator("th.partcol").first.is_visible()  # each part's value is folded away
    assert_fits(page, 390)  # nothing but the tables' own scroll boxes is wider than the phone
    page.screenshot(path=str(tmp_path / "similar-phone.png"), full_page=True)


# --- the page as a report: every width, and printed ---------------------------------------

# Each language the page speaks, asked for as a browser does (Accept-Language); a language is one entry.
LANGUAGES = ["en", "ru"]
SCREENS = [(1280, 900), (390, 844)]  # a laptop, a phone
A4_PT = (595.92, 842.88)  # Chromium's A4 (8.27 × 11.69 in) in PDF points
# A4's 210 mm less the @page margins (10 mm each side, page.css) at 96 CSS px per inch.
PRINT_WIDTH_PX = int((210 - 2 * 10) / 25.4 * 96)  # 718
MARGIN_PT = 10 / 25.4 * 72
BANDS = {f"fit band-{band}" for band in ("strong", "possible", "weak")}

# Every element, and every run of text, that sticks out of [0, limit], but what lies inside a
# scrolling table box (`.scroll`, which must fit itself); hidden and folded-away ones have no box.
# Text is measured on its own since it can overflow a box that fits (a long word, nowrap).
WIDE_JS = """([limit, scrolls]) => {
  const wide = [];
  const out = (r) => (r.width > 0 || r.height > 0) && (r.left < -0.5 || r.right > limit + 0.5);
  const skip = (el) => scrolls && el.closest('.scroll') !== null;
  const at = (r) => ` [${Math.round(r.left)}, ${Math.round(r.right)}]`;
  for (const el of document.querySelectorAll('body *')) {
    if (skip(el.parentElement)) continue;
    const r = el.getBoundingClientRect();
    if (out(r)) wide.push(`${el.tagName.toLowerCase()}.${el.className}` + at(r));
  }
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    if (!node.textContent.trim() || skip(node.parentElement)) continue;
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (out(r)) wide.push(`text "${node.textContent.trim().slice(0, 40)}"` + at(r));
  }
  return wide;
}"""


def artifacts() -> Path:
    from tests.conftest import ROOT

    folder = Path(os.environ.get("MATCHER_ARTIFACTS", ROOT / "build" / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def assert_fits(page, width: int, scrolls: bool = True) -> None:
    """Nothing but a scrolling table is wider than ``width``, nor is the page itself."""
    assert page.evaluate(WIDE_JS, [width, scrolls]) == [], f"wider than {width} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def inside(box, width: int) -> bool:
    return box is not None and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width


def squeeze(text: str) -> str:
    """Text to compare across layouts: ligatures undone (ﬁ), and no spaces or line breaks."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_bridge_tender_reads_like_a_report_on_a_laptop_a_phone_and_a4(server, browser, lang, reported_lot):
    """At 1280 and 390 px every lot's members show their fit, chart and reasons with no sideways
    scroll (only a table in a scrolling box may be wider); printed, the suggestions and teams fit
    A4 portrait: every lot's title with its first member's name and reasons, and every team, are
    in the PDF's text, and no text starts outside the page's printable width."""
    folder = artifacts()
    lots: list[dict[str, str]] = []
    for width, height in SCREENS:
        context = browser.new_context(locale=lang, viewport={"width": width, "height": height})
        page = context.new_page()
        open_bridge(page, server)
        assert_fits(page, width)
        sections = page.locator("section.lot")
        assert sections.count() == 6
        lots = []
        for i in range(sections.count()):
            top = sections.nth(i).locator("li.suggestion").first
            for part in (".who a", ".fit", ".chart .stack", ".why", ".marks"):
                assert inside(top.locator(part).bounding_box(), width), f"lot {i + 1}: {part} at {width} px"
            assert top.locator(".fit").get_attribute("class") in BANDS  # the band, in any language
            lots.append({
                "title": sections.nth(i).locator("h2.lot").inner_text(),
                "member": top.locator(".who a").inner_text(), "why": top.locator(".why").inner_text(),
            })  # fmt: skip
        holding = page.locator("ul.holdings li").first
        assert inside(holding.bounding_box(), width)  # what a team holds, lot by lot, without scrolling
        page.screenshot(path=str(folder / f"bridge-{lang}-{width}.png"), full_page=True)
        page.goto(f"{server}/ui/member/{reported_lot}")
        assert_fits(page, width)
        for part in ("#member h1", "ul.codes", "#open-lots li", "#projects li", "ol.suggestions li.suggestion"):
            assert inside(page.locator(part).first.bounding_box(), width), f"member page: {part} at {width} px"
        page.screenshot(path=str(folder / f"member-{lang}-{width}.png"), full_page=True)
        context.close()

    # Printed: laid out at the printable width of A4, nothing wider, scrolling boxes included.
    context = browser.new_context(locale=lang, viewport={"width": PRINT_WIDTH_PX, "height": 1000})
    page = context.new_page()
    open_bridge(page, server)
    page.emulate_media(media="print")
    assert not page.locator("form.downloads").is_visible() and not page.locator(".forms").is_visible()
    assert not page.locator("button.mark").first.is_visible() and not page.locator("footer").is_visible()
    assert page.locator("ul.holdings").first.is_visible()
    assert_fits(page, PRINT_WIDTH_PX, scrolls=False)
    teams = page.locator("section.team").all_inner_texts()  # as printed: without the coverage tables
    page.screenshot(path=str(folder / f"bridge-{lang}-print.png"), full_page=True)
    pdf = folder / f"bridge-{lang}.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    context.close()
    check_pdf(pdf, lots, teams)


def check_pdf(pdf: Path, lots: list[dict[str, str]], teams: list[str]) -> None:
    """A4 portrait pages; the lots, their first members and reasons, and the teams in the text, each
    lot's heading on the page of its first member; no text starting outside the side margins."""
    pypdf = pytest.importorskip("pypdf", reason="the pypdf package is not installed (pip install -e '.[dev]')")
    reader = pypdf.PdfReader(pdf)
    assert 2 <= len(reader.pages) <= 20
    starts: list[float] = []

    def at(text, cm, tm, font, size):
        if text.strip():
            starts.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])

    texts = []
    for number, pdf_page in enumerate(reader.pages, 1):
        box = pdf_page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(A4_PT, abs=1), f"page {number}"
        texts.append(pdf_page.extract_text(visitor_text=at))
    text = squeeze(" ".join(texts))
    assert starts and min(starts) >= MARGIN_PT - 1 and max(starts) <= A4_PT[0] - MARGIN_PT, "text outside the margins"
    for lot in lots:
        for what in ("title", "member", "why"):
            assert squeeze(lot[what]) in text, f"{what} of {lot['title']!r} not in the PDF"
        # a heading is never left at the foot of a page: its first member is on the same page
        pages = [squeeze(t) for t in texts if squeeze(lot["title"]) in squeeze(t)]
        assert len(pages) == 1, f"the heading {lot['title']!r} is broken across two pages"
        assert squeeze(lot["member"]) in pages[0], f"{lot['title']!r} ends a page without its members"
    assert teams
    for team in teams:  # each whole, what it holds lot by lot and what it lacks
        assert squeeze(team) in text, f"{team[:60]!r}… not in the PDF"


def test_with_a_key_the_page_asks_for_it_once_and_its_forms_carry_the_token(keyed_server, browser, tmp_path):
    """The key form, the HttpOnly cookies, the CSRF token and the Origin check, in a real browser:
    Chromium's own form posts (with their Origin header) pass, and the downloads too."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(keyed_server + "/")
    page.fill("#api_key", "a wrong key")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "That is not this server" in page.content()
    page.fill("#api_key", NEW_KEY)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.title() == "matcher"
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["matcher_api_key"]["httpOnly"] and cookies["matcher_csrf"]["httpOnly"]
    assert cookies["matcher_api_key"]["sameSite"] == "Strict"
    page.select_option("#sample", "bridge-reconstruction.yaml")
    page.fill("#top_k", "2")
    with page.expect_navigation():
        page.click("#suggest")
    assert page.locator("#suggest-results h1").inner_text().startswith("SPB-2026-BR-0147")
    with page.expect_download() as download:
        page.click("button[value='rankings.csv']")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8").startswith("tender_id,lot_id")

    # A form whose token is gone is refused with a message, and the page it shows works again.
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_navigation():
        page.click("#suggest")
    assert "no valid CSRF token" in page.content()
    page.select_option("#sample", "bridge-reconstruction.yaml")
    with page.expect_navigation():
        page.click("#suggest")
    assert page.locator("#suggest-results h1").count() == 1
    context.close()


def test_a_mark_made_on_the_page_shows_on_the_next_suggestion(keyed_server, browser, sample_workspace):
    """The Shortlist button of a lot's ranking (a form post with its CSRF token), then a new
    suggestion; then a reason from the "Not relevant…" menu, and with hide-rejected ticked the
    member is gone from the lot's ranking."""
    from matcher.store.feedback import FeedbackStore

    store = FeedbackStore(sample_workspace.root)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(keyed_server + "/")
        page.fill("#api_key", NEW_KEY)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.select_option("#sample", "bridge-reconstruction.yaml")
        page.fill("#top_k", "3")
        with page.expect_navigation():
            page.click("#suggest")
        top = page.locator("li.suggestion").first
        member = top.locator(".who small").inner_text().split(" · ")[0]
        assert top.locator(".badge").count() == 0
        with page.expect_navigation():
            top.locator("button.mark", has_text="Shortlist").click()
        assert "shortlisted for lot 1" in page.locator("#mark-notice").inner_text()
        [mark] = store.marks()
        assert (mark.tender_id, mark.lot_id, mark.member_id, mark.status) == (
            "SPB-2026-BR-0147",
            "1",
            member,
            "shortlisted",
        )
        page.select_option("#sample", "bridge-reconstruction.yaml")  # the next suggestion, from the form
        with page.expect_navigation():
            page.click("#suggest")
        row = page.locator("section.lot").first.locator("li.suggestion", has_text=member).first
        assert row.locator(".badge.mark-shortlisted").inner_text() == "shortlisted"
        row.locator("details summary", has_text="Not relevant").click()  # the menu of reasons opens
        with page.expect_navigation():
            row.locator("button.mark.reject", has_text="too far").click()
        assert store.marks()[-1].status == "not-relevant" and store.marks()[-1].reason == "too-far"
        page.select_option("#sample", "bridge-reconstruction.yaml")
        page.check("#hide_rejected")
        with page.expect_navigation():
            page.click("#suggest")
        shown = page.locator("section.lot").first.locator("li.suggestion .who small").all_inner_texts()
        assert shown and member not in [who.split(" · ")[0] for who in shown]  # hidden, not just ranked lower
    finally:  # the sample workspace is shared by the session's other tests
        for m in store.marks():
            store.remove(m.id)
        context.close()
