"""Who acts: staff members, their roles, and what each role may do (deny unless allowed)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    RESIDENT_READ = "resident.read"  # 照会
    MOVEMENT_ENTER = "movement.enter"  # 異動の仮登録
    MOVEMENT_APPROVE = "movement.approve"  # 審査・決裁 (本登録)
    RESTRICTION_MANAGE = "restriction.manage"  # 抑止・支援措置の設定と解除
    MY_NUMBER_REVEAL = "my_number.reveal"  # 個人番号の表示 (目的を記録)


class Role(StrEnum):
    CLERK = "clerk"
    APPROVER = "approver"
    VIEWER = "viewer"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset({Permission.RESIDENT_READ, Permission.MOVEMENT_ENTER}),
    # Until issue 4 brings per-function roles, the approver (a supervisor) manages restrictions.
    Role.APPROVER: frozenset(
        {
            Permission.RESIDENT_READ,
            Permission.MOVEMENT_APPROVE,
            Permission.RESTRICTION_MANAGE,
            Permission.MY_NUMBER_REVEAL,
        }
    ),
    Role.VIEWER: frozenset({Permission.RESIDENT_READ}),
}


@dataclass(frozen=True)
class Actor:
    """The staff member acting, the terminal and office they act from, and the calling system."""

    staff_id: str
    roles: frozenset[Role]
    office: str
    terminal: str
    caller: str
    request_id: str

    def may(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS.get(role, frozenset()) for role in self.roles)


@dataclass(frozen=True)
class SystemActor:
    """A state-machine task acting on behalf of the staff member who approved."""

    name: str
    request_id: str
