"""The JSON API's response shapes (they make the OpenAPI spec), built from the library's results.

The shapes are those of the CLI's ``--format json`` (:mod:`matcher.render` builds both), plus
``why``: the short reasons of the CLI table's "Why" column.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from matcher.render import short_reasons, similar_dict, suggestion_dict, team_dicts, tender_dict
from matcher.render.plain import mark_dict
from matcher.results import FeedbackReport, OpportunitiesReport, SimilarResult, Suggestion, Teams, TenderSuggestions
from matcher.schema import Participant


class ErrorOut(BaseModel):
    """Every 4xx/5xx answer: what was wrong and how to fix it, and the field it is about."""

    detail: str = Field(examples=["<request body>, field 'lots[0].codes': unknown CPV code '45221119-0'"])
    field: str | None = Field(None, examples=["lots[0].codes"])


class ScorePartOut(BaseModel):
    """One part of a score: its value (in [0, 1] for the hand-weighted ranking), weight, what it adds, why."""

    value: float
    weight: float
    contribution: float
    detail: str
    asked: bool = Field(
        default=True, description="false: the request gives nothing to compare this part with; its value is neutral"
    )


class MarkOut(BaseModel):
    """A manager's mark on a (lot, member) suggestion."""

    id: int = Field(description="what DELETE /feedback/{id} takes")
    tender_id: str
    lot_id: str
    member_id: str
    status: Literal["shortlisted", "contacted", "not-relevant", "won", "lost"]
    reason: Literal["wrong-kind-of-work", "too-small", "too-far", "competitor", "other"] | None
    note: str
    codes: list[str] = Field(description="the lot's codes, kept to tell similar lots")
    text: str = Field(description="the lot's title and description, kept to tell similar lots without codes")
    created_at: str


class MarkIn(BaseModel):
    """A mark to store. The lot's codes and text make a member marked not relevant drop for similar lots
    (sharing a CPV group) of later tenders; without them, only for this lot."""

    tender_id: str = Field(min_length=1, max_length=300, examples=["SPB-2026-BR-0147"])
    lot_id: str = Field(min_length=1, max_length=300, examples=["1"])
    member_id: str = Field(min_length=1, max_length=300, examples=["RU-INN-7842227069"])
    status: str = Field(max_length=40, description="shortlisted, contacted, not-relevant, won or lost",
                        examples=["not-relevant"])  # fmt: skip
    reason: str | None = Field(
        None, max_length=40, description="not-relevant only: wrong-kind-of-work, too-small, too-far, competitor, other",
        examples=["too-far"],
    )  # fmt: skip
    note: str = Field("", max_length=2000)
    codes: list[str] = Field(default_factory=list, max_length=100, examples=[["45221119-9", "45221111-3"]])
    text: str = Field("", max_length=5000, examples=["Reconstruction of the bridge superstructure and piers"])


class FeedbackOut(BaseModel):
    """What was marked, listed or removed."""

    action: Literal["marked", "listed", "removed"]
    marks: list[MarkOut]


class SuggestionOut(BaseModel):
    """A ranked member; the contributions of its parts add up to its score."""

    rank: int
    participant_id: str
    name: str
    kind: str | None
    score: float
    fit: float | None = Field(
        None, description="calibrated chance that the member can do the lot as main contractor; "
        "null: no calibration (similar, or a ranker without one)",
    )  # fmt: skip
    band: Literal["strong", "possible", "weak"] | None = Field(None, description="the fit's band")
    parts: dict[str, ScorePartOut] = Field(description="semantic, lexical, buyer, codes, certifications, region, size")
    why: str = Field(description="the reasons in short, as the CLI table's Why column")
    lots: list[str] = Field(default_factory=list, description="whole-tender ranking: lots where it is in the top list")
    marks: list[MarkOut] = Field(
        default_factory=list, description="managers' marks on this member for this lot (whole tender: any of its lots)"
    )


class TenderOut(BaseModel):
    id: str
    title: str
    buyer: str | None
    region: str | None
    value: float | None
    currency: str | None
    deadline: str | None


class LotOut(BaseModel):
    lot_id: str
    title: str
    codes: list[str]
    value: float | None
    certifications: list[str]
    suggestions: list[SuggestionOut]
    no_good_match: bool = Field(description="even the best member is a weak fit, or no member matches")
    warning: str | None = Field(
        description="what the page and the CLI say when no member is a strong match (no_good_match: not even a "
        "possible one), else null"
    )


class SuggestOut(BaseModel):
    """Members ranked per lot, and for the tender as a whole (lead candidates)."""

    tender: TenderOut
    model: str
    index_version: str
    language_note: str | None = Field(
        default=None,
        description="said when the index's model reads English only and the tender is in another language "
        "(members are then matched by words and codes, not by meaning), else null",
    )
    lots: list[LotOut]
    overall: list[SuggestionOut]


class MemberOut(BaseModel):
    participant_id: str
    name: str


class PartnerOut(BaseModel):
    """A firm beside a lot's holder: a subcontractor brings certifications, a co-holder a share of the value."""

    participant_id: str
    name: str | None
    role: Literal["co-holder", "subcontractor"]
    certifications: list[str]  # the lot's required certifications it holds and the holder lacks
    codes: list[str]  # the lot's codes it answers (same or narrower) and the holder does not; for information
    value_share: float  # share of the lot's value it carries (0 for a subcontractor)
    fit: float  # its own fit for the lot
    brings: str  # the same in words, e.g. "subcontractor: Laboratory accreditation"


class AssignmentOut(BaseModel):
    """A lot and its holder (`participant_id`), alone or with partners (held jointly)."""

    lot_id: str
    participant_id: str
    name: str | None
    fit: float  # the holder's fit; held jointly, the mean of the group's
    holder_share: float  # share of the lot's value the holder carries
    partners: list[PartnerOut]


class TeamOut(BaseModel):
    """A consortium: who takes which lot (the coverage table), and what it lacks."""

    rank: int
    lead: str | None
    members: list[MemberOut]
    assignments: list[AssignmentOut]
    total_fit: float
    sme_share: float
    uncovered: list[str]
    lacks: list[str]
    method: Literal["cp-sat", "greedy"]
    optimal: bool


class ConsortiumOut(SuggestOut):
    """The per-lot rankings (cut to top_k) and the proposed teams, best first."""

    teams: list[TeamOut]


class SimilarQueryOut(BaseModel):
    participant_id: str | None
    text: str | None


class SimilarOut(BaseModel):
    query: SimilarQueryOut
    model: str
    index_version: str
    suggestions: list[SuggestionOut]


class ProjectOut(BaseModel):
    title: str
    year: int | None
    value: float | None
    role: str | None
    buyer: str | None


class ParticipantOut(BaseModel):
    """A member's capability profile as indexed."""

    id: str
    name: str
    kind: str | None
    description: str
    codes: list[str]
    regions: list[str]
    headcount: int | None
    sme: bool | None
    certifications: list[str]
    projects: list[ProjectOut]
    clusters: list[str]
    language: str | None


class SwapFailureOut(BaseModel):
    version: str = Field(description="The newest published version, which is not served.")
    reason: str = Field(description="Why it could not be opened, verified or queried.")
    at: str = Field(description="When it was tried (ISO 8601, UTC).")


class HealthOut(BaseModel):
    status: Literal["ok"]
    model: str
    index_version: str = Field(description="The version this worker answers from.")
    newest_version: str | None = Field(description="The version the workspace's CURRENT names (the newest published).")
    swap_failure: SwapFailureOut | None = Field(
        description="Set while the newest published version could not be served (the old one serves)."
    )
    swaps: int = Field(description="Versions this worker swapped in since it started.")
    participants: int
    worker: int = Field(description="The process id of the worker that answered.")


class ReadyOut(BaseModel):
    ready: bool
    index_version: str | None
    detail: str | None = None


# --- from library results --------------------------------------------------------------


def suggestion_out(s: Suggestion) -> dict[str, Any]:
    return {**suggestion_dict(s), "why": short_reasons(s)}


def suggest_out(result: TenderSuggestions) -> dict[str, Any]:
    data = tender_dict(result)
    for lot_data, lot in zip(data["lots"], result.lots):
        lot_data["suggestions"] = [suggestion_out(s) for s in lot.suggestions]
    data["overall"] = [suggestion_out(s) for s in result.overall.suggestions]
    return data


def feedback_out(report: FeedbackReport) -> dict[str, Any]:
    return {"action": report.action, "marks": [mark_dict(m) for m in report.marks]}  # not the file's path


def consortium_out(result: Teams) -> dict[str, Any]:
    return {**suggest_out(result.suggestions), "teams": team_dicts(result.teams, result.names)}


def similar_out(result: SimilarResult) -> dict[str, Any]:
    data = similar_dict(result)
    data["suggestions"] = [suggestion_out(s) for s in result.suggestions]
    return data


def participant_out(p: Participant) -> dict[str, Any]:
    return p.as_record()


class OpenLotOut(BaseModel):
    """A lot `matcher opportunities` reported to a member, deadline not passed."""

    tender_id: str
    tender_title: str
    lot_id: str
    lot_title: str
    fit: float = Field(description="The member's calibrated fit for the lot when it was reported.")
    band: str = Field(description="strong (fit ≥ 0.50) or possible (≥ 0.20).")
    published: str | None
    deadline: str | None
    reported_at: str = Field(description="When it was first or last reported (ISO 8601, UTC).")


class MemberOpportunitiesOut(BaseModel):
    """The open lots that fit a member, from the workspace's record of opportunities runs."""

    participant_id: str
    name: str
    lots: list[OpenLotOut]


def open_lots_out(participant: Participant, lots: list[Any]) -> dict[str, Any]:
    return {
        "participant_id": participant.id,
        "name": participant.name,
        "lots": [
            {
                "tender_id": r.tender_id, "tender_title": r.tender_title, "lot_id": r.lot_id,
                "lot_title": r.lot_title, "fit": r.fit, "band": r.band,
                "published": r.published.isoformat() if r.published else None,
                "deadline": r.deadline.isoformat() if r.deadline else None, "reported_at": r.reported_at,
            }
            for r in lots
        ],
    }  # fmt: skip


class TeammateOut(BaseModel):
    participant_id: str
    name: str
    lot_id: str = Field(description="The lot of the tender where this partner is strong.")
    fit: float
    band: str


class OpportunityOut(BaseModel):
    tender_id: str
    tender_title: str
    lot_id: str
    lot_title: str
    buyer: str | None
    published: str | None
    deadline: str | None
    fit: float | None
    band: str | None
    suggestion: SuggestionOut = Field(description="The member's ranking for the lot, as /suggest explains it.")
    partners: list[TeammateOut] = Field(description="Members strong on the tender's other lots, then on this one.")
    source: str


class MemberLotsOut(BaseModel):
    participant_id: str
    name: str
    opportunities: list[OpportunityOut]


class OpportunitiesOut(BaseModel):
    """Per member (best first), the lots of the feed that fit it."""

    summary: str
    count: int
    tenders: int
    lots: int
    min_fit: float
    top_k: int
    member: str | None
    model: str
    index_version: str
    rejects: list[str] = Field(description="What in the feed could not be read, one line each.")
    members: list[MemberLotsOut]


def opportunities_out(report: OpportunitiesReport) -> dict[str, Any]:
    from matcher.render.opportunities import opportunities_dict

    out = opportunities_dict(report)
    for member, mo in zip(out["members"], report.members):
        for o, found in zip(member["opportunities"], mo.opportunities):
            o["suggestion"] = suggestion_out(found.suggestion)  # with its short reasons, as /suggest's
    return out
