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
from functools import cache, lru_cache
from pathlib import Path

from matcher.errors import UnknownCode
from matcher.i18n import tr
from matcher.paths import data_dir

_CPV_RE = re.compile(r"^(\d{8})(?:-(\d))?$")
_OKVED_RE = re.compile(r"^\d{2}(?:\.\d{1,2}(?:\.\d{1,2})?)?$")
OKVED_PREFIX = "OKVED2:"

# Credit for sharing the first n digits of a code when the firm's code does not cover the
# requested one, by scheme, named after the levels of each tree. CPV: division 2, group 3,
# class 4, category 5, sub-category 6+. UNSPSC: segment 2, family 4, class 6, commodity 8.
MATCH_LEVELS: dict[str, tuple[tuple[int, str, float], ...]] = {
    "CPV": (
        (6, "sub-category", 0.8),
        (5, "category", 0.6),
        (4, "class", 0.4),
        (3, "group", 0.25),
        (2, "division", 0.1),
    ),  # fmt: skip
    "UNSPSC": ((6, "class", 0.6), (4, "family", 0.3), (2, "segment", 0.1)),
}
_UNSPSC_RE = re.compile(r"^UNSPSC:(\d{8})$")
_CANONICAL_CPV_RE = re.compile(r"^\d{8}-\d$")


def code_tree(code: str) -> tuple[str, str] | None:
    """(scheme, 8 digits) for codes whose digits are a tree (CPV, UNSPSC); None for the others."""
    if _CANONICAL_CPV_RE.match(code):
        return "CPV", code[:8]
    m = _UNSPSC_RE.match(code)
    return ("UNSPSC", m.group(1)) if m else None


def significant(scheme: str, digits: str) -> str:
    """The code's position in its tree: trailing zeros mark a more general code."""
    if scheme == "UNSPSC":  # levels are digit pairs
        while len(digits) > 2 and digits.endswith("00"):
            digits = digits[:-2]
        return digits
    stripped = digits.rstrip("0")
    return stripped if len(stripped) >= 2 else digits[:2]


@cache  # asked once per pair of codes explained: a dozen thousand times a query
def level_scores(scheme: str) -> tuple[float, ...]:
    """Score by the number of leading digits shared (index 0..8), for codes that do not cover."""
    table = [0.0] * 9
    for depth, _, score in MATCH_LEVELS[scheme]:
        for n in range(depth, 9):
            table[n] = max(table[n], score)
    return tuple(table)


def level_name(scheme: str, common: int) -> str:
    return next((name for depth, name, _ in MATCH_LEVELS[scheme] if common >= depth), "none")


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
                raise UnknownCode(
                    tr("unknown CPV code '%(code)s' (not in the CPV vocabulary; check the digits)", code=raw)
                )
            if check is not None and canonical[-1] != check:
                raise UnknownCode(
                    tr(
                        "CPV code '%(code)s' has check digit %(check)s, but %(digits)s is %(canonical)s; "
                        "check the digits",
                        code=raw,
                        check=check,
                        digits=digits,
                        canonical=canonical,
                    )
                )
            return [canonical]
        if ":" in code:  # another scheme, e.g. UNSPSC:72141000 from procurement data
            scheme, _, value = code.partition(":")
            if scheme == "UNSPSC" and not re.fullmatch(r"\d{8}", value):
                raise UnknownCode(tr("'%(code)s' is not a UNSPSC code (8 digits, e.g. UNSPSC:72141000)", code=raw))
            if not re.fullmatch(r"[A-Z][A-Z0-9_-]*", scheme) or not value:
                raise UnknownCode(tr("'%(code)s' is not a code; write SCHEME:CODE, e.g. UNSPSC:72141000", code=raw))
            return [f"{scheme}:{value}"]
        if _OKVED_RE.match(code):
            if code not in self.okved and code.count(".") == 1 and code.endswith("0") and code[:-1] in self.okved:
                code = code[:-1]  # 71.20 is the one class of group 71.2, which the classifier's table holds
            if code not in self.okved:
                raise UnknownCode(tr("unknown OKVED2 code '%(code)s'", code=raw))
            mapped = self.okved_to_cpv.get(code)
            return list(mapped) if mapped else [OKVED_PREFIX + code]
        raise UnknownCode(
            tr("'%(code)s' is not a CPV code (8 digits, e.g. 45221111-3) or an OKVED2 code (e.g. 42.13)", code=raw)
        )

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


# Pure, and asked of the same pairs over and over (firms share their codes): explaining a lot's
# top 10 asks about 800 pairs, a few hundred distinct; a pair then costs a dictionary lookup.
@lru_cache(maxsize=1 << 16)
def match_code(wanted: str, firm_code: str) -> CodeMatch:
    """Score one firm code against one requested code by their place in the code tree.

    Codes of different schemes never match; codes without a tree (OKVED2 kept as is, other
    schemes) match only when equal.
    """
    if wanted == firm_code:
        return CodeMatch(wanted, firm_code, "exact", 1.0)
    want_tree, have_tree = code_tree(wanted), code_tree(firm_code)
    if want_tree is None or have_tree is None or want_tree[0] != have_tree[0]:
        return CodeMatch(wanted, None, "none", 0.0)
    scheme = want_tree[0]
    want, have = significant(scheme, want_tree[1]), have_tree[1]
    common = 0
    for a, b in zip(want, have):
        if a != b:
            break
        common += 1
    if common >= len(want):  # the firm's code lies under the requested one
        return CodeMatch(wanted, firm_code, "covers", 1.0)
    score = level_scores(scheme)[common]
    if score == 0.0:
        return CodeMatch(wanted, None, "none", 0.0)
    return CodeMatch(wanted, firm_code, level_name(scheme, common), score)


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
