"""The JSON API: the CLI's queries over HTTP, each answer carrying the explanation parts.

GET /health, GET /ready, GET /metrics, GET /participants/{id}, GET /participants/{id}/opportunities,
GET /similar, POST /suggest, POST /consortium, POST /opportunities, POST /feedback, GET /feedback,
DELETE /feedback/{id}. A tender
is the request body: the project's tender format (as in data/sample/tenders/) or an OCDS
release, record or package of one process, as JSON or YAML.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from matcher.schema import Tender
from matcher.web.errors import ApiError, openapi_errors, public_message
from matcher.web.metrics import CONTENT_TYPE as METRICS_TYPE
from matcher.web.models import (
    ConsortiumOut,
    FeedbackOut,
    HealthOut,
    MarkIn,
    MemberOpportunitiesOut,
    OpportunitiesOut,
    ParticipantOut,
    ReadyOut,
    SimilarOut,
    SuggestOut,
    consortium_out,
    feedback_out,
    open_lots_out,
    opportunities_out,
    participant_out,
    similar_out,
    suggest_out,
)
from matcher.web.service import BODY_SOURCE, Service, tender_from_bytes

router = APIRouter(tags=["api"])

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_EXAMPLE_TENDER = {
    "id": "SPB-2026-BR-0147",
    "title": "Reconstruction of a ring-road bridge over the Neva",
    "buyer": "Committee for Transport Infrastructure Development of St. Petersburg",
    "region": "RU-SPE",
    "currency": "RUB",
    "deadline": "2026-12-18",
    "lots": [
        {"id": "1", "title": "Bridge superstructure and piers", "codes": ["45221119-9", "45221111-3"],
         "value": 9200000000, "certifications": ["SRO construction"]},
        {"id": "2", "title": "Design documentation and engineering surveys", "codes": ["71322300-4"],
         "value": 640000000, "certifications": ["SRO design"]},
    ],
}  # fmt: skip
_EXAMPLE_OCDS = {
    "ocid": "ocds-213czf-000-00001",
    "id": "1",
    "date": "2026-01-10T00:00:00Z",
    "tag": ["tender"],
    "buyer": {"name": "City of Testville"},
    "tender": {
        "id": "T-1",
        "title": "Road bridge repair",
        "tenderPeriod": {"endDate": "2026-03-01T00:00:00Z"},
        "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "45221111"}}],
        "value": {"amount": 5000000, "currency": "EUR"},
    },
}
TENDER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A tender in the project's format (id, title, description, buyer, region, value, currency, "
            "deadline, codes, certifications, lots[] with id, title, description, codes, value, "
            "certifications, region), or an OCDS release, record or package of one contracting process. "
            "Errors name the field, e.g. lots[0].codes."
        ),
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "examples": {
                    "tender": {"summary": "A tender in the project's format", "value": _EXAMPLE_TENDER},
                    "ocds": {"summary": "An OCDS release", "value": _EXAMPLE_OCDS},
                },
            },
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}

TopK = Annotated[int, Query(ge=1, le=100, description="Members per lot.")]
HideRejected = Annotated[
    bool, Query(description="Leave out members marked not relevant for a similar lot, rather than demote them.")
]


def service(request: Request) -> Service:
    return request.state.service  # pinned when the request arrived (app.PinVersion)


ServiceDep = Annotated[Service, Depends(service)]


async def tender_body(request: Request) -> Tender:
    """The request body as a tender; the syntax comes from Content-Type (JSON when it is absent and
    the body starts with "{", else YAML)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media:
        suffix = None
    elif media in JSON_TYPES or media.endswith("+json"):
        suffix = ".json"
    elif media in YAML_TYPES:
        suffix = ".yaml"
    else:
        raise ApiError(415, f"send the tender as application/json or application/yaml, not {media}", "Content-Type")
    body = await request.body()
    return await run_in_threadpool(tender_from_bytes, body, BODY_SOURCE, suffix)


@router.get("/health", response_model=HealthOut, responses=openapi_errors(429))
def health(request: Request, svc: ServiceDep) -> dict[str, Any]:
    """Liveness: the index version this worker serves, the newest published, and why that one is
    not served when it could not be (the old one keeps serving)."""
    follower = request.app.state.follower
    failure = follower.failure
    return {
        "status": "ok",
        "model": svc.matcher.model_name,
        "index_version": svc.index_version,
        "newest_version": follower.newest,
        "swap_failure": None if failure is None else {
            **failure.as_dict(), "reason": public_message(failure.reason, follower.workspace.root),
        },
        "swaps": follower.swaps,
        "participants": len(svc.matcher.members),
        "worker": os.getpid(),
    }  # fmt: skip


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut, "description": "Not ready"}})
def ready(request: Request, svc: ServiceDep) -> Response:
    """Readiness, apart from liveness: 200 while this worker answers queries from a verified,
    warmed index version; 503 while it shuts down (a balancer stops sending it requests)."""
    if request.app.state.draining:
        body = {"ready": False, "index_version": svc.index_version, "detail": "shutting down"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"ready": True, "index_version": svc.index_version, "detail": None})


@router.get(
    "/metrics", response_class=Response, responses={
        **openapi_errors(401, 429), 200: {"content": {METRICS_TYPE: {"schema": {"type": "string"}}},
                                          "description": "Prometheus text format"},
    },
)  # fmt: skip
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route and status, query stages, the version
    served, swaps and failed swaps (every worker's, added up)."""
    return Response(request.app.state.metrics.render(), media_type=METRICS_TYPE)


@router.get("/participants/{participant_id}", response_model=ParticipantOut, responses=openapi_errors(401, 404, 429))
def participant(
    participant_id: Annotated[str, Path(max_length=300, description="A member id, e.g. RU-INN-7842227069.")],
    svc: ServiceDep,
) -> dict[str, Any]:
    """A member's capability profile as indexed."""
    return participant_out(svc.participant(participant_id))


@router.get(
    "/participants/{participant_id}/opportunities", response_model=MemberOpportunitiesOut,
    responses=openapi_errors(401, 404, 429),
)  # fmt: skip
def participant_opportunities(
    participant_id: Annotated[str, Path(max_length=300, description="A member id, e.g. RU-INN-7809972852.")],
    svc: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many lots.")] = 50,
) -> dict[str, Any]:
    """The open lots that fit a member, best fit first: those `matcher opportunities` reported to it
    (the nightly run over the day's tenders) whose deadline has not passed."""
    firm = svc.participant(participant_id)
    return open_lots_out(firm, svc.open_lots(firm.id, limit))


@router.get("/similar", response_model=SimilarOut, responses=openapi_errors(401, 404, 422, 429, 503))
def similar(
    svc: ServiceDep,
    id: Annotated[str | None, Query(max_length=300, description="A member id: members like it.")] = None,
    text: Annotated[str | None, Query(max_length=5000, description="A description: members like it.")] = None,
    top_k: TopK = 10,
) -> dict[str, Any]:
    """Members most like a member (`id`) or a description (`text`), with the parts of each score."""
    if id is None and text is None:
        raise ApiError(422, "give id=<member id> or text=<a description of the firm>", "id")
    if id is not None and text is not None:
        raise ApiError(422, "give id or text, not both", "text")
    if text is not None and not text.strip():
        raise ApiError(422, "text is empty; describe the firm, e.g. text=road bridge repair", "text")
    return similar_out(svc.similar(id, text, top_k))


@router.post(
    "/suggest", response_model=SuggestOut, openapi_extra=TENDER_BODY,
    responses=openapi_errors(400, 401, 413, 415, 422, 429, 503),
)  # fmt: skip
async def suggest(
    request: Request, svc: ServiceDep, top_k: TopK = 5, hide_rejected: HideRejected = False
) -> dict[str, Any]:
    """Members ranked for every lot of the tender in the body, and for the tender as a whole.

    Each suggestion carries the managers' marks (`marks`); a member marked not relevant for a
    similar lot is demoted, and its "feedback" part says why."""
    tender = await tender_body(request)
    result = await run_in_threadpool(svc.suggest, tender, top_k, hide_rejected)
    return suggest_out(result)


@router.post(
    "/consortium", response_model=ConsortiumOut, openapi_extra=TENDER_BODY,
    responses=openapi_errors(400, 401, 413, 415, 422, 429, 503),
)  # fmt: skip
async def consortium(
    request: Request,
    svc: ServiceDep,
    teams: Annotated[int, Query(ge=1, le=10, description="Alternative teams to propose.")] = 3,
    max_partners: Annotated[int, Query(ge=1, le=50, description="At most this many firms per team.")] = 5,
    max_joint: Annotated[
        int, Query(ge=1, le=4, description="Firms that may hold one lot jointly, holder included (1: alone only).")
    ] = 3,
    min_sme_share: Annotated[float, Query(ge=0, le=1, description="Least share of the lot value held by SMEs.")] = 0.0,
    region: Annotated[list[str], Query(description="Members must serve one of these regions.")] = [],  # noqa: B006
    exclude: Annotated[list[str], Query(description="Never use these members.")] = [],  # noqa: B006
    require: Annotated[list[str], Query(description="Every team includes these members.")] = [],  # noqa: B006
    candidates: Annotated[int, Query(ge=1, le=200, description="Best members per lot to build from.")] = 20,
    top_k: TopK = 5,
    hide_rejected: HideRejected = False,
) -> dict[str, Any]:
    """Teams (a lead and partners) that together cover the tender's lots, with the per-lot rankings.

    Each team's assignments are the lot × member coverage table: per lot its holder and, where no
    member can take it alone, the partners (co-holders, subcontractors) and what each brings;
    `lacks` says what the team misses.
    """
    from matcher.rank.consortium import TeamConstraints

    tender = await tender_body(request)
    constraints = TeamConstraints(
        max_partners=max_partners, min_sme_share=min_sme_share, regions=tuple(r.upper() for r in region),
        exclude=tuple(exclude), require=tuple(require), max_joint=max_joint,
    )  # fmt: skip
    found = await run_in_threadpool(svc.consortium, tender, constraints, teams, candidates, top_k, hide_rejected)
    return consortium_out(found)


@router.post("/feedback", response_model=FeedbackOut, status_code=201, responses=openapi_errors(401, 404, 422, 429))
def add_feedback(mark: MarkIn, svc: ServiceDep) -> dict[str, Any]:
    """Mark a (lot, member) suggestion: shortlisted, contacted, not-relevant (with a reason), won or lost.

    Stored in the workspace (it survives refreshes and rollbacks); later suggestions show it, and
    `matcher train` learns from it. An unknown member id is a 404 that says which ids are close."""
    return feedback_out(svc.mark(
        mark.tender_id, mark.lot_id, mark.member_id, mark.status, mark.reason, mark.note, tuple(mark.codes), mark.text,
    ))  # fmt: skip


@router.get("/feedback", response_model=FeedbackOut, responses=openapi_errors(401, 429))
def list_feedback(
    svc: ServiceDep,
    member: Annotated[str | None, Query(max_length=300, description="Only this member's marks.")] = None,
    tender: Annotated[str | None, Query(max_length=300, description="Only this tender id's marks.")] = None,
) -> dict[str, Any]:
    """Every mark, oldest first."""
    return feedback_out(svc.marks(member, tender))


@router.delete("/feedback/{mark_id}", response_model=FeedbackOut, responses=openapi_errors(401, 422, 429))
def remove_feedback(
    mark_id: Annotated[int, Path(ge=1, description="The mark's id.")], svc: ServiceDep
) -> dict[str, Any]:
    """Delete one mark (undo)."""
    return feedback_out(svc.remove_mark(mark_id))


FEED_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A feed of new tenders as JSON: an OCDS release package, record package or release (any number "
            "of contracting processes), or one tender in the project's format."
        ),
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "examples": {"ocds": {"summary": "An OCDS release package", "value": {"releases": [_EXAMPLE_OCDS]}}},
            }
        },
    }
}


@router.post(
    "/opportunities", response_model=OpportunitiesOut, openapi_extra=FEED_BODY,
    responses=openapi_errors(400, 401, 404, 413, 415, 422, 429, 503),
)  # fmt: skip
async def opportunities(
    request: Request,
    svc: ServiceDep,
    member: Annotated[str | None, Query(max_length=300, description="Only this member, scored on every lot.")] = None,
    min_fit: Annotated[float, Query(ge=0, le=1, description="Lowest fit shown (0.20: the possible band).")] = 0.20,
    top_k: Annotated[int, Query(ge=1, le=100, description="Members ranked per lot.")] = 20,
    partners: Annotated[int, Query(ge=0, le=20, description="Partners shown per lot.")] = 3,
) -> dict[str, Any]:
    """For each member, the lots of the feed in the body that fit it, with the members it could
    team with. A query: the workspace's record of what the nightly `matcher opportunities`
    reported is neither read nor written."""
    from matcher.inputs.feed import read_feed_document

    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in JSON_TYPES and not media.endswith("+json"):
        raise ApiError(415, f"send the feed as application/json, not {media}", "Content-Type")
    body = await request.body()
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ApiError(400, f"the body is not readable JSON ({type(exc).__name__})", "body") from None
    feed = await run_in_threadpool(read_feed_document, doc, BODY_SOURCE)
    report = await run_in_threadpool(
        functools.partial(svc.opportunities, feed, member=member, min_fit=min_fit, top_k=top_k, partners=partners)
    )
    return opportunities_out(report)
