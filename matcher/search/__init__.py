"""Queries: `suggest` members for a tender's lots, find `similar` members, propose a `consortium`.

:class:`Matcher` is a thin façade over three parts: an opened index version
(:class:`~matcher.search.version.IndexVersion`: manifest, vectors, members, BM25, the embedder), a
candidate retriever (:class:`~matcher.search.candidates.CandidateRetriever`) and a ranker
(:class:`~matcher.rank.ranker.Ranker`: hand-weighted, or the workspace's trained one). It opens a
workspace's current version once and answers many queries; the module-level :func:`suggest`,
:func:`similar` and :func:`consortium` are one-shot conveniences over it, workspace first.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np

from matcher.embed.embedders import rescale_similarity
from matcher.errors import InputError
from matcher.inputs.tenders import read_tender
from matcher.profiles import lot_language, lot_text, tender_text
from matcher.rank.feedback import LotKey, apply_marks
from matcher.rank.hand import HandWeighted
from matcher.rank.need import SIMILAR_WEIGHTS, SUGGEST_WEIGHTS, Need
from matcher.rank.ranker import Ranker, rank
from matcher.results import LotSuggestions, Mark, SimilarResult, Suggestion, Teams, TenderSuggestions
from matcher.schema import Lot, Participant, Tender
from matcher.search.candidates import CandidateRetriever
from matcher.search.version import IndexVersion
from matcher.store.feedback import FeedbackStore
from matcher.store.members import Members
from matcher.store.workspace import Workspace
from matcher.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from matcher.rank.calibration import Calibration
    from matcher.rank.consortium import TeamConstraints

__all__ = ["Matcher", "RankerChoice", "consortium", "similar", "suggest"]

WorkspaceLike = Workspace | str | os.PathLike[str]
RankerChoice = Literal["auto", "hand", "learned"]


class Matcher:
    """A workspace's current index, opened once, answering suggest, similar and consortium queries.

    Example:
        >>> m = Matcher.open(Workspace(Path("matcher-workspace")))  # doctest: +SKIP
        >>> m.suggest("tender.yaml").lots[0].suggestions[0].name
    """

    def __init__(
        self,
        workspace: Workspace,
        model: str | None = None,
        *,
        verify: bool = True,
        ranker: RankerChoice = "auto",
        version: Path | None = None,
    ):
        """Opens the version CURRENT names, or the given ``version`` folder (a server following
        CURRENT opens each newly published one this way, beside the one it serves)."""
        self.workspace = workspace
        self.ranker = _load_ranker(workspace, ranker)
        self.calibration = _load_calibration(workspace, self.ranker)
        if version is None:
            self.opened = IndexVersion.open_current(workspace, model, verify=verify)
        else:
            self.opened = IndexVersion(workspace, version, model, verify=verify)
        self.pool = self.opened.pool
        self.feedback = FeedbackStore(workspace.root)
        self._marks: tuple[tuple[int, ...], Mapping[str, tuple[Mark, ...]]] | None = None  # see marks()
        self.candidates = CandidateRetriever(self.opened, self.pool)
        # Called with ("embed" | "rank", seconds) after each stage of a query: the server's metrics.
        self.observer: Callable[[str, float], None] | None = None

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.observer is not None:
                self.observer(stage, time.perf_counter() - start)

    @classmethod
    def open(cls, workspace: WorkspaceLike, model: str | None = None, *, ranker: RankerChoice = "auto") -> Matcher:
        """The current index of a workspace (or of the folder at a path)."""
        ws = workspace if isinstance(workspace, Workspace) else Workspace(Path(workspace))
        return cls(ws, model, ranker=ranker)

    @property
    def version(self) -> Path:
        """The folder of the version being served (``.name`` is what answers report)."""
        return self.opened.path

    @property
    def members(self) -> Members:
        """The members of the served version, by row (a memory-mapped table: ``len``, ``get(rows)``, ``row_of(id)``)."""
        return self.opened.members

    @property
    def participants(self) -> list[Participant]:
        """Every member of the served version, built whole: for small indexes (tests, a cluster's
        few hundred members); a big one is read through :attr:`members`."""
        return self.members.get(np.arange(len(self.members)))

    @property
    def model_name(self) -> str:
        return self.opened.model_name

    def marks(self) -> Mapping[str, tuple[Mark, ...]]:
        """The workspace's feedback marks by member id, as of now: the CLI, the page and other
        workers add marks while a server runs. Read again only when the feedback file changed
        since the last query (:meth:`FeedbackStore.state`), so a query with no new mark reads none."""
        state = self.feedback.state()
        if state is None:
            return {}
        kept = self._marks
        if kept is not None and kept[0] == state:
            return kept[1]
        by_member: dict[str, list[Mark]] = defaultdict(list)
        for m in self.feedback.marks():
            by_member[m.member_id].append(m)
        # read-only, since every query of this Matcher shares it
        found = MappingProxyType({member: tuple(marks) for member, marks in by_member.items()})
        self._marks = (state, found)
        return found

    def participant(self, participant_id: str) -> Participant:
        """A member's whole profile, as stored in the served version (description included)."""
        return self.opened.participant(participant_id)

    def _rank(
        self,
        need: Need,
        query: np.ndarray,
        top_k: int,
        text: str | None = None,
        exclude: set[int] | None = None,
        year: int | None = None,
        language: str | None = None,
        between_members: bool = False,
        rows: list[int] | None = None,
    ) -> list[Suggestion]:
        lexical = None
        if text:  # the top members by BM25 and the candidates' shares, not every member's (LexicalMatch)
            lexical = self.opened.lexical.match(text, language)
            need = replace(need, lexical_total=lexical.total)
        if rows is None:
            rows, dense = self.candidates(query, need, top_k, exclude or set(), lexical)
        else:  # the given members only, each with its exact best cosine (not a neighbour search's)
            dense = self.opened.best_cosine(rows, query[0])
        dense = rescale_similarity(self.model_name, dense, self.opened.centered, between_members)
        # the trained ranker answers suggest; similar (and a request without text) keeps the hand weights
        suggest = lexical is not None and need.weights == SUGGEST_WEIGHTS
        ranker = self.ranker if suggest else HandWeighted()
        calibration = self.calibration if suggest else None  # fitted on suggest's scores only
        shares = None if lexical is None else lexical.at(rows)
        return rank(need, self.pool, rows, dense, top_k, shares, ranker, year, calibration)

    # --- queries --------------------------------------------------------------------

    def suggest(
        self, tender: Tender | str | os.PathLike[str], top_k: int = 10, *, hide_rejected: bool = False
    ) -> TenderSuggestions:
        """Rank members for every lot of a tender, and for the tender as a whole.

        The workspace's feedback marks are shown beside each suggestion, and a member marked not
        relevant for a similar lot is demoted (a "feedback" part: :mod:`matcher.rank.feedback`).

        Args:
            tender: a Tender, or the path of a tender JSON/YAML file.
            top_k: how many members to return per lot.
            hide_rejected: leave out, rather than demote, members marked not relevant for a similar lot.
        """
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if not isinstance(tender, Tender):
            tender = read_tender(tender)
        taxonomy = load_taxonomy()
        texts = [lot_text(lot, tender, taxonomy) for lot in tender.lots] + [tender_text(tender, taxonomy)]
        # embedded as requests (e5: "query: "); as passages the tuning judged set gained 0.016
        # nDCG@10 and the held-out one lost 0.037 (docs/evaluation.md), so they stay queries
        with self._timed("embed"):
            vectors = self.opened.embed(texts)
        year = (tender.deadline or date.today()).year  # recency features count to the tender's date
        marks = self.marks()
        # with marks, rank more than shown so that a demoted member's place goes to the next one
        deeper = top_k if not marks else top_k * 2 + 5
        per_lot = []
        with self._timed("rank"):
            for lot, vector, text in zip(tender.lots, vectors, texts):
                need = _lot_need(lot, tender)
                ranked = self._rank(need, vector[None, :], deeper, text, year=year, language=lot_language(lot, tender))
                key = LotKey(tender.id, lot.id, lot.codes, f"{lot.title} {lot.description}")
                ranked = apply_marks(ranked, key, marks, top_k, hide_rejected=hide_rejected)
                per_lot.append(LotSuggestions(lot.id, lot.title, tuple(ranked)))
            overall = self._rank(
                _tender_need(tender), vectors[-1][None, :], deeper, texts[-1], year=year,
                language=tender.language or lot_language(tender.lots[0], tender),
            )  # fmt: skip
            whole = LotKey(tender.id, "*", _tender_need(tender).codes, f"{tender.title} {tender.description}")
            overall = apply_marks(
                overall, whole, marks, top_k, hide_rejected=hide_rejected,
                shown_here=lambda m: m.tender_id == tender.id,
            )  # fmt: skip
        in_lots: dict[str, list[str]] = defaultdict(list)
        for lot_result in per_lot:
            for s in lot_result.suggestions:
                in_lots[s.participant_id].append(lot_result.lot_id)
        overall = [replace(s, lots=tuple(in_lots.get(s.participant_id, ()))) for s in overall]
        unread = () if self.opened.embedder.multilingual else _other_languages(tender)
        return TenderSuggestions(
            tender,
            tuple(per_lot),
            LotSuggestions("*", tender.title, tuple(overall)),
            self.model_name,
            self.version.name,
            unread,
        )

    def rank_lots(
        self, tenders: Sequence[Tender], top_k: int = 20, *, member: str | None = None, batch: int = 256
    ) -> list[tuple[LotSuggestions, ...]]:
        """Every lot of many tenders ranked as :meth:`suggest` ranks it (without the whole-tender
        ranking), the lot texts of all tenders embedded in batches of ``batch``; members marked not
        relevant for a similar lot are left out, as ``suggest --hide-rejected`` does.

        Args:
            member: rank that member only, on every lot: its exact score and fit, whether or not it
                would be among a lot's candidates (the neighbour search is skipped).

        Example:
            >>> [lot.suggestions[0].name for lot in m.rank_lots([tender])[0]]  # doctest: +SKIP
        """
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        only = None if member is None else [self.opened.row_of(member)]
        # A member marked not relevant for a similar lot is left out (its fit, which opportunities
        # filter on, is not what the demotion changes); its other marks are shown beside it.
        marks = self.marks()
        deeper = top_k if not marks or only is not None else top_k * 2 + 5
        taxonomy = load_taxonomy()
        lots = [(t, lot) for t in tenders for lot in t.lots]
        texts = [lot_text(lot, t, taxonomy) for t, lot in lots]
        ranked: dict[tuple[int, str], LotSuggestions] = {}
        for start in range(0, len(lots), batch):
            with self._timed("embed"):
                vectors = self.opened.embed(texts[start : start + batch])
            with self._timed("rank"):
                for (tender, lot), vector, text in zip(lots[start : start + batch], vectors, texts[start:]):
                    need = _lot_need(lot, tender)
                    year = (tender.deadline or date.today()).year
                    found = self._rank(
                        need, vector[None, :], deeper, text, year=year, language=lot_language(lot, tender), rows=only
                    )
                    key = LotKey(tender.id, lot.id, lot.codes, f"{lot.title} {lot.description}")
                    found = apply_marks(found, key, marks, top_k, hide_rejected=True)
                    ranked[(id(tender), lot.id)] = LotSuggestions(lot.id, lot.title, tuple(found))
        return [tuple(ranked[(id(t), lot.id)] for lot in t.lots) for t in tenders]

    def explain(
        self, tender: Tender, lot_id: str, suggestion: Suggestion, firm: Participant | None = None
    ) -> Suggestion:
        """A lot's suggestion with the words of its parts written again, in the language in force
        (:mod:`matcher.i18n`); values, scores and fit unchanged. A manager's demotion keeps its words.
        ``firm``: the member's profile when the caller has read it already (else it is read here).

        Example:
            >>> with use("ru"):  # doctest: +SKIP
            ...     m.explain(tender, "1", suggestion).part("buyer").detail
        """
        lot = next(x for x in tender.lots if x.id == lot_id)
        words = self.ranker.explain(
            _lot_need(lot, tender), firm or self.participant(suggestion.participant_id),
            {p.name: p.value for p in suggestion.parts if p.name != "feedback"},
        )  # fmt: skip
        parts = tuple(replace(p, detail=words.get(p.name, p.detail)) for p in suggestion.parts)
        return replace(suggestion, parts=parts)

    def consortium(
        self,
        tender: Tender | str | os.PathLike[str],
        constraints: TeamConstraints | None = None,
        *,
        teams: int = 3,
        candidates: int = 20,
        solver: Literal["auto", "cp-sat", "greedy"] = "auto",
        hide_rejected: bool = False,
    ) -> Teams:
        """Teams that together cover a tender's lots, built from each lot's `candidates` best members.

        Returns the teams, best first, with the per-lot rankings (of `candidates` members each)
        they were built from; ``.top(k)`` cuts those to show. A member's fit for a lot is its
        calibrated fit (the chance it can do the lot, as `suggest` shows it), or where the ranker
        has no calibration its score on a 0..1 scale (:meth:`Ranker.unit_score`), so that every
        lot's fit is on the same scale.
        """
        from matcher.rank.consortium import TeamConstraints, build_consortia

        result = self.suggest(tender, top_k=candidates, hide_rejected=hide_rejected)

        def fit(s: Suggestion) -> float:  # the suggestion's calibrated fit, as suggest shows it
            return s.fit if s.fit is not None else self.ranker.unit_score(s.score)

        ranked = {}
        for lot in result.lots:
            firms = self.members.get([self.opened.row_of(s.participant_id) for s in lot.suggestions])
            ranked[lot.lot_id] = [(firm, fit(s)) for firm, s in zip(firms, lot.suggestions)]
        found = build_consortia(result.tender, ranked, constraints or TeamConstraints(), teams, solver)
        names = {s.participant_id: s.name for lot in result.lots for s in lot.suggestions}
        names = {m: names[m] for t in found for m in t.members}
        return Teams(result, tuple(found), names)

    def similar(self, participant_id: str | None = None, text: str | None = None, top_k: int = 10) -> SimilarResult:
        """Members most like a participant (by id) or like a free-text description."""
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if participant_id is not None and text is not None:
            raise InputError("give a participant id or a text (--text), not both")
        if participant_id is None and (text is None or not text.strip()):
            raise InputError('the text is empty; describe the firm, e.g. --text "road bridge repair"')
        if participant_id is not None:
            row = self.opened.row_of(participant_id)
            [firm] = self.members.get([row])
            query = self.opened.profile_vector(row)
            need = Need(firm.codes, firm.regions, weights=dict(SIMILAR_WEIGHTS))
            with self._timed("rank"):
                results = self._rank(need, query, top_k, exclude={row}, between_members=True)
        else:
            assert text is not None
            with self._timed("embed"):
                query = self.opened.embed([" ".join(text.split())])
            with self._timed("rank"):
                results = self._rank(Need(weights=dict(SIMILAR_WEIGHTS)), query, top_k)
        return SimilarResult(participant_id, text, tuple(results), self.model_name, self.version.name)


def _other_languages(tender: Tender) -> tuple[str, ...]:
    """The languages of the tender's lots besides English, as stated or detected."""
    return tuple(sorted({lot_language(lot, tender) for lot in tender.lots} - {"en"}))


def _load_calibration(workspace: Workspace, ranker: Ranker) -> Calibration | None:
    """The fit of the serving ranker's scores: the bundled one for the hand weights, the one
    `matcher train` wrote beside a trained ranker (None where there is none: no fit is shown)."""
    from matcher.rank.calibration import bundled_calibration, read_calibration

    if isinstance(ranker, HandWeighted):
        return bundled_calibration()
    path = workspace.calibration_path
    if not path.exists():
        return None
    calibration = read_calibration(path)
    return calibration if calibration.ranker == ranker.name else None


def _load_ranker(workspace: Workspace, choice: RankerChoice) -> Ranker:
    """The workspace's trained ranker (`matcher train`: linear or LightGBM) where there is one, else hand weights."""
    from matcher.rank.trained import load_ranker

    path = workspace.ranker_path
    if choice == "hand" or (choice == "auto" and not path.exists()):
        return HandWeighted()
    if not path.exists():
        raise InputError(f"no trained ranker in {workspace.root}; run `matcher train` or use --ranker hand")
    return load_ranker(path)


def _lot_need(lot: Lot, tender: Tender) -> Need:
    """What one lot asks: its codes, region, certifications and value, for the tender's buyer."""
    return Need(lot.codes, (lot.region,) if lot.region else (), lot.certifications, lot.value, tender.buyer)


def _tender_need(tender: Tender) -> Need:
    """The whole tender as one request: every lot's codes, the certifications all lots need."""
    codes = tuple(dict.fromkeys(c for lot in tender.lots for c in lot.codes))
    common = set(tender.lots[0].certifications).intersection(*(lot.certifications for lot in tender.lots[1:]))
    certs = tuple(c for c in tender.lots[0].certifications if c in common)
    value = tender.value or (sum(lot.value or 0 for lot in tender.lots) or None)
    region = tender.region or tender.lots[0].region
    return Need(codes, (region,) if region else (), certs, value, tender.buyer)


def suggest(
    workspace: WorkspaceLike,
    tender: Tender | str | os.PathLike[str],
    *,
    top_k: int = 10,
    model: str | None = None,
    ranker: RankerChoice = "auto",
    hide_rejected: bool = False,
) -> TenderSuggestions:
    """Rank a workspace's members for every lot of a tender (see :meth:`Matcher.suggest`).

    Example:
        >>> suggest("my-cluster", "tender.yaml", top_k=3).lots[0].suggestions[0].name  # doctest: +SKIP
    """
    return Matcher.open(workspace, model, ranker=ranker).suggest(tender, top_k, hide_rejected=hide_rejected)


def similar(
    workspace: WorkspaceLike,
    participant_id: str | None = None,
    *,
    text: str | None = None,
    top_k: int = 10,
    model: str | None = None,
) -> SimilarResult:
    """Members most like a participant or a text (see :meth:`Matcher.similar`)."""
    return Matcher.open(workspace, model).similar(participant_id, text, top_k)


def consortium(
    workspace: WorkspaceLike,
    tender: Tender | str | os.PathLike[str],
    constraints: TeamConstraints | None = None,
    *,
    teams: int = 3,
    candidates: int = 20,
    model: str | None = None,
    ranker: RankerChoice = "auto",
    hide_rejected: bool = False,
) -> Teams:
    """Teams that together cover a tender's lots (see :meth:`Matcher.consortium`); ``.top(k)``
    cuts the rankings they were built from, to show beside them."""
    return Matcher.open(workspace, model, ranker=ranker).consortium(
        tender, constraints, teams=teams, candidates=candidates, hide_rejected=hide_rejected
    )
