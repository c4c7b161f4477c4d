"""The page: similar firms by name or text, a tender's ranked members and teams, CSV/XLSX downloads.

Server-rendered Jinja2 with autoescaping, plain forms, no script and nothing fetched from
elsewhere (the CSS, ``templates/page.css``, is inline, with the print stylesheet that lays the
suggestions and teams out on A4). Downloads post the tender back and are computed again: the
server keeps no state between requests, and the same inputs give the same rankings.

With an API key, the key travels in a cookie, which a browser also sends with a form that a
page of another site posts here; so each POST form carries a CSRF token (``keys.csrf_token``
of a nonce cookie) that such a page cannot know, and a post authenticated by the cookie without
it is refused (403). Without a key there is nothing for a forged post to use or to read (any
client may query; a page of another site cannot read the answer), and the Origin check of
:class:`matcher.web.guards.OriginCheck` still refuses cross-site posts.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from matcher.errors import InputError, MatcherError
from matcher.i18n import LANGUAGE_NAMES, N_, digits, language, tr, translations
from matcher.rank.calibration import band
from matcher.render.parts import (
    PART_ORDER,
    columns,
    footnote,
    largest,
    lot_warning,
    short_reasons,
    team_method,
    word,
)
from matcher.results import MARK_WORDS, Partner, Suggestion, Teams
from matcher.schema import Tender
from matcher.store.feedback import REASONS
from matcher.web.errors import public_message, status_for
from matcher.web.guards import API_KEY_COOKIE, API_KEY_HEADER, PAGE_REFERRER_POLICY
from matcher.web.keys import CSRF_COOKIE, CSRF_FIELD, KeyRing, csrf_token, new_nonce, valid_nonce
from matcher.web.language import LANG_PARAM
from matcher.web.service import Service, sample_tenders, tender_from_bytes

if TYPE_CHECKING:
    import jinja2

router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).parent / "templates"
# No script, no outside resources: what a page cannot load, injected text cannot use either.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Referrer-Policy": PAGE_REFERRER_POLICY}
PART_LABEL = {
    "semantic": N_("Meaning"), "lexical": N_("Words"), "buyer": N_("Buyer"), "codes": N_("Codes"),
    "certifications": N_("Certs"), "region": N_("Region"), "size": N_("Size"), "feedback": N_("Marked"),
}  # fmt: skip
FORM_LIMITS = {"max_files": 1, "max_fields": 20}
# The page's mark buttons: (status, reason, label); each posts "lot<TAB>member<TAB>status<TAB>reason".
MARK_BUTTONS = (
    ("shortlisted", "", N_("Shortlist")),
    ("contacted", "", N_("Contacted")),
    ("won", "", N_("Won")),
    ("lost", "", N_("Lost")),
)
REJECT_BUTTONS = tuple((reason, MARK_WORDS[reason]) for reason in REASONS)  # labels translated when shown
FORGED = N_(
    "This form was refused: it carries no valid CSRF token, so it may have been sent by a page of "
    "another site. If you sent it, submit it again from this page (it now has a fresh token)."
)
TEXT_SUFFIXES = {".json": ".json", ".yaml": ".yaml", ".yml": ".yaml"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.add_extension("jinja2.ext.i18n")
    # the language of the request in force (matcher.web.language), looked up at each call;
    # install_gettext_callables is added to the environment by the i18n extension
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: translations(language()).gettext(message),
        ngettext=lambda singular, plural, n: translations(language()).ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals["part_label"] = _PartLabels()
    env.globals["mark_buttons"] = MARK_BUTTONS
    env.globals["reject_buttons"] = REJECT_BUTTONS
    env.globals["footnote"] = footnote
    env.globals["language"] = language
    env.filters["word"] = word
    env.filters["amount"] = amount
    return env


def amount(value: float) -> str:
    """A money amount in whole units, grouped as the language writes it: 1,420,000 or 1 420 000."""
    return digits(f"{value:,.0f}")


class _PartLabels:
    """A part's name on the page, in the language shown: ``part_label.get(name, default)``."""

    def get(self, name: str, default: str | None = None) -> str:
        return tr(PART_LABEL[name]) if name in PART_LABEL else default or name


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def key_form_html(error: str | None = None) -> str:
    return environment().get_template("key.html").render(error=error)


def _service(request: Request) -> Service:
    return request.state.service  # pinned when the request arrived (app.PinVersion)


# --- what the templates show ----------------------------------------------------------


def table_view(suggestions: Iterable[Suggestion]) -> dict[str, Any]:
    """A ranking as the page shows it: per member its score as a stacked bar of each part's
    contribution, and for the detail table a bar per part (its value).

    A bar's full width is a score of 1 (the hand weights sum to 1), so the bars of every lot,
    and of the whole tender, are drawn on one scale: a longer bar is a higher score anywhere on
    the page, and each segment is the part's share of it.
    """
    suggestions = list(suggestions)
    cols = columns(suggestions)
    rows = []
    for s in suggestions:
        cells = []
        for name in cols.parts:
            part = s.part(name)
            cells.append(None if part is None else {
                "value": part.value, "width": _percent(part.value), "detail": part.detail,
                "contribution": part.contribution,
            })  # fmt: skip
        shown = [] if cols.learned else sorted(
            (p for p in s.parts if p.contribution), key=lambda p: PART_ORDER.index(p.name)
        )  # fmt: skip
        stack = [{"name": p.name, "width": _percent(p.contribution, 1), "detail": p.detail,
                  "contribution": p.contribution} for p in shown if p.contribution > 0]  # fmt: skip
        rows.append({
            "s": s, "cells": cells, "stack": stack, "why": short_reasons(s),
            "breakdown": largest(s) if cols.learned else [],
            "contributions": [(p.name, p.contribution) for p in shown],
        })  # fmt: skip
    parts = [{"name": n, "weight": cols.weights.get(n, 0.0)} for n in cols.parts]
    return {"columns": parts, "rows": rows, "learned": cols.learned, "fit": cols.fit}


def _percent(share: float, digits: int = 0) -> float:
    """A share of a bar's width, in per cent, held to the bar."""
    return round(100 * min(1.0, max(0.0, share)), digits)


def teams_view(found: Teams) -> list[dict[str, Any]]:
    """Each team as what it holds lot by lot and as its coverage table (lots down, members
    across). Per lot, ``holding`` is the holder with its fit and its partners, and ``cells`` says
    for each member whether it holds the lot, is a partner, or takes no part (None).

    What a partner brings stays in parts (role, share, certifications, codes) rather than one
    sentence (``render.parts.brings``), so the page can mark the tender's own words
    ``translate="no"`` and put its own around them."""
    calibrated = any(s.fit is not None for lot in found.suggestions.lots for s in lot.suggestions)
    out = []
    for t in found.teams:
        taken = {a.lot_id: a for a in t.assignments}
        lots: list[dict[str, Any]] = []
        for lot in found.tender.lots:
            a = taken.get(lot.id)
            if a is None:
                lots.append({"lot": lot, "holding": None, "cells": [None] * len(t.members)})
                continue
            partners = {p.participant_id: _partner(p, found.names) for p in a.partners}
            holding: dict[str, Any] = {
                "holder": found.names.get(a.participant_id, a.participant_id), "fit": a.score,
                "band": band(a.score) if calibrated else None, "joint": bool(a.partners),
                "share": a.holder_share if a.partners and a.holder_share < 1 else None,
                "partners": list(partners.values()),
            }  # fmt: skip
            cells = [{"kind": "holds", **holding} if m == a.participant_id else partners.get(m) for m in t.members]
            lots.append({"lot": lot, "holding": holding, "cells": cells})
        members = [{"id": m, "name": found.names.get(m, m), "lead": m == t.lead_id} for m in t.members]
        lead = found.names.get(t.lead_id or "", t.lead_id or tr("none"))
        out.append({"team": t, "members": members, "lots": lots, "lead": lead, "method": team_method(t)})
    return out


def _partner(p: Partner, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "kind": "partner", "name": names.get(p.participant_id, p.participant_id), "role": p.role,
        "share": p.value_share if p.role == "co-holder" else None, "certifications": p.certifications,
        "codes": p.codes,
    }  # fmt: skip


def _message(request: Request, exc: MatcherError) -> str:
    return public_message(str(exc), _service(request).matcher.workspace.root)


def _keys(request: Request) -> KeyRing | None:
    return request.app.state.keys


def _cookie_key(request: Request) -> str | None:
    """The API key of the page's cookie, when it is one of the server's keys."""
    keys, key = _keys(request), request.cookies.get(API_KEY_COOKIE)
    return key if keys is not None and keys.matches(key) else None


def _by_header(request: Request) -> bool:
    """Whether the request holds a right key in the X-API-Key header, which a page of another
    site cannot add to a form (nor, without a CORS preflight this server answers, to a fetch)."""
    keys = _keys(request)
    return keys is not None and keys.matches(request.headers.get(API_KEY_HEADER))


def _csrf(request: Request) -> tuple[str | None, str | None]:
    """The token for the page's POST forms, and a new nonce to set when the browser has none."""
    keys = _keys(request)
    key = request.headers.get(API_KEY_HEADER) if _by_header(request) else _cookie_key(request)
    if keys is None or key is None:
        return None, None
    nonce = request.cookies.get(CSRF_COOKIE)
    fresh = None if valid_nonce(nonce) else new_nonce()
    return csrf_token(key, fresh or str(nonce)), fresh


def _set_nonce(response: Response, nonce: str) -> None:
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict")


def _forged(request: Request, form: FormData) -> HTMLResponse | None:
    """403 with the page for a POST that the key cookie authenticates but no valid token comes with."""
    if _keys(request) is None or _by_header(request):
        return None
    key, nonce = _cookie_key(request), request.cookies.get(CSRF_COOKIE)
    given = str(form.get(CSRF_FIELD) or "")
    if (
        key is not None
        and valid_nonce(nonce)
        and hmac.compare_digest(given.encode(), csrf_token(key, str(nonce)).encode())
    ):
        return None
    return _page(request, 403, error=tr(FORGED))


def language_switch(request: Request) -> list[dict[str, Any]]:
    """The page's language links: this page (its query kept) in each language; after a POST, the
    start page, which the cookie then keeps in that language."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != LANG_PARAM]
    path = request.url.path if request.method == "GET" else "/"
    links = []
    for code, name in LANGUAGE_NAMES.items():
        href = path + "?" + urlencode([*(query if request.method == "GET" else []), (LANG_PARAM, code)])
        links.append({"code": code, "name": name, "href": href, "current": code == language()})
    return links


def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    svc = _service(request)
    token, fresh = _csrf(request)
    base = {
        "samples": list(sample_tenders()), "members": sorted(svc.names.values(), key=str.casefold),
        "model": svc.matcher.model_name, "index_version": svc.index_version,
        "count": len(svc.names), "error": None, "form": {}, "similar": None, "suggest": None,
        "csrf_token": token, "switch": language_switch(request),
    }  # fmt: skip
    response = render("index.html", status, **{**base, **context})
    if fresh is not None:
        _set_nonce(response, fresh)
    return response


def missing_page(request: Request, status: int, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The page, with an error, for a page address that does not exist (404) or a form's address
    opened as a link (405): a person followed a stale link or typed an address, not a program."""
    path = request.url.path[:200]
    if status == 405:
        error = tr("%(path)s takes a form sent from this page, not a link: use the forms below.", path=path)
    else:
        error = tr("There is no page at %(path)s: use the forms below.", path=path)
    response = _page(request, status, error=error)
    response.headers.update(headers or {})  # 405: Allow
    return response


# --- routes ---------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return _page(request)


@router.get("/ui/similar", response_class=HTMLResponse)
def similar_page(request: Request, member: str = "", text: str = "", top_k: str = "10") -> HTMLResponse:
    # top_k is read here, not by FastAPI: a page answers a bad value with the page, not JSON
    svc = _service(request)
    form: dict[str, Any] = {"member": member, "text": text, "top_k": top_k}
    try:
        form["top_k"] = k = _int(request.query_params, "top_k", 10, 1, 100)
        if not member.strip() and not text.strip():
            raise InputError(tr("type a member's name or id, or describe what the firm does"))
        if member.strip():
            firm = svc.find_member(member)
            result = svc.similar(firm.id, None, k)
            query, query_firm = firm.name, firm
        else:
            result = svc.similar(None, text, k)
            query, query_firm = f"“{' '.join(text.split())}”", None
    except MatcherError as exc:
        return _page(request, status_for(exc), error=_message(request, exc), form=form)
    view = {"query": query, "firm": query_firm, "table": table_view(result.suggestions)}
    return _page(request, form=form, similar=view)


async def _form_tender(form: FormData) -> tuple[Tender, dict[str, str]]:
    """The tender of a form: an uploaded file, else the pasted text, else a bundled sample.

    Returns the tender and the fields that let a download send the same tender again.
    """
    upload = form.get("tender_file")
    text = str(form.get("tender_text") or "")
    sample = str(form.get("sample") or "")
    if isinstance(upload, UploadFile) and upload.filename:
        label = Path(upload.filename).name  # only a label for messages; nothing is written under it
        suffix = TEXT_SUFFIXES.get(Path(label).suffix.lower())
        if suffix is None:
            raise _FormError(tr("%(file)s: upload a .json, .yaml or .yml tender file", file=label))
        content = await upload.read()
        tender = await run_in_threadpool(tender_from_bytes, content, label, suffix)
        return tender, {"tender_text": content.decode("utf-8-sig"), "suffix": suffix, "sample": ""}
    if text.strip():
        suffix = str(form.get("suffix") or "") or None
        tender = await run_in_threadpool(tender_from_bytes, text.encode(), tr("pasted tender"), suffix)
        return tender, {"tender_text": text, "suffix": suffix or "", "sample": ""}
    samples = sample_tenders()
    if sample in samples:
        tender = await run_in_threadpool(
            tender_from_bytes, samples[sample].read_bytes(), sample, samples[sample].suffix
        )
        return tender, {"tender_text": "", "suffix": "", "sample": sample}
    if sample:
        raise _FormError(
            tr("no sample tender '%(name)s'; pick one of %(names)s", name=sample, names=", ".join(samples))
        )
    raise _FormError(tr("paste a tender, upload a file, or pick a sample tender"))


class _FormError(InputError):
    """A form filled in a way that names no tender, or with an option out of range."""


def _int(form: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole number of a form or query string, held to low..high."""
    try:
        return min(high, max(low, int(str(form.get(name) or default))))
    except ValueError:
        raise _FormError(
            tr("%(name)s must be a whole number, got %(value)r", name=name, value=form.get(name))
        ) from None


def _share(form: FormData) -> float:
    try:
        value = float(str(form.get("min_sme_share") or 0))
    except ValueError:
        got = form.get("min_sme_share")
        raise _FormError(tr("min_sme_share must be a number from 0 to 1, got %(value)r", value=got)) from None
    if not 0.0 <= value <= 1.0:
        raise _FormError(tr("min_sme_share must be from 0 to 1, got %(value)s", value=value))
    return value


async def _teams_for(request: Request, form: FormData) -> tuple[Teams, dict[str, Any]]:
    from matcher.rank.consortium import TeamConstraints

    top_k, teams = _int(form, "top_k", 5, 1, 50), _int(form, "teams", 2, 1, 5)
    max_partners, min_sme_share = _int(form, "max_partners", 5, 1, 20), _share(form)
    hide_rejected = bool(form.get("hide_rejected"))
    max_joint = _int(form, "max_joint", 3, 1, 4)
    tender, again = await _form_tender(form)
    constraints = TeamConstraints(max_partners=max_partners, min_sme_share=min_sme_share, max_joint=max_joint)
    svc = _service(request)
    found = await run_in_threadpool(svc.consortium, tender, constraints, teams, 20, top_k, hide_rejected)
    options = {"top_k": top_k, "teams": teams, "max_partners": max_partners, "min_sme_share": min_sme_share,
               "max_joint": max_joint, "hide_rejected": "1" if hide_rejected else ""}  # fmt: skip
    return found, {**options, **again}


@router.post("/ui/suggest", response_class=HTMLResponse)
async def suggest_page(request: Request) -> HTMLResponse:
    posted = await request.form(**FORM_LIMITS)
    refused = _forged(request, posted)
    if refused is not None:
        return refused
    return await _suggest_view(request, posted)


async def _suggest_view(request: Request, posted: FormData, notice: str | None = None) -> HTMLResponse:
    """The rankings and teams of the posted tender (after a mark, with the mark: it is read afresh)."""
    try:
        found, form = await _teams_for(request, posted)
    except MatcherError as exc:
        return _page(request, status_for(exc), error=_message(request, exc))
    result = found.suggestions
    lots: list[dict[str, Any]] = [
        {"lot": lot, "table": table_view(lr.suggestions), "warning": lot_warning(lr)}
        for lr, lot in zip(result.lots, result.tender.lots)
    ]
    overall = {**table_view(result.overall.suggestions), "warning": lot_warning(result.overall)}
    tables = [item["table"] for item in lots] + [overall]
    shown = {c["name"] for t in tables for c in t["columns"]}
    legend = {"learned": overall["learned"], "columns": [{"name": n} for n in PART_ORDER if n in shown]}
    view = {"tender": result.tender, "lots": lots, "overall": overall, "legend": legend, "teams": teams_view(found),
            "notice": notice, "language_note": result.language_note()}  # fmt: skip
    return _page(request, form=form, suggest=view)


@router.post("/ui/feedback", response_class=HTMLResponse)
async def feedback_page(request: Request) -> HTMLResponse:
    """A mark button of a ranking: stores the mark, then shows the tender's rankings again, with it.

    The button's value is "lot<TAB>member<TAB>status<TAB>reason"; the form carries the tender as
    the download form does, and the CSRF token."""
    posted = await request.form(**FORM_LIMITS)
    refused = _forged(request, posted)
    if refused is not None:
        return refused
    try:
        lot_id, member_id, status, reason = (str(posted.get("mark") or "").split("\t") + ["", "", "", ""])[:4]
        if not lot_id or not member_id:
            raise _FormError("press a mark button beside a member of a lot's ranking")
        tender, _ = await _form_tender(posted)
        done = await run_in_threadpool(_service(request).mark_lot, tender, lot_id, member_id, status, reason or None)
    except MatcherError as exc:
        return _page(request, status_for(exc), error=_message(request, exc))
    m = done.marks[0]
    notice = tr(
        "Marked #%(id)s: %(member)s %(mark)s for lot %(lot)s.", id=m.id, member=m.member_id, mark=m.label, lot=m.lot_id
    )
    return await _suggest_view(request, posted, notice)


@router.post("/ui/export")
async def export(request: Request) -> Response:
    """The results of /ui/suggest as a download: rankings or teams as CSV, or both as XLSX."""
    from matcher.render.sheets import teams_csv, tender_csv, xlsx_bytes

    form = await request.form(**FORM_LIMITS)
    refused = _forged(request, form)
    if refused is not None:
        return refused
    try:
        found, _ = await _teams_for(request, form)
    except MatcherError as exc:
        return _page(request, status_for(exc), error=_message(request, exc))
    what = str(form.get("what") or "xlsx")
    rankings = tender_csv(found.suggestions)
    teams = teams_csv(found)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", found.tender.id).strip("-.") or "tender"
    if what == "rankings.csv":
        content, media, name = rankings.encode(), "text/csv; charset=utf-8", f"{stem}-rankings.csv"
    elif what == "teams.csv":
        content, media, name = teams.encode(), "text/csv; charset=utf-8", f"{stem}-teams.csv"
    elif what == "xlsx":
        content = xlsx_bytes({"Rankings": rankings, "Teams": teams})
        media, name = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{stem}.xlsx"
    else:
        return _page(
            request, 422, error=tr("unknown download '%(what)s'; choose rankings.csv, teams.csv or xlsx", what=what)
        )
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/ui/key", response_class=HTMLResponse)
async def set_key(request: Request) -> Response:
    """Stores the API key the person typed in a cookie, so that the page's forms carry it, and a
    fresh nonce for the forms' CSRF tokens.

    This form needs no token: what it posts is the key itself, which a forger does not have (and
    OriginCheck refuses it from another site)."""
    form = await request.form(**FORM_LIMITS)
    key = str(form.get("api_key") or "")
    keys = _keys(request)
    if keys is None:
        return RedirectResponse("/", status_code=303)
    if not keys.matches(key):
        return HTMLResponse(key_form_html("That is not this server's API key."), status_code=401,
                            headers=PAGE_HEADERS)  # fmt: skip
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(API_KEY_COOKIE, key, httponly=True, samesite="strict")
    _set_nonce(response, new_nonce())
    return response
