"""Table-driven tests of the 転入 rules and the two-person rule."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from juki.domain import movements as rules
from juki.domain.errors import Conflict, Forbidden, RuleViolation
from juki.domain.model import MoveIn, Movement, MovementKind, MovementStatus, PersonRecord
from juki.domain.staff import Actor, Role
from pydantic import ValidationError

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def member(
    given: str = "太郎", kana: str = "タロウ", birth: str = "1980-04-01", **extra: Any
) -> dict[str, Any]:
    return {
        "name": {
            "family_name": "静岡",
            "given_name": given,
            "family_name_kana": "シズオカ",
            "given_name_kana": kana,
        },
        "birth_date": birth,
        "sex": extra.pop("sex", "male"),
        "relationship": extra.pop("relationship", "世帯主"),
        **extra,
    }


def move_in(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "move_in",
        "effective_date": "2026-11-20",
        "notified_date": "2026-11-26",
        "address": {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": "5番1号"},
        "previous_address": {
            "prefecture": "東京都",
            "municipality": "千代田区",
            "street": "霞が関二丁目1番2号",
        },
        "members": [
            member(),
            member("花子", "ハナコ", "1982-05-03", sex="female", relationship="妻"),
            member("一郎", "イチロウ", "2015-06-10", relationship="子"),
        ],
    }
    body.update(overrides)
    return body


def codes(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(i.code, i.severity, i.field) for i in rules.check_move_in(MoveIn.model_validate(body), TODAY)]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"effective_date": "2026-11-27", "notified_date": "2026-11-26"},
         [("FUTURE_EFFECTIVE_DATE", "error", "effective_date"),
          ("NOTIFIED_BEFORE_EFFECTIVE", "error", "notified_date")]),
        ({"notified_date": "2026-11-27"}, [("FUTURE_NOTIFIED_DATE", "error", "notified_date")]),
        ({"effective_date": "2026-11-11"}, [("LATE_NOTIFICATION", "alert", "notified_date")]),
        ({"effective_date": "2026-11-12"}, []),  # exactly 14 days: on time
        ({"members": [member(relationship="妻", sex="female")]}, [("HEAD_MISSING", "error", "members")]),
        ({"members": [member(), member("次郎", "ジロウ", "1985-01-01")]},
         [("HEAD_DUPLICATED", "error", "members[1].relationship")]),
        ({"members": [member(), member("一郎", "イチロウ", "2026-11-21", relationship="子")]},
         [("BIRTH_AFTER_EFFECTIVE", "error", "members[1].birth_date")]),
        ({"members": [member(), member(relationship="子")]},
         [("DUPLICATE_MEMBER", "error", "members[1]")]),  # the same name, birth date and sex twice
        ({"members": [member(), member(kana="ダロウ", relationship="子")]}, []),  # twins may sound alike
    ],
)  # fmt: skip
def test_move_in_checks(overrides: dict[str, Any], expected: list[tuple[str, str, str | None]]) -> None:
    assert codes(move_in(**overrides)) == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"members": []}, "members"),
        ({"members": [member(kana="taro")]}, "members"),
        ({"members": [member(relationship="友人")]}, "members"),
        (
            {"address": {"postal_code": "4200853", "ward": "葵区", "town": "追手町", "lot": "5番1号"}},
            "address",
        ),
        ({"effective_date": "2026-13-01"}, "effective_date"),
        ({"kind": "move_out"}, "kind"),
        ({"unknown": 1}, "unknown"),
        ({"members": [member(sex="other")]}, "members"),
    ],
)
def test_format_errors_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        MoveIn.model_validate(move_in(**overrides))
    assert raised.value.errors()[0]["loc"][0] == field


def test_kana_is_normalised_to_full_width_katakana() -> None:
    command = MoveIn.model_validate(move_in(members=[member(kana="たろう")]))
    assert command.members[0].name.given_name_kana == "タロウ"


def test_alerts_do_not_block() -> None:
    issues = rules.check_move_in(MoveIn.model_validate(move_in(effective_date="2026-10-01")), TODAY)
    assert [i.code for i in rules.raise_on_errors(issues)] == ["LATE_NOTIFICATION"]


def draft(entered_by: str = "S1001") -> Movement:
    return Movement(
        movement_id="m" * 32,
        kind=MovementKind.MOVE_IN,
        status=MovementStatus.DRAFT,
        command=MoveIn.model_validate(move_in()),
        entered_by=entered_by,
        entered_at=NOW,
        office="葵区役所",
        terminal="T1",
    )


def actor(staff_id: str, *roles: Role) -> Actor:
    return Actor(staff_id, frozenset(roles), "葵区役所", "T2", "caller", "request")


def test_a_different_approver_approves() -> None:
    approved = rules.approve(draft(), actor("S2001", Role.APPROVER), "a1", NOW)
    assert (approved.status, approved.approved_by, approved.approval_id) == ("approved", "S2001", "a1")


@pytest.mark.parametrize(
    ("movement", "who", "error", "code"),
    [
        (draft("S2001"), actor("S2001", Role.APPROVER, Role.CLERK), Forbidden, "SELF_APPROVAL"),
        (draft(), actor("S3001", Role.VIEWER), Forbidden, "PERMISSION_DENIED"),
        (draft(), actor("S1002", Role.CLERK), Forbidden, "PERMISSION_DENIED"),
        (draft().model_copy(update={"status": MovementStatus.FINAL}), actor("S2001", Role.APPROVER),
         Conflict, "MOVEMENT_NOT_DRAFT"),
    ],
)  # fmt: skip
def test_approval_refusals(movement: Movement, who: Actor, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as raised:
        rules.approve(movement, who, "a1", NOW)
    assert getattr(raised.value, "code", None) == code


def test_plan_writes_version_one_of_each_record() -> None:
    movement = draft()
    plan = rules.plan_move_in(movement, ["0000000019", "0000000027", "0000000035"], "0000000019", NOW)
    assert [p.version for p in plan.persons] == [1, 1, 1]
    assert [p.relationship for p in plan.persons] == ["世帯主", "妻", "子"]
    household = plan.households[0]
    assert household.head_person_id == "0000000019"
    assert household.member_ids == ["0000000019", "0000000027", "0000000035"]
    assert all(
        p.household_id == "0000000019" and p.resident_since == date(2026, 11, 20) for p in plan.persons
    )
    final = rules.finalise(movement, plan)
    assert final.status == MovementStatus.FINAL
    assert final.result is not None and final.result.household_id == "0000000019"


def resident(kana: str = "タロウ", status: str = "resident", **changes: Any) -> PersonRecord:
    plan = rules.plan_move_in(draft(), ["0000000019", "0000000027", "0000000035"], "0000000019", NOW)
    person = plan.persons[0]
    name = person.name.model_copy(update={"given_name_kana": kana})
    return person.model_copy(update={"name": name, "status": status, **changes})


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (resident(), [("ALREADY_RESIDENT", "error", "members[0]")]),
        (resident(kana="ダロウ"), [("POSSIBLY_RESIDENT", "alert", "members[0]")]),  # sounds alike: check
        (resident(sex="female"), [("POSSIBLY_RESIDENT", "alert", "members[0]")]),
        (resident(status="removed"), []),  # a removed record is not a resident
    ],
)
def test_already_resident(candidate: PersonRecord, expected: list[tuple[str, str, str]]) -> None:
    command = MoveIn.model_validate(move_in())
    candidates = {rules.member_identity(command.members[0]): [candidate]}
    issues = rules.check_not_resident(command, candidates)
    assert [(i.code, i.severity, i.field) for i in issues] == expected
    assert all("0000000019" not in i.message for i in issues)  # the message never names a resident


def test_already_resident_blocks() -> None:
    command = MoveIn.model_validate(move_in())
    issues = rules.check_not_resident(command, {rules.member_identity(command.members[0]): [resident()]})
    with pytest.raises(RuleViolation) as raised:
        rules.raise_on_errors(issues)
    assert raised.value.code == "ALREADY_RESIDENT"
