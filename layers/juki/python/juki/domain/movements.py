"""The rules of each movement, and the two-person rule that turns a draft into a final change."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from juki.domain.errors import Conflict, Forbidden, Issue, RuleViolation
from juki.domain.kana import exact_key, match_key
from juki.domain.model import (
    CommitPlan,
    HouseholdRecord,
    MoveIn,
    MoveInMember,
    Movement,
    MovementResult,
    MovementStatus,
    PersonRecord,
    ResidentStatus,
)
from juki.domain.relationships import HEAD
from juki.domain.staff import Actor, Permission

LATE_NOTICE_DAYS = 14


def _error(code: str, message: str, field: str | None = None) -> Issue:
    return Issue(code=code, message=message, field=field, severity="error")


def _alert(code: str, message: str, field: str | None = None) -> Issue:
    return Issue(code=code, message=message, field=field, severity="alert")


def identity_key(name_kana: str, birth_date: date) -> str:
    """The bucket of people who might be the same person: reading (ignoring voicing marks,
    small kana and spaces) and birth date. Kept in the ledger as one item per key."""
    return f"{match_key(name_kana)}#{birth_date.isoformat()}"


def member_identity(member: MoveInMember) -> str:
    return identity_key(member.name.family_name_kana + member.name.given_name_kana, member.birth_date)


def _same_person(member: MoveInMember, person: PersonRecord) -> bool:
    """The strong match: the same name in kanji and kana, birth date and sex."""
    return (
        member.name.family_name == person.name.family_name
        and member.name.given_name == person.name.given_name
        and exact_key(member.name.family_name_kana + member.name.given_name_kana)
        == exact_key(person.name.family_name_kana + person.name.given_name_kana)
        and member.birth_date == person.birth_date
        and member.sex == person.sex
    )


def check_move_in(command: MoveIn, today: date) -> list[Issue]:
    """Format and logic checks of a 転入 that need nothing but the notice itself."""
    issues: list[Issue] = []
    if command.effective_date > today:
        issues.append(_error("FUTURE_EFFECTIVE_DATE", "異動日に未来の日付は指定できません", "effective_date"))
    if command.notified_date > today:
        issues.append(_error("FUTURE_NOTIFIED_DATE", "届出日に未来の日付は指定できません", "notified_date"))
    if command.notified_date < command.effective_date:
        issues.append(_error("NOTIFIED_BEFORE_EFFECTIVE", "届出日が異動日より前です", "notified_date"))
    elif command.notified_date - command.effective_date > timedelta(days=LATE_NOTICE_DAYS):
        issues.append(
            _alert("LATE_NOTIFICATION", "異動日から14日を過ぎた届出です (届出期間経過)", "notified_date")
        )
    heads = [i for i, member in enumerate(command.members) if member.relationship == HEAD]
    if not heads:
        issues.append(_error("HEAD_MISSING", "新しい世帯には世帯主が必要です", "members"))
    for extra in heads[1:]:
        issues.append(_error("HEAD_DUPLICATED", "世帯主は一人だけです", f"members[{extra}].relationship"))
    seen: dict[tuple[object, ...], int] = {}
    for index, member in enumerate(command.members):
        if member.birth_date > command.effective_date:
            issues.append(
                _error("BIRTH_AFTER_EFFECTIVE", "生年月日が異動日より後です", f"members[{index}].birth_date")
            )
        key = (member.name, member.birth_date, member.sex)
        if key in seen:
            issues.append(
                _error(
                    "DUPLICATE_MEMBER", f"{seen[key] + 1}人目と同じ人が重複しています", f"members[{index}]"
                )
            )
        seen.setdefault(key, index)
    return issues


def check_not_resident(command: MoveIn, candidates: dict[str, list[PersonRecord]]) -> list[Issue]:
    """A 転入 for a person already resident here is an error.

    ``candidates`` maps each member's identity key to the current residents in that bucket.
    The same name (kanji and kana), birth date and sex is an error; a reading that differs only
    by voicing marks or small kana is an alert for the approver to check against the documents.
    The message never names the resident: finding them is a search, which is logged.
    """
    issues: list[Issue] = []
    for index, member in enumerate(command.members):
        residents = [
            p for p in candidates.get(member_identity(member), []) if p.status == ResidentStatus.RESIDENT
        ]
        if any(_same_person(member, person) for person in residents):
            issues.append(
                _error(
                    "ALREADY_RESIDENT", "すでに住民として記録されている人と一致します", f"members[{index}]"
                )
            )
        elif residents:
            issues.append(
                _alert(
                    "POSSIBLY_RESIDENT",
                    "読みと生年月日が近い住民がいます。別人であることを確認してください",
                    f"members[{index}]",
                )
            )
    return issues


def raise_on_errors(issues: list[Issue]) -> list[Issue]:
    """Errors block; alerts are returned for the record and the approver."""
    errors = tuple(issue for issue in issues if issue.severity == "error")
    if errors:
        raise RuleViolation(errors)
    return [issue for issue in issues if issue.severity == "alert"]


def _check_approver(movement: Movement, approver: Actor) -> None:
    if not approver.may(Permission.MOVEMENT_APPROVE):
        raise Forbidden("PERMISSION_DENIED", "決裁の権限がありません")
    if approver.staff_id == movement.entered_by:
        raise Forbidden("SELF_APPROVAL", "自分が入力した異動は決裁できません (ダブルチェック)")


def approve(movement: Movement, approver: Actor, approval_id: str, now: datetime) -> Movement:
    """審査・決裁: a different person with the approval permission approves a draft."""
    _check_approver(movement, approver)
    if movement.status != MovementStatus.DRAFT:
        raise Conflict(
            "MOVEMENT_NOT_DRAFT", f"仮登録の異動ではありません (状態: {movement.status})", "status"
        )
    return movement.model_copy(
        update={
            "status": MovementStatus.APPROVED,
            "approved_by": approver.staff_id,
            "approved_at": now,
            "approval_id": approval_id,
        }
    )


def check_resume(movement: Movement, approver: Actor) -> None:
    """An approved movement whose commit did not finish may be pushed on by an approver other
    than the person who entered it (the approval itself is already recorded)."""
    _check_approver(movement, approver)
    if movement.status != MovementStatus.APPROVED:
        raise Conflict(
            "MOVEMENT_NOT_DRAFT", f"仮登録の異動ではありません (状態: {movement.status})", "status"
        )


def plan_move_in(movement: Movement, person_ids: list[str], household_id: str, now: datetime) -> CommitPlan:
    """Version 1 of each new person and of the new household."""
    command = movement.command
    if len(person_ids) != len(command.members):
        raise ValueError("one person id per member")
    head_id = next(
        pid for pid, member in zip(person_ids, command.members, strict=True) if member.relationship == HEAD
    )
    persons = [
        PersonRecord(
            person_id=person_id,
            version=1,
            household_id=household_id,
            name=member.name,
            birth_date=member.birth_date,
            sex=member.sex,
            relationship=member.relationship,
            address=command.address,
            previous_address=command.previous_address,
            resident_since=command.effective_date,
            address_since=command.effective_date,
            notified_date=command.notified_date,
            status=ResidentStatus.RESIDENT,
            movement_id=movement.movement_id,
            movement_kind=movement.kind,
            effective_date=command.effective_date,
            recorded_at=now,
        )
        for person_id, member in zip(person_ids, command.members, strict=True)
    ]
    household = HouseholdRecord(
        household_id=household_id,
        version=1,
        head_person_id=head_id,
        member_ids=person_ids,
        address=command.address,
        movement_id=movement.movement_id,
        effective_date=command.effective_date,
        recorded_at=now,
    )
    return CommitPlan(movement_id=movement.movement_id, persons=persons, households=[household])


def finalise(movement: Movement, plan: CommitPlan) -> Movement:
    household = plan.households[0]
    return movement.model_copy(
        update={
            "status": MovementStatus.FINAL,
            "result": MovementResult(
                household_id=household.household_id, person_ids=[p.person_id for p in plan.persons]
            ),
        }
    )


def fail(movement: Movement, issues: list[Issue]) -> Movement:
    return movement.model_copy(update={"status": MovementStatus.FAILED, "failure": issues})
