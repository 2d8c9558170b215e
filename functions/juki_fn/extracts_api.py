"""A recipient system's full extract (共通基盤, docs/linkage.md), included by ``juki_fn.api``: the
request starts the ``platform-extract`` state machine; its status is read from Step Functions.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from juki.adapters.extracts import build_extracts
from juki.bootstrap import services
from juki.domain.staff import Permission
from juki.observability import tracer
from juki.services.extracts import EXTRACT_ID, ExtractStatus

from juki_fn.acting import current_actor

JSON = "application/json"
TAGS = ["連携"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("POST", "/linkage/recipients/{system_id}/extracts"): Permission.LINKAGE_MANAGE,
    ("GET", "/linkage/recipients/{system_id}/extracts/{extract_id}"): Permission.LINKAGE_MANAGE,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

SystemId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,39}$", description="連携先システムID")]
ExtractId = Annotated[str, Path(pattern=rf"^{EXTRACT_ID}$", description="抽出ID")]


@router.post(
    "/linkage/recipients/<system_id>/extracts",
    summary="連携先システムへの全件抽出",
    description=(
        "承認済みの連携先に、現に住民である全員の記録を承認された項目だけで抽出し、共通基盤の受渡し場所 "
        "(exchange バケットの outbound/platform/<連携先>/extracts/<抽出ID>/) に置きます。"
        "一人ごとに提供の記録を残し、最後に目録 (manifest.json) を置きます。未承認・停止中の連携先は 409 "
        "(RECIPIENT_NOT_APPROVED)。依頼は操作ログに残ります。"
    ),
    responses={
        202: {"description": "抽出を開始しました", "content": {JSON: {"model": ExtractStatus}}},
        404: {"description": "登録されていない連携先 (RECIPIENT_NOT_FOUND)"},
        409: {"description": "承認されていない連携先 (RECIPIENT_NOT_APPROVED)"},
    },
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def request_extract(system_id: SystemId) -> Response[str]:
    started = services().part(build_extracts).request(system_id, current_actor())
    return Response(
        status_code=202,
        content_type=JSON,
        body=started.model_dump_json(include={"extract_id", "system_id", "status"}),
    )


@router.get(
    "/linkage/recipients/<system_id>/extracts/<extract_id>",
    summary="全件抽出の状況",
    description=(
        "RUNNING (作成中)、SUCCEEDED (完了: ファイル数・人数・目録のキー)、FAILED (失敗: 理由コード)。"
        "個人の情報は含みません。"
    ),
    responses={404: {"description": "その連携先の抽出はありません (EXTRACT_NOT_FOUND)"}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def extract_status(system_id: SystemId, extract_id: ExtractId) -> ExtractStatus:
    return services().part(build_extracts).status(system_id, extract_id, current_actor())
