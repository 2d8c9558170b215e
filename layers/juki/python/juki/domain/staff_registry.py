"""The register of staff accounts (職員): who may sign in, with which roles, from which offices.

A token from the identity provider only says who is signing in and from where. What they may do
comes from this register, so a disabled or transferred account is refused at its next request,
and a role taken away is gone at once. One account is one person: an account names the person's
employee number (職員番号, or the contractor's staff number), and no two accounts share one, so a
shared account cannot be made.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from juki.domain.errors import DomainError, Forbidden, Unauthenticated
from juki.domain.staff import STAFF_ROLES, Permission, Role, permissions_of
from juki.domain.values import ShortText, ascii_upper


class StaffStatus(StrEnum):
    ACTIVE = "active"  # 在職
    DISABLED = "disabled"  # 停止 (退職・休職・不正の疑い)
    TRANSFERRED = "transferred"  # 異動 (他部署へ: この業務の権限はない)


StaffId = Annotated[str, BeforeValidator(ascii_upper), StringConstraints(pattern=r"^[A-Z][A-Z0-9]{2,15}$")]
EmployeeNumber = Annotated[
    str, BeforeValidator(ascii_upper), StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{2,19}$")
]
Office = Annotated[
    str,
    BeforeValidator(lambda v: unicodedata.normalize("NFKC", v).strip() if isinstance(v, str) else v),
    StringConstraints(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

Change = Literal["registered", "roles", "offices", "disabled", "transferred", "enabled"]


def _distinct[T](what: str) -> AfterValidator:
    def check(values: list[T]) -> list[T]:
        if len(set(values)) != len(values):
            raise ValueError(f"{what}が重複しています")
        return values

    return AfterValidator(check)


Roles = Annotated[list[Role], _distinct("役割")]
Offices = Annotated[list[Office], Field(min_length=1, max_length=20), _distinct("庁舎")]


class NewStaffUser(BaseModel):
    """職員の登録."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    staff_id: StaffId = Field(description="職員ID (認証基盤の利用者ID、英大文字で始まる3〜16文字)")
    name: ShortText = Field(description="氏名")
    employee_number: EmployeeNumber = Field(description="職員番号 (委託事業者は社員番号)。一人一アカウント")
    roles: Roles = Field(description="役割")
    offices: Offices = Field(description="操作できる庁舎・所属")
    contractor: ShortText | None = Field(default=None, description="委託事業者名 (委託事業者の職員のみ)")
    valid_until: date | None = Field(default=None, description="利用期限 (委託事業者は必須)")


class RoleChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: Roles = Field(description="新しい役割 (空にするとどの機能も使えない)")
    reason: Reason = Field(description="変更の理由 (操作ログに残る)")


class OfficeChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    offices: Offices = Field(description="新しい庁舎・所属")
    reason: Reason = Field(description="変更の理由")


class StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason = Field(description="理由 (退職、人事異動、休職、調査中 など)")


class StaffUser(BaseModel):
    """One version of a staff account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    staff_id: str = Field(description="職員ID")
    name: str = Field(description="氏名")
    employee_number: str = Field(description="職員番号")
    roles: list[Role] = Field(description="役割")
    offices: list[str] = Field(description="操作できる庁舎・所属")
    status: StaffStatus = Field(description="状態")
    contractor: str | None = Field(default=None, description="委託事業者名")
    valid_until: date | None = Field(default=None, description="利用期限")
    version: int = Field(ge=1, description="版")
    changed_at: datetime = Field(description="この版の日時")
    changed_by: str = Field(description="この版を作った職員")
    change: Change = Field(description="この版で変わったこと")
    reason: str | None = Field(default=None, description="理由")

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)


def _check_scope(roles: list[Role], contractor: str | None, valid_until: date | None, today: date) -> None:
    """A contractor's account is narrow and temporary; a city employee's carries no contractor;
    nobody holds the role of a machine."""
    if not set(roles) <= STAFF_ROLES:
        raise DomainError("MACHINE_ROLE", "証明発行システムの役割は職員のアカウントに付けられません", "roles")
    if Role.CONTRACTOR in roles or contractor is not None:
        if contractor is None or valid_until is None:
            raise DomainError(
                "CONTRACTOR_TERMS_MISSING",
                "委託事業者のアカウントには事業者名と利用期限が必要です",
                "valid_until",
            )
        if not set(roles) <= {Role.CONTRACTOR}:
            raise DomainError(
                "CONTRACTOR_SCOPE",
                "委託事業者のアカウントには運用の役割 (contractor) だけを付けられます",
                "roles",
            )
    if valid_until is not None and valid_until < today:
        raise DomainError("VALID_UNTIL_PAST", "利用期限が過去の日付です", "valid_until")


def _not_self(target: str, actor_id: str) -> None:
    if target == actor_id:
        raise Forbidden(
            "SELF_ADMINISTRATION", "自分のアカウントは変更できません (別の管理者が行います)", "staff_id"
        )


def register(command: NewStaffUser, *, by: str, at: datetime) -> StaffUser:
    _not_self(command.staff_id, by)
    _check_scope(command.roles, command.contractor, command.valid_until, at.date())
    return StaffUser(
        **command.model_dump(),
        status=StaffStatus.ACTIVE,
        version=1,
        changed_at=at,
        changed_by=by,
        change="registered",
    )


def change_roles(user: StaffUser, command: RoleChange, *, by: str, at: datetime) -> StaffUser:
    _not_self(user.staff_id, by)
    if user.status is not StaffStatus.ACTIVE:
        raise DomainError(
            "STAFF_NOT_ACTIVE", "停止中・異動済みのアカウントの役割は変更できません", "staff_id"
        )
    _check_scope(command.roles, user.contractor, user.valid_until, at.date())
    return _next(user, by, at, "roles", command.reason, roles=command.roles)


def change_offices(user: StaffUser, command: OfficeChange, *, by: str, at: datetime) -> StaffUser:
    _not_self(user.staff_id, by)
    return _next(user, by, at, "offices", command.reason, offices=command.offices)


def change_status(
    user: StaffUser, status: StaffStatus, command: StatusChange, *, by: str, at: datetime
) -> StaffUser:
    _not_self(user.staff_id, by)
    if user.status is status:
        raise DomainError("STAFF_STATUS_UNCHANGED", "すでにその状態です", "status")
    if status is StaffStatus.ACTIVE:
        _check_scope(user.roles, user.contractor, user.valid_until, at.date())
    changes: dict[StaffStatus, Change] = {
        StaffStatus.ACTIVE: "enabled",
        StaffStatus.DISABLED: "disabled",
        StaffStatus.TRANSFERRED: "transferred",
    }
    change = changes[status]
    return _next(user, by, at, change, command.reason, status=status)


def _next(
    user: StaffUser, by: str, at: datetime, change: Change, reason: str, **changes: object
) -> StaffUser:
    return user.model_copy(
        update={
            **changes,
            "version": user.version + 1,
            "changed_at": at,
            "changed_by": by,
            "change": change,
            "reason": reason,
        }
    )


def admit(user: StaffUser | None, *, office: str, today: date) -> frozenset[Role]:
    """May this account act now, from this office? Its roles if so; a refusal names why."""
    if user is None:
        raise Unauthenticated("STAFF_NOT_REGISTERED", "登録されていない職員です", "sub")
    if user.status is StaffStatus.DISABLED:
        raise Unauthenticated("STAFF_DISABLED", "この職員のアカウントは停止されています", "sub")
    if user.status is StaffStatus.TRANSFERRED:
        raise Unauthenticated(
            "STAFF_TRANSFERRED", "この職員は異動しており、この業務の権限がありません", "sub"
        )
    if user.valid_until is not None and today > user.valid_until:
        raise Unauthenticated("STAFF_EXPIRED", "この職員のアカウントは利用期限を過ぎています", "sub")
    if unicodedata.normalize("NFKC", office).strip() not in user.offices:
        raise Unauthenticated("STAFF_OFFICE_NOT_ALLOWED", "この庁舎からの操作は許可されていません", "office")
    return frozenset(user.roles)
