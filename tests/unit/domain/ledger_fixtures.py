"""A small ledger in memory for the domain tests: the 駿府 household of three, version 1."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from juki.domain import movements as rules
from juki.domain.commands import MovementCommand
from juki.domain.model import CommitPlan, Movement, MovementStatus
from juki.domain.movements import LedgerView
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import Address, MovementKind, PersonName, ResidentStatus, Sex
from pydantic import TypeAdapter

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
HOUSEHOLD = "0000000019"
HEAD, WIFE, CHILD = "0000000019", "0000000027", "0000000035"
ADDRESS = Address(postal_code="420-0853", ward="葵区", town="追手町", lot="5番1号")
NEW_ADDRESS = Address(
    postal_code="422-8017", ward="駿河区", town="南町", lot="10番3号", katagaki="南町ハイツ201"
)

commands: TypeAdapter[Any] = TypeAdapter(MovementCommand)


def person(
    pid: str, given: str, kana: str, born: str, sex: Sex, relationship: str, **changes: Any
) -> PersonRecord:
    return PersonRecord(
        person_id=pid, version=1, household_id=HOUSEHOLD,
        name=PersonName(family_name="駿府", given_name=given, family_name_kana="スンプ", given_name_kana=kana),
        birth_date=date.fromisoformat(born), sex=sex, relationship=relationship, address=ADDRESS,
        resident_since=date(2020, 4, 1), address_since=date(2020, 4, 1), notified_date=date(2020, 4, 1),
        status=ResidentStatus.RESIDENT, movement_id="m" * 32, movement_kind=MovementKind.MOVE_IN,
        effective_date=date(2020, 4, 1), recorded_at=NOW,
    ).model_copy(update=changes)  # fmt: skip


def family() -> LedgerView:
    persons = [
        person(HEAD, "家康", "イエヤス", "1975-01-31", Sex.MALE, "世帯主"),
        person(WIFE, "築山", "ツキヤマ", "1977-03-03", Sex.FEMALE, "妻"),
        person(CHILD, "信康", "ノブヤス", "2010-03-05", Sex.MALE, "子"),
    ]
    household = HouseholdRecord(
        household_id=HOUSEHOLD, version=1, head_person_id=HEAD, member_ids=[HEAD, WIFE, CHILD], address=ADDRESS,
        movement_id="m" * 32, effective_date=date(2020, 4, 1), recorded_at=NOW,
    )  # fmt: skip
    return LedgerView(persons={p.person_id: p for p in persons}, households={HOUSEHOLD: household})


def movement(body: dict[str, Any], movement_id: str = "a" * 32) -> Movement:
    command = commands.validate_python(body)
    return Movement(
        movement_id=movement_id, kind=command.kind, status=MovementStatus.APPROVED, command=command,
        entered_by="S1001", entered_at=NOW, office="葵区役所", terminal="T1", approved_by="S2001",
        approved_at=NOW, approval_id="b" * 32,
    )  # fmt: skip


def issues(body: dict[str, Any], view: LedgerView | None = None) -> list[tuple[str, str, str | None]]:
    found = rules.check(commands.validate_python(body), view or family(), TODAY)
    return [(i.code, i.severity, i.field) for i in found]


def plan(
    body: dict[str, Any], view: LedgerView | None = None, new_persons: int = 3, new_households: int = 1
) -> CommitPlan:
    view = view or family()
    assert rules.check(commands.validate_python(body), view, TODAY) == [] or all(
        i.severity == "alert" for i in rules.check(commands.validate_python(body), view, TODAY)
    )
    return rules.plan(
        movement(body), view, [f"900000000{i}" for i in range(new_persons)],
        [f"800000000{i}" for i in range(new_households)], NOW,
    )  # fmt: skip


def apply(view: LedgerView, result: CommitPlan) -> LedgerView:
    """The view after a commit: what the store would hold as current."""
    persons = dict(view.persons) | {p.person_id: p for p in result.persons}
    households = dict(view.households) | {h.household_id: h for h in result.households}
    return LedgerView(persons=persons, households=households)
