"""Russian and English: the catalogues are complete and compiled, and every output speaks the language asked.

The catalogue tests run Babel's own extraction over the code and templates, so a string marked
for translation and left without Russian fails here, not in front of a user.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Sequence

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matcher.cli import app as cli
from matcher.i18n import LOCALE_DIR, check_language, language, negotiate, ntr, tr, use
from matcher.inputs.tenders import read_tender
from matcher.web.app import create_app
from tests.conftest import ROOT, SAMPLE

PO = LOCALE_DIR / "ru" / "LC_MESSAGES" / "matcher.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"tr": None, "ntr": (1, 2), "N_": None, "_": None, "gettext": None, "ngettext": (1, 2)}
BRIDGE = SAMPLE / "tenders" / "bridge-reconstruction.yaml"
DEPOT = SAMPLE / "tenders" / "metro-depot-ru.ocds.json"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
runner = CliRunner()


def _catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="ru")


def _marked() -> set[str]:
    """Every string the code and the templates mark for translation, as Babel extracts them."""
    method_map = [("matcher/**.py", "python"), ("matcher/web/templates/**.html", "jinja2")]
    options = {"matcher/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_a_russian_translation_with_the_same_placeholders():
    catalogue = _catalogue()
    marked = _marked()
    assert len(marked) > 100  # the extraction found the code's strings (not an empty run)
    translated = {}
    for m in catalogue:
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if all(strings) and "fuzzy" not in m.flags:
            translated[key] = m
    missing = sorted(marked - set(translated))
    assert not missing, f"no Russian for {missing[:10]}: run `make messages` and translate them in {PO}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check() if errors]
    assert not problems  # Babel's python-format check: the same %(name)s in msgid and msgstr
    assert catalogue.num_plurals == 3  # Russian: 1 контракт, 2 контракта, 5 контрактов


def test_the_compiled_catalogue_is_the_po_file():
    out = io.BytesIO()
    write_mo(out, _catalogue())
    assert MO.read_bytes() == out.getvalue(), "matcher.mo is stale: run `make messages`"


def test_language_choice_and_plurals():
    assert language() == "en" and tr("strong") == "strong"
    with use("ru-RU"):
        assert language() == "ru"
        assert tr("strong") == "сильное"
        forms = [
            ntr("%(n)s past contract for this buyer", "%(n)s past contracts for this buyer", n) for n in (1, 3, 5, 21)
        ]
        assert forms == [
            "1 прошлый контракт с этим заказчиком", "3 прошлых контракта с этим заказчиком",
            "5 прошлых контрактов с этим заказчиком", "21 прошлый контракт с этим заказчиком",
        ]  # fmt: skip
    assert language() == "en"
    assert negotiate("de;q=1.0, ru;q=0.8, en;q=0.5") == "ru"
    assert negotiate("en-GB,en;q=0.9,ru;q=0.8") == "en"
    assert negotiate("ru;q=0, fr") is None
    with pytest.raises(Exception, match="matcher speaks en and ru"):
        check_language("de")


def _reasons(result) -> list[str]:
    return [p.detail for lot in result.lots for s in lot.suggestions for p in s.parts]


def test_a_ranking_explains_itself_in_the_language_asked(sample_matcher):
    english = sample_matcher.suggest(BRIDGE, top_k=3)
    with use("ru"):
        russian = sample_matcher.suggest(BRIDGE, top_k=3)
    # the same members in the same order with the same scores: only the words change
    assert [(s.participant_id, s.score) for s in english.lots[0].suggestions] == [
        (s.participant_id, s.score) for s in russian.lots[0].suggestions
    ]
    first_en, first_ru = english.lots[0].suggestions[0], russian.lots[0].suggestions[0]
    assert "past contract for" in first_en.part("buyer").detail
    assert "прошлый контракт с заказчиком" in first_ru.part("buyer").detail
    # codes: Russian CPV labels in the Russian words, English ones in the English
    assert re.search(r"коды \d/\d .*Установка свай", first_ru.part("codes").detail), first_ru.part("codes").detail
    assert "Pile driving" in first_en.part("codes").detail
    assert all(not CYRILLIC.search(d) for d in _reasons(english) if "Committee" in d or "codes" in d)
    assert all(CYRILLIC.search(d) for d in _reasons(russian) if d)  # no part left in English


def test_the_cli_speaks_russian_with_lang_and_matcher_lang(sample_workspace):
    ru = runner.invoke(cli, ["--lang", "ru", "suggest", str(DEPOT), "-w", str(sample_workspace.root), "--top-k", "3"])
    assert ru.exit_code == 0, ru.output
    assert "Лот 1:" in ru.output and "Почему" in ru.output and "Соответствие" in ru.output
    assert "Whole tender" not in ru.output and "Why" not in ru.output
    env = runner.invoke(
        cli, ["suggest", str(DEPOT), "-w", str(sample_workspace.root), "--top-k", "3"], env={"MATCHER_LANG": "ru"}
    )
    assert env.exit_code == 0 and "Тендер целиком" in env.output
    en = runner.invoke(cli, ["suggest", str(DEPOT), "-w", str(sample_workspace.root), "--top-k", "3"])
    assert en.exit_code == 0 and "Whole tender" in en.output and "Почему" not in en.output
    bad = runner.invoke(cli, ["--lang", "de", "suggest", str(DEPOT)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


@pytest.fixture(scope="module")
def client(sample_matcher):
    return TestClient(create_app(sample_matcher, rate_limit=0))


def test_the_api_answers_in_the_language_of_accept_language(client):
    body = BRIDGE.read_text(encoding="utf-8")
    plain = client.post("/suggest?top_k=2", content=body, headers={"Content-Type": "application/yaml"})
    russian = client.post(
        "/suggest?top_k=2", content=body,
        headers={"Content-Type": "application/yaml", "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"},
    )  # fmt: skip
    assert plain.status_code == russian.status_code == 200
    assert plain.headers["content-language"] == "en" and russian.headers["content-language"] == "ru"
    assert "Accept-Language" in russian.headers["vary"]
    why_en = plain.json()["lots"][0]["suggestions"][0]["why"]
    why_ru = russian.json()["lots"][0]["suggestions"][0]["why"]
    assert "past contract for this buyer" in why_en and "прошлый контракт с этим заказчиком" in why_ru
    # the values stay machine values in any language
    assert russian.json()["lots"][0]["suggestions"][0]["band"] in ("strong", "possible", "weak")


def test_lang_in_the_query_wins_and_is_remembered_in_a_cookie(client):
    first = client.get("/?lang=ru", headers={"Accept-Language": "en"})
    assert first.headers["content-language"] == "ru"
    assert "matcher_lang=ru" in first.headers["set-cookie"]
    again = client.get("/", headers={"Accept-Language": "en"})  # the client keeps the cookie
    assert again.headers["content-language"] == "ru"
    back = client.get("/?lang=en")
    assert back.headers["content-language"] == "en"
    client.cookies.clear()


def test_no_string_is_marked_inside_an_f_string():
    """Babel's extractor cannot see a ``tr(...)`` inside an f-string (one token before Python 3.12):
    such a string would silently stay English."""
    import tokenize

    found = []
    for path in sorted((ROOT / "matcher").rglob("*.py")):
        with path.open("rb") as f:
            for tok in tokenize.tokenize(f.readline):
                text = tok.string
                if (
                    tok.type == tokenize.STRING
                    and text[:2].lower() in ('f"', "f'")
                    and re.search(r"\b(tr|ntr)\(", text)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    assert not found, f"move tr() out of the f-string at {found}"


def test_each_members_digest_speaks_its_language_unless_one_is_chosen(sample_workspace, sample_matcher):
    from matcher.opportunities import opportunities
    from matcher.render.opportunities import digest_html

    report = opportunities(sample_workspace, [SAMPLE / "tenders"], matcher=sample_matcher, remember=False)
    by_language = {mo.language: mo for mo in report.members}
    ru, en = by_language["ru"], by_language["en"]
    assert ru.in_own_language and not en.in_own_language  # the run spoke English; the Russian member's lots again
    page = digest_html(ru, report)
    assert '<html lang="ru">' in page and "Новые тендеры для" in page and "Почему" in page
    reasons = [short for o in ru.in_own_language if (short := o.suggestion.part("codes").detail)]
    assert reasons and all(CYRILLIC.search(r) for r in reasons)
    assert '<html lang="en">' in digest_html(en, report) and "Why" in digest_html(en, report)
    with use("en"):  # chosen (--lang en): every digest in English, its reasons too
        chosen = digest_html(ru, report)
        assert '<html lang="en">' in chosen and "Почему" not in chosen and "codes" in chosen


# Words that are names of formats, tools and standards, the same in Russian text
NOT_ENGLISH = {"matcher", "BM25", "CSV", "XLSX", "API", "OpenAPI", "YAML", "JSON", "OCDS", "PDF", "CSRF", "CP-SAT",
               "Ctrl", "P", "A4", "yaml", "yml", "json", "xlsx", "csv", "CPV", "UNSPSC"}  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
PATH = re.compile(r"[\w.-]+/[\w./-]+")  # a file's path (docs/evaluation.md) is a name, not words
FIELD = re.compile(r"«[\w.\[\]-]+»")  # a field of the tender file, quoted: «lots[0].codes» is a name too


def _words(text: str) -> list[str]:
    return LATIN_WORD.findall(FIELD.sub(" ", PATH.sub(" ", text)))


def english_left(page: str, data: Sequence[str] = ()) -> list[str]:
    """The Latin-letter words a person sees on a page (text, placeholders, tooltips, labels for
    screen readers), outside elements marked ``translate="no"`` (names, ids, codes, the members'
    and tenders' own words) and outside the style sheet; ``data``: the members' and tenders'
    own words where sentences quote them (a buyer in a reason, a certification in a team's lacks)."""
    import html as html_module

    for datum in sorted(data, key=len, reverse=True):
        page = page.replace(html_module.escape(datum, quote=False), " ")
    from html.parser import HTMLParser

    class Visible(HTMLParser):
        VOID = {"br", "input", "meta", "link", "img", "hr"}

        def __init__(self):
            super().__init__()
            self.stack: list[tuple[str, bool]] = []
            self.words: list[str] = []

        def _hidden(self) -> bool:
            return any(skip for _tag, skip in self.stack)

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            skip = a.get("translate") == "no" or tag in ("style", "script", "code")
            if not skip and not self._hidden():
                for name in ("placeholder", "title", "aria-label"):
                    if a.get(name):
                        self.words += _words(a[name])
            if tag not in self.VOID:
                self.stack.append((tag, skip))

        def handle_endtag(self, tag):
            while self.stack:
                if self.stack.pop()[0] == tag:
                    break

        def handle_data(self, data):
            if not self._hidden():
                self.words += _words(data)

    parser = Visible()
    parser.feed(page)
    return [w for w in parser.words if w not in NOT_ENGLISH]


def test_the_russian_page_has_no_english_label(client, sample_matcher):
    sample = BRIDGE.name
    pages = {
        "start": client.get("/?lang=ru"),
        "bridge": client.post("/ui/suggest", data={"sample": sample, "top_k": "3", "teams": "2"}),
        "similar": client.get("/ui/similar", params={"text": "мостовые сооружения", "top_k": 3}),
        "member": client.get("/ui/member/RU-INN-7838507391"),
        "error": client.get("/ui/similar", params={"member": "", "text": ""}),
        "bad tender": client.post("/ui/suggest", data={"tender_text": "title: Ремонт\ncodes: [45221119-8]\n"}),
        "no tender": client.post("/ui/suggest", data={"top_k": "3"}),
    }
    client.cookies.clear()
    assert pages["bad tender"].status_code == 422 and "контрольная цифра 8" in pages["bad tender"].text
    assert "выберите тендер из примеров" in pages["no tender"].text
    tender = read_tender(BRIDGE)
    data = [tender.id, tender.title, tender.buyer or "", tender.region or ""]
    for lot in tender.lots:
        data += [lot.title, lot.region or "", *lot.certifications, *lot.codes]
    for firm in sample_matcher.participants:
        data += [firm.id, firm.name, *firm.regions, *firm.certifications]
    for name, response in pages.items():
        assert response.headers["content-language"] == "ru", name
        assert CYRILLIC.search(response.text), name
        left = english_left(response.text, [d for d in data if d])
        assert not left, f"English on the Russian {name} page: {sorted(set(left))[:30]}"
    english = client.post("/ui/suggest", data={"sample": sample, "top_k": "3"}, headers={"Accept-Language": "en"})
    assert english_left(english.text)  # the check sees English where there is English
    assert '<html lang="en">' in english.text and '<html lang="ru">' in pages["bridge"].text


def test_ingest_dry_run_and_its_rejects_speak_russian(tmp_path):
    source = ROOT / "tests" / "data" / "readers" / "members-1251.csv"
    ws = tmp_path / "ws"
    ru = runner.invoke(cli, ["--lang", "ru", "ingest", "--dry-run", str(source), "-w", str(ws)])
    assert ru.exit_code == 3, ru.output  # two rows would be rejected: bad INN check digits
    assert "Пробный прогон: ничего не записано." in ru.output
    assert "разделитель ячеек ';'" in ru.output and "ИНН -> inn (синоним" in ru.output
    assert "ИНН 6161341444 не проходит проверку: последние цифры должны быть 3, а не 4" in ru.output
    assert not ws.exists()  # a dry run writes nothing, in any language
    en = runner.invoke(cli, ["ingest", "--dry-run", str(source), "-w", str(ws)])
    assert "Dry run: nothing was written." in en.output and "fails its check" in en.output


def test_the_writing_commands_summaries_speak_russian(tmp_path, fake):
    """What ingest, index build and index status say, in Russian with --lang ru and in English as
    scripts grep it without."""
    source = tmp_path / "members-1251.csv"  # a real ingest writes its rejects beside its input: not into tests/data
    shutil.copy(ROOT / "tests" / "data" / "readers" / "members-1251.csv", source)
    ws = str(tmp_path / "ws")
    ru = runner.invoke(cli, ["--lang", "ru", "ingest", str(source), "-w", ws])
    assert ru.exit_code in (0, 3) and "Сохранено участников:" in ru.output and "Далее: matcher index build" in ru.output
    built = runner.invoke(cli, ["--lang", "ru", "index", "build", "-w", ws])
    assert built.exit_code == 0 and "Построен индекс участников:" in built.output, built.output
    status = runner.invoke(cli, ["--lang", "ru", "index", "status", "-w", ws])
    assert status.exit_code == 0 and "целостность    в порядке" in status.output.replace("\u00a0", " ")
    assert "рабочая папка" in status.output and "workspace" not in status.output
    en = runner.invoke(cli, ["index", "status", "-w", ws])
    assert "integrity     ok: every file matches its checksum" in en.output
