"""The registry of recipient systems of the 共通基盤 (庁内連携): who may receive what, and why.

A system is registered with its legal basis and the fields it asks for; it receives nothing until a
person with ``linkage.manage`` approves it, and never a field outside its approved list. Every change
is a new version; suspending stops deliveries at once (the dispatcher reads the registry at every
delivery).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from juki.domain.errors import DomainError, NotFound
from juki.domain.linkage import PLATFORM_FIELDS, RecipientSystem


class RecipientStatus(StrEnum):
    REGISTERED = "registered"  # 登録済み・未承認: receives nothing
    APPROVED = "approved"  # 承認済み: receives its fields
    SUSPENDED = "suspended"  # 停止: receives nothing


class RecipientRefused(DomainError):
    """A registry change the rules do not allow."""


class NewRecipient(BaseModel):
    """What the 情報政策 office registers: a system, the law that lets it receive, and its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system_id: str = Field(
        pattern=r"^[a-z][a-z0-9-]{1,39}$", description="連携先システムID (英小文字・数字・-)"
    )
    name: str = Field(
        min_length=1, max_length=60, description="連携先システムの名称 (例: 国民健康保険システム)"
    )
    legal_basis: str = Field(
        min_length=1, max_length=200, description="根拠法令 (例: 番号法第9条第2項に基づく条例)"
    )
    fields: list[str] = Field(min_length=1, max_length=len(PLATFORM_FIELDS), description="受け取る項目")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        unknown = sorted(set(fields) - PLATFORM_FIELDS.keys())
        if unknown:
            raise ValueError(f"連携できない項目です: {', '.join(unknown)}")
        if len(set(fields)) != len(fields):
            raise ValueError("項目が重複しています")
        return fields


class RecipientRegistration(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system_id: str
    version: int = Field(ge=1)
    name: str
    legal_basis: str
    fields: list[str]
    status: RecipientStatus
    changed_by: str
    changed_at: datetime
    approved_by: str | None = None

    @property
    def is_approved(self) -> bool:
        return self.status == RecipientStatus.APPROVED

    def system(self) -> RecipientSystem:
        return RecipientSystem(
            system_id=self.system_id, legal_basis=self.legal_basis, fields=tuple(self.fields)
        )

    @classmethod
    def register(cls, new: NewRecipient, by: str, at: datetime) -> Self:
        return cls(
            system_id=new.system_id,
            version=1,
            name=new.name,
            legal_basis=new.legal_basis,
            fields=list(new.fields),
            status=RecipientStatus.REGISTERED,
            changed_by=by,
            changed_at=at,
        )

    def approve(self, by: str, at: datetime) -> Self:
        """Two people: whoever registered (or last changed) the system cannot approve it."""
        if self.status == RecipientStatus.APPROVED:
            raise RecipientRefused(
                "RECIPIENT_ALREADY_APPROVED", "この連携先はすでに承認されています", "system_id"
            )
        if by == self.changed_by:
            raise RecipientRefused(
                "RECIPIENT_SELF_APPROVAL", "登録・変更した職員とは別の職員が承認してください", "system_id"
            )
        return self.model_copy(
            update={"version": self.version + 1, "status": RecipientStatus.APPROVED, "changed_by": by,
                    "changed_at": at, "approved_by": by}
        )  # fmt: skip

    def suspend(self, by: str, at: datetime) -> Self:
        if self.status == RecipientStatus.SUSPENDED:
            raise RecipientRefused(
                "RECIPIENT_ALREADY_SUSPENDED", "この連携先はすでに停止されています", "system_id"
            )
        return self.model_copy(
            update={"version": self.version + 1, "status": RecipientStatus.SUSPENDED, "changed_by": by,
                    "changed_at": at}
        )  # fmt: skip

    def change_fields(self, fields: list[str], by: str, at: datetime) -> Self:
        """New fields need a new approval: the system receives nothing until then."""
        try:
            checked = NewRecipient(
                system_id=self.system_id, name=self.name, legal_basis=self.legal_basis, fields=fields
            )
        except ValidationError as invalid:
            message = str(invalid.errors()[0]["msg"]).removeprefix("Value error, ")
            raise RecipientRefused("RECIPIENT_FIELDS_INVALID", message, "fields") from None
        update = {
            "version": self.version + 1,
            "fields": list(checked.fields),
            "status": RecipientStatus.REGISTERED,
        }
        return self.model_copy(update=update | {"changed_by": by, "changed_at": at, "approved_by": None})


def unknown_recipient(system_id: str) -> NotFound:
    return NotFound("RECIPIENT_NOT_FOUND", f"連携先 {system_id} は登録されていません", "system_id")
