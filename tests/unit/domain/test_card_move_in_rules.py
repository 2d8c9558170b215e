"""The entry rules of a card move-in (特例転入) against the 転出証明書情報 it claims (pure domain)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from juki.domain import movements as rules
from juki.domain.codes import resident_code_check_digit
from juki.domain.retention import (
    HeldCertificate,
    MoveOutCertificate,
    MoveOutCertificateClaim,
    RetentionPolicy,
)
from ledger_fixtures import NOW, TODAY, commands, movement, plan
from pydantic import ValidationError

POLICY = RetentionPolicy()
CERTIFICATE_ID = "cs-2026-000123"
MOVEMENT_ID = "c" * 32
KOSEKI = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "駿河一郎"}
PREVIOUS = {"prefecture": "神奈川県", "municipality": "横浜市中区", "street": "日本大通1番地"}
ADDRESS = {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": "9番9号"}
HEAD_CODE, WIFE_CODE = "12345678903", "98765432103"
OTHER_CODE = f"1111111111{resident_code_check_digit('1111111111')}"


def name(given: str, kana: str) -> dict[str, str]:
    return {"family_name": "駿河", "given_name": given, "family_name_kana": "スルガ", "given_name_kana": kana}


def certificate(planned: date = TODAY - timedelta(days=5), **changes: Any) -> MoveOutCertificate:
    return MoveOutCertificate.model_validate(
        {
            "certificate_id": CERTIFICATE_ID,
            "from_municipality_code": "141003",
            "persons": [
                {"name": name("一郎", "イチロウ"), "birth_date": "1980-04-01", "sex": "male",
                 "resident_code": HEAD_CODE, "relationship": "世帯主", "head_of_household": True},
                {"name": name("花子", "ハナコ"), "birth_date": "1982-05-03", "sex": "female",
                 "resident_code": WIFE_CODE, "relationship": "妻"},
            ],
            "previous_address": PREVIOUS,
            "planned_destination": {"prefecture": "静岡県", "municipality": "静岡市葵区", "street": "追手町9番9号"},
            "planned_date": planned.isoformat(),
        }
        | changes
    )  # fmt: skip


def held(planned: date = TODAY - timedelta(days=5)) -> HeldCertificate:
    return HeldCertificate(certificate_id=CERTIFICATE_ID, certificate=certificate(planned), claim=None)


def claimed(by: str) -> HeldCertificate:
    claim = MoveOutCertificateClaim(certificate_id=CERTIFICATE_ID, claimed_at=NOW, claimed_by=by)
    return HeldCertificate(certificate_id=CERTIFICATE_ID, certificate=None, claim=claim)


def member(given: str = "一郎", kana: str = "イチロウ", **extra: Any) -> dict[str, Any]:
    return {
        "name": name(given, kana),
        "birth_date": extra.pop("birth_date", "1980-04-01"),
        "sex": extra.pop("sex", "male"),
        "relationship": extra.pop("relationship", "世帯主"),
        "koseki": KOSEKI,
        "resident_code": extra.pop("resident_code", HEAD_CODE),
        **extra,
    }


def wife(**extra: Any) -> dict[str, Any]:
    given = {"birth_date": "1982-05-03", "sex": "female", "relationship": "妻", "resident_code": WIFE_CODE}
    return member("花子", "ハナコ", **(given | extra))


def card_move_in(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "move_in",
        "move_in_type": "card",
        "move_out_certificate_id": CERTIFICATE_ID,
        "effective_date": (TODAY - timedelta(days=2)).isoformat(),
        "notified_date": TODAY.isoformat(),
        "address": ADDRESS,
        "previous_address": PREVIOUS,
        "members": [member(), wife()],
    } | overrides


def found(
    body: dict[str, Any],
    certificate_held: HeldCertificate | None,
    movement_id: str | None = None,
    today: date = TODAY,
) -> list[tuple[str, str | None]]:
    command = commands.validate_python(body)
    issues = rules.check_card_move_in(command, certificate_held, movement_id, today, POLICY)
    assert all(issue.severity == "error" for issue in issues)
    return [(issue.code, issue.field) for issue in issues]


def test_a_card_move_in_that_agrees_with_its_certificate_passes() -> None:
    assert found(card_move_in(), held()) == []
    assert found(card_move_in(members=[wife()]), held()) == []  # the head may move in later, on his own
    # Kana typed half-width or in hiragana are normalised by the model: the same reading.
    hiragana = member()
    hiragana["name"] = {**hiragana["name"], "given_name_kana": "いちろう"}
    assert found(card_move_in(members=[hiragana, wife()]), held()) == []


def test_the_certificate_must_be_named_for_a_card_move_in_and_only_for_it() -> None:
    with pytest.raises(ValidationError, match="move_out_certificate_id"):
        commands.validate_python(card_move_in(move_out_certificate_id=None))
    with pytest.raises(ValidationError, match="特例転入"):
        commands.validate_python(card_move_in(move_in_type="domestic"))
    with pytest.raises(ValidationError, match="move_out_certificate_id"):
        commands.validate_python(card_move_in(move_out_certificate_id="not an id!"))
    domestic = {
        k: v for k, v in card_move_in(move_in_type="domestic").items() if k != "move_out_certificate_id"
    }
    command = commands.validate_python(domestic)
    assert rules.move_out_certificate_id(command) is None
    assert rules.check_card_move_in(command, None, None, TODAY, POLICY) == []  # nothing to claim


def test_a_certificate_never_received_or_purged_is_not_found() -> None:
    assert found(card_move_in(), None) == [("MOVE_OUT_CERTIFICATE_NOT_FOUND", "move_out_certificate_id")]


def test_a_certificate_claimed_by_another_movement_is_refused_but_not_by_this_one() -> None:
    assert found(card_move_in(), claimed("d" * 32), MOVEMENT_ID) == [
        ("MOVE_OUT_CERTIFICATE_CLAIMED", "move_out_certificate_id")
    ]
    assert found(card_move_in(), claimed("d" * 32)) == [  # at entry the movement has no id yet
        ("MOVE_OUT_CERTIFICATE_CLAIMED", "move_out_certificate_id")
    ]
    assert found(card_move_in(), claimed(MOVEMENT_ID), MOVEMENT_ID) == []  # its own commit went through


@pytest.mark.parametrize(
    ("days_after_planned", "expired"),
    [(-3, False), (0, False), (30, False), (31, True), (90, True)],
)
def test_the_period_ends_thirty_days_after_the_planned_date(days_after_planned: int, expired: bool) -> None:
    planned = TODAY - timedelta(days=days_after_planned)
    expected = [("MOVE_OUT_CERTIFICATE_EXPIRED", "move_out_certificate_id")] if expired else []
    assert found(card_move_in(), held(planned)) == expected


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        (member(birth_date="1980-04-02"), "members[0]"),
        (member(sex="female"), "members[0]"),
        (member("一朗"), "members[0]"),  # another kanji, the same reading
        (member(kana="イチロ"), "members[0]"),  # the same kanji, another reading
        (member(resident_code=OTHER_CODE), "members[0]"),
        (member(resident_code=None), "members[0]"),
    ],
)
def test_every_member_must_be_a_person_of_the_certificate_with_its_code(
    changed: dict[str, Any], field: str
) -> None:
    assert found(card_move_in(members=[changed, wife()]), held()) == [
        ("MOVE_OUT_CERTIFICATE_MISMATCH", field)
    ]


def test_a_member_not_on_the_certificate_is_refused_and_nobody_is_matched_twice() -> None:
    child = member("次郎", "ジロウ", birth_date="2012-06-06", relationship="子", resident_code=None)
    assert found(card_move_in(members=[member(), wife(), child]), held()) == [
        ("MOVE_OUT_CERTIFICATE_MISMATCH", "members[2]")
    ]
    twin = wife(relationship="子")
    assert found(card_move_in(members=[member(), wife(), twin]), held()) == [
        ("MOVE_OUT_CERTIFICATE_MISMATCH", "members[2]")
    ]


def test_the_previous_address_must_be_the_certificates() -> None:
    elsewhere = PREVIOUS | {"street": "日本大通2番地"}
    assert found(card_move_in(previous_address=elsewhere), held()) == [
        ("MOVE_OUT_CERTIFICATE_MISMATCH", "previous_address")
    ]


def test_every_finding_is_reported_at_once() -> None:
    body = card_move_in(
        previous_address=PREVIOUS | {"street": "別の所"}, members=[member(sex="female"), wife()]
    )
    assert found(body, held(TODAY - timedelta(days=40))) == [
        ("MOVE_OUT_CERTIFICATE_EXPIRED", "move_out_certificate_id"),
        ("MOVE_OUT_CERTIFICATE_MISMATCH", "previous_address"),
        ("MOVE_OUT_CERTIFICATE_MISMATCH", "members[0]"),
    ]


def test_the_commit_claims_the_certificate_and_keeps_the_codes_brought() -> None:
    body = card_move_in()
    approved = movement(body, MOVEMENT_ID)
    at = datetime(2026, 11, 26, 10, 0).astimezone()
    claim = rules.certificate_claim(approved, at)
    assert claim == MoveOutCertificateClaim(
        certificate_id=CERTIFICATE_ID, claimed_at=at, claimed_by=MOVEMENT_ID
    )
    domestic = {
        k: v for k, v in card_move_in(move_in_type="domestic").items() if k != "move_out_certificate_id"
    }
    assert rules.certificate_claim(movement(domestic), at) is None

    result = plan(body, new_persons=2)
    assert [p.resident_code for p in result.persons] == [HEAD_CODE, WIFE_CODE]
    assert result.codes_brought == [p.person_id for p in result.persons]
    assert result.code_needed == []
