"""Names and descriptions of synthetic firms, composed from :mod:`matcher.eval.synthetic_phrases`.

Every choice is made from a row's random draws (``p``: integers, ``pv``: numbers in [0, 1)) as
:mod:`matcher.eval.synthetic` deals them out, so a row's text depends on its draws alone (and a
name also on the names taken before it, which must stay unique).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from matcher.eval.synthetic_phrases import (
    _ADJ_EN,
    _CLIENTS_EN,
    _CLIENTS_RU,
    _FIRST,
    _FORMS_EN,
    _FORMS_RU,
    _GENERIC_ROOTS,
    _LABELS_EN,
    _LABELS_RU,
    _LAST,
    _METHODS_EN,
    _METHODS_RU,
    _OBJECTS_EN,
    _OBJECTS_RU,
    _PLACES,
    _STATE_FORMS,
    Kind,
)


class Names:
    """Unique firm names; uniqueness ignores case and legal form, as matcher's resolver does."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def take(self, candidates: list[str], fallback: str) -> str:
        for core in candidates:
            key = core.casefold()
            if key not in self.seen:
                self.seen.add(key)
                return core
        n = 2
        while f"{fallback}-{n}".casefold() in self.seen:
            n += 1
        self.seen.add(f"{fallback}-{n}".casefold())
        return f"{fallback}-{n}"


def firm_name(k: Kind, p: list[int], pv: list[float], ru: bool, names: Names) -> str:
    """A place or a brand made of morphemes, with the kind's usual ending and a legal form."""
    forms = _FORMS_RU if ru and pv[5] < 0.5 else _FORMS_EN
    form = next((f for f, w in _cum(forms) if pv[4] < w), forms[0][0])
    state = _STATE_FORMS.get(k.name)
    if state:
        form = state[1] if forms is _FORMS_RU else state[0]
    script = 1 if forms is _FORMS_RU else 0
    brands = [_brand(k, p[6 + j] >> 3, script) for j in range(3)]
    if script:
        core = names.take([brands[0][0]] + [b for trio in brands for b in trio[1:]], brands[0][1])
        return f"{form} «{core}»"
    place = _PLACES[p[9] % len(_PLACES)]
    stem = k.stems[p[10] % len(k.stems)]
    options = [f"{place} {stem}", f"{brands[0][0]} {stem}", brands[0][1], brands[0][2]]
    start = p[11] % 4
    options = options[start:] + options[:start] + [b for trio in brands[1:] for b in trio[1:]]
    core = names.take(options + [f"{b} {stem}" for _, b, _ in brands], brands[0][1])
    return f"{core} {form}"


def _brand(k: Kind, r: int, script: int) -> tuple[str, str, str]:
    """Brand names from one random number: 'Nevador', 'Nevadorservis' and 'Nevador-Servis' style."""
    first = _FIRST[r % len(_FIRST)][script]
    # two times in three the kind's own root (dor, most, proekt ...), else a generic one
    roots = k.roots if (r >> 7) % 3 else _GENERIC_ROOTS
    root = roots[(r >> 9) % len(roots)][script]
    last = _LAST[(r >> 14) % len(_LAST)][script]
    if last == root:
        last = _LAST[((r >> 14) + 1) % len(_LAST)][script]
    short = (first + root).capitalize()
    return short, (first + root + last).capitalize(), f"{short}-{last.capitalize()}"


@lru_cache(maxsize=8)
def _cum(forms: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    total, out = 0.0, []
    for f, w in forms:
        total += w
        out.append((f, total))
    return tuple(out)


# --- descriptions -----------------------------------------------------------------------


class _Phrases(NamedTuple):
    """The pieces a description is made of, in one language."""

    act1: str
    act2: str
    client1: str
    client2: str
    activities: str  # "Main activities: <the labels of the firm's codes>."
    methods: str
    objects: str


# per language (0 English, 1 Russian): clients, label, method and object sentence templates
_TEMPLATES = (
    (tuple((c, c) for c in _CLIENTS_EN), _LABELS_EN, _METHODS_EN, _OBJECTS_EN),
    (tuple((c, c) for c in _CLIENTS_RU), _LABELS_RU, _METHODS_RU, _OBJECTS_RU),
)


def _phrases(k: Kind, p: list[int], labels: list[str], lang: int) -> _Phrases:
    clients, label_forms, method_forms, object_forms = _TEMPLATES[lang]
    act1, act2 = _pair(k.acts, p[12], lang)
    o1, o2 = _pair(k.objects, p[13], lang)
    m1, m2 = _pair(k.methods, p[14], lang)
    c1, c2 = _pair(clients, p[15], lang)
    return _Phrases(
        act1, act2, c1, c2,
        label_forms[p[16] % len(label_forms)].format("; ".join(labels)),
        method_forms[p[17] % len(method_forms)].format(m1, m2),
        object_forms[p[18] % len(object_forms)].format(o1, o2),
    )  # fmt: skip


def _pair(items: tuple[tuple[str, str], ...], p: int, lang: int) -> tuple[str, str]:
    a = p % len(items)
    b = (a + 1 + (p >> 8) % (len(items) - 1)) % len(items) if len(items) > 1 else a
    return items[a][lang], items[b][lang]


def _join(labels: list[str], conj: str) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" {conj} " + labels[-1]


def describe(k: Kind, p: list[int], labels: list[str], reg: tuple, year: int, hc: int, ru: bool) -> str:
    """A firm's description from templates, its kind's phrases and the labels of its first codes."""
    return _describe_ru(k, p, labels, reg, year, hc) if ru else _describe_en(k, p, labels, reg, year, hc)


def _describe_en(k: Kind, p: list[int], labels: list[str], reg: tuple, year: int, hc: int) -> str:
    s = _phrases(k, p, labels, 0)
    adj = "large " if hc >= 1000 else _ADJ_EN[p[19] % len(_ADJ_EN)]
    article = "An" if (adj or k.noun[0])[0] in "aeiou" else "A"
    exp = (f"Founded in {year}, with a staff of {hc}." if p[20] % 3 == 0 else
           f"More than {max(1, 2025 - year)} years on the market." if p[20] % 3 == 1 else
           f"Clients include {s.client1} and {s.client2}.")  # fmt: skip
    t = p[21] % 5
    if t == 0:
        return f"{article} {adj}{k.noun[0]} that {s.act1} {reg[4]}; it also {s.act2}. {s.activities} {s.methods} {exp}"
    if t == 1:
        return (f"{s.act1[0].upper()}{s.act1[1:]} for {s.client1} and {s.client2}, mainly {reg[4]}. "
                f"{s.objects} {s.methods} {s.activities}")  # fmt: skip
    if t == 2:
        return f"Specialises in {_join(labels[:2], 'and')}. {s.objects} {s.methods} {exp}"
    if t == 3:
        return f"Operating since {year} {reg[4]}, the company {s.act1}. {s.objects} {s.activities}"
    return f"{s.activities} The {k.noun[0]} {s.act1}; it also {s.act2}. {s.methods} {exp}"


def _describe_ru(k: Kind, p: list[int], labels: list[str], reg: tuple, year: int, hc: int) -> str:
    s = _phrases(k, p, labels, 1)
    exp = (f"На рынке с {year} года, в штате {hc} чел." if p[20] % 3 == 0 else
           f"Более {max(1, 2025 - year)} лет опыта работы." if p[20] % 3 == 1 else
           f"Заказчики: {s.client1}, {s.client2}.")  # fmt: skip
    noun = k.noun[1][0].upper() + k.noun[1][1:]
    t = p[21] % 4
    if t == 0:
        return f"{noun} {reg[5]}: {s.act1}, а также {s.act2}. {s.activities} {s.methods} {exp}"
    if t == 1:
        return f"{s.act1[0].upper()}{s.act1[1:]} {reg[5]}. {s.objects} {s.methods} {s.activities}"
    if t == 2:
        return f"{s.activities} {s.objects} {s.methods} {exp}"
    return f"С {year} года компания {s.act1}. {s.objects} {s.activities}"
