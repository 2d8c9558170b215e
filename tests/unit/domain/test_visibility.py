"""Guarded items are blanked unless the caller's role allows them; the record itself is untouched."""

from datetime import date
from typing import Any, get_args

import pytest
from juki.domain import values as values_module
from juki.domain.commands import MoveIn, MovementCommand
from juki.domain.record_items import ForeignResident, KosekiDomicile
from juki.domain.staff import ROLE_PERMISSIONS, Permission, Role
from juki.domain.values import Sex
from juki.domain.visibility import hidden_items, visible, visible_movement
from ledger_fixtures import HEAD, HOUSEHOLD, movement, person
from pydantic import BaseModel

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
    record = person("0000000019", "花子", "ハナコ", "1990-04-01", Sex.FEMALE, "世帯主").model_copy(
        update={"foreign_resident": FOREIGN}
    )
    seen = visible(record, frozenset({Permission.RESIDENT_READ}))
    assert seen.foreign_resident is not None
    assert (seen.foreign_resident.residence_status_code, seen.foreign_resident.period_of_stay) == (None, None)
    assert (seen.foreign_resident.expiry_date, seen.foreign_resident.card_number) == (None, None)
    assert (seen.foreign_resident.nationality, seen.foreign_resident.became_foreign_resident_on) == (
        "中国", date(2024, 4, 1),
    )  # fmt: skip
    clerk = visible(record, ROLE_PERMISSIONS[Role.CLERK])
    assert clerk.foreign_resident == FOREIGN


KOSEKI = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "駿府家康"}
NAME = {
    "family_name": "駿府",
    "given_name": "花子",
    "family_name_kana": "スンプ",
    "given_name_kana": "ハナコ",
}
MOVE_IN: dict[str, Any] = {
    "kind": "move_in", "effective_date": "2026-11-20", "notified_date": "2026-11-25",
    "address": {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": "5番1号"},
    "previous_address": {"street": "霞が関二丁目1番2号", "prefecture": "東京都", "municipality": "千代田区"},
    "members": [
        {"name": NAME, "birth_date": "1990-04-01", "sex": "female", "relationship": "世帯主",
         "koseki": KOSEKI, "resident_code": "12345678903"},
        {"name": NAME | {"given_name": "ヴァン", "given_name_kana": "ヴァン"}, "birth_date": "1995-05-05",
         "sex": "male", "relationship": "同居人", "foreign_resident": FOREIGN.model_dump(mode="json")},
    ],
}  # fmt: skip
DATED = {"effective_date": "2026-11-20", "notified_date": "2026-11-25"}
GUARDED_KINDS: list[dict[str, Any]] = [
    MOVE_IN,
    DATED | {"kind": "birth", "household_id": HOUSEHOLD, "name": NAME, "sex": "female", "relationship": "子",
             "koseki": KOSEKI},
    DATED | {"kind": "foreign_resident_change", "person_id": HEAD, "reason": "status_change",
             "foreign_resident": FOREIGN.model_dump(mode="json")},
    DATED | {"kind": "foreign_resident_change", "person_id": HEAD, "reason": "naturalization", "koseki": KOSEKI},
    DATED | {"kind": "correction", "basis": "error", "person_id": HEAD, "changes": {"koseki": KOSEKI},
             "reason": "戸籍の通知"},
]  # fmt: skip


def guarded_values(value: object) -> list[str]:
    """Every guarded value left in a dumped movement, wherever it sits."""
    if isinstance(value, dict):
        found = [f"{k}={v}" for k, v in value.items() if k in ("resident_code", "koseki") and v]
        found += [f"{k}={v}" for k, v in value.items() if k == "previous_resident_codes" and v]
        found += [f"{k}={v}" for k, v in value.items() if k in STATUS_ITEMS and v is not None]
        return found + [hit for v in value.values() for hit in guarded_values(v)]
    if isinstance(value, list):
        return [hit for v in value for hit in guarded_values(v)]
    return []


STATUS_ITEMS = ("residence_status_code", "period_of_stay", "expiry_date", "card_number")


@pytest.mark.parametrize("body", GUARDED_KINDS, ids=lambda body: f"{body['kind']}")
def test_a_movement_is_shown_with_the_guarded_items_of_its_notice_blanked(body: dict[str, Any]) -> None:
    stored = movement(body)
    assert guarded_values(stored.model_dump(mode="json")), "the case carries guarded items"
    seen = visible_movement(stored, ROLE_PERMISSIONS[Role.VIEWER])
    assert guarded_values(seen.model_dump(mode="json")) == []
    assert seen.model_copy(update={"command": stored.command}) == stored, "only the notice is blanked"
    assert visible_movement(stored, ROLE_PERMISSIONS[Role.APPROVER]) is stored
    assert guarded_values(stored.model_dump(mode="json")), "the stored movement is not changed"


def test_a_clerk_sees_koseki_and_residence_status_in_a_move_in_but_not_the_resident_code() -> None:
    stored = movement(MOVE_IN)
    seen = visible_movement(stored, ROLE_PERMISSIONS[Role.CLERK])
    assert isinstance(seen.command, MoveIn)
    first, second = seen.command.members
    assert (first.resident_code, first.koseki) == (None, KosekiDomicile.model_validate(KOSEKI))
    assert second.foreign_resident == FOREIGN
    assert isinstance(stored.command, MoveIn)
    assert [m.name for m in seen.command.members] == [m.name for m in stored.command.members]


def test_a_viewer_keeps_the_foreign_category_and_nationality_in_a_notice() -> None:
    seen = visible_movement(movement(MOVE_IN), ROLE_PERMISSIONS[Role.VIEWER])
    assert isinstance(seen.command, MoveIn)
    foreign = seen.command.members[1].foreign_resident
    assert foreign is not None and (foreign.category, foreign.nationality) == (FOREIGN.category, "中国")
    assert foreign.card_number is None


def _named_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[tuple[str, str, object]]:
    """(model, field, annotation) for every field of every model reachable from ``model``."""
    if model in seen:
        return []
    seen.add(model)
    found: list[tuple[str, str, object]] = []
    for name, info in model.model_fields.items():
        found.append((model.__name__, name, info.annotation))
        for inner in _models_in(info.annotation):
            found += _named_fields(inner, seen)
    return found


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _mentions(annotation: object, target: object) -> bool:
    if annotation is target:
        return True
    metadata = getattr(annotation, "__metadata__", ())
    if any(getattr(m, "func", None) is target for m in metadata):
        return True
    return any(_mentions(arg, target) for arg in get_args(annotation))


def test_every_guarded_item_in_a_notice_is_named_as_the_masking_expects() -> None:
    """visible_movement finds the items by field name (and 在留資格 by its type): a notice that
    carried one under another name would leak it, so this fails first."""
    fields = [f for model in _models_in(MovementCommand) for f in _named_fields(model, set())]
    koseki = {name for _, name, annotation in fields if _mentions(annotation, KosekiDomicile)}
    codes = {name for _, name, annotation in fields if _mentions(annotation, values_module._resident_code)}
    assert koseki == {"koseki"}
    assert codes == {"resident_code"}
