"""Which column of a member table is which field: the headers people write, in Russian and English.

A header is compared by its key: lower case, ё as е, letters and digits only, so that "ИНН",
"инн:" and " И.Н.Н " are one header. A two-row header is written "upper / lower"; it is
recognised by the whole, then the lower part, then the upper part. A mapping given by the user
(`ingest --columns`, `--columns-file`) wins over the synonyms for the fields it names.

Besides the participant's own fields, a table may have:

- ``inn`` and ``ogrn``: checked (:mod:`matcher.inputs.identifiers`); a row without an ``id``
  gets ``RU-INN-<inn>`` (else ``RU-OGRN-<ogrn>``); neither is stored otherwise;
- ``activities``: cells such as "42.11 Строительство автомобильных дорог": their codes go to
  ``codes``, their words to the description when the row has none;
- ``website``: understood, not stored (a member has no website field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.errors import InputError, close_matches, did_you_mean
from matcher.i18n import N_, tr
from matcher.results import ColumnHow, ColumnUse

STORED = (
    "id", "name", "kind", "description", "codes", "regions", "headcount", "sme",
    "certifications", "projects", "clusters", "language",
)  # fmt: skip
EXTRA = ("inn", "ogrn", "activities", "website")
FIELDS = STORED + EXTRA
LIST_FIELDS = ("codes", "regions", "certifications", "clusters", "activities")  # several columns: cells joined
TEXT_FIELDS = ("description",)  # several columns: texts joined
NOT_STORED = {"inn": N_("checked; gives the id when there is none"),
              "ogrn": N_("checked; gives the id when there is no INN"),
              "website": N_("understood, not stored")}  # fmt: skip


def _note(field: str) -> str:
    """What a field's column is for when it is not stored as it is (an INN, an OGRN, a website)."""
    return tr(NOT_STORED[field]) if field in NOT_STORED else ""


# For each field, the headers that mean it, best first: when two columns mean one single-valued
# field (a short and a full name), the one whose header comes first here is used.
# fmt: off
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "member id", "код", "код участника", "идентификатор", "номер участника"),
    "inn": ("inn", "tin", "taxpayer id", "инн", "инн организации", "инн участника", "инн / кпп", "инн/кпп"),
    "ogrn": ("ogrn", "psrn", "огрн", "огрнип", "огрн / огрнип", "огрн/огрнип", "огрн (огрнип)"),
    "name": (
        "name", "company", "company name", "organisation", "organization", "member",
        "сокращенное наименование", "краткое наименование", "наименование", "название", "наименование организации",
        "наименование участника", "организация", "предприятие", "компания", "участник", "наименование / фио",
        "полное наименование", "фио",
    ),
    "description": (
        "description", "profile", "about", "capabilities", "описание", "описание деятельности", "виды работ",
        "основные виды работ", "деятельность", "направления деятельности", "компетенции", "профиль",
        "специализация", "продукция", "услуги", "продукция и услуги", "чем занимается",
    ),
    "codes": (
        "codes", "okved", "okved2", "okved codes", "cpv", "cpv codes", "оквэд", "оквэд2", "коды оквэд", "код оквэд",
        "коды оквэд2", "оквэд основной", "основной оквэд", "оквэд (основной)", "оквэд дополнительные",
        "дополнительные оквэд", "оквэд (дополнительные)", "коды", "коды cpv",
    ),
    "activities": (
        "основной вид деятельности", "дополнительные виды деятельности", "дополнительный вид деятельности",
        "виды деятельности", "основной вид деятельности (оквэд)", "дополнительные виды деятельности (оквэд)",
        "main activity", "other activities",
    ),
    "regions": (
        "regions", "region", "регион", "регионы", "субъект рф", "субъект российской федерации", "регион регистрации",
        "регион деятельности", "регионы деятельности", "регионы присутствия", "география",
    ),
    "headcount": (
        "headcount", "employees", "staff", "численность", "численность работников", "среднесписочная численность",
        "среднесписочная численность работников", "сведения о среднесписочной численности работников",
        "количество сотрудников", "количество работников", "число сотрудников", "кол-во сотрудников", "штат",
    ),
    "sme": (
        "sme", "sme category", "субъект мсп", "мсп", "категория мсп", "категория субъекта мсп", "категория субъекта",
    ),
    "certifications": (
        "certifications", "certificates", "licenses", "licences", "лицензии", "сро", "допуски", "сертификаты",
        "членство в сро", "допуски сро", "лицензии и допуски", "лицензии / сро", "сведения о лицензиях",
        "сертификация",
    ),
    "kind": ("kind", "type", "тип", "категория", "вид организации", "тип организации", "вид субъекта мсп", "роль"),
    "clusters": ("clusters", "cluster", "кластер", "кластеры"),
    "projects": ("projects",),
    "language": ("language", "язык"),
    "website": ("website", "web site", "site", "url", "сайт", "веб-сайт", "адрес сайта", "интернет-сайт", "web"),
}
# fmt: on


def header_key(header: str) -> str:
    """A header as compared: lower case, ё as е, letters and digits only."""
    return "".join(ch for ch in header.lower().replace("ё", "е") if ch.isalnum())


_BY_KEY: dict[str, tuple[str, int]] = {
    header_key(h): (name, rank) for name, headers in SYNONYMS.items() for rank, h in enumerate(headers)
}


def _parts(header: str) -> list[str]:
    """The keys a header is recognised by: the whole, then the lower part of a two-row header, then the upper."""
    parts = [p for p in header.split(" / ")]
    return [header_key(header), *(header_key(p) for p in reversed(parts[1:])), header_key(parts[0])]


def recognise(header: str) -> tuple[str, int] | None:
    """The (field, rank) a header means by the synonyms, or None."""
    for key in _parts(header):
        if key in _BY_KEY:
            return _BY_KEY[key]
    return None


def score(headers: Sequence[str]) -> int:
    """How many of these headers mean a field: how a header row is told from a title or data row."""
    return sum(recognise(h) is not None for h in headers if h)


@dataclass(frozen=True)
class ColumnMap:
    """How one table's columns become a participant record: field -> the headers it comes from."""

    sources: Mapping[str, tuple[str, ...]]
    uses: tuple[ColumnUse, ...]
    list_separators: str = ";\n"  # certifications: also "," in a ';'-separated CSV

    def header_of(self, field_name: str) -> str:
        """The column(s) a field (or "projects[0].title") came from, for a reject's field."""
        root, bracket, rest = field_name.partition("[")
        headers = self.sources.get(root)
        if not headers or headers == (root,):
            return field_name
        return " + ".join(headers) + (bracket + rest if bracket else "")

    def record(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The participant record of one raw row (keyed by the file's headers)."""
        out: dict[str, Any] = {}
        for name, headers in self.sources.items():
            if len(headers) == 1:
                value = raw.get(headers[0])
            else:
                cells = [raw.get(h) for h in headers]
                present = [str(c).strip() for c in cells if c is not None and str(c).strip()]
                value = _join_texts(present) if name in TEXT_FIELDS else "\n".join(present) if present else None
            if name == "certifications" and isinstance(value, str) and "," in self.list_separators:
                value = value.replace(",", "\n")
            out[name] = value
        return out


def _join_texts(texts: list[str]) -> str | None:
    if not texts:
        return None
    return " ".join(t if t[-1] in ".!?;:" else t + "." for t in texts)


def column_map(
    headers: Sequence[str], where: str, mapping: Mapping[str, Sequence[str]] | None = None, delimiter: str | None = None
) -> ColumnMap:
    """Which of these headers gives which field: the user's mapping first, then the synonyms.

    Raises:
        InputError: the mapping names a field that does not exist or a column the file lacks.
    """
    chosen: dict[str, str] = {}  # header -> field, from the mapping
    for name, wanted in (mapping or {}).items():
        field_name = _mapped_field(name)
        for header in wanted:
            found = _find_header(header, headers, where)
            meaning = (recognise(found) or ("", 0))[0]
            # `--columns id=ИНН`: the id is made from the INN (RU-INN-...), its check digits checked
            chosen[found] = meaning if field_name == "id" and meaning in ("inn", "ogrn") else field_name
    mapped_fields = set(chosen.values())
    best: dict[str, tuple[int, str]] = {}  # single-valued field -> (rank, header)
    uses: dict[str, ColumnUse] = {}
    for header in headers:
        if header in chosen:
            uses[header] = ColumnUse(header, chosen[header], "mapping", _note(chosen[header]))
            continue
        if header.startswith("_"):
            continue  # the rejects file's own columns (_file, _row, _field, _reason)
        means = recognise(header)
        if means is None or means[0] in mapped_fields:
            why = (
                tr("unknown column")
                if means is None
                else tr("--columns names another column for %(field)s", field=means[0])
            )
            uses[header] = ColumnUse(header, None, "ignored", why, "unknown" if means is None else "mapped elsewhere")
            continue
        name, rank = means
        how: ColumnHow = "field" if header == name else "synonym"
        uses[header] = ColumnUse(header, name, how, _note(name))
        if name not in LIST_FIELDS + TEXT_FIELDS and (name not in best or rank < best[name][0]):
            best[name] = (rank, header)
    for header, use in list(uses.items()):
        if use.field in best and best[use.field][1] != header and use.how != "mapping":
            gives = tr("column '%(column)s' gives %(field)s", column=best[use.field][1], field=use.field)
            uses[header] = ColumnUse(header, None, "ignored", gives, "duplicate")
    sources: dict[str, list[str]] = {}
    for header in headers:
        if header in uses and uses[header].field is not None:
            sources.setdefault(str(uses[header].field), []).append(header)
    separators = ";,\n" if delimiter == ";" else ";\n"
    ordered = tuple(uses[h] for h in headers if h in uses)
    return ColumnMap({k: tuple(v) for k, v in sources.items()}, ordered, separators)


def _mapped_field(name: str) -> str:
    field_name = name.strip().lower()
    if field_name not in FIELDS:
        hint = did_you_mean(close_matches(field_name, FIELDS), f"the fields are {', '.join(FIELDS)}")
        raise InputError(f"--columns: no field '{name}'{hint}")
    return field_name


def _find_header(wanted: str, headers: Sequence[str], where: str) -> str:
    if wanted in headers:
        return wanted
    key = header_key(wanted)
    for header in headers:
        if key and key in _parts(header):
            return header
    near = close_matches(wanted, headers) or [h for h in headers if key and key in header_key(h)][:3]
    hint = did_you_mean(near, "")
    listed = ", ".join(repr(h) for h in headers)
    raise InputError(f"{where}: --columns names the column '{wanted}', which the file lacks{hint.rstrip('; ')}; "
                     f"its columns are {listed}")  # fmt: skip


def parse_columns_option(values: Sequence[str]) -> dict[str, list[str]]:
    """``["id=ИНН,name=Наименование", "codes=ОКВЭД"]`` as {field: [columns]}. A part without "="
    continues the previous column's name (a header with a comma in it); a field named twice
    takes several columns (codes, regions, descriptions combine).

    >>> parse_columns_option(["id=ИНН,name=Наименование, сокращённое", "codes=ОКВЭД"])
    {'id': ['ИНН'], 'name': ['Наименование, сокращённое'], 'codes': ['ОКВЭД']}
    """
    out: dict[str, list[str]] = {}
    last: tuple[str, int] | None = None
    for value in values:
        for part in value.split(","):
            name, eq, column = part.partition("=")
            if eq and name.strip():
                key = name.strip().lower()
                out.setdefault(key, []).append(column.strip())
                last = (key, len(out[key]) - 1)
            elif last is not None and part.strip():
                out[last[0]][last[1]] += "," + part
            elif part.strip():
                raise InputError(
                    f"--columns: '{part.strip()}' is not FIELD=COLUMN, e.g. --columns id=ИНН,name=Наименование"
                )
    for key, columns in out.items():
        if not all(c.strip() for c in columns):
            raise InputError(f"--columns: {key}= names no column; write {key}=COLUMN")
    return out


def read_columns_file(path: Path) -> dict[str, list[str]]:
    """A mapping file: YAML, JSON or TOML, {field: column} or {field: [columns]}.

    Example (members-columns.yaml):
        id: ИНН
        name: Краткое наименование
        codes: [ОКВЭД основной, ОКВЭД дополнительные]
    """
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            raise InputError(f"{path}: a columns file is .yaml, .json or .toml, not '{path.suffix}'")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except InputError:
        raise
    except Exception as exc:  # yaml, json and toml parse errors have their own types
        raise InputError(f"{path}: cannot read the columns mapping: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not all(isinstance(v, (str, list)) for v in data.values()):
        raise InputError(f"{path}: expected FIELD: COLUMN lines (or FIELD: [COLUMN, ...]), e.g. 'id: ИНН'")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        columns = [value] if isinstance(value, str) else value
        if not columns or not all(isinstance(c, str) and c.strip() for c in columns):
            raise InputError(f"{path}: {key} must name a column or a list of columns")
        out[str(key).strip().lower()] = [c.strip() for c in columns]
    return out


_SME_TRUE = re.compile(r"микро|мал|средн|micro|small|medium")
_SME_FALSE = re.compile(r"крупн|не является|large|not sme")


def sme_category(value: Any) -> Any:
    """ "Микропредприятие", "Малое предприятие", "Среднее предприятие" are SMEs; "Крупное" and "Не
    является субъектом МСП" are not; anything else is left to the yes/no parser."""
    if not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    if _SME_FALSE.search(lowered):
        return False
    if _SME_TRUE.search(lowered):
        return True
    return value
