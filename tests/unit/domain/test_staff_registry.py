"""The staff register's rules: one account per person, narrow contractor accounts, nobody
administers their own account, and who may sign in from where."""

from datetime import UTC, date, datetime, timedelta

import pytest
from juki.domain.errors import DomainError, Forbidden, Unauthenticated
from juki.domain.staff import ROLE_PERMISSIONS, Permission, Role
from juki.domain.staff_registry import (
    NewStaffUser,
    OfficeChange,
    RoleChange,
    StaffStatus,
    StatusChange,
    admit,
    change_offices,
    change_roles,
    change_status,
    register,
)
from pydantic import ValidationError

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def new(**changes: object) -> NewStaffUser:
    fields: dict[str, object] = {
        "staff_id": "s1234",
        "name": "静岡 花子",
        "employee_number": "e-0012",
        "roles": ["clerk"],
        "offices": ["葵区役所"],
    }
    return NewStaffUser.model_validate(fields | changes)


def test_ids_are_written_one_way() -> None:
    user = register(new(), by="S7001", at=NOW)
    assert (user.staff_id, user.employee_number, user.version, user.status) == (
        "S1234", "E-0012", 1, StaffStatus.ACTIVE,
    )  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [
        {"roles": ["clerk", "clerk"]},
        {"offices": []},
        {"staff_id": "1ABC"},
        {"employee_number": "x"},
        {"roles": ["root"]},
    ],
)
def test_malformed_accounts_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        new(**changes)


def test_nobody_administers_their_own_account() -> None:
    with pytest.raises(Forbidden) as raised:
        register(new(staff_id="S7001"), by="S7001", at=NOW)
    assert raised.value.code == "SELF_ADMINISTRATION"
    user = register(new(), by="S7001", at=NOW)
    with pytest.raises(Forbidden):
        change_roles(user, RoleChange(roles=[Role.APPROVER], reason="昇任"), by="S1234", at=NOW)


def test_a_contractor_account_is_narrow_and_temporary() -> None:
    terms = {"contractor": "運用株式会社", "valid_until": TODAY + timedelta(days=90)}
    assert register(new(roles=["contractor"], **terms), by="S7001", at=NOW).roles == [Role.CONTRACTOR]
    with pytest.raises(DomainError) as raised:
        register(new(roles=["contractor"]), by="S7001", at=NOW)
    assert raised.value.code == "CONTRACTOR_TERMS_MISSING"
    for extra in ("viewer", "staff_admin", "auditor"):
        with pytest.raises(DomainError) as raised:
            register(new(roles=["contractor", extra], **terms), by="S7001", at=NOW)
        assert raised.value.code == "CONTRACTOR_SCOPE"
    with pytest.raises(DomainError) as raised:
        register(new(roles=["auditor"], **terms), by="S7001", at=NOW)
    assert raised.value.code == "CONTRACTOR_SCOPE", "a contractor's account holds the contractor role only"
    with pytest.raises(DomainError) as raised:
        register(new(roles=["contractor"], contractor="運用株式会社", valid_until=TODAY - timedelta(days=1)),
                 by="S7001", at=NOW)  # fmt: skip
    assert raised.value.code == "VALID_UNTIL_PAST"


def test_the_contractor_role_sees_no_resident() -> None:
    assert ROLE_PERMISSIONS[Role.CONTRACTOR] == frozenset({Permission.OPERATIONS})
    assert Permission.RESIDENT_READ not in ROLE_PERMISSIONS[Role.STAFF_ADMIN]
    assert Permission.RESIDENT_READ not in ROLE_PERMISSIONS[Role.AUDITOR]


def test_changes_make_versions_that_say_what_changed() -> None:
    user = register(new(), by="S7001", at=NOW)
    promoted = change_roles(user, RoleChange(roles=[Role.APPROVER], reason="昇任"), by="S7001", at=NOW)
    moved = change_offices(
        promoted, OfficeChange(offices=["清水区役所"], reason="配置換え"), by="S7001", at=NOW
    )
    gone = change_status(moved, StaffStatus.TRANSFERRED, StatusChange(reason="人事異動"), by="S7001", at=NOW)
    assert [(v.version, v.change) for v in (user, promoted, moved, gone)] == [
        (1, "registered"), (2, "roles"), (3, "offices"), (4, "transferred"),
    ]  # fmt: skip
    with pytest.raises(DomainError) as raised:
        change_roles(gone, RoleChange(roles=[Role.CLERK], reason="x"), by="S7001", at=NOW)
    assert raised.value.code == "STAFF_NOT_ACTIVE"
    with pytest.raises(DomainError) as raised:
        change_status(gone, StaffStatus.TRANSFERRED, StatusChange(reason="x"), by="S7001", at=NOW)
    assert raised.value.code == "STAFF_STATUS_UNCHANGED"


def test_who_may_sign_in_from_where() -> None:
    user = register(new(offices=["葵区役所", "駿河区役所"]), by="S7001", at=NOW)
    assert admit(user, office="駿河区役所", today=TODAY) == frozenset({Role.CLERK})
    assert admit(user, office=" 葵区役所 ", today=TODAY) == frozenset({Role.CLERK})
    refusals = {
        "STAFF_NOT_REGISTERED": (None, "葵区役所"),
        "STAFF_OFFICE_NOT_ALLOWED": (user, "清水区役所"),
        "STAFF_DISABLED": (change_status(user, StaffStatus.DISABLED, StatusChange(reason="退職"), by="S7001", at=NOW), "葵区役所"),
        "STAFF_TRANSFERRED": (change_status(user, StaffStatus.TRANSFERRED, StatusChange(reason="異動"), by="S7001", at=NOW), "葵区役所"),
    }  # fmt: skip
    for code, (account, office) in refusals.items():
        with pytest.raises(Unauthenticated) as raised:
            admit(account, office=office, today=TODAY)
        assert raised.value.code == code


def test_an_expired_contractor_is_refused_the_day_after() -> None:
    last_day = date(2026, 12, 31)
    user = register(
        new(roles=["contractor"], contractor="運用株式会社", valid_until=last_day, offices=["静岡市役所"]),
        by="S7001",
        at=NOW,
    )
    assert admit(user, office="静岡市役所", today=last_day) == frozenset({Role.CONTRACTOR})
    with pytest.raises(Unauthenticated) as raised:
        admit(user, office="静岡市役所", today=last_day + timedelta(days=1))
    assert raised.value.code == "STAFF_EXPIRED"
