"""Who acts: staff members, their roles, and what each role may do (deny unless allowed).

A permission is one function of the system (照会, 異動入力, 決裁, 証明書交付, 個人番号の表示, 抑止・支援措置,
職員管理, 監査, 開示請求, 委託事業者の運用), or the right to see one guarded item of a record (住民票コード,
本籍・筆頭者, 在留資格). A role is a named set of permissions; a staff member holds roles, registered by a
staff administrator (``juki.domain.staff_registry``), never taken from the token alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    RESIDENT_READ = "resident.read"  # 照会・検索
    MOVEMENT_ENTER = "movement.enter"  # 異動の仮登録
    MOVEMENT_APPROVE = "movement.approve"  # 審査・決裁 (本登録)
    CERTIFICATE_ISSUE = "certificate.issue"  # 証明書の交付
    MY_NUMBER_REVEAL = "my_number.reveal"  # 個人番号の表示 (目的を記録)
    RESTRICTION_MANAGE = "restriction.manage"  # 抑止・支援措置の設定と解除
    STAFF_ADMIN = "staff.admin"  # 職員・役割・所属の管理
    AUDIT = "audit.read"  # 操作ログの検索、点検報告、不審アクセスの報告
    DISCLOSURE = "disclosure.prepare"  # 開示請求への回答の作成
    OPERATIONS = "operations.run"  # 委託事業者の運用: 定期処理の起動と状況 (個人の情報は見ない)
    KIOSK_ISSUE = "certificate.kiosk"  # 証明発行システム (コンビニ交付): カードで本人確認した本人の写し
    LINKAGE_MANAGE = "linkage.manage"  # 連携先システムの登録・承認・停止 (個人の情報は見ない)
    # Guarded items of a record: masked unless the caller holds the permission.
    RESIDENT_CODE_VIEW = "field.resident_code"  # 住民票コード
    KOSEKI_VIEW = "field.koseki"  # 本籍・筆頭者
    RESIDENCE_STATUS_VIEW = "field.residence_status"  # 在留資格・在留期間


FIELD_PERMISSIONS = frozenset(
    {Permission.RESIDENT_CODE_VIEW, Permission.KOSEKI_VIEW, Permission.RESIDENCE_STATUS_VIEW}
)


class Role(StrEnum):
    CLERK = "clerk"  # 窓口担当
    APPROVER = "approver"  # 審査・決裁 (係長級)
    VIEWER = "viewer"  # 照会のみ (他課)
    RESTRICTION_OFFICER = "restriction_officer"  # 支援措置担当
    STAFF_ADMIN = "staff_admin"  # 職員管理者
    AUDITOR = "auditor"  # 監査担当
    PRIVACY_OFFICER = "privacy_officer"  # 開示請求担当
    CONTRACTOR = "contractor"  # 委託事業者の運用担当
    KIOSK = "kiosk"  # 証明発行システム (機械の呼出元、職員ではない)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(
        {
            Permission.RESIDENT_READ,
            Permission.MOVEMENT_ENTER,
            Permission.CERTIFICATE_ISSUE,
            Permission.KOSEKI_VIEW,
            Permission.RESIDENCE_STATUS_VIEW,
        }
    ),
    Role.APPROVER: frozenset(
        {
            Permission.RESIDENT_READ,
            Permission.MOVEMENT_APPROVE,
            Permission.RESTRICTION_MANAGE,
            Permission.MY_NUMBER_REVEAL,
            Permission.RESIDENT_CODE_VIEW,
            Permission.KOSEKI_VIEW,
            Permission.RESIDENCE_STATUS_VIEW,
        }
    ),
    Role.VIEWER: frozenset({Permission.RESIDENT_READ}),
    Role.RESTRICTION_OFFICER: frozenset(
        {
            Permission.RESIDENT_READ,
            Permission.RESTRICTION_MANAGE,
            Permission.KOSEKI_VIEW,
            Permission.RESIDENCE_STATUS_VIEW,
        }
    ),
    # The administrator of accounts sees no resident: managing who may look is not looking.
    # Nor does whoever registers and approves the recipient systems (two people: see
    # juki.domain.recipients): they decide which fields leave, never read a record.
    Role.STAFF_ADMIN: frozenset({Permission.STAFF_ADMIN, Permission.LINKAGE_MANAGE}),
    Role.AUDITOR: frozenset({Permission.AUDIT}),
    Role.PRIVACY_OFFICER: frozenset(
        {
            Permission.DISCLOSURE,
            Permission.RESIDENT_READ,
            Permission.RESIDENT_CODE_VIEW,
            Permission.KOSEKI_VIEW,
            Permission.RESIDENCE_STATUS_VIEW,
        }
    ),
    Role.CONTRACTOR: frozenset({Permission.OPERATIONS}),
    Role.KIOSK: frozenset({Permission.KIOSK_ISSUE}),
}

# Roles a staff account may hold; the kiosk role is the certificate-issuing system's, never a person's.
STAFF_ROLES = frozenset(role for role in Role if role is not Role.KIOSK)

# The operation-log functions in which each permission is exercised (for the review report).
PERMISSION_FUNCTIONS: dict[Permission, frozenset[str]] = {
    Permission.RESIDENT_READ: frozenset({"resident.read", "resident.search", "movement.read"}),
    Permission.MOVEMENT_ENTER: frozenset({"movement.enter"}),
    Permission.MOVEMENT_APPROVE: frozenset({"movement.approve"}),
    Permission.CERTIFICATE_ISSUE: frozenset({"certificate.issue"}),
    Permission.MY_NUMBER_REVEAL: frozenset({"my_number.reveal"}),
    Permission.RESTRICTION_MANAGE: frozenset({"restriction.manage", "restriction.read"}),
    Permission.STAFF_ADMIN: frozenset({"staff.admin"}),
    Permission.AUDIT: frozenset({"audit.read", "linkage.provisions"}),
    Permission.DISCLOSURE: frozenset({"disclosure.prepare"}),
    Permission.OPERATIONS: frozenset({"operations.run", "linkage.dispatch"}),
    Permission.KIOSK_ISSUE: frozenset({"certificate.kiosk"}),
    Permission.LINKAGE_MANAGE: frozenset({"linkage.manage"}),
}


def permissions_of(roles: frozenset[Role] | set[Role] | list[Role]) -> frozenset[Permission]:
    return frozenset(p for role in roles for p in ROLE_PERMISSIONS.get(role, frozenset()))


@dataclass(frozen=True)
class Actor:
    """The staff member acting, the terminal and office they act from, and the calling system."""

    staff_id: str
    roles: frozenset[Role]
    office: str
    terminal: str
    caller: str
    request_id: str

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class SystemActor:
    """A state-machine task acting on behalf of the staff member who approved, or a scheduled job."""

    name: str
    request_id: str
