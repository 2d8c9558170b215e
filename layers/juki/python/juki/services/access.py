"""Permission checks shared by the application services (deny unless a role allows)."""

from __future__ import annotations

from juki.domain.errors import Forbidden
from juki.domain.staff import Actor, Permission


def require(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise Forbidden("PERMISSION_DENIED", "この操作の権限がありません")
