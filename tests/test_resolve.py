import pytest

from matcher.inputs.resolve import match_suppliers, merge_track_records, normalise_name
from matcher.schema import Participant, Project


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mostostroy-Nevsky, LLC", "mostostroy nevsky"),
        ("GV Ingeniería Integral S.A.S.", "gv ingenieria integral"),
        ("gv ingenieria integral sas", "gv ingenieria integral"),
        ("Constructora ABC Ltda.", "constructora abc"),
        ("ООО «Балтийские мосты»", "балтииские мосты"),  # й loses its breve with the other accents
        ("Балтийские мосты ООО", "балтииские мосты"),
        ("Nevsky Construction Training Centre", "nevsky construction training centre"),
        ("SAS Bridges", "bridges"),
    ],
)
def test_names_are_normalised_without_case_accents_punctuation_or_legal_forms(raw, expected):
    assert normalise_name(raw) == expected


def member(pid, name, **kw):
    return Participant(id=pid, name=name, description="x", **kw)


def supplier(pid, name, *titles):
    return Participant(
        id=pid, name=name, projects=tuple(Project(t, buyer="Roads") for t in titles), codes=("UNSPSC:72141000",)
    )


def test_suppliers_match_members_by_identifier_then_name_then_fuzzy_name():
    members = [
        member("RU-INN-7800000001", "Mostostroy-Nevsky LLC"),
        member("RU-INN-7800000002", "Baltic Tunnel Company"),
    ]
    suppliers = [
        supplier("RU-INN-7800000001", "Some other spelling"),  # same identifier
        supplier("CO-PROVEEDOR-x", "MOSTOSTROY NEVSKY, OOO"),  # same name once legal forms are gone
        supplier("CO-PROVEEDOR-y", "Baltic Tunnel Compamy"),  # a typo: fuzzy
        supplier("CO-PROVEEDOR-z", "Baltic Roads"),  # different firm
    ]
    merges = {m.supplier_id: m for m in match_suppliers(members, suppliers)}
    assert merges["RU-INN-7800000001"].how == "identifier"
    assert (merges["CO-PROVEEDOR-x"].how, merges["CO-PROVEEDOR-x"].member_id) == ("name", "RU-INN-7800000001")
    assert merges["CO-PROVEEDOR-y"].how == "fuzzy name" and merges["CO-PROVEEDOR-y"].member_id == "RU-INN-7800000002"
    assert 93 <= merges["CO-PROVEEDOR-y"].score < 100
    assert "CO-PROVEEDOR-z" not in merges


def test_merged_members_gain_track_records_and_other_suppliers_are_added():
    members = [member("M1", "Bridgeworks SAS", projects=(Project("own project"),), codes=("45221111-3",))]
    suppliers = [
        supplier("CO-RUE-1", "Bridgeworks S.A.S.", "Bridge deck repair"),
        supplier("CO-RUE-2", "Other", "Roads"),
    ]
    participants, merges = merge_track_records(members, suppliers)
    assert [p.id for p in participants] == ["M1", "CO-RUE-2"]
    assert [p.title for p in participants[0].projects] == ["own project", "Bridge deck repair"]
    assert participants[0].codes == ("45221111-3", "UNSPSC:72141000")
    assert participants[0].name == "Bridgeworks SAS" and len(merges) == 1
