"""The rules of every movement (異動), and the two-person rule that turns a draft into a final change.

A movement is checked twice with the same rules: when the clerk enters it (仮登録) and again,
against the ledger as it is then, when it is committed after approval (本登録). The checks and the
plan of new versions read only a ``LedgerView``: the current versions of what the notice names,
read before. Nothing here does I/O.

History is monotonic per record: a movement may not take effect before the newest version of a
record it touches. So the state of the ledger on a date is the newest version whose effective date
is on or before it, and reading as of a date equals replaying the movements up to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from juki.domain.commands import (
    Birth,
    Cancellation,
    Correction,
    Death,
    ForeignResidentChange,
    HeadChange,
    HouseholdChange,
    HouseholdMerge,
    HouseholdSplit,
    InCityMove,
    MoveIn,
    MovementCommand,
    MoveOut,
    MoveOutConfirmation,
    MyNumberChange,
    NameDetailsChange,
    NewHousehold,
    NewPerson,
    QualificationChange,
    ResidentCodeChange,
    SameHousehold,
)
from juki.domain.errors import Conflict, Forbidden, Issue, RuleViolation
from juki.domain.kana import exact_key, match_key
from juki.domain.model import CommitPlan, Movement, MovementResult, MovementStatus
from juki.domain.my_number import SealedMyNumber
from juki.domain.records import HouseholdRecord, MoveOutDetails, PersonRecord, Removal
from juki.domain.relationships import HEAD
from juki.domain.retention import (
    HeldCertificate,
    MoveOutCertificateClaim,
    MoveOutCertificatePerson,
    RetentionPolicy,
    RetentionRefused,
    check_claim,
)
from juki.domain.staff import Actor, Permission
from juki.domain.values import HouseholdStatus, PersonName, RemovalReason, ResidentStatus, Sex

LATE_NOTICE_DAYS = 14
LATE_DEATH_NOTICE_DAYS = 7


def _error(code: str, message: str, field: str | None = None) -> Issue:
    return Issue(code=code, message=message, field=field, severity="error")


def _alert(code: str, message: str, field: str | None = None) -> Issue:
    return Issue(code=code, message=message, field=field, severity="alert")


# -- identity: who might already be here ------------------------------------------------------


def identity_key(name_kana: str, birth_date: date) -> str:
    """The bucket of people who might be the same person: reading (ignoring voicing marks,
    small kana and spaces) and birth date. Kept in the ledger as one item per key."""
    return f"{match_key(name_kana)}#{birth_date.isoformat()}"


def person_identity(person: PersonRecord) -> str:
    return identity_key(person.name.reading, person.birth_date)


@dataclass(frozen=True)
class IdentityClaim:
    """Someone a movement brings into the ledger as a resident (or renames): who they say they are."""

    field: str
    name: PersonName
    birth_date: date
    sex: Sex
    returning_person_id: str | None = None  # 再転入: their own removed record

    @property
    def key(self) -> str:
        return identity_key(self.name.reading, self.birth_date)

    def same_person(self, person: PersonRecord) -> bool:
        """The strong match: the same name in kanji and kana, birth date and sex."""
        return (
            self.name.family_name == person.name.family_name
            and self.name.given_name == person.name.given_name
            and exact_key(self.name.reading) == exact_key(person.name.reading)
            and self.birth_date == person.birth_date
            and self.sex == person.sex
        )


def check_not_resident(claims: list[IdentityClaim], candidates: dict[str, list[PersonRecord]]) -> list[Issue]:
    """A movement that records as resident someone already resident here is an error.

    ``candidates`` maps identity keys to the people filed under them. The same name (kanji and
    kana), birth date and sex is an error; a reading that differs only by voicing marks or small
    kana is an alert for the approver to check against the documents. The message never names the
    resident: finding them is a search, which is logged.
    """
    issues: list[Issue] = []
    for claim in claims:
        residents = [
            p
            for p in candidates.get(claim.key, [])
            if p.status == ResidentStatus.RESIDENT and p.person_id != claim.returning_person_id
        ]
        if any(claim.same_person(person) for person in residents):
            issues.append(
                _error("ALREADY_RESIDENT", "すでに住民として記録されている人と一致します", claim.field)
            )
        elif residents:
            issues.append(
                _alert(
                    "POSSIBLY_RESIDENT",
                    "読みと生年月日が近い住民がいます。別人であることを確認してください",
                    claim.field,
                )
            )
    return issues


def brought_codes(command: MovementCommand) -> dict[str, tuple[str, str | None]]:
    """The 住民票コード a move-in brings: code → (field, the person's own earlier record if returning)."""
    if not isinstance(command, MoveIn):
        return {}
    return {
        m.resident_code: (f"members[{i}].resident_code", m.previous_person_id)
        for i, m in enumerate(command.members)
        if m.resident_code
    }


def check_brought_codes(
    brought: dict[str, tuple[str, str | None]], holders: dict[str, str | None]
) -> list[Issue]:
    """A code brought in must not be recorded for someone else (a 住民票コード is one person's)."""
    return [
        _error("RESIDENT_CODE_IN_USE", "この住民票コードは別の人に記録されています", field)
        for code, (field, own) in brought.items()
        if holders.get(code) not in (None, own)
    ]


# -- 特例転入 (card move-in): the 転出証明書情報 it claims ------------------------------------------


def move_out_certificate_id(command: MovementCommand) -> str | None:
    """The 転出証明書情報 a card move-in claims (None for every other notice)."""
    if isinstance(command, MoveIn) and command.move_in_type == "card":
        return command.move_out_certificate_id
    return None


def _same_name(given: PersonName, held: PersonName) -> bool:
    """Kanji as written, and the reading ignoring only how the kana were typed (the strong match)."""
    return (
        given.family_name == held.family_name
        and given.given_name == held.given_name
        and exact_key(given.reading) == exact_key(held.reading)
    )


def _the_same(member: NewPerson, held: MoveOutCertificatePerson) -> bool:
    return _same_name(member.name, held.name) and (member.birth_date, member.sex) == (
        held.birth_date,
        held.sex,
    )


def check_card_move_in(
    command: MovementCommand,
    held: HeldCertificate | None,
    movement_id: str | None,
    today: date,
    policy: RetentionPolicy,
) -> list[Issue]:
    """A card move-in against the 転出証明書情報 it names, at entry and again at commit.

    The certificate must be held and unclaimed (claimed by this very movement is fine: its commit
    went through, and the claim dropped the data it would be compared with), within its period,
    and the clerk's entry must agree with it: the previous address is the certificate's (the
    clerk confirms it, the system does not fill it in), and every member is one of its persons
    by name (kanji and kana), birth date and sex, carrying that person's 住民票コード. People on the
    certificate may move in later by a move-in of their own; nobody not on it may come along."""
    certificate_id = move_out_certificate_id(command)
    if certificate_id is None:
        return []
    assert isinstance(command, MoveIn)
    field_name = "move_out_certificate_id"
    if held is not None and held.claim is not None:
        if held.claim.claimed_by == movement_id:
            return []
        return [
            _error(
                "MOVE_OUT_CERTIFICATE_CLAIMED",
                "転出証明書情報はすでに別の転入で使用されています",
                field_name,
            )
        ]
    if held is None or held.certificate is None:
        return [
            _error(
                "MOVE_OUT_CERTIFICATE_NOT_FOUND",
                "転出証明書情報が見つかりません (受信前、または期間経過で消去済み)",
                field_name,
            )
        ]
    certificate = held.certificate
    issues: list[Issue] = []
    try:
        check_claim(certificate.planned_date, today, policy)
    except RetentionRefused as expired:
        issues.append(_error(expired.code, expired.message, field_name))
    if command.previous_address != certificate.previous_address:
        issues.append(
            _error(
                "MOVE_OUT_CERTIFICATE_MISMATCH",
                "前住所が転出証明書情報の転出地の住所と違います",
                "previous_address",
            )
        )
    unmatched = list(certificate.persons)
    for index, member in enumerate(command.members):
        same = next((held_person for held_person in unmatched if _the_same(member, held_person)), None)
        if same is None:
            message = "転出証明書情報に記載のない人です (氏名・フリガナ・生年月日・性別を確認してください)"
        elif member.resident_code != same.resident_code:
            message = "住民票コードが転出証明書情報の記載と違います"
        else:
            unmatched.remove(same)
            continue
        issues.append(_error("MOVE_OUT_CERTIFICATE_MISMATCH", message, f"members[{index}]"))
    return issues


def certificate_claim(movement: Movement, at: datetime) -> MoveOutCertificateClaim | None:
    """The claim a card move-in's commit writes, in its own transaction (None for any other)."""
    certificate_id = move_out_certificate_id(movement.command)
    if certificate_id is None:
        return None
    return MoveOutCertificateClaim(
        certificate_id=certificate_id, claimed_at=at, claimed_by=movement.movement_id
    )


def raise_on_errors(issues: list[Issue]) -> list[Issue]:
    """Errors block; alerts are returned for the record and the approver."""
    errors = tuple(issue for issue in issues if issue.severity == "error")
    if errors:
        raise RuleViolation(errors)
    return [issue for issue in issues if issue.severity == "alert"]


# -- what a movement reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """What the view must hold before a movement can be checked."""

    person_ids: frozenset[str] = frozenset()
    household_ids: frozenset[str] = frozenset()
    movement_id: str | None = None  # a cancellation reads the movement it undoes


@dataclass(frozen=True)
class LedgerView:
    """The current version of every person and household a movement touches (read consistently),
    and for a cancellation the movement it undoes and the versions before it."""

    persons: dict[str, PersonRecord] = field(default_factory=dict)
    households: dict[str, HouseholdRecord] = field(default_factory=dict)
    cancelled: Movement | None = None
    earlier_persons: dict[str, PersonRecord] = field(default_factory=dict)
    earlier_households: dict[str, HouseholdRecord] = field(default_factory=dict)


def references(command: MovementCommand) -> References:  # noqa: PLR0911 - one answer per kind
    match command:
        case MoveIn():
            returning = {m.previous_person_id for m in command.members if m.previous_person_id}
            joined = {command.join_household_id} if command.join_household_id else set()
            return References(frozenset(returning), frozenset(joined))
        case InCityMove():
            target = command.destination
            joined = {target.household_id} if hasattr(target, "household_id") else set()
            return References(frozenset(command.person_ids), frozenset(joined))
        case MoveOut():
            return References(frozenset(command.person_ids))
        case (
            MoveOutConfirmation()
            | Death()
            | Correction()
            | NameDetailsChange()
            | ForeignResidentChange()
            | ResidentCodeChange()
            | MyNumberChange()
            | QualificationChange()
        ):
            return References(frozenset({command.person_id}))
        case HouseholdMerge():
            return References(household_ids=frozenset({command.from_household_id, command.into_household_id}))
        case HouseholdChange():
            return References(frozenset(command.person_ids), frozenset({command.into_household_id}))
        case Birth() | HeadChange() | HouseholdSplit():
            return References(household_ids=frozenset({command.household_id}))
        case Cancellation():
            return References(movement_id=command.movement_id)


def sealed_numbers(command: MovementCommand) -> dict[str, tuple[str, str]]:
    """The sealed 個人番号 a notice records: field → (blind index, the person already in the ledger it
    is for, or "" for a newcomer, who can hold no number yet)."""
    if isinstance(command, MyNumberChange) and command.sealed_my_number:
        return {"my_number": (command.sealed_my_number.blind_index, command.person_id)}
    if not isinstance(command, MoveIn):
        return {}
    return {
        f"members[{index}].my_number": (member.sealed_my_number.blind_index, member.previous_person_id or "")
        for index, member in enumerate(command.members)
        if member.sealed_my_number
    }


def check_my_numbers(numbers: dict[str, tuple[str, str]], holders: dict[str, set[str]]) -> list[Issue]:
    """A 個人番号 is one person's, for good: recorded (now or once) for someone else, it is refused."""
    return [
        _error("MY_NUMBER_IN_USE", "この個人番号は別の人に記録されています", field)
        for field, (blind_index, person_id) in numbers.items()
        if holders.get(blind_index, set()) - {person_id}
    ]


def carries_my_number(command: MovementCommand) -> bool:
    """Does the notice hold a 個人番号 in plain (which must be sealed before it is stored)?"""
    if isinstance(command, MyNumberChange):
        return command.my_number is not None
    return isinstance(command, MoveIn) and any(member.my_number for member in command.members)


def numbers_to_seal(command: MovementCommand, new_person_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The 個人番号 a notice carries in plain, to seal before it is stored: field → (number, the person
    it belongs to). New people are given the ids the movement will take, in member order."""
    if isinstance(command, MyNumberChange) and command.my_number:
        return {"my_number": (command.my_number, command.person_id)}
    if not isinstance(command, MoveIn):
        return {}
    new_ids = iter(new_person_ids)
    found: dict[str, tuple[str, str]] = {}
    for index, member in enumerate(command.members):
        person_id = member.previous_person_id or next(new_ids)
        if member.my_number:
            found[f"members[{index}]"] = (member.my_number, person_id)
    return found


def sealed(command: MovementCommand, seals: dict[str, SealedMyNumber]) -> MovementCommand:
    """The notice with each plain 個人番号 replaced by its sealed form (``numbers_to_seal``'s fields)."""
    if isinstance(command, MyNumberChange):
        return command.model_copy(update={"my_number": None, "sealed_my_number": seals.get("my_number")})
    if isinstance(command, MoveIn):
        members = [
            m.model_copy(update={"my_number": None, "sealed_my_number": seals[f"members[{i}]"]})
            if f"members[{i}]" in seals
            else m
            for i, m in enumerate(command.members)
        ]
        return command.model_copy(update={"members": members})
    return command


def new_ids_needed(command: MovementCommand) -> tuple[int, int]:
    """How many new person and household ids the movement takes."""
    match command:
        case MoveIn():
            new_people = sum(1 for m in command.members if not m.previous_person_id)
            return new_people, 0 if command.join_household_id else 1
        case InCityMove():
            return 0, 1 if isinstance(command.destination, NewHousehold) else 0
        case HouseholdSplit():
            return 0, 1
        case Birth():
            return 1, 0
        case _:
            return 0, 0


def identity_claims(command: MovementCommand, view: LedgerView) -> list[IdentityClaim]:
    match command:
        case MoveIn():
            return [
                IdentityClaim(f"members[{i}]", m.name, m.birth_date, m.sex, m.previous_person_id)
                for i, m in enumerate(command.members)
            ]
        case Birth():
            return [IdentityClaim("name", command.name, command.effective_date, command.sex)]
        case Cancellation():
            return [
                IdentityClaim("movement_id", earlier.name, earlier.birth_date, earlier.sex, earlier.person_id)
                for earlier in _restored_residents(view)
            ]
        case Correction() if command.person_id in view.persons:
            person = view.persons[command.person_id]
            changes = command.changes
            if changes.name is None and changes.birth_date is None:
                return []
            return [
                IdentityClaim(
                    "changes",
                    changes.name or person.name,
                    changes.birth_date or person.birth_date,
                    changes.sex or person.sex,
                    returning_person_id=person.person_id,
                )
            ]
        case _:
            return []


# -- checks ------------------------------------------------------------------------------------


@dataclass
class _Checks:
    view: LedgerView
    today: date
    issues: list[Issue] = field(default_factory=list)

    def error(self, code: str, message: str, field_name: str | None = None) -> None:
        self.issues.append(_error(code, message, field_name))

    def alert(self, code: str, message: str, field_name: str | None = None) -> None:
        self.issues.append(_alert(code, message, field_name))

    def dates(self, effective: date, notified: date, late_days: int = LATE_NOTICE_DAYS) -> None:
        if effective > self.today:
            self.error("FUTURE_EFFECTIVE_DATE", "異動日に未来の日付は指定できません", "effective_date")
        if notified > self.today:
            self.error("FUTURE_NOTIFIED_DATE", "届出日に未来の日付は指定できません", "notified_date")
        if notified < effective:
            self.error("NOTIFIED_BEFORE_EFFECTIVE", "届出日が異動日より前です", "notified_date")
        elif notified - effective > timedelta(days=late_days):
            self.alert(
                "LATE_NOTIFICATION",
                f"異動日から{late_days}日を過ぎた届出です (届出期間経過)",
                "notified_date",
            )

    def resident(self, person_id: str, field_name: str) -> PersonRecord | None:
        person = self.view.persons.get(person_id)
        if person is None:
            self.error("PERSON_NOT_FOUND", "住民が見つかりません", field_name)
        elif person.status != ResidentStatus.RESIDENT:
            self.error("NOT_RESIDENT", "除票の人です", field_name)
        else:
            return person
        return None

    def household(self, household_id: str, field_name: str) -> HouseholdRecord | None:
        household = self.view.households.get(household_id)
        if household is None:
            self.error("HOUSEHOLD_NOT_FOUND", "世帯が見つかりません", field_name)
        elif household.status != HouseholdStatus.ACTIVE:
            self.error("HOUSEHOLD_DISSOLVED", "消滅した世帯です", field_name)
        else:
            return household
        return None

    def japanese_or_foreign(self, koseki: bool, foreign: bool, field_name: str) -> None:
        """A Japanese resident has a 本籍 (never blank: 「なし」 or 「不明」 when so); a foreign
        resident has the foreign-resident items instead. Exactly one of the two."""
        if koseki == foreign:
            self.error(
                "KOSEKI_OR_FOREIGN_REQUIRED",
                "日本人住民は本籍・筆頭者を、外国人住民は外国人住民の記載事項を、どちらか一方だけ指定してください",
                field_name,
            )

    def same_address(self, first: HouseholdRecord, second: HouseholdRecord, field_name: str) -> None:
        if first.address != second.address:
            self.error("ADDRESS_MISMATCH", "世帯の住所が違います (住所が変わる場合は転居です)", field_name)

    def not_before_history(self, effective: date, records: Iterable[PersonRecord | HouseholdRecord]) -> None:
        """A movement may not take effect before the newest version of what it touches."""
        if any(effective < record.effective_date for record in records):
            self.error(
                "EFFECTIVE_BEFORE_LAST_CHANGE",
                "異動日が、対象の記録の最後の異動日より前です (先に後の異動を取り消してください)",
                "effective_date",
            )

    def relationships(self, given: dict[str, str], expected: Iterable[str], head: str | None) -> None:
        expected_ids = set(expected) - ({head} if head else set())
        if set(given) != expected_ids:
            self.error(
                "RELATIONSHIPS_INCOMPLETE", "世帯主以外の全員の続柄を指定してください", "relationships"
            )
        if any(text == HEAD for text in given.values()):
            self.error("HEAD_DUPLICATED", "世帯主は一人だけです", "relationships")


def check(command: MovementCommand, view: LedgerView, today: date) -> list[Issue]:
    """Format and logic checks of a movement against the view (not the identity checks)."""
    checks = _Checks(view, today)
    _CHECKS[type(command)](command, checks)
    return checks.issues


def _check_move_in(command: MoveIn, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    heads = [i for i, member in enumerate(command.members) if member.relationship == HEAD]
    if command.join_household_id:
        household = c.household(command.join_household_id, "join_household_id")
        if heads:
            c.error(
                "HEAD_DUPLICATED", "入る世帯にはすでに世帯主がいます", f"members[{heads[0]}].relationship"
            )
        if household and household.address != command.address:
            c.error("ADDRESS_MISMATCH", "入る世帯の住所と転入先の住所が違います", "address")
        if household:
            c.not_before_history(command.effective_date, [household])
    else:
        if not heads:
            c.error("HEAD_MISSING", "新しい世帯には世帯主が必要です", "members")
        for extra in heads[1:]:
            c.error("HEAD_DUPLICATED", "世帯主は一人だけです", f"members[{extra}].relationship")
    seen: dict[tuple[object, ...], int] = {}
    for index, member in enumerate(command.members):
        if member.birth_date > command.effective_date:
            c.error("BIRTH_AFTER_EFFECTIVE", "生年月日が異動日より後です", f"members[{index}].birth_date")
        key = (member.name, member.birth_date, member.sex)
        if key in seen:
            c.error("DUPLICATE_MEMBER", f"{seen[key] + 1}人目と同じ人が重複しています", f"members[{index}]")
        seen.setdefault(key, index)
        c.japanese_or_foreign(
            member.koseki is not None, member.foreign_resident is not None, f"members[{index}]"
        )
        if member.previous_person_id:
            _check_returning(member, f"members[{index}]", command.effective_date, c)


def _check_returning(member: NewPerson, field_name: str, effective: date, c: _Checks) -> None:
    """再転入: the old record must be a removed record of the same person."""
    previous = c.view.persons.get(member.previous_person_id or "")
    if previous is None:
        c.error("PERSON_NOT_FOUND", "以前の記録が見つかりません", f"{field_name}.previous_person_id")
    elif previous.status == ResidentStatus.RESIDENT:
        c.error("ALREADY_RESIDENT", "すでに住民として記録されています", field_name)
    elif previous.removal is None or previous.removal.reason not in (
        RemovalReason.MOVE_OUT,
        RemovalReason.EX_OFFICIO,
    ):
        c.error(
            "NOT_RETURNABLE", "転出・職権消除の除票だけが再転入できます", f"{field_name}.previous_person_id"
        )
    elif not IdentityClaim(field_name, member.name, member.birth_date, member.sex).same_person(previous):
        c.alert(
            "RETURNING_PERSON_DIFFERS",
            "以前の記録と氏名・生年月日・性別が違います。確認してください",
            field_name,
        )
    else:
        c.not_before_history(effective, [previous])


def _check_in_city_move(command: InCityMove, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    movers = [c.resident(pid, f"person_ids[{i}]") for i, pid in enumerate(command.person_ids)]
    people = [p for p in movers if p]
    if len(people) != len(command.person_ids):
        return
    if len(set(command.person_ids)) != len(command.person_ids):
        c.error("DUPLICATE_MEMBER", "同じ人が重複しています", "person_ids")
    households = {p.household_id for p in people}
    c.not_before_history(command.effective_date, [*people, *(c.view.households[h] for h in households)])
    if any(p.address == command.address for p in people):
        c.error("SAME_ADDRESS", "今の住所と同じです", "address")
    target = command.destination
    if isinstance(target, SameHousehold):
        (household_id,) = households if len(households) == 1 else ("",)
        household = c.view.households.get(household_id)
        if household is None or set(household.member_ids) != set(command.person_ids):
            c.error("NOT_WHOLE_HOUSEHOLD", "世帯全員が移る場合だけ選べます", "destination")
        if command.relationships:
            c.error("RELATIONSHIPS_UNEXPECTED", "世帯全員が移る場合、続柄は変わりません", "relationships")
    elif isinstance(target, NewHousehold):
        if target.head_person_id not in command.person_ids:
            c.error(
                "HEAD_NOT_MOVING",
                "新しい世帯の世帯主は移る人の中から選んでください",
                "destination.head_person_id",
            )
        c.relationships(command.relationships, command.person_ids, target.head_person_id)
    else:
        joined = c.household(target.household_id, "destination.household_id")
        if joined:
            c.not_before_history(command.effective_date, [joined])
            if joined.address != command.address:
                c.error("ADDRESS_MISMATCH", "入る世帯の住所と新しい住所が違います", "address")
            if target.household_id in households:
                c.error("SAME_HOUSEHOLD", "今の世帯と同じです", "destination.household_id")
        c.relationships(command.relationships, command.person_ids, None)


def _check_move_out(command: MoveOut, c: _Checks) -> None:
    if command.notified_date > c.today:
        c.error("FUTURE_NOTIFIED_DATE", "届出日に未来の日付は指定できません", "notified_date")
    if command.planned_date - command.notified_date > timedelta(days=LATE_NOTICE_DAYS):
        c.error("PLANNED_DATE_TOO_FAR", "転出予定日は届出日から14日以内にしてください", "planned_date")
    if command.notified_date - command.planned_date > timedelta(days=LATE_NOTICE_DAYS):
        c.alert("LATE_NOTIFICATION", "転出日から14日を過ぎた届出です (職権記載の扱い)", "notified_date")
    people = [p for i, pid in enumerate(command.person_ids) if (p := c.resident(pid, f"person_ids[{i}]"))]
    if len(people) == len(command.person_ids):
        households = [c.view.households[p.household_id] for p in people]
        c.not_before_history(command.planned_date, [*people, *households])
        if any(p.move_out for p in people):
            c.error("MOVE_OUT_PLANNED", "すでに転出の予定があります", "person_ids")


def _check_confirmation(command: MoveOutConfirmation, c: _Checks) -> None:
    person = c.view.persons.get(command.person_id)
    if person is None:
        c.error("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        return
    if person.move_out is None or person.removal is None or person.removal.reason != RemovalReason.MOVE_OUT:
        c.error("NO_MOVE_OUT", "転出の記録がありません", "person_id")
    elif person.move_out.confirmed_date is not None:
        c.error("MOVE_OUT_CONFIRMED", "すでに転入通知で確定しています", "person_id")
    if command.notified_date > c.today or command.moved_in_date > c.today:
        c.error("FUTURE_NOTIFIED_DATE", "未来の日付は指定できません", "notified_date")
    c.not_before_history(command.notified_date, [person])


def _check_birth(command: Birth, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    household = c.household(command.household_id, "household_id")
    if household:
        c.not_before_history(command.effective_date, [household])
    if command.relationship == HEAD and household and household.head_person_id:
        c.error("HEAD_DUPLICATED", "世帯にはすでに世帯主がいます", "relationship")
    c.japanese_or_foreign(command.koseki is not None, command.foreign_resident is not None, "koseki")


def _check_death(command: Death, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date, LATE_DEATH_NOTICE_DAYS)
    person = c.resident(command.person_id, "person_id")
    if person:
        c.not_before_history(command.effective_date, [person, c.view.households[person.household_id]])


def _check_head_change(command: HeadChange, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    household = c.household(command.household_id, "household_id")
    if household is None:
        return
    c.not_before_history(command.effective_date, [household])
    if command.new_head_person_id not in household.member_ids:
        c.error("HEAD_NOT_MEMBER", "新しい世帯主は世帯員から選んでください", "new_head_person_id")
    elif command.new_head_person_id == household.head_person_id:
        c.error("SAME_HEAD", "今の世帯主と同じです", "new_head_person_id")
    c.relationships(command.relationships, household.member_ids, command.new_head_person_id)


def _check_split(command: HouseholdSplit, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    household = c.household(command.household_id, "household_id")
    if household is None:
        return
    c.not_before_history(command.effective_date, [household])
    if not set(command.person_ids) <= set(household.member_ids):
        c.error("NOT_MEMBER", "分かれる人は元の世帯の世帯員から選んでください", "person_ids")
    elif set(command.person_ids) == set(household.member_ids):
        c.error("WHOLE_HOUSEHOLD", "全員が分かれることはできません", "person_ids")
    if command.new_head_person_id not in command.person_ids:
        c.error("HEAD_NOT_MOVING", "新しい世帯の世帯主は分かれる人から選んでください", "new_head_person_id")
    c.relationships(command.relationships, command.person_ids, command.new_head_person_id)


def _check_merge(command: HouseholdMerge, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    source = c.household(command.from_household_id, "from_household_id")
    target = c.household(command.into_household_id, "into_household_id")
    if command.from_household_id == command.into_household_id:
        c.error("SAME_HOUSEHOLD", "同じ世帯どうしは合併できません", "into_household_id")
    if source is None or target is None:
        return
    c.not_before_history(command.effective_date, [source, target])
    c.same_address(source, target, "into_household_id")
    c.relationships(command.relationships, source.member_ids, None)


def _check_household_change(command: HouseholdChange, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    movers = [p for i, pid in enumerate(command.person_ids) if (p := c.resident(pid, f"person_ids[{i}]"))]
    target = c.household(command.into_household_id, "into_household_id")
    if target is None or len(movers) != len(command.person_ids):
        return
    sources = {p.household_id for p in movers}
    if command.into_household_id in sources:
        c.error("SAME_HOUSEHOLD", "今の世帯と同じです", "into_household_id")
    if len(sources) != 1:
        c.error("MIXED_HOUSEHOLDS", "移る人は同じ世帯から選んでください", "person_ids")
        return
    (source_id,) = sources
    source = c.view.households[source_id]
    c.not_before_history(command.effective_date, [*movers, source, target])
    c.same_address(source, target, "into_household_id")
    c.relationships(command.relationships, command.person_ids, None)


def _check_name_details(command: NameDetailsChange, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    person = c.resident(command.person_id, "person_id")
    if person:
        c.not_before_history(command.effective_date, [person])
        if person.name_details == command.name_details:
            c.error("NOTHING_CHANGES", "今の記録と同じです", "name_details")
        if command.name_details.alias is not None and person.foreign_resident is None:
            c.error("ALIAS_FOREIGN_ONLY", "通称は外国人住民だけが記載できます", "name_details.alias")


def _check_foreign_resident(command: ForeignResidentChange, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    person = c.resident(command.person_id, "person_id")
    if person is None:
        return
    c.not_before_history(command.effective_date, [person])
    becomes_japanese = command.reason in ("naturalization", "nationality_acquisition")
    if person.foreign_resident is None and command.reason != "nationality_loss":
        c.error("NOT_FOREIGN_RESIDENT", "外国人住民ではありません", "person_id")
    if person.foreign_resident is not None and command.reason == "nationality_loss":
        c.error("NOT_JAPANESE_RESIDENT", "日本人住民ではありません", "person_id")
    if becomes_japanese:
        c.japanese_or_foreign(command.koseki is not None, command.foreign_resident is not None, "koseki")
    else:
        c.japanese_or_foreign(
            command.koseki is not None, command.foreign_resident is not None, "foreign_resident"
        )


def _check_my_number_change(command: MyNumberChange, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    person = c.resident(command.person_id, "person_id")
    if person:
        c.not_before_history(command.effective_date, [person])
        new, old = command.sealed_my_number, person.my_number
        if new and old and new.blind_index == old.blind_index:
            c.error("NOTHING_CHANGES", "今の個人番号と同じです", "my_number")


def _check_code_change(command: ResidentCodeChange, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    person = c.resident(command.person_id, "person_id")
    if person:
        c.not_before_history(command.effective_date, [person])


def _check_qualification(command: QualificationChange, c: _Checks) -> None:
    """The group is compared with the record as it is when checked (and again at commit)."""
    c.dates(command.effective_date, command.notified_date)
    person = c.resident(command.person_id, "person_id")
    if person:
        c.not_before_history(command.effective_date, [person])
        if getattr(person.qualifications, command.group) == command.value:
            c.error("NOTHING_CHANGES", "今の記録と同じです", "value")


def _check_correction(command: Correction, c: _Checks) -> None:
    c.dates(command.effective_date, command.notified_date)
    person = c.view.persons.get(command.person_id)
    if person is None:
        c.error("PERSON_NOT_FOUND", "住民が見つかりません", "person_id")
        return
    c.not_before_history(command.effective_date, [person])
    changes = _given(command)
    if all(getattr(person, key) == value for key, value in changes.items()):
        c.error("NOTHING_CHANGES", "今の記録と同じです", "changes")
    if command.changes.relationship is not None and HEAD in (
        command.changes.relationship,
        person.relationship,
    ):
        c.error("HEAD_CHANGE_REQUIRED", "世帯主は世帯主変更で変えてください", "changes.relationship")


def _given(command: Correction) -> dict[str, Any]:
    """The items a correction sets, as values (not dumped dicts)."""
    return {key: value for key, value in dict(command.changes).items() if value is not None}


def _check_cancellation(command: Cancellation, c: _Checks) -> None:
    if command.notified_date > c.today:
        c.error("FUTURE_NOTIFIED_DATE", "届出日に未来の日付は指定できません", "notified_date")
    cancelled = c.view.cancelled
    if cancelled is None or cancelled.status != MovementStatus.FINAL or cancelled.result is None:
        c.error("MOVEMENT_NOT_FINAL", "取り消せるのは本登録された異動だけです", "movement_id")
        return
    if cancelled.kind in ("cancellation", "migration"):
        c.error("NOT_CANCELLABLE", "この異動は取り消せません", "movement_id")
    touched = [*(c.view.persons.get(p) for p in cancelled.result.person_ids),
               *(c.view.households.get(h) for h in cancelled.result.household_ids)]  # fmt: skip
    if any(record is None or record.movement_id != command.movement_id for record in touched):
        c.error(
            "NOT_LATEST", "後の異動があるため取り消せません (後の異動から取り消してください)", "movement_id"
        )


_CHECKS: dict[type, Callable[[Any, _Checks], None]] = {
    MoveIn: _check_move_in,
    InCityMove: _check_in_city_move,
    MoveOut: _check_move_out,
    MoveOutConfirmation: _check_confirmation,
    Birth: _check_birth,
    Death: _check_death,
    HeadChange: _check_head_change,
    HouseholdSplit: _check_split,
    HouseholdMerge: _check_merge,
    HouseholdChange: _check_household_change,
    NameDetailsChange: _check_name_details,
    ForeignResidentChange: _check_foreign_resident,
    ResidentCodeChange: _check_code_change,
    MyNumberChange: _check_my_number_change,
    QualificationChange: _check_qualification,
    Correction: _check_correction,
    Cancellation: _check_cancellation,
}


# -- plans: the new versions ----------------------------------------------------------------------


@dataclass
class _Plan:
    movement: Movement
    view: LedgerView
    at: datetime
    new_person_ids: list[str]
    new_household_ids: list[str]
    persons: dict[str, PersonRecord] = field(default_factory=dict)
    households: dict[str, HouseholdRecord] = field(default_factory=dict)
    new_identities: list[PersonRecord] = field(default_factory=list)
    code_needed: list[str] = field(default_factory=list)
    codes_brought: list[str] = field(default_factory=list)

    def person(self, person_id: str) -> PersonRecord:
        return self.persons.get(person_id) or self.view.persons[person_id]

    def household(self, household_id: str) -> HouseholdRecord:
        return self.households.get(household_id) or self.view.households[household_id]

    def stamp(self, effective: date, notified: date | None = None) -> dict[str, Any]:
        stamp = {
            "movement_id": self.movement.movement_id,
            "effective_date": effective,
            "recorded_at": self.at,
        }
        return stamp | ({"notified_date": notified} if notified else {})

    def change_person(self, person_id: str, effective: date, notified: date, **changes: Any) -> PersonRecord:
        current = self.person(person_id)
        base = self.view.persons.get(person_id)
        self._not_backwards(base, effective)
        version = (base.version + 1) if base else current.version
        updated = current.model_copy(
            update={**changes, **self.stamp(effective, notified), "version": version,
                    "movement_kind": self.movement.kind}
        )  # fmt: skip
        self.persons[person_id] = updated
        return updated

    def change_household(self, household_id: str, effective: date, **changes: Any) -> HouseholdRecord:
        current = self.household(household_id)
        base = self.view.households.get(household_id)
        self._not_backwards(base, effective)
        version = (base.version + 1) if base else current.version
        members = changes.get("member_ids", current.member_ids)
        head = changes.get("head_person_id", current.head_person_id)
        if head not in members:
            head = None  # the head left: a household without a head is allowed, and listed
        status = HouseholdStatus.ACTIVE if members else HouseholdStatus.DISSOLVED
        updated = current.model_copy(
            update={**changes, **self.stamp(effective), "version": version, "head_person_id": head,
                    "member_ids": members, "status": status}
        )  # fmt: skip
        self.households[household_id] = updated
        return updated

    def _not_backwards(self, base: PersonRecord | HouseholdRecord | None, effective: date) -> None:
        """History is monotonic per record: no version may take effect before the one it follows."""
        if base is not None and effective < base.effective_date:
            raise RuleViolation((_error(
                "EFFECTIVE_BEFORE_LAST_CHANGE",
                "異動日が、対象の記録の最後の異動日より前です (先に後の異動を取り消してください)",
                "effective_date",
            ),))  # fmt: skip

    def leave(self, person_ids: list[str], effective: date) -> None:
        """The people leave their households (which may end up headless or dissolved)."""
        by_household: dict[str, set[str]] = {}
        for pid in person_ids:
            by_household.setdefault(self.person(pid).household_id, set()).add(pid)
        for household_id, leaving in by_household.items():
            remaining = [m for m in self.household(household_id).member_ids if m not in leaving]
            self.change_household(household_id, effective, member_ids=remaining)

    def join(
        self,
        household_id: str,
        person_ids: list[str],
        relationships: dict[str, str],
        effective: date,
        notified: date,
    ) -> None:
        """The people become members of an existing household, with their relationships there."""
        members = [*self.household(household_id).member_ids, *person_ids]
        self.change_household(household_id, effective, member_ids=members)
        for pid in person_ids:
            self.change_person(
                pid, effective, notified, household_id=household_id, relationship=relationships[pid]
            )

    def new_household(self, household_id: str, head: str | None, members: list[str], effective: date,
                      address: Any) -> HouseholdRecord:  # fmt: skip
        record = HouseholdRecord(
            household_id=household_id,
            version=1,
            head_person_id=head,
            member_ids=members,
            address=address,
            **self.stamp(effective),
        )
        self.households[household_id] = record
        return record

    def result(self) -> CommitPlan:
        return CommitPlan(
            movement_id=self.movement.movement_id,
            persons=list(self.persons.values()),
            households=list(self.households.values()),
            new_identities=self.new_identities,
            code_needed=self.code_needed,
            codes_brought=self.codes_brought,
        )


def plan(movement: Movement, view: LedgerView, person_ids: list[str], household_ids: list[str],
         at: datetime) -> CommitPlan:  # fmt: skip
    """The new version of every person and household the movement touches."""
    builder = _Plan(movement, view, at, list(person_ids), list(household_ids))
    _PLANS[type(movement.command)](movement.command, builder)
    return builder.result()


def _plan_move_in(command: MoveIn, p: _Plan) -> None:
    new_ids = iter(p.new_person_ids)
    household_id = command.join_household_id or p.new_household_ids[0]
    arriving: list[str] = []
    for member in command.members:
        fields = (
            {
                "household_id": household_id,
                "name": member.name,
                "birth_date": member.birth_date,
                "sex": member.sex,
                "relationship": member.relationship,
                "address": command.address,
                "previous_address": command.previous_address,
                "resident_since": command.effective_date,
                "address_since": command.effective_date,
                "status": ResidentStatus.RESIDENT,
                "removal": None,
                "move_out": None,
                "koseki": member.koseki,
                "foreign_resident": member.foreign_resident,
                "birth_date_partial": member.birth_date_partial,
            }
            | ({"name_details": member.name_details} if member.name_details else {})
            | ({"resident_code": member.resident_code} if member.resident_code else {})
            | ({"my_number": member.sealed_my_number} if member.sealed_my_number else {})
        )
        if member.previous_person_id:
            person = p.change_person(
                member.previous_person_id, command.effective_date, command.notified_date, **fields
            )
            p.new_identities.append(person)  # resident again, perhaps under another name
        else:
            person = PersonRecord(
                person_id=next(new_ids), version=1, movement_kind=p.movement.kind,
                **fields, **p.stamp(command.effective_date, command.notified_date),
            )  # fmt: skip
            p.persons[person.person_id] = person
            p.new_identities.append(person)
        (p.codes_brought if person.resident_code else p.code_needed).append(person.person_id)
        arriving.append(person.person_id)
    if command.join_household_id:
        members = [*p.household(household_id).member_ids, *arriving]
        p.change_household(household_id, command.effective_date, member_ids=members)
    else:
        head = next(pid for pid, m in zip(arriving, command.members, strict=True) if m.relationship == HEAD)
        p.new_household(household_id, head, arriving, command.effective_date, command.address)


def _plan_in_city_move(command: InCityMove, p: _Plan) -> None:
    eff, notified = command.effective_date, command.notified_date
    target = command.destination
    if isinstance(target, SameHousehold):
        household_id = p.person(command.person_ids[0]).household_id
        p.change_household(household_id, eff, address=command.address)
        for pid in command.person_ids:
            p.change_person(pid, eff, notified, address=command.address, address_since=eff)
        return
    p.leave(command.person_ids, eff)
    if isinstance(target, NewHousehold):
        household_id = p.new_household_ids[0]
        p.new_household(household_id, target.head_person_id, list(command.person_ids), eff, command.address)
    else:
        household_id = target.household_id
        p.change_household(
            household_id, eff, member_ids=[*p.household(household_id).member_ids, *command.person_ids]
        )
    for pid in command.person_ids:
        relationship = HEAD if isinstance(target, NewHousehold) and pid == target.head_person_id else None
        p.change_person(
            pid, eff, notified, address=command.address, address_since=eff, household_id=household_id,
            relationship=relationship or command.relationships[pid],
        )  # fmt: skip


def _plan_move_out(command: MoveOut, p: _Plan) -> None:
    details = MoveOutDetails(
        planned_date=command.planned_date,
        planned_destination=command.destination,
        notified_date=command.notified_date,
        card_move_out=command.card_move_out,
    )
    for pid in command.person_ids:
        p.change_person(
            pid, command.planned_date, command.notified_date, status=ResidentStatus.REMOVED,
            removal=Removal(reason=RemovalReason.MOVE_OUT, removed_on=command.planned_date), move_out=details,
        )  # fmt: skip
    p.leave(command.person_ids, command.planned_date)


def _plan_confirmation(command: MoveOutConfirmation, p: _Plan) -> None:
    person = p.view.persons[command.person_id]
    assert person.move_out is not None and person.removal is not None
    details = person.move_out.model_copy(
        update={"confirmed_date": command.moved_in_date, "confirmed_destination": command.destination}
    )
    removed_on = min(person.removal.removed_on, command.moved_in_date)  # the earlier of the two
    p.change_person(
        command.person_id, command.notified_date, command.notified_date, move_out=details,
        removal=person.removal.model_copy(update={"removed_on": removed_on}),
    )  # fmt: skip


def _plan_birth(command: Birth, p: _Plan) -> None:
    household = p.household(command.household_id)
    child = PersonRecord(
        person_id=p.new_person_ids[0], version=1, household_id=command.household_id, name=command.name,
        birth_date=command.effective_date, sex=command.sex, relationship=command.relationship,
        address=household.address, resident_since=command.effective_date,
        address_since=command.effective_date, status=ResidentStatus.RESIDENT, movement_kind=p.movement.kind,
        koseki=command.koseki, foreign_resident=command.foreign_resident,
        **p.stamp(command.effective_date, command.notified_date),
    )  # fmt: skip
    p.persons[child.person_id] = child
    p.new_identities.append(child)
    p.code_needed.append(child.person_id)
    head = child.person_id if command.relationship == HEAD else household.head_person_id
    p.change_household(
        command.household_id, command.effective_date, member_ids=[*household.member_ids, child.person_id],
        head_person_id=head,
    )  # fmt: skip


def _plan_death(command: Death, p: _Plan) -> None:
    reason = {
        "death": RemovalReason.DEATH,
        "missing": RemovalReason.MISSING,
        "ex_officio": RemovalReason.EX_OFFICIO,
    }[command.cause]
    p.change_person(
        command.person_id, command.effective_date, command.notified_date, status=ResidentStatus.REMOVED,
        removal=Removal(reason=reason, removed_on=command.effective_date),
    )  # fmt: skip
    p.leave([command.person_id], command.effective_date)


def _plan_head_change(command: HeadChange, p: _Plan) -> None:
    eff, notified = command.effective_date, command.notified_date
    p.change_household(command.household_id, eff, head_person_id=command.new_head_person_id)
    for pid in p.household(command.household_id).member_ids:
        relationship = HEAD if pid == command.new_head_person_id else command.relationships[pid]
        if relationship != p.person(pid).relationship:
            p.change_person(pid, eff, notified, relationship=relationship)


def _plan_split(command: HouseholdSplit, p: _Plan) -> None:
    eff, notified = command.effective_date, command.notified_date
    original = p.household(command.household_id)
    p.leave(command.person_ids, eff)
    household_id = p.new_household_ids[0]
    p.new_household(household_id, command.new_head_person_id, list(command.person_ids), eff, original.address)
    for pid in command.person_ids:
        relationship = HEAD if pid == command.new_head_person_id else command.relationships[pid]
        p.change_person(pid, eff, notified, household_id=household_id, relationship=relationship)


def _plan_merge(command: HouseholdMerge, p: _Plan) -> None:
    eff, notified = command.effective_date, command.notified_date
    incoming = list(p.household(command.from_household_id).member_ids)
    p.change_household(command.from_household_id, eff, member_ids=[])
    p.join(command.into_household_id, incoming, command.relationships, eff, notified)


def _plan_household_change(command: HouseholdChange, p: _Plan) -> None:
    eff, notified = command.effective_date, command.notified_date
    p.leave(command.person_ids, eff)
    p.join(command.into_household_id, command.person_ids, command.relationships, eff, notified)


def _plan_name_details(command: NameDetailsChange, p: _Plan) -> None:
    p.change_person(
        command.person_id, command.effective_date, command.notified_date, name_details=command.name_details
    )


def _plan_foreign_resident(command: ForeignResidentChange, p: _Plan) -> None:
    p.change_person(
        command.person_id, command.effective_date, command.notified_date,
        foreign_resident=command.foreign_resident, koseki=command.koseki,
    )  # fmt: skip


def _plan_code_change(command: ResidentCodeChange, p: _Plan) -> None:
    person = p.view.persons[command.person_id]
    previous = [*person.previous_resident_codes, *([person.resident_code] if person.resident_code else [])]
    p.change_person(command.person_id, command.effective_date, command.notified_date, resident_code=None,
                    previous_resident_codes=previous)  # fmt: skip
    p.code_needed.append(command.person_id)


def _plan_my_number_change(command: MyNumberChange, p: _Plan) -> None:
    p.change_person(
        command.person_id, command.effective_date, command.notified_date, my_number=command.sealed_my_number
    )


def _plan_qualification(command: QualificationChange, p: _Plan) -> None:
    """Merged into the record read at commit, not the one read at entry: a group another notice
    set meanwhile is kept."""
    current = p.person(command.person_id).qualifications
    p.change_person(
        command.person_id, command.effective_date, command.notified_date,
        qualifications=command.merged(current),
    )  # fmt: skip


def _plan_correction(command: Correction, p: _Plan) -> None:
    person = p.change_person(
        command.person_id, command.effective_date, command.notified_date, **_given(command)
    )
    if command.changes.name is not None or command.changes.birth_date is not None:
        p.new_identities.append(person)


_STAMP_FIELDS = {"version", "effective_date", "notified_date", "movement_id", "movement_kind", "recorded_at"}


def _content(record: PersonRecord | HouseholdRecord, **overrides: Any) -> dict[str, Any]:
    """A record's items without its identity and version stamp, as values."""
    own_id = "person_id" if isinstance(record, PersonRecord) else "household_id"
    return {
        key: value for key, value in dict(record).items() if key not in {*_STAMP_FIELDS, own_id}
    } | overrides


def _restored_residents(view: LedgerView) -> list[PersonRecord]:
    """The earlier versions a cancellation brings back as residents (e.g. it undoes a death)."""
    return [
        earlier
        for pid, earlier in view.earlier_persons.items()
        if earlier.status == ResidentStatus.RESIDENT and view.persons[pid].status != ResidentStatus.RESIDENT
    ]


def _plan_cancellation(command: Cancellation, p: _Plan) -> None:
    """Each record the cancelled movement wrote gets a new version with the content it had before;
    a record the movement created is marked as never having been (removed, reason cancelled)."""
    cancelled = p.view.cancelled
    assert cancelled is not None and cancelled.result is not None
    for pid in cancelled.result.person_ids:
        current = p.view.persons[pid]
        earlier = p.view.earlier_persons.get(pid)
        content = (
            _content(earlier)
            if earlier
            else _content(
                current,
                status=ResidentStatus.REMOVED,
                removal=Removal(reason=RemovalReason.CANCELLED, removed_on=current.effective_date),
            )
        )
        restored = p.change_person(pid, current.effective_date, command.notified_date, **content)
        if restored.status == ResidentStatus.RESIDENT and current.status != ResidentStatus.RESIDENT:
            p.new_identities.append(restored)  # resident again (a cancelled death, say): filed again
    for hid in cancelled.result.household_ids:
        current_household = p.view.households[hid]
        earlier_household = p.view.earlier_households.get(hid)
        content = (
            _content(earlier_household)
            if earlier_household
            else _content(current_household, member_ids=[], head_person_id=None)
        )
        p.change_household(hid, current_household.effective_date, **content)


_PLANS: dict[type, Callable[[Any, _Plan], None]] = {
    MoveIn: _plan_move_in,
    InCityMove: _plan_in_city_move,
    MoveOut: _plan_move_out,
    MoveOutConfirmation: _plan_confirmation,
    Birth: _plan_birth,
    Death: _plan_death,
    HeadChange: _plan_head_change,
    HouseholdSplit: _plan_split,
    HouseholdMerge: _plan_merge,
    HouseholdChange: _plan_household_change,
    NameDetailsChange: _plan_name_details,
    ForeignResidentChange: _plan_foreign_resident,
    ResidentCodeChange: _plan_code_change,
    MyNumberChange: _plan_my_number_change,
    QualificationChange: _plan_qualification,
    Correction: _plan_correction,
    Cancellation: _plan_cancellation,
}


def with_resident_codes(plan: CommitPlan, codes: dict[str, str]) -> CommitPlan:
    """The plan with the codes taken from the pool written on the people who needed one."""
    if set(codes) != set(plan.code_needed):
        raise ValueError("one code for each person who needs one")

    def coded[R: PersonRecord](record: R) -> R:
        return (
            record.model_copy(update={"resident_code": codes[record.person_id]})
            if record.person_id in codes
            else record
        )

    return plan.model_copy(
        update={
            "persons": [coded(p) for p in plan.persons],
            "new_identities": [coded(p) for p in plan.new_identities],
        }
    )


def finalise(movement: Movement, plan: CommitPlan) -> Movement:
    return movement.model_copy(
        update={
            "status": MovementStatus.FINAL,
            "result": MovementResult(
                person_ids=[p.person_id for p in plan.persons],
                household_ids=[h.household_id for h in plan.households],
            ),
        }
    )


def fail(movement: Movement, issues: list[Issue]) -> Movement:
    return movement.model_copy(update={"status": MovementStatus.FAILED, "failure": issues})


# -- the two-person rule -------------------------------------------------------------------------


def _check_approver(movement: Movement, approver: Actor) -> None:
    if not approver.may(Permission.MOVEMENT_APPROVE):
        raise Forbidden("PERMISSION_DENIED", "決裁の権限がありません")
    if approver.staff_id == movement.entered_by:
        raise Forbidden("SELF_APPROVAL", "自分が入力した異動は決裁できません (ダブルチェック)")


def _require_status(movement: Movement, status: MovementStatus) -> None:
    if movement.status != status:
        raise Conflict(
            "MOVEMENT_NOT_DRAFT", f"仮登録の異動ではありません (状態: {movement.status})", "status"
        )


def approve(movement: Movement, approver: Actor, approval_id: str, now: datetime) -> Movement:
    """審査・決裁: a different person with the approval permission approves a draft."""
    _check_approver(movement, approver)
    _require_status(movement, MovementStatus.DRAFT)
    return movement.model_copy(
        update={
            "status": MovementStatus.APPROVED,
            "approved_by": approver.staff_id,
            "approved_at": now,
            "approval_id": approval_id,
        }
    )


def reject(movement: Movement, approver: Actor, reason: str, now: datetime) -> Movement:
    """差戻し: the approver returns a draft to the clerk, with the reason."""
    _check_approver(movement, approver)
    _require_status(movement, MovementStatus.DRAFT)
    return movement.model_copy(
        update={
            "status": MovementStatus.REJECTED,
            "approved_by": approver.staff_id,
            "approved_at": now,
            "rejection_reason": reason,
        }
    )


def check_resume(movement: Movement, approver: Actor) -> None:
    """An approved movement whose commit did not finish may be pushed on by an approver other
    than the person who entered it (the approval itself is already recorded)."""
    _check_approver(movement, approver)
    _require_status(movement, MovementStatus.APPROVED)
