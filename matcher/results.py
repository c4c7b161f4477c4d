"""The results of matcher's library verbs, as plain frozen values.

The CLI, the web and the evaluation render these same objects (:mod:`matcher.render` holds every
format); nothing here ranks or formats anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from matcher.i18n import N_, tr
from matcher.schema import Tender

TeamMethod = Literal["cp-sat", "greedy"]


@dataclass(frozen=True)
class ScorePart:
    """One reason in a score: the part's value, its weight, what it adds to the score, and why.

    For the hand-weighted ranking the value is in [0, 1] and contribution = value × weight;
    for a learned ranker the value is the raw feature and the contribution is the coefficient
    times the standardised feature. Either way the contributions add up to the score.
    """

    name: str
    value: float
    weight: float
    contribution: float
    detail: str
    # False when the request gives nothing to compare this part with (no buyer, codes, region,
    # required certifications or value): its value is then neutral, the same for every member,
    # and its words say so; it is not a reason for this member.
    asked: bool = True


FeedbackStatus = Literal["shortlisted", "contacted", "not-relevant", "won", "lost"]
FeedbackReason = Literal["wrong-kind-of-work", "too-small", "too-far", "competitor", "other"]
MARK_WORDS = {
    "shortlisted": N_("shortlisted"), "contacted": N_("contacted"), "not-relevant": N_("not relevant"),
    "won": N_("won"), "lost": N_("lost"), "wrong-kind-of-work": N_("wrong kind of work"),
    "too-small": N_("too small"), "too-far": N_("too far"), "competitor": N_("competitor"), "other": N_("other"),
}  # fmt: skip
BAND_WORDS = {"strong": N_("strong"), "possible": N_("possible"), "weak": N_("weak")}


@dataclass(frozen=True)
class Mark:
    """A manager's mark on one (lot, member) suggestion, as stored in the workspace's feedback file.

    A lot is its tender id and lot id; it also carries the lot's codes and text, so that "similar
    lots" (:func:`matcher.rank.feedback.similar_lots`) can be told without the index that was
    serving when it was marked. ``reason`` is set for "not-relevant" only.
    """

    id: int
    tender_id: str
    lot_id: str
    member_id: str
    status: FeedbackStatus
    reason: FeedbackReason | None = None
    note: str = ""
    codes: tuple[str, ...] = ()
    text: str = ""
    created_at: str = ""  # ISO 8601, UTC

    @property
    def label(self) -> str:
        """e.g. "not relevant (too far)", "shortlisted"."""
        status = tr(MARK_WORDS[self.status])
        return (
            tr("%(status)s (%(reason)s)", status=status, reason=tr(MARK_WORDS[self.reason])) if self.reason else status
        )


@dataclass(frozen=True)
class Suggestion:
    """A ranked participant with its score and the parts the score is made of."""

    rank: int
    participant_id: str
    name: str
    kind: str | None
    score: float
    parts: tuple[ScorePart, ...]
    lots: tuple[str, ...] = ()  # for a whole-tender ranking: lots where it is in the top k
    # The calibrated fit (matcher.rank.calibration: the chance that the member can do the lot as
    # main contractor) and its band: "strong", "possible" or "weak". None: the ranker serving has
    # no calibration (and `similar`, whose scores are not calibrated).
    fit: float | None = None
    band: str | None = None
    # The managers' marks on this member for this lot (for a whole-tender ranking: for any lot of
    # the tender), oldest first; a demotion for a similar lot is the "feedback" part, not a mark here.
    marks: tuple[Mark, ...] = ()

    def part(self, name: str) -> ScorePart | None:
        return next((p for p in self.parts if p.name == name), None)


# the languages a tender may be in, as the language note names them (others by their code)
LANGUAGE_WORDS = {
    "ru": N_("in Russian"), "es": N_("in Spanish"), "uk": N_("in Ukrainian"), "de": N_("in German"),
    "fr": N_("in French"),
}  # fmt: skip


@dataclass(frozen=True)
class LotSuggestions:
    """The ranking for one lot (or, with lot_id "*", for the tender as a whole)."""

    lot_id: str
    title: str
    suggestions: tuple[Suggestion, ...]

    @property
    def best_fit(self) -> Suggestion | None:
        """The suggestion with the highest fit (None: nothing suggested, or no calibration). Usually
        the first; not always, as the fit leaves out what ranks without being capability (repeat
        business with the buyer, a manager's demotion)."""
        fitted = [s for s in self.suggestions if s.fit is not None]
        return max(fitted, key=lambda s: s.fit or 0.0) if fitted else None  # ties: the higher ranked

    @property
    def best_band(self) -> str | None:
        """The band of the best fit among the suggestions (None: nothing suggested, or no calibration)."""
        best = self.best_fit
        return best.band if best is not None else None  # a band comes with a fit

    @property
    def no_good_match(self) -> bool:
        """True when even the best member is a weak fit: the cluster has no good match for this lot."""
        return self.best_band == "weak" or (not self.suggestions and self.lot_id != "*")

    def gap_note(self) -> str | None:
        """The warning every output shows for a lot the cluster cannot cover well, else None.

        A weak best: 'no member is a good match for "Railway signalling" (best fit 0.03, weak);
        closest: A, B'. A possible best (no member strong, the same rule as `matcher gaps`): 'no
        member is a strong match for "…" (best fit 0.25, possible); closest: A, B'.
        """
        if self.lot_id == "*" and self.suggestions:
            return None  # the whole tender's lead candidates: each lot says it for itself
        if not self.suggestions:
            return tr('no member matches "%(title)s"', title=self.title) if self.lot_id != "*" else None
        best = self.best_fit or self.suggestions[0]
        if best.band not in ("weak", "possible"):
            return None
        closest = ", ".join(s.name for s in self.suggestions[:3])
        band = tr(BAND_WORDS[best.band])
        fit = tr("best fit %(fit).2f, %(band)s", fit=best.fit, band=band) if best.fit is not None else band
        note = (
            N_('no member is a good match for "%(title)s" (%(fit)s); closest: %(closest)s')
            if best.band == "weak"
            else N_('no member is a strong match for "%(title)s" (%(fit)s); closest: %(closest)s')
        )
        return tr(note, title=self.title, fit=fit, closest=closest)


@dataclass(frozen=True)
class TenderSuggestions:
    """Per-lot rankings and a whole-tender ranking (lead candidates) for one tender."""

    tender: Tender
    lots: tuple[LotSuggestions, ...]
    overall: LotSuggestions
    model: str
    index_version: str
    # languages of the tender's lots besides English, when the index's model reads English only
    unread_languages: tuple[str, ...] = ()

    def language_note(self) -> str | None:
        """What every output says when an English-only model reads a tender in another language:
        members are then found by their words (through the codes' labels' translations) and codes,
        not by what their descriptions mean. None otherwise."""
        if not self.unread_languages:
            return None
        return tr(
            "the index's model (%(model)s) reads English only, and this tender is %(languages)s: members "
            "are matched by words and codes, not by meaning; `matcher index build --model e5` builds an index "
            "that matches across languages",
            model=self.model,
            languages=", ".join(tr(LANGUAGE_WORDS[c]) if c in LANGUAGE_WORDS else c for c in self.unread_languages),
        )

    def top(self, k: int) -> TenderSuggestions:
        """A copy with each ranking cut to its ``k`` best; the whole-tender ranking's ``lots`` then
        name the lots where the member is in those ``k``, as :func:`suggest` with ``top_k=k`` says."""
        lots = tuple(replace(lot, suggestions=lot.suggestions[:k]) for lot in self.lots)
        kept = {(lot.lot_id, s.participant_id) for lot in lots for s in lot.suggestions}
        overall = tuple(
            replace(s, lots=tuple(lot for lot in s.lots if (lot, s.participant_id) in kept))
            for s in self.overall.suggestions[:k]
        )
        return replace(self, lots=lots, overall=replace(self.overall, suggestions=overall))


@dataclass(frozen=True)
class SimilarResult:
    """Members most similar to a participant or to a free text."""

    query_id: str | None
    query_text: str | None
    suggestions: tuple[Suggestion, ...]
    model: str
    index_version: str


PartnerRole = Literal["co-holder", "subcontractor"]


@dataclass(frozen=True)
class Partner:
    """A firm that takes part in a lot beside its holder, and what it brings that the holder lacks.

    A subcontractor brings certifications only: the holder carries the lot's whole value. A
    co-holder shares the value (the holder alone is too small): ``value_share`` is the part of the
    lot's value it carries, in proportion to its capacity. ``codes`` are for information: codes
    are no requirement, so no firm joins a group for them.
    """

    participant_id: str
    role: PartnerRole
    certifications: tuple[str, ...]  # the lot's required certifications it holds and the holder lacks
    value_share: float  # share of the lot's value it carries, 0 for a subcontractor
    score: float  # its own ranking score for the lot
    codes: tuple[str, ...] = ()  # the lot's codes it answers (same or narrower) and the holder does not


@dataclass(frozen=True)
class Assignment:
    """One lot given to its holder, alone or with partners, and the score of the holding.

    Held alone, ``score`` is the holder's ranking score for the lot; held jointly, the mean of the
    group's scores (a weak partner weighs on the holding).
    """

    lot_id: str
    participant_id: str  # the holder
    score: float
    partners: tuple[Partner, ...] = ()  # co-holders and subcontractors; () when held alone
    holder_share: float = 1.0  # share of the lot's value the holder carries

    @property
    def firms(self) -> tuple[str, ...]:
        """The holder, then its partners."""
        return (self.participant_id, *(x.participant_id for x in self.partners))


@dataclass(frozen=True)
class Team:
    """A consortium: its members, who takes which lot, and what it still lacks."""

    rank: int
    lead_id: str | None  # the member with the largest assigned value (ties: higher score, then id)
    members: tuple[str, ...]  # lead first, then by assigned value; partners included
    assignments: tuple[Assignment, ...]  # one per covered lot, in lot order
    total_score: float  # sum of the assignment scores
    sme_share: float  # SME-held share of the coverable lot value (see the module docstring)
    uncovered: tuple[str, ...]  # lot ids this team leaves without a firm
    lacks: tuple[str, ...]  # why, one line per reason, e.g. "lot 3: no candidate holds Metro works admission"
    method: TeamMethod
    optimal: bool  # proven optimal by CP-SAT


@dataclass(frozen=True)
class Teams:
    """What `consortium` found: the teams, best first, the per-lot rankings they were built from,
    and the names of their members.

    ``with_rankings`` says whether the rankings are shown beside the teams: the full candidate
    lists are the teams' evidence, not an answer; :meth:`top` cuts them to show.
    """

    suggestions: TenderSuggestions
    teams: tuple[Team, ...]
    names: Mapping[str, str]  # participant id -> name, for every team member
    with_rankings: bool = False

    @property
    def tender(self) -> Tender:
        return self.suggestions.tender

    def top(self, k: int) -> Teams:
        """The same teams, shown with each lot's ranking cut to its ``k`` best members."""
        return replace(self, suggestions=self.suggestions.top(k), with_rankings=True)


GapStatus = Literal["gap", "single", "covered"]  # no member strong, exactly one (a dependency), two or more
NO_CODES = "no codes"  # the capability of a lot without codes (each such lot is one of its own)


@dataclass(frozen=True)
class AskingLot:
    """A lot that asks for a capability, with the gap note its ranking gives (None: it has a good match)."""

    tender_id: str
    lot_id: str
    title: str
    note: str | None = None


@dataclass(frozen=True)
class Capability:
    """One capability (a CPV group, e.g. "452") that lots ask for, and how well the cluster covers it.

    ``strong`` counts the distinct members that are a strong fit for at least one of its lots,
    ``possible`` those that are a possible fit for one and strong for none (both among each lot's
    top k). ``best_*`` is the member with the highest fit in any of its lots. ``label`` is in the
    language chosen (``--lang``, a request's), else the asking lots' (Russian when most of them are in
    Russian); ``label_en`` in English.
    """

    code: str  # the CPV group's 3 digits, another scheme's code as given, or "no codes"
    label: str
    label_en: str
    lots: tuple[AskingLot, ...]
    strong: int
    possible: int
    best_id: str | None
    best_name: str | None
    best_fit: float | None
    best_band: str | None
    status: GapStatus


@dataclass(frozen=True)
class GapsReport:
    """What `gaps` found over one or more tenders: every capability asked for, gaps first, and every lot."""

    capabilities: tuple[Capability, ...]  # gaps, then single, then covered; within, most lots asking first
    lots: tuple[AskingLot, ...]  # every lot of every tender, in order, with its gap note
    tenders: tuple[str, ...]  # tender ids
    top_k: int  # members ranked per lot: strong and possible are counted among them
    model: str
    index_version: str

    def count(self, status: GapStatus) -> int:
        return sum(c.status == status for c in self.capabilities)


# --- what the writing verbs did ------------------------------------------------------------
# Rejects are the readers' own records (a participant row, an OCDS release); each one's str()
# is one line naming the file, where in it, and why.


ColumnHow = Literal["field", "synonym", "mapping", "ignored"]


@dataclass(frozen=True)
class ColumnUse:
    """How one column of a member table was understood: the field it gives (None: ignored), and
    whether by its own name, a recognised synonym or the user's mapping (`--columns`)."""

    header: str  # as the file has it; a two-row header as "upper / lower"
    field: str | None
    how: ColumnHow
    note: str = ""  # e.g. "unknown column", "checked; gives the id when there is none" (in the language shown)
    # why an ignored column is, for code to test (the note is words): "unknown", "mapped elsewhere", "duplicate"
    ignored_as: str = ""


@dataclass(frozen=True)
class RowPreview:
    """One of the first rows of a table as read: the participant record it became, or why not."""

    row: int
    values: Mapping[str, Any] | None  # Participant.as_record() when the row is valid
    reject: str | None = None  # "field: reason" when it is not


@dataclass(frozen=True)
class TableLayout:
    """How one input file was read: its text encoding and delimiter (CSV), its header rows, what
    each column gives, how many rows it had and the first of them as read."""

    file: str
    format: str  # csv, tsv, xlsx, json, jsonl, parquet
    encoding: str | None = None  # CSV and TSV: e.g. "utf-8", "utf-8-sig", "cp1251", "utf-16"
    delimiter: str | None = None
    header_rows: tuple[int, ...] = ()  # spreadsheet rows (1-based); a two-row header has two
    columns: tuple[ColumnUse, ...] = ()
    rows: int = 0  # data rows, blank ones left out
    stored: int = 0  # valid rows (to be) stored
    rejected: int = 0
    preview: tuple[RowPreview, ...] = ()

    @property
    def plain(self) -> bool:
        """Read as a matcher table always was: UTF-8, commas, header row 1, every column by its own name."""
        return (
            self.encoding in (None, "utf-8", "utf-8-sig")
            and self.delimiter in (None, ",", "\t")
            and self.header_rows in ((), (1,))
            and all(c.how in ("field", "ignored") and c.ignored_as != "duplicate" for c in self.columns)
        )


@dataclass(frozen=True)
class IngestReport:
    """What `ingest` did (or, with ``dry_run``, would do): counts, every rejected row with where it
    was written, and how each file was read."""

    workspace: Path
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    total: int = 0
    rejects: tuple[Any, ...] = ()
    rejects_files: tuple[Path, ...] = ()
    ignored_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # source -> unknown columns
    layouts: tuple[TableLayout, ...] = ()
    dry_run: bool = False  # nothing was written: the counts say what an ingest would do


@dataclass(frozen=True)
class ImportReport:
    """What `import-ocds` stored: counts of the history's tables, and the records it could not read."""

    workspace: Path
    history: Path  # the folder the tables were written to
    releases: int
    lots: int
    awards: int
    suppliers: int
    rejects: tuple[Any, ...] = ()

    @classmethod
    def from_tables(cls, workspace: Path, history: Path, tables: Any) -> ImportReport:
        """From the OcdsTables that `import_ocds` returns (polars tables)."""
        return cls(
            workspace, history, tables.releases, tables.lots.height, tables.awards.height,
            tables.suppliers["supplier_id"].n_unique(), tuple(tables.rejects),
        )  # fmt: skip


@dataclass(frozen=True)
class BuildReport:
    """The index version `index build` published, from its manifest."""

    workspace: Path
    version: str
    participants: int
    vectors: int
    model: str
    backend: str
    dimension: int
    index_type: str
    recall_at_10: float | None  # of an approximate index against exact search; None for flat
    merged_suppliers: int = 0
    merges_file: Path | None = None  # which history suppliers were recognised as members, and how
    sample: bool = False  # the bundled sample cluster's index

    @classmethod
    def from_manifest(cls, workspace: Path, version: Path, manifest: Mapping[str, Any], sample: bool = False):
        index, model = manifest.get("index", {"type": "flat"}), manifest["model"]
        merged = int(manifest.get("merged_suppliers", 0))
        return cls(
            workspace, version.name, manifest["count"], manifest.get("vectors", manifest["count"]), model["name"],
            model.get("backend", "torch"), manifest["dimension"], index["type"],
            None if index["type"] == "flat" else index.get("recall_at_10"), merged,
            version / "merges.csv" if merged else None, sample,
        )  # fmt: skip


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did: the new version and its manifest, the rejects, the lock it took over."""

    workspace: Path
    version: str
    manifest: Mapping[str, Any]
    rejects: tuple[Any, ...] = ()
    rejects_files: tuple[Path, ...] = ()
    took_over: Mapping[str, Any] | None = None  # the lock note of a writer that died

    @property
    def changes(self) -> Mapping[str, int]:
        return self.manifest.get("changes", {})


@dataclass(frozen=True)
class IndexStatus:
    """`index status`: the current version, its counts and model, the last changes, and its integrity."""

    workspace: str
    current: str
    created_at: str | None
    participants: int | None
    vectors: int | None
    model: str | None
    dimension: int | None
    changes: Mapping[str, int]
    embedded: int | None
    merged_suppliers: int
    backend: str  # how texts are embedded, e.g. "onnx-int8 (mean cosine 0.9981 to PyTorch on the sample)"
    index: str  # the FAISS index kind and its settings
    integrity: str  # "ok: ..." or "FAILED: <what is wrong>"
    versions: tuple[str, ...]
    sources: Mapping[str, Any]
    writer: str | None  # the lock note of a writer at work, if any

    @property
    def ok(self) -> bool:
        return self.integrity.startswith("ok")


@dataclass(frozen=True)
class TrainReport:
    """`train`: what the learned ranker was fitted on, where it was saved, and its coefficients."""

    path: Path
    queries_used: int
    queries: int
    pairs: int
    window: tuple[str, str]  # (from, until) of the awards used, as the ranker's manifest says
    coefficients: tuple[tuple[str, float], ...]  # (feature, weight on the standardised feature)
    feedback_lots: int = 0  # marked lots among the queries (matcher.rank.feedback_labels)

    @classmethod
    def from_ranker(cls, ranker: Any, path: Path) -> TrainReport:
        """From the LearnedRanker that `train` returns."""
        m = ranker.manifest
        pairs = tuple((str(f), float(w)) for f, w in zip(ranker.features, ranker.coef))
        window = (m["window"]["from"], m["window"]["until"])
        lots = int((m.get("feedback") or {}).get("lots", 0))
        return cls(path, m["queries_used"], m["queries"], m["pairs"], window, pairs, lots)


@dataclass(frozen=True)
class FeedbackReport:
    """What `feedback mark`, `list`, `remove` or `undo` did: the action and the marks it concerns."""

    action: Literal["marked", "listed", "removed"]
    marks: tuple[Mark, ...]
    path: Path


@dataclass(frozen=True)
class RollbackReport:
    """`index rollback`: the version now served, and the one it replaced."""

    workspace: Path
    serving: str
    was: str


Interval = tuple[float, float, float]  # mean, and the low and high ends of its 95% bootstrap interval


@dataclass(frozen=True)
class MethodResult:
    """One ranking method of an evaluation: each metric's mean and interval, on warm tenders and on all."""

    name: str
    warm: Mapping[str, Interval]
    all: Mapping[str, Interval]
    seconds: float  # ranking time, embeddings excluded


@dataclass(frozen=True)
class EvalReport:
    """What `matcher eval` measured: the time split, and every method's metrics on the tenders after it.

    `comparisons` holds, for each learned ranker that was run (linear, LightGBM), that ranker minus
    each other method on warm tenders (recall@10 and MRR@10), with paired bootstrap intervals.
    """

    cutoff: date
    train_awards: int
    pool: int
    queries: int
    warm_queries: int
    undated: int
    methods: tuple[MethodResult, ...]
    model: str
    bootstrap: int
    comparisons: Mapping[str, Mapping[str, Mapping[str, Interval]]] = field(default_factory=dict)

    @property
    def warm_share(self) -> float:
        return self.warm_queries / self.queries if self.queries else math.nan


@dataclass(frozen=True)
class Teammate:
    """A member that could team with another on a tender: strong on the same lot or another lot of it."""

    participant_id: str
    name: str
    lot_id: str
    fit: float
    band: str


@dataclass(frozen=True)
class Opportunity:
    """One lot of a new tender that fits a member: the member's ranking for it (score, parts, fit,
    band, as `suggest` shows it; ``rank`` its place among the lot's top k, and for a member asked
    for by id and scored on every lot, 0 where it is below them) and the members it could team with."""

    tender_id: str
    tender_title: str
    lot_id: str
    lot_title: str
    buyer: str | None
    published: date | None
    deadline: date | None
    suggestion: Suggestion
    partners: tuple[Teammate, ...] = ()
    source: str = ""

    @property
    def fit(self) -> float:
        return self.suggestion.fit if self.suggestion.fit is not None else 0.0


@dataclass(frozen=True)
class MemberOpportunities:
    """The new lots that fit one member, best fit first."""

    participant_id: str
    name: str
    opportunities: tuple[Opportunity, ...]
    language: str | None = None  # the member's own (its profile's), for its digest
    # the same lots with their reasons in the member's language, when that is not the run's and nobody chose one
    in_own_language: tuple[Opportunity, ...] = ()


@dataclass(frozen=True)
class OpportunitiesReport:
    """What `opportunities` found in a feed: per member (best first) the lots that fit it and were
    not reported before, with the counts that say what was looked at and left out.

    ``already_reported`` counts the (member, lot) pairs that fit but an earlier run reported
    (shown again with ``report_all``); ``before_since`` the tenders the ``since`` date left out.
    """

    members: tuple[MemberOpportunities, ...]
    tenders: int
    lots: int
    before_since: int
    already_reported: int
    min_fit: float
    top_k: int
    since: date | None
    member: str | None
    rejects: tuple[str, ...]
    model: str
    index_version: str

    @property
    def count(self) -> int:
        """How many (member, lot) opportunities the report holds."""
        return sum(len(m.opportunities) for m in self.members)
