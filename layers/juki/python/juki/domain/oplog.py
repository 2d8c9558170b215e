"""操作ログ (operation log): who did what to whose data, from where, and with what outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from juki.domain.staff import Actor, SystemActor

Outcome = Literal["success", "refused", "failed"]
# create/read/update: records and settings; approve/commit/fail: movements; login: a refused
# sign-in (bad or unknown token); export: data leaving the system (a report, a disclosure);
# run: a scheduled job started by hand; purge: data removed at the end of its retention period.
Action = Literal["create", "read", "update", "approve", "commit", "fail", "login", "export", "run", "purge"]


class OperationLogEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str = Field(description="ログID")
    at: datetime = Field(description="日時")
    staff_id: str = Field(description="職員ID (システム処理は system:<名前>)")
    office: str | None = Field(description="庁舎")
    terminal: str | None = Field(description="端末")
    caller: str | None = Field(description="呼出元システム")
    function: str = Field(description="機能")
    action: Action = Field(description="操作")
    persons: list[str] = Field(default_factory=list, description="対象の宛名番号")
    households: list[str] = Field(default_factory=list, description="対象の世帯番号")
    movement_id: str | None = Field(default=None, description="対象の異動")
    my_number_shown: bool = Field(default=False, description="個人番号を表示したか")
    purpose: str | None = Field(default=None, description="個人番号を表示した目的")
    request_id: str = Field(description="リクエストID")
    outcome: Outcome = Field(default="success", description="結果")
    approved_by: str | None = Field(default=None, description="システム処理の場合、決裁した職員")
    subject: str | None = Field(default=None, description="対象 (職員ID・設定・報告など、住民以外)")
    code: str | None = Field(default=None, description="拒否・失敗の理由コード")


def entry_for(
    actor: Actor | SystemActor,
    *,
    entry_id: str,
    at: datetime,
    function: str,
    action: Action,
    persons: list[str] | None = None,
    households: list[str] | None = None,
    movement_id: str | None = None,
    approved_by: str | None = None,
    outcome: Outcome = "success",
    my_number_purpose: str | None = None,
    subject: str | None = None,
    code: str | None = None,
) -> OperationLogEntry:
    if isinstance(actor, Actor):
        who: dict[str, str | None] = {
            "staff_id": actor.staff_id,
            "office": actor.office,
            "terminal": actor.terminal,
            "caller": actor.caller,
        }
    else:
        who = {"staff_id": f"system:{actor.name}", "office": None, "terminal": None, "caller": None}
    return OperationLogEntry(
        entry_id=entry_id,
        at=at,
        function=function,
        action=action,
        persons=persons or [],
        households=households or [],
        movement_id=movement_id,
        request_id=actor.request_id,
        outcome=outcome,
        approved_by=approved_by,
        my_number_shown=my_number_purpose is not None and outcome == "success",
        purpose=my_number_purpose,
        subject=subject,
        code=code,
        **who,
    )
