"""Measure `matcher suggest` on the sample's judged set and write the table into docs/evaluation.md.

The judged set (tests/data/judged/sample-lots.yaml) is 28 tender lots over the bundled sample
cluster, each with graded judgements written from the members' profiles before any tuning:
2 = can do the lot as main contractor, 1 = related or can do a part, unlisted = 0. Every lot is
asked the way the README's default commands ask: the sample workspace
(`matcher.build.ensure_sample_workspace()`, what `matcher index build --sample` builds) and
`matcher.search.suggest(workspace, tender, top_k=10)` on a one-lot tender made of the lot, read
by the same validation as a tender file.

Reported: nDCG@10 (gains 2 and 1, log2 discount, normalised by the ideal ranking of all judged
members) and P@5 (relevant = grade 1 or 2), by group and per lot, and for the lots no member can
do well, the score of the first suggestion.

Both judged sets are measured: the tuning set (sample-lots.yaml, which the ranking's design was
looked at against) and the held-out set (sample-lots-holdout.yaml, written before the changes of
issue 13 were run on it, and used to report only).

Run: .venv/bin/python scripts/judged_eval.py            (prints the tables and rewrites the sections)
     .venv/bin/python scripts/judged_eval.py --no-write (prints them only)
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from matcher.results import LotSuggestions
    from matcher.schema import Tender

ROOT = Path(__file__).resolve().parents[1]
JUDGED = ROOT / "tests" / "data" / "judged" / "sample-lots.yaml"
DOCS = ROOT / "docs" / "evaluation.md"
HOLDOUT = JUDGED.with_name("sample-lots-holdout.yaml")
BEGIN, END = "<!-- judged-set:begin -->", "<!-- judged-set:end -->"
HOLDOUT_BEGIN, HOLDOUT_END = "<!-- judged-holdout:begin -->", "<!-- judged-holdout:end -->"
NDCG_K, P_K, TOP_K = 10, 5, 10
LANGUAGES = {"ru": "Russian", "en": "English"}


@dataclass(frozen=True)
class JudgedLot:
    """One lot of the judged set and its grades (member id -> 1 or 2; unlisted members are 0)."""

    id: str
    language: str
    title: str
    description: str
    codes: tuple[str, ...]
    region: str | None
    cross_lingual: bool
    no_good_match: bool
    synonyms: bool
    judgements: Mapping[str, int]


@dataclass(frozen=True)
class LotResult:
    """What suggest returned for one judged lot, and its metrics."""

    lot: JudgedLot
    ranked: tuple[tuple[str, str, float], ...]  # (member id, name, score), best first
    ndcg: float
    precision: float
    warned: bool = False  # the lot's output says "no good match"
    best_fit: str = ""  # the first suggestion's fit and band, e.g. "0.43 possible"

    @property
    def top_score(self) -> float:
        return self.ranked[0][2] if self.ranked else 0.0


def load_judged_set(path: Path = JUDGED) -> list[JudgedLot]:
    """The lots of a judged-set file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    lots = []
    for i, raw in enumerate(data["lots"]):
        try:
            lots.append(
                JudgedLot(
                    id=raw["id"],
                    language=raw["language"],
                    title=raw["title"],
                    description=raw["description"],
                    codes=tuple(raw.get("codes") or ()),
                    region=raw.get("region"),
                    cross_lingual=bool(raw["cross_lingual"]),
                    no_good_match=bool(raw.get("no_good_match", False)),
                    synonyms=bool(raw.get("synonyms", False)),
                    judgements=dict(raw["judgements"]),
                )
            )
        except KeyError as exc:
            raise SystemExit(
                f"{path}: lots[{i}] ({raw.get('id', '?')}) has no field {exc}; see the file's header"
            ) from None
    return lots


# ------------------------------------------------------------------ metrics


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain: the gain at rank r (1-based) counts 1 / log2(r + 1)."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = NDCG_K) -> float:
    """nDCG@k with the grades as linear gains (trec_eval's convention), normalised by the best
    possible top k: all judged members in grade order. A ranking of fewer than k counts the rest as 0.

    Raises:
        ValueError: when no member is relevant, where nDCG is undefined.
    """
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    if ideal <= 0:
        raise ValueError("nDCG is undefined for a lot without any relevant member")
    return dcg([grades.get(m, 0) for m in ranked[:k]]) / ideal


def precision_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = P_K) -> float:
    """Share of the first k places held by members of grade 1 or more (an empty place counts as a miss)."""
    return sum(1 for m in ranked[:k] if grades.get(m, 0) >= 1) / k


# ------------------------------------------------------------------ running the system


def lot_tender(lot: JudgedLot) -> Tender:
    """A one-lot tender made of the lot, through the validation a tender file goes through."""
    from matcher.inputs.tenders import parse_tender

    fields: dict[str, Any] = {"id": "1", "title": lot.title, "description": lot.description}
    if lot.codes:
        fields["codes"] = list(lot.codes)
    if lot.region:
        fields["region"] = lot.region
    return parse_tender({"id": lot.id, "title": lot.title, "language": lot.language, "lots": [fields]}, lot.id)


def evaluate(lots: Sequence[JudgedLot], ask: Callable[[Tender], LotSuggestions]) -> list[LotResult]:
    """Each lot's ranking from `ask` and its metrics."""
    results = []
    for lot in lots:
        answer = ask(lot_tender(lot))
        suggestions = answer.suggestions
        ranked = tuple((s.participant_id, s.name, s.score) for s in suggestions)
        ids = [m for m, _, _ in ranked]
        first = suggestions[0] if suggestions else None
        fit = f"{first.fit:.2f} {first.band}" if first is not None and first.fit is not None else "–"
        results.append(
            LotResult(
                lot, ranked, ndcg_at_k(ids, lot.judgements), precision_at_k(ids, lot.judgements),
                answer.no_good_match, fit,
            )
        )  # fmt: skip
    return results


def run_current_system(lots: Sequence[JudgedLot], workspace: Path | None = None) -> tuple[list[LotResult], str]:
    """The results of the README's default path on the sample (or of another workspace holding the
    sample's members, e.g. one built with another model), and the model that served them."""
    from matcher.build import ensure_sample_workspace
    from matcher.search import suggest
    from matcher.store.workspace import Workspace

    if workspace is None:
        served = ensure_sample_workspace(notify=lambda message: print(message, file=sys.stderr))
    else:
        served = Workspace(workspace)
    models = set()

    def ask(tender: Tender) -> LotSuggestions:
        result = suggest(served, tender, top_k=TOP_K)
        models.add(result.model)
        return result.lots[0]

    results = evaluate(lots, ask)
    return results, ", ".join(sorted(models))


# ------------------------------------------------------------------ the report


def _mean(values: Sequence[float]) -> str:
    return f"{statistics.fmean(values):.3f}" if values else "–"


def _groups(results: Sequence[LotResult]) -> list[tuple[str, list[LotResult]]]:
    good = [r for r in results if not r.lot.no_good_match]
    rows = [("all lots with a good match", good)]
    rows += [(f"{name} lots", [r for r in good if r.lot.language == code]) for code, name in LANGUAGES.items()]
    rows.append(
        ("cross-lingual lots (best firms described in the other language)", [r for r in good if r.lot.cross_lingual])
    )
    for code, name in LANGUAGES.items():
        other = LANGUAGES["en" if code == "ru" else "ru"]
        subset = [r for r in good if r.lot.cross_lingual and r.lot.language == code]
        rows.append((f"— {name} lot, {other}-described firms", subset))
    rows.append(("same-language lots", [r for r in good if not r.lot.cross_lingual]))
    rows.append(("lots phrased with synonyms", [r for r in good if r.lot.synonyms]))
    return rows


def _shown(result: LotResult, n: int = 3) -> str:
    return "; ".join(f"{name} ({result.lot.judgements.get(m, 0)})" for m, name, _ in result.ranked[:n])


def report(results: Sequence[LotResult], model: str) -> str:
    """The markdown that goes between the markers of docs/evaluation.md."""
    good = [r for r in results if not r.lot.no_good_match]
    none = [r for r in results if r.lot.no_good_match]
    out = [
        f"{len(results)} lots ({sum(r.lot.language == 'ru' for r in results)} in Russian, "
        f"{sum(r.lot.language == 'en' for r in results)} in English), {len(none)} of them with no good match; "
        f"model {model}, `suggest` with top_k={TOP_K}. nDCG@{NDCG_K}: gains 2 and 1; P@{P_K}: grade ≥ 1 counts.",
        "",
        f"| lots | n | nDCG@{NDCG_K} | P@{P_K} | best possible P@{P_K} |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, subset in _groups(results):
        ndcg, precision = _mean([r.ndcg for r in subset]), _mean([r.precision for r in subset])
        best = _mean([min(1.0, len(r.lot.judgements) / P_K) for r in subset])  # fewer than 5 judged: P@5 < 1
        out.append(f"| {name} | {len(subset)} | {ndcg} | {precision} | {best} |")
    tops = sorted(r.top_score for r in good)
    out += [
        "",
        'Lots no member can do well, and the score of the first suggestion (what a "no good match" '
        "warning would have to tell apart from the lots above):",
        "",
        "| lot | language | first suggestion (grade) | its score | its fit | warned "
        f"| nDCG@{NDCG_K} on the grade-1 members |",
        "|---|---|---|---:|---|---|---:|",
    ]
    for r in none:
        first = f"{r.ranked[0][1]} ({r.lot.judgements.get(r.ranked[0][0], 0)})" if r.ranked else "–"
        warned = "yes" if r.warned else "no"
        out.append(
            f"| {r.lot.id} | {r.lot.language} | {first} | {r.top_score:.3f} | {r.best_fit} | {warned} | {r.ndcg:.3f} |"
        )
    if tops and none:
        highest = max(r.top_score for r in none)
        out += [
            "",
            f"For comparison, the first suggestion's score on the {len(good)} lots with a good match: "
            f"min {tops[0]:.3f}, median {statistics.median(tops):.3f}, max {tops[-1]:.3f}; "
            f"at or below {highest:.3f}, the highest first score of a lot without a match: "
            f"{sum(t <= highest for t in tops)} of them.",
        ]
    out += [
        "",
        f'The "no good match" warning (best fit weak) is shown on {sum(r.warned for r in none)} of the '
        f"{len(none)} lots without a good match and on {sum(r.warned for r in good)} of the {len(good)} lots with one.",
    ]
    out += [
        "",
        "Per lot, worst nDCG first (the first three suggestions with their grades; 0 = not judged relevant):",
        "",
        f"| lot | language | cross-lingual | nDCG@{NDCG_K} | P@{P_K} | first three suggestions |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in sorted(good, key=lambda r: (r.ndcg, r.lot.id)):
        cross = "yes" if r.lot.cross_lingual else ""
        out.append(f"| {r.lot.id} | {r.lot.language} | {cross} | {r.ndcg:.3f} | {r.precision:.2f} | {_shown(r)} |")
    return "\n".join(out)


def write_between_markers(path: Path, body: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace what lies between the markers `begin` and `end` of `path` with `body`."""
    text = path.read_text(encoding="utf-8")
    if begin not in text or end not in text or text.index(begin) > text.index(end):
        raise SystemExit(f"{path}: no '{begin}' ... '{end}' pair; add the two lines where the table should go")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the tables without rewriting docs/evaluation.md")
    parser.add_argument(
        "--workspace", type=Path, help="a workspace of the sample's members to measure instead (implies --no-write)"
    )
    args = parser.parse_args(argv)
    for path, begin, end in ((JUDGED, BEGIN, END), (HOLDOUT, HOLDOUT_BEGIN, HOLDOUT_END)):
        results, model = run_current_system(load_judged_set(path), args.workspace)
        body = report(results, model)
        print(f"## {path.name}\n\n{body}\n")
        if not args.no_write and args.workspace is None:
            write_between_markers(DOCS, body, begin, end)
            print(f"wrote the {path.name} section of {DOCS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
