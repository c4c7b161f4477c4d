"""Build the Russian-English word translations BM25 uses across languages, from the CPV labels.

CPV gives every one of its 9,454 codes a label in English and in Russian: a parallel corpus of
the procurement vocabulary. IBM Model 1 (expectation-maximisation over the label pairs; Brown et
al. 1993) learns p(target word | source word) in each direction over the words as matcher's BM25
sees them (matcher.index.bm25.tokens: stemmed, stopwords out). Translations of probability
≥ MIN_PROBABILITY are kept, at most MAX_TRANSLATIONS a word, in data/taxonomy/lexicon-ru-en.json
(shipped with matcher). `LexicalIndex.shares` then scores a Russian request's words also through
their English translations and the other way round (a probabilistic structured query: Darwish and
Oard 2003), so that a Russian lot finds the members that describe the same work in English.

Deterministic: the same labels and tokenizer give the same file. Rerun when either changes
(tests/test_lexicon.py checks that the file matches the tokenizer).

Run: .venv/bin/python scripts/build_lexicon.py
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from matcher.index.bm25 import tokens
from matcher.index.lexicon import FORMAT, LEXICON_FILE, MAX_TRANSLATIONS, MIN_PROBABILITY
from matcher.paths import data_dir

ITERATIONS = 8
Pairs = Sequence[tuple[list[str], list[str]]]


def ibm_model_1(pairs: Pairs, iterations: int = ITERATIONS) -> dict[tuple[str, str], float]:
    """p(target | source) for every co-occurring (source, target) word pair, by EM from uniform."""
    targets = {w for _, target in pairs for w in target}
    t: dict[tuple[str, str], float] = defaultdict(lambda: 1.0 / len(targets))
    for _ in range(iterations):
        count: dict[tuple[str, str], float] = defaultdict(float)
        total: dict[str, float] = defaultdict(float)
        for source, target in pairs:
            for tw in target:
                z = sum(t[(sw, tw)] for sw in source)
                for sw in source:
                    c = t[(sw, tw)] / z
                    count[(sw, tw)] += c
                    total[sw] += c
        t = defaultdict(float, {pair: c / total[pair[0]] for pair, c in count.items()})
    return dict(t)


def kept(table: dict[tuple[str, str], float]) -> dict[str, list[list[object]]]:
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (source, target), p in table.items():
        if p >= MIN_PROBABILITY and source != target:
            out[source].append((p, target))
    return {
        source: [[target, round(p, 4)] for p, target in sorted(found, key=lambda x: (-x[0], x[1]))[:MAX_TRANSLATIONS]]
        for source, found in sorted(out.items())
    }


def main() -> None:
    folder = data_dir() / "taxonomy"
    english = json.loads((folder / "cpv_en.json").read_text(encoding="utf-8"))
    russian = json.loads((folder / "cpv_ru.json").read_text(encoding="utf-8"))
    pairs = [(tokens(russian[c], "ru"), tokens(english[c], "en")) for c in sorted(english) if c in russian]
    pairs = [(r, e) for r, e in pairs if r and e]
    lexicon = {
        "format": FORMAT,
        "source": f"CPV 2008 labels in Russian and English ({len(pairs)} pairs), IBM Model 1, {ITERATIONS} "
        f"iterations each way; p >= {MIN_PROBABILITY}, at most {MAX_TRANSLATIONS} a word; scripts/build_lexicon.py",
        "ru": kept(ibm_model_1(pairs)),
        "en": kept(ibm_model_1([(e, r) for r, e in pairs])),
    }
    target = Path(folder / LEXICON_FILE)
    target.write_text(json.dumps(lexicon, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target}: {len(lexicon['ru'])} Russian and {len(lexicon['en'])} English words")


if __name__ == "__main__":
    main()
