"""Russian company identifiers: INN (taxpayer number) and OGRN/OGRNIP (state registration number).

Pure functions: each takes a cell as a spreadsheet gives it (text with spaces, a number, a float
from Excel) and returns the canonical digits, or raises :class:`IdentifierError` saying what is
wrong and, for a wrong check digit, which digit was expected.

Excel stores an INN typed as a number without its leading zero (INNs of the Republic of Adygea,
Bashkortostan, ... start with 01-09). A 9- or 11-digit number is taken as such an INN when the
zero put back makes its check digits right; otherwise it is an error asking for the cell as text.

>>> inn("7707083893")
'7707083893'
>>> inn(500100732259.0)
'500100732259'
>>> ogrn("1027700132195")
'1027700132195'
"""

from __future__ import annotations

import math
from typing import Any

from matcher.i18n import tr

INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12_WEIGHTS = ((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
INN_PREFIX = "RU-INN-"
OGRN_PREFIX = "RU-OGRN-"


class IdentifierError(ValueError):
    """An INN or OGRN that is not one: wrong length, not digits, or a wrong check digit."""


def digits(value: Any) -> str:
    """The cell as a string of digits: spaces (also non-breaking), dashes and Excel's text
    apostrophe removed, a float such as 7707083893.0 written whole. Other characters are kept,
    so that the caller can say the value is not a number."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if math.isfinite(value) and value.is_integer() else str(value)
    raw = str(value).strip().lstrip("'")
    cleaned = "".join(ch for ch in raw if not ch.isspace() and ch != "-")
    if cleaned.endswith(".0") and cleaned[:-2].isdigit():  # a number cell read as text
        cleaned = cleaned[:-2]
    return cleaned


def _weighted(number: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(number, weights, strict=False)) % 11 % 10


def inn_check_digits(number: str) -> str:
    """The check digits an INN of this length must end with (one for 10 digits, two for 12)."""
    if len(number) == 10:
        return str(_weighted(number, INN10_WEIGHTS))
    if len(number) == 12:
        first = _weighted(number, INN12_WEIGHTS[0])
        second = _weighted(number[:10] + str(first), INN12_WEIGHTS[1])
        return f"{first}{second}"
    raise IdentifierError(tr("an INN has 10 digits (a company) or 12 (a person), not %(n)s", n=len(number)))


def ogrn_check_digit(number: str) -> str:
    """The check digit of a 13-digit OGRN (first 12 mod 11) or 15-digit OGRNIP (first 14 mod 13)."""
    if len(number) == 13:
        return str(int(number[:12]) % 11 % 10)
    if len(number) == 15:
        return str(int(number[:14]) % 13 % 10)
    raise IdentifierError(tr("an OGRN has 13 digits (OGRNIP of a sole trader: 15), not %(n)s", n=len(number)))


def inn(value: Any) -> str:
    """The canonical INN of a cell; raises IdentifierError naming the expected check digits."""
    number = digits(value)
    if not number.isdigit():
        raise IdentifierError(tr("%(value)r is not an INN (10 or 12 digits)", value=value))
    if len(number) in (9, 11):
        padded = "0" + number
        if padded[-len(inn_check_digits(padded)) :] == inn_check_digits(padded):
            return padded  # Excel dropped the leading zero of a number cell
        raise IdentifierError(
            tr(
                "%(number)s has %(n)s digits; an INN has 10 or 12 "
                "(if Excel dropped a leading zero, format the column as text and type it again)",
                number=number,
                n=len(number),
            )
        )
    expected = inn_check_digits(number)
    if not number.endswith(expected):
        got = number[-len(expected) :]
        raise IdentifierError(
            tr(
                "INN %(number)s fails its check: the last digits should be %(expected)s, not %(got)s",
                number=number,
                expected=expected,
                got=got,
            )
        )
    return number


def ogrn(value: Any) -> str:
    """The canonical OGRN (13 digits) or OGRNIP (15) of a cell; raises IdentifierError naming the
    expected check digit."""
    number = digits(value)
    if not number.isdigit():
        raise IdentifierError(tr("%(value)r is not an OGRN (13 digits, OGRNIP 15)", value=value))
    expected = ogrn_check_digit(number)
    if number[-1] != expected:
        kind = tr("OGRN") if len(number) == 13 else tr("OGRNIP")
        raise IdentifierError(
            tr(
                "%(kind)s %(number)s fails its check: the last digit should be %(expected)s, not %(got)s",
                kind=kind,
                number=number,
                expected=expected,
                got=number[-1],
            )
        )
    return number
