"""Russian regions as member lists write them ("г. Москва", "Московская обл.", "52 - Нижегородская
область", "Республика Татарстан") as the ISO 3166-2 codes tenders use (RU-MOW, RU-MOS, RU-NIZ,
RU-TA), so that the region part of a score and a team's region limit see them.

A value that is not recognised is kept as written (upper-cased, as before): an ISO code already,
a city, a district. Federal subjects without an ISO 3166-2:RU code are left as written too.

>>> region_code("г. Москва"), region_code("52 - НИЖЕГОРОДСКАЯ ОБЛАСТЬ"), region_code("Татарстан")
('RU-MOW', 'RU-NIZ', 'RU-TA')
"""

from __future__ import annotations

import re

# (ISO 3166-2 code, the subject's number in Russian registers (tax, traffic), its name's key words)
# fmt: off
SUBJECTS: tuple[tuple[str, int, str], ...] = (
    ("RU-AD", 1, "адыгея"), ("RU-BA", 2, "башкортостан"), ("RU-BU", 3, "бурятия"), ("RU-AL", 4, "алтай"),
    ("RU-DA", 5, "дагестан"), ("RU-IN", 6, "ингушетия"), ("RU-KB", 7, "кабардино-балкарская"),
    ("RU-KL", 8, "калмыкия"), ("RU-KC", 9, "карачаево-черкесская"), ("RU-KR", 10, "карелия"), ("RU-KO", 11, "коми"),
    ("RU-ME", 12, "марий эл"), ("RU-MO", 13, "мордовия"), ("RU-SA", 14, "саха якутия"),
    ("RU-SE", 15, "северная осетия алания"), ("RU-TA", 16, "татарстан"), ("RU-TY", 17, "тыва"),
    ("RU-UD", 18, "удмуртская"), ("RU-KK", 19, "хакасия"), ("RU-CE", 20, "чеченская"), ("RU-CU", 21, "чувашская"),
    ("RU-ALT", 22, "алтайский край"), ("RU-KDA", 23, "краснодарский край"), ("RU-KYA", 24, "красноярский край"),
    ("RU-PRI", 25, "приморский край"), ("RU-STA", 26, "ставропольский край"), ("RU-KHA", 27, "хабаровский край"),
    ("RU-AMU", 28, "амурская область"), ("RU-ARK", 29, "архангельская область"), ("RU-AST", 30, "астраханская область"),
    ("RU-BEL", 31, "белгородская область"), ("RU-BRY", 32, "брянская область"), ("RU-VLA", 33, "владимирская область"),
    ("RU-VGG", 34, "волгоградская область"), ("RU-VLG", 35, "вологодская область"),
    ("RU-VOR", 36, "воронежская область"), ("RU-IVA", 37, "ивановская область"), ("RU-IRK", 38, "иркутская область"),
    ("RU-KGD", 39, "калининградская область"), ("RU-KLU", 40, "калужская область"), ("RU-KAM", 41, "камчатский край"),
    ("RU-KEM", 42, "кемеровская область"), ("RU-KIR", 43, "кировская область"), ("RU-KOS", 44, "костромская область"),
    ("RU-KGN", 45, "курганская область"), ("RU-KRS", 46, "курская область"), ("RU-LEN", 47, "ленинградская область"),
    ("RU-LIP", 48, "липецкая область"), ("RU-MAG", 49, "магаданская область"), ("RU-MOS", 50, "московская область"),
    ("RU-MUR", 51, "мурманская область"), ("RU-NIZ", 52, "нижегородская область"),
    ("RU-NGR", 53, "новгородская область"), ("RU-NVS", 54, "новосибирская область"), ("RU-OMS", 55, "омская область"),
    ("RU-ORE", 56, "оренбургская область"), ("RU-ORL", 57, "орловская область"), ("RU-PNZ", 58, "пензенская область"),
    ("RU-PER", 59, "пермский край"), ("RU-PSK", 60, "псковская область"), ("RU-ROS", 61, "ростовская область"),
    ("RU-RYA", 62, "рязанская область"), ("RU-SAM", 63, "самарская область"), ("RU-SAR", 64, "саратовская область"),
    ("RU-SAK", 65, "сахалинская область"), ("RU-SVE", 66, "свердловская область"),
    ("RU-SMO", 67, "смоленская область"), ("RU-TAM", 68, "тамбовская область"), ("RU-TVE", 69, "тверская область"),
    ("RU-TOM", 70, "томская область"), ("RU-TUL", 71, "тульская область"), ("RU-TYU", 72, "тюменская область"),
    ("RU-ULY", 73, "ульяновская область"), ("RU-CHE", 74, "челябинская область"), ("RU-ZAB", 75, "забайкальский край"),
    ("RU-YAR", 76, "ярославская область"), ("RU-MOW", 77, "москва"), ("RU-SPE", 78, "санкт-петербург"),
    ("RU-YEV", 79, "еврейская автономная область"), ("RU-NEN", 83, "ненецкий автономный округ"),
    ("RU-KHM", 86, "ханты-мансийский автономный округ югра"), ("RU-CHU", 87, "чукотский автономный округ"),
    ("RU-YAN", 89, "ямало-ненецкий автономный округ"),
)
# fmt: on

# words that say what kind of subject it is, dropped before comparing: "Республика Татарстан",
# "г. Москва", "Москва г", "Ханты-Мансийский АО - Югра"
_DROP = {"г", "гор", "город", "республика", "респ", "федерального", "значения", "чувашия", "кузбасс", "рф"}
_SHORT = {"обл": "область", "кр": "край", "ао": "автономный округ", "авт": "автономная", "окр": "округ"}
_NUMBERED = re.compile(r"\s*(\d{1,3})(?:\s*[-–—.:)]\s*|\s+)(\D.*)")  # "52 - Нижегородская обл."


def _key(text: str) -> str:
    words = re.split(r"[^\w-]+", text.lower().replace("ё", "е"))
    kept = [_SHORT.get(w, w) for w in words if w and w not in _DROP]
    return " ".join(" ".join(kept).replace("-", " ").split())


_BY_NAME = {_key(name): code for code, _, name in SUBJECTS}
_BY_NUMBER = {number: code for code, number, _ in SUBJECTS}
_BY_NUMBER[99] = ""  # "99 - Байконур": no code


def region_code(value: str) -> str:
    """The ISO 3166-2 code of a Russian region as written, else the value upper-cased."""
    cleaned = " ".join(value.split())
    m = _NUMBERED.fullmatch(cleaned)
    if m and _BY_NUMBER.get(int(m.group(1))):
        return _BY_NUMBER[int(m.group(1))]
    return _BY_NAME.get(_key(cleaned)) or value.upper()
