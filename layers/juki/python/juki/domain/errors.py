"""Errors and alerts the domain raises. Codes are stable; messages are Japanese."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Issue(BaseModel):
    """One finding of a check: a stable code, a Japanese message and the field it concerns.

    Errors block the change; alerts warn and let an authorised person continue.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="エラー・アラートのコード")
    message: str = Field(description="メッセージ")
    field: str | None = Field(default=None, description="対象の項目")
    severity: Literal["error", "alert"] = Field(default="error", description="error は登録不可、alert は警告")


class DomainError(Exception):
    """A client's request that the rules refuse. Maps to a 4xx response."""

    status = 422

    def __init__(self, code: str, message: str, field: str | None = None, issues: tuple[Issue, ...] = ()):
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field
        self.issues = issues


class RuleViolation(DomainError):
    """One or more rule checks failed with severity error."""

    def __init__(self, issues: tuple[Issue, ...]):
        first = issues[0]
        super().__init__(first.code, first.message, first.field, issues)


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Unauthenticated(DomainError):
    status = 401


class Conflict(DomainError):
    status = 409
