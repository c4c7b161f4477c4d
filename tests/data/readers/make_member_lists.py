"""Make the member lists people actually send, for tests/test_member_lists.py.

    python tests/data/readers/make_member_lists.py

writes, beside this script:

- ``members-1251.csv``: saved by a Russian Excel as "CSV (разделители - запятые)": cp1251,
  ";" between cells, CRLF, Russian headers, codes as "42.11, 42.13", a quoted cell with ";"
  in it, a blank line, two INNs with a wrong check digit;
- ``members-two-row-header.xlsx``: a title row, an empty row, a two-row header with merged
  group cells ("Реквизиты" over ИНН and ОГРН, "Деятельность" over three columns), INNs typed
  as numbers (one with its leading zero lost), codes one per line in a cell, a region cell
  merged over two firms, a bad OGRN, a row without a name;
- ``sme-register.xlsx``: shaped like an export of the Russian SME register (Единый реестр
  субъектов МСП, rmsp.nalog.ru): "Наименование / ФИО", "Категория субъекта МСП", ИНН, ОГРН,
  "Основной вид деятельности" as "42.11 Строительство автомобильных дорог и автомагистралей",
  sole traders with 12-digit INNs and 15-digit OGRNIPs;
- ``cluster-members-utf16.csv``: a cluster's list saved as Excel's "Unicode text" (UTF-16,
  tabs): free-text activities, no codes at all.

The INNs and OGRNs other than Sberbank's (7707083893, 1027700132195), Yandex's (7736207543,
1027700229193) and Bashneft's (0274051582) are made up, with check digits computed.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from matcher.inputs.identifiers import inn_check_digits, ogrn_check_digit  # noqa: E402

rng = random.Random(17)


def made_up(first: str, length: int, check: Callable[[str], str]) -> str:
    """A number of `length` digits starting with `first`, its check digits computed by `check`."""
    width = length - len(first) - len(check("0" * length))
    body = first + f"{rng.randrange(10**width):0{width}d}"
    return body + check(body + "0" * (length - len(body)))


def inn10() -> str:
    return made_up(rng.choice(["50", "52", "61", "66", "77", "78"]), 10, inn_check_digits)


def inn12() -> str:
    return made_up(rng.choice(["50", "52", "77"]), 12, inn_check_digits)


def ogrn13() -> str:
    return made_up("1", 13, ogrn_check_digit)


def ogrnip15() -> str:
    return made_up("3", 15, ogrn_check_digit)


def wrong(number: str) -> str:
    """The same number with its last digit off by one: fails the check."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


# --- (a) cp1251, ';' ---------------------------------------------------------------------------

CSV_1251 = [
    ["ИНН", "Наименование", "Описание деятельности", "ОКВЭД", "Регион", "Численность", "Сайт", "Лицензии / СРО",
     "Примечание"],
    ["7707083893", "ПАО Сбербанк", "Финансирование инфраструктурных проектов", "64.19", "г. Москва", "210000",
     "sberbank.ru", "", ""],
    ["7736207543", "ООО «Яндекс»", "Геоинформационные сервисы; картография; навигация", "62.01, 63.11",
     "г. Москва", "12000", "yandex.ru", "", "партнёр"],
    [inn10(), "ООО «Мостострой-12»", "Проектирование и строительство автомобильных мостов и путепроводов",
     "42.11, 42.13, 71.12", "Нижегородская область", "120", "", "СРО-С-123-2010, ISO 9001", ""],
    [wrong(inn10()), "ООО «Дорожник»", "Ремонт и содержание автомобильных дорог", "42.11", "Тульская область",
     "45", "", "СРО-С-200-2011", "ИНН с ошибкой"],
    [inn10(), "АО «Тоннельный отряд»", "Строительство тоннелей и метрополитенов", "42.13", "г. Санкт-Петербург",
     "800", "", "СРО-С-017-2009", ""],
    [],  # the blank line Excel keeps
    [inn10(), "ООО «Геолаб»", "Инженерные изыскания для строительства", "71.12.3", "Московская область", "18",
     "", "", ""],
    [inn10(), "ООО «Бетон-Сервис»", "Производство товарного бетона", "23.63", "Московская область", "60",
     "", "", ""],
    [wrong(inn12()), "ИП Сидоров Пётр Ильич", "Сварочные работы; монтаж металлоконструкций", "43.99.9",
     "Тульская область", "3", "", "", "ИНН с ошибкой"],
    [inn12(), "ИП Кузнецова Анна Сергеевна", "Сметная документация", "71.12", "г. Москва", "1", "", "", ""],
    [inn10(), "ООО «Энергомонтаж»", "Электромонтажные работы, наружное освещение дорог", "43.21",
     "Нижегородская область", "95", "", "Допуск к работам на ОПО", ""],
    [inn10(), "ООО «Лаборатория дорожных испытаний»", "Испытания асфальтобетона и грунтов", "71.12.1",
     "г. Москва", "25", "", "", ""],
]  # fmt: skip


def write_1251() -> None:
    import csv

    path = HERE / "members-1251.csv"
    with path.open("w", encoding="cp1251", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\r\n")
        for row in CSV_1251:
            if row:
                writer.writerow(row)
            else:
                f.write("\r\n")


# --- (b) XLSX, title, two-row header, merged cells -----------------------------------------------

BASHNEFT_INN, BASHNEFT_OGRN = 274051582, "1020202555240"  # 0274051582 typed as a number: the zero is lost
XLSX_ROWS = [
    # ИНН (a number, as Excel keeps it), ОГРН, Наименование, Описание, ОКВЭД основной, ОКВЭД доп., Регион, Численность
    (7707083893, "1027700132195", "ПАО Сбербанк", "Банковское сопровождение контрактов", "64.19", "66.19",
     "RU-MOW", 210000),
    (BASHNEFT_INN, BASHNEFT_OGRN, "ПАО АНК «Башнефть»", "Дорожные битумы и асфальтобетон", "46.71", "23.99",
     "RU-BA", 8000),
    (int(inn10()), ogrn13(), "ООО «Мостпроект»", "Проектирование мостов и путепроводов", "71.12", "71.12.2\n71.12.3",
     "RU-NIZ", 60),
    (int(inn10()), wrong(ogrn13()), "ООО «Асфальт-НН»", "Укладка асфальтобетонных покрытий", "42.11", "43.99",
     "RU-NIZ", 150),  # the region cell is merged over this row and the one above
    (int(inn10()), ogrn13(), "", "Разметка дорог", "43.99.7", "", "RU-TUL", 12),  # no name
    (int(inn10()), ogrn13(), "АО «Метрострой-Север»", "Строительство метрополитенов и тоннелей", "42.13",
     "42.99\n43.12", "RU-SPE", 1500),
    (int(inn10()), ogrn13(), "ООО «ГеоТехИзыскания»", "Геодезия и геология для дорожного строительства", "71.12.3",
     "", "RU-MOS", 35),
    (int(inn10()), ogrn13(), "ООО «СветДорСервис»", "Наружное освещение автодорог", "43.21", "", "RU-MOS", 70),
    (int(inn10()), ogrn13(), "ООО «Дорзнак»", "Производство дорожных знаков", "25.99", "22.29", "RU-MOW", 40),
    (int(inn10()), ogrn13(), "ООО «Бетонные конструкции»", "Мостовые балки и железобетон", "23.61", "", "RU-KLU",
     210),
]  # fmt: skip


def write_xlsx() -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(HERE / "members-two-row-header.xlsx"))
    sheet = book.add_worksheet("Участники")
    bold = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "border": 1})
    wrap = book.add_format({"text_wrap": True})
    sheet.merge_range(0, 0, 0, 7, "Реестр участников кластера «Дорожное строительство» на 01.03.2026", bold)
    # row 2 is empty; the header is rows 3 and 4
    sheet.merge_range(2, 0, 2, 1, "Реквизиты", bold)
    sheet.write(3, 0, "ИНН", bold)
    sheet.write(3, 1, "ОГРН", bold)
    sheet.merge_range(2, 2, 3, 2, "Наименование", bold)
    sheet.merge_range(2, 3, 2, 5, "Деятельность", bold)
    sheet.write(3, 3, "Описание", bold)
    sheet.write(3, 4, "ОКВЭД основной", bold)
    sheet.write(3, 5, "ОКВЭД дополнительные", bold)
    sheet.merge_range(2, 6, 3, 6, "Регион", bold)
    sheet.merge_range(2, 7, 3, 7, "Численность", bold)
    for i, (inn, ogrn, name, description, main, extra, region, staff) in enumerate(XLSX_ROWS):
        r = 4 + i
        sheet.write_number(r, 0, inn)
        sheet.write_string(r, 1, ogrn)
        if name:
            sheet.write_string(r, 2, name)
        sheet.write_string(r, 3, description)
        sheet.write_string(r, 4, main)
        if extra:
            sheet.write_string(r, 5, extra, wrap)
        if i != 3:
            sheet.write_string(r, 6, region)
        sheet.write_number(r, 7, staff)
    sheet.merge_range(6, 6, 7, 6, "RU-NIZ")  # one region cell for two firms
    book.close()


# --- (c) the SME register's export ----------------------------------------------------------------

REGISTER_HEADER = [
    "№ п/п", "Наименование / ФИО", "Вид субъекта МСП", "Категория субъекта МСП", "ИНН", "ОГРН", "Регион",
    "Основной вид деятельности", "Дополнительные виды деятельности", "Дата включения в реестр",
    "Среднесписочная численность работников",
]  # fmt: skip
ACTIVITIES = {
    "42.11": "42.11 Строительство автомобильных дорог и автомагистралей",
    "42.13": "42.13 Строительство мостов и тоннелей",
    "43.11": "43.11 Разборка и снос зданий",
    "43.12": "43.12 Подготовка строительной площадки",
    "43.99": "43.99 Работы строительные специализированные прочие, не включенные в другие группировки",
    "71.12": "71.12 Деятельность в области инженерных изысканий, инженерно-технического проектирования, "
    "управления проектами строительства, выполнения строительного контроля и авторского надзора",
    "49.41": "49.41 Деятельность автомобильного грузового транспорта",
    "77.32": "77.32 Аренда и лизинг строительных машин и оборудования",
}
REGISTER = [
    ("ООО «ДОРСТРОЙ»", "Юридическое лицо", "Малое предприятие", inn10(), ogrn13(), "50 - Московская область",
     "42.11", ["43.11", "43.12", "43.99"], "10.08.2016", 74),
    ("ООО «МОСТОВИК-НН»", "Юридическое лицо", "Среднее предприятие", inn10(), ogrn13(),
     "52 - Нижегородская область", "42.13", ["42.11", "71.12"], "10.08.2016", 180),
    ("КУЗЬМИН АЛЕКСЕЙ ВИКТОРОВИЧ", "Индивидуальный предприниматель", "Микропредприятие", inn12(), ogrnip15(),
     "77 - Москва", "49.41", ["77.32"], "10.01.2019", 4),
    ("ООО «ИЗЫСКАТЕЛЬ»", "Юридическое лицо", "Микропредприятие", inn10(), ogrn13(), "77 - Москва", "71.12", [],
     "10.07.2020", 9),
    ("ООО «СНОС-СЕРВИС»", "Юридическое лицо", "Микропредприятие", inn10(), wrong(ogrn13()),
     "50 - Московская область", "43.11", ["43.12"], "10.03.2021", 11),  # a wrong OGRN: rejected
    ("СОКОЛОВА ИРИНА ПАВЛОВНА", "Индивидуальный предприниматель", "Микропредприятие", inn12(), wrong(ogrnip15()),
     "52 - Нижегородская область", "43.99", [], "10.12.2022", 2),  # a wrong OGRNIP: rejected
    ("ООО «ТЕХНИКА В АРЕНДУ»", "Юридическое лицо", "Малое предприятие", inn10(), ogrn13(), "77 - Москва",
     "77.32", ["49.41", "43.12"], "10.08.2016", 33),
    ("ООО «ДОРОЖНЫЙ КОНТРОЛЬ»", "Юридическое лицо", "Малое предприятие", inn10(), ogrn13(),
     "71 - Тульская область", "71.12", ["42.11"], "10.06.2023", 27),
]  # fmt: skip


def write_register() -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(HERE / "sme-register.xlsx"))
    sheet = book.add_worksheet("Реестр МСП")
    for c, title in enumerate(REGISTER_HEADER):
        sheet.write_string(0, c, title)
    for i, (name, kind, category, inn, ogrn, region, main, extra, since, staff) in enumerate(REGISTER, start=1):
        cells = [str(i), name, kind, category, inn, ogrn, region, ACTIVITIES[main],
                 ", ".join(ACTIVITIES[e] for e in extra), since, str(staff)]  # fmt: skip
        for c, value in enumerate(cells):
            sheet.write_string(i, c, value)
    book.close()


# --- (d) a cluster's own list: free text, no codes, Excel "Unicode text" ----------------------------

FREE_TEXT = [
    ["Название", "ИНН", "Чем занимается", "Регион", "Кол-во сотрудников", "Контакты"],
    ["Мастерская «Кузня»", inn10(), "Художественная ковка: ограждения мостов, перила, фонари", "Тула", "6",
     "+7 4872 00-00-00"],
    ["ООО «Зелёный город»", inn10(), "Озеленение обочин и развязок, уход за газонами", "Тульская область", "14", ""],
    ["ООО «ГидроИзоляция»", inn10(), "Гидроизоляция мостовых пролётов и тоннелей", "Тула", "22", "info@example.ru"],
    ["ООО «Щебень Тулы»", inn10(), "Поставка щебня и песка для дорожного строительства", "Тульская область",
     "40", ""],
    ["ИП Морозов", wrong(inn12()), "Перевозка сыпучих грузов самосвалами", "Тула", "2", ""],
    ["ООО «Дорожные машины»", inn10(), "Ремонт дорожной техники", "Тульская область", "", ""],
    ["Конструкторское бюро «Пролёт»", inn10(), "Расчёты мостовых конструкций, BIM-моделирование", "Тула", "11",
     ""],
    ["", inn10(), "Покраска металлоконструкций", "Тула", "5", ""],  # no name
]  # fmt: skip


def write_free_text() -> None:
    text = "".join("\t".join(row) + "\r\n" for row in FREE_TEXT)
    (HERE / "cluster-members-utf16.csv").write_bytes(text.encode("utf-16"))  # with its BOM, as Excel writes it


if __name__ == "__main__":
    write_1251()
    write_xlsx()
    write_register()
    write_free_text()
