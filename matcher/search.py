"""Queries: `suggest` members for a tender's lots, and find `similar` members.

:class:`Matcher` opens a workspace's current index once and answers many queries; the
module-level :func:`suggest` and :func:`similar` are one-shot conveniences over it.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from matcher.embed.embedders import Embedder, canonical_model, embedder_for_manifest, load_embedder, rescale_similarity

if TYPE_CHECKING:
    from matcher.rank.consortium import TeamConstraints
from matcher.errors import (
    REBUILD,
    IndexCorrupt,
    InputError,
    ModelMismatch,
    UnknownParticipant,
    close_matches,
    did_you_mean,
)
from matcher.index.bm25 import LexicalIndex
from matcher.index.vectors import VectorIndex
from matcher.inputs.tenders import read_tender
from matcher.profiles import lot_language, lot_text, tender_text
from matcher.rank.hand import HandWeighted
from matcher.rank.need import SIMILAR_WEIGHTS, SUGGEST_WEIGHTS, Need
from matcher.rank.pool import Pool
from matcher.rank.ranker import Ranker, rank
from matcher.results import LotSuggestions, SimilarResult, Suggestion, Teams, TenderSuggestions
from matcher.schema import Participant, Tender
from matcher.store.tables import read_participant_table, read_vector_owners
from matcher.store.workspace import Workspace
from matcher.taxonomy import load_taxonomy

# Dense candidates per request before re-ranking; code-matched members are added to them.
MIN_CANDIDATES = 200
# Files every index version of the current format holds besides the FAISS index and the tables.
VERSION_FILES = ("vectors.npy", "params.index.json")


class Matcher:
    """A workspace's current index, opened once, answering suggest and similar queries.

    Example:
        >>> m = Matcher.open(Workspace(Path("matcher-workspace")))  # doctest: +SKIP
        >>> m.suggest("tender.yaml").lots[0].suggestions[0].name
    """

    def __init__(
        self, workspace: Workspace, model: str | None = None, *, verify: bool = True, ranker: RankerChoice = "auto"
    ):
        self.workspace = workspace
        self.ranker = _load_ranker(workspace, ranker)
        for attempt in range(3):
            self.version = workspace.current_version()
            try:
                self._open_version(model, verify)
                break
            except (IndexCorrupt, OSError):
                # A refresh may have published a newer version and pruned this one while we were
                # reading it: then open the new one. A version that is still current is broken.
                if attempt == 2 or workspace.current_version() == self.version:
                    raise
        self._embedder: Embedder | None = None
        self._lexical: LexicalIndex | None = None

    def _open_version(self, model: str | None, verify: bool) -> None:
        workspace = self.workspace
        self.manifest = workspace.read_manifest(self.version)
        _check_faiss_version(self.version, self.manifest)
        if verify:
            workspace.verify(self.version, self.manifest)
        built_with = self.manifest.get("model", {}).get("name", "?")
        dimension = int(self.manifest.get("dimension", 0))
        if model is not None and canonical_model(model) != built_with:
            raise ModelMismatch(
                f"the index in {workspace.root} was built with model '{built_with}' (dimension {dimension}), "
                f"not '{model}'; leave --model out to use '{built_with}', or rebuild: "
                f"matcher index build --model {model}"
            )
        self.model_name = built_with
        self.index = VectorIndex.load(self.version / "index.faiss")
        self.index.set_params(self.manifest.get("index", {}))  # the nprobe / efSearch tuned at build time
        for name in VERSION_FILES:  # every version of this format has them; an older one never served here
            if not (self.version / name).exists():
                raise IndexCorrupt(f"{self.version} has no {name} (written by an older matcher); {REBUILD}")
        # Exact vectors, memory-mapped: only the rows of the firms a query looks at are read.
        self.vectors = np.load(self.version / "vectors.npy", mmap_mode="r", allow_pickle=False)
        self.index.attach(self.vectors)
        if self.index.dimension != dimension:
            raise IndexCorrupt(
                f"{self.version / 'index.faiss'} has dimension {self.index.dimension} but the manifest says "
                f"{dimension}; rebuild with `matcher index build`"
            )
        # Without descriptions: ranking never reads them (BM25 and the vectors hold what they say),
        # and they are half of a big registry's memory; `participant()` reads one back.
        self.participants: list[Participant] = read_participant_table(
            self.version / "participants.parquet", skip=("description",)
        )
        # Each participant has several vectors (its profile, then each past project), in row order.
        self.owner = read_vector_owners(self.version / "vectors.parquet")
        if len(self.owner) != len(self.index) or (len(self.owner) and self.owner[-1] != len(self.participants) - 1):
            raise IndexCorrupt(
                f"{self.version}: {len(self.index)} vectors do not match {len(self.participants)} participants; "
                "rebuild with `matcher index build`"
            )
        self._first = np.searchsorted(self.owner, np.arange(len(self.participants) + 1))
        self._row = {p.id: i for i, p in enumerate(self.participants)}
        self.pool = Pool(self.participants)

    @classmethod
    def open(cls, workspace: Workspace | str | os.PathLike[str], model: str | None = None) -> Matcher:
        ws = workspace if isinstance(workspace, Workspace) else Workspace(Path(workspace))
        return cls(ws, model)

    # --- embedding ------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            embedder = self._load_embedder()
            expected = self.manifest.get("model", {}).get("fingerprint")
            if expected and embedder.fingerprint != expected:
                raise ModelMismatch(
                    f"the files of model '{self.model_name}' changed since the index in {self.workspace.root} "
                    "was built; rebuild with `matcher index build`"
                )
            self._embedder = embedder
        return self._embedder

    def _load_embedder(self) -> Embedder:
        """The model the index was built with, run the same way (ONNX needs no torch)."""
        # `load` by this module's name, which tests replace with a fake
        entry = {"name": self.model_name, **self.manifest.get("model", {})}
        return embedder_for_manifest(entry, self.workspace.root, self.version, load=load_embedder)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed query texts with the index's model (checked against the index's dimension)."""
        vectors = self.embedder.encode(texts, kind="query")
        if vectors.shape[1] != self.index.dimension:
            raise ModelMismatch(
                f"model '{self.model_name}' gives {vectors.shape[1]}-dimensional vectors but the index has "
                f"{self.index.dimension}; rebuild with `matcher index build`"
            )
        return vectors

    # --- candidates -----------------------------------------------------------------

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex.load(self.version)  # written by the build (memory-mapped)
            if self._lexical.n != len(self.participants):
                raise IndexCorrupt(f"{self.version}: the BM25 index does not match the participants; {REBUILD}")
        return self._lexical

    def _stored(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[ids], dtype=np.float32)

    def profile_vector(self, row: int) -> np.ndarray:
        return self._stored(np.array([int(self._first[row])]))

    def _best_cosine(self, rows: list[int], query: np.ndarray) -> np.ndarray:
        """A firm's cosine is that of its best vector (profile or a past project)."""
        if not rows:
            return np.zeros(0, dtype=np.float32)
        starts = self._first[rows]
        counts = self._first[np.asarray(rows) + 1] - starts
        # every vector id of every firm, firm after firm: starts repeated, plus 0..count-1 within each
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cosines = self._stored(np.repeat(starts, counts) + offsets) @ query
        return np.maximum.reduceat(cosines, np.cumsum(counts) - counts).astype(np.float32)

    def _candidates(
        self, query: np.ndarray, need: Need, top_k: int, exclude: set[int], lexical: np.ndarray | None
    ) -> tuple[list[int], np.ndarray]:
        """Dense neighbours, the best BM25 matches, members sharing a code block and the buyer's past
        suppliers, each with its best cosine."""
        wanted = max(MIN_CANDIDATES, top_k * 10)
        per_firm = max(1, round(len(self.owner) / max(1, len(self.participants))))
        scores, ids = self.index.search(query, wanted * per_firm)
        cosine: dict[int, float] = {}
        for score, vid in zip(scores[0], ids[0]):
            if vid < 0:
                continue
            row = int(self.owner[vid])
            if row not in exclude and score > cosine.get(row, -2.0):
                cosine[row] = float(score)  # the best vector of each firm among the hits is its best overall
        extra = self.pool.extra_candidates(need, lexical, wanted)
        extra -= cosine.keys() | exclude
        if extra:
            rows = sorted(extra)
            for row, sim in zip(rows, self._best_cosine(rows, query[0])):
                cosine[row] = float(sim)
        rows = list(cosine)
        return rows, np.array([cosine[r] for r in rows], dtype=np.float32)

    def _rank(
        self,
        need: Need,
        query: np.ndarray,
        top_k: int,
        text: str | None = None,
        exclude: set[int] | None = None,
        year: int | None = None,
        language: str | None = None,
    ) -> list[Suggestion]:
        lexical = self.lexical.scores(text, language) if text else None
        rows, dense = self._candidates(query, need, top_k, exclude or set(), lexical)
        dense = rescale_similarity(self.model_name, dense)
        # the trained ranker answers suggest; similar (and a request without text) keeps the hand weights
        ranker = self.ranker if lexical is not None and need.weights == SUGGEST_WEIGHTS else HandWeighted()
        return rank(need, self.pool, rows, dense, top_k, None if lexical is None else lexical[rows], ranker, year)

    # --- queries --------------------------------------------------------------------

    def suggest(self, tender: Tender | str | os.PathLike[str], top_k: int = 10) -> TenderSuggestions:
        """Rank members for every lot of a tender, and for the tender as a whole.

        Args:
            tender: a Tender, or the path of a tender JSON/YAML file.
            top_k: how many members to return per lot.
        """
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if not isinstance(tender, Tender):
            tender = read_tender(tender)
        taxonomy = load_taxonomy()
        texts = [lot_text(lot, tender, taxonomy) for lot in tender.lots] + [tender_text(tender, taxonomy)]
        vectors = self.embed(texts)
        year = (tender.deadline or date.today()).year  # recency features count to the tender's date
        per_lot = []
        for lot, vector, text in zip(tender.lots, vectors, texts):
            need = Need(lot.codes, (lot.region,) if lot.region else (), lot.certifications, lot.value, tender.buyer)
            ranked = self._rank(need, vector[None, :], top_k, text, year=year, language=lot_language(lot, tender))
            per_lot.append(LotSuggestions(lot.id, lot.title, tuple(ranked)))
        overall = self._rank(
            _tender_need(tender), vectors[-1][None, :], top_k, texts[-1], year=year,
            language=tender.language or lot_language(tender.lots[0], tender),
        )  # fmt: skip
        in_lots: dict[str, list[str]] = defaultdict(list)
        for lot_result in per_lot:
            for s in lot_result.suggestions:
                in_lots[s.participant_id].append(lot_result.lot_id)
        overall = [
            Suggestion(
                s.rank, s.participant_id, s.name, s.kind, s.score, s.parts, tuple(in_lots.get(s.participant_id, ()))
            )
            for s in overall
        ]
        return TenderSuggestions(
            tender,
            tuple(per_lot),
            LotSuggestions("*", tender.title, tuple(overall)),
            self.model_name,
            self.version.name,
        )

    def consortium(
        self,
        tender: Tender | str | os.PathLike[str],
        constraints: TeamConstraints | None = None,
        *,
        teams: int = 3,
        candidates: int = 20,
        solver: Literal["auto", "cp-sat", "greedy"] = "auto",
    ) -> Teams:
        """Teams that together cover a tender's lots, built from each lot's `candidates` best members.

        Returns the teams, best first, with the per-lot rankings (of `candidates` members each)
        they were built from; ``.top(k)`` cuts those to show. The ranker puts its scores on a 0..1
        scale first (:meth:`Ranker.unit_score`: the logistic for a learned ranker), so that every
        lot's fit is on the same scale.
        """
        from matcher.rank.consortium import TeamConstraints, build_consortia

        result = self.suggest(tender, top_k=candidates)
        fit = self.ranker.unit_score
        ranked = {
            lot.lot_id: [(self.participants[self._row[s.participant_id]], fit(s.score)) for s in lot.suggestions]
            for lot in result.lots
        }
        found = build_consortia(result.tender, ranked, constraints or TeamConstraints(), teams, solver)
        names = {m: self.participants[self._row[m]].name for t in found for m in t.members}
        return Teams(result, tuple(found), names)

    def participant(self, participant_id: str) -> Participant:
        """A member's whole profile, as stored in the index's version (description included)."""
        row = self._known(participant_id)
        return read_participant_table(self.version / "participants.parquet", row=row)[0]

    def _known(self, participant_id: str) -> int:
        row = self._row.get(participant_id)
        if row is None:
            hint = did_you_mean(close_matches(participant_id, self._row), "`matcher similar --text` searches by text")
            raise UnknownParticipant(f"no participant '{participant_id}' in the index of {self.workspace.root}{hint}")
        return row

    def similar(self, participant_id: str | None = None, text: str | None = None, top_k: int = 10) -> SimilarResult:
        """Members most like a participant (by id) or like a free-text description."""
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}")
        if participant_id is not None and text is not None:
            raise InputError("give a participant id or a text (--text), not both")
        if participant_id is None and (text is None or not text.strip()):
            raise InputError('the text is empty; describe the firm, e.g. --text "road bridge repair"')
        if participant_id is not None:
            row = self._known(participant_id)
            firm = self.participants[row]
            query = self.profile_vector(row)
            need = Need(firm.codes, firm.regions, weights=dict(SIMILAR_WEIGHTS))
            results = self._rank(need, query, top_k, exclude={row})
        else:
            assert text is not None
            query = self.embed([" ".join(text.split())])
            results = self._rank(Need(weights=dict(SIMILAR_WEIGHTS)), query, top_k)
        return SimilarResult(participant_id, text, tuple(results), self.model_name, self.version.name)


def _check_faiss_version(version: Path, manifest: dict) -> None:
    """An index written by a newer FAISS may not read correctly with this one: say so, never guess."""
    import faiss

    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", v)[:2])

    written = str(manifest.get("faiss_version", "0"))
    if parts(written) > parts(faiss.__version__):
        raise IndexCorrupt(
            f"{version / 'index.faiss'} was written by FAISS {written}, newer than the installed "
            f"{faiss.__version__}; upgrade faiss-cpu, or rebuild with `matcher index build`"
        )


RankerChoice = Literal["auto", "hand", "learned"]


def _load_ranker(workspace: Workspace, choice: RankerChoice) -> Ranker:
    """The workspace's trained ranker (`matcher train`) where there is one, else the hand-weighted one."""
    from matcher.rank.learned import LearnedRanker

    path = workspace.ranker_path
    if choice == "hand" or (choice == "auto" and not path.exists()):
        return HandWeighted()
    if not path.exists():
        raise InputError(f"no trained ranker in {workspace.root}; run `matcher train` or use --ranker hand")
    return LearnedRanker.load(path)


def _tender_need(tender: Tender) -> Need:
    """The whole tender as one request: every lot's codes, the certifications all lots need."""
    codes = tuple(dict.fromkeys(c for lot in tender.lots for c in lot.codes))
    common = set(tender.lots[0].certifications).intersection(*(lot.certifications for lot in tender.lots[1:]))
    certs = tuple(c for c in tender.lots[0].certifications if c in common)
    value = tender.value or (sum(lot.value or 0 for lot in tender.lots) or None)
    region = tender.region or tender.lots[0].region
    return Need(codes, (region,) if region else (), certs, value, tender.buyer)


WorkspaceLike = Workspace | str | os.PathLike[str]


def _open(workspace: WorkspaceLike, model: str | None, ranker: RankerChoice = "auto") -> Matcher:
    return Matcher(workspace if isinstance(workspace, Workspace) else Workspace(Path(workspace)), model, ranker=ranker)


def suggest(
    workspace: WorkspaceLike,
    tender: Tender | str | os.PathLike[str],
    *,
    top_k: int = 10,
    model: str | None = None,
    ranker: RankerChoice = "auto",
) -> TenderSuggestions:
    """Rank a workspace's members for every lot of a tender (see :meth:`Matcher.suggest`).

    Example:
        >>> suggest("my-cluster", "tender.yaml", top_k=3).lots[0].suggestions[0].name  # doctest: +SKIP
    """
    return _open(workspace, model, ranker).suggest(tender, top_k)


def similar(
    workspace: WorkspaceLike,
    participant_id: str | None = None,
    *,
    text: str | None = None,
    top_k: int = 10,
    model: str | None = None,
) -> SimilarResult:
    """Members most like a participant or a text (see :meth:`Matcher.similar`)."""
    return _open(workspace, model).similar(participant_id, text, top_k)


def consortium(
    workspace: WorkspaceLike,
    tender: Tender | str | os.PathLike[str],
    constraints: TeamConstraints | None = None,
    *,
    teams: int = 3,
    candidates: int = 20,
    model: str | None = None,
    ranker: RankerChoice = "auto",
) -> Teams:
    """Teams that together cover a tender's lots (see :meth:`Matcher.consortium`); ``.top(k)``
    cuts the rankings they were built from, to show beside them."""
    return _open(workspace, model, ranker).consortium(tender, constraints, teams=teams, candidates=candidates)
