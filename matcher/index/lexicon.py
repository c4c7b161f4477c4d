"""Word translations between Russian and English for BM25, learned from the CPV labels.

The file (data/taxonomy/lexicon-ru-en.json) is written by scripts/build_lexicon.py: for each
word as :func:`matcher.index.bm25.tokens` makes it (stemmed), its likeliest translations with
their probabilities, e.g. ``"мост": [["bridg", 0.82]]``. Plain JSON, read once per process.
"""

from __future__ import annotations

import json
from functools import lru_cache

from matcher.errors import IndexCorrupt

LEXICON_FILE = "lexicon-ru-en.json"
FORMAT = "matcher-lexicon/1"
MIN_PROBABILITY = 0.1
MAX_TRANSLATIONS = 3

Translations = dict[str, list[tuple[str, float]]]


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, Translations]:
    from matcher.paths import data_dir

    path = data_dir() / "taxonomy" / LEXICON_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        return {
            language: {word: [(str(t), float(p)) for t, p in found] for word, found in data[language].items()}
            for language in ("ru", "en")
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"{path} is not a readable lexicon ({exc}); reinstall matcher") from None


def translations(language: str | None) -> Translations:
    """Each word of `language` (ru or en) and its translations into the other; empty for other languages."""
    return _lexicon().get(language or "", {})
