"""The member page, ``/ui/member/{id}``: a member's profile, its codes with their labels, its past
projects, the members most like it, and the open lots that fit it.

The open lots come from the workspace's record of what `matcher opportunities` reported
(:mod:`matcher.store.reported`), not from ranking a feed on each request: the nightly run has
already ranked them, and the page stays as fast and stateless as the rest. A lot shows while its
deadline has not passed (or is unknown), best fit first.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from matcher.errors import MatcherError, UnknownParticipant
from matcher.i18n import language, tr
from matcher.taxonomy import load_taxonomy
from matcher.web.errors import status_for
from matcher.web.pages import _int, _message, _page, _service, language_switch, render, table_view

router = APIRouter(include_in_schema=False)
SIMILAR_SHOWN = 5
MAX_ID = 300  # as the API's member ids


@router.get("/ui/member/{participant_id:path}", response_class=HTMLResponse)
def member_page(request: Request, participant_id: str, top_k: str = str(SIMILAR_SHOWN)) -> HTMLResponse:
    # the id's length and top_k are checked here, not by FastAPI: a page answers with the page, not JSON
    svc = _service(request)
    try:
        if len(participant_id) > MAX_ID:
            raise UnknownParticipant(tr("no member has an id of over %(max)s characters", max=MAX_ID))
        shown = _int(request.query_params, "top_k", SIMILAR_SHOWN, 1, 50)
        firm = svc.participant(participant_id)
        similar = svc.similar(firm.id, None, shown)
    except MatcherError as exc:
        return _page(request, status_for(exc), error=_message(request, exc))
    taxonomy = load_taxonomy()
    codes = [(code, taxonomy.label(code, language())) for code in firm.codes]
    return render(
        "member.html", firm=firm, codes=codes, lots=svc.open_lots(firm.id), similar=table_view(similar.suggestions),
        count=len(svc.matcher.members), model=svc.matcher.model_name, index_version=svc.index_version,
        switch=language_switch(request),
    )  # fmt: skip
