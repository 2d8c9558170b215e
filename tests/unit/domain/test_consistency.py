"""整合性確認: what counts as a difference between the ledger and the CS, and that a difference
never carries a value."""

from __future__ import annotations

from typing import Any

from juki.domain.consistency import ITEMS, Held, Kind, compare_person, summarise, valid_run_id

NUMBER = "123456789018"


def ledger(**changes: Any) -> dict[str, Any]:
    person = {
        "person_id": "000000123",
        "resident_code": "12345678901",
        "name": "駿河　花子",
        "name_kana": "スルガ　ハナコ",
        "birth_date": "1990-04-01",
        "sex": "female",
        "address": "静岡市葵区追手町9番6号",
        "status": "resident",
    }
    return {**person, **changes}


def cs_of(person: dict[str, Any], my_number: str | None = NUMBER, **changes: Any) -> dict[str, Any]:
    return {**person, "my_number": my_number, **changes}


def test_the_same_record_on_both_sides_is_no_difference() -> None:
    person = ledger()
    assert compare_person(person, NUMBER, cs_of(person)) == []


def test_each_item_that_differs_is_named_with_the_kind_of_value_each_side_holds() -> None:
    person = ledger()
    found = compare_person(person, NUMBER, cs_of(person, name="駿河　花", address=""))
    assert [(d.kind, d.item, d.ledger, d.cs) for d in found] == [
        (Kind.ITEM, "name", Held.VALUE, Held.VALUE),
        (Kind.ITEM, "address", Held.VALUE, Held.EMPTY),
    ]
    assert all(d.code_tail == "8901" for d in found)


def test_the_my_number_is_compared_as_opened() -> None:
    person = ledger()
    other = compare_person(person, NUMBER, cs_of(person, my_number="987654321096"))
    absent = compare_person(person, None, cs_of(person))
    assert [(d.item, d.ledger, d.cs) for d in other] == [("my_number", Held.VALUE, Held.VALUE)]
    assert [(d.item, d.ledger, d.cs) for d in absent] == [("my_number", Held.EMPTY, Held.VALUE)]


def test_a_resident_the_cs_lacks_is_missing_on_the_cs_but_a_removed_one_is_not() -> None:
    assert [d.kind for d in compare_person(ledger(), None, None)] == [Kind.MISSING_ON_CS]
    assert compare_person(ledger(status="removed"), None, None) == []


def test_a_person_the_cs_counts_as_resident_but_the_ledger_removed_is_missing_in_the_ledger() -> None:
    person = ledger(status="removed")
    found = compare_person(person, NUMBER, cs_of(person, status="resident"))
    assert [(d.kind, d.item) for d in found] == [(Kind.MISSING_IN_LEDGER, "status")]


def test_a_resident_without_a_code_cannot_be_checked_and_is_reported() -> None:
    found = compare_person(ledger(resident_code=None), None, None)
    assert [(d.kind, d.code_tail) for d in found] == [(Kind.NO_RESIDENT_CODE, None)]


def test_a_difference_holds_no_value() -> None:
    person = ledger()
    theirs = cs_of(
        person, my_number="987654321096", **{item: "別の値" for item in ITEMS if item != "my_number"}
    )
    text = " ".join(d.model_dump_json() for d in compare_person(person, NUMBER, theirs))
    for value in (*person.values(), NUMBER, "987654321096", "別の値"):
        if value not in {"resident", "female"}:  # status and sex words are also item names' values
            assert str(value) not in text or str(value) == person["person_id"]


def test_the_report_is_ordered_and_counted() -> None:
    first = compare_person(ledger(person_id="000000200"), None, None)
    second = compare_person(ledger(), NUMBER, cs_of(ledger(), name="x", sex="male"))
    report = summarise("run-1", 2, 1, first + second)
    assert [d.person_id for d in report.differences] == ["000000123", "000000123", "000000200"]
    assert report.by_kind == {"item": 2, "missing_on_cs": 1}
    assert report.by_item == {"name": 1, "sex": 1}


def test_run_ids_are_safe_in_keys() -> None:
    assert valid_run_id("consistency-check-20260105T160000Z")
    assert not valid_run_id("../other")
    assert not valid_run_id("")
