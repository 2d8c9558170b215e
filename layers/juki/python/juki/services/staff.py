"""Application service for the staff register: who may sign in (checked on every request), the
administration of accounts, and the periodic review of accounts and permissions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, Field

from juki.domain.errors import DomainError, NotFound
from juki.domain.oplog import Action, OperationLogEntry, entry_for
from juki.domain.staff import PERMISSION_FUNCTIONS, Actor, Permission, Role, SystemActor, permissions_of
from juki.domain.staff_registry import (
    NewStaffUser,
    OfficeChange,
    RoleChange,
    StaffStatus,
    StaffUser,
    StatusChange,
    admit,
    change_offices,
    change_roles,
    change_status,
    register,
)
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

FUNCTION_STAFF = "staff.admin"
FUNCTION_AUDIT = "audit.read"
FUNCTION_SIGN_IN = "auth.sign_in"
MAX_REVIEW_DAYS = 400


class StaffDirectory(Protocol):
    def get(self, staff_id: str) -> StaffUser | None: ...

    def history(self, staff_id: str) -> list[StaffUser]: ...

    def all(self) -> list[StaffUser]: ...

    def versions_since(self, since: datetime) -> Iterator[StaffUser]: ...

    def save(self, user: StaffUser, log: OperationLogEntry) -> None:
        """The version and its log entry together; a concurrent change is a Conflict."""


class ActivityLog(Protocol):
    def last_activity(self, staff_id: str, since: datetime) -> datetime | None: ...

    def between(self, start: datetime, end: datetime) -> Iterator[OperationLogEntry]: ...


class StaffList(BaseModel):
    staff: list[StaffUser] = Field(description="職員 (職員IDの順)")


class StaffHistory(BaseModel):
    staff_id: str = Field(description="職員ID")
    versions: list[StaffUser] = Field(description="すべての版 (古い順)")


class UnusedAccount(BaseModel):
    staff_id: str = Field(description="職員ID")
    roles: list[Role] = Field(description="役割")
    offices: list[str] = Field(description="庁舎・所属")
    registered_at: datetime = Field(description="登録日時")


class RoleChangeRow(BaseModel):
    staff_id: str = Field(description="職員ID")
    changed_at: datetime = Field(description="変更日時")
    changed_by: str = Field(description="変更した職員")
    before: list[Role] = Field(description="変更前の役割")
    after: list[Role] = Field(description="変更後の役割")
    reason: str | None = Field(description="理由")


class PermissionUse(BaseModel):
    permission: Permission = Field(description="権限")
    holders: int = Field(description="権限を持つ有効な職員の数")
    uses: int = Field(description="期間中に使われた回数 (操作ログ)")


class StaffReview(BaseModel):
    """職員・権限の定期点検."""

    generated_at: datetime = Field(description="作成日時")
    period_start: date = Field(description="点検期間の初日")
    period_end: date = Field(description="点検期間の末日")
    unused_days: int = Field(description="この日数使われていないアカウントを挙げる")
    unused_accounts: list[UnusedAccount] = Field(description="期間中に一度も使われていない有効なアカウント")
    role_changes: list[RoleChangeRow] = Field(description="期間中に役割が変わったアカウント")
    unused_permissions: list[PermissionUse] = Field(description="期間中に誰も使わなかった権限")
    expiring_contractors: list[str] = Field(description="30日以内に利用期限が来る委託事業者のアカウント")


class StaffService:
    def __init__(
        self, directory: StaffDirectory, activity: ActivityLog, log: OperationLog, clock: Clock, ids: IdSource
    ) -> None:
        self._directory = directory
        self._activity = activity
        self._log = log
        self._clock = clock
        self._ids = ids

    # -- sign-in ---------------------------------------------------------------------------
    def admit(self, staff_id: str, office: str) -> frozenset[Role]:
        """The roles of a registered, active account signing in from one of its offices."""
        return admit(self._directory.get(staff_id), office=office, today=self._clock.now().date())

    def record_refused_sign_in(
        self, *, claimed: str | None, caller: str, request_id: str, route: str, code: str
    ) -> None:
        """Every refused sign-in is in the operation log: the subject the token claimed (already
        reduced to a plain form, never trusted: ``unverified:``), the route and why."""
        self._log.append(
            OperationLogEntry(
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                staff_id=f"unverified:{claimed}" if claimed else "unknown",
                office=None,
                terminal=None,
                caller=caller,
                function=FUNCTION_SIGN_IN,
                action="login",
                request_id=request_id,
                outcome="refused",
                code=code,
                subject=route[:120],
            )
        )

    # -- administration ----------------------------------------------------------------------
    def register(self, command: NewStaffUser, actor: Actor) -> StaffUser:
        require(actor, Permission.STAFF_ADMIN)
        user = register(command, by=actor.staff_id, at=self._clock.now())
        self._directory.save(user, self._entry(actor, "create", user.staff_id))
        return user

    def change_roles(self, staff_id: str, command: RoleChange, actor: Actor) -> StaffUser:
        return self._change(staff_id, actor, lambda u, at: change_roles(u, command, by=actor.staff_id, at=at))

    def change_offices(self, staff_id: str, command: OfficeChange, actor: Actor) -> StaffUser:
        return self._change(
            staff_id, actor, lambda u, at: change_offices(u, command, by=actor.staff_id, at=at)
        )

    def change_status(
        self, staff_id: str, status: StaffStatus, command: StatusChange, actor: Actor
    ) -> StaffUser:
        return self._change(
            staff_id, actor, lambda u, at: change_status(u, status, command, by=actor.staff_id, at=at)
        )

    def get(self, staff_id: str, actor: Actor) -> StaffHistory:
        require(actor, Permission.STAFF_ADMIN)
        versions = self._directory.history(staff_id)
        if not versions:
            raise NotFound("STAFF_NOT_FOUND", "その職員は登録されていません", "staff_id")
        self._log.append(self._entry(actor, "read", staff_id))
        return StaffHistory(staff_id=staff_id, versions=versions)

    def list_all(self, actor: Actor) -> StaffList:
        require(actor, Permission.STAFF_ADMIN)
        self._log.append(self._entry(actor, "read", "staff:all"))
        return StaffList(staff=self._directory.all())

    def register_bootstrap(self, users: Iterable[NewStaffUser], by: str) -> None:
        """The first accounts of a new deployment (and of the local demo): made by the system, logged."""
        actor = SystemActor(name=by, request_id=self._ids.new_id())
        for command in users:
            if self._directory.get(command.staff_id) is not None:
                continue
            user = register(command, by=f"system:{by}", at=self._clock.now())
            self._directory.save(
                user,
                entry_for(
                    actor,
                    entry_id=self._ids.new_id(),
                    at=user.changed_at,
                    function=FUNCTION_STAFF,
                    action="create",
                    subject=f"staff:{user.staff_id}",
                ),
            )

    # -- review ------------------------------------------------------------------------------
    def review(self, actor: Actor, *, unused_days: int, period_days: int) -> StaffReview:
        """点検: accounts unused for ``unused_days``, role changes and unused permissions in the last
        ``period_days``. Reads the period's operation log once."""
        require(actor, Permission.AUDIT)
        for name, value in (("unused_days", unused_days), ("period_days", period_days)):
            if not 1 <= value <= MAX_REVIEW_DAYS:
                raise DomainError(
                    "REVIEW_PERIOD_INVALID", f"期間は1〜{MAX_REVIEW_DAYS}日で指定してください", name
                )
        now = self._clock.now()
        start = now - timedelta(days=period_days)
        users = self._directory.all()
        active = [u for u in users if u.status is StaffStatus.ACTIVE]
        unused_since = now - timedelta(days=unused_days)
        unused = [
            UnusedAccount(
                staff_id=u.staff_id, roles=u.roles, offices=u.offices, registered_at=self._registered_at(u)
            )
            for u in active
            if self._registered_at(u) <= unused_since
            and self._activity.last_activity(u.staff_id, unused_since) is None
        ]
        uses = Counter(entry.function for entry in self._activity.between(start, now))
        holders = Counter(p for u in active for p in permissions_of(u.roles))
        unused_permissions = [
            PermissionUse(
                permission=permission,
                holders=holders[permission],
                uses=sum(uses[f] for f in PERMISSION_FUNCTIONS.get(permission, frozenset())),
            )
            for permission in Permission
            if permission in PERMISSION_FUNCTIONS
            and not any(uses[f] for f in PERMISSION_FUNCTIONS[permission])
        ]
        report = StaffReview(
            generated_at=now,
            period_start=start.date(),
            period_end=now.date(),
            unused_days=unused_days,
            unused_accounts=unused,
            role_changes=self._role_changes(start),
            unused_permissions=unused_permissions,
            expiring_contractors=[
                u.staff_id
                for u in active
                if u.valid_until is not None and u.valid_until <= now.date() + timedelta(days=30)
            ],
        )
        self._log.append(self._entry(actor, "read", "report:staff-review", function=FUNCTION_AUDIT))
        return report

    def _role_changes(self, start: datetime) -> list[RoleChangeRow]:
        rows = []
        for version in self._directory.versions_since(start):
            if version.change != "roles":
                continue
            history = {v.version: v for v in self._directory.history(version.staff_id)}
            before = history.get(version.version - 1)
            rows.append(
                RoleChangeRow(
                    staff_id=version.staff_id,
                    changed_at=version.changed_at,
                    changed_by=version.changed_by,
                    before=before.roles if before else [],
                    after=version.roles,
                    reason=version.reason,
                )
            )
        return sorted(rows, key=lambda r: (r.changed_at, r.staff_id))

    def _registered_at(self, user: StaffUser) -> datetime:
        if user.version == 1:
            return user.changed_at
        return self._directory.history(user.staff_id)[0].changed_at

    def _change(self, staff_id: str, actor: Actor, apply: _Apply) -> StaffUser:
        require(actor, Permission.STAFF_ADMIN)
        user = self._directory.get(staff_id)
        if user is None:
            raise NotFound("STAFF_NOT_FOUND", "その職員は登録されていません", "staff_id")
        changed = apply(user, self._clock.now())
        self._directory.save(changed, self._entry(actor, "update", staff_id))
        return changed

    def _entry(
        self, actor: Actor, action: Action, subject: str, function: str = FUNCTION_STAFF
    ) -> OperationLogEntry:
        return entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=self._clock.now(),
            function=function,
            action=action,
            subject=subject if ":" in subject else f"staff:{subject}",
        )


class _Apply(Protocol):
    def __call__(self, user: StaffUser, at: datetime, /) -> StaffUser: ...
