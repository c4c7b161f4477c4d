"""Synthetic participant tables of any size, for benchmarks and load tests.

Every row has the columns of ``data/sample/participants.csv`` and passes the reader's
validation. A firm has a kind (road builder, design institute, training centre, ...) that
fixes the CPV groups its codes come from, so its 2-6 codes cluster in one or two groups;
its description is composed from templates, the kind's phrases and the labels of its own
codes, in English or (about one firm in five) in Russian, so that text and codes agree.

Rows are made in blocks of :data:`BLOCK` rows, each from its own random stream
(``numpy.random.default_rng([seed, block])``), so the output depends only on the seed and
the row number: the first 10,000 rows of a million-row table are the 10,000-row table.

Example:
    >>> from matcher.synthetic import write_firms
    >>> write_firms("firms-100k.parquet", 100_000, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.errors import InputError

if TYPE_CHECKING:
    import polars as pl

BLOCK = 10_000  # rows per random stream; changing it changes every generated table
_INN_SPACE = 98 * 100_000  # tax office 01..98 x record number 00000..99999
MAX_ROWS = _INN_SPACE  # ids stay unique up to here
COLUMNS = ("id", "name", "kind", "description", "codes", "regions", "headcount", "sme",
           "certifications", "projects", "clusters", "language")  # fmt: skip
RUSSIAN_SHARE = 0.2

# --- regions ----------------------------------------------------------------------------
# (ISO 3166-2, INN prefix, weight, English name, "in ..." English, "в ..." Russian, towns)
_REGIONS = (
    ("RU-SPE", "78", 0.36, "St. Petersburg", "in St. Petersburg", "в Санкт-Петербурге",
     ("St. Petersburg", "Kolpino", "Pushkin", "Kronstadt", "Sestroretsk", "Peterhof", "Zelenogorsk")),
    ("RU-LEN", "47", 0.22, "Leningrad Region", "in the Leningrad region", "в Ленинградской области",
     ("Gatchina", "Vyborg", "Tosno", "Kirishi", "Luga", "Tikhvin", "Vsevolozhsk", "Kingisepp", "Volkhov",
      "Priozersk", "Sosnovy Bor", "Lodeynoye Pole", "Slantsy", "Kirovsk", "Murino")),
    ("RU-MOW", "77", 0.08, "Moscow", "in Moscow", "в Москве", ("Moscow", "Zelenograd", "Troitsk")),
    ("RU-NGR", "53", 0.05, "Novgorod Region", "in the Novgorod region", "в Новгородской области",
     ("Veliky Novgorod", "Borovichi", "Staraya Russa", "Valdai")),
    ("RU-PSK", "60", 0.04, "Pskov Region", "in the Pskov region", "в Псковской области",
     ("Pskov", "Velikiye Luki", "Ostrov", "Pechory")),
    ("RU-KGD", "39", 0.05, "Kaliningrad Region", "in the Kaliningrad region", "в Калининградской области",
     ("Kaliningrad", "Baltiysk", "Sovetsk", "Chernyakhovsk", "Zelenogradsk")),
    ("RU-KR", "10", 0.04, "Republic of Karelia", "in Karelia", "в Республике Карелия",
     ("Petrozavodsk", "Kondopoga", "Segezha", "Sortavala")),
    ("RU-ARK", "29", 0.035, "Arkhangelsk Region", "in the Arkhangelsk region", "в Архангельской области",
     ("Arkhangelsk", "Severodvinsk", "Kotlas")),
    ("RU-MUR", "51", 0.035, "Murmansk Region", "in the Murmansk region", "в Мурманской области",
     ("Murmansk", "Apatity", "Monchegorsk", "Kandalaksha")),
    ("RU-VLG", "35", 0.04, "Vologda Region", "in the Vologda region", "в Вологодской области",
     ("Vologda", "Cherepovets", "Sokol")),
    ("RU-TVE", "69", 0.03, "Tver Region", "in the Tver region", "в Тверской области", ("Tver", "Rzhev", "Torzhok")),
    ("RU-KO", "11", 0.02, "Komi Republic", "in the Komi Republic", "в Республике Коми", ("Syktyvkar", "Ukhta")),
)  # fmt: skip

# --- kinds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of firm: where its codes come from and how it talks about itself."""

    name: str
    weight: float
    primary: tuple[str, ...]  # CPV prefixes of its main codes
    secondary: tuple[str, ...]  # CPV prefixes of an occasional side line
    noun: tuple[str, str]  # (English, Russian)
    acts: tuple[tuple[str, str], ...]  # third-person verb phrases
    objects: tuple[tuple[str, str], ...]  # noun phrases (Russian in the nominative)
    methods: tuple[tuple[str, str], ...]
    stems: tuple[str, ...]  # English name endings, unique to the kind
    roots: tuple[tuple[str, str], ...]  # (Latin, Cyrillic) morphemes for brand names
    size: float  # median headcount
    certs: tuple[tuple[str, float], ...]
    projects: tuple[str, ...]  # title templates: {town}, {town2}, {a}, {b}
    buyers: tuple[str, ...]  # templates: {region}, {town}
    roles: tuple[str, ...]
    cluster: str


_BUILD_CERTS = (("SRO construction", 0.93), ("ISO 9001", 0.35), ("ISO 45001", 0.12), ("ISO 14001", 0.08))
_ROAD_BUYERS = ("{region} Road Agency", "Committee for Improvement of {region}", "Administration of {town}",
                "Federal Road Agency Northwest Directorate")  # fmt: skip
_CITY_BUYERS = ("{region} Capital Construction Directorate", "Administration of {town}",
                "{town} Development Company", "{region} Committee for Construction")  # fmt: skip
_UTIL_BUYERS = ("Vodokanal of {town}", "{town} Heat Networks", "{region} Grid Company", "{town} Gas Distribution")
_CONTRACTOR = ("lead", "lead", "subcontractor", "partner")

KINDS: tuple[Kind, ...] = (
    Kind("road builder", 0.13, ("45233",), ("4511", "44113"), ("road construction company",
     "дорожно-строительная компания"),
         (("builds and reconstructs regional roads and city streets",
          "строит и реконструирует региональные дороги и городские улицы"),
          ("repairs and maintains municipal and regional roads",
          "ремонтирует и содержит муниципальные и региональные дороги"),
          ("lays asphalt pavements and resurfaces carriageways",
          "устраивает асфальтобетонные покрытия и ремонтирует проезжую часть"),
          ("builds access roads, car parks and cycle paths", "строит подъездные дороги, парковки и велодорожки"),
          ("installs road safety barriers, signs and markings",
          "устанавливает дорожные ограждения и знаки, наносит разметку")),
         (("motorway junctions", "транспортные развязки"), ("rural district roads", "сельские районные дороги"),
          ("pedestrian zones and pavements", "пешеходные зоны и тротуары"), ("logistics park access roads",
          "подъезды к логистическим паркам"),
          ("bus lanes and tram crossings", "выделенные полосы и трамвайные переезды")),
         (("stone-mastic asphalt", "щебёночно-мастичный асфальтобетон"), ("cold in-place recycling",
          "холодный ресайклинг"),
          ("a fleet of pavers and cold planers", "парк асфальтоукладчиков и дорожных фрез"),
          ("its own mobile asphalt plant", "собственный мобильный асфальтобетонный завод"),
          ("geogrid-reinforced embankments on peat", "армирование насыпей геосетками на торфяных основаниях"),
          ("winter maintenance crews", "бригады зимнего содержания")),
         ("Roadworks", "Road Building", "Highway Company", "Paving", "Road Construction Department", "Roads"),
         (("dor", "дор"), ("avtodor", "автодор"), ("asfalt", "асфальт"), ("put", "путь")),
         60, _BUILD_CERTS, ("Repair of the {town} - {town2} road, km {a} to km {b}", "Resurfacing of streets in {town}",
                            "Construction of the {town} bypass",
                            "Maintenance of regional roads of the {town} district"),
         _ROAD_BUYERS, _CONTRACTOR, "transport-infrastructure-spb"),
    Kind("bridge builder", 0.04, ("452211",), ("45262", "44212"), ("bridge-building company",
     "мостостроительная компания"),
         (("builds and reconstructs road and railway bridges",
          "строит и реконструирует автомобильные и железнодорожные мосты"),
          ("repairs small and medium bridges and culverts", "ремонтирует малые и средние мосты и водопропускные трубы"),
          ("builds overpasses and footbridges over highways",
          "строит путепроводы и пешеходные мосты над магистралями")),
         (("river crossings", "мостовые переходы через реки"), ("railway overpasses",
          "путепроводы над железной дорогой"),
          ("pedestrian bridges", "пешеходные мосты"), ("bascule bridges", "разводные мосты")),
         (("incremental launching of steel spans", "продольная надвижка пролётных строений"),
          ("bored piles in sheet-pile cofferdams", "буронабивные сваи в шпунтовых ограждениях"),
          ("precast prestressed beams", "сборные предварительно напряжённые балки"),
          ("deck waterproofing and expansion joints", "гидроизоляция мостового полотна и деформационные швы")),
         ("Bridgeworks", "Bridge Company", "Bridgebuilding", "Mostostroy"),
         (("most", "мост"), ("mostotrest", "мостотрест")),
         180, _BUILD_CERTS + (("Rostekhnadzor hazardous facilities", 0.2),),
         ("Reconstruction of the bridge over the river in {town}", "Construction of a road overpass near {town}",
          "Capital repair of bridges on the {town} - {town2} road"),
         _ROAD_BUYERS, _CONTRACTOR, "transport-infrastructure-spb"),
    Kind("tunnelling contractor", 0.02, ("452212",), ("45262", "45231"), ("tunnelling contractor",
     "тоннелестроительная компания"),
         (("drives metro and road tunnels", "сооружает тоннели метрополитена и автодорожные тоннели"),
          ("sinks shafts and builds underground passages", "проходит стволы и строит подземные переходы"),
          ("lays pipelines by microtunnelling and pipe jacking",
          "прокладывает трубопроводы микротоннелированием и продавливанием")),
         (("metro running tunnels", "перегонные тоннели метро"), ("pedestrian subways",
          "подземные пешеходные переходы"),
          ("sewer collectors", "канализационные коллекторы"), ("ventilation shafts", "вентиляционные стволы")),
         (("earth-pressure-balance TBMs", "тоннелепроходческие комплексы с грунтопригрузом"),
          ("artificial ground freezing", "искусственное замораживание грунтов"), ("jet grouting",
          "струйная цементация"),
          ("precast segmental lining", "сборная блочная обделка")),
         ("Tunnel Company", "Underground Works", "Tunnelling", "Shaft Sinking"),
         (("tonnel", "тоннель"), ("metro", "метро"), ("shakht", "шахт")),
         200, _BUILD_CERTS + (("Metro works admission", 0.6), ("Rostekhnadzor hazardous facilities", 0.5)),
         ("Construction of a pedestrian subway in {town}", "Microtunnelled sewer crossing in {town}",
          "Running tunnels of the metro extension, section {a}"),
         _CITY_BUYERS, _CONTRACTOR, "transport-infrastructure-spb"),
    Kind("engineering networks", 0.10, ("45231", "45232"), ("4533", "4416"), ("utility network contractor",
     "компания по строительству инженерных сетей"),
         (("lays water mains and sewers", "прокладывает водопроводы и канализационные сети"),
          ("builds heating mains and heat substations", "строит тепловые сети и тепловые пункты"),
          ("builds cable lines and transformer substations", "строит кабельные линии и трансформаторные подстанции"),
          ("builds gas distribution pipelines", "строит распределительные газопроводы"),
          ("relocates utilities out of construction sites", "выносит инженерные сети из зоны строительства")),
         (("residential districts", "жилые кварталы"), ("industrial parks", "индустриальные парки"),
          ("pumping stations", "насосные станции"), ("storm-water systems", "системы ливневой канализации")),
         (("PE and ductile-iron pipes", "полиэтиленовые и чугунные трубы"), ("horizontal directional drilling",
          "горизонтально-направленное бурение"),
          ("pre-insulated pipes", "трубы в ППУ-изоляции"), ("hot tapping under pressure", "врезки под давлением")),
         ("Networks", "Pipeline Company", "Utility Construction", "Vodostroy", "Teploset"),
         (("vodo", "водо"), ("teplo", "тепло"), ("energo", "энерго"), ("gaz", "газ"), ("set", "сеть")),
         70, _BUILD_CERTS + (("Rostekhnadzor hazardous facilities", 0.25),),
         ("Replacement of water mains in {town}", "Construction of a heating main in {town}",
          "Power supply of a residential district in {town}"),
         _UTIL_BUYERS, _CONTRACTOR, "transport-infrastructure-spb"),
    Kind("building contractor", 0.13, ("4521",), ("4526", "45262"), ("construction company", "строительная компания"),
         (("builds residential and public buildings", "строит жилые и общественные здания"),
          ("builds schools, kindergartens and clinics", "строит школы, детские сады и поликлиники"),
          ("builds warehouses and industrial buildings", "строит склады и производственные здания"),
          ("renovates and extends existing buildings", "реконструирует и расширяет существующие здания")),
         (("apartment blocks", "многоквартирные дома"), ("schools", "школы"), ("logistics centres",
          "логистические центры"),
          ("sports halls", "спортивные залы"), ("office buildings", "офисные здания")),
         (("monolithic reinforced concrete frames", "монолитный железобетонный каркас"),
          ("tower cranes and climbing formwork", "башенные краны и самоподъёмная опалубка"),
          ("precast panel assembly", "монтаж сборных панелей"), ("BIM coordination on site",
          "BIM-координация на площадке")),
         ("Construction", "Building Company", "Stroy Group", "Construction Trust", "Builders"),
         (("stroy", "строй"), ("grad", "град"), ("zhilstroy", "жилстрой")),
         40, _BUILD_CERTS + (("Fire safety licence", 0.1),),
         ("Construction of a school in {town}", "Construction of an apartment block in {town}",
          "Reconstruction of a clinic in {town}"), _CITY_BUYERS, _CONTRACTOR, ""),
    Kind("finishing contractor", 0.07, ("454",), ("4526",), ("finishing and fit-out contractor", "отделочная компания"),
         (("carries out interior finishing and fit-out", "выполняет внутреннюю отделку помещений"),
          ("installs windows, doors and facades", "монтирует окна, двери и фасадные системы"),
          ("repairs facades and roofs of apartment blocks", "ремонтирует фасады и кровли многоквартирных домов")),
         (("offices", "офисы"), ("apartment blocks", "многоквартирные дома"), ("schools and hospitals",
          "школы и больницы")),
         (("ventilated facade systems", "навесные вентилируемые фасады"), ("plastering machines",
          "штукатурные станции"),
          ("PVC and aluminium glazing", "остекление из ПВХ и алюминия"), ("industrial climbers",
          "промышленные альпинисты")),
         ("Finishing", "Interiors", "Facade Works", "Renovation"),
         (("otdelka", "отделка"), ("remont", "ремонт"), ("fasad", "фасад")),
         25, (("SRO construction", 0.6), ("ISO 9001", 0.1)),
         ("Capital repair of facades in {town}",
         "Fit-out of an office centre in {town}"), _CITY_BUYERS, _CONTRACTOR, ""),
    Kind("MEP installer", 0.07, ("453",), ("507",), ("building services installer", "монтажная компания"),
         (("installs electrical, heating and ventilation systems in buildings",
          "монтирует электрические сети, отопление и вентиляцию зданий"),
          ("installs fire alarm and low-current systems", "монтирует пожарную сигнализацию и слаботочные системы"),
          ("installs plumbing and boiler rooms", "монтирует водопровод, канализацию и котельные")),
         (("public buildings", "общественные здания"), ("shopping centres", "торговые центры"),
          ("industrial plants", "промышленные предприятия")),
         (("certified electricians", "аттестованные электромонтажники"), ("commissioning of HVAC systems",
          "пусконаладка систем вентиляции"),
          ("building automation", "автоматизация инженерных систем")),
         ("Electromontazh", "Engineering Systems", "Installations", "Climate Systems"),
         (("montazh", "монтаж"), ("elektro", "электро"), ("klimat", "климат")),
         40, (("SRO construction", 0.85), ("ISO 9001", 0.2), ("Fire safety licence", 0.35)),
         ("Electrical installation works at a school in {town}", "Replacement of heating systems in {town}"),
         _CITY_BUYERS, _CONTRACTOR, ""),
    Kind("railway contractor", 0.02, ("45234",), ("4511", "45262"), ("railway construction company",
     "железнодорожная строительная компания"),
         (("builds and repairs railway and tram tracks", "строит и ремонтирует железнодорожные и трамвайные пути"),
          ("builds sidings and depot tracks", "строит подъездные пути и деповские пути")),
         (("tram lines", "трамвайные линии"), ("industrial sidings", "подъездные пути предприятий"),
          ("metro depots", "электродепо")),
         (("track machines", "путевые машины"), ("continuous welded rail", "бесстыковой путь"),
          ("ballastless track slabs", "безбалластное основание пути")),
         ("Railway Construction", "Track Works", "Railbuild"),
         (("zheldor", "желдор"), ("put", "путь"), ("tram", "трам")),
         100, _BUILD_CERTS, ("Reconstruction of tram tracks in {town}", "Construction of a siding at {town} station"),
         _CITY_BUYERS, _CONTRACTOR, "transport-infrastructure-spb"),
    Kind("hydraulic works", 0.015, ("4524",), ("45262",), ("hydraulic engineering contractor",
     "гидротехническая строительная компания"),
         (("builds quays, embankments and shore protection", "строит причалы, набережные и берегоукрепления"),
          ("dredges canals and harbours", "выполняет дноуглубительные работы в каналах и гаванях")),
         (("river embankments", "речные набережные"), ("port berths", "портовые причалы"), ("dams and weirs",
          "плотины и водосбросы")),
         (("floating cranes", "плавучие краны"), ("sheet-pile walls", "шпунтовые стенки"), ("underwater concreting",
          "подводное бетонирование")),
         ("Hydrostroy", "Marine Works", "Port Construction"),
         (("gidro", "гидро"), ("port", "порт"), ("bereg", "берег")),
         80, _BUILD_CERTS, ("Reconstruction of the embankment in {town}", "Shore protection near {town}"),
         _CITY_BUYERS, _CONTRACTOR, "transport-infrastructure-spb"),
    Kind("earthworks contractor", 0.04, ("4511",), ("4552",), ("earthworks and demolition company",
     "компания по земляным работам и сносу"),
         (("carries out excavation, earthworks and site preparation",
          "выполняет земляные работы и подготовку территории"),
          ("demolishes buildings and clears sites", "сносит здания и расчищает площадки")),
         (("construction sites", "строительные площадки"), ("foundation pits", "котлованы"), ("landfills", "полигоны")),
         (("excavators and articulated dump trucks", "экскаваторы и сочленённые самосвалы"),
          ("hydraulic breakers", "гидромолоты"), ("drilling and blasting", "буровзрывные работы")),
         ("Earthworks", "Demolition", "Site Preparation"),
         (("spetstekh", "спецтех"), ("zemstroy", "земстрой"), ("mekh", "мех")),
         30, (("SRO construction", 0.7), ("Rostekhnadzor hazardous facilities", 0.05)),
         ("Site preparation for a residential district in {town}", "Demolition of derelict buildings in {town}"),
         _CITY_BUYERS, _CONTRACTOR, ""),
    Kind("general contractor", 0.03, ("4521", "4522", "4523"), ("7154", "45262"), ("general contractor",
     "генеральный подрядчик"),
         (("manages complex infrastructure projects as general contractor",
          "выполняет функции генерального подрядчика на сложных объектах"),
          ("delivers design-build contracts for transport facilities",
          "реализует контракты «проектирование и строительство» транспортных объектов")),
         (("interchanges", "транспортные развязки"), ("public buildings", "общественные здания"),
          ("treatment plants", "очистные сооружения")),
         (("its own design bureau", "собственное проектное бюро"), ("a network of specialist subcontractors",
          "сеть специализированных субподрядчиков")),
         ("Infrastructure Group", "Construction Corporation", "Construction Holding"),
         (("invest", "инвест"), ("transstroy", "трансстрой"), ("kapstroy", "капстрой")),
         600, _BUILD_CERTS + (("SRO design", 0.4), ("State secret licence", 0.1)),
         ("Construction of the {town} interchange", "Reconstruction of the {town} water treatment plant"),
         _CITY_BUYERS + _ROAD_BUYERS, ("lead",), "transport-infrastructure-spb"),
    Kind("design institute", 0.08, ("7132", "7122", "7124"), ("71311", "7152"), ("design institute",
     "проектный институт"),
         (("designs roads, bridges and utilities", "проектирует дороги, мосты и инженерные сети"),
          ("prepares design and working documentation", "разрабатывает проектную и рабочую документацию"),
          ("provides owner's engineer and design supervision services",
          "ведёт авторский надзор и функции технического заказчика")),
         (("transport interchanges", "транспортные развязки"), ("water supply systems", "системы водоснабжения"),
          ("public buildings", "общественные здания"), ("metro stations", "станции метро")),
         (("BIM models", "информационные модели (BIM)"), ("finite-element analysis", "конечно-элементные расчёты"),
          ("state expert review support", "сопровождение государственной экспертизы")),
         ("Design Bureau", "Design Institute", "Proekt", "Engineering Design"),
         (("proekt", "проект"), ("gipro", "гипро"), ("inzh", "инж")),
         45, (("SRO design", 0.95), ("SRO survey", 0.35), ("ISO 9001", 0.3)),
         ("Design of the reconstruction of the {town} - {town2} road", "Design documentation for a school in {town}"),
         _CITY_BUYERS + _ROAD_BUYERS, ("designer",), "transport-infrastructure-spb"),
    Kind("survey and geotechnics", 0.03, ("7135", "71332"), ("4512",), ("survey company", "изыскательская компания"),
         (("carries out engineering surveys for construction", "выполняет инженерные изыскания для строительства"),
          ("drills boreholes and tests soils", "бурит скважины и испытывает грунты")),
         (("road routes", "трассы дорог"), ("bridge crossings", "мостовые переходы"), ("building sites",
          "строительные площадки")),
         (("static cone penetration testing", "статическое зондирование"), ("laser scanning and UAV photogrammetry",
          "лазерное сканирование и аэрофотосъёмка с БПЛА"),
          ("ground-penetrating radar", "георадарное обследование")),
         ("Geotechnical Survey", "Geodesy", "Survey", "Geology"),
         (("geo", "гео"), ("izyskaniya", "изыскания"), ("geodez", "геодез")),
         30, (("SRO survey", 0.95), ("Laboratory accreditation", 0.25)),
         ("Engineering surveys for a bridge near {town}", "Topographic survey of {town} streets"),
         _ROAD_BUYERS + _CITY_BUYERS, ("subcontractor", "designer"), "transport-infrastructure-spb"),
    Kind("materials producer", 0.06, ("4411", "142"), ("4419", "4416"), ("building materials producer",
     "производитель строительных материалов"),
         (("produces ready-mix concrete and precast products", "выпускает товарный бетон и сборный железобетон"),
          ("quarries crushed stone and sand", "добывает щебень и песок"),
          ("produces asphalt mixes and bitumen products", "выпускает асфальтобетонные смеси и битумные материалы"),
          ("produces bricks, blocks and dry mixes", "выпускает кирпич, блоки и сухие смеси")),
         (("road builders", "дорожные строители"), ("housing developers", "застройщики жилья"), ("precast plants",
          "заводы ЖБИ")),
         (("its own quarry", "собственный карьер"), ("rail and barge deliveries",
          "отгрузка по железной дороге и баржами"),
          ("an accredited plant laboratory", "аккредитованная заводская лаборатория")),
         ("Concrete", "Aggregates", "Building Materials", "Quarries", "Materials Plant"),
         (("beton", "бетон"), ("nerud", "неруд"), ("kirpich", "кирпич"), ("snab", "снаб")),
         80, (("ISO 9001", 0.45), ("ISO 14001", 0.15), ("Laboratory accreditation", 0.3)),
         ("Supply of concrete for a bridge in {town}", "Supply of crushed stone for the {town} bypass"),
         _ROAD_BUYERS + _CITY_BUYERS, ("supplier",), "construction-materials-nw"),
    Kind("steel structures", 0.025, ("4421",), ("45262", "4544"), ("steel structures manufacturer",
     "завод металлоконструкций"),
         (("fabricates and erects steel structures", "изготавливает и монтирует металлоконструкции"),
          ("fabricates bridge girders and sheet piles", "изготавливает мостовые балки и шпунт")),
         (("bridges", "мосты"), ("industrial buildings", "промышленные здания"), ("power line towers", "опоры ЛЭП")),
         (("automatic submerged-arc welding", "автоматическая сварка под флюсом"), ("hot-dip galvanising",
          "горячее цинкование"),
          ("certified welders", "аттестованные сварщики")),
         ("Steel Structures", "Metal Structures Plant", "Steelworks"),
         (("metall", "металл"), ("stal", "сталь"), ("konstruktsiya", "конструкция")),
         100, (("ISO 9001", 0.5), ("SRO construction", 0.4)),
         ("Fabrication of steel girders for a bridge in {town}", "Steel frame of a warehouse in {town}"),
         _CITY_BUYERS, ("supplier", "subcontractor"), "construction-materials-nw"),
    Kind("equipment and machinery", 0.03, ("433",), ("4550", "4552"), ("construction machinery company",
     "компания по поставке и аренде строительной техники"),
         (("sells and services road and construction machinery",
          "продаёт и обслуживает дорожную и строительную технику"),
          ("rents out construction machinery with operators", "сдаёт в аренду строительную технику с экипажем")),
         (("road builders", "дорожные строители"), ("utility contractors", "подрядчики инженерных сетей"),
          ("quarries", "карьеры")),
         (("a spare-parts warehouse", "склад запасных частей"), ("mobile service crews", "выездные сервисные бригады"),
          ("low-loader delivery", "доставка тралами")),
         ("Machinery", "Equipment Rental", "Road Machinery"),
         (("tekhnika", "техника"), ("mash", "маш"), ("mekhanizatsiya", "механизация")),
         35, (("ISO 9001", 0.15), ("Rostekhnadzor hazardous facilities", 0.15)),
         ("Supply of road rollers to {town} road service", "Hire of excavators for works in {town}"),
         _ROAD_BUYERS, ("supplier",), ""),
    Kind("R&D institute", 0.01, ("731", "732"), ("7163", "7135"), ("research institute",
     "научно-исследовательский институт"),
         (("researches construction materials and structures", "исследует строительные материалы и конструкции"),
          ("develops standards and monitoring systems for infrastructure",
          "разрабатывает нормативы и системы мониторинга сооружений")),
         (("pavements", "дорожные одежды"), ("bridge structures", "мостовые конструкции"), ("soft soils",
          "слабые грунты")),
         (("numerical modelling", "численное моделирование"), ("accelerated pavement testing",
          "ускоренные испытания дорожных одежд"),
          ("fatigue testing", "усталостные испытания")),
         ("Research Institute", "Research Centre", "Laboratory of Structures"),
         (("nii", "нии"), ("nauka", "наука"), ("tekh", "тех")),
         60, (("ISO 9001", 0.4), ("Laboratory accreditation", 0.5)),
         ("Research on pavement durability for {region}", "Monitoring system for bridges in {town}"),
         _ROAD_BUYERS, ("partner", "lead"), "smart-city-spb"),
    Kind("university", 0.004, ("803",), ("731",), ("university", "университет"),
         (("trains civil engineers and builders", "готовит инженеров-строителей"),
          ("runs degree and continuing-education programmes in construction",
          "ведёт программы высшего и дополнительного образования в строительстве")),
         (("roads and bridges", "дороги и мосты"), ("urban planning", "градостроительство"), ("utilities",
          "инженерные системы")),
         (("research laboratories", "научные лаборатории"), ("a materials testing centre",
          "испытательный центр материалов")),
         ("University", "Technical University", "Polytechnic"),
         (("tekh", "тех"), ("politekh", "политех")),
         1200, (("Educational licence", 1.0), ("Laboratory accreditation", 0.4)),
         ("Continuing education of engineers of {region}",), _CITY_BUYERS, ("lead",), "transport-infrastructure-spb"),
    Kind("training centre", 0.015, ("8053", "8055", "8051"), ("803",), ("training centre", "учебный центр"),
         (("trains and certifies construction workers", "обучает и аттестует строительных рабочих"),
          ("runs occupational safety courses", "проводит курсы по охране труда"),
          ("teaches BIM and digital construction", "обучает BIM-технологиям и цифровому строительству")),
         (("welders", "сварщики"), ("crane operators", "машинисты кранов"), ("site managers", "прорабы")),
         (("a training ground with simulators", "учебный полигон с тренажёрами"), ("on-site courses", "выездные курсы"),
          ("e-learning", "дистанционное обучение")),
         ("Training Centre", "Academy", "Training School"),
         (("prof", "проф"), ("kadr", "кадр"), ("obuchenie", "обучение")),
         20, (("Educational licence", 0.98),), ("Training of site staff for {town} road service",),
         _CITY_BUYERS, ("lead",), ""),
    Kind("testing laboratory", 0.015, ("7163", "719"), ("7135",), ("testing laboratory", "строительная лаборатория"),
         (("tests concrete, asphalt and soils on site", "испытывает бетон, асфальтобетон и грунты на объектах"),
          ("inspects bridges and buildings", "обследует мосты и здания")),
         (("road sites", "дорожные объекты"), ("bridges", "мосты"), ("welded structures", "сварные конструкции")),
         (("mobile laboratories", "передвижные лаборатории"), ("non-destructive testing", "неразрушающий контроль"),
          ("load testing", "испытания пробной нагрузкой")),
         ("Testing Laboratory", "Quality Control", "Diagnostics Centre"),
         (("lab", "лаб"), ("kontrol", "контроль"), ("ekspert", "эксперт")),
         30, (("Laboratory accreditation", 0.95), ("ISO 9001", 0.3), ("Bridge inspection accreditation", 0.15)),
         ("Construction quality control on the {town} bypass", "Inspection of bridges in {town}"),
         _ROAD_BUYERS, ("subcontractor",), "transport-infrastructure-spb"),
    Kind("traffic systems", 0.015, ("3499", "3492"), ("45316",), ("traffic systems company",
     "компания по организации дорожного движения"),
         (("installs traffic lights, signs and road lighting", "устанавливает светофоры, знаки и уличное освещение"),
          ("deploys intelligent transport systems", "внедряет интеллектуальные транспортные системы")),
         (("city junctions", "городские перекрёстки"), ("highways", "автомагистрали"), ("parking facilities",
          "парковки")),
         (("adaptive signal control", "адаптивное управление светофорами"), ("LED luminaires",
          "светодиодные светильники"),
          ("video detection", "видеодетекция транспорта")),
         ("Traffic Systems", "Signals", "Transport Telematics"),
         (("svet", "свет"), ("signal", "сигнал"), ("telematika", "телематика")),
         50, (("SRO construction", 0.6), ("ISO 9001", 0.25)),
         ("Modernisation of traffic lights in {town}", "Street lighting of the {town} - {town2} road"),
         _ROAD_BUYERS, _CONTRACTOR, "smart-city-spb"),
    Kind("electrical supplier", 0.02, ("315", "313"), ("4531", "5023"), ("electrical equipment supplier",
     "поставщик электротехнического оборудования"),
         (("supplies cables, luminaires and electrical equipment",
          "поставляет кабель, светильники и электрооборудование"),
          ("supplies and installs lighting equipment", "поставляет и монтирует осветительное оборудование")),
         (("contractors", "подрядчики"), ("utility companies", "сетевые компании"), ("municipal customers",
          "муниципальные заказчики")),
         (("a regional warehouse", "региональный склад"), ("next-day delivery", "доставка на следующий день")),
         ("Electro", "Cable Company", "Lighting"),
         (("kabel", "кабель"), ("elektro", "электро"), ("svet", "свет")),
         30, (("ISO 9001", 0.2),), ("Supply of cable for a substation in {town}",), _UTIL_BUYERS, ("supplier",), ""),
    Kind("environmental services", 0.015, ("907", "713134"), ("905",), ("environmental consultancy",
     "экологическая компания"),
         (("assesses environmental impact of construction", "оценивает воздействие строительства на окружающую среду"),
          ("monitors noise, air and water during construction",
          "ведёт мониторинг шума, воздуха и вод в период строительства"),
          ("cleans up contaminated land", "рекультивирует загрязнённые земли")),
         (("road projects", "дорожные объекты"), ("industrial sites", "промышленные площадки"), ("waterfronts",
          "прибрежные территории")),
         (("an accredited laboratory", "аккредитованная лаборатория"), ("noise modelling", "моделирование шума")),
         ("Eco Engineering", "Environmental Services", "Ecology"),
         (("eko", "эко"), ("priroda", "природа")),
         25, (("SRO survey", 0.3), ("Laboratory accreditation", 0.2)),
         ("Environmental impact assessment for the {town} bypass", "Land reclamation near {town}"),
         _ROAD_BUYERS + _CITY_BUYERS, ("subcontractor",), ""),
)  # fmt: skip

_BLACKLIST = re.compile(
    r"dog|horse|grave|cemeter|golf|riding|military|nuclear|offshore|subsea|aircraft|airport|runway|flight|ship|boat|"
    r"medical|swimming|fresco|kennel|radar|scale model|language course|marine research|jacket|armoured|safes|"
    r"tobacco|desk lamp|floor-standing|christmas|aquarium",
    re.IGNORECASE,
)

# brand morphemes: a geographic or fanciful first part, then the kind's root, then an ending
_FIRST = (("Neva", "Нева"), ("Balt", "Балт"), ("Sever", "Север"), ("Nord", "Норд"), ("Ladoga", "Ладога"),
          ("Izhora", "Ижора"), ("Okhta", "Охта"), ("Volkhov", "Волхов"), ("Luga", "Луга"), ("Ingria", "Ингрия"),
          ("Petro", "Петро"), ("Len", "Лен"), ("Sevzap", "Севзап"), ("Piter", "Питер"), ("Onega", "Онега"),
          ("Karel", "Карел"), ("Ilmen", "Ильмень"), ("Vyborg", "Выборг"), ("Kron", "Крон"), ("Ros", "Рос"),
          ("Gran", "Гран"), ("Alfa", "Альфа"), ("Vektor", "Вектор"), ("Lider", "Лидер"), ("Etalon", "Эталон"),
          ("Monolit", "Монолит"), ("Atlant", "Атлант"), ("Titan", "Титан"), ("Zenit", "Зенит"), ("Avangard",
          "Авангард"),
          ("Meridian", "Меридиан"), ("Kaskad", "Каскад"), ("Integral", "Интеграл"), ("Vertikal", "Вертикаль"),
          ("Opora", "Опора"), ("Region", "Регион"), ("Soyuz", "Союз"), ("Megapolis", "Мегаполис"), ("Pilon", "Пилон"),
          ("Forpost", "Форпост"), ("Yantar", "Янтарь"), ("Arktika", "Арктика"), ("Polyus", "Полюс"), ("Orion", "Орион"),
          ("Delta", "Дельта"), ("Almaz", "Алмаз"), ("Rubin", "Рубин"), ("Granit", "Гранит"), ("Bazalt", "Базальт"),
          ("Kristall", "Кристалл"), ("Magistral", "Магистраль"), ("Gorizont", "Горизонт"), ("Impuls", "Импульс"),
          ("Kontur", "Контур"), ("Rubezh", "Рубеж"), ("Fundament", "Фундамент"), ("Parus", "Парус"), ("Strela",
          "Стрела"),
          ("Aspekt", "Аспект"), ("Profil", "Профиль"), ("Kvadrat", "Квадрат"), ("Modul", "Модуль"), ("Arka", "Арка"),
          ("Sfera", "Сфера"), ("Omega", "Омега"), ("Optima", "Оптима"), ("Akvilon", "Аквилон"), ("Borey", "Борей"),
          ("Varyag", "Варяг"), ("Vityaz", "Витязь"), ("Baltika", "Балтика"), ("Admiral", "Адмирал"), ("Mayak", "Маяк"),
          ("Fregat", "Фрегат"), ("Bastion", "Бастион"), ("Obelisk", "Обелиск"), ("Pomor", "Помор"), ("Kola", "Кола"),
          ("Vega", "Вега"), ("Sirius", "Сириус"), ("Kedr", "Кедр"), ("Sosna", "Сосна"), ("Start", "Старт"),
          ("Perspektiva", "Перспектива"), ("Evro", "Евро"), ("Nova", "Нова"), ("Tsentr", "Центр"), ("Oktan", "Октан"),
          ("Rif", "Риф"), ("Skala", "Скала"), ("Utes", "Утёс"), ("Uran", "Уран"), ("Terra", "Терра"), ("Aurora",
          "Аврора"),
          ("Mega", "Мега"), ("Ultra", "Ультра"), ("Ekspress", "Экспресс"))  # fmt: skip
_GENERIC_ROOTS = (("stroy", "строй"), ("spets", "спец"), ("prom", "пром"), ("tekh", "тех"), ("energo", "энерго"),
                  ("trans", "транс"), ("inzh", "инж"), ("mekh", "мех"), ("kom", "ком"), ("tekhno",
                  "техно"))  # fmt: skip
_LAST = (("stroy", "строй"), ("servis", "сервис"), ("tekh", "тех"), ("invest", "инвест"), ("montazh", "монтаж"),
         ("trest", "трест"), ("komplekt", "комплект"), ("proekt", "проект"), ("resurs", "ресурс"), ("grupp", "групп"),
         ("plyus", "плюс"), ("profi", "профи"), ("standart", "стандарт"), ("sistema", "система"), ("tsentr", "центр"),
         ("alyans", "альянс"), ("garant", "гарант"), ("sintez", "синтез"), ("partner", "партнёр"), ("kholding",
         "холдинг"),
         ("inzhiniring", "инжиниринг"), ("torg", "торг"), ("snab", "снаб"), ("industriya", "индустрия"),
         ("kompleks", "комплекс"), ("ekspert", "эксперт"), ("master", "мастер"), ("region", "регион"))  # fmt: skip
_PLACES = ("Nevsky", "Baltic", "Northwest", "Ladoga", "Izhora", "Okhta", "Volkhov", "Luga", "Svir", "Ingria",
           "Kolpino", "Pulkovo", "Kronstadt", "Vyborg", "Gatchina", "Tosno", "Kirishi", "Tikhvin", "Pskov",
           "Novgorod", "Kaliningrad", "Karelian", "Onega", "Pomor", "Kola", "Vologda", "Tver", "Peterhof",
           "Sestroretsk", "Neva", "Fontanka", "Moika", "Obvodny", "Admiralty", "Petrograd", "Vasilievsky",
           "Primorsky", "Kupchino", "Murino", "Ust-Luga", "Sosnovy Bor", "Valdai", "Ilmen", "Cherepovets",
           "Arkhangelsk", "Murmansk", "Petrozavodsk", "Syktyvkar", "Zelenogorsk", "Kingisepp")  # fmt: skip
_FORMS_EN = (("LLC", 0.8), ("JSC", 0.15), ("PJSC", 0.01), ("CJSC", 0.04))
_FORMS_RU = (("ООО", 0.8), ("АО", 0.15), ("ПАО", 0.01), ("ЗАО", 0.04))
_STATE_FORMS = {
    "university": ("FSBI", "ФГБОУ ВО"),
    "training centre": ("ANO", "АНО ДПО"),
    "R&D institute": ("JSC", "АО"),
}

# description pieces -------------------------------------------------------------------
_ADJ_EN = ("", "", "small ", "family-owned ", "regional ", "fast-growing ", "long-established ", "specialist ")
_LABELS_EN = (
    "Main lines of work: {}.",
    "Core services: {}.",
    "Activities: {}.",
    "Typical scope: {}.",
    "Registered activities: {}.",
)
_LABELS_RU = ("Основные виды работ: {}.", "Направления деятельности: {}.", "Профиль: {}.", "Виды деятельности: {}.")
_METHODS_EN = (
    "Relies on {}, together with {}.",
    "Its strengths: {}; {}.",
    "Equipment and methods: {}; {}.",
    "Uses {} as well as {}.",
)
_METHODS_RU = ("Технологии и ресурсы: {}, {}.", "Применяемые технологии: {}, {}.", "Сильные стороны: {}, {}.")
_OBJECTS_EN = ("Typical projects: {}; {}.", "Works on {} as well as {}.", "Recent work includes {}, also {}.")
_OBJECTS_RU = ("Типовые объекты: {}, {}.", "Объекты: {}, {}.", "Среди объектов — {}, {}.")
_CLIENTS_EN = ("municipal customers", "regional road agencies", "housing developers", "federal customers",
               "utility companies", "general contractors", "industrial companies", "state-owned companies")  # fmt: skip
_CLIENTS_RU = ("муниципальные заказчики", "региональные дорожные агентства", "застройщики", "федеральные заказчики",
               "ресурсоснабжающие организации", "генеральные подрядчики", "промышленные предприятия",
               "государственные компании")  # fmt: skip


def _choice(rng: np.random.Generator, n: int, weights: Any) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


@dataclass(frozen=True)
class _Pools:
    """Code pools of every kind, prepared once from the taxonomy."""

    primary: tuple[tuple[str, ...], ...]
    neighbours: tuple[list[tuple[int, int]], ...]  # per primary pool: [lo, hi) of codes sharing 5 digits
    secondary: tuple[tuple[str, ...], ...]
    okved: tuple[tuple[str, ...], ...]  # OKVED2 codes that map only into the kind's primary pool
    okved_cpv: dict[str, tuple[str, ...]]  # what the reader will turn each of them into
    labels: dict[str, tuple[str, str]]  # canonical code -> (English, Russian) label, lower-cased


def _lower(label: str) -> str:
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    from matcher.taxonomy import load_taxonomy

    tax = load_taxonomy()

    def usable(digits: str) -> bool:
        ru = tax.cpv_ru.get(digits, "").strip()
        return bool(ru) and ru[:8] != digits and not _BLACKLIST.search(tax.cpv_en[digits])

    def pool(prefixes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({tax.cpv_canonical[d] for d in tax.cpv_canonical
                             if d.startswith(prefixes) and usable(d)}))  # fmt: skip

    primary = tuple(pool(k.primary) for k in KINDS)
    secondary = tuple(pool(k.secondary) for k in KINDS)
    neighbours = []
    for codes in primary:
        if not codes:
            raise InputError("a synthetic firm kind has no usable CPV codes; check data/taxonomy")
        heads = np.array([c[:5] for c in codes])
        lo = np.searchsorted(heads, heads, side="left")
        hi = np.searchsorted(heads, heads, side="right")
        neighbours.append([(int(x), int(y)) for x, y in zip(lo, hi)])
    okved = tuple(
        tuple(sorted(o for o, mapped in tax.okved_to_cpv.items() if set(mapped) <= set(codes) and o in tax.okved))
        for codes in primary
    )
    labels = {c: (_lower(tax.label(c, "en")), _lower(tax.label(c, "ru")))
              for codes in primary + secondary for c in codes}  # fmt: skip
    okved_cpv = {o: tax.okved_to_cpv[o] for codes in okved for o in codes}
    return _Pools(primary, tuple(neighbours), secondary, okved, okved_cpv, labels)


def _inn_bodies(rows: np.ndarray, seed: int) -> np.ndarray:
    """Seven digits per row (tax office 01-98, record number), distinct for every row: an affine bijection."""
    step = 7_919_113  # odd, not divisible by 5 or 7, so coprime with 98 * 10**5
    offset = (seed * 2_654_435_761 + 3_141_592) % _INN_SPACE
    x = (rows.astype(np.int64) * step + offset) % _INN_SPACE
    return (x // 100_000 + 1) * 100_000 + x % 100_000


def _inns(prefixes: np.ndarray, bodies: np.ndarray) -> list[str]:
    """Legal-entity INNs (10 digits) with their check digit."""
    digits = np.empty((len(bodies), 9), dtype=np.int64)
    digits[:, 0] = prefixes // 10
    digits[:, 1] = prefixes % 10
    rest = bodies.copy()
    for i in range(8, 1, -1):
        digits[:, i] = rest % 10
        rest //= 10
    weights = np.array([2, 4, 10, 3, 5, 9, 4, 6, 8])
    check = (digits @ weights) % 11 % 10
    numbers = (prefixes.astype(np.int64) * 10**7 + bodies) * 10 + check
    return [f"RU-INN-{n:010d}" for n in numbers.tolist()]


class _Names:
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


def _block(index: int, size: int, seed: int, names: _Names) -> dict[str, list[Any]]:
    """Columns of rows ``index * BLOCK`` .. ``+ size`` (one random stream per block)."""
    pools = _pools()
    rng = np.random.default_rng([seed, index])
    n = BLOCK  # draw for a whole block even when fewer rows are wanted, so a short table is a prefix
    kind = _choice(rng, n, [k.weight for k in KINDS])
    russian = rng.random(n) < RUSSIAN_SHARE
    region = _choice(rng, n, [r[2] for r in _REGIONS])
    # headcount: log-normal around the kind's median, so most firms are small (SMEs)
    medians = np.array([k.size for k in KINDS], dtype=float)[kind]
    headcount = np.maximum(1, np.round(np.exp(np.log(medians) + rng.normal(0, 1.15, n)))).astype(np.int64)
    headcount = np.minimum(headcount, 25_000)
    n_codes = _choice(rng, n, [0.2, 0.3, 0.25, 0.15, 0.1]) + 2
    has_secondary = rng.random(n) < 0.3
    has_okved = rng.random(n) < 0.15
    u = rng.random((n, 8))  # code draws
    anchors = rng.random(n)
    founded = np.clip(2025 - np.round(rng.gamma(2.0, 6.0, n)).astype(int), 1992, 2024)
    n_projects = np.minimum(rng.poisson(0.4 + 0.35 * np.log10(headcount)), 4)
    pick = rng.integers(0, 1 << 30, size=(n, 34))  # phrase and template choices
    pvals = rng.random((n, 10))
    prefixes = np.array([int(_REGIONS[r][1]) for r in region.tolist()])
    inn = _inns(prefixes, _inn_bodies(np.arange(n) + index * BLOCK, seed))

    out: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    # plain Python lists: indexing numpy arrays one scalar at a time is several times slower
    kinds, russians, regions_, headcounts = kind.tolist(), russian.tolist(), region.tolist(), headcount.tolist()
    n_codes_, secondaries, okveds, draws = n_codes.tolist(), has_secondary.tolist(), has_okved.tolist(), u.tolist()
    anchors_, founded_, n_projects_ = anchors.tolist(), founded.tolist(), n_projects.tolist()
    picks, probs = pick.tolist(), pvals.tolist()
    for i in range(size):
        ki = kinds[i]
        k = KINDS[ki]
        ru = russians[i]
        p = picks[i]
        pv = probs[i]
        reg = _REGIONS[regions_[i]]
        hc = headcounts[i]
        # codes: an anchor code, then mostly its neighbours (same 5 digits), so they cluster
        prim = pools.primary[ki]
        a = int(anchors_[i] * len(prim))
        lo, hi = pools.neighbours[ki][a]
        with_sec = secondaries[i] and bool(pools.secondary[ki])
        with_okved = okveds[i] and bool(pools.okved[ki])
        # an OKVED2 code counts as the CPV codes the reader maps it to
        okved = pools.okved[ki][p[1] % len(pools.okved[ki])] if with_okved else ""
        taken = list(pools.okved_cpv[okved]) if okved else []
        n_prim = max(1, n_codes_[i] - with_sec - len(taken))
        codes = [prim[a]] if prim[a] not in taken else []
        d = draws[i]
        for attempt in range(4 * n_prim):
            if len(codes) >= n_prim:
                break
            uj = d[attempt % 8] if attempt < 8 else (d[attempt % 8] * 7.31 + attempt * 0.137) % 1.0
            if uj < 0.6 and hi - lo > 1:
                idx = lo + int(uj / 0.6 * (hi - lo))
            else:
                idx = int(uj * len(prim))
            code = prim[min(idx, len(prim) - 1)]
            if code not in codes and code not in taken:
                codes.append(code)
        if not codes:  # every draw hit a code the OKVED2 code already brings
            codes.append(prim[a])
        if with_sec:
            sec = pools.secondary[ki]
            codes.append(sec[p[0] % len(sec)])
        labels = list(dict.fromkeys(pools.labels[c][1 if ru else 0] for c in codes[:3]))
        if okved:
            codes.insert(0, okved)
        # regions: home first; SPE and LEN firms usually work in both; bigger firms travel
        regions = [reg[0]]
        extra = min(int(pv[0] * (1 + math.log10(hc))), 4)
        if reg[0] in ("RU-SPE", "RU-LEN") and pv[1] < 0.7:
            regions.append("RU-LEN" if reg[0] == "RU-SPE" else "RU-SPE")
        for j in range(extra):
            other = _REGIONS[p[2 + j] % len(_REGIONS)][0]
            if other not in regions:
                regions.append(other)
        if hc >= 1000 and pv[2] < 0.3:
            regions.append("RU")
        # certifications: the kind's licences, ISO more likely the bigger the firm
        scale = min(1.0, 0.5 + 0.2 * math.log10(hc))
        certs = [c for j, (c, prob) in enumerate(k.certs)
                 if ((p[26 + j % 8] % 1000) / 1000) < prob * (scale if c.startswith("ISO") else 1.0)]  # fmt: skip
        if hc >= 500 and pv[3] < 0.08:
            certs.append("State secret licence")
        # name: a place or a brand made of morphemes, with the kind's usual ending
        forms = _FORMS_RU if ru and pv[5] < 0.5 else _FORMS_EN
        form = next((f for f, w in _cum(forms) if pv[4] < w), forms[0][0])
        state = _STATE_FORMS.get(k.name)
        if state:
            form = state[1] if forms is _FORMS_RU else state[0]
        script = 1 if forms is _FORMS_RU else 0
        brands = [_brand(k, p[6 + j] >> 3, script) for j in range(3)]
        if script:
            core = names.take([brands[0][0]] + [b for trio in brands for b in trio[1:]], brands[0][1])
            name = f"{form} «{core}»"
        else:
            place = _PLACES[p[9] % len(_PLACES)]
            stem = k.stems[p[10] % len(k.stems)]
            options = [f"{place} {stem}", f"{brands[0][0]} {stem}", brands[0][1], brands[0][2]]
            start = p[11] % 4
            options = options[start:] + options[:start] + [b for trio in brands[1:] for b in trio[1:]]
            core = names.take(options + [f"{b} {stem}" for _, b, _ in brands], brands[0][1])
            name = f"{core} {form}"
        # description
        year = founded_[i]
        desc = _describe_ru(k, p, labels, reg, year, hc) if ru else _describe_en(k, p, labels, reg, year, hc)
        # projects
        projects = []
        towns = reg[6]
        for j in range(n_projects_[i]):
            q = p[22 + j]
            t1, t2 = towns[q % len(towns)], towns[(q >> 4) % len(towns)]
            if t2 == t1:
                t2 = _REGIONS[(q >> 8) % 2][6][0] if t1 != "St. Petersburg" else "Gatchina"
            km = (q >> 12) % 80
            title = k.projects[(q >> 3) % len(k.projects)].format(
                town=t1, town2=t2, a=km, b=km + 3 + (q >> 20) % 25, region=reg[3]
            )
            value = round(math.exp(13.5 + 0.9 * math.log(hc) + ((q >> 5) % 100) / 50 - 1), -5)
            projects.append({
                "title": title, "year": max(year, 2014 + (q >> 7) % 11), "value": value,
                "role": k.roles[(q >> 9) % len(k.roles)],
                "buyer": k.buyers[(q >> 11) % len(k.buyers)].format(region=reg[3], town=t1),
            })  # fmt: skip
        cluster = k.cluster if (reg[0] in ("RU-SPE", "RU-LEN") and pv[6] < 0.25) else ""
        out["id"].append(inn[i])
        out["name"].append(name)
        out["kind"].append(k.name)
        out["description"].append(desc)
        out["codes"].append(";".join(codes))
        out["regions"].append(";".join(regions))
        out["headcount"].append(hc)
        out["sme"].append(hc < 250)
        out["certifications"].append(";".join(certs))
        out["projects"].append(json.dumps(projects, ensure_ascii=False))
        out["clusters"].append(cluster)
        out["language"].append("ru" if ru else "en")
    return out


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


def _pair(items: tuple[tuple[str, str], ...], p: int, lang: int) -> tuple[str, str]:
    a = p % len(items)
    b = (a + 1 + (p >> 8) % (len(items) - 1)) % len(items) if len(items) > 1 else a
    return items[a][lang], items[b][lang]


def _join(labels: list[str], conj: str) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" {conj} " + labels[-1]


def _describe_en(k: Kind, p: list[int], labels: list[str], reg: tuple, year: int, hc: int) -> str:
    act1, act2 = _pair(k.acts, p[12], 0)
    o1, o2 = _pair(k.objects, p[13], 0)
    m1, m2 = _pair(k.methods, p[14], 0)
    c1, c2 = _pair(tuple((c, c) for c in _CLIENTS_EN), p[15], 0)
    lab = _LABELS_EN[p[16] % len(_LABELS_EN)].format("; ".join(labels))
    meth = _METHODS_EN[p[17] % len(_METHODS_EN)].format(m1, m2)
    objs = _OBJECTS_EN[p[18] % len(_OBJECTS_EN)].format(o1, o2)
    adj = "large " if hc >= 1000 else _ADJ_EN[p[19] % len(_ADJ_EN)]
    article = "An" if (adj or k.noun[0])[0] in "aeiou" else "A"
    exp = (f"Founded in {year}, with a staff of {hc}." if p[20] % 3 == 0 else
           f"More than {max(1, 2025 - year)} years on the market." if p[20] % 3 == 1 else
           f"Clients include {c1} and {c2}.")  # fmt: skip
    t = p[21] % 5
    if t == 0:
        return f"{article} {adj}{k.noun[0]} that {act1} {reg[4]}; it also {act2}. {lab} {meth} {exp}"
    if t == 1:
        return f"{act1[0].upper()}{act1[1:]} for {c1} and {c2}, mainly {reg[4]}. {objs} {meth} {lab}"
    if t == 2:
        return f"Specialises in {_join(labels[:2], 'and')}. {objs} {meth} {exp}"
    if t == 3:
        return f"Operating since {year} {reg[4]}, the company {act1}. {objs} {lab}"
    return f"{lab} The {k.noun[0]} {act1}; it also {act2}. {meth} {exp}"


def _describe_ru(k: Kind, p: list[int], labels: list[str], reg: tuple, year: int, hc: int) -> str:
    act1, act2 = _pair(k.acts, p[12], 1)
    o1, o2 = _pair(k.objects, p[13], 1)
    m1, m2 = _pair(k.methods, p[14], 1)
    c1, c2 = _pair(tuple((c, c) for c in _CLIENTS_RU), p[15], 1)
    lab = _LABELS_RU[p[16] % len(_LABELS_RU)].format("; ".join(labels))
    meth = _METHODS_RU[p[17] % len(_METHODS_RU)].format(m1, m2)
    objs = _OBJECTS_RU[p[18] % len(_OBJECTS_RU)].format(o1, o2)
    exp = (f"На рынке с {year} года, в штате {hc} чел." if p[20] % 3 == 0 else
           f"Более {max(1, 2025 - year)} лет опыта работы." if p[20] % 3 == 1 else
           f"Заказчики: {c1}, {c2}.")  # fmt: skip
    noun = k.noun[1][0].upper() + k.noun[1][1:]
    t = p[21] % 4
    if t == 0:
        return f"{noun} {reg[5]}: {act1}, а также {act2}. {lab} {meth} {exp}"
    if t == 1:
        return f"{act1[0].upper()}{act1[1:]} {reg[5]}. {objs} {meth} {lab}"
    if t == 2:
        return f"{lab} {objs} {meth} {exp}"
    return f"С {year} года компания {act1}. {objs} {lab}"


def generate_firms(rows: int, seed: int = 0, chunk: int = 50_000) -> Iterator[pl.DataFrame]:
    """Synthetic participants in chunks of ``chunk`` rows (the last may be shorter).

    Args:
        rows: how many firms (at most :data:`MAX_ROWS`, where the ids would run out).
        seed: the same seed and row count give the same rows.
        chunk: rows per yielded DataFrame; it does not change the rows.

    Example:
        >>> frame = next(generate_firms(1_000, seed=1))
        >>> frame.columns[:3], frame.height
        (['id', 'name', 'kind'], 1000)
    """
    import polars as pl

    if not 0 <= rows <= MAX_ROWS:
        raise InputError(f"rows must be between 0 and {MAX_ROWS:,}, got {rows:,}")
    if chunk < 1:
        raise InputError(f"chunk must be at least 1, got {chunk}")
    schema = {c: pl.String for c in COLUMNS} | {"headcount": pl.Int64, "sme": pl.Boolean}
    names = _Names()
    pending: list[pl.DataFrame] = []
    have = 0
    for b in range(-(-rows // BLOCK)):
        size = min(BLOCK, rows - b * BLOCK)
        pending.append(pl.DataFrame(_block(b, size, seed, names), schema=schema))
        have += size
        while have >= chunk or (have and b == -(-rows // BLOCK) - 1):
            frame = pl.concat(pending, rechunk=True) if len(pending) > 1 else pending[0]
            yield frame.head(chunk)
            rest = frame.slice(chunk)
            pending, have = ([rest], rest.height) if rest.height else ([], 0)


def write_firms(path: str | os.PathLike[str], rows: int, seed: int = 0, chunk: int = 50_000) -> Path:
    """Write ``rows`` synthetic participants to a Parquet (or CSV) file, chunk by chunk.

    The file is written to a temporary name and renamed when complete. Parquet row groups
    hold ``chunk`` rows; the same seed, rows and chunk give the same bytes.

    Example:
        >>> write_firms("/tmp/firms-10k.parquet", 10_000)  # doctest: +SKIP
        PosixPath('/tmp/firms-10k.parquet')
    """
    import polars as pl
    from polars.io.plugins import register_io_source

    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"{out}: write .parquet or .csv, not '{out.suffix}'")
    tmp = out.with_name(f".{out.name}.tmp")
    if suffix == ".csv":
        with tmp.open("wb") as f:
            for i, frame in enumerate(generate_firms(rows, seed, chunk)):
                frame.write_csv(f, include_header=i == 0)
            if rows == 0:
                f.write((",".join(COLUMNS) + "\n").encode())
    else:
        schema = {c: pl.String for c in COLUMNS} | {"headcount": pl.Int64, "sme": pl.Boolean}

        def source(with_columns: Any, predicate: Any, n_rows: Any, batch_size: Any) -> Iterator[pl.DataFrame]:
            for frame in generate_firms(rows, seed, chunk):
                yield frame.select(with_columns) if with_columns else frame

        # polars has no incremental Parquet writer; a streaming sink over a Python source
        # writes one file while only a chunk or two is held in memory
        register_io_source(source, schema=schema).sink_parquet(tmp, row_group_size=chunk)
    os.replace(tmp, out)
    return out
