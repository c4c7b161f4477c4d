"""Capability codes: CPV labels (English, Russian), OKVED2 and the OKVED2 → CPV map.

CPV codes are stored in their canonical form with check digit (``45221111-3``).
OKVED2 codes that have a CPV equivalent are replaced by it; the others are kept
as ``OKVED2:42.99``. Code similarity follows the CPV tree: the digits are the tree
(division = 2 digits, group = 3, class = 4, category = 5, then sub-categories).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.errors import UnknownCode
from matcher.paths import data_dir

_CPV_RE = re.compile(r"^(\d{8})(?:-(\d))?$")
_OKVED_RE = re.compile(r"^\d{2}(?:\.\d{1,2}(?:\.\d{1,2})?)?$")
OKVED_PREFIX = "OKVED2:"

# Credit for sharing the first n digits of a CPV code, when the firm's code does not
# cover the lot's code outright. Named after the CPV tree levels.
MATCH_LEVELS: tuple[tuple[int, str, float], ...] = (
    (6, "sub-category", 0.8),
    (5, "category", 0.6),
    (4, "class", 0.4),
    (3, "group", 0.25),
    (2, "division", 0.1),
)


@dataclass(frozen=True)
class CodeMatch:
    """How well one firm code answers one requested code."""

    wanted: str
    matched: str | None
    level: str  # "exact", "covers", a MATCH_LEVELS name, or "none"
    score: float


@dataclass(frozen=True)
class Taxonomy:
    """Lookup tables for capability codes; load once with :func:`load_taxonomy`."""

    cpv_en: dict[str, str]  # 8 digits -> English label
    cpv_ru: dict[str, str]  # 8 digits -> Russian label
    cpv_canonical: dict[str, str]  # 8 digits -> "45221111-3"
    okved: dict[str, str]  # "42.13" -> Russian name
    okved_to_cpv: dict[str, tuple[str, ...]]  # "42.13" -> ("45221100-3", ...)

    def normalise(self, raw: str) -> list[str]:
        """Canonical codes for one raw code; raises UnknownCode if it is neither CPV nor OKVED2.

        >>> load_taxonomy().normalise("42.13")  # OKVED2 bridges and tunnels
        ['45221000-2']
        """
        code = raw.strip().upper().replace(" ", "")
        for prefix in ("CPV:", "OKVED2:", "OKVED:"):
            if code.startswith(prefix):
                code = code[len(prefix) :]
                break
        m = _CPV_RE.match(code)
        if m:
            digits, check = m.group(1), m.group(2)
            canonical = self.cpv_canonical.get(digits)
            if canonical is None:
                raise UnknownCode(f"unknown CPV code '{raw}' (not in the CPV vocabulary; check the digits)")
            if check is not None and canonical[-1] != check:
                raise UnknownCode(
                    f"CPV code '{raw}' has check digit {check}, but {digits} is {canonical}; check the digits"
                )
            return [canonical]
        if _OKVED_RE.match(code):
            if code not in self.okved:
                raise UnknownCode(f"unknown OKVED2 code '{raw}'")
            mapped = self.okved_to_cpv.get(code)
            return list(mapped) if mapped else [OKVED_PREFIX + code]
        raise UnknownCode(f"'{raw}' is not a CPV code (8 digits, e.g. 45221111-3) or an OKVED2 code (e.g. 42.13)")

    def label(self, code: str, lang: str = "en") -> str:
        """Human label of a canonical code (English by default, Russian with lang='ru')."""
        if code.startswith(OKVED_PREFIX):
            return self.okved.get(code[len(OKVED_PREFIX) :], code)
        digits = code[:8]
        if lang == "ru":
            ru = self.cpv_ru.get(digits)
            if ru and ru[:8] != digits:  # a few Russian labels are just the code
                return ru
        return self.cpv_en.get(digits, code)


def _significant(digits: str) -> str:
    """The code's position in the tree: trailing zeros mark a more general code."""
    stripped = digits.rstrip("0")
    return stripped if len(stripped) >= 2 else digits[:2]


def match_code(wanted: str, firm_code: str) -> CodeMatch:
    """Score one firm code against one requested code by their place in the CPV tree."""
    if wanted == firm_code:
        return CodeMatch(wanted, firm_code, "exact", 1.0)
    if wanted.startswith(OKVED_PREFIX) or firm_code.startswith(OKVED_PREFIX):
        return CodeMatch(wanted, None, "none", 0.0)
    want, have = _significant(wanted[:8]), firm_code[:8]
    common = 0
    for a, b in zip(want, have):
        if a != b:
            break
        common += 1
    if common >= len(want):  # the firm's code lies under the requested one
        return CodeMatch(wanted, firm_code, "covers", 1.0)
    for depth, name, score in MATCH_LEVELS:
        if common >= depth:
            return CodeMatch(wanted, firm_code, name, score)
    return CodeMatch(wanted, None, "none", 0.0)


def best_matches(wanted: list[str], firm_codes: list[str]) -> list[CodeMatch]:
    """For each requested code, the firm code that answers it best."""
    out = []
    for w in wanted:
        best = CodeMatch(w, None, "none", 0.0)
        for c in firm_codes:
            m = match_code(w, c)
            if m.score > best.score:
                best = m
                if m.score == 1.0:
                    break
        out.append(best)
    return out


def _read_okved(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {row["native_code"].strip(): row["name_okved"].strip() for row in csv.DictReader(f)}


def _read_okved_map(path: Path, cpv: dict[str, str]) -> dict[str, tuple[str, ...]]:
    mapping: dict[str, list[str]] = {}
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            digits = row["cpv"].strip()[:8]
            if digits in cpv:
                mapping.setdefault(row["okved2"].strip(), []).append(cpv[digits])
    return {k: tuple(v) for k, v in mapping.items()}


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """Load the taxonomy shipped in ``data/taxonomy`` (cached for the process)."""
    folder = data_dir() / "taxonomy"
    en_full = json.loads((folder / "cpv_en.json").read_text(encoding="utf-8"))
    ru_full = json.loads((folder / "cpv_ru.json").read_text(encoding="utf-8"))
    canonical = {code[:8]: code for code in en_full}
    return Taxonomy(
        cpv_en={c[:8]: label for c, label in en_full.items()},
        cpv_ru={c[:8]: label for c, label in ru_full.items()},
        cpv_canonical=canonical,
        okved=_read_okved(folder / "okved2.csv"),
        okved_to_cpv=_read_okved_map(folder / "okved2_cpv.csv", canonical),
    )
