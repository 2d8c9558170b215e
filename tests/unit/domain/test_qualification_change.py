"""資格情報の変更 (``qualification_change``): one group set per movement, merged into the record at
plan time, so notices for different groups never undo each other (pure domain)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from juki.domain import movements as rules
from juki.domain.commands import QualificationChange
from juki.domain.record_items import ChildAllowance, NationalHealthInsurance, NationalPension, Qualifications
from juki.domain.records import Removal
from juki.domain.values import MovementKind, RemovalReason, ResidentStatus
from ledger_fixtures import CHILD, HEAD, NOW, apply, commands, family, issues, movement, plan
from pydantic import ValidationError

NHI = {"card_number": "12345678", "category": "01", "acquired_on": "2026-11-01"}
PENSION = {"number": "1234-567890", "kind": "1", "acquired_on": "2026-11-01"}


def notice(group: str = "national_health_insurance", value: Any = NHI, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "qualification_change", "person_id": HEAD, "group": group, "value": value,
        "source_system": "国保システム", "effective_date": "2026-11-01", "notified_date": "2026-11-02",
    } | overrides  # fmt: skip


def test_the_value_is_read_as_the_model_of_its_group() -> None:
    command = commands.validate_python(notice())
    assert isinstance(command, QualificationChange)
    assert command.value == NationalHealthInsurance.model_validate(NHI)
    assert command.kind == MovementKind.QUALIFICATION_CHANGE
    ended = commands.validate_python(notice(value=None))
    assert isinstance(ended, QualificationChange) and ended.value is None


@pytest.mark.parametrize(
    "body",
    [
        notice(group="library_card"),  # not a group of the record
        notice(value={"number": "12"}),  # 国保 has no pension number
        notice(group="national_pension", value={"number": "not-a-number"}),
        notice(value={**NHI, "lost_on": "2026-10-01"}),  # lost before acquired
        {k: v for k, v in notice().items() if k != "value"},  # the value must be given (null to end)
    ],
)
def test_a_value_outside_its_group_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        commands.validate_python(body)


def test_a_qualification_is_set_and_the_other_groups_are_kept() -> None:
    view = family()
    holder = view.persons[HEAD].model_copy(
        update={
            "qualifications": Qualifications(child_allowance=ChildAllowance(payment_from=date(2020, 5, 1)))
        }
    )
    view.persons[HEAD] = holder
    (written,) = plan(notice(), view).persons
    assert written.qualifications.national_health_insurance == NationalHealthInsurance.model_validate(NHI)
    assert written.qualifications.child_allowance == holder.qualifications.child_allowance
    assert written.version == holder.version + 1
    assert written.movement_kind == MovementKind.QUALIFICATION_CHANGE
    assert written.effective_date == date(2026, 11, 1)


def test_two_notices_checked_against_the_same_record_both_stay_when_committed_in_turn() -> None:
    """Both are entered against the same version; the second is planned on the record the first
    committed, so its group is added, not the first one's undone."""
    view = family()
    first, second = notice(), notice(group="national_pension", value=PENSION)
    assert issues(first, view) == [] and issues(second, view) == []
    after_first = apply(view, rules.plan(movement(first), view, [], [], NOW))
    after_second = apply(after_first, rules.plan(movement(second, "c" * 32), after_first, [], [], NOW))
    held = after_second.persons[HEAD].qualifications
    assert held.national_health_insurance == NationalHealthInsurance.model_validate(NHI)
    assert held.national_pension == NationalPension.model_validate(PENSION)
    assert after_second.persons[HEAD].version == 3


def test_an_ended_qualification_is_removed() -> None:
    view = family()
    view.persons[HEAD] = view.persons[HEAD].model_copy(
        update={
            "qualifications": Qualifications(
                national_health_insurance=NationalHealthInsurance.model_validate(NHI)
            )
        }
    )
    (written,) = plan(
        notice(value=None, effective_date="2026-11-20", notified_date="2026-11-20"), view
    ).persons
    assert written.qualifications == Qualifications()


def test_the_same_value_again_changes_nothing() -> None:
    view = family()
    view.persons[HEAD] = view.persons[HEAD].model_copy(
        update={
            "qualifications": Qualifications(
                national_health_insurance=NationalHealthInsurance.model_validate(NHI)
            )
        }
    )
    assert ("NOTHING_CHANGES", "error", "value") in issues(notice(), view)
    assert ("NOTHING_CHANGES", "error", "value") in issues(notice(group="child_allowance", value=None))


def test_dates_and_the_person_are_checked() -> None:
    assert ("FUTURE_EFFECTIVE_DATE", "error", "effective_date") in issues(
        notice(effective_date="2026-12-01", notified_date="2026-12-01")
    )
    assert ("EFFECTIVE_BEFORE_LAST_CHANGE", "error", "effective_date") in issues(
        notice(effective_date="2019-04-01", notified_date="2019-04-02")
    )
    assert ("PERSON_NOT_FOUND", "error", "person_id") in issues(notice(person_id="0000000990"))
    view = family()
    view.persons[CHILD] = view.persons[CHILD].model_copy(
        update={
            "status": ResidentStatus.REMOVED,
            "removal": Removal(reason=RemovalReason.DEATH, removed_on=date(2026, 10, 1)),
        }
    )
    assert ("NOT_RESIDENT", "error", "person_id") in issues(notice(person_id=CHILD), view)
