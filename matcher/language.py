"""Which language a text is in: taken from the data where it says so, else guessed from the text.

The guess is deliberately simple and deterministic: the script decides Cyrillic (Ukrainian
when it has і, ї, є or ґ, else Russian), and among Latin-script languages the one whose
common words appear most. It only picks the stemmer and stop words for BM25 and the
language of code labels, where a rare mistake costs little.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
# the most frequent short words of each language, distinct enough to tell them apart
_COMMON = {
    "en": {"the", "and", "of", "for", "with", "to", "in", "on", "by", "works", "construction", "is"},
    "es": {"de", "la", "el", "y", "en", "los", "las", "del", "para", "por", "con", "obras", "construcción"},
    "pt": {"de", "da", "do", "e", "em", "os", "as", "para", "com", "obras", "construção", "construcao"},
    "ro": {"și", "si", "de", "la", "în", "in", "pentru", "cu", "lucrări", "lucrari", "din"},
    "fr": {"de", "la", "le", "et", "des", "les", "du", "pour", "avec", "travaux"},
    "de": {"der", "die", "und", "das", "für", "fur", "mit", "von", "bau", "arbeiten"},
}  # fmt: skip


def normalise_language(value: str | None) -> str | None:
    """'RU', 'ru-RU', 'rus', 'Russian' → 'ru'; unknown values → None."""
    if not value:
        return None
    text = value.strip().lower()
    aliases = {"rus": "ru", "russian": "ru", "eng": "en", "english": "en", "spa": "es", "spanish": "es",
               "ukr": "uk", "ukrainian": "uk", "ron": "ro", "rum": "ro", "romanian": "ro"}  # fmt: skip
    text = aliases.get(text, text.split("-")[0].split("_")[0])
    return text if re.fullmatch(r"[a-z]{2}", text) else None


def detect(text: str, default: str = "en") -> str:
    """Guess the language of a text (ISO 639-1)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return default
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    if cyrillic > len(letters) / 3:
        return "uk" if re.search(r"[іїєґІЇЄҐ]", text) else "ru"
    words = [w.lower() for w in _WORD.findall(text)]
    counts = {lang: sum(1 for w in words if w in common) for lang, common in _COMMON.items()}
    best = max(counts, key=lambda lang: (counts[lang], lang == default))
    return best if counts[best] > 0 else default
