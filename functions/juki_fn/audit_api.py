"""The auditor's routes (監査): the operation-log search, included in the API by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from juki.adapters.oplog_archive import build_oplog_audit
from juki.bootstrap import services
from juki.domain.staff import Permission
from juki.observability import tracer
from juki.services.oplog_audit import MAX_SEARCH_DAYS, MAX_SEARCH_LIMIT, AuditLogPage, AuditQuery

from juki_fn.acting import current_actor

AUDIT_OPLOG = "/audit/oplog"

ROUTES: dict[tuple[str, str], Permission] = {
    ("GET", AUDIT_OPLOG): Permission.AUDIT,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.get(
    AUDIT_OPLOG,
    summary="操作ログの検索 (監査)",
    description=(
        f"期間 (最長{MAX_SEARCH_DAYS}日) の操作ログを古い順に返します。職員・宛名番号・機能で絞り込めます。"
        "1回に読む件数には上限があるため、条件に合うものが limit より少なくても"
        " next_cursor が返ることがあります。next_cursor が null になるまで cursor に指定して"
        "続きを取得してください。検索は操作ログに記録されます。"
    ),
    tags=["監査"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def search_oplog(
    *,
    from_: Annotated[
        str, Query(alias="from", min_length=10, max_length=40, description="開始 (日付か日時、JST)")
    ],
    to: Annotated[str, Query(min_length=10, max_length=40, description="終了 (日付ならその日の終わりまで)")],
    staff_id: Annotated[str | None, Query(max_length=100, description="職員ID")] = None,
    person_id: Annotated[str | None, Query(pattern=r"^\d{10}$", description="対象の宛名番号")] = None,
    function: Annotated[str | None, Query(max_length=100, description="機能 (例: resident.read)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT, description="件数")] = 100,
    cursor: Annotated[str | None, Query(max_length=500, description="前の結果の next_cursor")] = None,
) -> AuditLogPage:
    query = AuditQuery(
        start=from_,
        end=to,
        staff_id=staff_id,
        person_id=person_id,
        function=function,
        limit=limit,
        cursor=cursor,
    )
    return services().part(build_oplog_audit).search(query, current_actor())
