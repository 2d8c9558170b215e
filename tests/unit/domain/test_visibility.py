"""Guarded items are blanked unless the caller's role allows them; the record itself is untouched."""

from datetime import date

from juki.domain.record_items import ForeignResident, KosekiDomicile
from juki.domain.staff import ROLE_PERMISSIONS, Permission, Role
from juki.domain.values import Sex
from juki.domain.visibility import hidden_items, visible

from ledger_fixtures import person

FOREIGN = ForeignResident.model_validate(
    {
        "category": "mid_to_long_term",
        "residence_status_code": "15",
        "period_of_stay": "3年",
        "expiry_date": "2029-04-01",
        "card_number": "AB12345678CD",
        "nationality_code": "156",
        "nationality": "中国",
        "became_foreign_resident_on": "2024-04-01",
    }
)


def test_a_viewer_sees_no_guarded_item() -> None:
    record = person("0000000019", "花子", "ハナコ", "1990-04-01", Sex.FEMALE, "世帯主").model_copy(
        update={
            "resident_code": "12345678901",
            "previous_resident_codes": ["10987654321"],
            "koseki": KosekiDomicile(domicile="静岡県静岡市葵区追手町5番地", head="静岡太郎"),
        }
    )
    seen = visible(record, ROLE_PERMISSIONS[Role.VIEWER])
    assert (seen.resident_code, seen.previous_resident_codes, seen.koseki) == (None, [], None)
    assert hidden_items(ROLE_PERMISSIONS[Role.VIEWER]) == ["resident_code", "koseki", "residence_status"]
    assert record.resident_code == "12345678901", "the stored record is not changed"
    assert visible(record, ROLE_PERMISSIONS[Role.APPROVER]) == record
    assert hidden_items(ROLE_PERMISSIONS[Role.APPROVER]) == []


def test_residence_status_is_blanked_but_the_rest_of_the_foreign_items_stay() -> None:
    record = person("0000000019", "花子", "ハナコ", "1990-04-01", Sex.FEMALE, "世帯主").model_copy(update={"foreign_resident": FOREIGN})
    seen = visible(record, frozenset({Permission.RESIDENT_READ}))
    assert seen.foreign_resident is not None
    assert (seen.foreign_resident.residence_status_code, seen.foreign_resident.period_of_stay) == (None, None)
    assert (seen.foreign_resident.expiry_date, seen.foreign_resident.card_number) == (None, None)
    assert (seen.foreign_resident.nationality, seen.foreign_resident.became_foreign_resident_on) == (
        "中国", date(2024, 4, 1),
    )  # fmt: skip
    clerk = visible(record, ROLE_PERMISSIONS[Role.CLERK])
    assert clerk.foreign_resident == FOREIGN
