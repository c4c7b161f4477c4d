"""Results as plain, JSON-ready values: what `--format json` prints and what the JSON API answers."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from matcher.render import layouts
from matcher.render.parts import brings, lot_warning
from matcher.results import (
    BuildReport,
    EvalReport,
    FeedbackReport,
    ImportReport,
    IndexStatus,
    IngestReport,
    Mark,
    RefreshReport,
    RollbackReport,
    ScorePart,
    SimilarResult,
    Suggestion,
    Teams,
    TenderSuggestions,
    TrainReport,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from matcher.results import Interval, Team


def dump_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


# --- rankings ------------------------------------------------------------------------------


def _part_dict(part: ScorePart) -> dict[str, Any]:
    return {
        "value": part.value,
        "weight": part.weight,
        "contribution": part.contribution,
        "detail": part.detail,
        "asked": part.asked,
    }


def suggestion_dict(s: Suggestion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rank": s.rank,
        "participant_id": s.participant_id,
        "name": s.name,
        "kind": s.kind,
        "score": s.score,
        "fit": s.fit,  # None: no calibration (similar, or a ranker without one)
        "band": s.band,
        "parts": {p.name: _part_dict(p) for p in s.parts},
    }
    if s.lots:
        out["lots"] = list(s.lots)
    out["marks"] = [mark_dict(m) for m in s.marks]
    return out


def mark_dict(m: Mark) -> dict[str, Any]:
    return {
        "id": m.id, "tender_id": m.tender_id, "lot_id": m.lot_id, "member_id": m.member_id, "status": m.status,
        "reason": m.reason, "note": m.note, "codes": list(m.codes), "text": m.text, "created_at": m.created_at,
    }  # fmt: skip


def feedback_dict(report: FeedbackReport) -> dict[str, Any]:
    return {"action": report.action, "file": str(report.path), "marks": [mark_dict(m) for m in report.marks]}


def tender_head(result: TenderSuggestions) -> dict[str, Any]:
    t = result.tender
    return {
        "id": t.id, "title": t.title, "buyer": t.buyer, "region": t.region, "value": t.value,
        "currency": t.currency, "deadline": t.deadline.isoformat() if t.deadline else None,
    }  # fmt: skip


def tender_dict(result: TenderSuggestions) -> dict[str, Any]:
    return {
        "tender": tender_head(result),
        "model": result.model,
        "index_version": result.index_version,
        "language_note": result.language_note(),
        "lots": [
            {
                "lot_id": lr.lot_id, "title": lr.title,
                "codes": list(lot.codes), "value": lot.value, "certifications": list(lot.certifications),
                "suggestions": [suggestion_dict(s) for s in lr.suggestions],
                "no_good_match": lr.no_good_match, "warning": lot_warning(lr),
            }
            for lr, lot in zip(result.lots, result.tender.lots)
        ],
        "overall": [suggestion_dict(s) for s in result.overall.suggestions],
    }  # fmt: skip


def similar_dict(result: SimilarResult) -> dict[str, Any]:
    return {
        "query": {"participant_id": result.query_id, "text": result.query_text},
        "model": result.model,
        "index_version": result.index_version,
        "suggestions": [suggestion_dict(s) for s in result.suggestions],
    }


# --- consortia -----------------------------------------------------------------------------


def team_dicts(teams: Sequence[Team], names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "rank": t.rank,
            "lead": t.lead_id,
            "members": [{"participant_id": m, "name": names.get(m, m)} for m in t.members],
            "assignments": [
                {
                    "lot_id": a.lot_id,
                    "participant_id": a.participant_id,
                    "name": names.get(a.participant_id),
                    "fit": a.score,
                    "holder_share": a.holder_share,
                    "partners": [
                        {
                            "participant_id": x.participant_id,
                            "name": names.get(x.participant_id),
                            "role": x.role,
                            "certifications": list(x.certifications),
                            "codes": list(x.codes),
                            "value_share": x.value_share,
                            "fit": x.score,
                            "brings": brings(x),
                        }
                        for x in a.partners
                    ],
                }
                for a in t.assignments
            ],
            "total_fit": t.total_score,
            "sme_share": t.sme_share,
            "uncovered": list(t.uncovered),
            "lacks": list(t.lacks),
            "method": t.method,
            "optimal": t.optimal,
        }
        for t in teams
    ]


def teams_dict(result: Teams) -> dict[str, Any]:
    """The teams, after the rankings when the result shows them, else after the tender alone."""
    head = tender_dict(result.suggestions) if result.with_rankings else {"tender": tender_head(result.suggestions)}
    return {**head, "teams": team_dicts(result.teams, result.names)}


# --- what the writing verbs did ------------------------------------------------------------


def ingest_dict(report: IngestReport) -> dict[str, Any]:
    return {
        "workspace": str(report.workspace), "total": report.total, "added": report.added, "updated": report.updated,
        "unchanged": report.unchanged, "rejected": len(report.rejects), "rejects": [str(r) for r in report.rejects],
        "rejects_files": [str(p) for p in report.rejects_files],
        "ignored_columns": {source: list(columns) for source, columns in report.ignored_columns.items()},
        "dry_run": report.dry_run, "files": [layouts.layout_dict(layout) for layout in report.layouts],
    }  # fmt: skip


def import_dict(report: ImportReport) -> dict[str, Any]:
    return {
        "workspace": str(report.workspace), "history": str(report.history), "releases": report.releases,
        "lots": report.lots, "awards": report.awards, "suppliers": report.suppliers,
        "rejected": len(report.rejects), "rejects": [str(r) for r in report.rejects],
    }  # fmt: skip


def build_dict(report: BuildReport) -> dict[str, Any]:
    return {
        "workspace": str(report.workspace), "version": report.version, "participants": report.participants,
        "vectors": report.vectors, "model": report.model, "backend": report.backend, "dimension": report.dimension,
        "index": {"type": report.index_type, "recall_at_10": report.recall_at_10},
        "merged_suppliers": report.merged_suppliers, "merges": str(report.merges_file) if report.merges_file else None,
        "sample": report.sample,
    }  # fmt: skip


def refresh_dict(report: RefreshReport) -> dict[str, Any]:
    """The keys `refresh --json` has always printed, for the logs of nightly jobs."""
    m = report.manifest
    return {"version": report.version, "participants": m["count"], "changes": report.changes,
            "embedded": m.get("embedded"), "rejected": len(report.rejects)}  # fmt: skip


def status_dict(status: IndexStatus) -> dict[str, Any]:
    """The keys `index status --json` has always printed."""
    data = asdict(status)
    data["versions"] = list(status.versions)
    return data


def rollback_dict(report: RollbackReport) -> dict[str, Any]:
    return {"workspace": str(report.workspace), "serving": report.serving, "was": report.was}


def train_dict(report: TrainReport) -> dict[str, Any]:
    return {
        "path": str(report.path), "queries_used": report.queries_used, "queries": report.queries,
        "pairs": report.pairs, "window": {"from": report.window[0], "until": report.window[1]},
        "coefficients": dict(report.coefficients), "feedback_lots": report.feedback_lots,
    }  # fmt: skip


def _interval(value: Interval) -> dict[str, float]:
    return dict(zip(("mean", "low", "high"), value))


def eval_dict(report: EvalReport) -> dict[str, Any]:
    """What `matcher eval --format json` prints: the split, every method's means and intervals, the
    learned ranker's paired differences."""
    return {
        "cutoff": report.cutoff.isoformat(),
        "train_awards": report.train_awards,
        "pool": report.pool,
        "queries": report.queries,
        "warm_queries": report.warm_queries,
        "warm_share": report.warm_share,
        "undated_awards": report.undated,
        "model": report.model,
        "bootstrap": report.bootstrap,
        "methods": [
            {
                "name": m.name,
                "warm": {k: _interval(v) for k, v in m.warm.items()},
                "all": {k: _interval(v) for k, v in m.all.items()},
                "seconds": round(m.seconds, 2),
            }
            for m in report.methods
        ],
        "minus_other_warm": {
            method: {other: {metric: _interval(v) for metric, v in diff.items()} for other, diff in against.items()}
            for method, against in report.comparisons.items()
        },
    }
