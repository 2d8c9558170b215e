"""Table-driven tests of every movement's checks and of the versions it plans (pure domain)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from juki.domain import movements as rules
from juki.domain.errors import Conflict, Forbidden, RuleViolation
from juki.domain.model import MovementResult, MovementStatus
from juki.domain.movements import LedgerView
from juki.domain.records import Removal
from juki.domain.staff import Actor, Role
from juki.domain.values import HouseholdStatus, RemovalReason, ResidentStatus, Sex
from ledger_fixtures import (
    ADDRESS,
    CHILD,
    HEAD,
    HOUSEHOLD,
    NEW_ADDRESS,
    NOW,
    TODAY,
    WIFE,
    apply,
    commands,
    family,
    issues,
    movement,
    person,
    plan,
)
from pydantic import ValidationError

ADDRESS_JSON = ADDRESS.model_dump(mode="json")
NEW_ADDRESS_JSON = NEW_ADDRESS.model_dump(mode="json")
KOSEKI = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "静岡太郎"}
PREVIOUS = {"prefecture": "東京都", "municipality": "千代田区", "street": "霞が関二丁目1番2号"}


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
        "koseki": KOSEKI,
        **extra,
    }


def move_in(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "move_in", "effective_date": "2026-11-20", "notified_date": "2026-11-26",
        "address": NEW_ADDRESS_JSON, "previous_address": PREVIOUS,
        "members": [member(), member("花子", "ハナコ", "1982-05-03", sex="female", relationship="妻")],
    }  # fmt: skip
    return body | overrides


def dated(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "effective_date": "2026-11-20", "notified_date": "2026-11-25"} | fields


# -- 転入 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"effective_date": "2026-11-27", "notified_date": "2026-11-26"},
         [("FUTURE_EFFECTIVE_DATE", "error", "effective_date"), ("NOTIFIED_BEFORE_EFFECTIVE", "error", "notified_date")]),
        ({"notified_date": "2026-11-27"}, [("FUTURE_NOTIFIED_DATE", "error", "notified_date")]),
        ({"effective_date": "2026-11-11"}, [("LATE_NOTIFICATION", "alert", "notified_date")]),
        ({"effective_date": "2026-11-12"}, []),  # exactly 14 days: on time
        ({"members": [member(relationship="妻", sex="female")]}, [("HEAD_MISSING", "error", "members")]),
        ({"members": [member(), member("次郎", "ジロウ", "1985-01-01")]}, [("HEAD_DUPLICATED", "error", "members[1].relationship")]),
        ({"members": [member(), member("一郎", "イチロウ", "2026-11-21", relationship="子")]},
         [("BIRTH_AFTER_EFFECTIVE", "error", "members[1].birth_date")]),
        ({"members": [member(), member(relationship="子")]}, [("DUPLICATE_MEMBER", "error", "members[1]")]),
        ({"members": [member(), member(kana="ダロウ", relationship="子")]}, []),  # twins may sound alike
        ({"join_household_id": HOUSEHOLD, "address": ADDRESS_JSON, "members": [member(relationship="同居人")]}, []),
        ({"join_household_id": HOUSEHOLD, "address": ADDRESS_JSON}, [("HEAD_DUPLICATED", "error", "members[0].relationship")]),
        ({"join_household_id": HOUSEHOLD, "members": [member(relationship="同居人")]}, [("ADDRESS_MISMATCH", "error", "address")]),
        ({"join_household_id": "0000000043", "members": [member(relationship="同居人")]},
         [("HOUSEHOLD_NOT_FOUND", "error", "join_household_id")]),
    ],
)  # fmt: skip
def test_move_in_checks(overrides: dict[str, Any], expected: list[tuple[str, str, str | None]]) -> None:
    assert issues(move_in(**overrides)) == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"members": []}, "members"),
        ({"members": [member(kana="taro")]}, "members"),
        ({"members": [member(relationship="友人")]}, "members"),
        ({"address": {**NEW_ADDRESS_JSON, "postal_code": "4200853"}}, "address"),
        ({"effective_date": "2026-13-01"}, "effective_date"),
        ({"move_in_type": "teleport"}, "move_in_type"),
        ({"unknown": 1}, "unknown"),
        ({"members": [member(sex="other")]}, "members"),
    ],
)
def test_format_errors_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        commands.validate_python(move_in(**overrides))
    assert field in [str(part) for part in raised.value.errors()[0]["loc"]]


def test_a_new_household_moves_in() -> None:
    result = plan(move_in(), LedgerView(), new_persons=2)
    (household,) = result.households
    assert [p.version for p in result.persons] == [1, 1]
    assert household.head_person_id == result.persons[0].person_id
    assert household.member_ids == [p.person_id for p in result.persons]
    assert {p.resident_since for p in result.persons} == {date(2026, 11, 20)}
    assert [p.person_id for p in result.new_identities] == household.member_ids


def test_joining_an_existing_household() -> None:
    result = plan(move_in(join_household_id=HOUSEHOLD, address=ADDRESS_JSON, members=[member(relationship="同居人")]),
                  new_persons=1, new_households=0)  # fmt: skip
    (household,) = result.households
    assert (household.version, household.member_ids[-1]) == (2, result.persons[0].person_id)
    assert result.persons[0].household_id == HOUSEHOLD


def test_a_returning_resident_keeps_the_old_person_id() -> None:
    view = family()
    removal = Removal(reason=RemovalReason.MOVE_OUT, removed_on=date(2021, 1, 1))
    gone = view.persons[WIFE].model_copy(update={"status": ResidentStatus.REMOVED, "removal": removal})
    view = LedgerView(persons={WIFE: gone}, households={})
    body = move_in(
        members=[{**member("築山", "ツキヤマ", "1977-03-03", sex="female"), "previous_person_id": WIFE}]
    )
    body["members"][0]["name"]["family_name"] = "駿府"
    body["members"][0]["name"]["family_name_kana"] = "スンプ"
    assert issues(body, view) == []
    result = plan(body, view, new_persons=0)
    (returned,) = result.persons
    assert (returned.person_id, returned.version, returned.status) == (WIFE, 2, ResidentStatus.RESIDENT)
    assert result.new_identities == [returned]  # filed again, perhaps under a new reading


def test_only_a_moved_out_record_can_return() -> None:
    dead = (
        family()
        .persons[WIFE]
        .model_copy(
            update={
                "status": ResidentStatus.REMOVED,
                "removal": Removal(reason=RemovalReason.DEATH, removed_on=date(2021, 1, 1)),
            }
        )
    )
    body = move_in(
        members=[{**member("築山", "ツキヤマ", "1977-03-03", sex="female"), "previous_person_id": WIFE}]
    )
    assert ("NOT_RETURNABLE", "error", "members[0].previous_person_id") in issues(
        body, LedgerView(persons={WIFE: dead})
    )


def test_a_movement_may_not_take_effect_before_any_record_it_writes() -> None:
    """The wife's record changed on 2026-11-20; a head change dated before it would rewrite her
    relationship with an earlier effective date: refused, though the household itself is older."""
    view = family()
    later = view.persons[WIFE].model_copy(update={"effective_date": date(2026, 11, 20), "version": 2})
    view = LedgerView(persons={**view.persons, WIFE: later}, households=view.households)
    body = dated("head_change", effective_date="2026-11-10", notified_date="2026-11-10", household_id=HOUSEHOLD,
                 new_head_person_id=CHILD, relationships={HEAD: "父", WIFE: "母"})  # fmt: skip
    with pytest.raises(RuleViolation) as raised:
        rules.plan(movement(body), view, [], [], NOW)
    assert raised.value.code == "EFFECTIVE_BEFORE_LAST_CHANGE"


def test_duplicate_people_in_a_notice_are_refused() -> None:
    with pytest.raises(ValidationError):
        commands.validate_python(dated("household_split", household_id=HOUSEHOLD, person_ids=[CHILD, CHILD],
                                       new_head_person_id=CHILD))  # fmt: skip


def test_the_heads_relationship_changes_only_by_head_change() -> None:
    body = dated("correction", basis="error", person_id=HEAD, reason="誤り", changes={"relationship": "子"})
    assert ("HEAD_CHANGE_REQUIRED", "error", "changes.relationship") in issues(body)


def test_returning_as_someone_still_resident_is_an_error() -> None:
    body = move_in(members=[{**member(), "previous_person_id": WIFE}])
    assert ("ALREADY_RESIDENT", "error", "members[0]") in issues(body)


# -- identity --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, [("ALREADY_RESIDENT", "error", "members[0]")]),
        ({"name": "ダロウ"}, [("POSSIBLY_RESIDENT", "alert", "members[0]")]),  # sounds alike: check
        ({"sex": Sex.FEMALE}, [("POSSIBLY_RESIDENT", "alert", "members[0]")]),
        ({"status": ResidentStatus.REMOVED}, []),  # a removed record is not a resident
    ],
)
def test_already_resident(changes: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    kana = changes.pop("name", "タロウ")
    resident = person("0000000043", "太郎", kana, "1980-04-01", Sex.MALE, "世帯主").model_copy(update=changes)
    name = resident.name.model_copy(update={"family_name": "静岡", "family_name_kana": "シズオカ"})
    resident = resident.model_copy(update={"name": name})
    command = commands.validate_python(move_in())
    claims = rules.identity_claims(command, LedgerView())
    found = rules.check_not_resident(claims, {claims[0].key: [resident]})
    assert [(i.code, i.severity, i.field) for i in found] == expected
    assert all("0000000043" not in i.message for i in found)  # the message never names a resident


def test_errors_block_and_alerts_do_not() -> None:
    late = rules.check(commands.validate_python(move_in(effective_date="2026-10-01")), LedgerView(), TODAY)
    assert [i.code for i in rules.raise_on_errors(late)] == ["LATE_NOTIFICATION"]
    future = rules.check(commands.validate_python(move_in(effective_date="2026-12-01")), LedgerView(), TODAY)
    with pytest.raises(RuleViolation) as raised:
        rules.raise_on_errors([*late, *future])
    assert raised.value.code == "FUTURE_EFFECTIVE_DATE"


# -- 転居 -------------------------------------------------------------------------------------------


def in_city_move(**fields: Any) -> dict[str, Any]:
    return dated("in_city_move", person_ids=[HEAD, WIFE, CHILD], address=NEW_ADDRESS_JSON,
                 destination={"mode": "same_household"}) | fields  # fmt: skip


def test_a_whole_household_moves_within_the_city() -> None:
    result = plan(in_city_move())
    assert {p.address for p in result.persons} == {NEW_ADDRESS}
    assert {p.address_since for p in result.persons} == {date(2026, 11, 20)}
    assert {p.version for p in result.persons} == {2}
    (household,) = result.households
    assert (household.address, household.member_ids, household.version) == (
        NEW_ADDRESS,
        [HEAD, WIFE, CHILD],
        2,
    )
    for before, after in zip(family().persons.values(), result.persons, strict=True):
        assert (after.name, after.birth_date, after.relationship) == (
            before.name,
            before.birth_date,
            before.relationship,
        )


def test_part_of_a_household_moves_into_a_new_household() -> None:
    body = in_city_move(person_ids=[CHILD], destination={"mode": "new_household", "head_person_id": CHILD})
    result = plan(body)
    original = next(h for h in result.households if h.household_id == HOUSEHOLD)
    new = next(h for h in result.households if h.household_id != HOUSEHOLD)
    assert (original.member_ids, original.head_person_id) == ([HEAD, WIFE], HEAD)
    assert (new.member_ids, new.head_person_id, new.address) == ([CHILD], CHILD, NEW_ADDRESS)
    (child,) = result.persons
    assert (child.household_id, child.relationship) == (new.household_id, "世帯主")


def test_the_head_moving_away_leaves_a_household_without_a_head() -> None:
    body = in_city_move(person_ids=[HEAD], destination={"mode": "new_household", "head_person_id": HEAD})
    original = next(h for h in plan(body).households if h.household_id == HOUSEHOLD)
    assert (original.head_person_id, original.status) == (None, HouseholdStatus.ACTIVE)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"person_ids": [HEAD]}, ("NOT_WHOLE_HOUSEHOLD", "error", "destination")),
        ({"address": ADDRESS_JSON}, ("SAME_ADDRESS", "error", "address")),
        ({"person_ids": ["0000000043"]}, ("PERSON_NOT_FOUND", "error", "person_ids[0]")),
        ({"person_ids": [CHILD], "destination": {"mode": "new_household", "head_person_id": HEAD}},
         ("HEAD_NOT_MOVING", "error", "destination.head_person_id")),
        ({"person_ids": [CHILD, WIFE], "destination": {"mode": "new_household", "head_person_id": WIFE}},
         ("RELATIONSHIPS_INCOMPLETE", "error", "relationships")),
        ({"effective_date": "2019-01-01", "notified_date": "2019-01-05"},
         ("EFFECTIVE_BEFORE_LAST_CHANGE", "error", "effective_date")),
    ],
)  # fmt: skip
def test_in_city_move_checks(fields: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert expected in issues(in_city_move(**fields))


def test_an_in_city_move_changes_only_the_address() -> None:
    with pytest.raises(ValidationError) as raised:
        commands.validate_python(in_city_move(name={"family_name": "x"}))
    assert "住所だけ" in str(raised.value)


# -- 転出 and 転入通知 ------------------------------------------------------------------------------


def move_out(**fields: Any) -> dict[str, Any]:
    return {"kind": "move_out", "person_ids": [CHILD], "planned_date": "2026-12-08", "notified_date": "2026-11-25",
            "destination": PREVIOUS} | fields  # fmt: skip


def test_a_move_out_may_be_planned_ahead_and_removes_on_the_planned_date() -> None:
    assert issues(move_out()) == []
    result = plan(move_out())
    child = next(p for p in result.persons if p.person_id == CHILD)
    assert (child.status, child.effective_date) == (ResidentStatus.REMOVED, date(2026, 12, 8))
    assert child.removal is not None and child.removal.reason == RemovalReason.MOVE_OUT
    assert child.move_out is not None and child.move_out.confirmed_date is None
    (household,) = result.households
    assert household.member_ids == [HEAD, WIFE]


def test_the_last_member_leaving_dissolves_the_household() -> None:
    (household,) = plan(move_out(person_ids=[HEAD, WIFE, CHILD])).households
    assert (household.status, household.member_ids, household.head_person_id) == (
        HouseholdStatus.DISSOLVED,
        [],
        None,
    )


def test_a_move_in_notice_confirms_without_overwriting_the_plan() -> None:
    view = apply(family(), plan(move_out()))
    body = {"kind": "move_out_confirmation", "person_id": CHILD, "moved_in_date": "2026-12-05",
            "destination": {**PREVIOUS, "street": "丸の内一丁目1番1号"}, "notified_date": "2026-12-20"}  # fmt: skip
    found = rules.check(commands.validate_python(body), view, date(2026, 12, 21))
    assert found == []
    result = rules.plan(movement(body), view, [], [], NOW)
    (child,) = result.persons
    assert child.move_out is not None and child.removal is not None
    assert child.move_out.planned_destination.street == "霞が関二丁目1番2号"  # kept
    assert child.move_out.confirmed_destination is not None
    assert child.move_out.confirmed_destination.street == "丸の内一丁目1番1号"
    assert child.removal.removed_on == date(2026, 12, 5)  # the earlier of planned and moved-in


# -- 出生, 死亡, 世帯主変更, 世帯分離 -------------------------------------------------------------------


def test_a_birth_joins_the_household() -> None:
    body = dated("birth", effective_date="2026-11-20", household_id=HOUSEHOLD,
                 name={"family_name": "駿府", "given_name": "亀姫", "family_name_kana": "スンプ", "given_name_kana": "カメヒメ"},
                 sex="female", relationship="子", koseki=KOSEKI)  # fmt: skip
    result = plan(body, new_persons=1)
    (baby,) = result.new_identities
    assert (baby.birth_date, baby.address, baby.household_id) == (date(2026, 11, 20), ADDRESS, HOUSEHOLD)
    assert result.households[0].member_ids == [HEAD, WIFE, CHILD, baby.person_id]


def test_the_heads_death_leaves_the_household_headless() -> None:
    result = plan(dated("death", person_id=HEAD, notified_date="2026-11-21"))
    head = next(p for p in result.persons if p.person_id == HEAD)
    assert head.removal is not None and head.removal.reason == RemovalReason.DEATH
    assert result.households[0].head_person_id is None
    assert result.households[0].member_ids == [WIFE, CHILD]


def test_a_late_death_notice_is_an_alert() -> None:
    assert issues(dated("death", person_id=HEAD, effective_date="2026-11-10")) == [
        ("LATE_NOTIFICATION", "alert", "notified_date")
    ]


def test_head_change_restates_relationships() -> None:
    body = dated(
        "head_change",
        household_id=HOUSEHOLD,
        new_head_person_id=WIFE,
        relationships={HEAD: "夫", CHILD: "子"},
    )
    result = plan(body)
    assert result.households[0].head_person_id == WIFE
    assert {p.person_id: p.relationship for p in result.persons} == {
        HEAD: "夫",
        WIFE: "世帯主",
    }  # 子 unchanged


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"new_head_person_id": HEAD}, ("SAME_HEAD", "error", "new_head_person_id")),
        ({"new_head_person_id": "0000000043"}, ("HEAD_NOT_MEMBER", "error", "new_head_person_id")),
        ({"relationships": {HEAD: "夫"}}, ("RELATIONSHIPS_INCOMPLETE", "error", "relationships")),
    ],
)
def test_head_change_checks(fields: dict[str, Any], expected: tuple[str, str, str]) -> None:
    body = dated(
        "head_change",
        household_id=HOUSEHOLD,
        new_head_person_id=WIFE,
        relationships={HEAD: "夫", CHILD: "子"},
    )
    assert expected in issues(body | fields)


def test_household_split_at_the_same_address() -> None:
    body = dated("household_split", household_id=HOUSEHOLD, person_ids=[CHILD], new_head_person_id=CHILD)
    result = plan(body)
    new = next(h for h in result.households if h.household_id != HOUSEHOLD)
    assert (new.address, new.member_ids, new.head_person_id) == (ADDRESS, [CHILD], CHILD)


# -- 職権修正・誤記修正, 異動の取消し -------------------------------------------------------------------


def test_a_correction_changes_only_what_it_names_and_files_the_new_identity() -> None:
    body = dated("correction", basis="error", person_id=CHILD, reason="届書の誤記",
                 changes={"birth_date": "2010-03-15"})  # fmt: skip
    result = plan(body)
    (child,) = result.persons
    assert (child.birth_date, child.version, child.name) == (
        date(2010, 3, 15),
        2,
        family().persons[CHILD].name,
    )
    assert result.new_identities == [child]


def test_a_correction_that_changes_nothing_is_an_error() -> None:
    body = dated("correction", basis="ex_officio", person_id=CHILD, reason="確認", changes={"sex": "male"})
    assert ("NOTHING_CHANGES", "error", "changes") in issues(body)


def test_a_cancellation_restores_the_earlier_versions() -> None:
    before = family()
    moved = movement(in_city_move(), movement_id="c" * 32)
    result = rules.plan(moved, before, [], [], NOW)
    final = rules.finalise(moved, result)
    after = apply(before, result)
    view = LedgerView(
        persons=after.persons, households=after.households, cancelled=final.model_copy(update={"status": MovementStatus.FINAL}),
        earlier_persons=before.persons, earlier_households=before.households,
    )  # fmt: skip
    body = {
        "kind": "cancellation",
        "movement_id": "c" * 32,
        "notified_date": "2026-11-26",
        "reason": "誤って入力",
    }
    assert rules.check(commands.validate_python(body), view, TODAY) == []
    undone = rules.plan(movement(body), view, [], [], NOW)
    assert {p.address for p in undone.persons} == {ADDRESS}
    assert {p.version for p in undone.persons} == {3}
    assert undone.households[0].address == ADDRESS


def test_only_the_latest_movement_can_be_cancelled() -> None:
    view = family()
    cancelled = movement(in_city_move(), movement_id="c" * 32).model_copy(
        update={"status": MovementStatus.FINAL, "result": MovementResult(person_ids=[HEAD], household_ids=[])}
    )
    view = LedgerView(persons=view.persons, households=view.households, cancelled=cancelled)
    body = {"kind": "cancellation", "movement_id": "c" * 32, "notified_date": "2026-11-26", "reason": "誤り"}
    assert ("NOT_LATEST", "error", "movement_id") in issues(body, view)


# -- the two-person rule -----------------------------------------------------------------------------


def draft(entered_by: str = "S1001") -> Any:
    return movement(move_in()).model_copy(update={"status": MovementStatus.DRAFT, "entered_by": entered_by,
                                                  "approved_by": None, "approved_at": None, "approval_id": None})  # fmt: skip


def actor(staff_id: str, *roles: Role) -> Actor:
    return Actor(staff_id, frozenset(roles), "葵区役所", "T2", "caller", "request")


def test_a_different_approver_approves() -> None:
    approved = rules.approve(draft(), actor("S2001", Role.APPROVER), "a1", NOW)
    assert (approved.status, approved.approved_by, approved.approval_id) == ("approved", "S2001", "a1")


@pytest.mark.parametrize(
    ("entered_by", "who", "status", "error", "code"),
    [
        (
            "S2001",
            actor("S2001", Role.APPROVER, Role.CLERK),
            MovementStatus.DRAFT,
            Forbidden,
            "SELF_APPROVAL",
        ),
        ("S1001", actor("S3001", Role.VIEWER), MovementStatus.DRAFT, Forbidden, "PERMISSION_DENIED"),
        ("S1001", actor("S1002", Role.CLERK), MovementStatus.DRAFT, Forbidden, "PERMISSION_DENIED"),
        ("S1001", actor("S2001", Role.APPROVER), MovementStatus.FINAL, Conflict, "MOVEMENT_NOT_DRAFT"),
    ],
)
def test_approval_refusals(
    entered_by: str, who: Actor, status: MovementStatus, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as raised:
        rules.approve(draft(entered_by).model_copy(update={"status": status}), who, "a1", NOW)
    assert getattr(raised.value, "code", None) == code


def test_rejection_returns_the_draft_with_a_reason() -> None:
    rejected = rules.reject(draft(), actor("S2001", Role.APPROVER), "続柄の確認が必要", NOW)
    assert (rejected.status, rejected.rejection_reason) == (MovementStatus.REJECTED, "続柄の確認が必要")


# -- 世帯合併, 世帯変更, 通称・旧氏, 外国人住民, 職権記載・職権消除 ---------------------------------------


def two_households() -> LedgerView:
    """The 駿府 family and, at the same address, a lodger's household of one."""
    view = family()
    lodger = person(
        "0000000043", "三郎", "サブロウ", "1990-01-01", Sex.MALE, "世帯主", household_id="0000000027"
    )
    lodgings = view.households[HOUSEHOLD].model_copy(
        update={
            "household_id": "0000000027",
            "head_person_id": lodger.person_id,
            "member_ids": [lodger.person_id],
        }
    )
    return LedgerView(persons={**view.persons, lodger.person_id: lodger},
                      households={**view.households, "0000000027": lodgings})  # fmt: skip


def test_household_merge_moves_every_member_and_ends_the_household() -> None:
    body = dated("household_merge", from_household_id="0000000027", into_household_id=HOUSEHOLD,
                 relationships={"0000000043": "同居人"})  # fmt: skip
    view = two_households()
    assert issues(body, view) == []
    result = plan(body, view)
    ended = next(h for h in result.households if h.household_id == "0000000027")
    joined = next(h for h in result.households if h.household_id == HOUSEHOLD)
    assert (ended.status, ended.member_ids, ended.head_person_id) == (HouseholdStatus.DISSOLVED, [], None)
    assert joined.member_ids == [HEAD, WIFE, CHILD, "0000000043"]
    (lodger,) = result.persons
    assert (lodger.household_id, lodger.relationship) == (HOUSEHOLD, "同居人")


def test_household_change_moves_some_members() -> None:
    body = dated("household_change", person_ids=[CHILD], into_household_id="0000000027",
                 relationships={CHILD: "同居人"})  # fmt: skip
    view = two_households()
    assert issues(body, view) == []
    result = plan(body, view)
    source = next(h for h in result.households if h.household_id == HOUSEHOLD)
    target = next(h for h in result.households if h.household_id == "0000000027")
    assert (source.member_ids, target.member_ids) == ([HEAD, WIFE], ["0000000043", CHILD])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (dated("household_merge", from_household_id=HOUSEHOLD, into_household_id=HOUSEHOLD, relationships={}),
         ("SAME_HOUSEHOLD", "error", "into_household_id")),
        (dated("household_change", person_ids=[CHILD], into_household_id=HOUSEHOLD, relationships={CHILD: "子"}),
         ("SAME_HOUSEHOLD", "error", "into_household_id")),
        (dated("household_change", person_ids=[CHILD, "0000000043"], into_household_id="0000000027",
               relationships={CHILD: "子", "0000000043": "同居人"}), ("SAME_HOUSEHOLD", "error", "into_household_id")),
    ],
)  # fmt: skip
def test_household_change_checks(body: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert expected in issues(body, two_households())


def test_a_household_at_another_address_cannot_be_joined_without_a_move() -> None:
    view = two_households()
    elsewhere = view.households["0000000027"].model_copy(update={"address": NEW_ADDRESS})
    view = LedgerView(persons=view.persons, households={**view.households, "0000000027": elsewhere})
    body = dated(
        "household_change",
        person_ids=[CHILD],
        into_household_id="0000000027",
        relationships={CHILD: "同居人"},
    )
    assert ("ADDRESS_MISMATCH", "error", "into_household_id") in issues(body, view)


def test_former_surname_is_entered_and_removed_as_name_details() -> None:
    entered = plan(dated("name_details_change", person_id=WIFE,
                         name_details={"former_surname": "今川", "former_surname_kana": "イマガワ"}))  # fmt: skip
    (wife,) = entered.persons
    assert (wife.name_details.former_surname, wife.name, wife.version) == (
        "今川",
        family().persons[WIFE].name,
        2,
    )
    removed = rules.plan(movement(dated("name_details_change", person_id=WIFE, name_details={})),
                         apply(family(), entered), [], [], NOW)  # fmt: skip
    assert removed.persons[0].name_details.former_surname is None


FOREIGN = {"category": "mid_to_long_term", "residence_status_code": "21", "period_of_stay": "3年",
           "expiry_date": "2029-04-01", "card_number": "AB12345678CD", "nationality_code": "156",
           "nationality": "中国", "became_foreign_resident_on": "2020-04-01"}  # fmt: skip


def test_a_foreign_resident_moves_in_with_the_foreign_resident_items() -> None:
    body = move_in(members=[{**member(), "koseki": None, "foreign_resident": FOREIGN}])
    assert issues(body, LedgerView()) == []
    (newcomer,) = plan(body, LedgerView(), new_persons=1).persons
    assert newcomer.foreign_resident is not None and newcomer.koseki is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"koseki": None}, ("KOSEKI_OR_FOREIGN_REQUIRED", "error", "members[0]")),
        ({"foreign_resident": FOREIGN}, ("KOSEKI_OR_FOREIGN_REQUIRED", "error", "members[0]")),
    ],
)
def test_japanese_or_foreign_exactly_one(extra: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert expected in issues(move_in(members=[{**member(), **extra}]), LedgerView())


def test_naturalisation_replaces_the_foreign_resident_items_with_a_koseki() -> None:
    view = family()
    foreigner = view.persons[WIFE].model_copy(
        update={"foreign_resident": commands.validate_python(
            move_in(members=[{**member(), "koseki": None, "foreign_resident": FOREIGN}])).members[0].foreign_resident}
    )  # fmt: skip
    view = LedgerView(persons={**view.persons, WIFE: foreigner}, households=view.households)
    body = dated("foreign_resident_change", person_id=WIFE, reason="naturalization", koseki=KOSEKI)
    assert issues(body, view) == []
    (wife,) = plan(body, view).persons
    assert (wife.foreign_resident, wife.koseki is not None) == (None, True)
    status_change = dated(
        "foreign_resident_change", person_id=HEAD, reason="status_change", foreign_resident=FOREIGN
    )
    assert ("NOT_FOREIGN_RESIDENT", "error", "person_id") in issues(status_change)


def test_ex_officio_entry_and_removal() -> None:
    entry = move_in(move_in_type="ex_officio")
    assert issues(entry, LedgerView()) == []
    removal = plan(dated("death", cause="ex_officio", person_id=CHILD, notified_date="2026-11-20"))
    child = next(p for p in removal.persons if p.person_id == CHILD)
    assert child.removal is not None and child.removal.reason == RemovalReason.EX_OFFICIO


# -- 住民票コード ------------------------------------------------------------------------------------

BROUGHT_CODE = "12345678903"


def test_a_newcomer_brings_a_code_or_takes_one_from_the_pool() -> None:
    body = move_in(members=[{**member(), "resident_code": "１２３４５６７８９０３"}, member("花子", "ハナコ", "1982-05-03",
                                                                                      sex="female", relationship="妻")])  # fmt: skip
    result = plan(body, LedgerView(), new_persons=2)
    brought, fresh = result.persons
    assert (brought.resident_code, result.codes_brought) == (BROUGHT_CODE, [brought.person_id])
    assert (fresh.resident_code, result.code_needed) == (None, [fresh.person_id])
    coded = rules.with_resident_codes(result, {fresh.person_id: "98765432103"})
    assert [p.resident_code for p in coded.persons] == [BROUGHT_CODE, "98765432103"]
    assert [p.resident_code for p in coded.new_identities] == [BROUGHT_CODE, "98765432103"]


def test_a_code_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        commands.validate_python(move_in(members=[{**member(), "resident_code": "12345678901"}]))
    assert "検査数字" in str(raised.value)


def test_a_code_change_keeps_the_old_code() -> None:
    view = family()
    coded = view.persons[CHILD].model_copy(update={"resident_code": BROUGHT_CODE})
    view = LedgerView(persons={**view.persons, CHILD: coded}, households=view.households)
    result = plan(dated("resident_code_change", person_id=CHILD), view)
    (child,) = result.persons
    assert (child.resident_code, child.previous_resident_codes, result.code_needed) == (
        None,
        [BROUGHT_CODE],
        [CHILD],
    )


def test_a_birth_takes_a_code_from_the_pool() -> None:
    body = dated("birth", household_id=HOUSEHOLD, sex="male", relationship="子", koseki=KOSEKI,
                 name={"family_name": "駿府", "given_name": "竹千代", "family_name_kana": "スンプ", "given_name_kana": "タケチヨ"})  # fmt: skip
    result = plan(body, new_persons=1)
    assert result.code_needed == [result.new_identities[0].person_id]


def test_a_partial_birth_date_is_held_with_a_date_inside_it() -> None:
    body = move_in(members=[{**member(birth="1930-01-01"), "birth_date_partial": "昭和○○年頃"}])
    (person,) = plan(body, LedgerView(), new_persons=1).persons
    assert person.birth_date_partial is not None and person.birth_date_partial.to_wareki() == "昭和○○年頃"
    with pytest.raises(ValidationError) as raised:
        commands.validate_python(
            move_in(members=[{**member(birth="1990-01-01"), "birth_date_partial": "昭和○○年頃"}])
        )
    assert "不詳日の範囲" in str(raised.value)


def test_a_correction_restates_other_item_groups() -> None:
    body = dated("correction", basis="ex_officio", person_id=CHILD, reason="印鑑登録",
                 changes={"seal_registration": {"number": "1024"}, "notes": {"memo": "来庁予定"}})  # fmt: skip
    (child,) = plan(body).persons
    assert child.seal_registration is not None and child.notes.memo == "来庁予定"


def test_a_move_out_is_planned_at_most_14_days_ahead() -> None:
    assert ("PLANNED_DATE_TOO_FAR", "error", "planned_date") in issues(move_out(planned_date="2026-12-11"))
    assert issues(move_out(planned_date="2026-12-09")) == []


def test_an_alias_is_for_foreign_residents_only() -> None:
    body = dated("name_details_change", person_id=WIFE, name_details={"alias": "築山御前"})
    assert ("ALIAS_FOREIGN_ONLY", "error", "name_details.alias") in issues(body)


def test_cancelling_a_death_files_the_person_again() -> None:
    before = family()
    died = movement(dated("death", person_id=CHILD, notified_date="2026-11-21"), movement_id="d" * 32)
    result = rules.plan(died, before, [], [], NOW)
    after = apply(before, result)
    view = LedgerView(
        persons=after.persons, households=after.households,
        cancelled=rules.finalise(died, result), earlier_persons=before.persons, earlier_households=before.households,
    )  # fmt: skip
    body = {
        "kind": "cancellation",
        "movement_id": "d" * 32,
        "notified_date": "2026-11-26",
        "reason": "誤った届出",
    }
    claims = rules.identity_claims(commands.validate_python(body), view)
    assert [c.returning_person_id for c in claims] == [CHILD]
    undone = rules.plan(movement(body), view, [], [], NOW)
    assert [p.person_id for p in undone.new_identities] == [CHILD]
    assert next(p for p in undone.persons if p.person_id == CHILD).status == ResidentStatus.RESIDENT


def test_a_my_number_is_one_persons_for_good() -> None:
    numbers = {"members[0].my_number": ("a" * 64, ""), "my_number": ("b" * 64, CHILD)}
    found = rules.check_my_numbers(numbers, {"a" * 64: {HEAD}, "b" * 64: {CHILD}})
    assert [(i.code, i.field) for i in found] == [("MY_NUMBER_IN_USE", "members[0].my_number")]
